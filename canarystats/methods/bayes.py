"""The Bayesian criterion method (``method="bayes"``): decisions by posterior probability.

:class:`BayesMethod` judges a criterion by the posterior probability that it
holds, ``P(H | data)``, from Beta-Binomial posteriors of rates and Student-t /
normal / log-normal posteriors of means (the kernels live in
:mod:`canarystats.stats.beta`, :mod:`canarystats.stats.t_posterior` and
:mod:`canarystats.stats.lognormal`). This module holds the method, its typed
options (:class:`BayesOptions`), its state (:class:`BayesState`) and the
helpers that read a criterion and its observations: :func:`posterior_prob`,
:func:`mean_posterior` (which the routing strategies draw from) and
:func:`bayes_options`.

Examples
--------
The ``beta_binomial`` reference case (Evan Miller, "Formulas for Bayesian A/B
testing"): the baseline has 36 errors out of 204 requests, the candidate 16
out of 200, prior Beta(1, 1):

>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.0,
...               method="bayes", options={"prior": (1, 1)}, confidence=0.95)
>>> obs = Observations(count=[204.0, 200.0], value=[36 / 204, 16 / 200],
...                    successes=[36.0, 16.0])
>>> r = evaluate_criterion(c, obs)
>>> round(float(r.state.prob), 6), int(r.verdict), int(r.reason)
(0.998124, 1, 0)
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np
import scipy.special as sc
from numpy.typing import NDArray

from canarystats._arrays import ARRAY_EQ, TupleResult, array_field, scalar_or_array
from canarystats.errors import SpecError
from canarystats.methods.base import SUMSQ_RTOL, DataReport, Evidence, Method, relevant_versions
from canarystats.observations import Observations
from canarystats.registry import Options, register_method
from canarystats.spec import Criterion, batch_param, to_param
from canarystats.stats.beta import DEFAULT_RATE_PRIOR, beta_posterior, prob_beta_le
from canarystats.stats.lognormal import (
    histogram_log_moments,
    prob_lognormal_mean_le,
    prob_lognormal_ratio_le,
)
from canarystats.stats.t_posterior import prob_t_le, t_cdf, t_posterior

__all__ = [
    "MEAN_MODELS",
    "BayesMethod",
    "BayesOptions",
    "BayesState",
    "MeanPosteriorResult",
    "bayes_options",
    "mean_posterior",
    "posterior_prob",
]

#: The models of a mean metric (``BayesOptions.model``; None is the default, normal).
MEAN_MODELS: tuple[str, ...] = ("normal", "lognormal")

_F = NDArray[np.float64]
_B = NDArray[np.bool_]


# --------------------------------------------------------------------------- options


def _to_prior(value: Any) -> Any:
    """A list or tuple of numbers as a tuple of floats; the rest is left to the validator."""
    if isinstance(value, list | tuple) and not any(isinstance(v, bool) for v in value):
        try:
            return tuple(float(v) for v in value)
        except (TypeError, ValueError):
            return value
    return value


def _check_prior(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    ok = (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in value)
    )
    if not ok:
        raise SpecError(
            f"`prior` must be two finite numbers > 0 (the Beta prior's shapes a and b), "
            f"or None for the default Beta(0.5, 0.5), got {value!r}"
        )


_SCALE_ALLOWED = "a finite number in (0.0, inf], or an array of them"


def _check_scale(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, float | np.ndarray):
        raise SpecError(f"`scale` must be {_SCALE_ALLOWED}, got {value!r}")
    arr = np.asarray(value)
    bad = ~np.isfinite(arr) | (arr <= 0.0)
    if bad.any():
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        shown = value if arr.ndim == 0 else f"an array holding {float(first)!r}"
        raise SpecError(f"`scale` must be {_SCALE_ALLOWED}, got {shown}")


def _check_model(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value not in MEAN_MODELS:
        raise SpecError(
            f"`model` must be one of {list(MEAN_MODELS)}, or None for the default (normal), "
            f"got {value!r}"
        )


@attrs.frozen(kw_only=True)
class BayesOptions(Options):
    """The options of ``method="bayes"`` (``Criterion(..., options={...})``).

    Parameters
    ----------
    prior : (float, float), optional
        On a rate: the Beta prior's shapes ``(a, b)``, both finite and > 0;
        None (the default) means Jeffreys' Beta(0.5, 0.5). Mean metrics do
        not use it.
    scale : float or array_like, optional
        On a mean known only as ``value`` and ``count`` (without ``sum`` /
        ``sumsq`` or histogram ``buckets``): the standard deviation of one
        sample, > 0, in the metric's unit; an array broadcasts against the
        batch. There is no default: without it (or the data to estimate it)
        such a criterion raises rather than decide on an invented spread.
    model : {None, "normal", "lognormal"}, optional
        On a mean: the model of one sample. None (the default) and
        ``"normal"`` use the Student-t / normal posterior of the mean;
        ``"lognormal"`` takes per-request values (latencies) to be log-normal
        and judges the mean ``exp(mu + sigma^2 / 2)`` from the log-scale
        moments of the histogram ``buckets`` (see docs/bayes.md). A rate
        metric with a model is an error (its model is the Beta-Binomial).

    Raises
    ------
    SpecError
        For a value outside what is allowed, naming the option.
    """

    prior: tuple[float, float] | None = attrs.field(
        default=None, converter=_to_prior, validator=_check_prior
    )
    scale: float | _F | None = attrs.field(
        default=None, converter=to_param, validator=_check_scale,
        eq=ARRAY_EQ,
    )
    model: str | None = attrs.field(default=None, validator=_check_model)


_DEFAULT_OPTIONS = BayesOptions()


def bayes_options(criterion: Criterion) -> BayesOptions:
    """The criterion's Bayes options; the defaults for a criterion of another method."""
    options = criterion.options
    return options if isinstance(options, BayesOptions) else _DEFAULT_OPTIONS


# --------------------------------------------------------------------------- posteriors


def _source(criterion: Criterion, options: BayesOptions, obs: Observations) -> str:
    """Which posterior the observations give: "rate", "lognormal", "moments", "buckets", "scale"."""
    if obs.successes is not None:
        if options.model is not None:
            raise SpecError(
                f"`model` {options.model!r} selects the model of a mean metric; "
                f"{criterion.metric!r} is observed as a rate (`successes`), whose model is the "
                "Beta-Binomial: remove `model`"
            )
        return "rate"
    if options.model == "lognormal":
        if obs.buckets is None or obs.bucket_bounds is None:
            raise SpecError(
                f"method 'bayes' with `model` 'lognormal' on the mean metric {criterion.metric!r} "
                "needs the log-scale moments of the samples: observations with `buckets` and "
                "`bucket_bounds` (a histogram of the window); none were given (`sum`/`sumsq`, "
                "`value` and `scale` describe the raw scale and are not used by this model)"
            )
        return "lognormal"
    return _mean_source(criterion, options, obs)


def _mean_source(criterion: Criterion, options: BayesOptions, obs: Observations) -> str:
    """Where the spread of a mean comes from: "moments", "buckets" or "scale"."""
    if obs.sum is not None and obs.sumsq is not None:
        return "moments"
    if obs.buckets is not None and obs.bucket_bounds is not None:
        return "buckets"
    if options.scale is not None:
        return "scale"
    raise SpecError(
        f"method 'bayes' on the mean metric {criterion.metric!r} needs the spread of "
        "the samples: observations with `sum` and `sumsq`, or `buckets`, or the "
        "criterion's `scale` (the standard deviation of one sample); none was given"
    )


#: The observation fields each posterior reads (validated by the methods base).
_READS: dict[str, tuple[str, ...]] = {
    "rate": ("successes",),
    "lognormal": ("buckets",),
    "moments": ("sum", "sumsq"),
    "buckets": ("value", "buckets"),
    "scale": ("value",),
}


def _histogram_variance(buckets: _F, bounds: _F) -> tuple[_F, _F]:
    """Total count and sample variance from bucket counts (midpoints; see docs/bayes.md)."""
    lower = np.concatenate([[0.0], bounds[:-1]])
    upper = np.where(np.isinf(bounds), lower, bounds)
    mid = (lower + upper) / 2.0
    total = buckets.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (buckets * mid).sum(axis=-1) / total
        ss = (buckets * (mid - mean[..., None]) ** 2).sum(axis=-1)
        var = ss / (total - 1.0)
    return total, var


def _one_bucket(buckets: _F) -> _B:
    """Per version: every count in one bucket (a histogram that shows no spread)."""
    with np.errstate(invalid="ignore"):
        out: _B = np.asarray((buckets > 0).sum(axis=-1) < 2)
    return out


@attrs.frozen(kw_only=True, eq=False)
class MeanPosteriorResult(TupleResult):
    """The t / normal posterior of each version's mean; unpacks as ``loc, scale, df, bad``.

    Attributes
    ----------
    loc, scale, df : ndarray of float, shape (*batch, 2)
        ``mu | data ~ loc + scale * T_df`` (``df = inf``: normal).
    bad : ndarray of bool, shape (*batch, 2)
        Infinite or negative sums or bucket counts, or an infinite ``loc``.
    overflow : ndarray of bool, shape (*batch, 2)
        A mean that overflows (``sum / count`` or ``value`` infinite); sums too
        large for a variance are refused earlier, by the methods base.
    zero_variance : ndarray of bool, shape (*batch, 2)
        A variance of zero (within the rounding slack of the sums), or a
        histogram with every count in one bucket: a point-mass posterior.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("loc", "scale", "df", "bad")

    loc: _F
    scale: _F
    df: _F
    bad: _B
    overflow: _B
    zero_variance: _B


def mean_posterior(criterion: Criterion, observations: Observations) -> MeanPosteriorResult:
    """The t / normal posterior of each version's mean, from the spread the observations carry.

    ``sum`` and ``sumsq`` give ``t_{n-1}(mean, s / sqrt(n))`` (reference prior
    ``1 / sigma^2``); ``buckets`` the same t around ``value`` with ``s`` and
    ``n`` from the histogram; otherwise the criterion's ``scale`` option gives
    ``N(value, scale^2 / n)``. The options are read with
    :func:`bayes_options`, so a criterion of another method has none.

    Raises
    ------
    SpecError
        Without any spread, and for ``model="lognormal"`` (whose posterior is
        not a t: the routing strategies, which draw from here, refuse it).
    """
    options = bayes_options(criterion)
    obs = observations
    if options.model == "lognormal":
        # the location-scale t / normal posterior of the raw mean is not the log-normal
        # model's posterior; the routing strategies' draws come from here
        raise SpecError(
            f"`model` 'lognormal' of the criterion on {criterion.metric!r} is judged by method "
            "'bayes' only: the routing strategies draw from the t / normal posteriors of a mean "
            "and have no log-normal draws; remove `model` to route on this metric"
        )
    source = _mean_source(criterion, options, obs)
    n = obs.count
    s, ss, buckets, bounds = obs.sum, obs.sumsq, obs.buckets, obs.bucket_bounds
    with np.errstate(all="ignore"):
        if source == "moments" and s is not None and ss is not None:
            mean = s / n
            var = (ss - n * mean * mean) / (n - 1.0)
            var = np.where(var < 0, 0.0, var)  # rounding of sumsq - n mean^2
            loc, scale, df = t_posterior(n, mean, var)
            bad = np.isinf(s) | np.isinf(ss) | (ss < 0)
            floor = s * s / n
            zero = ss - floor <= SUMSQ_RTOL * np.abs(floor)
        elif source == "buckets" and buckets is not None and bounds is not None:
            total, var = _histogram_variance(buckets, bounds)
            loc, scale, df = t_posterior(total, obs.value, var)
            bad = np.asarray(np.isinf(buckets).any(axis=-1) | (buckets < 0).any(axis=-1))
            zero = _one_bucket(buckets)
        else:  # the criterion's scale
            sigma = batch_param("scale", options.scale, obs.batch_shape)[..., None]
            loc, scale = obs.value, sigma / np.sqrt(n)
            df = np.full(n.shape, np.inf)
            bad = np.zeros(n.shape, dtype=bool)
            zero = np.zeros(n.shape, dtype=bool)
        loc, scale, df = (np.asarray(v, dtype=np.float64) for v in (loc, scale, df))
        # a posterior that does not exist (df <= 0: fewer than 2 samples) is judged by the
        # caller against the sample size: insufficient below it, bad data above it
        infinite_loc = ~np.isfinite(loc) & ~np.isnan(loc)
    return MeanPosteriorResult(
        loc=loc, scale=scale, df=df, bad=np.asarray(bad | infinite_loc),
        overflow=np.asarray(infinite_loc), zero_variance=np.asarray(zero),
    )


@attrs.frozen(kw_only=True, eq=False)
class _Posterior:
    """``P(H | data)`` per slice, each version's posterior, and what the method sees in them."""

    prob: _F
    params: dict[str, _F]
    undefined: _B  # per version: no posterior (fewer than 2 samples)
    overflow: _B  # per version: sums too large for the computation
    impossible: _B  # per version: counts in buckets a log-normal cannot have
    zero_variance: _B  # per version: a point-mass posterior


def _posterior(criterion: Criterion, obs: Observations) -> _Posterior:
    options = bayes_options(criterion)
    source = _source(criterion, options, obs)
    batch = obs.batch_shape
    tol = batch_param("tolerance", criterion.tolerance, batch)
    lower = criterion.direction == "lower"
    delta = criterion.tolerance_type == "delta"
    nan2 = np.full((*batch, 2), np.nan)
    no = np.zeros((*batch, 2), dtype=bool)
    params = {"loc": nan2, "scale": nan2, "df": nan2, "a": nan2, "b": nan2}
    undefined = overflow = impossible = zero = no
    with np.errstate(all="ignore"):
        ratio = (1.0 + tol) if lower else (1.0 - tol)
        if source == "rate" and obs.successes is not None:
            prior = options.prior if options.prior is not None else DEFAULT_RATE_PRIOR
            a, b = beta_posterior(obs.successes, obs.count, prior=prior)
            params["a"], params["b"] = np.asarray(a), np.asarray(b)
            if delta:  # candidate X = version 1, baseline Y = version 0
                p_le = prob_beta_le(a[..., 1], b[..., 1], a[..., 0], b[..., 0], ratio)
            else:
                p_le = sc.betainc(a[..., 1], b[..., 1], np.clip(tol, 0.0, 1.0))
        elif source == "lognormal" and obs.buckets is not None and obs.bucket_bounds is not None:
            n, loc, var, impossible = histogram_log_moments(obs.buckets, obs.bucket_bounds)
            var = np.where(n > 1, var, np.nan)
            params["loc"], params["scale"], params["df"] = loc, np.sqrt(var), n - 1.0
            zero = _one_bucket(obs.buckets)
            if delta:
                p_le = prob_lognormal_ratio_le(n[..., 1], loc[..., 1], var[..., 1],
                                               n[..., 0], loc[..., 0], var[..., 0], ratio)
            else:
                p_le = prob_lognormal_mean_le(n[..., 1], loc[..., 1], var[..., 1], tol)
        else:
            mp = mean_posterior(criterion, obs)
            loc, scale, df = mp.loc, mp.scale, mp.df
            params["loc"], params["scale"], params["df"] = loc, scale, df
            overflow, zero = mp.overflow, mp.zero_variance
            if delta:
                p_le = prob_t_le(loc[..., 1], scale[..., 1], df[..., 1],
                                 loc[..., 0], scale[..., 0], df[..., 0], ratio)
            else:
                p_le = t_cdf(np.asarray(tol), loc[..., 1], scale[..., 1], df[..., 1])
        if source != "rate":
            scale_v = np.broadcast_to(params["scale"], (*batch, 2))
            df_v = np.broadcast_to(params["df"], (*batch, 2))
            undefined = np.isnan(scale_v) | ~(df_v > 0)
        p_le = np.asarray(p_le, dtype=np.float64)
        prob = p_le if lower else 1.0 - p_le  # continuous posteriors: P(X >= c) = 1 - P(X <= c)
    return _Posterior(
        prob=prob,
        params={k: np.broadcast_to(v, (*batch, 2)) for k, v in params.items()},
        undefined=np.asarray(undefined),
        overflow=np.broadcast_to(overflow, (*batch, 2)),
        impossible=np.broadcast_to(impossible, (*batch, 2)),
        zero_variance=np.broadcast_to(zero, (*batch, 2)),
    )


def posterior_prob(criterion: Criterion, observations: Observations) -> Any:
    """``P(H | data)`` of a criterion for each slice of the batch (NaN where undefined).

    Rates (observations with ``successes``) get a Beta posterior with the
    criterion's ``prior`` option (default Jeffreys' Beta(1/2, 1/2)); means a
    Student-t posterior (see :class:`BayesMethod`). For a threshold ``H`` is
    ``metric <= tolerance`` (``>=`` when higher is better); for a delta
    ``candidate <= (1 + tolerance) * baseline`` (``candidate >= (1 -
    tolerance) * baseline``). The data are not screened: the method
    (:class:`BayesMethod`) applies the data policy before it decides.

    Examples
    --------
    >>> from canarystats import Criterion, Observations
    >>> c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.0,
    ...               method="bayes", options={"prior": (1, 1)})
    >>> obs = Observations(count=[204.0, 200.0], value=[36 / 204, 16 / 200],
    ...                    successes=[36.0, 16.0])
    >>> round(float(posterior_prob(c, obs)), 6)   # P(p_candidate <= p_baseline)
    0.998124
    """
    return scalar_or_array(_posterior(criterion, observations).prob)


# --------------------------------------------------------------------------- the method


@attrs.frozen(kw_only=True)
class BayesState:
    """State of the Bayes method: the posterior it judged at the last update.

    Observations are cumulative, so each update recomputes the posterior from
    the window's sufficient statistics; the state keeps it for inspection.

    Attributes
    ----------
    prob : ndarray of float, shape (*batch,)
        ``P(H | data)`` at the last update; NaN before the first and where the
        data were insufficient (including a zero variance), missing or bad.
    loc, scale, df : ndarray of float, shape (*batch, 2)
        Posterior of each version's mean (location-scale t; ``df = inf``:
        normal; under ``model="lognormal"`` the mean, standard deviation and
        ``n - 1`` of the log values); NaN for rate metrics.
    a, b : ndarray of float, shape (*batch, 2)
        Beta posterior of each version's rate; NaN for mean metrics.
    """

    prob: _F = array_field()
    loc: _F = array_field()
    scale: _F = array_field()
    df: _F = array_field()
    a: _F = array_field()
    b: _F = array_field()


#: What the method itself finds bad (the bad-data warning's words).
_UNDEFINED_WHAT = "no posterior of the mean (fewer than 2 samples)"
_OVERFLOW_WHAT = "a mean that overflows (`sum` / `count` or `value` infinite)"
_IMPOSSIBLE_WHAT = "counts in buckets at or below 0, which a log-normal model cannot have"
_NAN_PROB_WHAT = "an undefined posterior probability"


@register_method
class BayesMethod(Method):
    """Posterior decisions (``method="bayes"``), vectorized over a batch.

    PASS when ``P(H | data) >= confidence``; FAIL when ``P(not H | data) >=
    confidence`` (and not PASS, which matters only for ``confidence <= 0.5``);
    otherwise INCONCLUSIVE with ``Reason.NOT_YET_DECIDED``. ``H`` is the
    criterion's hypothesis: ``metric <= tolerance`` (threshold) or
    ``candidate <= (1 + tolerance) * baseline`` (delta), mirrored for
    higher-is-better metrics. The verdicts hold for one look: repeated looks
    are not controlled (the method is not anytime-valid; docs/bayes.md).

    Models, chosen by what the observations carry (options:
    :class:`BayesOptions`):

    - ``successes`` (rates such as ``iter8_error_rate``): Beta-Binomial with
      the ``prior`` option (default Jeffreys' Beta(1/2, 1/2)); fractional
      counts enter the likelihood as they are;
    - ``sum`` and ``sumsq`` (means): the reference prior ``1 / sigma^2``,
      posterior ``t_{n-1}(mean, s / sqrt(n))``;
    - ``buckets`` (e.g. Iter8's mean latency, ``value`` = ``_sum / _count``):
      the same t posterior around ``value``, with ``s`` from the histogram
      (bucket midpoints; the ``+inf`` bucket at its lower bound) and ``n`` its
      total count;
    - otherwise the ``scale`` option (standard deviation of one sample):
      ``N(value, scale^2 / n)``. Without any of these a mean metric raises
      :class:`~canarystats.SpecError`: no default spread is invented;
    - ``model="lognormal"`` (means): log-normal requests, judged on the mean
      ``exp(mu + sigma^2 / 2)``, from the log-scale moments of the
      ``buckets`` (required: a SpecError names ``model`` and ``buckets``
      without them); see :func:`~canarystats.stats.lognormal.prob_lognormal_mean_le`.

    The data policy -- validation of the fields each model reads
    (``reads``), missing values, sufficiency, reasons, warnings, verdict
    masking and abort -- is the base's (:mod:`canarystats.methods.base`). On
    top of it the method sees, on data that are otherwise valid:

    - a posterior that does not exist (a mean of fewer than 2 samples), sums
      too large for the posterior's computation, counts in histogram buckets
      at or below 0 under the log-normal model, or a ``P(H | data)`` that is
      undefined: ``Reason.BAD_DATA`` (below ``sample_size`` the base's
      ``INSUFFICIENT_SAMPLE`` comes first);
    - a zero variance (``sumsq`` within the sums' rounding slack of ``sum**2 /
      count``, or every count in one histogram bucket): a point-mass
      posterior is never the basis of a verdict, so the slice is
      INCONCLUSIVE with ``Reason.INSUFFICIENT_SAMPLE``.

    A FAIL aborts when ``stop_on_failure``.

    Raises
    ------
    SpecError
        For a counter metric (an observed total, not an estimate), for
        ``missing="iter8"`` (substituting a point value into a posterior has
        no meaning), for a mean without any spread, for ``model`` on a rate,
        and for ``model="lognormal"`` without ``buckets``.
    """

    name = "bayes"
    options_type = BayesOptions
    state_type = BayesState

    def check(self, criterion: Criterion) -> None:
        if criterion.is_counter:
            raise SpecError(
                f"method 'bayes' does not apply to the counter metric {criterion.metric!r}: "
                "a counter's total is observed, not estimated; use method 'point'"
            )

    def needs(self, criterion: Criterion, kind: str) -> frozenset[str]:
        if kind == "rate":
            return frozenset({"count", "successes"})
        if kind == "mean":
            options = bayes_options(criterion)
            if options.model == "lognormal":
                return frozenset({"count", "buckets"})
            if options.scale is not None:
                return frozenset({"count", "value"})
            return frozenset({"count", "value", "buckets"})
        return frozenset({"count", "value"})  # a counter: refused by check()

    def reads(self, criterion: Criterion, observations: Observations) -> tuple[str, ...]:
        return _READS[_source(criterion, bayes_options(criterion), observations)]

    def initial_state(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> BayesState:
        one = np.full(batch_shape, np.nan)
        two = np.full((*batch_shape, 2), np.nan)
        return BayesState(prob=one, loc=two, scale=two, df=two, a=two, b=two)

    def evidence(
        self, criterion: Criterion, state: BayesState, observations: Observations,
        report: DataReport, n: _F,
    ) -> Evidence:
        batch = observations.batch_shape
        conf = batch_param("confidence", criterion.confidence, batch)
        delta = criterion.tolerance_type == "delta"

        def relevant(flags: _B) -> _B:
            return relevant_versions(flags, delta)

        post = _posterior(criterion, observations)
        prob = post.prob
        found = [
            (_UNDEFINED_WHAT, relevant(post.undefined)),
            (_OVERFLOW_WHAT, relevant(post.overflow)),
            (_IMPOSSIBLE_WHAT, relevant(post.impossible)),
        ]
        bad = np.zeros(batch, dtype=bool)
        for _, mask in found:
            bad |= mask
        insufficient = relevant(post.zero_variance) & ~bad
        nan_prob = np.isnan(prob) & ~bad & ~insufficient
        found.append((_NAN_PROB_WHAT, nan_prob))
        bad |= nan_prob
        valid = report.valid
        words = "; ".join(what for what, mask in found if (mask & valid).any())
        decided = valid & ~bad & ~insufficient
        with np.errstate(invalid="ignore"):
            passed = decided & (prob >= conf)
            failed = decided & ~passed & (1.0 - prob >= conf)
        new_state = BayesState(prob=np.where(decided, prob, np.nan), **post.params)
        return Evidence(
            state=new_state,
            passed=np.asarray(passed),
            failed=np.asarray(failed),
            bad=bad,
            bad_what=words or _NAN_PROB_WHAT,
            insufficient=insufficient,
        )
