"""Anytime-valid sequential criteria: confidence sequences and mixture e-values.

A canary rollout looks at its metrics at every assessment and acts on each
look. A fixed-horizon test consulted again and again passes bad candidates far
more often than its nominal level; the tests here keep their error
guarantees under such continuous monitoring ("anytime-valid"): for every
stopping rule, ``P(ever wrong) <= 1 - confidence``.

Building blocks (all elementwise and broadcasting over any batch shape):

- :func:`normal_mixture_log_e` and :func:`normal_mixture_bound`: Robbins'
  normal-mixture boundary, one- or two-sided, with the mixing precision
  ``rho`` tuned for a target intrinsic time by :func:`normal_mixture_rho`
  (Howard, Ramdas, McAuliffe and Sekhon 2021).
- :func:`msprt_normal_log_e`: Johari, Pekelis and Walsh's mixture SPRT for a
  Gaussian mean (or a paired difference of two means) with the always-valid
  p-value ``min(1, 1 / max Lambda)``; the same martingale in their notation.
- :func:`beta_binomial_log_e` and :func:`bernoulli_cs`: the Beta-mixture
  martingale of a Bernoulli rate and its confidence sequence (exact, any n).
- :func:`normal_mean_cs`: a confidence sequence for a mean from running sums,
  with a plug-in standard deviation.
- :func:`multinomial_log_e`, :func:`multinomial_pvalue` and
  :func:`multinomial_cs`: Lindon and Malek's Dirichlet-multinomial mixture
  test of counts split between versions (a sample-ratio-mismatch test).
- :func:`rate_ratio_test` (:class:`RateRatioResult`): their point-process test
  of a rate ratio with the allocation changing at every look, with p-values
  and a confidence sequence; :func:`srm_test` and :class:`SampleRatioGuard`:
  the sample-ratio-mismatch check against a changing intended split.
- :func:`msprt_two_sample`: Johari et al.'s two-sample mSPRT and its
  always-valid interval (differences of means or rates, plug-in variances).
- :func:`quantile_cs` (raw samples) and :func:`quantile_cs_buckets` (histogram
  buckets, conservatively): anytime-valid bounds on a quantile, for one
  quantile (a one-sided Beta mixture) or every quantile at once (Howard and
  Ramdas' time-uniform DKW band, :func:`dkw_radius`); :func:`quantile_ranks`
  gives the order-statistic ranks behind both.

:class:`SequentialMethod` wires them into criteria as ``method="sequential"``;
see its docstring for what each kind of metric uses.

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
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats._arrays import array_field
from canarystats.errors import SpecError
from canarystats.observations import Observations, Reason, Verdict
from canarystats.spec import Criterion, check_param_shape
from canarystats.tolerances import _missing_moments, _warn_bad, register_method

__all__ = [
    "QUANTILE_BOUNDS",
    "SEQUENTIAL_TESTS",
    "RateRatioResult",
    "SampleRatioGuard",
    "SampleRatioState",
    "SequentialMethod",
    "SequentialState",
    "bernoulli_cs",
    "beta_binomial_log_e",
    "dkw_radius",
    "msprt_normal_log_e",
    "msprt_two_sample",
    "multinomial_cs",
    "multinomial_log_e",
    "multinomial_pvalue",
    "normal_mean_cs",
    "normal_mixture_bound",
    "normal_mixture_log_e",
    "normal_mixture_rho",
    "quantile_cs",
    "quantile_cs_buckets",
    "quantile_ranks",
    "rate_ratio_test",
    "srm_test",
]

_F = NDArray[np.float64]
_I8 = np.int8
_BISECT = 64  # bisection steps: brackets shrink below double resolution


def _scalar_or_array(x: _F) -> Any:
    """0-d results come back as numpy scalars."""
    return x[()] if x.ndim == 0 else x




# --------------------------------------------------------------------------- normal mixture


def normal_mixture_rho(
    v_opt: ArrayLike, alpha: ArrayLike = 0.05, *, one_sided: bool = False
) -> Any:
    """The mixing precision that makes the normal-mixture boundary tightest at ``v_opt``.

    ``rho = v_opt / (2 log(1/a) + log(1 + 2 log(1/a)))`` with ``a = alpha``
    for the two-sided boundary and ``a = 2 alpha`` for the one-sided one.

    Parameters
    ----------
    v_opt : array_like of float
        The intrinsic time (variance process, ``n * sigma**2``; ``n`` for a
        standardised sum) at which the boundary should be tightest.
    alpha : array_like of float, default 0.05
        The crossing probability the boundary is tuned for.
    one_sided : bool, default False

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
    >>> round(float(normal_mixture_rho(100.0, 0.05)), 5)
    12.60056
    """
    v = np.asarray(v_opt, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64) * (2.0 if one_sided else 1.0)
    log_inv = 2.0 * np.log(1.0 / a)
    return _scalar_or_array(v / (log_inv + np.log1p(log_inv)))


def normal_mixture_log_e(
    s: ArrayLike, v: ArrayLike, rho: ArrayLike, *, one_sided: bool = False
) -> Any:
    """The log of Robbins' normal-mixture martingale at ``(s, v)``.

    Two-sided (mixing ``lambda ~ N(0, 1/rho)``)::

        log m(s, v) = 1/2 log(rho / (v + rho)) + s**2 / (2 (v + rho))

    One-sided (mixing over ``lambda >= 0`` with the half-normal)::

        log m(s, v) = 1/2 log(4 rho / (v + rho)) + s**2 / (2 (v + rho))
                      + log Phi(s / sqrt(v + rho))

    For a sum ``s = S_n - n mu`` of sub-Gaussian increments with variance
    process ``v``, ``m`` is a nonnegative supermartingale with initial value 1,
    so by Ville's inequality ``P(exists n: m >= 1/alpha) <= alpha``.

    Notes
    -----
    Robbins (1970); Howard et al. (2021), the normal-mixture boundaries
    (two-sided and one-sided) of their sub-Gaussian mixture section. Reproduces
    confseq's ``log_superMG(10, 100)`` values (``tests/reference_cases.json``).

    Examples
    --------
    >>> rho = normal_mixture_rho(100.0, 0.05)
    >>> round(float(normal_mixture_log_e(10.0, 100.0, rho)), 7)
    -0.6510052
    """
    s_ = np.asarray(s, dtype=np.float64)
    vr = np.asarray(v, dtype=np.float64) + np.asarray(rho, dtype=np.float64)
    r = np.asarray(rho, dtype=np.float64)
    out = 0.5 * np.log(r / vr) + s_ * s_ / (2.0 * vr)
    if one_sided:
        out = out + math.log(2.0) + special.log_ndtr(s_ / np.sqrt(vr))
    return _scalar_or_array(np.asarray(out, dtype=np.float64))


def normal_mixture_bound(
    v: ArrayLike, alpha: ArrayLike, rho: ArrayLike, *, one_sided: bool = False
) -> Any:
    """The normal-mixture uniform boundary: the ``s`` where ``m(s, v) = 1/alpha``.

    Two-sided, in closed form: ``sqrt((v + rho) log((v + rho) / (rho alpha**2)))``.
    One-sided: the root of ``log m(s, v) = log(1/alpha)``, found by bisection
    between 0 and the two-sided bound (which bounds it: the one-sided mixture
    is at least the two-sided one for ``s >= 0``).

    Examples
    --------
    >>> rho = normal_mixture_rho(100.0, 0.05)
    >>> round(float(normal_mixture_bound(100.0, 0.05, rho)), 5)
    30.35209
    >>> rho1 = normal_mixture_rho(100.0, 0.05, one_sided=True)
    >>> round(float(normal_mixture_bound(100.0, 0.05, rho1, one_sided=True)), 5)
    27.66071
    """
    v_, a_, r_ = np.broadcast_arrays(
        np.asarray(v, dtype=np.float64),
        np.asarray(alpha, dtype=np.float64),
        np.asarray(rho, dtype=np.float64),
    )
    vr = v_ + r_
    two = np.sqrt(vr * np.log(vr / (r_ * a_ * a_)))
    if not one_sided:
        return _scalar_or_array(np.asarray(two, dtype=np.float64))
    target = np.log(1.0 / a_)
    lo = np.zeros_like(two)
    hi = np.array(two, dtype=np.float64)
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        above = np.asarray(normal_mixture_log_e(mid, v_, r_, one_sided=True)) >= target
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return _scalar_or_array(np.asarray(hi, dtype=np.float64))


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
    return _scalar_or_array(np.asarray(out, dtype=np.float64))


def normal_mean_cs(
    total: ArrayLike,
    n: ArrayLike,
    sd: ArrayLike,
    alpha: ArrayLike,
    *,
    n_opt: ArrayLike = 1000.0,
    one_sided: bool = False,
) -> tuple[Any, Any]:
    """A normal-mixture confidence sequence for a mean, from a running sum.

    ``mean ± sd * u(n) / n`` with ``u`` the normal-mixture boundary in
    standardised units (intrinsic time ``n``, ``rho`` tuned for ``n_opt``).
    With ``one_sided=True`` each of the two bounds alone holds with
    probability ``1 - alpha`` at all times (use them separately); otherwise
    the interval does.

    Valid for i.i.d. sub-Gaussian data with known scale ``sd``; with a plug-in
    ``sd`` (the running sample standard deviation) it is only approximately
    valid, which is why :class:`SequentialMethod` uses a burn-in.

    Returns
    -------
    lower, upper : ndarray of float
        NaN where ``n <= 0``.

    Examples
    --------
    >>> lo, hi = normal_mean_cs(10.0, 100.0, 1.0, 0.05, n_opt=100.0)
    >>> round(float(hi - 0.1), 7)   # 30.35209 / 100, the two-sided bound at v = 100
    0.3035209
    """
    n_ = np.asarray(n, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)
    rho = normal_mixture_rho(n_opt, a, one_sided=one_sided)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.asarray(normal_mixture_bound(np.maximum(n_, 0.0), a, rho, one_sided=one_sided))
        half = np.asarray(sd, dtype=np.float64) * u / n_
        mean = np.asarray(total, dtype=np.float64) / n_
        ok = n_ > 0
        lower = np.where(ok, mean - half, np.nan)
        upper = np.where(ok, mean + half, np.nan)
    return _scalar_or_array(lower), _scalar_or_array(upper)


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
    return _scalar_or_array(np.asarray(out, dtype=np.float64))


def bernoulli_cs(
    successes: ArrayLike, n: ArrayLike, alpha: ArrayLike, *, a: float = 0.5, b: float = 0.5
) -> tuple[Any, Any]:
    """The Beta-mixture confidence sequence ``{p: M_n(p) < 1/alpha}`` of a rate.

    ``log M_n(p)`` is convex in ``p`` with its minimum at the sample rate, where
    it is at most 0, so the set is an interval; its ends are found by
    bisection (64 halvings of ``[0, S/n]`` and ``[S/n, 1]``). For ``n = 0``
    it is ``[0, 1]``.

    Examples
    --------
    >>> lo, hi = bernoulli_cs(30, 100, 0.05)
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.165652, 0.46284)
    """
    s, n_, al = np.broadcast_arrays(
        np.asarray(successes, dtype=np.float64),
        np.asarray(n, dtype=np.float64),
        np.asarray(alpha, dtype=np.float64),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = np.where(n_ > 0, s / n_, 0.5)
    target = np.log(1.0 / al)
    const = special.betaln(a + s, b + n_ - s) - special.betaln(a, b)

    def inside(p: _F) -> NDArray[np.bool_]:
        with np.errstate(divide="ignore"):
            val = const - special.xlogy(s, p) - special.xlog1py(n_ - s, -p)
        return np.asarray(val < target)

    lo_a, lo_b = np.zeros_like(phat), np.array(phat)  # lower end in [lo_a, lo_b]
    hi_a, hi_b = np.array(phat), np.ones_like(phat)  # upper end in [hi_a, hi_b]
    for _ in range(_BISECT):
        mid = 0.5 * (lo_a + lo_b)
        ins = inside(mid)
        lo_b = np.where(ins, mid, lo_b)
        lo_a = np.where(ins, lo_a, mid)
        mid = 0.5 * (hi_a + hi_b)
        ins = inside(mid)
        hi_a = np.where(ins, mid, hi_a)
        hi_b = np.where(ins, hi_b, mid)
    lower = np.where(inside(np.zeros_like(phat)), 0.0, lo_a)
    upper = np.where(inside(np.ones_like(phat)), 1.0, hi_b)
    bad = ~(n_ >= s) | ~(s >= 0)
    lower = np.where(bad, np.nan, lower)
    upper = np.where(bad, np.nan, upper)
    return _scalar_or_array(lower), _scalar_or_array(upper)


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
            return _scalar_or_array(lookup)
    else:
        n = x.sum(axis=-1)
    out = (
        special.gammaln(k)
        - special.gammaln(k + n)
        + np.sum(special.gammaln(alpha0 + x) - special.gammaln(alpha0), axis=-1)
        - np.sum(special.xlogy(x, t), axis=-1)
    )
    return _scalar_or_array(np.asarray(out, dtype=np.float64))


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


def multinomial_pvalue(counts: ArrayLike, theta0: ArrayLike, *, k: float = 100.0) -> Any:
    """Running anytime-valid p-values along a stream of cumulative counts.

    Parameters
    ----------
    counts : array_like of float, shape (..., n_looks, n_categories)
        Cumulative counts at each look (axis -2), categories last.
    theta0 : array_like of float, shape (..., n_categories)
        The null probabilities (the intended traffic split).
    k : float, default 100
        The Dirichlet concentration.

    Returns
    -------
    ndarray of float, shape (..., n_looks)
        ``min(1, 1 / max_{j <= i} BF_j)``: non-increasing along the looks.

    Examples
    --------
    >>> multinomial_pvalue([[10, 10], [50, 20], [200, 60]], [0.5, 0.5]).round(6).tolist()
    [1.0, 0.08977, 0.0]
    """
    x = np.asarray(counts, dtype=np.float64)
    t = np.asarray(theta0, dtype=np.float64)[..., None, :]
    log_e = np.asarray(multinomial_log_e(x, t, k=k))
    running = np.maximum.accumulate(np.maximum(log_e, 0.0), axis=-1)
    return np.exp(-running)


def multinomial_cs(
    counts: ArrayLike, theta0: ArrayLike, alpha: ArrayLike, *, k: float = 100.0
) -> tuple[Any, Any]:
    """Marginal intervals of the Dirichlet-multinomial confidence set, per category.

    The confidence set at one look is ``{theta: BF(theta) < 1/alpha}`` with the
    prior kept at ``Dirichlet(k theta0)``, i.e. ``sum_j x_j log theta_j >
    log m(x) + log(alpha)`` with ``m`` the Dirichlet-multinomial marginal
    likelihood. For category ``i`` the extreme ``theta_i`` puts the other
    categories in proportion to their counts, which leaves a one-dimensional
    binomial likelihood in ``theta_i``, solved by bisection. A stream's
    confidence sequence is the running intersection of these sets.

    Returns
    -------
    lower, upper : ndarray of float, shape of ``counts``

    Notes
    -----
    Lindon and Malek (2022): the confidence sequence by inverting the
    e-value. savvi reports the running intersection over its
    example's looks, which is contained in this single-look set.
    """
    x = np.asarray(counts, dtype=np.float64)
    t = np.broadcast_to(np.asarray(theta0, dtype=np.float64), x.shape)
    al = np.asarray(alpha, dtype=np.float64)[..., None]
    n = x.sum(axis=-1, keepdims=True)
    log_m = (np.asarray(multinomial_log_e(x, t, k=k)) + np.sum(special.xlogy(x, t), axis=-1))[
        ..., None
    ]
    rest = n - x
    with np.errstate(invalid="ignore", divide="ignore"):
        # the other categories' best log likelihood, given theta_i
        others = np.sum(special.xlogy(x, x), axis=-1, keepdims=True) - special.xlogy(x, x)
        others = others - special.xlogy(rest, rest)
        phat = np.where(n > 0, x / n, 0.5)
    floor = log_m + np.log(al) - others

    def inside(q: _F) -> NDArray[np.bool_]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(special.xlogy(x, q) + special.xlog1py(rest, -q) > floor)

    lo_a, lo_b = np.zeros_like(phat), np.array(phat)
    hi_a, hi_b = np.array(phat), np.ones_like(phat)
    for _ in range(_BISECT):
        mid = 0.5 * (lo_a + lo_b)
        ins = inside(mid)
        lo_b, lo_a = np.where(ins, mid, lo_b), np.where(ins, lo_a, mid)
        mid = 0.5 * (hi_a + hi_b)
        ins = inside(mid)
        hi_a, hi_b = np.where(ins, mid, hi_a), np.where(ins, hi_b, mid)
    lower = np.where(inside(np.zeros_like(phat)), 0.0, lo_a)
    upper = np.where(inside(np.ones_like(phat)), 1.0, hi_b)
    return _scalar_or_array(lower), _scalar_or_array(upper)


# --------------------------------------------------------------------------- point processes


def _shift_beta(a: _F, b: _F, c: _F) -> tuple[_F, _F]:
    """Move a Beta(a, b) on a share to the share whose log-odds are shifted by ``c``.

    Matches the normal approximation of the log-odds: its mean ``log(a/b)``
    moves by ``c`` and its variance ``1/a + 1/b`` is kept. The identity when
    ``c = 0``, and shifting by ``c`` then ``-c`` returns ``(a, b)`` exactly.
    """
    log_s = np.log(a) - np.log(b) + c
    v = 1.0 / a + 1.0 / b
    return (1.0 + np.exp(log_s)) / v, (1.0 + np.exp(-log_s)) / v


def _pp_step(
    a: _F, b: _F, alloc: _F, x: _F, y: _F, w: _F, ratio: _F, k: float
) -> tuple[_F, _F, _F, _F, _F]:
    """One interval of the point-process test, elementwise.

    ``x``, ``y``: the candidate's and the baseline's events in the interval;
    ``w``: the candidate's share of the exposure in the interval; ``(a, b,
    alloc)``: the Beta mixing distribution of the candidate's share of events
    at allocation ``alloc`` (NaN before the first informative interval).
    Returns the new ``(a, b, alloc)``, the interval's log predictive ratio
    and its score (derivative of the log likelihood in ``log ratio``) at ``ratio``.
    """
    m = x + y
    informative = (m > 0) & (w > 0) & (w < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pi0 = w * ratio / (1.0 - w + w * ratio)
        first = np.isnan(alloc)
        a0 = np.where(first, k * pi0, a)
        b0 = np.where(first, k * (1.0 - pi0), b)
        c = np.where(first, 0.0, special.logit(w) - special.logit(alloc))
        a1, b1 = _shift_beta(a0, b0, c)
        log_f = (
            special.betaln(a1 + x, b1 + y)
            - special.betaln(a1, b1)
            - special.xlogy(x, pi0)
            - special.xlog1py(y, -pi0)
        )
        score = x - m * pi0
    return (
        np.where(informative, a1 + x, a),
        np.where(informative, b1 + y, b),
        np.where(informative, w, alloc),
        np.where(informative, log_f, 0.0),
        np.where(informative, score, 0.0),
    )


def _increments(cumulative: _F) -> _F:
    """Per-interval increments of cumulative counts along axis -2."""
    first = cumulative[..., :1, :]
    return np.concatenate([first, np.diff(cumulative, axis=-2)], axis=-2)


@attrs.frozen(kw_only=True)
class RateRatioResult:
    """Lindon and Malek's point-process test along looks (see :func:`rate_ratio_test`).

    Attributes
    ----------
    log_e : ndarray of float, shape (..., n_looks)
        The log e-value against ``rate ratio == ratio`` at each look.
    pvalue : ndarray of float, shape (..., n_looks)
        The anytime-valid p-value ``min(1, 1 / max_{j <= i} e_j)``: non-increasing.
    ratio : float
        The null rate ratio (candidate / baseline).
    k : float
        The Dirichlet (Beta) concentration.
    """

    log_e: _F
    pvalue: _F
    ratio: float
    k: float
    _events: _F = attrs.field(repr=False, alias="events")
    _exposure: _F = attrs.field(repr=False, alias="exposure")
    _log_q: _F = attrs.field(repr=False, alias="log_q")

    def confidence_sequence(self, confidence_level: float = 0.95) -> tuple[Any, Any]:
        """The confidence sequence for the rate ratio: running intersections per look.

        At look ``T`` the set is ``{r : e_T(r) < 1/alpha}`` with the mixing
        distribution kept as it was built for the null ``ratio`` (as savvi
        inverts the Dirichlet test): ``e_T(r) = prod_t q_t / prod_t
        Binomial(x_t; m_t, pi_t(r))`` with ``pi_t(r) = w_t r / (1 - w_t + w_t
        r)``. The conditional log likelihood is concave in ``log r``, so the
        set is an interval, found by bisection (64 halvings in ``log r`` over
        ``[-30, 30]``; an end beyond is reported as 0 or ``inf``). The running
        intersection is returned; an empty set is NaN. Costs ``O(n_looks**2)``
        per stream.

        Returns
        -------
        lower, upper : ndarray of float, shape (..., n_looks)
        """
        alpha = 1.0 - float(confidence_level)
        inc = _increments(np.asarray(self._events, dtype=np.float64))
        exp_inc = _increments(np.asarray(self._exposure, dtype=np.float64))
        x, y = inc[..., 1], inc[..., 0]
        tot = exp_inc.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = exp_inc[..., 1] / tot
            lw = special.logit(w)
        ok = (x + y > 0) & (w > 0) & (w < 1)
        x, y, lw = np.where(ok, x, 0.0), np.where(ok, y, 0.0), np.where(ok, lw, 0.0)
        n_looks = x.shape[-1]
        floor = np.cumsum(self._log_q, axis=-1) - math.log(1.0 / alpha)
        lower = np.full(x.shape, np.nan)
        upper = np.full(x.shape, np.nan)
        big = 30.0
        for t in range(n_looks):
            xs, ys, ls = x[..., : t + 1], y[..., : t + 1], lw[..., : t + 1]
            fl = floor[..., t]

            def loglik(u: _F, xs: _F = xs, ys: _F = ys, ls: _F = ls) -> _F:
                z = u[..., None] + ls
                return np.asarray(
                    np.sum(xs * special.log_expit(z) + ys * special.log_expit(-z), axis=-1)
                )

            def score(u: _F, xs: _F = xs, ys: _F = ys, ls: _F = ls) -> _F:
                z = u[..., None] + ls
                return np.asarray(np.sum(xs - (xs + ys) * special.expit(z), axis=-1))

            # sum_t log q_t = log e_T(ratio) + loglik_T(ratio)
            fl = fl + loglik(np.full(fl.shape, math.log(self.ratio)))
            lo_u, hi_u = np.full(fl.shape, -big), np.full(fl.shape, big)
            for _ in range(_BISECT):  # the maximiser: the score decreases in u
                mid = 0.5 * (lo_u + hi_u)
                pos = score(mid) > 0
                lo_u, hi_u = np.where(pos, mid, lo_u), np.where(pos, hi_u, mid)
            top = 0.5 * (lo_u + hi_u)
            nonempty = loglik(top) > fl
            ends = []
            for side in (-1.0, 1.0):
                inner, outer = np.array(top), np.full(fl.shape, side * big)
                for _ in range(_BISECT):
                    mid = 0.5 * (inner + outer)
                    ins = loglik(mid) > fl
                    inner, outer = np.where(ins, mid, inner), np.where(ins, outer, mid)
                at_edge = loglik(np.full(fl.shape, side * big)) > fl
                ends.append(np.where(at_edge, side * np.inf, outer))
            lower[..., t] = np.where(nonempty, np.exp(ends[0]), np.nan)
            upper[..., t] = np.where(nonempty, np.exp(ends[1]), np.nan)
        lower = np.fmax.accumulate(lower, axis=-1)
        upper = np.fmin.accumulate(upper, axis=-1)
        return _scalar_or_array(lower), _scalar_or_array(upper)


def rate_ratio_test(
    events: ArrayLike, exposure: ArrayLike, *, ratio: float = 1.0, k: float = 100.0
) -> RateRatioResult:
    """Lindon and Malek's point-process test of a rate ratio, with changing allocation.

    Two versions' events (errors, or requests for a sample-ratio check) are
    modelled as Poisson processes whose intensities are proportional to each
    version's exposure (its requests, or its intended traffic share) times a
    common, arbitrary time-varying rate, with the candidate's rate ``r``
    times the baseline's. Given the events of an interval, the candidate's
    count is ``Binomial(m_t, pi_t(r))`` with ``pi_t(r) = w_t r / (1 - w_t +
    w_t r)`` and ``w_t`` the candidate's share of the interval's exposure, so
    conditioning removes the common rate (any daily pattern of traffic).

    The e-value against ``r = ratio`` multiplies the intervals' predictive
    ratios ``q_t(x_t) / Binomial(x_t; m_t, pi_t(ratio))``. ``q_t`` is the
    beta-binomial predictive of a Beta distribution of the candidate's share,
    started as Lindon and Malek's prior ``Beta(k pi_1, k (1 - pi_1))`` at the
    first allocation and updated by conjugacy; when the allocation changes,
    the Beta is moved to the new allocation by matching the mean and variance
    of its log-odds (shifted by the change in ``logit w``). Each factor has
    conditional expectation 1 under the null whatever ``q_t`` is, so the
    product is a test martingale and ``min(1, 1 / max e)`` an anytime-valid
    p-value. With a constant allocation it is exactly the Dirichlet-
    multinomial Bayes factor of :func:`multinomial_log_e` with ``theta0 = (1 -
    pi, pi)`` (so savvi's ``InhomogeneousPoissonProcess`` p-value for
    ``ratio = 1``).

    Parameters
    ----------
    events : array_like of float, shape (..., n_looks, 2)
        Cumulative events per look, baseline then candidate (rounded to
        integers by the caller; a decrease is not allowed).
    exposure : array_like of float, shape (..., n_looks, 2)
        Cumulative exposure per look (requests, or the sum over intervals of
        the intended traffic shares); only each interval's split is used.
    ratio : float, default 1
        The null rate ratio, candidate / baseline.
    k : float, default 100
        The concentration of the Beta (Dirichlet) mixing distribution.

    Returns
    -------
    RateRatioResult

    Notes
    -----
    Lindon and Malek (2022), the sequential test of multinomial counts and
    its application to time-inhomogeneous Poisson processes (canary tests
    with a multiplicative treatment effect). Deviation: their test assumes a
    fixed allocation; here the mixing distribution is carried across changes
    of allocation by the log-odds moment match above (a predictable choice,
    so validity is unaffected). For error counts of Bernoulli requests the
    conditional law given the interval's errors is Fisher's noncentral
    hypergeometric rather than the binomial; for rare errors the difference
    is negligible, and the calibration tests simulate Bernoulli requests.

    Examples
    --------
    >>> r = rate_ratio_test([[10, 10], [50, 20], [200, 60]], [[1, 1], [2, 2], [3, 3]])
    >>> r.pvalue.round(6).tolist()   # the 50/50 multinomial test, as multinomial_pvalue
    [1.0, 0.08977, 0.0]
    """
    ev = np.asarray(events, dtype=np.float64)
    ex = np.asarray(exposure, dtype=np.float64)
    ev, ex = np.broadcast_arrays(ev, ex)
    inc = _increments(ev)
    exp_inc = _increments(ex)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = exp_inc[..., 1] / exp_inc.sum(axis=-1)
    batch = inc.shape[:-2]
    a = np.full(batch, np.nan)
    b = np.full(batch, np.nan)
    alloc = np.full(batch, np.nan)
    r0 = np.full(batch, float(ratio))
    log_q = np.empty(inc.shape[:-1])
    for t in range(inc.shape[-2]):
        a, b, alloc, log_q[..., t], _ = _pp_step(
            a, b, alloc, inc[..., t, 1], inc[..., t, 0], w[..., t], r0, float(k)
        )
    log_e = np.cumsum(log_q, axis=-1)
    pvalue = np.exp(-np.maximum.accumulate(np.maximum(log_e, 0.0), axis=-1))
    return RateRatioResult(
        log_e=log_e, pvalue=pvalue, ratio=float(ratio), k=float(k),
        events=ev, exposure=ex, log_q=log_q,
    )


def srm_test(requests: ArrayLike, intended: ArrayLike, *, k: float = 100.0) -> RateRatioResult:
    """Sample-ratio mismatch along looks, with the intended split changing at every look.

    The requests each version received in each interval are tested against
    the split the router was told to apply in that interval: the point-process
    test of :func:`rate_ratio_test` with ratio 1, the requests as events and
    the intended shares as exposure. A small p-value means the router does
    not deliver the intended split (every other comparison is then suspect).

    Parameters
    ----------
    requests : array_like of float, shape (..., n_looks, 2)
        Cumulative requests per look, baseline then candidate.
    intended : array_like of float, shape (..., n_looks, 2)
        The intended split in force during each interval (percentages or
        fractions; not cumulative), e.g. the traffic of the previous step.

    Examples
    --------
    >>> r = srm_test([[900, 100], [1700, 300], [2300, 700]], [[90, 10], [80, 20], [60, 40]])
    >>> bool(r.pvalue[-1] > 0.05)
    True
    >>> r = srm_test([[900, 100], [1800, 200], [2700, 300]], [[90, 10], [80, 20], [60, 40]])
    >>> bool(r.pvalue[-1] < 1e-6)   # the candidate's share never grew
    True
    """
    share = np.asarray(intended, dtype=np.float64)
    share = share / share.sum(axis=-1, keepdims=True)
    return rate_ratio_test(requests, np.cumsum(share, axis=-2), ratio=1.0, k=k)


@attrs.frozen(kw_only=True)
class SampleRatioState:
    """State of :class:`SampleRatioGuard`, batch-leading arrays.

    Attributes
    ----------
    count : ndarray of float, shape (*batch, 2)
        The last valid cumulative requests (NaN before the first).
    beta : ndarray of float, shape (*batch, 3)
        The mixing Beta's ``(a, b)`` and the allocation it refers to.
    log_e : ndarray of float, shape (*batch,)
        The log e-value; ``pvalue`` is ``min(1, 1/max e)``.
    pvalue : ndarray of float, shape (*batch,)
        The running anytime-valid p-value (non-increasing).
    """

    count: _F = array_field()
    beta: _F = array_field()
    log_e: _F = array_field()
    pvalue: _F = array_field()


class SampleRatioGuard:
    """A sample-ratio-mismatch check at every assessment that can abort (criterion-like).

    ``init(batch_shape)`` and ``update(state, requests, intended)`` mirror the
    criterion-method protocol: ``update`` returns ``(state, verdict, reason,
    abort)``. The verdict is FAIL once the running p-value of :func:`srm_test`
    falls to ``1 - confidence`` (a mismatch: sticky, and an abort when
    ``abort_on_mismatch``), PASS otherwise ("no mismatch detected so far");
    bad data (NaN, negative or decreasing requests, an intended split that is
    not two nonnegative numbers with a positive sum) is INCONCLUSIVE with
    ``Reason.BAD_DATA`` or ``Reason.MISSING_VALUE`` and leaves the state
    unchanged. P(a false mismatch ever) <= 1 - confidence under any monitoring.

    Parameters
    ----------
    confidence : float, default 0.999
        A strict default: a false abort is costly.
    k : float, default 100
    abort_on_mismatch : bool, default True

    Examples
    --------
    >>> guard = SampleRatioGuard()
    >>> state = guard.init(())
    >>> for n, split in (([900, 100], [90, 10]), ([1800, 200], [80, 20]),
    ...                  ([2700, 300], [60, 40])):
    ...     state, verdict, reason, abort = guard.update(state, n, split)
    >>> int(verdict), bool(abort), bool(state.pvalue < 1e-6)
    (-1, True, True)
    """

    def __init__(
        self, *, confidence: float = 0.999, k: float = 100.0, abort_on_mismatch: bool = True
    ) -> None:
        if not 0.0 < confidence < 1.0:
            raise SpecError(f"`confidence` must be in (0, 1), got {confidence!r}")
        if not k > 0:
            raise SpecError(f"`k` must be > 0, got {k!r}")
        self.confidence = float(confidence)
        self.k = float(k)
        self.abort_on_mismatch = bool(abort_on_mismatch)

    def init(self, batch_shape: tuple[int, ...]) -> SampleRatioState:
        shape = tuple(batch_shape)
        return SampleRatioState(
            count=np.full((*shape, 2), np.nan),
            beta=np.full((*shape, 3), np.nan),
            log_e=np.zeros(shape),
            pvalue=np.ones(shape),
        )

    def update(
        self, state: SampleRatioState, requests: ArrayLike, intended: ArrayLike
    ) -> tuple[SampleRatioState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        n = np.asarray(requests, dtype=np.float64)
        share = np.broadcast_to(np.asarray(intended, dtype=np.float64), n.shape)
        batch = n.shape[:-1]
        if n.shape[-1:] != (2,):
            raise SpecError(f"`requests` must have shape (*batch, 2), got {n.shape}")
        with np.errstate(invalid="ignore", divide="ignore"):
            missing = np.isnan(n).any(axis=-1) | np.isnan(share).any(axis=-1)
            prev = np.where(np.isnan(state.count), 0.0, state.count)
            bad = ~missing & (
                np.isinf(n).any(axis=-1)
                | (n < prev).any(axis=-1)
                | (share < 0).any(axis=-1)
                | ~(share.sum(axis=-1) > 0)
            )
            w = share[..., 1] / share.sum(axis=-1)
        valid = ~missing & ~bad
        inc = np.where(valid[..., None], np.rint(n) - np.rint(prev), 0.0)
        a, b, alloc, log_f, _ = _pp_step(
            state.beta[..., 0], state.beta[..., 1], state.beta[..., 2],
            inc[..., 1], inc[..., 0], np.where(valid, w, 0.5), np.ones(batch), self.k,
        )
        log_e = state.log_e + np.where(valid, log_f, 0.0)
        pvalue = np.minimum(state.pvalue, np.exp(-np.maximum(log_e, 0.0)))
        mismatch = pvalue <= 1.0 - self.confidence
        verdict = np.where(mismatch, Verdict.FAIL, Verdict.PASS).astype(_I8)
        verdict[~valid & ~mismatch] = Verdict.INCONCLUSIVE
        reason = np.full(batch, _I8(Reason.OK))
        reason[missing & ~mismatch] = Reason.MISSING_VALUE
        reason[bad & ~mismatch] = Reason.BAD_DATA
        abort = mismatch & self.abort_on_mismatch
        new = SampleRatioState(
            count=np.where(valid[..., None], n, state.count),
            beta=np.stack([a, b, alloc], axis=-1),
            log_e=log_e,
            pvalue=pvalue,
        )
        return new, verdict, reason, np.asarray(abort, dtype=bool)


# --------------------------------------------------------------------------- quantiles

#: ``extras["quantile_bound"]`` choices of the quantile test (:func:`quantile_ranks`).
QUANTILE_BOUNDS: tuple[str, ...] = ("beta", "dkw")


def dkw_radius(t: ArrayLike, alpha: ArrayLike, *, t_min: float = 1.0) -> Any:
    """Howard and Ramdas' time-uniform DKW radius for the empirical distribution function.

    ``eps_t = 0.85 sqrt((log(1 + log(t / t_min)) + 0.8 log(1612 / alpha)) / t)`` for
    ``t >= t_min`` (``+inf`` below): with probability at least ``1 - alpha``,
    ``sup_x |F_t(x) - F(x)| <= eps_t`` for **all** ``t >= t_min`` at once, for i.i.d.
    observations of any distribution (ties and atoms included). With ``t_min = 1`` the
    first term is ``log log(e t)``.

    Notes
    -----
    Howard and Ramdas (2022), their time-uniform Dvoretzky-Kiefer-Wolfowitz inequality
    (Theorem 2 of arXiv 1906.09712, as confseq's documentation cites it): for ``A >
    1/sqrt(2)`` and ``C > 0`` the radius ``A sqrt((log(1 + log(t/m)) + C)/t)`` fails with
    probability at most ``4 exp(-g C) (1 + 1 / ((g - 1) log eta))``, ``g = (2/eta) (A -
    sqrt(2 (eta - 1) / C))**2``, for any admissible ``eta > 1``. Here ``A = 0.85`` and the
    closed form ``C = 0.8 log(1612 / alpha)``; ``tests/reference/quantile_mpmath.py`` solves
    that error bound for ``C`` with mpmath and checks that the closed form is at least as
    large (so at least as conservative) for alpha from 1e-8 to 0.2 (not at 0.5: alpha above
    0.2 is therefore treated as 0.2, which is conservative). With the solved ``C``
    the radius reproduces confseq's ``empirical_process_lil_bound(1000, .05, 100) =
    0.08204769``; the closed form gives 0.082845.

    Examples
    --------
    >>> round(float(dkw_radius(1000, 0.05)), 6)
    0.086569
    """
    t_ = np.asarray(t, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.maximum(t_ / t_min, 1.0)
        c = 0.8 * np.log(1612.0 / np.minimum(a, 0.2))  # checked valid for alpha <= 0.2
        eps = 0.85 * np.sqrt((np.log1p(np.log(ratio)) + c) / t_)
        eps = np.where(t_ >= t_min, eps, np.inf)
    return _scalar_or_array(np.asarray(eps, dtype=np.float64))


def _log_upper_mixture(s: _F, t: _F, p: _F, a: float = 0.5, b: float = 0.5) -> _F:
    """log of the Beta(a, b) mixture, restricted to ``q >= p``, of Bernoulli likelihood ratios.

    ``M(s, t) = int_p^1 (q/p)**s ((1-q)/(1-p))**(t-s) dBeta(q) / P_Beta(q >= p)``: a
    nonnegative supermartingale with initial value 1 whenever the indicators have mean at
    most ``p`` (each ratio with ``q >= p`` is), increasing in ``s``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = special.betainc(b + t - s, a + s, 1.0 - p)  # P(Beta(a + s, b + t - s) >= p)
        tail0 = special.betainc(b, a, 1.0 - p)
        out = (
            special.betaln(a + s, b + t - s)
            + np.log(tail)
            - special.betaln(a, b)
            - np.log(tail0)
            - special.xlogy(s, p)
            - special.xlog1py(t - s, -p)
        )
    return np.asarray(out, dtype=np.float64)


def _max_accepted(t: _F, p: _F, alpha: _F) -> _F:
    """``max{s in 0..t : M(s, t) < 1/alpha}`` (:func:`_log_upper_mixture`), by integer bisection.

    ``s <= floor(t p)`` is always accepted (there every ratio with ``q >= p`` is at most 1).
    """
    target = np.log(1.0 / alpha)
    lo = np.floor(t * p)
    hi = t + 1.0  # treated as rejected
    top = float(np.max(hi)) if hi.size else 1.0
    for _ in range(max(1, math.ceil(math.log2(top + 2.0)) + 1)):
        mid = np.floor(0.5 * (lo + hi))
        go = hi - lo > 1.0
        ok = go & (_log_upper_mixture(mid, t, p) < target)
        lo = np.where(ok, mid, lo)
        hi = np.where(go & ~ok, mid, hi)
    return lo


def quantile_ranks(
    t: ArrayLike, p: ArrayLike, alpha: ArrayLike, *, bound: str = "beta", t_min: float = 1.0
) -> tuple[Any, Any]:
    """Order-statistic ranks of an anytime-valid lower and upper bound on a quantile.

    For ``t`` i.i.d. observations and the ``p``-quantile ``q = inf{x : F(x) >= p}``, the
    returned ranks ``k_lo`` and ``k_up`` (1-based) satisfy ``X_(k_lo) <= q <= X_(k_up)``
    at all ``t`` with the probabilities below; ``k_lo < 1`` means the lower bound is
    ``-inf`` and ``k_up > t`` that the upper bound is ``+inf``.

    - ``bound="beta"`` (one quantile, the default): ``#{X_i < q}`` is a sum of
      Bernoulli indicators with mean at most ``p``; the Beta(1/2, 1/2) mixture of their
      likelihood ratios over ``q' >= p`` is a test supermartingale, so by Ville's
      inequality ``#{X_i < q} <= s_max(t)`` at all ``t`` with probability ``>= 1 -
      alpha``, and then ``q <= X_(s_max + 1)``. Symmetrically, ``#{X_i > q}`` has mean at
      most ``1 - p``, which gives ``k_lo``. **Each bound alone** holds with probability
      ``1 - alpha`` at all times (a two-sided interval at ``1 - alpha`` uses ``alpha / 2``).
    - ``bound="dkw"`` (every quantile at once): :func:`dkw_radius` ``eps_t``; ``k_lo =
      ceil(t (p - eps_t))`` and ``k_up = floor(t (p + eps_t)) + 1``. Both bounds, for
      every ``p``, hold together with probability ``1 - alpha`` at all ``t >= t_min``.
      Wider for one quantile (it does not use ``p (1 - p)``), but it covers a whole
      band of quantiles (and the distribution function) simultaneously.

    Valid for any distribution (ties, atoms, bucketed data). The ranks depend only on
    ``t``, ``p`` and ``alpha``: they are the whole computation, shared by
    :func:`quantile_cs` and :func:`quantile_cs_buckets`.

    Parameters
    ----------
    t : array_like of float
        The number of observations (rounded down to an integer).
    p : array_like of float
        The quantile, in (0, 1).
    alpha : array_like of float
    bound : {"beta", "dkw"}, default "beta"
    t_min : float, default 1
        ``dkw`` only: the first time the band is claimed (:func:`dkw_radius`).

    Returns
    -------
    k_lo, k_up : ndarray of float

    Notes
    -----
    Howard and Ramdas (2022): confidence sequences for a fixed quantile from a uniform
    boundary for Bernoulli sums, and for all quantiles from the empirical-process bound.
    The "beta" boundary here is an exact one-sided Beta-mixture (the truncated
    Jeffreys prior), not their tuned beta-binomial boundary.

    Examples
    --------
    >>> k_lo, k_up = quantile_ranks(1000, 0.95, 0.05)
    >>> int(k_lo), int(k_up)
    (924, 970)
    >>> [int(k) for k in quantile_ranks(1000, 0.95, 0.05, bound="dkw")]
    [864, 1001]
    """
    if bound not in QUANTILE_BOUNDS:
        raise SpecError(f"`bound` must be one of {list(QUANTILE_BOUNDS)}, got {bound!r}")
    t_, p_, a_ = np.broadcast_arrays(
        np.floor(np.asarray(t, dtype=np.float64)),
        np.asarray(p, dtype=np.float64),
        np.asarray(alpha, dtype=np.float64),
    )
    with np.errstate(invalid="ignore"):
        bad = ~((p_ > 0) & (p_ < 1) & (a_ > 0) & (a_ < 1) & (t_ >= 0))
    t_ = np.where(bad, 0.0, t_)
    p_ = np.where(bad, 0.5, p_)
    a_ = np.where(bad, 0.5, a_)
    if bound == "beta" and t_.size > 1 and np.all(p_ == p_.flat[0]) and np.all(a_ == a_.flat[0]):
        # one quantile and level for the batch (the usual case): solve per distinct t only
        uniq, inverse = np.unique(t_, return_inverse=True)
        p1, a1 = np.full(uniq.shape, p_.flat[0]), np.full(uniq.shape, a_.flat[0])
        k_up = (_max_accepted(uniq, p1, a1) + 1.0)[inverse].reshape(t_.shape)
        k_lo = (uniq - _max_accepted(uniq, 1.0 - p1, a1))[inverse].reshape(t_.shape)
    elif bound == "beta":
        k_up = _max_accepted(t_, p_, a_) + 1.0
        k_lo = t_ - _max_accepted(t_, 1.0 - p_, a_)
    else:
        eps = np.asarray(dkw_radius(t_, a_, t_min=t_min))
        with np.errstate(invalid="ignore"):
            # a hair of slack on the conservative side of each rounding
            k_up = np.floor(t_ * (p_ + eps) + 1e-9) + 1.0
            k_lo = np.ceil(t_ * (p_ - eps) - 1e-9)
        k_up = np.where(np.isfinite(k_up), k_up, t_ + 1.0)
        k_lo = np.where(np.isfinite(k_lo), k_lo, 0.0)
    k_up = np.minimum(k_up, t_ + 1.0)
    k_lo = np.maximum(k_lo, 0.0)
    return (
        _scalar_or_array(np.where(bad, np.nan, k_lo)),
        _scalar_or_array(np.where(bad, np.nan, k_up)),
    )


def quantile_cs(
    samples: ArrayLike,
    p: ArrayLike,
    alpha: ArrayLike,
    *,
    bound: str = "beta",
    t_min: float = 1.0,
) -> tuple[Any, Any]:
    """Anytime-valid lower and upper bounds on a quantile from raw samples.

    The order statistics at the ranks of :func:`quantile_ranks`. Pass all samples
    observed so far (cumulative); a stream's confidence sequence is the running
    intersection over looks, which stays valid (the guarantee is uniform in time).

    Parameters
    ----------
    samples : array_like of float, shape (..., n_max)
        Samples along the last axis, padded with NaN (NaN is not an observation).
    p, alpha : array_like of float
        Broadcast against the batch shape ``samples.shape[:-1]``.
    bound : {"beta", "dkw"}, default "beta"
    t_min : float, default 1

    Returns
    -------
    lower, upper : ndarray of float, the batch shape
        ``-inf`` / ``+inf`` when the data do not bound the quantile yet.

    Examples
    --------
    >>> x = np.arange(1.0, 1001.0)          # 1, 2, ..., 1000
    >>> lo, hi = quantile_cs(x, 0.95, 0.05)
    >>> float(lo), float(hi)                # X_(924), X_(970)
    (924.0, 970.0)
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0:
        raise SpecError("`samples` must have a last axis of samples")
    srt = np.sort(x, axis=-1)  # NaN last
    t = np.sum(~np.isnan(x), axis=-1).astype(np.float64)
    k_lo, k_up = (np.asarray(k) for k in quantile_ranks(t, p, alpha, bound=bound, t_min=t_min))
    t, k_lo, k_up = np.broadcast_arrays(t, k_lo, k_up)
    srt = np.broadcast_to(srt, (*t.shape, x.shape[-1]))
    n_max = x.shape[-1]

    def at(k: _F) -> _F:
        idx = np.clip(np.nan_to_num(k, nan=1.0), 1.0, max(n_max, 1)).astype(np.int64) - 1
        if n_max == 0:
            return np.full(k.shape, np.nan)
        return np.take_along_axis(srt, idx[..., None], axis=-1)[..., 0]

    lower = np.where(k_lo < 1, -np.inf, at(k_lo))
    upper = np.where(k_up > t, np.inf, at(k_up))
    nan = np.isnan(k_lo)
    return (
        _scalar_or_array(np.where(nan, np.nan, lower)),
        _scalar_or_array(np.where(nan, np.nan, upper)),
    )


def quantile_cs_buckets(
    counts: ArrayLike,
    bounds: ArrayLike,
    p: ArrayLike,
    alpha: ArrayLike,
    *,
    bound: str = "beta",
    t_min: float = 1.0,
) -> tuple[Any, Any]:
    """Conservative anytime-valid bounds on a quantile from histogram bucket counts.

    Bucket ``j`` counts observations in ``(bounds[j-1], bounds[j]]`` (Prometheus' ``le``
    buckets, made non-cumulative). The order statistic ``X_(k)`` lies in the first bucket
    whose cumulative count reaches ``k``, so the upper bound is that bucket's upper edge
    and the lower bound the previous bucket's upper edge (``-inf`` for the first bucket):
    never tighter than the bounds the raw samples would give, hence just as valid.
    Counts are rounded to integers (Prometheus' ``increase()`` gives fractions).

    Parameters
    ----------
    counts : array_like of float, shape (..., n_buckets)
        Cumulative-over-time counts per bucket (not cumulative over buckets).
    bounds : array_like of float, shape (n_buckets,)
        Upper bounds, increasing (the last is usually ``+inf``).
    p, alpha : array_like of float
    bound : {"beta", "dkw"}, default "beta"
    t_min : float, default 1

    Returns
    -------
    lower, upper : ndarray of float, the batch shape ``counts.shape[:-1]``

    Examples
    --------
    >>> counts = [500, 300, 150, 40, 10]          # 1,000 requests
    >>> lo, hi = quantile_cs_buckets(counts, [0.1, 0.2, 0.5, 1.0, np.inf], 0.95, 0.05)
    >>> float(lo), float(hi)                      # X_(924) in (0.2, 0.5], X_(970) in (0.5, 1]
    (0.2, 1.0)
    """
    c = np.rint(np.asarray(counts, dtype=np.float64))
    b = np.asarray(bounds, dtype=np.float64)
    if c.ndim == 0 or b.ndim != 1 or c.shape[-1] != b.shape[0]:
        raise SpecError(
            f"`counts` must end in an axis of len(bounds) = {b.shape} buckets, got {c.shape}"
        )
    cum = np.cumsum(c, axis=-1)
    t = cum[..., -1]
    k_lo, k_up = (np.asarray(k) for k in quantile_ranks(t, p, alpha, bound=bound, t_min=t_min))
    t, k_lo, k_up = np.broadcast_arrays(t, k_lo, k_up)
    cum = np.broadcast_to(cum, (*t.shape, b.shape[0]))
    with np.errstate(invalid="ignore"):
        j_up = np.sum(cum < k_up[..., None], axis=-1)  # the bucket holding X_(k_up)
        j_lo = np.sum(cum < k_lo[..., None], axis=-1)
    edges = np.concatenate([[-np.inf], b, [np.inf]])
    upper = np.where(k_up > t, np.inf, edges[np.minimum(j_up, b.shape[0] - 1) + 1])
    lower = np.where(k_lo < 1, -np.inf, edges[np.minimum(j_lo, b.shape[0] - 1)])
    bad = np.isnan(k_lo) | np.isnan(t) | (c < 0).any(axis=-1)
    return (
        _scalar_or_array(np.where(bad, np.nan, lower)),
        _scalar_or_array(np.where(bad, np.nan, upper)),
    )


# --------------------------------------------------------------------------- two-sample mSPRT


def msprt_two_sample(
    estimate: ArrayLike,
    variance: ArrayLike,
    tau2: ArrayLike,
    alpha: ArrayLike,
    theta0: ArrayLike = 0.0,
) -> tuple[Any, Any, Any]:
    """Johari et al.'s two-sample mSPRT: log Lambda and the always-valid interval.

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
    (:class:`SequentialMethod` fixes it at the first look after its burn-in,
    as ``1 / normal_mixture_rho(1 / V_h, alpha)`` with ``V_h`` the variance
    expected at ``n_opt`` requests per version).

    Returns
    -------
    log_lambda, lower, upper : ndarray of float

    Notes
    -----
    Johari, Koomen, Pekelis and Walsh (2022): the mSPRT with a normal mixture
    for two-sample comparisons (their treatment of unequal arms and of
    Bernoulli data through the central limit theorem); exact for Gaussian
    data with known variances, approximately valid with plug-in variances.

    Examples
    --------
    >>> ll, lo, hi = msprt_two_sample(0.3, 0.02, 0.1, 0.05)
    >>> round(float(ll), 10) == round(float(msprt_normal_log_e(0.3, 100, 2.0, 0.1)), 10)
    True
    """
    th = np.asarray(estimate, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    t2 = np.asarray(tau2, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = th - np.asarray(theta0, dtype=np.float64)
        log_l = 0.5 * np.log(v / (v + t2)) + t2 * d * d / (2.0 * v * (v + t2))
        half = np.sqrt(2.0 * v * (v + t2) / t2 * (np.log(1.0 / a) + 0.5 * np.log((v + t2) / v)))
    return (
        _scalar_or_array(np.asarray(log_l, dtype=np.float64)),
        _scalar_or_array(np.asarray(th - half, dtype=np.float64)),
        _scalar_or_array(np.asarray(th + half, dtype=np.float64)),
    )


# --------------------------------------------------------------------------- the method


@attrs.frozen(kw_only=True)
class SequentialState:
    """State of the sequential method: running confidence sequences and last totals.

    Attributes
    ----------
    lower, upper : ndarray of float, shape (*batch, 2)
        Per version, the running intersection of the confidence sequence of
        the version's rate or mean (``-inf`` / ``+inf`` before any decision
        data). They only ever tighten.
    count, total : ndarray of float, shape (*batch, 2)
        The cumulative sample size and sum (successes for a rate) of the last
        valid update; NaN before the first. Cumulative observations must not
        decrease: an update that decreases them is bad data and leaves the
        state as it was.
    evidence : ndarray of float, shape (*batch, 4)
        The two-sample tests (``extras["sequential_test"]``): the cumulative
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


class SequentialMethod:
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
      confidence sequence (:func:`bernoulli_cs`), exact for i.i.d. Bernoulli
      requests at every sample size.
    - means (``sum`` given, no ``successes``): ``sum``, ``sumsq`` and
      ``count``; the one-sided normal-mixture bounds of :func:`normal_mean_cs`
      with the running sample standard deviation plugged in, tuned for
      ``n_opt`` requests per version. The plug-in makes them approximately
      valid, so no decision is made before ``burn_in`` samples per version.
      ``sumsq`` is required: a slice without it is INCONCLUSIVE with
      ``Reason.MISSING_VALUE`` (no scale is assumed).

    Two-sample alternatives for a delta, chosen per criterion with
    ``extras={"sequential_test": ...}`` (:data:`SEQUENTIAL_TESTS`):

    - ``"confidence_sequence"`` (the default): the per-version sequences above.
    - ``"point_process"`` (rates): Lindon and Malek's test of the rate ratio
      (:func:`rate_ratio_test`, k = 100) on the errors of each interval given
      each version's requests in it, the allocation changing at every
      assessment; the running log e-values against ``ratio >= r`` and
      ``ratio <= r`` (the composite nulls, through the sign of the score at
      ``r``) each at ``alpha`` (no union bound). Assumes errors thin a Poisson
      process of requests (rare errors).
    - ``"msprt"`` (rates or means): Johari et al.'s two-sample mSPRT
      (:func:`msprt_two_sample`) on the contrast ``estimate_c - r
      estimate_b`` with plug-in variances (rates: ``(S + 1/2) / (n + 1)``),
      ``tau2`` fixed at the first decision look for ``n_opt`` requests per
      version; approximately valid, so it waits for ``burn_in`` samples per
      version (and, for rates, ``burn_in`` events and non-events per version).

    A version with fewer than ``sample_size`` samples (or ``burn_in`` for
    means) makes the slice INCONCLUSIVE with ``Reason.INSUFFICIENT_SAMPLE``.
    Bad data (negative, infinite, ``successes > count``, cumulative totals that
    decrease) is INCONCLUSIVE with ``Reason.BAD_DATA``; missing data (NaN, or
    no ``successes`` / ``sum`` at all) with ``Reason.MISSING_VALUE``; one
    :class:`~canarystats.InsufficientDataWarning` per update counts such
    slices, and they leave the state unchanged. Only ``missing="inconclusive"``
    is supported (substituting Iter8's absent values into sufficient
    statistics has no meaning), and counter metrics (a cumulative count
    against a threshold is an observed fact, not an estimate) are rejected:
    both raise :class:`~canarystats.SpecError` at ``init``. A sequential FAIL
    aborts when ``stop_on_failure`` is set.

    Parameters
    ----------
    n_opt : float, default 1000
        Per-version sample size at which the normal-mixture bounds are tuned
        to be tightest (:func:`normal_mixture_rho`).
    burn_in : float, default 30
        Minimum samples per version before a mean criterion decides.
    """

    name = "sequential"

    def __init__(self, *, n_opt: float = 1000.0, burn_in: float = 30.0) -> None:
        self.n_opt = float(n_opt)
        self.burn_in = float(burn_in)

    def init(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> SequentialState:
        if criterion.missing != "inconclusive":
            raise SpecError(
                f"`missing` must be 'inconclusive' for method 'sequential' (criterion "
                f"{criterion.metric!r}), got {criterion.missing!r}"
            )
        if criterion.is_counter:
            raise SpecError(
                f"method 'sequential' judges rates and means; {criterion.metric!r} is a "
                "counter (a cumulative count against a threshold): use method 'point'"
            )
        test = _test_of(criterion)
        if test == "quantile":
            _quantile_params(criterion)
        elif test != "confidence_sequence" and criterion.tolerance_type != "delta":
            raise SpecError(
                f"`extras['sequential_test']` {test!r} compares two versions: it needs "
                f"`tolerance_type` 'delta' (criterion {criterion.metric!r}), got "
                f"{criterion.tolerance_type!r}"
            )
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

    def update(
        self, criterion: Criterion, state: SequentialState, observations: Observations
    ) -> tuple[SequentialState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        if observations.n_versions != 2:
            raise SpecError(
                "the sequential method compares a baseline and one candidate: observations "
                f"of {criterion.metric!r} must have 2 versions, got {observations.n_versions}"
            )
        batch = observations.batch_shape
        tol = np.broadcast_to(
            np.asarray(check_param_shape("tolerance", criterion.tolerance, batch)), batch
        )
        need = np.asarray(check_param_shape("sample_size", criterion.sample_size, batch))
        conf = np.asarray(check_param_shape("confidence", criterion.confidence, batch))
        delta = criterion.tolerance_type == "delta"
        lower_better = criterion.direction == "lower"
        alpha = np.broadcast_to((1.0 - conf) / (2.0 if delta else 1.0), batch)[..., None]

        test = _test_of(criterion)
        n = observations.count
        is_rate = observations.successes is not None
        if test == "point_process" and not is_rate:
            raise SpecError(
                f"`extras['sequential_test']` 'point_process' judges event counts (a rate "
                f"with `successes`); {criterion.metric!r} has none"
            )
        quantile = test == "quantile"
        if quantile:
            q_p, q_bound = _quantile_params(criterion)
            n, bad_v, missing_v = _quantile_counts(observations)
            total = n
            is_rate = False
            sumsq = None
            min_n = np.asarray(need)[..., None]
        elif is_rate:
            assert observations.successes is not None
            total = observations.successes
            with np.errstate(invalid="ignore"):
                bad_v = ~np.isfinite(n) | (n < 0) | np.isinf(total) | (total < 0) | (total > n)
            missing_v = np.isnan(n) | np.isnan(total)
            sumsq = None
            min_n = np.asarray(need)[..., None]
            if test == "msprt":
                min_n = np.maximum(np.asarray(need), self.burn_in)[..., None]
        elif observations.sum is not None:
            total = observations.sum
            sumsq = observations.sumsq
            with np.errstate(invalid="ignore"):
                bad_v = np.isinf(n) | (n < 0) | np.isinf(total)
                missing_v = np.isnan(n) | np.isnan(total)
                if sumsq is None:
                    missing_v = np.ones_like(missing_v)
                else:
                    bad_v |= np.isinf(sumsq) | (sumsq < 0)
                    missing_v |= np.isnan(sumsq)
            min_n = np.maximum(np.asarray(need), self.burn_in)[..., None]
        else:
            total = np.full(n.shape, np.nan)
            sumsq = None
            bad_v = np.zeros(n.shape, dtype=bool)
            missing_v = np.ones(n.shape, dtype=bool)
            min_n = np.asarray(need)[..., None]
        missing_v = missing_v & ~bad_v
        with np.errstate(invalid="ignore"):
            # cumulative observations never decrease
            bad_v |= ~missing_v & ((n < state.count) | (is_rate & (total < state.total)))

        def relevant(flags: NDArray[np.bool_]) -> NDArray[np.bool_]:
            return flags[..., 0] | flags[..., 1] if delta else flags[..., 1]

        bad = relevant(bad_v)
        missing = relevant(missing_v) & ~bad
        valid = ~bad & ~missing
        with np.errstate(invalid="ignore"):
            sufficient_v = n >= min_n
        sufficient = valid & (sufficient_v.all(axis=-1) if delta else sufficient_v[..., 1])

        safe_n = np.where(valid[..., None], n, 0.0)
        safe_t = np.where(valid[..., None], total, 0.0)
        if test not in ("confidence_sequence", "quantile"):
            r = 1.0 + tol if lower_better else 1.0 - tol
            alpha1 = np.broadcast_to(1.0 - conf, batch)
            ss = None
            if not is_rate:
                ss = np.where(valid[..., None], sumsq if sumsq is not None else 0.0, 0.0)
            evidence, mixing = _two_sample_update(
                test, state, valid, sufficient, safe_n, safe_t, ss, r, alpha1, self.n_opt,
                self.burn_in,
            )
            # evidence[..., 2] is for r_true < r, evidence[..., 3] for r_true > r
            below = evidence[..., 2] >= np.log(1.0 / alpha1)
            above = evidence[..., 3] >= np.log(1.0 / alpha1)
            good, worse = (below, above) if lower_better else (above, below)
            keep = valid[..., None]
            return self._finish(
                criterion, batch, valid, missing, bad, sufficient, good, worse,
                missing_what=_missing_moments(observations),
                new_state=SequentialState(
                    lower=state.lower,
                    upper=state.upper,
                    count=np.where(keep, n, state.count),
                    total=np.where(keep, total, state.total),
                    evidence=evidence,
                    mixing=mixing,
                ),
            )

        # confidence sequences of this look, for every version (NaN-safe)
        if quantile:
            lo, hi = _quantile_bounds(observations, q_p, alpha, q_bound)
        elif is_rate:
            lo, hi = bernoulli_cs(np.rint(safe_t), np.rint(safe_n), alpha)
        else:
            assert sumsq is not None or not valid.any()
            ss = np.where(valid[..., None], sumsq if sumsq is not None else 0.0, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = safe_t / safe_n
                var = (ss - safe_n * mean * mean) / (safe_n - 1.0)
                sd = np.sqrt(np.maximum(var, 0.0))
            lo, hi = normal_mean_cs(
                safe_t, safe_n, sd, alpha, n_opt=self.n_opt, one_sided=True
            )
        lo = np.asarray(lo)
        hi = np.asarray(hi)
        if quantile:  # an unbounded side (+-inf) early on is a valid bound
            use = (sufficient[..., None] & sufficient_v) & ~np.isnan(lo) & ~np.isnan(hi)
        else:
            use = (sufficient[..., None] & sufficient_v) & np.isfinite(lo) & np.isfinite(hi)
        new_lower = np.where(use, np.maximum(state.lower, lo), state.lower)
        new_upper = np.where(use, np.minimum(state.upper, hi), state.upper)
        keep = valid[..., None]
        new_count = np.where(keep, n, state.count)
        new_total = np.where(keep, total, state.total)

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
        return self._finish(
            criterion, batch, valid, missing, bad, sufficient, good, worse, new_state,
            missing_what="missing values" if quantile else _missing_moments(observations),
        )

    def _finish(
        self,
        criterion: Criterion,
        batch: tuple[int, ...],
        valid: NDArray[np.bool_],
        missing: NDArray[np.bool_],
        bad: NDArray[np.bool_],
        sufficient: NDArray[np.bool_],
        good: NDArray[np.bool_],
        worse: NDArray[np.bool_],
        new_state: SequentialState,
        missing_what: str = "missing values",
    ) -> tuple[SequentialState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        passed = good & ~worse & sufficient
        failed = worse & ~good & sufficient

        verdict = np.zeros(batch, dtype=_I8)
        verdict[passed] = Verdict.PASS
        verdict[failed] = Verdict.FAIL
        reason = np.full(batch, _I8(Reason.NOT_YET_DECIDED))
        reason[passed | failed] = Reason.OK
        reason[valid & ~sufficient] = Reason.INSUFFICIENT_SAMPLE
        reason[missing] = Reason.MISSING_VALUE
        reason[bad] = Reason.BAD_DATA
        _warn_bad(bad, criterion, "bad data", "infinite, negative or decreasing values")
        _warn_bad(missing, criterion, "missing", missing_what)
        abort = failed if criterion.stop_on_failure else np.zeros(batch, dtype=bool)
        return new_state, verdict, reason, np.asarray(abort, dtype=bool)


#: ``extras["sequential_test"]`` choices of a sequential criterion (the default first):
#: each version's confidence sequence, the point-process rate-ratio test, the two-sample
#: mSPRT, and the quantile test.
SEQUENTIAL_TESTS: tuple[str, ...] = ("confidence_sequence", "point_process", "msprt", "quantile")


def _test_of(criterion: Criterion) -> str:
    test = criterion.extras.get("sequential_test", "confidence_sequence")
    if test not in SEQUENTIAL_TESTS:
        raise SpecError(
            f"`extras['sequential_test']` must be one of {list(SEQUENTIAL_TESTS)} "
            f"(criterion {criterion.metric!r}), got {test!r}"
        )
    return str(test)


def _quantile_params(criterion: Criterion) -> tuple[float, str]:
    """``extras["quantile"]`` (required, in (0, 1)) and ``extras["quantile_bound"]``."""
    p = criterion.extras.get("quantile")
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 < float(p) < 1.0:
        raise SpecError(
            f"`extras['sequential_test']` 'quantile' needs `extras['quantile']`, a number in "
            f"(0, 1) such as 0.95 (criterion {criterion.metric!r}), got {p!r}"
        )
    bound = criterion.extras.get("quantile_bound", "beta")
    if bound not in QUANTILE_BOUNDS:
        raise SpecError(
            f"`extras['quantile_bound']` must be one of {list(QUANTILE_BOUNDS)} (criterion "
            f"{criterion.metric!r}), got {bound!r}"
        )
    return float(p), str(bound)


def _quantile_counts(
    obs: Observations,
) -> tuple[_F, NDArray[np.bool_], NDArray[np.bool_]]:
    """Per version: the number of observations behind a quantile, bad and missing flags."""
    if obs.samples is not None:
        x = obs.samples
        n = np.sum(~np.isnan(x), axis=-1).astype(np.float64)
        return n, np.asarray(np.isinf(x).any(axis=-1)), np.zeros(n.shape, dtype=bool)
    if obs.buckets is not None:
        c = obs.buckets
        missing = np.isnan(c).any(axis=-1)
        with np.errstate(invalid="ignore"):
            bad = (np.isinf(c) | (c < 0)).any(axis=-1) & ~missing
        return np.asarray(np.rint(c).sum(axis=-1)), np.asarray(bad), np.asarray(missing)
    shape = obs.count.shape
    return np.full(shape, np.nan), np.zeros(shape, dtype=bool), np.ones(shape, dtype=bool)


def _quantile_bounds(obs: Observations, p: float, alpha: _F, bound: str) -> tuple[_F, _F]:
    """Each version's one-sided quantile bounds at ``alpha`` (NaN-safe: bad slices give NaN)."""
    with np.errstate(invalid="ignore"):
        if obs.samples is None and obs.buckets is None:  # missing: no bounds
            nan = np.full(obs.count.shape, np.nan)
            return nan, nan
        if obs.samples is not None:
            x = np.where(np.isinf(obs.samples), np.nan, obs.samples)
            lo, hi = quantile_cs(x, p, alpha, bound=bound)
        else:
            assert obs.buckets is not None
            assert obs.bucket_bounds is not None
            c = np.where(np.isfinite(obs.buckets), obs.buckets, 0.0)
            lo, hi = quantile_cs_buckets(np.maximum(c, 0.0), obs.bucket_bounds, p, alpha,
                                         bound=bound)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def _two_sample_update(
    test: str,
    state: SequentialState,
    valid: NDArray[np.bool_],
    sufficient: NDArray[np.bool_],
    n: _F,
    total: _F,
    sumsq: _F | None,
    r: _F,
    alpha: _F,
    n_opt: float,
    burn_in: float,
) -> tuple[_F, _F]:
    """The point-process test or the two-sample mSPRT for one look: new evidence and mixing."""
    ev = np.array(state.evidence, dtype=np.float64)
    mix = np.array(state.mixing, dtype=np.float64)
    if test == "point_process":
        prev_n = np.where(np.isnan(state.count), 0.0, state.count)
        prev_e = np.where(np.isnan(state.total), 0.0, state.total)
        inc_n = np.where(valid[..., None], np.rint(n) - np.rint(prev_n), 0.0)
        inc_e = np.where(valid[..., None], np.rint(total) - np.rint(prev_e), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = inc_n[..., 1] / inc_n.sum(axis=-1)
        w = np.where(np.isfinite(w), w, 0.0)
        a, b, alloc, log_f, score = _pp_step(
            mix[..., 0], mix[..., 1], mix[..., 2], inc_e[..., 1], inc_e[..., 0], w,
            np.asarray(r, dtype=np.float64), 100.0,
        )
        ev[..., 0] += log_f
        ev[..., 1] += score
        mix = np.stack([a, b, alloc], axis=-1)
        below = np.where(ev[..., 1] < 0, ev[..., 0], -np.inf)
        above = np.where(ev[..., 1] > 0, ev[..., 0], -np.inf)
    else:  # msprt on the contrast estimate_c - r * estimate_b
        with np.errstate(invalid="ignore", divide="ignore"):
            if sumsq is None:  # rates: a continuity-adjusted plug-in variance
                est = total / n
                p_adj = (total + 0.5) / (n + 1.0)
                s2 = p_adj * (1.0 - p_adj)
            else:
                est = total / n
                s2 = np.maximum((sumsq - n * est * est) / (n - 1.0), 0.0)
            theta = est[..., 1] - r * est[..., 0]
            var = s2[..., 1] / n[..., 1] + r * r * s2[..., 0] / n[..., 0]
            ok = sufficient & (var > 0) & np.isfinite(var)
            if sumsq is None:  # the normal approximation needs events, not only requests
                ok &= (np.minimum(total, n - total) >= burn_in).all(axis=-1)
            v_h = (s2[..., 1] + r * r * s2[..., 0]) / n_opt
            tau2_new = 1.0 / np.asarray(normal_mixture_rho(1.0 / v_h, alpha))
            tau2 = np.where(np.isnan(mix[..., 0]) & ok & (v_h > 0), tau2_new, mix[..., 0])
            ok &= np.isfinite(tau2)
            log_l = np.asarray(msprt_two_sample(theta, var, tau2, alpha)[0])
        mix[..., 0] = tau2
        below = np.where(ok & (theta < 0), log_l, -np.inf)
        above = np.where(ok & (theta > 0), log_l, -np.inf)
    ev[..., 2] = np.maximum(ev[..., 2], below)
    ev[..., 3] = np.maximum(ev[..., 3], above)
    return ev, mix


register_method("sequential", SequentialMethod())
