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

from canarystats.errors import SpecError
from canarystats.observations import Observations, Reason, Verdict
from canarystats.spec import Criterion
from canarystats.tolerances import _broadcast_param, _warn_bad, register_method

__all__ = [
    "SequentialMethod",
    "SequentialState",
    "bernoulli_cs",
    "beta_binomial_log_e",
    "msprt_normal_log_e",
    "multinomial_cs",
    "multinomial_log_e",
    "multinomial_pvalue",
    "normal_mean_cs",
    "normal_mixture_bound",
    "normal_mixture_log_e",
    "normal_mixture_rho",
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
    n = x.sum(axis=-1)
    out = (
        special.gammaln(k)
        - special.gammaln(k + n)
        + np.sum(special.gammaln(alpha0 + x) - special.gammaln(alpha0), axis=-1)
        - np.sum(special.xlogy(x, t), axis=-1)
    )
    return _scalar_or_array(np.asarray(out, dtype=np.float64))


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


# --------------------------------------------------------------------------- the method


def _ro(x: Any) -> Any:
    arr = np.array(x, dtype=np.asarray(x).dtype)
    arr.flags.writeable = False
    return arr


def _arr_field() -> Any:
    return attrs.field(
        converter=_ro, eq=attrs.cmp_using(eq=lambda a, b: np.array_equal(a, b, equal_nan=True))
    )


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
    """

    lower: _F = _arr_field()
    upper: _F = _arr_field()
    count: _F = _arr_field()
    total: _F = _arr_field()


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
        shape = (*batch_shape, 2)
        return SequentialState(
            lower=np.full(shape, -np.inf),
            upper=np.full(shape, np.inf),
            count=np.full(shape, np.nan),
            total=np.full(shape, np.nan),
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
            np.asarray(_broadcast_param("tolerance", criterion.tolerance, batch)), batch
        )
        need = np.asarray(_broadcast_param("sample_size", criterion.sample_size, batch))
        conf = np.asarray(_broadcast_param("confidence", criterion.confidence, batch))
        delta = criterion.tolerance_type == "delta"
        lower_better = criterion.direction == "lower"
        alpha = np.broadcast_to((1.0 - conf) / (2.0 if delta else 1.0), batch)[..., None]

        n = observations.count
        is_rate = observations.successes is not None
        if is_rate:
            assert observations.successes is not None
            total = observations.successes
            with np.errstate(invalid="ignore"):
                bad_v = ~np.isfinite(n) | (n < 0) | np.isinf(total) | (total < 0) | (total > n)
            missing_v = np.isnan(n) | np.isnan(total)
            sumsq = None
            min_n = np.asarray(need)[..., None]
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

        # confidence sequences of this look, for every version (NaN-safe)
        safe_n = np.where(valid[..., None], n, 0.0)
        safe_t = np.where(valid[..., None], total, 0.0)
        if is_rate:
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
        _warn_bad(missing, criterion, "missing", "missing values")
        abort = failed if criterion.stop_on_failure else np.zeros(batch, dtype=bool)
        new_state = SequentialState(
            lower=new_lower, upper=new_upper, count=new_count, total=new_total
        )
        return new_state, verdict, reason, np.asarray(abort, dtype=bool)


register_method("sequential", SequentialMethod())
