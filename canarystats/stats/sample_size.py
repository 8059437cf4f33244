"""Sample sizes and power of the fixed-horizon mean and rate tests.

Per-version sample sizes (:func:`sample_size_means`, :func:`sample_size_rates`)
and the power they give (:func:`power_means`, :func:`power_rates`) for the
tests of ``mu_c - ratio * mu_b`` and ``p_c - ratio * p_b`` of
:mod:`canarystats.stats.classical`. A delta criterion with relative tolerance
``tol`` has ``ratio = 1 + tol`` (lower is better; ``1 - tol`` for higher is
better). The sample sizes take an ``inflation`` factor, the group-sequential
design's (:func:`canarystats.gs_design`).

Examples
--------
Chow, Shao and Wang (2008, section 3.2.1): ``2 (z_{a/2} + z_b)**2 s**2 /
d**2`` with ``s = 2``, ``d = 1`` and power 0.9 is 84.06, so 85 per version:

>>> from canarystats import sample_size_means
>>> sample_size_means(10.0, 11.0, 2.0, alternative="two-sided", power=0.9).baseline
np.float64(85.0)
"""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from canarystats._arrays import scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats.alternatives import ALTERNATIVES
from canarystats.stats.classical import check_level, restricted_mle
from canarystats.stats.levels import level_from

__all__ = [
    "SIDED_DEPRECATION_MESSAGE",
    "SampleSizeResult",
    "power_means",
    "power_rates",
    "sample_size_means",
    "sample_size_rates",
]

_F = NDArray[np.float64]


# --------------------------------------------------------------------------- sample size

#: The message of the ``DeprecationWarning`` for ``sided``.
SIDED_DEPRECATION_MESSAGE = (
    "`sided` is deprecated: use `alternative` (sided=2 is alternative='two-sided'; sided=1 "
    "is the default, alternative=None: one-sided towards the expected difference)"
)


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


def _alternative(alternative: str | None, sided: int | None, *, stacklevel: int) -> str | None:
    """``alternative`` checked, or translated from the deprecated ``sided``.

    Returns None (one-sided, towards the expected difference: ``sided=1``),
    ``"two-sided"`` (``sided=2``), ``"less"`` or ``"greater"``.

    Raises
    ------
    SpecError
        For an ``alternative`` not allowed, a ``sided`` other than 1 or 2, or
        both given.
    """
    if sided is not None:
        warnings.warn(SIDED_DEPRECATION_MESSAGE, DeprecationWarning, stacklevel=stacklevel + 1)
        if alternative is not None:
            raise SpecError(
                f"`sided` is the deprecated alias of `alternative`: give one of them, got "
                f"sided={sided!r} and alternative={alternative!r}"
            )
        if sided not in (1, 2):
            raise SpecError(f"`sided` must be 1 or 2, got {sided!r}")
        return "two-sided" if sided == 2 else None
    if alternative is not None and alternative not in ALTERNATIVES:
        raise SpecError(
            f"`alternative` must be None or one of {list(ALTERNATIVES)}, got {alternative!r}"
        )
    return alternative


def _tails(alternative: str | None) -> int:
    """The number of tails ``alpha`` is split over: 2 for ``"two-sided"``, else 1."""
    return 2 if alternative == "two-sided" else 1


def _z_quantiles(
    a: _F, power: ArrayLike, alternative: str | None, sided: int | None
) -> tuple[_F, _F, str | None]:
    """``z_{1-alpha}`` (``z_{1-alpha/2}`` two-sided), ``z_power`` and the alternative."""
    b = check_level("power", power)
    alt = _alternative(alternative, sided, stacklevel=3)
    return special.ndtri(1.0 - a / _tails(alt)), special.ndtri(b), alt


def _oriented(diff: _F, alternative: str | None) -> _F:
    """The gap ``diff`` oriented along the alternative (positive where the test has power).

    ``|diff|`` for None and ``"two-sided"`` (the two-sided form ignores the
    far tail), ``-diff`` for ``"less"``, ``diff`` for ``"greater"``.
    """
    if alternative == "less":
        return np.asarray(-diff)
    if alternative == "greater":
        return diff
    return np.asarray(np.abs(diff))


def _check_side(gap: _F, alternative: str | None, what: str) -> None:
    """No sample size reaches any power when the candidate lies on the null's side."""
    if np.any(gap < 0):
        raise SpecError(
            f"the expected candidate lies on the null's side for `alternative` "
            f"{alternative!r} ({what}): no sample size reaches any power"
        )


def _sizes(n_b: _F, allocation: _F) -> SampleSizeResult:
    nb = np.ceil(n_b - 1e-9)
    nc = np.ceil(n_b * allocation - 1e-9)
    return SampleSizeResult(
        baseline=scalar_or_array(nb),
        candidate=scalar_or_array(nc),
        total=scalar_or_array(nb + nc),
    )


def _means_gap(
    mean_baseline: ArrayLike, mean_candidate: ArrayLike, ratio: ArrayLike, alternative: str | None
) -> _F:
    diff = np.asarray(
        np.asarray(mean_candidate, dtype=np.float64)
        - np.asarray(ratio, dtype=np.float64) * np.asarray(mean_baseline, dtype=np.float64)
    )
    if np.any(diff == 0):
        raise SpecError(
            "the expected candidate lies on the null (`mean_candidate == ratio * "
            "mean_baseline`): no sample size reaches any power"
        )
    return _oriented(diff, alternative)


def _means_design(
    mean_baseline: ArrayLike,
    mean_candidate: ArrayLike,
    sd_baseline: ArrayLike,
    sd_candidate: ArrayLike | None,
    ratio: ArrayLike,
    allocation: ArrayLike,
    alternative: str | None,
) -> tuple[_F, _F, _F, _F, _F]:
    """The arrays of a mean test's design (:func:`sample_size_means`, :func:`power_means`).

    Returns
    -------
    gap, sd_b, sd_c, ratio, allocation : ndarray of float
        ``mu_c - ratio * mu_b`` oriented along ``alternative`` (its absolute
        value for None and ``"two-sided"``) and the parameters as float64
        arrays (``sd_c`` is ``sd_b`` when ``sd_candidate`` is None).

    Raises
    ------
    SpecError
        When the expected candidate lies on the null (``gap == 0``).
    """
    sb = np.asarray(sd_baseline, dtype=np.float64)
    sc = sb if sd_candidate is None else np.asarray(sd_candidate, dtype=np.float64)
    r = np.asarray(ratio, dtype=np.float64)
    k = np.asarray(allocation, dtype=np.float64)
    return _means_gap(mean_baseline, mean_candidate, r, alternative), sb, sc, r, k


def _rates_design(
    p_baseline: ArrayLike,
    p_candidate: ArrayLike,
    ratio: ArrayLike,
    allocation: ArrayLike,
    alternative: str | None,
    *,
    check: bool = False,
) -> tuple[_F, _F, _F, _F, _F]:
    """The arrays of a rate test's design (:func:`sample_size_rates`, :func:`power_rates`).

    Parameters
    ----------
    p_baseline, p_candidate, ratio, allocation : array_like
    alternative : {None, "two-sided", "less", "greater"}
    check : bool, default False
        Require both rates to lie in (0, 1).

    Returns
    -------
    p_b, p_c, ratio, allocation, gap : ndarray of float
        The parameters as float64 arrays and ``p_c - ratio * p_b`` oriented
        along ``alternative`` (its absolute value for None and ``"two-sided"``).

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
    return pb, pc, r, k, _oriented(np.asarray(pc - r * pb), alternative)


def sample_size_means(
    mean_baseline: ArrayLike,
    mean_candidate: ArrayLike,
    sd_baseline: ArrayLike,
    sd_candidate: ArrayLike | None = None,
    *,
    ratio: ArrayLike = 1.0,
    confidence_level: ArrayLike | None = None,
    power: ArrayLike = 0.8,
    allocation: ArrayLike = 1.0,
    alternative: str | None = None,
    test: str = "z",
    inflation: ArrayLike = 1.0,
    sided: int | None = None,
    alpha: ArrayLike | None = None,
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
    confidence_level : array_like, default 0.95
        ``1 - alpha``, ``alpha`` the test's level: per side for a one-sided
        test (``confidence_level`` is then a criterion's ``confidence``), the
        total for ``alternative="two-sided"``; in (0, 1).
    power : array_like, default 0.8
    allocation : array_like, default 1
        ``n_candidate / n_baseline``.
    alternative : {None, "two-sided", "less", "greater"}, default None
        The alternative of the test of ``mu_c - ratio * mu_b = 0``, in
        scipy's vocabulary as in :func:`~canarystats.stats.classical.mean_test`:
        ``"less"`` (the candidate below the null: the test a lower-is-better
        delta criterion passes by) and ``"greater"`` are one-sided at level
        ``alpha``, ``"two-sided"`` spends ``alpha / 2`` per side. The default
        None is the one-sided test in the direction of the expected
        difference (``"less"`` where ``mean_candidate < ratio *
        mean_baseline``, else ``"greater"``).
    test : {"z", "t"}
        ``"z"``: the closed form below. ``"t"``: the smallest ``n`` whose
        noncentral-t power (Welch-Satterthwaite degrees of freedom at the
        population variances) reaches ``power``.
    inflation : array_like, default 1
        Multiplies the fixed sample size: a group-sequential design's
        inflation factor (:func:`canarystats.gs_design`).
    sided : {1, 2}, optional
        Deprecated alias of ``alternative`` (``DeprecationWarning``):
        ``sided=1`` is the default ``alternative=None``, ``sided=2`` is
        ``alternative="two-sided"``.
    alpha : array_like, optional
        Deprecated alias (``DeprecationWarning``): ``confidence_level = 1 -
        alpha``.

    Raises
    ------
    SpecError
        When the expected candidate lies on the null, or on the null's side
        of a one-sided ``alternative`` (``"less"`` with ``mean_candidate >
        ratio * mean_baseline``; ``"greater"`` with ``<``).

    Notes
    -----
    ``n_b = inflation * (z_{1-alpha} + z_power)**2 * (sd_c**2 / k + ratio**2 *
    sd_b**2) / (mu_c - ratio * mu_b)**2`` with ``k = allocation``
    (``z_{1-alpha/2}`` two-sided); for ``ratio = 1``, ``k = 1`` and equal
    standard deviations this is the textbook ``2 (z_a + z_b)**2 sigma**2 /
    delta**2`` (Chow, Shao and Wang 2008, *Sample Size Calculations in
    Clinical Research*, 2nd ed., section 3.2.1). The two-sided form ignores
    the far tail, as usual.

    Examples
    --------
    >>> sample_size_means(10.0, 11.0, 2.0, alternative="two-sided", power=0.9).baseline
    np.float64(85.0)
    """
    a = level_from(confidence_level, alpha, default=0.95)
    za, zb, alt = _z_quantiles(a, power, alternative, sided)
    gap, sb, sc, r, k = _means_design(
        mean_baseline, mean_candidate, sd_baseline, sd_candidate, ratio, allocation, alt
    )
    _check_side(gap, alt, "`mean_candidate` against `ratio * mean_baseline`")
    unit = sc * sc / k + r * r * sb * sb  # n_b * var(estimate)
    n_b = (za + zb) ** 2 * unit / gap**2
    if test == "t":
        n_b = _solve_n_t(n_b, gap, sb, sc, r, k, np.asarray(a) / _tails(alt), zb)
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
    confidence_level: ArrayLike | None = None,
    allocation: ArrayLike = 1.0,
    alternative: str | None = None,
    test: str = "z",
    sided: int | None = None,
    alpha: ArrayLike | None = None,
) -> Any:
    """Power of the mean test with ``n_baseline`` (and ``allocation * n_baseline``) samples.

    ``test="z"``: ``Phi(gap / se - z_{1-alpha})`` (``z_{1-alpha/2}``
    two-sided), ``gap`` the expected ``mu_c - ratio * mu_b`` oriented along
    ``alternative`` (its absolute value for the default None and for
    ``"two-sided"``; negated for ``"less"``); ``"t"``: the noncentral t. The
    parameters are those of :func:`sample_size_means` (``sided`` is the
    deprecated alias of ``alternative``, ``alpha`` of ``confidence_level``).

    Examples
    --------
    >>> round(float(power_means(85, 10.0, 11.0, 2.0, alternative="two-sided")), 4)
    0.9031
    """
    a = level_from(confidence_level, alpha, default=0.95)
    alt = _alternative(alternative, sided, stacklevel=2)
    n = np.asarray(n_baseline, dtype=np.float64)
    gap, sb, sc, r, k = _means_design(
        mean_baseline, mean_candidate, sd_baseline, sd_candidate, ratio, allocation, alt
    )
    if test == "t":
        return scalar_or_array(_t_power(n, gap, sb, sc, r, k, a / _tails(alt)))
    if test != "z":
        raise SpecError(f"`test` must be one of ['z', 't'], got {test!r}")
    se = np.sqrt((sc * sc / k + r * r * sb * sb) / n)
    return scalar_or_array(special.ndtr(gap / se - special.ndtri(1.0 - a / _tails(alt))))


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
    q0, q1 = restricted_mle(p_b, np.ones_like(p_b), k * p_c, k, r)
    v0 = q1 * (1 - q1) / k + r * r * q0 * (1 - q0)
    return v0, v1


def sample_size_rates(
    p_baseline: ArrayLike,
    p_candidate: ArrayLike,
    *,
    ratio: ArrayLike = 1.0,
    confidence_level: ArrayLike | None = None,
    power: ArrayLike = 0.8,
    allocation: ArrayLike = 1.0,
    alternative: str | None = None,
    method: str = "score",
    inflation: ArrayLike = 1.0,
    sided: int | None = None,
    alpha: ArrayLike | None = None,
) -> SampleSizeResult:
    """Per-version sample sizes for the rate test of ``p_c - ratio * p_b``.

    Parameters
    ----------
    p_baseline, p_candidate : array_like
        The baseline's rate and the candidate's expected rate.
    ratio, confidence_level, power, allocation, alternative, inflation, sided, alpha
        As in :func:`sample_size_means`, for ``p_c - ratio * p_b``
        (``alternative=None``: one-sided towards the expected difference;
        ``sided`` and ``alpha`` are deprecated).
    method : {"score", "wald"}
        ``"score"`` (the default, matching the score test that ``method="fixed"``
        uses): ``n_b = (z_a sqrt(V0) + z_b sqrt(V1))**2 / gap**2`` with ``V0``
        at the null-restricted rates (Farrington & Manning 1990, eq. 4); for
        ``ratio = 1`` this is Fleiss' formula without continuity correction,
        what R's ``power.prop.test`` solves. ``"wald"``: ``(z_a + z_b)**2 V1 /
        gap**2`` (Chow, Shao and Wang 2008, section 4.2).

    Examples
    --------
    >>> sample_size_rates(0.65, 0.85, alternative="two-sided", method="wald").baseline
    np.float64(70.0)
    """
    a = level_from(confidence_level, alpha, default=0.95)
    za, zb, alt = _z_quantiles(a, power, alternative, sided)
    pb, pc, r, k, gap = _rates_design(
        p_baseline, p_candidate, ratio, allocation, alt, check=True
    )
    if np.any(gap == 0):
        raise SpecError(
            "the expected candidate lies on the null (`p_candidate == ratio * p_baseline`)"
        )
    _check_side(gap, alt, "`p_candidate` against `ratio * p_baseline`")
    v0, v1 = _rate_variances(pb, pc, r, k, method)
    n_b = (za * np.sqrt(v0) + zb * np.sqrt(v1)) ** 2 / gap**2
    return _sizes(n_b * np.asarray(inflation, dtype=np.float64), k)


def power_rates(
    n_baseline: ArrayLike,
    p_baseline: ArrayLike,
    p_candidate: ArrayLike,
    *,
    ratio: ArrayLike = 1.0,
    confidence_level: ArrayLike | None = None,
    allocation: ArrayLike = 1.0,
    alternative: str | None = None,
    method: str = "score",
    sided: int | None = None,
    alpha: ArrayLike | None = None,
) -> Any:
    """Power of the rate test (the normal approximation of :func:`sample_size_rates`).

    ``Phi((gap sqrt(n_b) - z_{1-alpha} sqrt(V0)) / sqrt(V1))``, ``gap``
    oriented along ``alternative`` as in :func:`power_means`.

    Examples
    --------
    >>> round(float(power_rates(70, 0.65, 0.85, alternative="two-sided", method="wald")), 4)
    0.8019
    """
    a = level_from(confidence_level, alpha, default=0.95)
    alt = _alternative(alternative, sided, stacklevel=2)
    n = np.asarray(n_baseline, dtype=np.float64)
    pb, pc, r, k, gap = _rates_design(p_baseline, p_candidate, ratio, allocation, alt)
    v0, v1 = _rate_variances(pb, pc, r, k, method)
    za = special.ndtri(1.0 - a / _tails(alt))
    return scalar_or_array(special.ndtr((gap * np.sqrt(n) - za * np.sqrt(v0)) / np.sqrt(v1)))
