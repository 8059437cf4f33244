"""Bandit traffic strategies: Iter8's decaying epsilon-greedy (``epsilon_t_greedy``).

``epsilon_t_greedy`` (Iter8 v0.1/v0.2 analytics' ``EpsilonTGreedyResponse``; the
CRD calls it ``epsilon_greedy``), reproduced exactly and vectorized:

- criteria are judged and Iter8's change detection runs exactly as in
  ``check_and_increment``; without a change, traffic holds;
- otherwise, on the first assessment or when all criteria pass, the candidate
  is *exploited*: the effective iteration count ``t`` grows by one,
  ``epsilon = 1 / t`` and the candidate gets ``min(int((1 - epsilon +
  epsilon / 2) * 100), max_traffic_percent)``;
- otherwise, when every criterion reached a verdict (Iter8: all sample sizes
  sufficient), the baseline is exploited and the candidate *explored*: ``t``
  grows by one and the candidate gets ``min(int(epsilon / 2 * 100),
  max_traffic_percent)``;
- otherwise (some criterion INCONCLUSIVE) traffic holds and ``t`` does not grow;
- the baseline gets ``100.0 - candidate``; aborts and the end of the
  experiment are as in ``check_and_increment``.

"Every criterion reached a verdict" is Iter8's "all sample sizes sufficient"
under the point method (whose only INCONCLUSIVE verdicts are insufficient or
bad data); for statistical methods an undecided criterion
(``Reason.NOT_YET_DECIDED``) holds traffic too rather than exploring.
``step_size`` is not used; ``early_stop`` does not apply. The effective
iteration count lives in :class:`BanditState` (a :class:`State` with one more
field, ``effective_iterations``), which ``canarystats.initial_state`` returns
for this strategy.

Examples
--------
>>> from canarystats import (Criterion, ExperimentSpec, Observations,
...                          TrafficControl, initial_state, step)
>>> spec = ExperimentSpec(
...     name="demo", target_service="reviews", baseline="v1", candidate="v2",
...     traffic_control=TrafficControl(strategy="epsilon_t_greedy", max_traffic_percent=100),
...     criteria=[Criterion(metric="iter8_latency", tolerance_type="threshold",
...                         tolerance=0.2, sample_size=5)])
>>> state = initial_state(spec)
>>> obs = {"iter8_latency": Observations(count=[10.0, 10.0], value=[0.1, 0.1])}
>>> state, result = step(spec, state, obs)   # t = 1, epsilon = 1: int(0.5 * 100)
>>> result.traffic.tolist(), int(state.effective_iterations)
([50.0, 50.0], 1)
>>> obs = {"iter8_latency": Observations(count=[20.0, 20.0], value=[0.1, 0.3])}
>>> state, result = step(spec, state, obs)   # fails: explore, t = 2, int(0.25 * 100)
>>> result.traffic.tolist()
[75.0, 25.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats.errors import SpecError
from canarystats.observations import Observations, Verdict
from canarystats.spec import ExperimentSpec
from canarystats.strategies.base import (
    State,
    StepResult,
    _eq,
    _ro,
    register_strategy,
    where_batch,
)
from canarystats.strategies.check_and_increment import (
    _batch_last_record,
    _batch_param,
    _detect_change,
    _frozen,
    _observations_for,
)
from canarystats.tolerances import fetch_iter8, get_method

__all__ = ["BanditState", "epsilon_t_greedy_initial_state", "epsilon_t_greedy_step"]


@attrs.frozen(kw_only=True)
class BanditState(State):
    """A :class:`State` with Iter8's ``effective_iteration_count``.

    Attributes
    ----------
    effective_iterations : ndarray of int64, shape (*batch,)
        The number of exploit / explore decisions so far (holds do not count).
    """

    effective_iterations: NDArray[np.int64] = attrs.field(converter=_ro, eq=_eq())


def epsilon_t_greedy_initial_state(
    spec: ExperimentSpec, batch_shape: tuple[int, ...] = ()
) -> BanditState:
    """The state before the first assessment: 100 % baseline, ``t = 0``."""
    batch_shape = tuple(int(b) for b in batch_shape)
    traffic = np.zeros((*batch_shape, 2))
    traffic[..., 0] = 100.0
    criteria = spec.resolved_criteria()
    return BanditState(
        traffic=traffic,
        iteration=np.zeros(batch_shape, dtype=np.int64),
        done=np.zeros(batch_shape, dtype=bool),
        aborted=np.zeros(batch_shape, dtype=bool),
        passed=np.zeros(batch_shape, dtype=bool),
        info=_batch_last_record(batch_shape, len(criteria)),
        method_states=tuple(get_method(c.method).init(c, batch_shape) for c in criteria),
        effective_iterations=np.zeros(batch_shape, dtype=np.int64),
    )


def epsilon_t_greedy_step(
    spec: ExperimentSpec, state: State, observations: Mapping[str, Observations]
) -> tuple[BanditState, StepResult]:
    """One assessment of Iter8's decaying epsilon-greedy strategy (see the module)."""
    if not isinstance(state, BanditState):
        raise SpecError(
            "strategy 'epsilon_t_greedy' needs the state from initial_state(spec, batch_shape) "
            f"(a BanditState), got {type(state).__name__}"
        )
    batch = state.batch_shape
    tc = spec.traffic_control
    max_pct = _batch_param("max_traffic_percent", tc.max_traffic_percent, batch)
    criteria = spec.resolved_criteria()
    if len(criteria) != len(state.method_states):
        raise SpecError(
            f"the state holds {len(state.method_states)} method states but the spec has "
            f"{len(criteria)} criteria; start from initial_state(spec, batch_shape)"
        )
    n_crit = len(criteria)
    verdicts = np.zeros((*batch, n_crit), dtype=np.int8)
    reasons = np.zeros((*batch, n_crit), dtype=np.int8)
    aborts = np.zeros((*batch, n_crit), dtype=bool)
    info = np.empty_like(state.info)
    changed = np.zeros(batch, dtype=bool)
    method_states = []
    for i, criterion in enumerate(criteria):
        obs = _observations_for(observations, criterion.metric, batch)
        mstate, verdicts[..., i], reasons[..., i], aborts[..., i] = get_method(
            criterion.method
        ).update(criterion, state.method_states[i], obs)
        method_states.append(mstate)
        fetched = fetch_iter8(criterion, obs)
        changed |= _detect_change(
            info[..., i, :, :], state.info[..., i, :, :], fetched.n, fetched.value
        )
    all_passed = np.all(verdicts == Verdict.PASS, axis=-1)
    decided = np.all(verdicts != Verdict.INCONCLUSIVE, axis=-1)
    abort = np.any(aborts, axis=-1)

    first = state.iteration == 0
    exploit = changed & (first | all_passed)
    explore = changed & ~exploit & decided
    moved = exploit | explore
    eff = np.where(moved, state.effective_iterations + 1, state.effective_iterations)
    with np.errstate(divide="ignore"):
        eps = 1 / eff.astype(np.float64)  # Iter8: epsilon = 1 / effective_iteration_count
    # Iter8's exact float expressions, then int() (truncation) and min() with the max
    exploit_pct = np.trunc((1 - eps + (eps / 2)) * 100)
    explore_pct = np.trunc((eps / 2) * 100)
    last = state.traffic[..., 1]
    candidate = np.where(exploit, exploit_pct, np.where(explore, explore_pct, last))
    candidate = np.where(moved, np.minimum(candidate, max_pct), last)
    traffic = np.empty((*batch, 2))
    traffic[..., 0] = 100.0 - candidate
    traffic[..., 1] = candidate

    active = ~state.done
    iteration = np.array(state.iteration + 1)
    done = np.array(abort | (iteration > tc.max_iterations))
    new_state = BanditState(
        traffic=traffic,
        iteration=iteration,
        done=done,
        aborted=abort,
        passed=all_passed,
        info=info,
        method_states=tuple(method_states),
        effective_iterations=eff,
    )
    if not active.all():  # slices done before this step keep their state
        new_state = where_batch(active, new_state, state)
    result = StepResult(
        verdicts=_frozen(verdicts),
        reasons=_frozen(reasons),
        aborts=_frozen(aborts),
        all_passed=_frozen(all_passed),
        abort=_frozen(abort),
        changed=_frozen(changed),
        traffic=_frozen(traffic),
        active=_frozen(active),
    )
    return new_state, result


register_strategy("epsilon_t_greedy", epsilon_t_greedy_initial_state, epsilon_t_greedy_step)
