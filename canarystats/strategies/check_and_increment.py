"""Iter8's ``check_and_increment`` and ``increment_without_check``, vectorized.

``check_and_increment`` (Iter8 v0.1 analytics, reproduced exactly):

- the first assessment, or one where all criteria pass, moves the candidate
  to ``min(last + step_size, max_traffic_percent)``; otherwise traffic holds;
- when Iter8's change detection sees no change in any criterion's sample
  size or value, traffic holds whatever the verdicts;
- the baseline gets ``100.0 - candidate``; traffic never decreases.

Change detection runs per criterion, baseline then candidate, on the rounded
values Iter8 fetched: with no stored entry, store it (a change); when the
stored ``int(n)`` is smaller than the new one, replace it (a change); else
when the value differs (a missing value equals a missing value), replace it
(a change, even if the sample size shrank); else keep the entry.

With ``TrafficControl(early_stop=True)`` (canarystats' extension, off by
default) an experiment also ends at once, before ``max_iterations``, when
every criterion's verdicts are anytime-valid (:func:`anytime_valid`: the
registry asks the criterion's method) and all PASS -- it succeeds (``passed``) --
or when any such criterion FAILs -- it rolls back (done, not passed, not
aborted). Those verdicts stay valid at any stopping time, so acting on them
keeps their error guarantees.

With ``TrafficControl(srm_check=True)`` (also off by default) every
assessment first tests the requests each version received since the previous
assessment -- the increments of the first criterion's cumulative ``count`` --
against the split routed in that interval: ``int()`` of the candidate
percentage of the state's last recommendation (what Iter8's controller
applies; 0 before the first assessment, when the test learns nothing), the
baseline getting the rest. The test is :class:`~canarystats.SampleRatioGuard`
at confidence :data:`SRM_CONFIDENCE` (anytime-valid: P(a false abort ever)
<= 0.001 under any monitoring). On a mismatch the slice aborts (rolls back)
and every criterion's verdict is INCONCLUSIVE with
``Reason.SAMPLE_RATIO_MISMATCH``: with a broken router no comparison means
anything. The guard's state is ``State.sample_ratio`` (a state without it,
e.g. one rebuilt from Iter8's ``_last_state``, starts the check afresh).

``increment_without_check`` (what Iter8 runs without success criteria)
adds ``step_size`` at every assessment unless that would overshoot
``max_traffic_percent`` (step 20 with max 50 stops at 40).

Examples
--------
>>> from canarystats import (Criterion, ExperimentSpec, Observations,
...                          TrafficControl, initial_state, step)
>>> spec = ExperimentSpec(
...     name="demo", target_service="reviews", baseline="v2", candidate="v3",
...     traffic_control=TrafficControl(step_size=20, max_traffic_percent=80),
...     criteria=[Criterion(metric="iter8_latency", tolerance_type="threshold",
...                         tolerance=0.2, sample_size=6)])
>>> state = initial_state(spec, ())
>>> obs = {"iter8_latency": Observations(count=[0.0, 0.0], value=[float("nan")] * 2)}
>>> state, result = step(spec, state, obs)   # the first assessment increments
>>> result.traffic.tolist()
[80.0, 20.0]
>>> obs = {"iter8_latency": Observations(count=[50.0, 12.0], value=[0.1, 0.15])}
>>> state, result = step(spec, state, obs)
>>> result.traffic.tolist(), result.verdicts.tolist()
([60.0, 40.0], [1])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import freeze
from canarystats.errors import SpecError
from canarystats.methods.point import fetch_iter8
from canarystats.observations import Observations, Reason, Verdict
from canarystats.registry import get_method
from canarystats.spec import Criterion, ExperimentSpec, batch_param
from canarystats.strategies.base import State, StepResult, register_strategy, where_batch
from canarystats.strategies.sample_ratio import SampleRatioGuard

__all__ = [
    "SRM_CONFIDENCE",
    "anytime_valid",
    "empty_change_record",
    "initial_state",
    "observations_for",
    "step",
]

_S = TypeVar("_S", bound=State)

#: The confidence of ``TrafficControl(srm_check=True)``'s sample-ratio-mismatch test.
SRM_CONFIDENCE = 0.999
_SRM_GUARD = SampleRatioGuard(confidence=SRM_CONFIDENCE)


def empty_change_record(batch_shape: tuple[int, ...], n_criteria: int) -> NDArray[np.float64]:
    """An empty change-detection record, shape (*batch, n_criteria, 2, 2).

    Stored batch-last in memory (a transposed view of a C-ordered
    ``(n_criteria, 2, 2, *batch)`` array), so that each criterion's, version's
    and field's slice is contiguous; ``empty_like`` and copies keep the layout.
    """
    base = np.full((n_criteria, 2, 2, *batch_shape), np.nan)
    return np.moveaxis(base, (0, 1, 2), (-3, -2, -1))


def _split(candidate: NDArray[np.float64]) -> NDArray[np.float64]:
    """The split ``(100.0 - candidate, candidate)`` in percent, shape ``(*batch, 2)``."""
    traffic = np.empty((*np.shape(candidate), 2))
    traffic[..., 0] = 100.0 - candidate
    traffic[..., 1] = candidate
    return traffic


def initial_fields(spec: ExperimentSpec, batch_shape: tuple[int, ...]) -> dict[str, Any]:
    """The fields of a :class:`State` before the first assessment, shared by every strategy.

    Parameters
    ----------
    spec : ExperimentSpec
    batch_shape : tuple of int
        The batch shape of the observations that will be stepped.

    Returns
    -------
    dict of str to object
        ``traffic`` 100 % baseline, ``iteration`` 0, ``done``, ``aborted`` and
        ``passed`` False, an empty change-detection record ``info`` and one
        initial method state per criterion (``method_states``, a tuple): the
        keyword arguments of ``State`` or of a subclass, which adds its own.
    """
    criteria = spec.resolved_criteria()
    return {
        "traffic": _split(np.zeros(batch_shape)),
        "iteration": np.zeros(batch_shape, dtype=np.int64),
        "done": np.zeros(batch_shape, dtype=bool),
        "aborted": np.zeros(batch_shape, dtype=bool),
        "passed": np.zeros(batch_shape, dtype=bool),
        "info": empty_change_record(batch_shape, len(criteria)),
        "method_states": tuple(get_method(c.method).init(c, batch_shape) for c in criteria),
    }


def initial_state(spec: ExperimentSpec, batch_shape: tuple[int, ...] = ()) -> State:
    """The state before the first assessment: 100 % baseline, no history.

    Parameters
    ----------
    spec : ExperimentSpec
    batch_shape : tuple of int, default ()
        The batch shape of the observations that will be stepped.
    """
    batch_shape = tuple(int(b) for b in batch_shape)
    fields = initial_fields(spec, batch_shape)
    if spec.traffic_control.srm_check:
        fields["sample_ratio"] = _SRM_GUARD.init(batch_shape)
    return State(**fields)


def anytime_valid(criterion: Criterion) -> bool:
    """Whether a criterion's verdicts stay valid at any stopping time (asked of its method)."""
    return bool(get_method(criterion.method).anytime_valid(criterion))


def observations_for(
    observations: Mapping[str, Observations], metric: str, batch_shape: tuple[int, ...]
) -> Observations:
    try:
        obs = observations[metric]
    except KeyError:
        raise SpecError(
            f"no observations for metric {metric!r}; got metrics {sorted(observations)}"
        ) from None
    if obs.batch_shape != batch_shape or obs.n_versions != 2:
        raise SpecError(
            f"observations of {metric!r} must have shape {(*batch_shape, 2)} "
            f"(batch, versions), got {(*obs.batch_shape, obs.n_versions)}"
        )
    return obs


def _detect_change(
    out: NDArray[np.float64],
    info: NDArray[np.float64],
    n: NDArray[np.float64],
    value: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Iter8's change detection for one criterion, both versions at once.

    ``info`` is the criterion's record, shape (*batch, 2, 2) (version,
    [int(n), value]); the new record is written to ``out`` (same shape);
    ``n`` and ``value`` have shape (*batch, 2). A missing sample size is
    stored as 0, as Iter8 read it (under either missing-data policy), so that
    a NaN stored sample size always means "no entry yet". Returns, per slice,
    whether either version changed.
    """
    changed = np.zeros(n.shape[:-1], dtype=bool)
    for version in (0, 1):  # 1-d passes: `info` is stored batch-last (see initial_state)
        stored_n, stored_v = info[..., version, 0], info[..., version, 1]
        new_n, new_v = n[..., version], value[..., version]
        with np.errstate(invalid="ignore"):
            new_n = np.asarray(np.trunc(new_n))
            missing_n = np.isnan(new_n)
            if missing_n.any():
                new_n[missing_n] = 0.0
            keep = stored_v == new_v
            missing_v = np.isnan(new_v)
            if missing_v.any():
                keep |= np.isnan(stored_v) & missing_v
            # "no entry" (NaN) compares False with `>=`, so it is replaced too
            keep &= stored_n >= new_n
        out[..., version, 0] = np.where(keep, stored_n, new_n)
        out[..., version, 1] = np.where(keep, stored_v, new_v)
        changed |= ~keep
    return changed


def _srm_update(
    state: State,
    observations: Mapping[str, Observations],
    criteria: Any,
    verdicts: NDArray[np.int8],
    reasons: NDArray[np.int8],
    aborts: NDArray[np.bool_],
) -> Any:
    """The sample-ratio-mismatch check of ``srm_check``; marks mismatched slices in place."""
    batch = state.batch_shape
    if not criteria:
        raise SpecError(
            "`srm_check` needs a criterion: the first criterion's observations give each "
            "version's requests"
        )
    guard_state = state.sample_ratio if state.sample_ratio is not None else _SRM_GUARD.init(batch)
    requests = observations_for(observations, criteria[0].metric, batch).count
    routed = np.trunc(state.traffic[..., 1])  # what Iter8's controller applied
    intended = np.stack([100.0 - routed, routed], axis=-1)
    guard_state, _, _, mismatch = _SRM_GUARD.update(guard_state, requests, intended)
    if mismatch.any():
        rows = np.broadcast_to(mismatch[..., None], verdicts.shape)
        verdicts[rows] = Verdict.INCONCLUSIVE
        reasons[rows] = Reason.SAMPLE_RATIO_MISMATCH
        aborts[rows] = True
    return guard_state


def judge_criteria(
    criteria: tuple[Criterion, ...], state: State, observations: Mapping[str, Observations]
) -> tuple[
    list[Any],
    NDArray[np.int8],
    NDArray[np.int8],
    NDArray[np.bool_],
    NDArray[np.float64],
    NDArray[np.bool_],
    tuple[Any, ...],
]:
    """Judge every criterion and run Iter8's change detection: the shared part of a step.

    ``criteria`` have their confidence resolved; the state's first
    ``len(criteria)`` method states are theirs. Returns the new method states,
    verdicts, reasons and aborts ``(*batch, n_criteria)``, the new
    change-detection record, per slice whether anything changed, and each
    criterion's :class:`~canarystats.methods.base.DataReport`.
    """
    batch = state.batch_shape
    n_crit = len(criteria)
    verdicts = np.zeros((*batch, n_crit), dtype=np.int8)
    reasons = np.zeros((*batch, n_crit), dtype=np.int8)
    aborts = np.zeros((*batch, n_crit), dtype=bool)
    info = np.empty_like(state.info)
    changed = np.zeros(batch, dtype=bool)
    method_states = []
    reports: list[Any] = []
    for i, criterion in enumerate(criteria):
        obs = observations_for(observations, criterion.metric, batch)
        method = get_method(criterion.method)
        judged = method.update(criterion, state.method_states[i], obs)
        mstate, verdicts[..., i], reasons[..., i], aborts[..., i] = judged
        method_states.append(mstate)
        reports.append(getattr(judged, "report", None))
        fetched = fetch_iter8(criterion, obs)
        changed |= _detect_change(
            info[..., i, :, :], state.info[..., i, :, :], fetched.n, fetched.value
        )
    return method_states, verdicts, reasons, aborts, info, changed, tuple(reports)


@attrs.frozen(kw_only=True, eq=False)
class Judgement:
    """What one assessment found before its traffic decision (see :func:`judge_step`).

    The arrays are new and writable: :func:`finish_step` freezes them (and
    writes the previous state into ``info`` for slices done before the step).

    Attributes
    ----------
    criteria : tuple of Criterion
        The spec's criteria, their confidence resolved.
    method_states : tuple
        The new method states, one per criterion.
    sample_ratio : SampleRatioState or None
        The sample-ratio guard's new state, with ``srm_check``.
    reports : tuple of DataReport
        What the data policy found for each criterion (see :class:`StepResult`).
    verdicts, reasons : ndarray of int8, shape (*batch, n_criteria)
    aborts : ndarray of bool, shape (*batch, n_criteria)
    all_passed, abort : ndarray of bool, shape (*batch,)
        Every criterion passed; some criterion aborted.
    info : ndarray of float, shape (*batch, n_criteria, 2, 2)
        The new change-detection record.
    changed : ndarray of bool, shape (*batch,)
        Iter8's change detection saw a change.
    """

    criteria: tuple[Criterion, ...]
    method_states: tuple[Any, ...]
    verdicts: NDArray[np.int8]
    reasons: NDArray[np.int8]
    aborts: NDArray[np.bool_]
    all_passed: NDArray[np.bool_]
    abort: NDArray[np.bool_]
    info: NDArray[np.float64]
    changed: NDArray[np.bool_]
    sample_ratio: Any = None
    reports: tuple[Any, ...] = ()


def judge_step(
    spec: ExperimentSpec,
    state: State,
    observations: Mapping[str, Observations],
    *,
    srm_check: bool = False,
) -> Judgement:
    """The opening every strategy's step shares: check the state, judge every criterion.

    Parameters
    ----------
    spec : ExperimentSpec
    state : State
        Its method states must be the spec's criteria's.
    observations : mapping of str to Observations
        Each criterion's metric, shape ``(*batch, 2)``.
    srm_check : bool, default False
        Run ``TrafficControl(srm_check=True)``'s sample-ratio-mismatch check
        after the criteria (it marks mismatched slices INCONCLUSIVE and
        aborted).

    Returns
    -------
    Judgement

    Raises
    ------
    SpecError
        When the state's method states do not match the spec's criteria.
    """
    batch = state.batch_shape
    criteria = spec.resolved_criteria()
    n_crit = len(criteria)
    n_states = len(state.method_states)
    if n_states != n_crit:
        raise SpecError(
            f"the state holds {n_states} method states but the spec has "
            f"{n_crit} criteria; start from initial_state(spec, batch_shape)"
        )
    if state.sample_ratio is not None and not srm_check:
        raise SpecError(
            "the state holds a sample-ratio guard's state (`sample_ratio`) but the spec's "
            "strategy runs no `srm_check`; start from initial_state(spec, batch_shape)"
        )
    method_states, verdicts, reasons, aborts, info, changed, reports = judge_criteria(
        criteria, state, observations
    )
    sample_ratio = None
    if srm_check:
        sample_ratio = _srm_update(state, observations, criteria, verdicts, reasons, aborts)
    # reductions over the short criteria axis, written as column operations (faster in numpy)
    all_passed = np.ones(batch, dtype=bool)
    abort = np.zeros(batch, dtype=bool)
    for i in range(n_crit):
        all_passed &= verdicts[..., i] == Verdict.PASS
        abort |= aborts[..., i]
    return Judgement(
        criteria=criteria,
        method_states=tuple(method_states),
        verdicts=verdicts,
        reasons=reasons,
        aborts=aborts,
        all_passed=all_passed,
        abort=abort,
        info=info,
        changed=changed,
        sample_ratio=sample_ratio,
        reports=reports,
    )


def finish_step(
    state_type: type[_S],
    spec: ExperimentSpec,
    state: State,
    judged: Judgement,
    candidate: NDArray[np.float64],
    *,
    stop: NDArray[np.bool_] | None = None,
    **fields: Any,
) -> tuple[_S, StepResult]:
    """The close every strategy's step shares: the new state and the step's result.

    The baseline gets ``100.0 - candidate``; the iteration count grows by
    one; a slice is done after an abort, after ``max_iterations``, or where
    ``stop``. Slices done before this step keep their state.

    Parameters
    ----------
    state_type : type
        :class:`State`, or the strategy's subclass of it.
    spec : ExperimentSpec
    state : State
        The state the step started from.
    judged : Judgement
        From :func:`judge_step`; its arrays become the result's (frozen).
    candidate : ndarray of float, shape (*batch,)
        The candidate's new percentage.
    stop : ndarray of bool, shape (*batch,), optional
        Slices that end now for another reason (``early_stop``).
    **fields
        The values of ``state_type``'s own fields (arrays with a leading batch
        shape are merged like the rest).

    Returns
    -------
    state : State
        Of ``state_type``; read-only arrays.
    result : StepResult
        Its ``traffic`` is the split computed for every slice (also for those
        done before this step, whose state keeps its split).
    """
    traffic = _split(candidate)
    active = ~state.done
    iteration = np.array(state.iteration + 1)
    done = np.array(judged.abort | (iteration > spec.traffic_control.max_iterations))
    if stop is not None:
        done |= stop
    state_traffic, aborted, passed = traffic, judged.abort, judged.all_passed
    info, method_states = judged.info, judged.method_states
    sample_ratio = judged.sample_ratio
    if not active.all():
        # slices done before this step keep their state (copies where the result shares)
        idx = np.nonzero(state.done) if state.done.ndim else state.done
        state_traffic, aborted, passed = traffic.copy(), aborted.copy(), passed.copy()
        for new, old in (
            (state_traffic, state.traffic),
            (aborted, state.aborted),
            (passed, state.passed),
            (iteration, state.iteration),
            (done, state.done),
            (info, state.info),
        ):
            new[idx] = old[idx]
        method_states = tuple(
            where_batch(active, new_m, old_m)
            for new_m, old_m in zip(method_states, state.method_states, strict=True)
        )
        if sample_ratio is not None and state.sample_ratio is not None:
            sample_ratio = where_batch(active, sample_ratio, state.sample_ratio)
        fields = {name: where_batch(active, v, getattr(state, name)) for name, v in fields.items()}
    # results are immutable; State keeps frozen arrays without a copy
    new_state = state_type(
        traffic=freeze(state_traffic),
        iteration=freeze(iteration),
        done=freeze(done),
        aborted=freeze(aborted),
        passed=freeze(passed),
        info=freeze(info),
        method_states=method_states,
        sample_ratio=sample_ratio,
        **fields,
    )
    result = StepResult(
        verdicts=freeze(judged.verdicts),
        reasons=freeze(judged.reasons),
        aborts=freeze(judged.aborts),
        all_passed=freeze(judged.all_passed),
        abort=freeze(judged.abort),
        changed=freeze(judged.changed),
        traffic=freeze(traffic),
        active=freeze(active),
        reports=judged.reports,
    )
    return new_state, result


def step(
    spec: ExperimentSpec, state: State, observations: Mapping[str, Observations]
) -> tuple[State, StepResult]:
    """Make one assessment of every experiment in the batch.

    Parameters
    ----------
    spec : ExperimentSpec
        The experiment; tunable parameters may be arrays that broadcast
        against the batch shape.
    state : State
        From :func:`initial_state` or a previous ``step``.
    observations : mapping of str to Observations
        Each criterion's metric, shape ``(*batch, 2)`` (baseline, candidate).

    Returns
    -------
    state : State
        The new state; slices that were done before are unchanged.
    result : StepResult
        Verdicts, reasons, aborts and the traffic decision.
    """
    batch = state.batch_shape
    tc = spec.traffic_control
    step_size = batch_param("step_size", tc.step_size, batch)
    max_pct = batch_param("max_traffic_percent", tc.max_traffic_percent, batch)
    judged = judge_step(spec, state, observations, srm_check=tc.srm_check)

    last = state.traffic[..., 1]
    first = state.iteration == 0
    if spec.effective_strategy == "increment_without_check":
        proposed = last + step_size
        candidate = np.where(proposed <= max_pct, proposed, last)
        judged = attrs.evolve(judged, changed=np.ones(batch, dtype=bool))
    else:
        increment = judged.changed & (first | judged.all_passed)
        candidate = np.where(increment, np.minimum(last + step_size, max_pct), last)

    stop = None
    if tc.early_stop and spec.effective_strategy == "check_and_increment":
        anytime = [anytime_valid(c) for c in judged.criteria]
        # promote now when every criterion has an anytime-valid PASS
        stop = judged.all_passed.copy() if all(anytime) else np.zeros(batch, dtype=bool)
        for i, is_anytime in enumerate(anytime):
            if is_anytime:
                stop |= judged.verdicts[..., i] == Verdict.FAIL  # roll back now
    return finish_step(State, spec, state, judged, candidate, stop=stop)


register_strategy("check_and_increment", initial_state, step)
register_strategy("increment_without_check", initial_state, step)
