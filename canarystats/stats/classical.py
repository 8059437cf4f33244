"""Fixed-horizon (one-shot) tests for means and rates, from sufficient statistics.

The classical tests a canary criterion reduces to when it is judged once, at a
planned sample size:

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
higher is better): ``ratio`` is that ``1 + tol``. Sample sizes and power are
in :mod:`canarystats.stats.sample_size`; the criterion method
(``method="fixed"``) is :class:`canarystats.methods.fixed.FixedMethod`.

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

from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from canarystats._arrays import ARRAY_EQ, TupleResult, scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats.alternatives import check_alternative
from canarystats.stats.confidence_interval import ConfidenceIntervalResult

__all__ = [
    "FixedTestResult",
    "RestrictedMLEResult",
    "check_level",
    "mean_test",
    "mean_threshold_test",
    "rate_ratio_interval",
    "rate_test",
    "rate_threshold_test",
    "restricted_mle",
    "score_z",
    "t_or_z_pvalue",
]


_F = NDArray[np.float64]


def _check_options(alternative: str, method: str, methods: tuple[str, ...]) -> None:
    """Check a test's ``alternative`` and its ``method`` (one of ``methods``).

    Raises
    ------
    SpecError
        Naming the option, the value received and the values allowed.
    """
    check_alternative(alternative)
    if method not in methods:
        raise SpecError(f"`method` must be one of {list(methods)}, got {method!r}")


def check_level(name: str, value: ArrayLike) -> _F:
    """``value`` as a float64 array, checked to lie in (0, 1); the error names ``name``."""
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

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceIntervalResult:
        """The Wald interval ``estimate -/+ q * standard_error`` for the estimand.

        ``q`` is the t (``df``) or normal quantile. Like scipy, a one-sided
        ``alternative`` gives a one-sided interval (``-inf`` or ``+inf`` on
        the open side).
        """
        level = float(check_level("confidence_level", confidence_level))
        tail = 1.0 - level if self.alternative != "two-sided" else (1.0 - level) / 2.0
        df = np.asarray(self.df, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            q = np.where(np.isinf(df), special.ndtri(1.0 - tail), stats.t.isf(tail, df))
        est = np.asarray(self.estimate, dtype=np.float64)
        se = np.asarray(self.standard_error, dtype=np.float64)
        low = est - q * se if self.alternative != "less" else np.full(est.shape, -np.inf)
        high = est + q * se if self.alternative != "greater" else np.full(est.shape, np.inf)
        return ConfidenceIntervalResult(low=scalar_or_array(low), high=scalar_or_array(high))


def t_or_z_pvalue(stat: _F, df: _F, alternative: str) -> _F:
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
        statistic=scalar_or_array(stat),
        pvalue=scalar_or_array(t_or_z_pvalue(stat, df, alternative)),
        df=scalar_or_array(df),
        estimate=scalar_or_array(est),
        standard_error=scalar_or_array(se),
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


@attrs.frozen(kw_only=True)
class RestrictedMLEResult(TupleResult):
    """The rates maximising the likelihood under ``p_c = ratio * p_b``; unpack as ``(p_b, p_c)``.

    Attributes
    ----------
    baseline, candidate : ndarray of float
        The restricted estimates of ``p_b`` and ``p_c = ratio * p_b``.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("baseline", "candidate")

    baseline: _F = attrs.field(eq=ARRAY_EQ)
    candidate: _F = attrs.field(eq=ARRAY_EQ)


def restricted_mle(x0: _F, n0: _F, x1: _F, n1: _F, ratio: _F) -> RestrictedMLEResult:
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
    return RestrictedMLEResult(baseline=p0, candidate=ratio * p0)


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
        q0, q1 = restricted_mle(x0, n0, x1, n1, r)
        se0 = np.sqrt(q1 * (1 - q1) / n1 + r * r * q0 * (1 - q0) / n0)
        z = est / se0
    if method == "score":
        res = _result(est, se, np.full(est.shape, np.inf), alternative)
        return attrs.evolve(
            res,
            statistic=scalar_or_array(z),
            pvalue=scalar_or_array(t_or_z_pvalue(z, np.full(z.shape, np.inf), alternative)),
        )
    chi2 = z * z
    res = _result(est, se, np.full(est.shape, np.inf), "two-sided")
    return attrs.evolve(
        res, statistic=scalar_or_array(chi2), pvalue=scalar_or_array(stats.chi2.sf(chi2, 1))
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
        res,
        statistic=scalar_or_array(z),
        pvalue=scalar_or_array(t_or_z_pvalue(z, inf, alternative)),
    )


def score_z(x0: _F, n0: _F, x1: _F, n1: _F, ratio: _F) -> _F:
    """The Farrington-Manning score z of ``p1 - ratio * p0`` (0/0 read as 0)."""
    q0, q1 = restricted_mle(x0, n0, x1, n1, ratio)
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
) -> ConfidenceIntervalResult:
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
    ConfidenceIntervalResult
        ``(low, high)``, the interval for the ratio. With no candidate events the lower end
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
    check_alternative(alternative)
    level = check_level("confidence_level", confidence_level)
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
            above = score_z(x0, n0, x1, n1, np.exp(mid)) > target
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
    return ConfidenceIntervalResult(low=scalar_or_array(low), high=scalar_or_array(high))

