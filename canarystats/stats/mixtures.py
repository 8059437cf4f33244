"""Mixture martingales: anytime-valid e-values from mixtures of likelihood ratios.

Each statistic is the log of a nonnegative (super)martingale with initial value
1 under its null, so by Ville's inequality ``P(it ever reaches 1/alpha) <=
alpha`` under any monitoring ("anytime-valid"). All are elementwise and
broadcast over any batch shape.

- :func:`normal_mixture_log_e` and :func:`normal_mixture_bound`: Robbins'
  normal-mixture boundary, one- or two-sided, with the mixing precision
  ``rho`` tuned for a target intrinsic time by :func:`normal_mixture_rho`
  (Howard, Ramdas, McAuliffe and Sekhon 2021).
- :func:`msprt_normal_log_e`: Johari, Pekelis and Walsh's mixture SPRT for a
  Gaussian mean (or a paired difference of two means) with the always-valid
  p-value ``min(1, 1 / max Lambda)``; the same martingale in their notation.
  :func:`msprt_two_sample`: their two-sample mSPRT and its always-valid
  interval (differences of means or rates, plug-in variances).
- :func:`beta_binomial_log_e`: the Beta-mixture martingale of a Bernoulli rate.
- :func:`multinomial_log_e`: Lindon and Malek's Dirichlet-multinomial Bayes
  factor of counts split between versions.

The confidence sequences that invert them are in
:mod:`canarystats.stats.confidence_sequences`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats._arrays import ARRAY_EQ, TupleResult, scalar_or_array
from canarystats.stats.alternatives import check_alternative
from canarystats.stats.levels import level_from

__all__ = [
    "BISECTION_STEPS",
    "MsprtTwoSampleResult",
    "beta_binomial_log_e",
    "msprt_normal_log_e",
    "msprt_two_sample",
    "multinomial_log_e",
    "normal_mixture_bound",
    "normal_mixture_log_e",
    "normal_mixture_rho",
]

_F = NDArray[np.float64]

#: Bisection steps of the boundary and interval searches (brackets shrink below double
#: resolution).
BISECTION_STEPS = 64



# --------------------------------------------------------------------------- normal mixture


def normal_mixture_rho(
    v_opt: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    alternative: str = "two-sided",
    alpha: ArrayLike | None = None,
) -> Any:
    """The mixing precision that makes the normal-mixture boundary tightest at ``v_opt``.

    ``rho = v_opt / (2 log(1/a) + log(1 + 2 log(1/a)))`` with ``a = alpha =
    1 - confidence_level`` for the two-sided boundary and ``a = 2 alpha`` for
    a one-sided one (``alternative="less"`` or ``"greater"``: the tuning is
    the same for both).

    Parameters
    ----------
    v_opt : array_like of float
        The intrinsic time (variance process, ``n * sigma**2``; ``n`` for a
        standardised sum) at which the boundary should be tightest.
    confidence_level : array_like of float, default 0.95
        The boundary is tuned to be crossed with probability at most ``1 -
        confidence_level`` (the old ``alpha``), each value in (0, 1).
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        The boundary the precision is tuned for (see :func:`normal_mixture_log_e`).
    alpha : array_like of float, optional
        Deprecated alias: ``confidence_level = 1 - alpha`` (keyword only).

    Notes
    -----
    Howard, Ramdas, McAuliffe and Sekhon (2021), the tuning of the normal
    mixture for a target intrinsic time (an approximate minimiser of the
    boundary at ``v_opt``); the one-sided version doubles ``alpha`` inside the
    logarithms, as confseq's one-sided mixture does. (Equation numbers are
    not quoted: they differ between the arXiv and journal versions.) Reproduces confseq's
    ``best_rho(100, 0.05) = 12.60056`` (see ``tests/reference_cases.json``).

    Examples
    --------
    >>> round(float(normal_mixture_rho(100.0, confidence_level=0.95)), 5)
    12.60056
    """
    v = np.asarray(v_opt, dtype=np.float64)
    two_sided = check_alternative(alternative) == "two-sided"
    err = level_from(confidence_level, alpha, default=0.95)
    a = np.asarray(err, dtype=np.float64) * (1.0 if two_sided else 2.0)
    log_inv = 2.0 * np.log(1.0 / a)
    return scalar_or_array(v / (log_inv + np.log1p(log_inv)))


def normal_mixture_log_e(
    s: ArrayLike, v: ArrayLike, rho: ArrayLike, *, alternative: str = "two-sided"
) -> Any:
    """The log of Robbins' normal-mixture martingale at ``(s, v)``.

    Two-sided (mixing ``lambda ~ N(0, 1/rho)``)::

        log m(s, v) = 1/2 log(rho / (v + rho)) + s**2 / (2 (v + rho))

    One-sided, ``alternative="greater"`` (mixing over ``lambda >= 0`` with the
    half-normal: evidence that the sum drifts upwards)::

        log m(s, v) = 1/2 log(4 rho / (v + rho)) + s**2 / (2 (v + rho))
                      + log Phi(s / sqrt(v + rho))

    and ``alternative="less"`` its mirror image (``lambda <= 0``; ``Phi(-s /
    sqrt(v + rho))``). For a sum ``s = S_n - n mu`` of sub-Gaussian increments
    with variance process ``v``, ``m`` is a nonnegative supermartingale with
    initial value 1, so by Ville's inequality ``P(exists n: m >= 1/alpha) <= alpha``.

    Notes
    -----
    Robbins (1970); Howard et al. (2021), the normal-mixture boundaries
    (two-sided and one-sided) of their sub-Gaussian mixture section. Reproduces
    confseq's ``log_superMG(10, 100)`` values (``tests/reference_cases.json``).

    Examples
    --------
    >>> rho = normal_mixture_rho(100.0, confidence_level=0.95)
    >>> round(float(normal_mixture_log_e(10.0, 100.0, rho)), 7)
    -0.6510052
    """
    s_ = np.asarray(s, dtype=np.float64)
    vr = np.asarray(v, dtype=np.float64) + np.asarray(rho, dtype=np.float64)
    r = np.asarray(rho, dtype=np.float64)
    side = check_alternative(alternative)
    out = 0.5 * np.log(r / vr) + s_ * s_ / (2.0 * vr)
    if side != "two-sided":
        z = s_ / np.sqrt(vr)
        out = out + math.log(2.0) + special.log_ndtr(z if side == "greater" else -z)
    return scalar_or_array(np.asarray(out, dtype=np.float64))


def normal_mixture_bound(
    v: ArrayLike,
    rho: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    alternative: str = "two-sided",
    alpha: ArrayLike | None = None,
) -> Any:
    """The normal-mixture uniform boundary: the ``s`` where ``m(s, v) = 1/alpha``.

    ``alpha = 1 - confidence_level`` (required, keyword only; each value in
    (0, 1)): the sum stays within the boundary at all times with probability
    at least ``confidence_level``. The deprecated keyword ``alpha`` gives the
    error level directly.

    Two-sided, in closed form: ``sqrt((v + rho) log((v + rho) / (rho alpha**2)))``
    (the boundary of ``|s|``). ``alternative="greater"``: the root of ``log m(s,
    v) = log(1/alpha)``, found by bisection between 0 and the two-sided bound
    (which bounds it: the one-sided mixture is at least the two-sided one for
    ``s >= 0``); ``"less"``: its negative, the lower boundary.

    Examples
    --------
    >>> rho = normal_mixture_rho(100.0, confidence_level=0.95)
    >>> round(float(normal_mixture_bound(100.0, rho, confidence_level=0.95)), 5)
    30.35209
    >>> rho1 = normal_mixture_rho(100.0, confidence_level=0.95, alternative="greater")
    >>> b1 = normal_mixture_bound(100.0, rho1, confidence_level=0.95, alternative="greater")
    >>> round(float(b1), 5)
    27.66071
    """
    side = check_alternative(alternative)
    v_, a_, r_ = np.broadcast_arrays(
        np.asarray(v, dtype=np.float64),
        np.asarray(level_from(confidence_level, alpha, default=None), dtype=np.float64),
        np.asarray(rho, dtype=np.float64),
    )
    vr = v_ + r_
    two = np.sqrt(vr * np.log(vr / (r_ * a_ * a_)))
    if side == "two-sided":
        return scalar_or_array(np.asarray(two, dtype=np.float64))
    target = np.log(1.0 / a_)
    lo = np.zeros_like(two)
    hi = np.array(two, dtype=np.float64)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        above = np.asarray(normal_mixture_log_e(mid, v_, r_, alternative="greater")) >= target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return scalar_or_array(np.asarray(hi if side == "greater" else -hi, dtype=np.float64))


# --------------------------------------------------------------------------- mixture SPRT


def msprt_normal_log_e(
    mean: ArrayLike, n: ArrayLike, sigma2: ArrayLike, tau2: ArrayLike, theta0: ArrayLike = 0.0
) -> Any:
    """Johari et al.'s mixture SPRT statistic ``log Lambda_n`` for a Gaussian mean.

    ``Lambda_n = sqrt(sigma2 / (sigma2 + n tau2)) *
    exp(n**2 tau2 (mean - theta0)**2 / (2 sigma2 (sigma2 + n tau2)))``: the
    likelihood ratio of ``N(theta, sigma2)`` data mixed over ``theta ~
    N(theta0, tau2)`` against ``theta = theta0``. For two streams observed in
    pairs (equal allocation), pass the mean of the paired differences and
    ``sigma2`` = the variance of a difference (``2 sigma**2`` for equal
    variances). The always-valid p-value is ``min(1, 1 / max_k Lambda_k)``
    (a running minimum).

    It is the two-sided normal mixture of :func:`normal_mixture_log_e` with
    ``s = n (mean - theta0)``, ``v = n sigma2`` and ``rho = sigma2**2 / tau2``.

    Notes
    -----
    Johari, Koomen, Pekelis and Walsh (2022), "Always valid inference",
    Operations Research 70(3): the mixture SPRT with a normal mixing
    distribution and its always-valid p-value; the choice ``tau2 = sigma2 / rho`` with
    ``rho = normal_mixture_rho(n_horizon)`` tunes the mixture for an expected
    horizon (they tune the mixing variance to an expected sample size likewise).

    Examples
    --------
    >>> round(float(msprt_normal_log_e(0.3, 100, 1.0, 0.1)), 10)
    2.8919614545
    """
    m = np.asarray(mean, dtype=np.float64) - np.asarray(theta0, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    s2 = np.asarray(sigma2, dtype=np.float64)
    t2 = np.asarray(tau2, dtype=np.float64)
    den = s2 + n_ * t2
    out = 0.5 * np.log(s2 / den) + n_ * n_ * t2 * m * m / (2.0 * s2 * den)
    return scalar_or_array(np.asarray(out, dtype=np.float64))


@attrs.frozen(kw_only=True)
class MsprtTwoSampleResult(TupleResult):
    """The two-sample mSPRT at one look (:func:`msprt_two_sample`).

    Unpacks like the tuple it replaced: ``log_lambda, lower, upper = result``.

    Attributes
    ----------
    log_lambda : float or ndarray
        The mixture likelihood ratio ``log Lambda`` against ``theta0``.
    lower, upper : float or ndarray
        The always-valid interval ``{theta0 : Lambda < 1/alpha}``.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("log_lambda", "lower", "upper")

    log_lambda: Any = attrs.field(eq=ARRAY_EQ)
    lower: Any = attrs.field(eq=ARRAY_EQ)
    upper: Any = attrs.field(eq=ARRAY_EQ)


def msprt_two_sample(
    estimate: ArrayLike,
    variance: ArrayLike,
    tau2: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    theta0: ArrayLike = 0.0,
    alpha: ArrayLike | None = None,
) -> MsprtTwoSampleResult:
    """Johari et al.'s two-sample mSPRT: log Lambda and the always-valid interval.

    ``alpha = 1 - confidence_level`` (required, keyword only; each value in
    (0, 1)): the interval covers the contrast at all looks with probability
    at least ``confidence_level``. The deprecated keyword ``alpha`` gives the
    error level directly.

    For an estimate ``theta_hat`` of a contrast (a difference of two means
    or rates, or ``mean_c - r mean_b`` for a relative margin) with variance
    ``V`` (``s_c**2 / n_c + s_b**2 / n_b``, plug-in for rates and for
    unknown variances)::

        log Lambda = 1/2 log(V / (V + tau2)) + tau2 (theta_hat - theta0)**2 / (2 V (V + tau2))

    and the interval ``{theta0 : Lambda < 1/alpha}`` is ``theta_hat ± sqrt(2
    V (V + tau2) / tau2 * (log(1/alpha) + 1/2 log((V + tau2) / V)))``.
    With equal sample sizes and ``V = 2 sigma**2 / n`` it is
    :func:`msprt_normal_log_e` on the paired differences.

    ``tau2`` must not depend on the data of the current look: choose it once
    (:class:`~canarystats.methods.sequential.SequentialMethod` fixes it at the first look
    after its burn-in, as ``1 / normal_mixture_rho(1 / V_h, confidence_level=1 - alpha)``
    with ``V_h`` the variance expected at ``n_opt`` requests per version).

    Returns
    -------
    MsprtTwoSampleResult
        ``log_lambda``, ``lower`` and ``upper``, floats or arrays of the
        broadcast shape.

    Notes
    -----
    Johari, Koomen, Pekelis and Walsh (2022): the mSPRT with a normal mixture
    for two-sample comparisons (their treatment of unequal arms and of
    Bernoulli data through the central limit theorem); exact for Gaussian
    data with known variances, approximately valid with plug-in variances.

    Examples
    --------
    >>> ll, lo, hi = msprt_two_sample(0.3, 0.02, 0.1, confidence_level=0.95)
    >>> round(float(ll), 10) == round(float(msprt_normal_log_e(0.3, 100, 2.0, 0.1)), 10)
    True
    """
    th = np.asarray(estimate, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    t2 = np.asarray(tau2, dtype=np.float64)
    a = np.asarray(level_from(confidence_level, alpha, default=None), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = th - np.asarray(theta0, dtype=np.float64)
        log_l = 0.5 * np.log(v / (v + t2)) + t2 * d * d / (2.0 * v * (v + t2))
        half = np.sqrt(2.0 * v * (v + t2) / t2 * (np.log(1.0 / a) + 0.5 * np.log((v + t2) / v)))
    return MsprtTwoSampleResult(
        log_lambda=scalar_or_array(np.asarray(log_l, dtype=np.float64)),
        lower=scalar_or_array(np.asarray(th - half, dtype=np.float64)),
        upper=scalar_or_array(np.asarray(th + half, dtype=np.float64)),
    )


# --------------------------------------------------------------------------- Bernoulli


def beta_binomial_log_e(
    successes: ArrayLike, n: ArrayLike, p: ArrayLike, *, a: float = 0.5, b: float = 0.5
) -> Any:
    """The log Beta-mixture martingale of a Bernoulli rate at ``p``.

    ``log M_n(p) = log B(a + S, b + n - S) - log B(a, b) - S log p
    - (n - S) log(1 - p)``: the Beta(a, b) mixture of the likelihood ratios
    ``(q/p)**S ((1-q)/(1-p))**(n-S)``, a nonnegative martingale with initial
    value 1 when the data are i.i.d. Bernoulli(p); ``{p: M_n(p) < 1/alpha}``
    is therefore a ``1 - alpha`` confidence sequence (exact at every n).

    Notes
    -----
    Robbins (1970); Howard et al. (2021) give the beta-binomial mixture in
    sub-Bernoulli form; here it is the exact Bernoulli likelihood ratio mixed
    over a Beta(a, b) prior (default Jeffreys' Beta(1/2, 1/2)).

    Examples
    --------
    >>> round(float(beta_binomial_log_e(30, 100, 0.5)), 10)
    5.6970940444
    """
    s = np.asarray(successes, dtype=np.float64)
    n_ = np.asarray(n, dtype=np.float64)
    p_ = np.asarray(p, dtype=np.float64)
    f = n_ - s
    with np.errstate(divide="ignore"):
        out = (
            special.betaln(a + s, b + f)
            - special.betaln(a, b)
            - special.xlogy(s, p_)
            - special.xlog1py(f, -p_)
        )
    return scalar_or_array(np.asarray(out, dtype=np.float64))


# --------------------------------------------------------------------------- multinomial


def multinomial_log_e(counts: ArrayLike, theta0: ArrayLike, *, k: float = 100.0) -> Any:
    """Lindon and Malek's Dirichlet-multinomial log Bayes factor against ``theta0``.

    ``log BF = log Gamma(K) - log Gamma(K + n) + sum_i [log Gamma(a_i + x_i)
    - log Gamma(a_i)] - sum_i x_i log theta0_i`` with ``a = k theta0``,
    ``K = k`` and ``n = sum x``: a test martingale under ``theta0``, so
    ``min(1, 1/max BF)`` is an anytime-valid p-value. The last axis holds the
    categories (versions); counts are cumulative, with a fixed ``theta0``.

    Notes
    -----
    Lindon and Malek (2022), "Anytime-valid inference for multinomial count
    data", NeurIPS: the Dirichlet-multinomial Bayes factor with prior
    Dirichlet(k theta0) and its test-martingale property. Reproduces savvi's
    example (``tests/reference_cases.json``).

    Examples
    --------
    >>> round(float(np.exp(-multinomial_log_e([40, 129, 233], [0.1, 0.4, 0.5]))), 12)
    0.04845591106
    """
    x = np.asarray(counts, dtype=np.float64)
    t = np.asarray(theta0, dtype=np.float64)
    alpha0 = k * t
    if t.ndim >= 1 and t.size == t.shape[-1] and x.ndim >= 1 and x.shape[-1] == t.shape[-1]:
        # one theta0 for the whole batch: columns (a reduction over a short last axis is slow)
        flat = alpha0.reshape(-1)
        n = x[..., 0].copy()
        for i in range(1, x.shape[-1]):
            n += x[..., i]
        lookup = _lgamma_lookup(x, n, flat, k)
        if lookup is not None:
            return scalar_or_array(lookup)
    else:
        n = x.sum(axis=-1)
    out = (
        special.gammaln(k)
        - special.gammaln(k + n)
        + np.sum(special.gammaln(alpha0 + x) - special.gammaln(alpha0), axis=-1)
        - np.sum(special.xlogy(x, t), axis=-1)
    )
    return scalar_or_array(np.asarray(out, dtype=np.float64))


_LOOKUP_MIN = 100_000  # below this many cells, gammaln directly is as fast

_LOOKUP_MAX = 4_000_000  # largest count tabulated


def _lgamma_lookup(x: _F, n: _F, alpha0: _F, k: float) -> _F | None:
    """The log Bayes factor by table look-up, for many integer counts and one shared theta0.

    ``log Gamma(a + x)`` for integer ``x`` is read from a table of ``gammaln(a + j)``, ``j =
    0..max(n)``, one per category (the values are gammaln's own, so the result is identical).
    Returns None when it does not apply.
    """
    if x.size < _LOOKUP_MIN or alpha0.ndim != 1 or alpha0.shape[0] != x.shape[-1]:
        return None
    top = float(np.max(n)) if n.size else 0.0
    if not (np.isfinite(top) and 0 <= top <= _LOOKUP_MAX) or np.min(x) < 0:
        return None
    xi = x.astype(np.int64)
    if not np.array_equal(xi, x):
        return None
    j = np.arange(int(top) + 1, dtype=np.float64)
    out = np.take(special.gammaln(k) - special.gammaln(k + j), n.astype(np.int64))
    for i, a in enumerate(alpha0):
        table = special.gammaln(a + j) - special.gammaln(a) - special.xlogy(j, a / k)
        out += np.take(table, xi[..., i])
    return np.asarray(out, dtype=np.float64)
