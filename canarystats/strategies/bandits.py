"""Bandit traffic strategies: epsilon-greedy, posterior / optimistic Bayesian and top-k routing.

Four strategies share the contract of :mod:`canarystats.strategies.base`:
``epsilon_t_greedy`` (below), and the posterior-sampling routings
``posterior_bayesian_routing``, ``optimistic_bayesian_routing`` and
``top_k_routing`` (see :func:`routing_step`).

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
from typing import Any

import attrs
import numpy as np
import scipy.special as sc
from numpy.typing import NDArray

from canarystats.errors import SpecError
from canarystats.methods.bayes import bayes_options, mean_posterior
from canarystats.observations import Observations, Verdict
from canarystats.spec import Criterion, ExperimentSpec, batch_param
from canarystats.stats.beta import DEFAULT_RATE_PRIOR, beta_posterior
from canarystats.strategies.base import State, StepResult, register_strategy, state_field
from canarystats.strategies.check_and_increment import (
    finish_step,
    initial_fields,
    judge_step,
    observations_for,
)

__all__ = [
    "EXPLORATION_PERCENT",
    "ROUTING_DRAWS",
    "BanditState",
    "RoutingState",
    "epsilon_t_greedy_initial_state",
    "epsilon_t_greedy_step",
    "optimistic_bayesian_routing_step",
    "posterior_bayesian_routing_step",
    "routing_initial_state",
    "routing_step",
    "top_k_routing_step",
]


@attrs.frozen(kw_only=True)
class BanditState(State):
    """A :class:`State` with Iter8's ``effective_iteration_count``.

    Attributes
    ----------
    effective_iterations : ndarray of int64, shape (*batch,)
        The number of exploit / explore decisions so far (holds do not count).
    """

    effective_iterations: NDArray[np.int64] = state_field()


def epsilon_t_greedy_initial_state(
    spec: ExperimentSpec, batch_shape: tuple[int, ...] = ()
) -> BanditState:
    """The state before the first assessment: 100 % baseline, ``t = 0``."""
    batch_shape = tuple(int(b) for b in batch_shape)
    return BanditState(
        **initial_fields(spec, batch_shape),
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
    tc = spec.traffic_control
    max_pct = batch_param("max_traffic_percent", tc.max_traffic_percent, state.batch_shape)
    judged = judge_step(spec, state, observations)
    decided = np.all(judged.verdicts != Verdict.INCONCLUSIVE, axis=-1)

    first = state.iteration == 0
    exploit = judged.changed & (first | judged.all_passed)
    explore = judged.changed & ~exploit & decided
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
    return finish_step(BanditState, spec, state, judged, candidate, effective_iterations=eff)


register_strategy("epsilon_t_greedy", epsilon_t_greedy_initial_state, epsilon_t_greedy_step)


# --------------------------------------------------------------------------- posterior routing

#: Posterior draws per assessment of the routing strategies (Iter8 v0.x analytics drew
#: ``max_trials = 1000``); the Monte Carlo standard error of a share is at most 1.6 points.
ROUTING_DRAWS = 1000
#: ``top_k_routing``'s exploration share in percent (Iter8 v1 analytics'
#: ``exploration_traffic_percentage``).
EXPLORATION_PERCENT = 5.0

_RULES = ("posterior", "optimistic", "top_k")
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_U64 = NDArray[np.uint64]


def _mix64(z: _U64) -> _U64:
    """SplitMix64's output function (Steele, Lea & Flood 2014), elementwise, wrapping."""
    z = np.bitwise_xor(z, np.right_shift(z, np.uint64(30)))
    z = np.multiply(z, _MUL1)
    z = np.bitwise_xor(z, np.right_shift(z, np.uint64(27)))
    z = np.multiply(z, _MUL2)
    out: _U64 = np.bitwise_xor(z, np.right_shift(z, np.uint64(31)))
    return out


def _stream(seed: _U64, iteration: NDArray[np.int64], stream: int) -> _U64:
    """A key per slice for one stream of one assessment (``seed``, ``iteration``, ``stream``)."""
    counter = np.add(
        np.multiply(iteration.astype(np.uint64), np.uint64(1 << 20)), np.uint64(stream + 1)
    )
    return _mix64(np.bitwise_xor(seed, _mix64(np.multiply(counter, _GOLDEN))))


def _uniforms(key: _U64, draws: int) -> NDArray[np.float64]:
    """``draws`` uniforms in (0, 1) per slice, shape (*batch, draws): SplitMix64 at key + i γ."""
    steps = np.multiply(np.arange(1, draws + 1, dtype=np.uint64), _GOLDEN)
    bits = np.right_shift(_mix64(np.add(key[..., None], steps)), np.uint64(11))
    out: NDArray[np.float64] = (bits.astype(np.float64) + 0.5) * 2.0**-53
    return out


def _seed_keys(rng: Any, batch_shape: tuple[int, ...]) -> _U64:
    if isinstance(rng, np.random.Generator):
        keys: _U64 = rng.integers(0, 2**64, size=batch_shape, dtype=np.uint64, endpoint=False)
        return keys
    if rng is None:
        rng = 0
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        if not 0 <= int(rng) < 2**64:
            raise SpecError(f"`rng` as a seed must be an integer in [0, 2**64), got {rng!r}")
        size = int(np.prod(batch_shape, dtype=np.int64))
        index = np.arange(1, size + 1, dtype=np.uint64)
        out = _mix64(np.add(np.uint64(int(rng)), np.multiply(index, _GOLDEN)))
        return out.reshape(batch_shape)
    arr = np.asarray(rng)
    if arr.dtype.kind not in "iu" or (arr.dtype.kind == "i" and (arr < 0).any()):
        raise SpecError(
            "`rng` must be a numpy Generator, an integer seed, or an array of non-negative "
            f"integer keys (one per slice of the batch), got {rng!r}"
        )
    try:
        return np.broadcast_to(arr.astype(np.uint64), batch_shape).copy()
    except ValueError:
        raise SpecError(
            f"`rng` keys of shape {arr.shape} do not broadcast against the batch shape "
            f"{batch_shape}"
        ) from None


@attrs.frozen(kw_only=True)
class RoutingState(State):
    """A :class:`State` of the posterior-sampling routings, with their random keys.

    Attributes
    ----------
    seed : ndarray of uint64, shape (*batch,)
        Each slice's key: the draws of assessment ``k`` are a pure function of
        the key, ``k`` and the data, so a step is reproducible and a slice's
        draws do not depend on the rest of the batch.
    win_share : ndarray of float, shape (*batch,)
        The candidate's share of the posterior draws at the last assessment
        (before exploration and caps); NaN before the first.
    """

    seed: _U64 = state_field()
    win_share: NDArray[np.float64] = state_field()


def routing_initial_state(
    spec: ExperimentSpec, batch_shape: tuple[int, ...] = (), *, rng: Any = None
) -> RoutingState:
    """The state before the first assessment of a routing strategy: 100 % baseline.

    Parameters
    ----------
    spec : ExperimentSpec
    batch_shape : tuple of int, default ()
    rng : numpy.random.Generator, int, array_like of int, or None
        The only source of randomness. A Generator draws one 64-bit key per
        slice; an integer seed derives the keys of the slices in C order
        (SplitMix64 from the seed); an array gives the keys themselves
        (broadcast against the batch shape: equal keys give equal draws);
        None means the seed 0. ``canarystats.initial_state`` uses None.
    """
    batch_shape = tuple(int(b) for b in batch_shape)
    return RoutingState(
        **initial_fields(spec, batch_shape),
        seed=_seed_keys(rng, batch_shape),
        win_share=np.full(batch_shape, np.nan),
    )


def _t_ppf(df: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
    infinite = np.isinf(df)
    out: NDArray[np.float64] = np.where(
        infinite, sc.ndtri(u), sc.stdtrit(np.where(infinite, 1.0, df), u)
    )
    return out


def _criterion_draws(
    criterion: Criterion, obs: Observations, u: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Posterior draws (*batch, 2, D), the posterior means (*batch, 2), a defined mask (*batch, 2).

    A counter's observed value stands for itself (Iter8 did so); rates get the
    Beta posterior of ``method="bayes"``, means its t or normal posterior.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        if criterion.is_counter:
            center = np.asarray(obs.value, dtype=np.float64)
            defined = np.isfinite(center)
            draws = np.broadcast_to(center[..., None], u.shape)
        elif obs.successes is not None:
            s, n = obs.successes, obs.count
            prior = bayes_options(criterion).prior  # the defaults for another method
            prior = prior if prior is not None else DEFAULT_RATE_PRIOR
            a, b = (np.asarray(v, dtype=np.float64) for v in beta_posterior(s, n, prior=prior))
            defined = np.isfinite(a) & np.isfinite(b) & (s >= 0) & (s <= n)
            a, b = np.where(defined, a, 1.0), np.where(defined, b, 1.0)
            draws = sc.betaincinv(a[..., None], b[..., None], u)
            center = a / (a + b)
        else:
            loc, scale, df, bad = mean_posterior(criterion, obs)
            defined = ~bad & np.isfinite(loc) & np.isfinite(scale) & (scale >= 0) & (df > 0)
            loc, scale = np.where(defined, loc, 0.0), np.where(defined, scale, 0.0)
            df = np.where(defined, df, np.inf)
            draws = loc[..., None] + scale[..., None] * _t_ppf(df[..., None], u)
            center = loc
    return np.asarray(draws), np.asarray(center), np.asarray(defined)


def _feasible(
    criterion: Criterion, obs: Observations, u: NDArray[np.float64], optimistic: bool
) -> NDArray[np.bool_]:
    """Per version and draw, whether the criterion holds in that draw, shape (*batch, 2, D)."""
    batch = obs.batch_shape
    draws, center, defined = _criterion_draws(criterion, obs, u)
    lower = criterion.direction == "lower"
    own = draws
    if optimistic:  # Iter8's OBR: a draw no worse than the posterior mean
        own = np.minimum(draws, center[..., None]) if lower else np.maximum(
            draws, center[..., None])
    tol = batch_param("tolerance", criterion.tolerance, batch)[..., None]
    ok = np.ones(u.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if criterion.tolerance_type == "threshold":
            ok[...] = (own <= tol[..., None]) if lower else (own >= tol[..., None])
        else:  # delta: the candidate against the baseline's draw; the baseline passes
            ref = draws[..., 0, :]
            ok[..., 1, :] = (own[..., 1, :] <= (1.0 + tol) * ref) if lower else (
                own[..., 1, :] >= (1.0 - tol) * ref)
            ok[..., 1, :] |= ~defined[..., 0, None]
    ok |= ~defined[..., None]  # no posterior yet: the criterion does not constrain
    return ok


def routing_step(
    spec: ExperimentSpec,
    state: State,
    observations: Mapping[str, Observations],
    *,
    rule: str,
    k: int = 1,
    exploration_percent: float = EXPLORATION_PERCENT,
    draws: int = ROUTING_DRAWS,
) -> tuple[RoutingState, StepResult]:
    """One assessment of a posterior-sampling routing strategy, vectorized over the batch.

    Criteria are judged by their own methods (verdicts, reasons, aborts,
    ``passed``: as ``check_and_increment``); traffic comes from ``draws``
    joint draws of every version's posterior under every criterion. In each
    draw a version is *feasible* when it meets all criteria: a threshold
    against its own draw, a delta (candidate only; the baseline passes, as in
    Iter8) as ``candidate_draw <= (1 + tolerance) * baseline_draw`` (mirrored
    for higher-is-better metrics).

    Parameters
    ----------
    spec, state, observations
        As for :func:`canarystats.step`; ``state`` from
        :func:`routing_initial_state`.
    rule : {"posterior", "optimistic", "top_k"}
        ``"posterior"`` and ``"optimistic"`` (Iter8 v0.x PBR and OBR): each
        draw also draws a reward per version, ``Beta((n + 2) / 3, 2 (n + 2) /
        3)`` for the baseline and ``Beta(2 (n + 2) / 3, (n + 2) / 3)`` for the
        candidate (``n`` = the version's count for the first criterion); an
        infeasible version's reward is 0; when both are 0 the baseline wins,
        else the larger reward wins (the candidate on ties). The candidate
        gets ``100 - 100 * baseline_wins / draws``, capped at
        ``max_traffic_percent``. ``"optimistic"`` replaces each version's own
        draw by the better of it and the posterior mean. ``"top_k"`` (Iter8
        v1 top-k, ``k = 1`` is its "progressive"): utility 1 for a feasible
        baseline, 2 for a feasible candidate, 0 otherwise; a version is
        credited in a draw when at most ``k - 1`` versions beat it; the
        credited shares are mixed with an even split (``exploration_percent``
        of the traffic), rounded to a whole percent, and the candidate's
        increase is capped at ``step_size`` per assessment and its share at
        ``max_traffic_percent``.
    k : int, default 1
        ``top_k`` only; with two versions ``k >= 2`` is an even split.
    exploration_percent : float, default 5
        ``top_k`` only, in [0, 100].
    draws : int, default 1000

    Returns
    -------
    state : RoutingState
    result : StepResult
    """
    if rule not in _RULES:
        raise SpecError(f"`rule` must be one of {list(_RULES)}, got {rule!r}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SpecError(f"`k` must be an integer >= 1, got {k!r}")
    if not 0.0 <= float(exploration_percent) <= 100.0:
        raise SpecError(f"`exploration_percent` must be in [0, 100], got {exploration_percent!r}")
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise SpecError(f"`draws` must be an integer >= 1, got {draws!r}")
    if not isinstance(state, RoutingState):
        raise SpecError(
            f"strategy {spec.traffic_control.strategy!r} needs the state from "
            f"initial_state(spec, batch_shape) (a RoutingState), got {type(state).__name__}"
        )
    batch = state.batch_shape
    tc = spec.traffic_control
    max_pct = batch_param("max_traffic_percent", tc.max_traffic_percent, batch)
    judged = judge_step(spec, state, observations)
    feasible = np.ones((*batch, 2, draws), dtype=bool)
    first_count = np.zeros((*batch, 2))
    for i, criterion in enumerate(judged.criteria):
        obs = observations_for(observations, criterion.metric, batch)
        u = np.stack(
            [_uniforms(_stream(state.seed, state.iteration, 2 + 2 * i + v), draws)
             for v in (0, 1)], axis=-2)
        feasible &= _feasible(criterion, obs, u, optimistic=rule == "optimistic")
        if i == 0:
            with np.errstate(invalid="ignore"):
                first_count = np.where(np.isfinite(obs.count) & (obs.count >= 0), obs.count, 0.0)

    last = state.traffic[..., 1]
    feas_b, feas_c = feasible[..., 0, :], feasible[..., 1, :]
    if rule == "top_k":
        util_b, util_c = feas_b * 1.0, feas_c * 2.0
        if k >= 2:  # two versions: both are always among the top k
            share = np.full(batch, 0.5)
        else:
            credit_c = np.count_nonzero(util_c >= util_b, axis=-1)
            credit_b = np.count_nonzero(util_b >= util_c, axis=-1)
            share = credit_c / (credit_c + credit_b)
        explore = float(exploration_percent) / 100.0
        target = np.round((explore * 0.5 + (1.0 - explore) * share) * 100.0)
        step_size = batch_param("step_size", tc.step_size, batch)
        candidate = np.minimum(np.minimum(target, last + step_size), max_pct)
    else:
        n = (first_count + 2.0) / 3.0
        u_b = _uniforms(_stream(state.seed, state.iteration, 0), draws)
        u_c = _uniforms(_stream(state.seed, state.iteration, 1), draws)
        reward_b = sc.betaincinv(n[..., 0, None], 2.0 * n[..., 0, None], u_b)
        reward_c = sc.betaincinv(2.0 * n[..., 1, None], n[..., 1, None], u_c)
        reward_b = np.where(feas_b, reward_b, 0.0)
        reward_c = np.where(feas_c, reward_c, 0.0)
        reward_b = np.where((reward_b == 0.0) & (reward_c == 0.0), 1e-4, reward_b)
        baseline_wins = np.count_nonzero(reward_b > reward_c, axis=-1)
        share = 1.0 - baseline_wins / draws
        candidate = np.minimum(100.0 - baseline_wins / draws * 100.0, max_pct)
    candidate = np.maximum(candidate, 0.0)
    win_share = np.asarray(share, dtype=np.float64)
    # as every strategy's result: the split computed for every slice (`result.active` tells
    # which were assessed; the state of slices done before keeps their split)
    return finish_step(
        RoutingState, spec, state, judged, candidate, seed=state.seed, win_share=win_share
    )


def posterior_bayesian_routing_step(
    spec: ExperimentSpec, state: State, observations: Mapping[str, Observations]
) -> tuple[RoutingState, StepResult]:
    """Iter8's posterior Bayesian routing (PBR): :func:`routing_step`, ``rule="posterior"``."""
    return routing_step(spec, state, observations, rule="posterior")


def optimistic_bayesian_routing_step(
    spec: ExperimentSpec, state: State, observations: Mapping[str, Observations]
) -> tuple[RoutingState, StepResult]:
    """Iter8's optimistic Bayesian routing (OBR): :func:`routing_step`, ``rule="optimistic"``."""
    return routing_step(spec, state, observations, rule="optimistic")


def top_k_routing_step(
    spec: ExperimentSpec, state: State, observations: Mapping[str, Observations]
) -> tuple[RoutingState, StepResult]:
    """Iter8 v1's top-k routing with ``k = 1`` ("progressive"): ``rule="top_k"``."""
    return routing_step(spec, state, observations, rule="top_k")


register_strategy("posterior_bayesian_routing", routing_initial_state,
                  posterior_bayesian_routing_step)
register_strategy("optimistic_bayesian_routing", routing_initial_state,
                  optimistic_bayesian_routing_step)
register_strategy("top_k_routing", routing_initial_state, top_k_routing_step)
