"""Fixed-horizon (one-shot) tests for means and rates, sample sizes and power.

The classical tests a canary criterion reduces to when it is judged once, at a
planned sample size, from sufficient statistics:

- means (``count``, ``sum``, ``sumsq``): Welch's t test and the large-sample z
  test of ``mu_c - ratio * mu_b`` (:func:`mean_test`), and their one-sample
  forms against a threshold (:func:`mean_threshold_test`);
- rates (``successes`` out of ``count``): the two-proportion Wald z test, the
  Farrington-Manning score test and its square, Pearson's chi-squared
  (:func:`rate_test`), and the one-sample score test against a threshold
  (:func:`rate_threshold_test`); the score interval for ``p_c / p_b``, the
  inverted Farrington-Manning test (:func:`rate_ratio_interval`).

A delta criterion with relative tolerance ``tol`` is a non-inferiority test
with the null at ``mu_c = (1 + tol) * mu_b`` (lower is better; ``1 - tol`` for
higher is better): ``ratio`` is that ``1 + tol``. Sample size and power
functions (:func:`sample_size_means`, :func:`sample_size_rates`,
:func:`power_means`, :func:`power_rates`) take an ``inflation`` factor, the
group-sequential design's (:func:`canarystats.gs_design`).

:class:`FixedMethod` judges criteria with them as ``method="fixed"``.

Examples
--------
The two-proportion z test of spotify-confidence's README (40/100 vs 50/100):

>>> from canarystats import rate_test
>>> r = rate_test([40, 50], [100, 100])
>>> round(float(r.estimate), 6), round(float(r.pvalue), 6)
(0.1, 0.153127)
>>> [round(float(x), 6) for x in r.confidence_interval(0.95)]
[-0.037197, 0.237197]
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from canarystats._arrays import array_field
from canarystats.errors import SpecError
from canarystats.observations import Observations, Reason, Verdict
from canarystats.spec import Criterion, check_param_shape
from canarystats.tolerances import _missing_moments, _warn_bad, register_method

__all__ = [
    "ALTERNATIVES",
    "FixedMethod",
    "FixedState",
    "FixedTestResult",
    "SampleSizeResult",
    "mean_test",
    "mean_threshold_test",
    "power_means",
    "power_rates",
    "rate_ratio_interval",
    "rate_test",
    "rate_threshold_test",
    "sample_size_means",
    "sample_size_rates",
]

#: The alternatives of every test, in scipy's vocabulary.
ALTERNATIVES = ("two-sided", "less", "greater")

_F = NDArray[np.float64]
_I8 = np.int8


def _scalar_or_array(x: Any) -> Any:
    arr = np.asarray(x)
    return arr[()] if arr.ndim == 0 else arr


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise SpecError(f"`alternative` must be one of {list(ALTERNATIVES)}, got {alternative!r}")


def _check_options(alternative: str, method: str, methods: tuple[str, ...]) -> None:
    """Check a test's ``alternative`` and its ``method`` (one of ``methods``).

    Raises
    ------
    SpecError
        Naming the option, the value received and the values allowed.
    """
    _check_alternative(alternative)
    if method not in methods:
        raise SpecError(f"`method` must be one of {list(methods)}, got {method!r}")


def _check_level(name: str, value: ArrayLike) -> _F:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all((arr > 0) & (arr < 1)):
        raise SpecError(f"`{name}` must lie in (0, 1), got {value!r}")
    return arr


# --------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class FixedTestResult:
    """The result of a fixed-horizon test of ``H0: estimand = 0``.

    Attributes
    ----------
    statistic : float or ndarray
        The t or z statistic (the chi-squared statistic for ``method="chi2"``).
    pvalue : float or ndarray
        The p-value for ``alternative``.
    df : float or ndarray
        Degrees of freedom of the t reference distribution; ``inf`` for z tests.
    estimate : float or ndarray
        The estimate of the estimand (``mu_c - ratio * mu_b``, ``p_c - ratio *
        p_b``, or the candidate's value minus the threshold).
    standard_error : float or ndarray
        The estimate's (Wald) standard error.
    alternative : str
        ``"two-sided"``, ``"less"`` (the estimand is below 0) or ``"greater"``.
    """

    statistic: Any
    pvalue: Any
    df: Any
    estimate: Any
    standard_error: Any
    alternative: str

    def confidence_interval(self, confidence_level: float = 0.95) -> tuple[Any, Any]:
        """The Wald interval ``estimate -/+ q * standard_error`` for the estimand.

        ``q`` is the t (``df``) or normal quantile. Like scipy, a one-sided
        ``alternative`` gives a one-sided interval (``-inf`` or ``+inf`` on
        the open side).
        """
        level = float(_check_level("confidence_level", confidence_level))
        tail = 1.0 - level if self.alternative != "two-sided" else (1.0 - level) / 2.0
        df = np.asarray(self.df, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            q = np.where(np.isinf(df), special.ndtri(1.0 - tail), stats.t.isf(tail, df))
        est = np.asarray(self.estimate, dtype=np.float64)
        se = np.asarray(self.standard_error, dtype=np.float64)
        low = est - q * se if self.alternative != "less" else np.full(est.shape, -np.inf)
        high = est + q * se if self.alternative != "greater" else np.full(est.shape, np.inf)
        return _scalar_or_array(low), _scalar_or_array(high)


def _pvalue(stat: _F, df: _F, alternative: str) -> _F:
    """P-values of a t (finite ``df``) or z (``df = inf``) statistic."""
    with np.errstate(invalid="ignore"):
        z = np.isinf(df)
        upper = np.where(z, special.ndtr(-stat), stats.t.sf(stat, np.where(z, 1.0, df)))
        lower = np.where(z, special.ndtr(stat), stats.t.cdf(stat, np.where(z, 1.0, df)))
    if alternative == "greater":
        return np.asarray(upper)
    if alternative == "less":
        return np.asarray(lower)
    return np.asarray(np.minimum(1.0, 2.0 * np.minimum(upper, lower)))


def _result(est: _F, se: _F, df: _F, alternative: str) -> FixedTestResult:
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = est / se
    return FixedTestResult(
        statistic=_scalar_or_array(stat),
        pvalue=_scalar_or_array(_pvalue(stat, df, alternative)),
        df=_scalar_or_array(df),
        estimate=_scalar_or_array(est),
        standard_error=_scalar_or_array(se),
        alternative=alternative,
    )


# --------------------------------------------------------------------------- means


def _moments(count: ArrayLike, total: ArrayLike, total_sq: ArrayLike) -> tuple[_F, _F, _F]:
    n = np.asarray(count, dtype=np.float64)
    s = np.asarray(total, dtype=np.float64)
    ss = np.asarray(total_sq, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = np.maximum(ss - s * mean, 0.0) / (n - 1.0)
    return n, mean, var


def _events(successes: ArrayLike, count: ArrayLike) -> tuple[_F, _F]:
    """Events and trials as float64 arrays broadcast against each other.

    Parameters
    ----------
    successes, count : array_like
        Events (e.g. 5xx) and requests, per version or of one version.

    Returns
    -------
    x, n : ndarray of float
        Read-only broadcast views when the shapes differ.
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(count, dtype=np.float64)
    x, n = np.broadcast_arrays(x, n)
    return x, n


def mean_test(
    count: ArrayLike,
    total: ArrayLike,
    total_sq: ArrayLike,
    *,
    ratio: ArrayLike = 1.0,
    method: str = "welch",
    alternative: str = "two-sided",
) -> FixedTestResult:
    """Welch's t (or the z) test of ``mu_c - ratio * mu_b = 0`` from sufficient statistics.

    Parameters
    ----------
    count, total, total_sq : array_like, shape (..., 2)
        Per version (baseline, candidate): the sample size, the sum and the
        sum of squares of the samples.
    ratio : array_like, default 1
        The null ratio: ``1 + tolerance`` for a delta criterion (lower is
        better), so that ``alternative="less"`` tests non-inferiority.
    method : {"welch", "z"}
        Welch's t with Welch-Satterthwaite degrees of freedom, or the normal
        reference (the large-sample z test with estimated variances).
    alternative : {"two-sided", "less", "greater"}

    Returns
    -------
    FixedTestResult
        ``estimate = mean_c - ratio * mean_b``, ``standard_error**2 =
        s_c**2 / n_c + ratio**2 * s_b**2 / n_b``.

    Notes
    -----
    Welch (1947); Satterthwaite (1946). The sample variances use ``n - 1``.

    Examples
    --------
    Welch's test of R's ``t.test(cc, b)`` from sufficient statistics
    (t = -0.1828514437, df = 19.80951668):

    >>> r = mean_test([10, 12], [50.0, 58.0], [280.0, 346.0])
    >>> round(float(r.statistic), 6), round(float(r.df), 4)
    (-0.182851, 19.8095)
    """
    _check_options(alternative, method, ("welch", "z"))
    n, mean, var = _moments(count, total, total_sq)
    r = np.asarray(ratio, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        vb = r * r * var[..., 0] / n[..., 0]
        vc = var[..., 1] / n[..., 1]
        se = np.sqrt(vb + vc)
        est = mean[..., 1] - r * mean[..., 0]
        if method == "welch":
            df = (vb + vc) ** 2 / (vb * vb / (n[..., 0] - 1.0) + vc * vc / (n[..., 1] - 1.0))
        else:
            df = np.full(np.shape(est), np.inf)
    return _result(est, se, np.asarray(df, dtype=np.float64), alternative)


def mean_threshold_test(
    count: ArrayLike,
    total: ArrayLike,
    total_sq: ArrayLike,
    threshold: ArrayLike,
    *,
    method: str = "welch",
    alternative: str = "two-sided",
) -> FixedTestResult:
    """One-sample t (or z) test of ``mu = threshold`` from sufficient statistics.

    ``count``, ``total``, ``total_sq`` and ``threshold`` broadcast (one
    version: no version axis). ``method="welch"`` uses Student's t with
    ``n - 1`` degrees of freedom; ``"z"`` the normal reference.

    Examples
    --------
    >>> r = mean_threshold_test(12, 58.0, 346.0, 4.0, alternative="greater")
    >>> round(float(r.statistic), 6), float(r.df)
    (1.181499, 11.0)
    """
    _check_options(alternative, method, ("welch", "z"))
    n, mean, var = _moments(count, total, total_sq)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = mean - np.asarray(threshold, dtype=np.float64)
        se = np.sqrt(var / n)
        df = n - 1.0 if method == "welch" else np.full(np.shape(est), np.inf)
    est, se, df = np.broadcast_arrays(est, se, df)
    return _result(est, se, np.asarray(df, dtype=np.float64), alternative)


# --------------------------------------------------------------------------- rates


def _restricted_mle(x0: _F, n0: _F, x1: _F, n1: _F, ratio: _F) -> tuple[_F, _F]:
    """Rates maximising the likelihood under ``p1 = ratio * p0`` (Farrington-Manning).

    The smaller root of ``ratio*N*p0**2 - (ratio*(n1 + x0) + x1 + n0)*p0 + x0 + x1``
    (Farrington & Manning 1990, section 2.2; Miettinen & Nurminen 1985).
    """
    big_n = n0 + n1
    a = ratio * big_n
    b = ratio * (n1 + x0) + x1 + n0
    c = x0 + x1
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0))
        # the numerically stable form of (b - disc) / (2a)
        p0 = np.where(b + disc > 0, 2.0 * c / (b + disc), 0.0)
    p0 = np.clip(p0, 0.0, np.minimum(1.0, 1.0 / ratio))
    return p0, ratio * p0


def rate_test(
    successes: ArrayLike,
    count: ArrayLike,
    *,
    ratio: ArrayLike = 1.0,
    method: str = "wald",
    alternative: str = "two-sided",
) -> FixedTestResult:
    """Two-proportion test of ``p_c - ratio * p_b = 0``.

    Parameters
    ----------
    successes, count : array_like, shape (..., 2)
        Per version (baseline, candidate): events (e.g. 5xx) out of requests.
    ratio : array_like, default 1
        The null ratio (``1 + tolerance`` for a delta criterion).
    method : {"wald", "score", "chi2"}
        ``"wald"``: z with the unpooled standard error. ``"score"``: the
        Farrington-Manning score z, whose variance is evaluated at the rates
        that maximise the likelihood under the null (with ``ratio = 1``, the
        pooled rate: the classical pooled two-proportion z test).
        ``"chi2"``: the score statistic squared against chi-squared(1),
        two-sided only (with ``ratio = 1``, Pearson's chi-squared test of the
        2x2 table without continuity correction).
    alternative : {"two-sided", "less", "greater"}

    Returns
    -------
    FixedTestResult
        ``estimate = p_c - ratio * p_b``; ``standard_error`` is the unpooled
        Wald standard error for every method, and the confidence interval
        is the Wald interval.

    Notes
    -----
    Farrington, C. P. and Manning, G. (1990). Test statistics and sample size
    formulae for comparative binomial trials with null hypothesis of non-zero
    risk difference or non-unity relative risk. Statistics in Medicine 9,
    1447-1454.
    """
    _check_options(alternative, method, ("wald", "score", "chi2"))
    if method == "chi2" and alternative != "two-sided":
        raise SpecError(f"`alternative` must be 'two-sided' for method 'chi2', got {alternative!r}")
    x, n = _events(successes, count)
    r = np.asarray(ratio, dtype=np.float64)
    x0, x1, n0, n1 = x[..., 0], x[..., 1], n[..., 0], n[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        p0, p1 = x0 / n0, x1 / n1
        est = p1 - r * p0
        se = np.sqrt(p1 * (1 - p1) / n1 + r * r * p0 * (1 - p0) / n0)
        est, se = np.broadcast_arrays(est, se)
        if method == "wald":
            return _result(est, se, np.full(est.shape, np.inf), alternative)
        q0, q1 = _restricted_mle(x0, n0, x1, n1, r)
        se0 = np.sqrt(q1 * (1 - q1) / n1 + r * r * q0 * (1 - q0) / n0)
        z = est / se0
    if method == "score":
        res = _result(est, se, np.full(est.shape, np.inf), alternative)
        return attrs.evolve(
            res,
            statistic=_scalar_or_array(z),
            pvalue=_scalar_or_array(_pvalue(z, np.full(z.shape, np.inf), alternative)),
        )
    chi2 = z * z
    res = _result(est, se, np.full(est.shape, np.inf), "two-sided")
    return attrs.evolve(
        res, statistic=_scalar_or_array(chi2), pvalue=_scalar_or_array(stats.chi2.sf(chi2, 1))
    )


def rate_threshold_test(
    successes: ArrayLike,
    count: ArrayLike,
    threshold: ArrayLike,
    *,
    method: str = "score",
    alternative: str = "two-sided",
) -> FixedTestResult:
    """One-sample test of a rate ``p = threshold``.

    ``method="score"`` uses the null standard error ``sqrt(p0 (1 - p0) / n)``
    (the classical one-proportion z test; ``prop.test(correct=FALSE)`` in R),
    ``"wald"`` the estimated one. The interval is the Wald interval.

    Examples
    --------
    >>> r = rate_threshold_test(12, 100, 0.05, alternative="greater")
    >>> round(float(r.statistic), 4), round(float(r.pvalue), 6)
    (3.2118, 0.000659)
    """
    _check_options(alternative, method, ("wald", "score"))
    x, n = _events(successes, count)
    p0 = np.asarray(threshold, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        est = p - p0
        se = np.sqrt(p * (1 - p) / n)
        z = est / (np.sqrt(p0 * (1 - p0) / n) if method == "score" else se)
    est, se, z = np.broadcast_arrays(est, se, z)
    inf = np.full(est.shape, np.inf)
    res = _result(est, se, inf, alternative)
    return attrs.evolve(
        res, statistic=_scalar_or_array(z), pvalue=_scalar_or_array(_pvalue(z, inf, alternative))
    )


def _score_z(x0: _F, n0: _F, x1: _F, n1: _F, ratio: _F) -> _F:
    """The Farrington-Manning score z of ``p1 - ratio * p0`` (0/0 read as 0)."""
    q0, q1 = _restricted_mle(x0, n0, x1, n1, ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = x1 / n1 - ratio * x0 / n0
        se0 = np.sqrt(q1 * (1 - q1) / n1 + ratio * ratio * q0 * (1 - q0) / n0)
        z = np.where(se0 > 0, est / se0, np.sign(est) * np.inf)
    return np.asarray(np.where(est == 0, 0.0, z), dtype=np.float64)


_LOG_RATIO_RANGE = 40.0  # bisection on log(ratio) over [-40, 40]: ratios 4e-18 .. 2e17


def rate_ratio_interval(
    successes: ArrayLike,
    count: ArrayLike,
    confidence_level: ArrayLike = 0.95,
    *,
    alternative: str = "two-sided",
) -> tuple[Any, Any]:
    """The score confidence interval for ``p_c / p_b``: the inverted Farrington-Manning test.

    The interval holds the ratios ``r`` that the score test of ``p_c - r * p_b
    = 0`` (:func:`rate_test` with ``method="score"``) does not reject at level
    ``1 - confidence_level``. It is the interval matching the test a delta
    criterion on a rate uses: with ``alternative="less"`` (a one-sided
    ``(0, upper)`` interval) a lower-is-better delta criterion of confidence
    ``c`` passes under ``method="fixed"`` exactly when ``upper < 1 +
    tolerance`` at ``confidence_level = c`` (higher is better:
    ``alternative="greater"`` and ``lower > 1 - tolerance``).

    Parameters
    ----------
    successes, count : array_like, shape (..., 2)
        Per version (baseline, candidate): events out of requests.
    confidence_level : array_like, default 0.95
        Broadcasts against the batch shape.
    alternative : {"two-sided", "less", "greater"}
        ``"less"``: ``(0, upper)``; ``"greater"``: ``(lower, inf)``.

    Returns
    -------
    (low, high) : float or ndarray
        The interval for the ratio. With no candidate events the lower end
        is 0, with no baseline events the upper end is ``inf``; NaN where a
        count is not positive.

    Notes
    -----
    The score statistic ``Z(r) = (p_c - r p_b) / se_0(r)``, with ``se_0`` at
    the rates maximising the likelihood under ``p_c = r p_b`` (Farrington and
    Manning 1990; the quadratic root of :func:`rate_test`), decreases in
    ``r``; each end solves ``Z(r) = +/- z_{1 - a}`` by vectorized bisection on
    ``log r`` (90 halvings of [-40, 40]: the ends are exact to rounding). It
    is Miettinen and Nurminen's (1985) interval for the risk ratio without
    their ``N / (N - 1)`` variance factor. Checked against base R's
    ``uniroot`` on the same statistic (``tests/reference/rate_ratio_score_ci.R``).

    Examples
    --------
    >>> lo, hi = rate_ratio_interval([50, 40], [100, 100])
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.584284, 1.087696)
    """
    _check_alternative(alternative)
    level = _check_level("confidence_level", confidence_level)
    x, n = _events(successes, count)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise SpecError(
            f"`successes` and `count` need a last axis of 2 versions, got shape {x.shape}"
        )
    tail = (1.0 - level) / (2.0 if alternative == "two-sided" else 1.0)
    x0, x1, n0, n1, q = np.broadcast_arrays(
        x[..., 0], x[..., 1], n[..., 0], n[..., 1], special.ndtri(1.0 - tail)
    )
    ok = (n0 > 0) & (n1 > 0) & (x0 >= 0) & (x1 >= 0) & (x0 <= n0) & (x1 <= n1)
    x0, x1 = np.where(ok, x0, 0.0), np.where(ok, x1, 0.0)
    n0, n1 = np.where(ok, n0, 1.0), np.where(ok, n1, 1.0)

    def end(target: _F) -> _F:
        # Z decreases in r: keep Z(e^a) > target >= Z(e^b)
        a = np.full(target.shape, -_LOG_RATIO_RANGE)
        b = np.full(target.shape, _LOG_RATIO_RANGE)
        for _ in range(90):
            mid = (a + b) / 2.0
            above = _score_z(x0, n0, x1, n1, np.exp(mid)) > target
            a = np.where(above, mid, a)
            b = np.where(above, b, mid)
        return np.asarray(np.exp((a + b) / 2.0), dtype=np.float64)

    nan = np.full(q.shape, np.nan)
    low = np.zeros(q.shape)
    high = np.full(q.shape, np.inf)
    if alternative != "less":
        low = np.where(x1 > 0, end(q), 0.0)
    if alternative != "greater":
        high = np.where(x0 > 0, end(-q), np.inf)
    low, high = np.where(ok, low, nan), np.where(ok, high, nan)
    return _scalar_or_array(low), _scalar_or_array(high)


# --------------------------------------------------------------------------- sample size


@attrs.frozen(kw_only=True)
class SampleSizeResult:
    """Per-version sample sizes of a design.

    Attributes
    ----------
    baseline, candidate : float or ndarray
        Requests needed per version (rounded up to whole requests).
    total : float or ndarray
        ``baseline + candidate``.
    """

    baseline: Any
    candidate: Any
    total: Any


def _z_quantiles(alpha: ArrayLike, power: ArrayLike, sided: int) -> tuple[_F, _F]:
    a = _check_level("alpha", alpha)
    b = _check_level("power", power)
    if sided not in (1, 2):
        raise SpecError(f"`sided` must be 1 or 2, got {sided!r}")
    return special.ndtri(1.0 - a / sided), special.ndtri(b)


def _sizes(n_b: _F, allocation: _F) -> SampleSizeResult:
    nb = np.ceil(n_b - 1e-9)
    nc = np.ceil(n_b * allocation - 1e-9)
    return SampleSizeResult(
        baseline=_scalar_or_array(nb),
        candidate=_scalar_or_array(nc),
        total=_scalar_or_array(nb + nc),
    )


def _means_gap(
    mean_baseline: ArrayLike, mean_candidate: ArrayLike, ratio: ArrayLike
) -> _F:
    gap = np.abs(
        np.asarray(mean_candidate, dtype=np.float64)
        - np.asarray(ratio, dtype=np.float64) * np.asarray(mean_baseline, dtype=np.float64)
    )
    if np.any(gap == 0):
        raise SpecError(
            "the expected candidate lies on the null (`mean_candidate == ratio * "
            "mean_baseline`): no sample size reaches any power"
        )
    return gap


def _means_design(
    mean_baseline: ArrayLike,
    mean_candidate: ArrayLike,
    sd_baseline: ArrayLike,
    sd_candidate: ArrayLike | None,
    ratio: ArrayLike,
    allocation: ArrayLike,
) -> tuple[_F, _F, _F, _F, _F]:
    """The arrays of a mean test's design (:func:`sample_size_means`, :func:`power_means`).

    Returns
    -------
    gap, sd_b, sd_c, ratio, allocation : ndarray of float
        ``|mu_c - ratio * mu_b|`` and the parameters as float64 arrays
        (``sd_c`` is ``sd_b`` when ``sd_candidate`` is None).

    Raises
    ------
    SpecError
        When the expected candidate lies on the null (``gap == 0``).
    """
    sb = np.asarray(sd_baseline, dtype=np.float64)
    sc = sb if sd_candidate is None else np.asarray(sd_candidate, dtype=np.float64)
    r = np.asarray(ratio, dtype=np.float64)
    k = np.asarray(allocation, dtype=np.float64)
    return _means_gap(mean_baseline, mean_candidate, r), sb, sc, r, k


def _rates_design(
    p_baseline: ArrayLike,
    p_candidate: ArrayLike,
    ratio: ArrayLike,
    allocation: ArrayLike,
    *,
    check: bool = False,
) -> tuple[_F, _F, _F, _F, _F]:
    """The arrays of a rate test's design (:func:`sample_size_rates`, :func:`power_rates`).

    Parameters
    ----------
    p_baseline, p_candidate, ratio, allocation : array_like
    check : bool, default False
        Require both rates to lie in (0, 1).

    Returns
    -------
    p_b, p_c, ratio, allocation, gap : ndarray of float
        The parameters as float64 arrays and ``|p_c - ratio * p_b|``.

    Raises
    ------
    SpecError
        With ``check``, for a rate outside (0, 1).
    """
    pb = np.asarray(p_baseline, dtype=np.float64)
    pc = np.asarray(p_candidate, dtype=np.float64)
    if check and np.any((pb <= 0) | (pb >= 1) | (pc <= 0) | (pc >= 1)):
        raise SpecError(f"rates must lie in (0, 1), got {p_baseline!r} and {p_candidate!r}")
    r = np.asarray(ratio, dtype=np.float64)
    k = np.asarray(allocation, dtype=np.float64)
    return pb, pc, r, k, np.abs(pc - r * pb)


def sample_size_means(
    mean_baseline: ArrayLike,
    mean_candidate: ArrayLike,
    sd_baseline: ArrayLike,
    sd_candidate: ArrayLike | None = None,
    *,
    ratio: ArrayLike = 1.0,
    alpha: ArrayLike = 0.05,
    power: ArrayLike = 0.8,
    allocation: ArrayLike = 1.0,
    sided: int = 1,
    test: str = "z",
    inflation: ArrayLike = 1.0,
) -> SampleSizeResult:
    """Per-version sample sizes for the mean test of ``mu_c - ratio * mu_b``.

    Parameters
    ----------
    mean_baseline, mean_candidate : array_like
        The baseline's mean and the candidate's expected mean (the
        alternative at which ``power`` is wanted).
    sd_baseline, sd_candidate : array_like
        Standard deviations of one sample (``sd_candidate`` defaults to
        ``sd_baseline``).
    ratio : array_like, default 1
        The null ratio (``1 + tolerance`` for a delta criterion).
    alpha : array_like, default 0.05
        The level, one-sided for ``sided=1`` (a criterion's ``1 - confidence``).
    power : array_like, default 0.8
    allocation : array_like, default 1
        ``n_candidate / n_baseline``.
    sided : {1, 2}
    test : {"z", "t"}
        ``"z"``: the closed form below. ``"t"``: the smallest ``n`` whose
        noncentral-t power (Welch-Satterthwaite degrees of freedom at the
        population variances) reaches ``power``.
    inflation : array_like, default 1
        Multiplies the fixed sample size: a group-sequential design's
        inflation factor (:func:`canarystats.gs_design`).

    Notes
    -----
    ``n_b = inflation * (z_{1-alpha/sided} + z_power)**2 * (sd_c**2 / k +
    ratio**2 * sd_b**2) / (mu_c - ratio * mu_b)**2`` with ``k = allocation``;
    for ``ratio = 1``, ``k = 1`` and equal standard deviations this is the
    textbook ``2 (z_a + z_b)**2 sigma**2 / delta**2`` (Chow, Shao and Wang
    2008, *Sample Size Calculations in Clinical Research*, 2nd ed., section
    3.2.1). The two-sided form ignores the far tail, as usual.

    Examples
    --------
    >>> sample_size_means(10.0, 11.0, 2.0, sided=2, power=0.9).baseline
    np.float64(85.0)
    """
    za, zb = _z_quantiles(alpha, power, sided)
    gap, sb, sc, r, k = _means_design(
        mean_baseline, mean_candidate, sd_baseline, sd_candidate, ratio, allocation
    )
    unit = sc * sc / k + r * r * sb * sb  # n_b * var(estimate)
    n_b = (za + zb) ** 2 * unit / gap**2
    if test == "t":
        n_b = _solve_n_t(n_b, gap, sb, sc, r, k, np.asarray(alpha) / sided, zb)
    elif test != "z":
        raise SpecError(f"`test` must be one of ['z', 't'], got {test!r}")
    return _sizes(n_b * np.asarray(inflation, dtype=np.float64), k)


def _t_power(n_b: _F, gap: _F, sb: _F, sc: _F, r: _F, k: _F, a: _F) -> _F:
    vb = r * r * sb * sb / n_b
    vc = sc * sc / (k * n_b)
    df = (vb + vc) ** 2 / (vb * vb / (n_b - 1.0) + vc * vc / (k * n_b - 1.0))
    ncp = gap / np.sqrt(vb + vc)
    return np.asarray(stats.nct.sf(stats.t.isf(a, df), df, ncp))


def _solve_n_t(n_z: _F, gap: _F, sb: _F, sc: _F, r: _F, k: _F, a: _F, zb: _F) -> _F:
    """The smallest (real) n with noncentral-t power >= the target, by bisection."""
    target = special.ndtr(zb)
    n_z, gap, sb, sc, r, k, a, target = np.broadcast_arrays(n_z, gap, sb, sc, r, k, a, target)
    # integer bisection on the baseline's n (power increases with n); the t test
    # never needs fewer samples than the z test, and both versions need two
    lo = np.maximum(np.floor(n_z) - 1.0, np.ceil(2.0 / np.minimum(k, 1.0)) - 1.0)
    hi = np.ceil(np.maximum(n_z * 2.0 + 10.0, lo + 1.0))
    for _ in range(64):
        if np.all(hi - lo <= 1):
            break
        mid = np.floor((lo + hi) / 2.0)
        ok = _t_power(mid, gap, sb, sc, r, k, a) >= target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.asarray(hi, dtype=np.float64)


def power_means(
    n_baseline: ArrayLike,
    mean_baseline: ArrayLike,
    mean_candidate: ArrayLike,
    sd_baseline: ArrayLike,
    sd_candidate: ArrayLike | None = None,
    *,
    ratio: ArrayLike = 1.0,
    alpha: ArrayLike = 0.05,
    allocation: ArrayLike = 1.0,
    sided: int = 1,
    test: str = "z",
) -> Any:
    """Power of the mean test with ``n_baseline`` (and ``allocation * n_baseline``) samples.

    ``test="z"``: ``Phi(|gap| / se - z_{1-alpha/sided})``; ``"t"``: the
    noncentral t (see :func:`sample_size_means`).

    Examples
    --------
    >>> round(float(power_means(85, 10.0, 11.0, 2.0, sided=2)), 4)
    0.9031
    """
    a = _check_level("alpha", alpha)
    n = np.asarray(n_baseline, dtype=np.float64)
    gap, sb, sc, r, k = _means_design(
        mean_baseline, mean_candidate, sd_baseline, sd_candidate, ratio, allocation
    )
    if test == "t":
        return _scalar_or_array(_t_power(n, gap, sb, sc, r, k, a / sided))
    if test != "z":
        raise SpecError(f"`test` must be one of ['z', 't'], got {test!r}")
    se = np.sqrt((sc * sc / k + r * r * sb * sb) / n)
    return _scalar_or_array(special.ndtr(gap / se - special.ndtri(1.0 - a / sided)))


def _rate_variances(
    p_b: _F, p_c: _F, r: _F, k: _F, method: str
) -> tuple[_F, _F]:
    """``n_b * var`` of the estimate under the null (score) and the alternative."""
    v1 = p_c * (1 - p_c) / k + r * r * p_b * (1 - p_b)
    if method == "wald":
        return v1, v1
    if method != "score":
        raise SpecError(f"`method` must be one of ['wald', 'score'], got {method!r}")
    # restricted MLE at the expected counts (n0 = 1, n1 = k): Farrington & Manning (1990)
    q0, q1 = _restricted_mle(p_b, np.ones_like(p_b), k * p_c, k, r)
    v0 = q1 * (1 - q1) / k + r * r * q0 * (1 - q0)
    return v0, v1


def sample_size_rates(
    p_baseline: ArrayLike,
    p_candidate: ArrayLike,
    *,
    ratio: ArrayLike = 1.0,
    alpha: ArrayLike = 0.05,
    power: ArrayLike = 0.8,
    allocation: ArrayLike = 1.0,
    sided: int = 1,
    method: str = "score",
    inflation: ArrayLike = 1.0,
) -> SampleSizeResult:
    """Per-version sample sizes for the rate test of ``p_c - ratio * p_b``.

    Parameters
    ----------
    p_baseline, p_candidate : array_like
        The baseline's rate and the candidate's expected rate.
    ratio, alpha, power, allocation, sided, inflation
        As in :func:`sample_size_means`.
    method : {"score", "wald"}
        ``"score"`` (the default, matching the score test that ``method="fixed"``
        uses): ``n_b = (z_a sqrt(V0) + z_b sqrt(V1))**2 / gap**2`` with ``V0``
        at the null-restricted rates (Farrington & Manning 1990, eq. 4); for
        ``ratio = 1`` this is Fleiss' formula without continuity correction,
        what R's ``power.prop.test`` solves. ``"wald"``: ``(z_a + z_b)**2 V1 /
        gap**2`` (Chow, Shao and Wang 2008, section 4.2).

    Examples
    --------
    >>> sample_size_rates(0.65, 0.85, sided=2, method="wald").baseline
    np.float64(70.0)
    """
    za, zb = _z_quantiles(alpha, power, sided)
    pb, pc, r, k, gap = _rates_design(p_baseline, p_candidate, ratio, allocation, check=True)
    if np.any(gap == 0):
        raise SpecError(
            "the expected candidate lies on the null (`p_candidate == ratio * p_baseline`)"
        )
    v0, v1 = _rate_variances(pb, pc, r, k, method)
    n_b = (za * np.sqrt(v0) + zb * np.sqrt(v1)) ** 2 / gap**2
    return _sizes(n_b * np.asarray(inflation, dtype=np.float64), k)


def power_rates(
    n_baseline: ArrayLike,
    p_baseline: ArrayLike,
    p_candidate: ArrayLike,
    *,
    ratio: ArrayLike = 1.0,
    alpha: ArrayLike = 0.05,
    allocation: ArrayLike = 1.0,
    sided: int = 1,
    method: str = "score",
) -> Any:
    """Power of the rate test (the normal approximation of :func:`sample_size_rates`).

    Examples
    --------
    >>> round(float(power_rates(70, 0.65, 0.85, sided=2, method="wald")), 4)
    0.8019
    """
    a = _check_level("alpha", alpha)
    n = np.asarray(n_baseline, dtype=np.float64)
    pb, pc, r, k, gap = _rates_design(p_baseline, p_candidate, ratio, allocation)
    v0, v1 = _rate_variances(pb, pc, r, k, method)
    za = special.ndtri(1.0 - a / sided)
    return _scalar_or_array(special.ndtr((gap * np.sqrt(n) - za * np.sqrt(v0)) / np.sqrt(v1)))


# --------------------------------------------------------------------------- criteria


def criterion_statistic(
    criterion: Criterion, observations: Observations, *, method: str | None = None
) -> tuple[_F, _F, NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """The test of a criterion's hypothesis on cumulative observations.

    Returns ``(statistic, df, bad, missing, sufficient)`` (batch shape): the
    z or t statistic of the estimand ``D`` oriented so that ``D < 0`` is the
    criterion's hypothesis H (the candidate is good), NaN where undecidable.
    Rates use the score statistic (``se_null`` at the null-restricted
    rates), means Welch's t (``df`` finite) unless ``method="z"``.
    """
    batch = observations.batch_shape
    tol = np.asarray(check_param_shape("tolerance", criterion.tolerance, batch), dtype=np.float64)
    need = np.asarray(check_param_shape("sample_size", criterion.sample_size, batch))
    delta = criterion.tolerance_type == "delta"
    sign = 1.0 if criterion.direction == "lower" else -1.0
    ratio = 1.0 + sign * tol  # a delta's null ratio
    n = observations.count
    res: FixedTestResult | None = None
    if observations.successes is not None:
        x = observations.successes
        with np.errstate(invalid="ignore"):
            bad_v = np.isinf(n) | (n < 0) | np.isinf(x) | (x < 0) | (x > n)
        missing_v = (np.isnan(n) | np.isnan(x)) & ~bad_v
        xs = np.where(bad_v | missing_v, 0.0, np.rint(x))
        ns = np.where(bad_v | missing_v, 1.0, np.rint(n))
        if delta:
            res = rate_test(xs, ns, ratio=ratio, method="score", alternative="less")
        else:
            res = rate_threshold_test(xs[..., 1], ns[..., 1], tol, alternative="less")
    elif observations.sum is not None and observations.sumsq is not None:
        s, ss = observations.sum, observations.sumsq
        with np.errstate(invalid="ignore"):
            bad_v = np.isinf(n) | (n < 0) | np.isinf(s) | np.isinf(ss) | (ss < 0)
        missing_v = (np.isnan(n) | np.isnan(s) | np.isnan(ss)) & ~bad_v
        m = "z" if method == "z" else "welch"
        if delta:
            res = mean_test(n, s, ss, ratio=ratio, method=m)
        else:
            res = mean_threshold_test(n[..., 1], s[..., 1], ss[..., 1], tol, method=m)
    else:
        bad_v = np.zeros(n.shape, dtype=bool)
        missing_v = np.ones(n.shape, dtype=bool)
    if res is None:
        stat = np.full(batch, np.nan)
        df = np.full(batch, np.inf)
    else:
        stat = np.asarray(res.statistic) * sign
        df = np.broadcast_to(np.asarray(res.df, dtype=np.float64), batch)
    if delta:
        bad = bad_v.any(axis=-1)
        missing = missing_v.any(axis=-1) & ~bad
        with np.errstate(invalid="ignore"):
            sufficient = (n >= need[..., None]).all(axis=-1)
    else:
        bad = bad_v[..., 1]
        missing = missing_v[..., 1] & ~bad
        with np.errstate(invalid="ignore"):
            sufficient = n[..., 1] >= need
    if observations.successes is None:
        # a mean needs two samples for a variance
        with np.errstate(invalid="ignore"):
            sufficient &= (n[..., 1] >= 2) & ((n[..., 0] >= 2) if delta else True)
    stat = np.broadcast_to(stat, batch)
    # a zero standard error (all samples equal, or no events at all) decides nothing
    sufficient = sufficient & np.isfinite(stat)
    valid = ~bad & ~missing & sufficient
    stat = np.where(valid, stat, np.nan)
    return stat, np.asarray(df), np.asarray(bad), np.asarray(missing), np.asarray(sufficient)


def _check_criterion(name: str, criterion: Criterion) -> None:
    if criterion.missing != "inconclusive":
        raise SpecError(
            f"`missing` must be 'inconclusive' for method {name!r} (criterion "
            f"{criterion.metric!r}), got {criterion.missing!r}"
        )
    if criterion.is_counter:
        raise SpecError(
            f"method {name!r} judges rates and means; {criterion.metric!r} is a counter "
            "(a cumulative count against a threshold): use method 'point'"
        )




@attrs.frozen(kw_only=True)
class FixedState:
    """State of the fixed method: the test of the last update.

    Attributes
    ----------
    statistic, pvalue : ndarray of float, shape (*batch,)
        The z or t statistic ``D / se`` (negative favours the candidate) and
        the one-sided p-value of ``H0: the candidate is not good`` (small
        means PASS); NaN before the first update and where undecidable.
    """

    statistic: _F = array_field()
    pvalue: _F = array_field()


class FixedMethod:
    """The classical one-shot test (``method="fixed"``), vectorized over a batch.

    With ``alpha = 1 - confidence`` and ``D`` the estimand oriented so that
    ``D < 0`` is the criterion's hypothesis H (threshold: ``mu_c - tolerance``;
    delta: ``mu_c - (1 + tolerance) mu_b``; mirrored for higher-is-better),
    the verdict is PASS when the one-sided level-``alpha`` test rejects
    ``D >= 0``, FAIL when the one on the other side rejects ``D <= 0``, and
    else INCONCLUSIVE with ``Reason.NOT_YET_DECIDED``. Each error rate is at
    most ``alpha`` **when the criterion is consulted once**, at a sample size
    fixed in advance (see :func:`sample_size_means`, :func:`sample_size_rates`);
    consulted at every assessment it is not (use ``"group_sequential"`` or
    ``"sequential"``).

    Rates use the score tests (:func:`rate_test` with ``method="score"``, the
    Farrington-Manning test for a delta; :func:`rate_threshold_test`) on
    ``successes`` and ``count`` rounded to integers; means Welch's t
    (:func:`mean_test`, :func:`mean_threshold_test`) on ``sum``, ``sumsq`` and
    ``count`` (``sumsq`` is required). Insufficient samples, bad data and
    missing data are handled as by ``method="sequential"``; a zero standard
    error (e.g. no events at all) is INCONCLUSIVE with
    ``Reason.INSUFFICIENT_SAMPLE``. A FAIL aborts when ``stop_on_failure``.
    """

    name = "fixed"

    def init(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> FixedState:
        _check_criterion(self.name, criterion)
        empty = np.full(batch_shape, np.nan)
        return FixedState(statistic=empty, pvalue=empty)

    def update(
        self, criterion: Criterion, state: FixedState, observations: Observations
    ) -> tuple[FixedState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        if observations.n_versions != 2:
            raise SpecError(
                "the fixed method compares a baseline and one candidate: observations "
                f"of {criterion.metric!r} must have 2 versions, got {observations.n_versions}"
            )
        _check_criterion(self.name, criterion)
        batch = observations.batch_shape
        conf = np.asarray(check_param_shape("confidence", criterion.confidence, batch))
        alpha = np.broadcast_to(1.0 - conf, batch)
        stat, df, bad, missing, sufficient = criterion_statistic(criterion, observations)
        valid = ~bad & ~missing & sufficient
        p_less = _pvalue(stat, df, "less")  # small: D < 0 shown (PASS)
        p_greater = _pvalue(stat, df, "greater")  # small: D > 0 shown (FAIL)
        passed = valid & (p_less < alpha)
        failed = valid & (p_greater < alpha)
        verdict = np.zeros(batch, dtype=_I8)
        verdict[passed] = Verdict.PASS
        verdict[failed] = Verdict.FAIL
        reason = np.full(batch, _I8(Reason.NOT_YET_DECIDED))
        reason[passed | failed] = Reason.OK
        reason[~bad & ~missing & ~sufficient] = Reason.INSUFFICIENT_SAMPLE
        reason[missing] = Reason.MISSING_VALUE
        reason[bad] = Reason.BAD_DATA
        _warn_bad(bad, criterion, "bad data", "infinite or negative values")
        _warn_bad(missing, criterion, "missing", _missing_moments(observations))
        abort = failed if criterion.stop_on_failure else np.zeros(batch, dtype=bool)
        new_state = FixedState(statistic=stat, pvalue=np.where(valid, p_less, np.nan))
        return new_state, verdict, reason, np.asarray(abort, dtype=bool)


register_method("fixed", FixedMethod())
