"""The rank judge as a criterion method (``method="ranks"``), with its options and state.

:class:`RanksMethod` judges delta criteria with Kayenta's classification rule
(:func:`~canarystats.stats.kayenta.classify_metric`) on raw samples or
histogram buckets, and threshold criteria with the exact sign test of the
candidate's median; :class:`RanksOptions` are its options and
:class:`RanksState` what it keeps between assessments. The statistics are the
kernels of :mod:`canarystats.stats.mann_whitney` and
:mod:`canarystats.stats.kayenta`; the data policy is the base's
(:mod:`canarystats.methods.base`).

Examples
--------
>>> import numpy as np
>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="latency", tolerance_type="threshold", tolerance=1.2,
...               sample_size=10, method="ranks", confidence=0.95)
>>> cand = np.linspace(0.5, 1.0, 30)  # every sample below 1.2: the median is below
>>> samples = np.stack([np.ones(30), cand])[None]
>>> obs = Observations(count=[[30.0, 30.0]], value=samples.mean(axis=-1), samples=samples)
>>> r = evaluate_criterion(c, obs)
>>> r.verdict.tolist(), r.reason.tolist(), float(r.state.estimate[0])
([1], [0], 0.75)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from canarystats._arrays import array_field
from canarystats.errors import SpecError
from canarystats.methods.base import DataReport, Evidence, Method
from canarystats.observations import Observations
from canarystats.registry import Options, register_method
from canarystats.spec import Criterion, batch_param
from canarystats.stats.kayenta import MetricClass, classify_metric, nanmean
from canarystats.stats.mann_whitney import mann_whitney_binned

__all__ = ["RanksMethod", "RanksOptions", "RanksState"]

_F = NDArray[np.float64]
_B = NDArray[np.bool_]
_I8 = NDArray[np.int8]

# what a non-finite derived quantity is (the bad-data warning's words)
_OVERFLOW_WHAT = (
    "values too large for the rank statistics (a mean, the shift or the median overflows)"
)


# --------------------------------------------------------------------------- options


def _to_float(value: Any) -> Any:
    # numbers (YAML's ints, numpy scalars) become float; anything else is left to the validator
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return value
    return float(value)


def _to_bool(value: Any) -> Any:
    return bool(value) if isinstance(value, np.bool_) else value


def _check_band(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, float) and math.isfinite(value) and value >= 0):
        raise SpecError(f"`estimate_tolerance` must be a finite number >= 0, got {value!r}")


def _check_scale_check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"`scale_check` must be true or false, got {value!r}")


@attrs.frozen(kw_only=True)
class RanksOptions(Options):
    """The options of ``method="ranks"``.

    Parameters
    ----------
    estimate_tolerance : float, default 0.25
        Kayenta's band relative to the shift estimate (a finite number >= 0):
        a delta criterion's bad direction needs the two-sided interval of the
        shift to clear ``estimate_tolerance * |estimate|``. Threshold criteria
        do not use it.
    scale_check : bool, default False
        Also flag a candidate whose spread grows (the rank test of the
        absolute deviations from each sample's median, see
        :func:`~canarystats.classify_metric`), for ``direction="lower"``.
        It needs raw ``samples``: on bucket-only observations it is a
        :class:`~canarystats.SpecError` (and the simulator, which draws no
        samples, refuses it).
    """

    estimate_tolerance: float = attrs.field(default=0.25, converter=_to_float,
                                            validator=_check_band)
    scale_check: bool = attrs.field(default=False, converter=_to_bool,
                                    validator=_check_scale_check)


# --------------------------------------------------------------------------- state


@attrs.frozen(kw_only=True)
class RanksState:
    """State of the ranks method: what it found at the last assessment.

    Attributes
    ----------
    estimate, ci_low, ci_high, effect, pvalue : ndarray of float, shape (*batch,)
        The candidate's shift over the baseline, its interval, the effect
        size (mean ratio) and the rank test's p-value; NaN before the first
        assessment and where there was no data (or the data were bad).
    classification : ndarray of int8, shape (*batch,)
        The :class:`~canarystats.MetricClass` of the last assessment.
    """

    estimate: _F = array_field()
    ci_low: _F = array_field()
    ci_high: _F = array_field()
    effect: _F = array_field()
    pvalue: _F = array_field()
    classification: _I8 = array_field()


def _bucket_means(obs: Observations, counts: _F) -> _F:
    """Per version: ``sum / count`` when the observations carry ``sum``, else from the bounds."""
    if obs.sum is not None:
        return np.asarray(obs.sum / obs.count, dtype=np.float64)
    assert obs.bucket_bounds is not None
    # overflow observations sit at the last finite bound: a lower bound of the mean
    finite = obs.bucket_bounds[np.isfinite(obs.bucket_bounds)]
    last = finite[-1] if finite.size else np.nan
    rep = np.where(np.isfinite(obs.bucket_bounds), obs.bucket_bounds, last)
    return np.asarray((counts * rep).sum(axis=-1) / counts.sum(axis=-1), dtype=np.float64)


def _bucket_counts(buckets: _F, usable: _B) -> _F:
    """The bucket counts a version's test reads: 0 (no data) where they are not usable.

    A row is dropped outside ``usable`` slices and where one of its counts is
    missing (an insufficient slice may lack some). The rank test rounds them.
    """
    keep = np.isfinite(buckets).all(axis=-1, keepdims=True)
    keep &= usable.reshape(usable.shape + (1,) * (buckets.ndim - usable.ndim))
    return np.where(keep, buckets, 0.0)


def _flat(v: Any, batch: tuple[int, ...]) -> _F:
    return np.asarray(v, dtype=np.float64).reshape(batch)


# --------------------------------------------------------------------------- the method


@register_method
class RanksMethod(Method):
    """The rank judge as a criterion method (``method="ranks"``).

    **Delta criteria.**

    Per assessment it uses the observations' cumulative raw ``samples`` if
    present, else their ``buckets`` (histogram counts with ``bucket_bounds``),
    and judges the candidate (version 1) against the baseline (version 0)
    with :func:`~canarystats.classify_metric`'s rule at the criterion's
    ``confidence``: the bad direction (``direction="lower"``: an increase) is
    High when the two-sided interval of the shift clears the band
    ``estimate_tolerance * |estimate|`` and the mean ratio exceeds the margin,
    ``1 + tolerance`` (``1 - tolerance`` for ``direction="higher"``). High
    (the bad direction) is FAIL, Pass and the good direction PASS. Options:
    :class:`RanksOptions` (``estimate_tolerance``, Kayenta's 0.25, and
    ``scale_check``, raw samples only). The mean comes from the samples, or
    for buckets from ``sum / count`` when the observations carry ``sum``, else
    from the bucket upper bounds (overflow at the last finite bound). The
    method state keeps the last estimate, interval, effect, p-value and
    class.

    **Threshold criteria** (the candidate's *median* against ``tolerance``:
    ``median <= tolerance`` for ``direction="lower"``, ``>=`` for
    ``"higher"``): the exact sign test, distribution-free and valid with ties.
    With ``alpha = 1 - confidence`` and ``S`` the candidate's samples at or
    below the threshold (below it for ``"higher"``), FAIL when the median is
    shown on the wrong side (``P(Bin(n, 1/2) <= S) <= alpha`` for
    ``"lower"``), PASS when it is shown on the right side (``P(Bin(n, 1/2) >=
    S) <= alpha``), else INCONCLUSIVE with ``Reason.NOT_YET_DECIDED`` -- the
    three-way rule of ``method="fixed"``. Equivalently the one-sided ``1 -
    alpha`` order-statistic bounds of the median (Hollander & Wolfe 1999,
    sec. 3.6) lie above / below the threshold. On buckets ``S`` is known
    exactly when the threshold is a bucket bound; otherwise each test uses
    the conservative end (so a threshold between bounds can stay
    INCONCLUSIVE). The state keeps the median (on buckets: the upper bound of
    its bucket), the bounds, the share of samples at or below the threshold
    (``effect``), the p-value of the FAIL test and the class (HIGH: median
    shown above, LOW: below, PASS: neither). A counter metric is a SpecError.

    **Data.** The library's data policy (:mod:`canarystats.methods.base`)
    validates ``count`` and the field judged (``samples``, else ``buckets``
    and, for a delta whose means come from it, ``sum``). On top of it, the
    rank test's own sample -- the number of samples, or the bucket counts'
    total rounded as the test reads them -- must reach ``sample_size`` and
    not be 0 for every version read (else INCONCLUSIVE with
    ``Reason.INSUFFICIENT_SAMPLE``), and what the rule derives from the data
    (the versions' means, the effect, the shift estimate and its interval on
    samples, the median on samples, the bucket totals) must be finite: on
    samples near the float range they overflow, which is bad data. Slices
    without usable data keep NaN and the class NODATA in the state.
    ``scale_check`` on bucket-only observations, and observations with
    neither ``samples`` nor ``buckets``, are a SpecError.
    """

    name = "ranks"
    options_type = RanksOptions
    state_type = RanksState

    def check(self, criterion: Criterion) -> None:
        if criterion.tolerance_type == "threshold" and criterion.is_counter:
            raise SpecError(
                f"method 'ranks' judges a distribution; {criterion.metric!r} is a counter "
                "(a cumulative count against a threshold): use method 'point'"
            )

    def needs(self, criterion: Criterion, kind: str) -> frozenset[str]:
        if criterion.options.scale_check:
            return frozenset({"count", "samples"})  # the simulator draws none: it refuses
        return frozenset({"count", "buckets"})

    def reads(self, criterion: Criterion, observations: Observations) -> tuple[str, ...]:
        if observations.samples is None and criterion.options.scale_check:
            raise SpecError(
                "`scale_check` needs raw `samples`: the deviations from the median of "
                f"bucketed data are not bucketed on shared bounds ({criterion.metric!r} "
                "has only buckets)"
            )
        if observations.samples is not None:
            return ("samples",)
        if observations.buckets is None:
            raise SpecError(
                f"method 'ranks' needs `samples` or `buckets` in the observations of "
                f"{criterion.metric!r}; they hold neither"
            )
        if criterion.tolerance_type == "delta" and observations.sum is not None:
            return ("buckets", "sum")
        return ("buckets",)

    def initial_state(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> RanksState:
        nan = np.full(batch_shape, np.nan)
        return RanksState(
            estimate=nan, ci_low=nan, ci_high=nan, effect=nan, pvalue=nan,
            classification=np.zeros(batch_shape, dtype=np.int8),
        )

    def evidence(
        self, criterion: Criterion, state: RanksState, observations: Observations,
        report: DataReport, n: _F,
    ) -> Evidence:
        if criterion.tolerance_type == "threshold":
            return _median_threshold(criterion, observations, report)
        return _delta(criterion, observations, report)


def _finish(
    batch: tuple[int, ...], usable: _B, empty: _B, short: _B, derived: tuple[_F, ...],
    values: tuple[_F, _F, _F, _F, _F], cls: _I8, passed: _B, failed: _B,
) -> Evidence:
    """The evidence, with the test's own sample and derived quantities; the new state.

    ``usable`` marks the slices with clean data (sufficient or not), ``empty``
    those where a version read has no sample in the test, ``short`` those
    where one has fewer than ``sample_size``. The derived quantities must be
    finite where the test has data; the state is NaN (class NODATA) where the
    data are not usable or a derived quantity is not finite.
    """
    judged = usable & ~empty
    checked = tuple(np.where(judged, d, 0.0) for d in derived)
    finite = np.ones(batch, dtype=bool)
    for d in checked:
        finite &= np.isfinite(d)
    est, lo, hi, effect, p = (np.where(usable & finite, v, np.nan) for v in values)
    nodata = ~usable | empty | ~finite
    state = RanksState(
        estimate=est, ci_low=lo, ci_high=hi, effect=effect, pvalue=p,
        classification=np.where(nodata, np.int8(MetricClass.NODATA), cls).astype(np.int8),
    )
    return Evidence(
        state=state, passed=passed, failed=failed, insufficient=empty | short,
        derived=checked, bad_what=_OVERFLOW_WHAT,
    )


def _delta(criterion: Criterion, observations: Observations, report: DataReport) -> Evidence:
    """A delta criterion judged by ranks: Kayenta's rule (see :class:`RanksMethod`)."""
    batch = observations.batch_shape
    tol = batch_param("tolerance", criterion.tolerance, batch)
    need = batch_param("sample_size", criterion.sample_size, batch)
    conf = batch_param("confidence", criterion.confidence, batch)
    options: RanksOptions = criterion.options
    band = options.estimate_tolerance
    lower = criterion.direction == "lower"
    usable = ~(report.bad | report.missing)  # clean data (sufficient or not)
    derived: tuple[Any, ...]
    if observations.samples is not None:
        s = np.where(usable[..., None, None], observations.samples, np.nan)
        base, cand = s[..., 0, :], s[..., 1, :]
        res = classify_metric(
            base, cand, direction="increase" if lower else "decrease",
            tolerance=band, confidence_level=conf, scale_check=options.scale_check and lower,
        )
        est, lo, hi = res.estimate, res.ci_low, res.ci_high
        p, scale_high = res.pvalue, res.scale_high
        n_b = np.count_nonzero(~np.isnan(base), axis=-1).astype(np.float64)
        n_c = np.count_nonzero(~np.isnan(cand), axis=-1).astype(np.float64)
        mb, mc = nanmean(base), nanmean(cand)
        derived = (est, lo, hi, mb, mc)
    else:
        assert observations.buckets is not None
        assert observations.bucket_bounds is not None
        counts = _bucket_counts(observations.buckets, usable)
        mw = mann_whitney_binned(
            counts[..., 1, :], counts[..., 0, :], observations.bucket_bounds,
            confidence_level=conf,
        )
        lo, hi = mw.confidence_interval()
        est, p = mw.estimate, mw.pvalue
        scale_high = np.zeros(batch, dtype=bool)
        totals = np.rint(counts).sum(axis=-1)  # the test's sample sizes
        n_b, n_c = totals[..., 0], totals[..., 1]
        # the overflow bucket makes the shift and its interval infinite legitimately
        means = _bucket_means(observations, counts)
        mb, mc = means[..., 0], means[..., 1]
        derived = (n_b, n_c, mb, mc)
    est, lo, hi, p = (_flat(v, batch) for v in (est, lo, hi, p))
    mb, mc = _flat(mb, batch), _flat(mc, batch)
    effect = np.where(mb == 0, 1.0, mc / mb).reshape(batch)
    bound = band * np.abs(est)
    if lower:
        worse = (lo > bound) & (effect >= 1 + tol)
        better = hi < -bound
    else:
        worse = (hi < -bound) & (effect <= 1 - tol)
        better = lo > bound
    worse = worse | np.asarray(scale_high).reshape(batch)
    n_b, n_c = _flat(n_b, batch), _flat(n_c, batch)
    empty = (n_b == 0) | (n_c == 0)
    short = (n_b < need) | (n_c < need)
    cls = np.where(worse, MetricClass.HIGH if lower else MetricClass.LOW, MetricClass.PASS)
    cls = np.where(better & ~worse, MetricClass.LOW if lower else MetricClass.HIGH, cls)
    return _finish(
        batch, usable, empty, short, (*(_flat(d, batch) for d in derived), effect),
        (est, lo, hi, effect, p), cls.astype(np.int8), ~worse, worse,
    )


def _median_threshold(
    criterion: Criterion, observations: Observations, report: DataReport
) -> Evidence:
    """A threshold criterion judged by ranks: the exact sign test of the candidate's median.

    See :class:`RanksMethod`. ``S`` counts the candidate's samples at or below
    ``t`` (``direction="lower"``: the criterion is ``median <= t``) or below
    ``t`` (``"higher"``: ``median >= t``); on buckets it is known only between
    the counts up to the last bound before ``t`` and the first bound at or
    after it, and each test uses the end that makes it conservative.
    """
    batch = observations.batch_shape
    t = batch_param("tolerance", criterion.tolerance, batch)
    need = batch_param("sample_size", criterion.sample_size, batch)
    alpha = 1.0 - batch_param("confidence", criterion.confidence, batch)
    lower_better = criterion.direction == "lower"
    usable = ~(report.bad | report.missing)  # clean data (sufficient or not)
    order_stat: Callable[[_F], _F]
    if observations.samples is not None:
        x = observations.samples[..., 1, :]
        xs = np.sort(np.where(usable[..., None], x, np.nan), axis=-1)
        n = np.count_nonzero(~np.isnan(xs), axis=-1).astype(np.float64)
        below = xs <= t[..., None] if lower_better else xs < t[..., None]
        s_lo = s_hi = np.count_nonzero(below, axis=-1).astype(np.float64)

        def order_stat(r: _F) -> _F:  # the r-th smallest (1-based); NaN outside [1, n]
            ok = (r >= 1) & (r <= n)
            if not xs.shape[-1]:
                return np.full(r.shape, np.nan)
            idx = np.clip(r - 1, 0, xs.shape[-1] - 1).astype(np.int64)
            return np.where(ok, np.take_along_axis(xs, idx[..., None], axis=-1)[..., 0], np.nan)
    else:
        assert observations.buckets is not None
        assert observations.bucket_bounds is not None
        edges = observations.bucket_bounds
        counts = np.rint(_bucket_counts(observations.buckets[..., 1, :], usable))
        cum = np.cumsum(counts, axis=-1)
        n = cum[..., -1]
        # S lies between the count up to the last bound before t (at or before t for
        # "<= t") and the count up to the first bound at or after t
        last = np.searchsorted(edges, t, side="right" if lower_better else "left") - 1
        first = np.minimum(np.searchsorted(edges, t, side="left"), edges.size - 1)
        s_lo = np.where(
            last >= 0, np.take_along_axis(cum, np.maximum(last, 0)[..., None], -1)[..., 0], 0.0
        )
        s_hi = np.take_along_axis(cum, np.broadcast_to(first, n.shape)[..., None], -1)[..., 0]

        def order_stat(r: _F) -> _F:  # upper bound of the bucket holding the r-th smallest
            ok = (r >= 1) & (r <= n)
            idx = (cum < r[..., None]).sum(axis=-1)
            return np.where(ok, edges[np.minimum(idx, edges.size - 1)], np.nan)

    empty, short = np.asarray(n == 0).reshape(batch), np.asarray(n < need).reshape(batch)
    # scipy's binomial takes integer sizes; a total beyond them is bad data (derived below)
    big = ~(n < 2.0**62)
    ni = np.where(big, 0.0, n).astype(np.int64)
    s_lo, s_hi = np.where(big, 0.0, s_lo), np.where(big, 0.0, s_hi)
    # P(Bin(n, 1/2) <= S) small: few samples at/below t; P(... >= S) small: many
    p_few = special.bdtr(s_hi.astype(np.int64), ni, 0.5)
    p_many = np.where(
        s_lo > 0, special.bdtrc(np.maximum(s_lo - 1, 0).astype(np.int64), ni, 0.5), 1.0
    )
    # the one-sided bounds' rank: l - 1 = the largest j with P(Bin(n, 1/2) <= j) <= alpha
    # (from the normal guess, which is within a few steps: walk down, then up)
    nf = ni.astype(np.float64)
    j = np.clip(np.floor(nf / 2 - special.ndtri(1 - alpha) * np.sqrt(nf) / 2), -1, nf)
    j = j.astype(np.int64)
    while True:
        down = (j >= 0) & (special.bdtr(np.maximum(j, 0), ni, 0.5) > alpha)
        if not down.any():
            break
        j = np.where(down, j - 1, j)
    while True:
        up = (j + 1 <= ni) & (special.bdtr(j + 1, ni, 0.5) <= alpha)
        if not up.any():
            break
        j = np.where(up, j + 1, j)
    rank = (j + 1).astype(np.float64)
    above, under = p_few <= alpha, p_many <= alpha  # the median shown above / below t
    worse, better = (above, under) if lower_better else (under, above)
    median_lo, median_hi = order_stat(np.floor((n + 1) / 2)), order_stat(np.ceil((n + 1) / 2))
    if observations.samples is not None:
        # the mean of the middle two; halved first where their sum overflows (1e308)
        estimate = (median_lo + median_hi) / 2
        estimate = np.where(np.isinf(estimate), median_lo / 2 + median_hi / 2, estimate)
    else:
        estimate = median_hi
    ci_low = np.where(rank >= 1, order_stat(rank), -np.inf)
    ci_high = np.where(rank >= 1, order_stat(n - rank + 1), np.inf)
    share = np.where(n > 0, s_hi / n, np.nan)
    cls = np.where(above, MetricClass.HIGH, np.where(under, MetricClass.LOW, MetricClass.PASS))
    # the median of finite samples must be finite; on buckets it may legitimately be the
    # overflow bucket's +inf, but the total must be a count scipy's binomial can take
    derived = (_flat(estimate, batch),) if observations.samples is not None else ()
    derived = (*derived, np.where(big, np.inf, 0.0).reshape(batch))
    return _finish(
        batch, usable, empty, short, derived,
        (_flat(estimate, batch), _flat(ci_low, batch), _flat(ci_high, batch),
         _flat(share, batch), _flat(p_few if lower_better else p_many, batch)),
        cls.astype(np.int8).reshape(batch),
        np.asarray(better, dtype=bool).reshape(batch), np.asarray(worse, dtype=bool).reshape(batch),
    )
