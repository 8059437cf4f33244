"""The anytime-valid sequential criterion method (``method="sequential"``).

:class:`SequentialMethod` judges a criterion at every assessment with
confidence sequences (or a two-sample sequential test) whose error guarantees
hold under continuous monitoring: for every stopping rule, ``P(ever wrong) <=
1 - confidence``. Its options are :class:`SequentialOptions` (which test, the
quantile, the tuning of the plug-in bounds) and its state
:class:`SequentialState`; the kernels come from :mod:`canarystats.stats`
(:mod:`~canarystats.stats.confidence_sequences`,
:mod:`~canarystats.stats.mixtures`, :mod:`~canarystats.stats.rate_ratio`,
:mod:`~canarystats.stats.quantiles`).

Examples
--------
>>> import numpy as np
>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="iter8_error_rate", tolerance_type="threshold",
...               tolerance=0.05, method="sequential", confidence=0.95)
>>> obs = Observations(count=[[5000.0, 5000.0], [5000.0, 5000.0], [5000.0, 200.0]],
...                    value=[[0.01, 0.01], [0.01, 0.09], [0.01, 0.04]],
...                    successes=[[50.0, 50.0], [50.0, 450.0], [50.0, 8.0]])
>>> r = evaluate_criterion(c, obs)
>>> r.verdict.tolist(), r.reason.tolist()
([1, -1, 0], [0, 0, 4])
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import array_field
from canarystats.errors import SpecError
from canarystats.methods.base import SUMSQ_RTOL, DataReport, Evidence, Method, relevant_versions
from canarystats.methods.fixed import check_classical_criterion
from canarystats.observations import Observations
from canarystats.registry import Options, register_method
from canarystats.spec import Criterion, batch_param
from canarystats.stats.confidence_sequences import bernoulli_cs, normal_mean_radius
from canarystats.stats.mixtures import msprt_two_sample, normal_mixture_rho
from canarystats.stats.quantiles import QUANTILE_BOUNDS, quantile_cs, quantile_cs_buckets
from canarystats.stats.rate_ratio import point_process_step

__all__ = [
    "DECREASING_WHAT",
    "SEQUENTIAL_TESTS",
    "SequentialMethod",
    "SequentialOptions",
    "SequentialState",
]

#: ``options["sequential_test"]`` choices of a sequential criterion (the default first):
#: each version's confidence sequence, the point-process rate-ratio test, the two-sample
#: mSPRT, and the quantile test.
SEQUENTIAL_TESTS: tuple[str, ...] = ("confidence_sequence", "point_process", "msprt", "quantile")

#: What cumulative totals that decrease against the state are (the bad-data warning's words).
DECREASING_WHAT = "cumulative totals below those of the last update"

_F = NDArray[np.float64]
_B = NDArray[np.bool_]


# --------------------------------------------------------------------------- options


def _to_float(value: Any) -> Any:
    # numbers (YAML's ints, numpy scalars) become float; anything else is left to the validator
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return value
    return float(value)


def _to_optional_float(value: Any) -> Any:
    return None if value is None else _to_float(value)


def _check_test(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in SEQUENTIAL_TESTS:
        raise SpecError(
            f"`sequential_test` must be one of {list(SEQUENTIAL_TESTS)}, got {value!r}"
        )


def _check_quantile(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not (isinstance(value, float) and 0.0 < value < 1.0):
        raise SpecError(
            f"`quantile` must be a number in (0, 1) such as 0.95 (or None), got {value!r}"
        )


def _check_bound(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in QUANTILE_BOUNDS:
        raise SpecError(
            f"`quantile_bound` must be one of {list(QUANTILE_BOUNDS)}, got {value!r}"
        )


def _check_n_opt(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, float) and math.isfinite(value) and value > 0):
        raise SpecError(f"`n_opt` must be a finite number > 0, got {value!r}")


def _check_burn_in(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, float) and math.isfinite(value) and value >= 0):
        raise SpecError(f"`burn_in` must be a finite number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class SequentialOptions(Options):
    """The options of ``method="sequential"``.

    Parameters
    ----------
    sequential_test : str, default "confidence_sequence"
        The test (:data:`SEQUENTIAL_TESTS`): ``"confidence_sequence"`` (each
        version's confidence sequence), ``"point_process"`` (Lindon and
        Malek's rate-ratio test; rates, delta only), ``"msprt"`` (the
        two-sample mSPRT; delta only) or ``"quantile"`` (confidence sequences
        of a quantile, from raw samples or histogram buckets).
    quantile : float, optional
        The quantile the ``"quantile"`` test judges, in (0, 1) (e.g. 0.95);
        required by that test, ignored by the others.
    quantile_bound : str, default "beta"
        The quantile test's bounds (:data:`~canarystats.stats.quantiles.QUANTILE_BOUNDS`):
        ``"beta"`` (Howard and Ramdas' Beta-mixture bound) or ``"dkw"`` (the
        wider, stitched Dvoretzky-Kiefer-Wolfowitz band).
    n_opt : float, default 1000
        Per-version sample size at which the normal-mixture bounds of a mean
        and the mSPRT's mixing variance are tuned to be tightest
        (:func:`~canarystats.normal_mixture_rho`); > 0.
    burn_in : float, default 30
        Minimum samples per version before a mean criterion, or an mSPRT,
        decides (their plug-in variances make them approximately valid);
        >= 0. An mSPRT on rates also waits for ``burn_in`` events and
        non-events per version.
    """

    sequential_test: str = attrs.field(default="confidence_sequence", validator=_check_test)
    quantile: float | None = attrs.field(
        default=None, converter=_to_optional_float, validator=_check_quantile
    )
    quantile_bound: str = attrs.field(default="beta", validator=_check_bound)
    n_opt: float = attrs.field(default=1000.0, converter=_to_float, validator=_check_n_opt)
    burn_in: float = attrs.field(default=30.0, converter=_to_float, validator=_check_burn_in)


# --------------------------------------------------------------------------- state


@attrs.frozen(kw_only=True)
class SequentialState:
    """State of the sequential method: running confidence sequences and last totals.

    Attributes
    ----------
    lower, upper : ndarray of float, shape (*batch, 2)
        Per version, the running intersection of the confidence sequence of
        the version's rate, mean or quantile (``-inf`` / ``+inf`` before any
        decision data). They only ever tighten.
    count, total : ndarray of float, shape (*batch, 2)
        The cumulative sample size and sum (successes for a rate) of the last
        update with clean data; NaN before the first. Cumulative observations
        must not decrease: an update that decreases them is bad data and
        leaves the state as it was.
    evidence : ndarray of float, shape (*batch, 4)
        The two-sample tests (``options.sequential_test``): the cumulative
        log e-value at the margin and the cumulative score (point-process
        test), then the running maxima of the log e-values for a PASS and for
        a FAIL (both tests). Zeros / ``-inf`` at ``init``.
    mixing : ndarray of float, shape (*batch, 3)
        The point-process test's Beta ``(a, b)`` and the allocation it refers
        to; the mSPRT's fixed mixing variance ``tau2`` in the first column.
        NaN until set.
    """

    lower: _F = array_field()
    upper: _F = array_field()
    count: _F = array_field()
    total: _F = array_field()
    evidence: _F = array_field(factory=lambda: np.full(4, np.nan))
    mixing: _F = array_field(factory=lambda: np.full(3, np.nan))


# --------------------------------------------------------------------------- helpers


def _kind(criterion: Criterion, observations: Observations) -> str:
    """What the criterion judges on these observations: ``"rate"``, ``"mean"`` or ``"quantile"``."""
    test = criterion.options.sequential_test
    if test == "quantile":
        return "quantile"
    if observations.successes is not None:
        return "rate"
    if test == "point_process":
        raise SpecError(
            f"`sequential_test` 'point_process' judges event counts (a rate with "
            f"`successes`); {criterion.metric!r} has none"
        )
    return "mean"


def _present(observations: Observations, kind: str) -> _B:
    """Per version (*batch, 2): whether the fields the kind reads are all there (not NaN)."""
    obs = observations
    present = ~np.isnan(obs.count)
    if kind == "rate":
        assert obs.successes is not None
        present &= ~np.isnan(obs.successes)
    elif kind == "mean":
        if obs.sum is None or obs.sumsq is None:
            return np.zeros(present.shape, dtype=bool)
        present &= ~np.isnan(obs.sum) & ~np.isnan(obs.sumsq)
    elif obs.buckets is not None:
        present &= ~np.isnan(obs.buckets).any(axis=-1)
    elif obs.samples is None:
        return np.zeros(present.shape, dtype=bool)
    out: _B = present
    return out


def _quantile_bounds(obs: Observations, p: float, level: _F, bound: str) -> tuple[_F, _F]:
    """Each version's one-sided quantile bounds at confidence ``level`` (NaN: nothing known)."""
    if obs.samples is None and obs.buckets is None:
        nan = np.full(obs.count.shape, np.nan)
        return nan, nan
    if obs.samples is not None:
        x = np.where(np.isinf(obs.samples), np.nan, obs.samples)
        lo, hi = quantile_cs(x, p, confidence_level=level, bound=bound)
    else:
        assert obs.buckets is not None
        assert obs.bucket_bounds is not None
        c = np.where(np.isfinite(obs.buckets), obs.buckets, 0.0)
        lo, hi = quantile_cs_buckets(np.maximum(c, 0.0), obs.bucket_bounds, p,
                                     confidence_level=level, bound=bound)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def _two_sample_update(
    test: str,
    state: SequentialState,
    clean: _B,
    ok: _B,
    n: _F,
    total: _F,
    sumsq: _F | None,
    r: _F,
    level: _F,
    n_opt: float,
    burn_in: float,
) -> tuple[_F, _F]:
    """The point-process test or the two-sample mSPRT for one look: new evidence and mixing.

    ``clean`` marks the slices whose increments enter the point-process test
    (clean data, sufficient or not), ``ok`` those that may decide (valid); ``level``
    is the confidence level of each slice.
    """
    ev = np.array(state.evidence, dtype=np.float64)
    mix = np.array(state.mixing, dtype=np.float64)
    if test == "point_process":
        prev_n = np.where(np.isnan(state.count), 0.0, state.count)
        prev_e = np.where(np.isnan(state.total), 0.0, state.total)
        inc_n = np.where(clean[..., None], np.rint(n) - np.rint(prev_n), 0.0)
        inc_e = np.where(clean[..., None], np.rint(total) - np.rint(prev_e), 0.0)
        w = inc_n[..., 1] / inc_n.sum(axis=-1)
        w = np.where(np.isfinite(w), w, 0.0)
        a, b, alloc, log_f, score = point_process_step(
            mix[..., 0], mix[..., 1], mix[..., 2], inc_e[..., 1], inc_e[..., 0], w,
            np.asarray(r, dtype=np.float64), 100.0,
        )
        ev[..., 0] += log_f
        ev[..., 1] += score
        mix = np.stack([a, b, alloc], axis=-1)
        below = np.where(ev[..., 1] < 0, ev[..., 0], -np.inf)
        above = np.where(ev[..., 1] > 0, ev[..., 0], -np.inf)
    else:  # msprt on the contrast estimate_c - r * estimate_b
        est = total / n
        if sumsq is None:  # rates: a continuity-adjusted plug-in variance
            p_adj = (total + 0.5) / (n + 1.0)
            s2 = p_adj * (1.0 - p_adj)
        else:
            s2 = np.maximum((sumsq - n * est * est) / (n - 1.0), 0.0)
        theta = est[..., 1] - r * est[..., 0]
        var = s2[..., 1] / n[..., 1] + r * r * s2[..., 0] / n[..., 0]
        ok = ok & (var > 0) & np.isfinite(var)
        if sumsq is None:  # the normal approximation needs events, not only requests
            ok &= (np.minimum(total, n - total) >= burn_in).all(axis=-1)
        v_h = (s2[..., 1] + r * r * s2[..., 0]) / n_opt
        tau2_new = 1.0 / np.asarray(normal_mixture_rho(1.0 / v_h, confidence_level=level))
        tau2 = np.where(np.isnan(mix[..., 0]) & ok & (v_h > 0), tau2_new, mix[..., 0])
        ok &= np.isfinite(tau2)
        log_l = np.asarray(
            msprt_two_sample(theta, var, tau2, confidence_level=level).log_lambda
        )
        mix[..., 0] = tau2
        below = np.where(ok & (theta < 0), log_l, -np.inf)
        above = np.where(ok & (theta > 0), log_l, -np.inf)
    ev[..., 2] = np.maximum(ev[..., 2], below)
    ev[..., 3] = np.maximum(ev[..., 3], above)
    return ev, mix


# --------------------------------------------------------------------------- the method


@register_method
class SequentialMethod(Method):
    """Anytime-valid criteria (``method="sequential"``), vectorized over a batch.

    A criterion is judged at confidence ``c = criterion.confidence`` with
    ``alpha = 1 - c``. Each version gets a confidence sequence for its
    parameter, kept as a running intersection in the state; the verdict is

    - threshold (lower is better): PASS once the candidate's upper bound is
      below ``tolerance``; FAIL once its lower bound is above it;
    - delta (lower is better, ``r = 1 + tolerance``): PASS once
      ``upper_c < r * lower_b``; FAIL once ``lower_c > r * upper_b``;
      mirrored for ``direction="higher"`` (``r = 1 - tolerance``);
    - else INCONCLUSIVE with ``Reason.NOT_YET_DECIDED``.

    For a threshold each of the candidate's bounds holds with probability
    ``1 - alpha`` at all times, so P(ever a false PASS) and P(ever a false
    FAIL) are each at most ``alpha`` under any monitoring. For a delta each
    version's bounds hold with ``1 - alpha/2`` (a union bound over the two
    versions), so the same guarantee holds whatever the traffic split is,
    however it changes between assessments (each version's sequence uses only
    that version's cumulative totals).

    Which fields are used:

    - rates (``successes`` given): ``successes`` out of ``count`` (e.g. 5xx
      out of requests), rounded to integers; the Beta(1/2, 1/2) mixture
      confidence sequence (:func:`~canarystats.bernoulli_cs`), exact for
      i.i.d. Bernoulli requests at every sample size.
    - means (no ``successes``): ``sum``, ``sumsq`` and ``count``; the
      one-sided normal-mixture bounds of :func:`~canarystats.normal_mean_cs`
      (``alternative="greater"`` and ``"less"``, from one
      :func:`~canarystats.stats.confidence_sequences.normal_mean_radius`)
      with the running sample standard deviation plugged in, tuned for
      ``options.n_opt`` requests per version. The plug-in makes them
      approximately valid, so no decision is made before ``options.burn_in``
      samples per version. ``sumsq`` is required (no scale is assumed).
    - the ``"quantile"`` test: raw ``samples`` or histogram ``buckets``; the
      anytime-valid bounds on the ``options.quantile`` of each version
      (:func:`~canarystats.quantile_cs`, :func:`~canarystats.quantile_cs_buckets`,
      ``options.quantile_bound``).

    Two-sample alternatives for a delta, chosen per criterion with
    ``options={"sequential_test": ...}`` (:data:`SEQUENTIAL_TESTS`,
    :class:`SequentialOptions`):

    - ``"confidence_sequence"`` (the default): the per-version sequences above.
    - ``"point_process"`` (rates): Lindon and Malek's test of the rate ratio
      (:func:`~canarystats.rate_ratio_test`, k = 100) on the errors of each
      interval given each version's requests in it, the allocation changing
      at every assessment; the running log e-values against ``ratio >= r``
      and ``ratio <= r`` (the composite nulls, through the sign of the score
      at ``r``) each at ``alpha`` (no union bound). Assumes errors thin a
      Poisson process of requests (rare errors). Intervals with clean data
      enter the test even while the sample is insufficient to decide.
    - ``"msprt"`` (rates or means): Johari et al.'s two-sample mSPRT
      (:func:`~canarystats.msprt_two_sample`) on the contrast ``estimate_c -
      r estimate_b`` with plug-in variances (rates: ``(S + 1/2) / (n + 1)``),
      ``tau2`` fixed at the first decision look for ``n_opt`` requests per
      version; approximately valid, so it waits for ``burn_in`` samples per
      version (and, for rates, ``burn_in`` events and non-events per version).

    Data. Insufficient samples (``sample_size``, and ``burn_in`` for means
    and the mSPRT), missing and bad data follow the library's data policy
    (:mod:`canarystats.methods.base`). What only this method sees: cumulative
    totals that decrease against the state (``count``, and ``successes`` of a
    rate: a counter reset) are bad data and leave the state as it was; a zero
    sample variance of a mean is INCONCLUSIVE with
    ``Reason.INSUFFICIENT_SAMPLE`` (it would collapse the running bounds). Counter metrics (a
    cumulative count against a threshold is an observed fact, not an
    estimate) are refused. A FAIL aborts when ``stop_on_failure`` is set. The
    verdicts hold at any stopping time (``anytime_valid``).
    """

    name = "sequential"
    options_type = SequentialOptions
    state_type = SequentialState

    def check(self, criterion: Criterion) -> None:
        check_classical_criterion(self.name, criterion)
        opts: SequentialOptions = criterion.options
        test = opts.sequential_test
        if test == "quantile":
            if opts.quantile is None:
                raise SpecError(
                    f"`sequential_test` 'quantile' needs `quantile`, a number in (0, 1) such "
                    f"as 0.95 (criterion {criterion.metric!r}), got None"
                )
        elif test != "confidence_sequence" and criterion.tolerance_type != "delta":
            raise SpecError(
                f"`sequential_test` {test!r} compares two versions: it needs "
                f"`tolerance_type` 'delta' (criterion {criterion.metric!r}), got "
                f"{criterion.tolerance_type!r}"
            )

    def anytime_valid(self, criterion: Criterion) -> bool:
        return True

    def needs(self, criterion: Criterion, kind: str) -> frozenset[str]:
        if criterion.options.sequential_test == "quantile":
            return frozenset({"count", "buckets"})
        if kind == "rate":
            return frozenset({"count", "successes"})
        if kind == "mean":
            return frozenset({"count", "sum", "sumsq"})
        return frozenset({"count", "value"})  # a counter: refused by the checks

    def reads(self, criterion: Criterion, observations: Observations) -> tuple[str, ...]:
        kind = _kind(criterion, observations)
        if kind == "rate":
            return ("successes",)
        if kind == "mean":
            return ("sum", "sumsq")
        return ("samples",) if observations.buckets is None else ("buckets",)

    def minimum_count(self, criterion: Criterion, observations: Observations) -> Any:
        kind = _kind(criterion, observations)
        opts: SequentialOptions = criterion.options
        if kind == "mean" or (kind == "rate" and opts.sequential_test == "msprt"):
            return opts.burn_in
        return 0.0

    def initial_state(
        self, criterion: Criterion, batch_shape: tuple[int, ...]
    ) -> SequentialState:
        shape = (*batch_shape, 2)
        evidence = np.zeros((*batch_shape, 4))
        evidence[..., 2:] = -np.inf
        return SequentialState(
            lower=np.full(shape, -np.inf),
            upper=np.full(shape, np.inf),
            count=np.full(shape, np.nan),
            total=np.full(shape, np.nan),
            evidence=evidence,
            mixing=np.full((*batch_shape, 3), np.nan),
        )

    def evidence(
        self, criterion: Criterion, state: SequentialState, observations: Observations,
        report: DataReport, n: _F,
    ) -> Evidence:
        obs = observations
        opts: SequentialOptions = criterion.options
        batch = obs.batch_shape
        tol = batch_param("tolerance", criterion.tolerance, batch)
        conf = batch_param("confidence", criterion.confidence, batch)
        delta = criterion.tolerance_type == "delta"
        lower_better = criterion.direction == "lower"
        kind = _kind(criterion, obs)
        test = opts.sequential_test

        count = obs.count
        if kind == "rate":
            assert obs.successes is not None
            total = obs.successes
        elif kind == "mean" and obs.sum is not None:
            total = obs.sum
        else:
            total = count
        # slices whose relevant data are clean, sufficient or not (only valid ones decide)
        clean = ~report.bad & ~report.missing & ~relevant_versions(~_present(obs, kind), delta)
        # cumulative observations never decrease (a NaN state compares False)
        down = (count < state.count) | ((total < state.total) if kind == "rate" else False)
        decreasing = clean & relevant_versions(down, delta)
        clean &= ~decreasing
        ok = report.valid & clean
        need = np.maximum(
            batch_param("sample_size", criterion.sample_size, batch),
            self.minimum_count(criterion, obs),
        )
        sufficient_v = n >= need[..., None]
        keep = clean[..., None]
        safe_n = np.where(keep, count, 0.0)
        safe_t = np.where(keep, total, 0.0)
        new_count = np.where(keep, count, state.count)
        new_total = np.where(keep, total, state.total)

        sumsq = None
        insufficient = None
        if kind == "mean":
            raw = obs.sumsq if obs.sum is not None else None
            sumsq = np.where(keep, raw, 0.0) if raw is not None else np.zeros(count.shape)
            centred = sumsq - safe_t * safe_t / safe_n
            # a zero sample variance (within the rounding of the sums) decides nothing
            flat_v = ~(centred > SUMSQ_RTOL * np.abs(sumsq))
            insufficient = ok & relevant_versions(flat_v, delta)
            ok = ok & ~insufficient

        if test in ("point_process", "msprt"):
            r = 1.0 + tol if lower_better else 1.0 - tol
            alpha1 = np.broadcast_to(1.0 - conf, batch)
            evidence, mixing = _two_sample_update(
                test, state, clean, ok, safe_n, safe_t, sumsq, r, np.broadcast_to(conf, batch),
                opts.n_opt, opts.burn_in,
            )
            # evidence[..., 2] is for r_true < r, evidence[..., 3] for r_true > r
            below = evidence[..., 2] >= np.log(1.0 / alpha1)
            above = evidence[..., 3] >= np.log(1.0 / alpha1)
            good, worse = (below, above) if lower_better else (above, below)
            new_state = SequentialState(
                lower=state.lower, upper=state.upper, count=new_count, total=new_total,
                evidence=evidence, mixing=mixing,
            )
        else:
            # each version's bounds at 1 - alpha, alpha = (1 - conf) / 2 for a delta
            level = np.broadcast_to(1.0 - (1.0 - conf) / 2.0 if delta else conf, batch)[..., None]
            if kind == "quantile":
                assert opts.quantile is not None
                lo, hi = _quantile_bounds(obs, opts.quantile, level, opts.quantile_bound)
                # an unbounded side (+-inf) early on is a valid bound
                known = ~np.isnan(lo) & ~np.isnan(hi)
            else:
                if kind == "rate":
                    lo, hi = bernoulli_cs(np.rint(safe_t), np.rint(safe_n), confidence_level=level)
                else:
                    assert sumsq is not None
                    mean = safe_t / safe_n
                    var = (sumsq - safe_n * mean * mean) / (safe_n - 1.0)
                    sd = np.sqrt(np.maximum(var, 0.0))
                    # each bound alone at alpha: the ends of the "greater" and "less" sequences
                    radius = normal_mean_radius(
                        safe_n, sd, confidence_level=level, n_opt=opts.n_opt,
                        alternative="greater",
                    )
                    lo, hi = mean - radius, mean + radius
                lo, hi = np.asarray(lo), np.asarray(hi)
                known = np.isfinite(lo) & np.isfinite(hi)
            use = ok[..., None] & sufficient_v & known
            new_lower = np.where(use, np.maximum(state.lower, lo), state.lower)
            new_upper = np.where(use, np.minimum(state.upper, hi), state.upper)
            cl, cu = new_lower[..., 1], new_upper[..., 1]
            if delta:
                r = 1.0 + tol if lower_better else 1.0 - tol
                bl, bu = new_lower[..., 0], new_upper[..., 0]
                good = cu < r * bl if lower_better else cl > r * bu
                worse = cl > r * bu if lower_better else cu < r * bl
            else:
                good = cu < tol if lower_better else cl > tol
                worse = cl > tol if lower_better else cu < tol
            new_state = attrs.evolve(
                state, lower=new_lower, upper=new_upper, count=new_count, total=new_total
            )
        return Evidence(
            state=new_state,
            passed=np.asarray(good & ~worse),
            failed=np.asarray(worse & ~good),
            bad=decreasing,
            bad_what=DECREASING_WHAT,
            insufficient=insufficient,
        )
