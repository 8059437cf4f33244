"""Kayenta-class judging: per-metric classes from the rank test, and weighted group scores.

A judge of the class of Netflix Kayenta's ``NetflixACAJudge``, vectorized over
a batch of metric pairs:

- :func:`classify_metric` -- Kayenta's per-metric classes High / Low / Pass /
  NoData (:class:`MetricClass`) from the Mann-Whitney interval of the shift
  and an effect size, with an opt-in scale check Kayenta lacks
  (:class:`MetricClassification`);
- :func:`score_groups` -- weighted group scores into Pass / Marginal / Fail
  (:class:`ScoreClass`, :class:`ScoreResult`).

See ``docs/ranks.md`` for where the judge deliberately differs from Kayenta.

Examples
--------
>>> from canarystats.stats.kayenta import MetricClass, classify_metric
>>> r = classify_metric([1, 2, 3, 4, 5, 6], [11, 12, 13, 14, 15, 16])
>>> MetricClass(int(r.classification)).name, float(r.estimate)
('HIGH', 10.0)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats._arrays import scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats.mann_whitney import check_choice, mann_whitney

__all__ = [
    "NODATA_FAIL_PERCENT",
    "MetricClass",
    "MetricClassification",
    "ScoreClass",
    "ScoreResult",
    "classify_metric",
    "nanmean",
    "score_groups",
]

_F = NDArray[np.float64]
_I = NDArray[np.int64]
_B = NDArray[np.bool_]


# --------------------------------------------------------------------------- classification


class MetricClass(enum.IntEnum):
    """Kayenta's per-metric classes (int8 codes).

    NODATA_FAIL is Kayenta's ``NodataFailMetric``: a metric that must have
    data and has none; it counts as a failure in its group's score.
    """

    NODATA = 0
    PASS = 1
    HIGH = 2
    LOW = 3
    NODATA_FAIL = 4


_DIRECTIONS = ("increase", "decrease", "either")
_EFFECTS = ("mean_ratio", "cles")
_NAN_STRATEGIES = ("remove", "replace")


@attrs.frozen(kw_only=True)
class MetricClassification:
    """Result of :func:`classify_metric`; arrays of the batch shape (numpy scalars for ``()``).

    Attributes
    ----------
    classification : ndarray of int8
        :class:`MetricClass` codes.
    critical : ndarray of bool
        A critical metric's failure (High / Low beyond the critical
        thresholds, or NoData): fails the whole canary in :func:`score_groups`.
    estimate, ci_low, ci_high : ndarray of float
        Hodges-Lehmann shift of the candidate over the baseline and its interval.
    bound : ndarray of float
        The tolerance band ``tolerance * |estimate|`` the interval must clear.
    effect : ndarray of float
        The effect size: mean ratio (candidate / baseline; 1 when the baseline
        mean is 0, as Kayenta) or the common-language effect size.
    pvalue : ndarray of float
        The two-sided rank test's p-value (not used by the rule; reported).
    scale_high : ndarray of bool
        The opt-in scale check found the candidate more dispersed (a High).
    scale_estimate, scale_effect : ndarray of float
        Shift of the absolute deviations from the medians, and their median
        ratio (candidate / baseline); NaN when the check is off.
    n_baseline, n_candidate : ndarray of int
        Sample sizes used (after NaN and outlier handling).
    """

    classification: Any
    critical: Any
    estimate: Any
    ci_low: Any
    ci_high: Any
    bound: Any
    effect: Any
    pvalue: Any
    scale_high: Any
    scale_estimate: Any
    scale_effect: Any
    n_baseline: Any
    n_candidate: Any


def _clean(a: _F, nan_strategy: str, nan_fill: float, outlier_factor: float | None) -> _F:
    if nan_strategy == "replace":
        # trailing NaN are padding; NaN before a row's last sample are missing values
        seen = np.flip(np.maximum.accumulate(np.flip(~np.isnan(a), axis=-1), axis=-1), axis=-1)
        a = np.where(np.isnan(a) & seen, nan_fill, a)
    if outlier_factor is not None:
        empty = np.isnan(a).all(axis=-1, keepdims=True)
        safe = np.where(empty, 0.0, a)
        q1, q3 = np.nanquantile(safe, [0.25, 0.75], axis=-1, keepdims=True)
        iqr = q3 - q1
        keep = (a >= q1 - outlier_factor * iqr) & (a <= q3 + outlier_factor * iqr)
        a = np.where(keep, a, np.nan)
    return a


def nanmean(a: _F) -> _F:
    """The mean of the non-NaN values along the last axis (NaN where there is none)."""
    total = a.sum(axis=-1)
    if a.shape[-1] and not np.isnan(total).any():  # no NaN at all: one pass
        return np.asarray(total / a.shape[-1], dtype=np.float64)
    n = np.count_nonzero(~np.isnan(a), axis=-1)
    s = np.where(np.isnan(a), 0.0, a).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan)


def _nanmedian(a: _F) -> _F:
    s = np.sort(a, axis=-1)
    n = np.count_nonzero(~np.isnan(s), axis=-1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def classify_metric(
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    direction: str = "increase",
    tolerance: float = 0.25,
    confidence_level: float | ArrayLike = 0.98,
    effect_size: str = "mean_ratio",
    allowed: tuple[Any, Any] | None = None,
    critical_thresholds: tuple[Any, Any] | None = None,
    critical: bool = False,
    must_have_data: bool = False,
    nan_strategy: str = "remove",
    nan_fill: float = 0.0,
    outlier_factor: float | None = None,
    scale_check: bool = False,
    axis: int = -1,
) -> MetricClassification:
    """Classify a candidate's metric against the baseline's: High / Low / Pass / NoData.

    Kayenta's Mann-Whitney classifier, vectorized over pairs of NaN-padded samples.

    Parameters
    ----------
    baseline, candidate : array_like of float, shape (..., n)
        Samples along ``axis``, NaN-padded; batch shapes broadcast.
    direction : {"increase", "decrease", "either"}, default "increase"
        Which change is bad: an increase gives High, a decrease Low.
    tolerance : float, default 0.25
        Kayenta's band relative to the estimate: High needs the interval's
        lower bound above ``tolerance * |estimate|``, Low its upper bound
        below ``-tolerance * |estimate|``.
    confidence_level : float or array_like, default 0.98
        Level of the two-sided interval (0.98 is what Kayenta's
        ``NetflixACAJudge`` passes to its classifier).
    effect_size : {"mean_ratio", "cles"}, default "mean_ratio"
        Mean ratio candidate / baseline (no effect 1), or the common-language
        effect size P(candidate > baseline) (no effect 0.5).
    allowed : (decrease, increase), optional
        Effect sizes a High must reach (``>= increase``) and a Low must reach
        (``<= decrease``). Default: no effect, ``(1, 1)`` or ``(0.5, 0.5)``.
    critical_thresholds : (decrease, increase), optional
        For a critical metric, the effect sizes that make a High / Low a
        critical failure. Default: as ``allowed``.
    critical : bool, default False
        A critical metric's failure or NoData fails the whole canary.
    must_have_data : bool, default False
        A non-critical metric without data is NODATA_FAIL (a failure in its
        group) instead of NODATA (ignored).
    nan_strategy : {"remove", "replace"}, default "remove"
        ``"replace"`` fills NaN *before a row's last sample* with ``nan_fill``
        (trailing NaN are padding, never data).
    nan_fill : float, default 0
    outlier_factor : float, optional
        Remove values outside ``[Q1 - f IQR, Q3 + f IQR]`` of each sample.
    scale_check : bool, default False
        Also test the absolute deviations from each sample's median
        (candidate more dispersed, one-sided): a significant increase beyond
        the band whose median-deviation ratio exceeds the allowed mean-ratio
        increase (1 for ``cles``) is High even when the location does not move.
        Only for ``direction`` "increase" or "either".
    axis : int, default -1

    Returns
    -------
    MetricClassification

    Notes
    -----
    Non-finite derived quantities are returned as computed, not masked. On
    finite samples near the float range the differences or the means
    overflow: ``estimate``, ``ci_low``, ``ci_high`` and ``bound`` can be
    ``inf`` (e.g. a candidate of ``1e308`` against a baseline of ``-1e308``),
    and the mean-ratio ``effect`` NaN or ``inf`` (two samples of ``1e308``
    each give ``effect`` NaN with ``estimate`` 0). The rule's comparisons
    are then false (``inf > inf``, ``NaN >= 1``), so such a metric is
    usually classified PASS; numpy's overflow ``RuntimeWarning`` is not
    suppressed. A caller should treat a non-finite ``estimate`` or
    ``effect`` as bad data.
    """
    direction = check_choice("direction", direction, _DIRECTIONS)
    effect_size = check_choice("effect_size", effect_size, _EFFECTS)
    nan_strategy = check_choice("nan_strategy", nan_strategy, _NAN_STRATEGIES)
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise SpecError(f"`tolerance` must be a finite number >= 0, got {tolerance!r}")
    if outlier_factor is not None and not (outlier_factor > 0):
        raise SpecError(f"`outlier_factor` must be > 0 or None, got {outlier_factor!r}")
    neutral = 1.0 if effect_size == "mean_ratio" else 0.5
    allowed = (neutral, neutral) if allowed is None else allowed
    critical_thresholds = allowed if critical_thresholds is None else critical_thresholds
    base = _clean(
        np.moveaxis(np.asarray(baseline, dtype=np.float64), axis, -1),
        nan_strategy, nan_fill, outlier_factor,
    )
    cand = _clean(
        np.moveaxis(np.asarray(candidate, dtype=np.float64), axis, -1),
        nan_strategy, nan_fill, outlier_factor,
    )
    mw = mann_whitney(cand, base, confidence_level=confidence_level)
    low, high = mw.confidence_interval()
    if effect_size == "mean_ratio":
        mb, mc = nanmean(base), nanmean(cand)
        with np.errstate(invalid="ignore", divide="ignore"):
            effect = np.where(mb == 0, 1.0, mc / mb)
    else:
        effect = np.asarray(mw.prob, dtype=np.float64)
    scale_est = scale_eff = np.full(np.shape(mw.estimate), np.nan)
    scale_high = np.zeros(np.shape(mw.estimate), dtype=bool)
    if scale_check and direction != "decrease":
        dev_b = np.abs(base - _nanmedian(base)[..., None])
        dev_c = np.abs(cand - _nanmedian(cand)[..., None])
        sc = mann_whitney(
            dev_c, dev_b, alternative="greater", confidence_level=confidence_level
        )
        s_low, _ = sc.confidence_interval()
        scale_est = np.asarray(sc.estimate, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mad_b, mad_c = _nanmedian(dev_b), _nanmedian(dev_c)
            scale_eff = np.where(mad_b == 0, np.where(mad_c > 0, np.inf, 1.0), mad_c / mad_b)
            s_bound = tolerance * np.abs(scale_est)
            need = allowed[1] if effect_size == "mean_ratio" else 1.0
            scale_high = (s_low > s_bound) & (scale_eff > need)
    est = np.asarray(mw.estimate, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bound = tolerance * np.abs(est)
        high_ok = direction in ("increase", "either")
        low_ok = direction in ("decrease", "either")
        is_high = high_ok & (low > bound) & (effect >= allowed[1])
        is_low = low_ok & (high < -bound) & (effect <= allowed[0]) & ~is_high
        is_high = is_high | (scale_high & ~is_low)
    nodata = (np.asarray(mw.n_x) == 0) | (np.asarray(mw.n_y) == 0)
    cls = np.full(np.shape(est), MetricClass.PASS, dtype=np.int8)
    cls[is_high] = MetricClass.HIGH
    cls[is_low] = MetricClass.LOW
    cls = np.where(
        nodata,
        np.int8(
            MetricClass.NODATA_FAIL if (must_have_data and not critical) else MetricClass.NODATA
        ),
        cls,
    ).astype(np.int8)
    if critical:
        with np.errstate(invalid="ignore"):
            crit = (
                ((cls == MetricClass.HIGH) & ((effect >= critical_thresholds[1]) | scale_high))
                | ((cls == MetricClass.LOW) & (effect <= critical_thresholds[0]))
                | nodata
            )
    else:
        crit = np.zeros(np.shape(cls), dtype=bool)

    return MetricClassification(
        classification=scalar_or_array(cls),
        critical=scalar_or_array(crit),
        estimate=scalar_or_array(est),
        ci_low=scalar_or_array(low),
        ci_high=scalar_or_array(high),
        bound=scalar_or_array(bound),
        effect=scalar_or_array(effect),
        pvalue=scalar_or_array(mw.pvalue),
        scale_high=scalar_or_array(scale_high),
        scale_estimate=scalar_or_array(scale_est),
        scale_effect=scalar_or_array(scale_eff),
        n_baseline=scalar_or_array(mw.n_y),
        n_candidate=scalar_or_array(mw.n_x),
    )


# --------------------------------------------------------------------------- scoring


class ScoreClass(enum.IntEnum):
    """A canary run's overall class (int8 codes, ordered like verdicts)."""

    FAIL = -1
    MARGINAL = 0
    PASS = 1


#: Kayenta's rule: 50 % or more metrics without data fail the canary.
NODATA_FAIL_PERCENT = 50.0


@attrs.frozen(kw_only=True)
class ScoreResult:
    """Result of :func:`score_groups`; fields of shape ``(*batch,)`` are numpy scalars for ``()``.

    Attributes
    ----------
    group_names : tuple of str
        The groups, in first-appearance order.
    group_scores : ndarray of float, shape (*batch, n_groups)
        Each group's share of passing metrics, in percent (High, Low, Pass
        and NoData-fail metrics count; NoData ones do not); NaN for a group
        without classified metrics (it counts as 100 in the summary, as Kayenta).
    weights : ndarray of float, shape (n_groups,)
        The weight of each group (unweighted groups share what is left of 100).
    summary : ndarray of float, shape (*batch,)
        ``sum(weight * score) / 100`` rounded to 2 decimals; 0 after a
        critical failure or with too many NoData metrics.
    critical_failure : ndarray of bool, shape (*batch,)
    too_many_nodata : ndarray of bool, shape (*batch,)
    verdict : ndarray of int8, shape (*batch,)
        :class:`ScoreClass`: PASS if ``summary >= pass_threshold``, MARGINAL
        if ``>= marginal_threshold``, else FAIL.
    """

    group_names: tuple[str, ...]
    group_scores: Any
    weights: Any
    summary: Any
    critical_failure: Any
    too_many_nodata: Any
    verdict: Any


def score_groups(
    classification: ArrayLike,
    groups: Sequence[str],
    *,
    weights: Mapping[str, float] | None = None,
    critical: ArrayLike | None = None,
    muted: ArrayLike | None = None,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
) -> ScoreResult:
    """Score metric classes into Pass / Marginal / Fail, as Kayenta's weighted-sum scorer.

    Parameters
    ----------
    classification : array_like of int, shape (*batch, n_metrics)
        :class:`MetricClass` codes.
    groups : sequence of str, length n_metrics
        The group of each metric.
    weights : mapping of str to float, optional
        Group weights in percent; groups without one share ``100 - sum``.
    critical : array_like of bool, shape (*batch, n_metrics), optional
        Critical failures (:attr:`MetricClassification.critical`).
    muted : array_like of bool, broadcastable to (*batch, n_metrics), optional
        Muted metrics: classified and reported, but left out of the group
        scores, of the critical-failure rule and of the no-data rule (as a
        muted metric in Kayenta is shown without counting).
    pass_threshold, marginal_threshold : float, default 95 and 75
        Summary thresholds (``marginal <= pass``).

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> r = score_groups([[1, 1, 2, 1]], ["latency", "latency", "errors", "errors"],
    ...                  weights={"latency": 60, "errors": 40})
    >>> r.group_scores.tolist(), r.summary.tolist(), r.verdict.tolist()
    ([[100.0, 50.0]], [80.0], [0])
    """
    cls = np.asarray(classification)
    if cls.ndim < 1 or cls.shape[-1] != len(groups):
        raise SpecError(
            f"`groups` must name the group of each of the {cls.shape[-1:]} metrics, "
            f"got {len(groups)} names"
        )
    if not (0 <= marginal_threshold <= pass_threshold <= 100):
        raise SpecError(
            "`marginal_threshold` and `pass_threshold` must satisfy 0 <= marginal <= pass "
            f"<= 100, got {marginal_threshold!r} and {pass_threshold!r}"
        )
    names = tuple(dict.fromkeys(groups))
    given = dict(weights or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise SpecError(f"`weights` names groups without metrics: {unknown}")
    rest = [g for g in names if g not in given]
    left = 100.0 - sum(given.values())
    w = np.array([given.get(g, left / len(rest) if rest else 0.0) for g in names])
    member = np.array([[g == name for g in groups] for name in names], dtype=np.float64)
    live = (
        np.ones(cls.shape, dtype=bool)
        if muted is None
        else ~np.broadcast_to(np.asarray(muted, dtype=bool), cls.shape)
    )
    passed = ((cls == MetricClass.PASS) & live).astype(np.float64)
    counted = (
        np.isin(cls, [MetricClass.PASS, MetricClass.HIGH, MetricClass.LOW, MetricClass.NODATA_FAIL])
        & live
    ).astype(np.float64)
    n_pass = passed @ member.T
    n_count = counted @ member.T
    with np.errstate(invalid="ignore", divide="ignore"):
        gscore = np.where(n_count > 0, n_pass / n_count * 100.0, np.nan)
    effective = np.where(np.isnan(gscore), 100.0, gscore)
    summary = np.round(effective @ w / 100.0, 2)
    crit = (
        np.zeros(cls.shape[:-1], dtype=bool)
        if critical is None
        else (np.broadcast_to(np.asarray(critical, dtype=bool), cls.shape) & live).any(axis=-1)
    )
    n_live = live.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        nodata_share = ((cls == MetricClass.NODATA) & live).sum(axis=-1) / n_live * 100
    nodata = np.where(n_live > 0, nodata_share >= NODATA_FAIL_PERCENT, False)
    summary = np.where(crit | nodata, 0.0, summary)
    verdict = np.where(
        summary >= pass_threshold,
        ScoreClass.PASS,
        np.where(summary >= marginal_threshold, ScoreClass.MARGINAL, ScoreClass.FAIL),
    ).astype(np.int8)
    return ScoreResult(
        group_names=names,
        group_scores=gscore,
        weights=w,
        summary=scalar_or_array(summary),
        critical_failure=scalar_or_array(crit),
        too_many_nodata=scalar_or_array(nodata),
        verdict=scalar_or_array(verdict),
    )
