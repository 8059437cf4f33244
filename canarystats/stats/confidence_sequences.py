"""Confidence sequences for a mean, a rate and multinomial shares, from running totals.

A confidence sequence holds at every look at once: ``P(the parameter ever
leaves it) <= alpha`` under any monitoring, so its running intersection over
looks is valid too. Each inverts a mixture martingale of
:mod:`canarystats.stats.mixtures`; all are elementwise and broadcast over any
batch shape.

- :func:`normal_mean_cs`: a mean from running sums, with a plug-in standard
  deviation (the normal mixture); :func:`normal_mean_radius` is its half-width.
- :func:`bernoulli_cs`: a Bernoulli rate (the Beta mixture; exact, any n).
- :func:`multinomial_pvalue` and :func:`multinomial_cs`: Lindon and Malek's
  Dirichlet-multinomial test of counts split between versions (a
  sample-ratio-mismatch test): running p-values and marginal intervals.

The bounds come back as a :class:`ConfidenceSequenceResult`, which unpacks
like a pair: ``lower, upper = bernoulli_cs(...)``.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats._arrays import ARRAY_EQ, TupleResult, scalar_or_array
from canarystats.stats.alternatives import check_alternative
from canarystats.stats.levels import level_from
from canarystats.stats.mixtures import (
    BISECTION_STEPS,
    multinomial_log_e,
    normal_mixture_bound,
    normal_mixture_rho,
)

__all__ = [
    "ConfidenceSequenceResult",
    "bernoulli_cs",
    "multinomial_cs",
    "multinomial_pvalue",
    "normal_mean_cs",
    "normal_mean_radius",
]

_F = NDArray[np.float64]


@attrs.frozen(kw_only=True)
class ConfidenceSequenceResult(TupleResult):
    """The bounds of a confidence sequence at a look; unpacks as ``lower, upper = result``.

    Attributes
    ----------
    lower, upper : float or ndarray
        The lower and upper bounds (``-inf`` / ``+inf`` on an open side, NaN
        where they are undefined).
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("lower", "upper")

    lower: Any = attrs.field(eq=ARRAY_EQ)
    upper: Any = attrs.field(eq=ARRAY_EQ)


# --------------------------------------------------------------------------- mean


def _quiet(f: Any, *args: Any, **kwargs: Any) -> Any:
    """``f(*args, **kwargs)``, without a second warning for a deprecated ``alpha`` passed on."""
    if "alpha" not in kwargs:
        return f(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return f(*args, **kwargs)


def normal_mean_radius(
    n: ArrayLike,
    sd: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    n_opt: ArrayLike = 1000.0,
    alternative: str = "two-sided",
    alpha: ArrayLike | None = None,
) -> Any:
    """The half-width ``sd * u(n) / n`` of :func:`normal_mean_cs`, NaN where ``n <= 0``.

    ``u`` is the normal-mixture boundary (:func:`~canarystats.stats.mixtures.normal_mixture_bound`)
    in standardised units, intrinsic time ``n`` and ``rho`` tuned for
    ``n_opt``: two-sided, or one-sided for ``alternative="less"`` or
    ``"greater"`` (the same radius). With a one-sided radius, ``mean -
    radius`` and ``mean + radius`` are each a ``confidence_level`` bound at all
    times on their own (the pair :class:`~canarystats.methods.sequential.SequentialMethod`
    uses, from one computation). ``confidence_level`` (``1 - alpha``; required,
    keyword only, in (0, 1)) is the probability that the bound holds at all
    times; the deprecated keyword ``alpha`` gives the error level directly.

    Examples
    --------
    >>> round(float(normal_mean_radius(100.0, 1.0, confidence_level=0.95, n_opt=100.0)), 7)
    0.3035209
    >>> r = normal_mean_radius(100.0, 1.0, confidence_level=0.95, n_opt=100.0, alternative="less")
    >>> round(float(r), 7)
    0.2766071
    """
    side = "two-sided" if check_alternative(alternative) == "two-sided" else "greater"
    n_ = np.asarray(n, dtype=np.float64)
    a = np.asarray(level_from(confidence_level, alpha, default=None), dtype=np.float64)
    if alpha is None:
        level: dict[str, Any] = {"confidence_level": confidence_level}
    else:  # the deprecated alias, passed on as given (warned once above)
        level = {"alpha": a}
    rho = _quiet(normal_mixture_rho, n_opt, alternative=side, **level)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.asarray(
            _quiet(normal_mixture_bound, np.maximum(n_, 0.0), rho, alternative=side, **level)
        )
        half = np.asarray(sd, dtype=np.float64) * u / n_
        return scalar_or_array(np.where(n_ > 0, half, np.nan))


def normal_mean_cs(
    total: ArrayLike,
    n: ArrayLike,
    sd: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    n_opt: ArrayLike = 1000.0,
    alternative: str = "two-sided",
    alpha: ArrayLike | None = None,
) -> ConfidenceSequenceResult:
    """A normal-mixture confidence sequence for a mean, from a running sum.

    ``mean ± sd * u(n) / n`` (:func:`normal_mean_radius`) with ``u`` the
    normal-mixture boundary in standardised units (intrinsic time ``n``,
    ``rho`` tuned for ``n_opt``). As in scipy, a one-sided ``alternative``
    gives a one-sided sequence: ``"greater"`` a lower bound (``upper`` is
    ``+inf``), ``"less"`` an upper bound (``lower`` is ``-inf``), each holding
    with probability ``confidence_level`` (``1 - alpha``; required, keyword
    only, in (0, 1)) at all times; ``"two-sided"`` an interval that does.
    The deprecated keyword ``alpha`` gives the error level directly.

    Valid for i.i.d. sub-Gaussian data with known scale ``sd``; with a plug-in
    ``sd`` (the running sample standard deviation) it is only approximately
    valid, which is why :class:`~canarystats.methods.sequential.SequentialMethod` uses
    a burn-in.

    Returns
    -------
    ConfidenceSequenceResult
        ``lower``, ``upper``: floats or arrays of the broadcast shape, NaN
        where ``n <= 0``.

    Examples
    --------
    >>> lo, hi = normal_mean_cs(10.0, 100.0, 1.0, confidence_level=0.95, n_opt=100.0)
    >>> round(float(hi - 0.1), 7)   # 30.35209 / 100, the two-sided bound at v = 100
    0.3035209
    >>> r = normal_mean_cs(10.0, 100.0, 1.0, confidence_level=0.95, n_opt=100.0,
    ...                    alternative="greater")
    >>> round(float(0.1 - r.lower), 7), float(r.upper)   # 27.66071 / 100, one-sided
    (0.2766071, inf)
    """
    side = check_alternative(alternative)
    n_ = np.asarray(n, dtype=np.float64)
    half = np.asarray(normal_mean_radius(
        n_, sd, confidence_level=confidence_level, n_opt=n_opt, alternative=side, alpha=alpha
    ))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.asarray(total, dtype=np.float64) / n_
        ok = n_ > 0
        lower = np.where(ok, mean - half, np.nan)
        upper = np.where(ok, mean + half, np.nan)
    if side == "less":
        lower = np.where(ok, -np.inf, lower)
    elif side == "greater":
        upper = np.where(ok, np.inf, upper)
    return ConfidenceSequenceResult(lower=scalar_or_array(lower), upper=scalar_or_array(upper))


# --------------------------------------------------------------------------- Bernoulli


def bernoulli_cs(
    successes: ArrayLike,
    n: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    a: float = 0.5,
    b: float = 0.5,
    alpha: ArrayLike | None = None,
) -> ConfidenceSequenceResult:
    """The Beta-mixture confidence sequence ``{p: M_n(p) < 1/alpha}`` of a rate.

    ``alpha = 1 - confidence_level`` (required, keyword only, in (0, 1)): the
    sequence covers the rate at all times with probability at least
    ``confidence_level``. The deprecated keyword ``alpha`` gives it directly.

    ``log M_n(p)`` is convex in ``p`` with its minimum at the sample rate, where
    it is at most 0, so the set is an interval; its ends are found by
    bisection (64 halvings of ``[0, S/n]`` and ``[S/n, 1]``). For ``n = 0``
    it is ``[0, 1]``.

    Returns
    -------
    ConfidenceSequenceResult
        ``lower``, ``upper``: floats or arrays of the broadcast shape, NaN
        where ``successes`` is negative or above ``n``.

    Examples
    --------
    >>> lo, hi = bernoulli_cs(30, 100, confidence_level=0.95)
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.165652, 0.46284)
    """
    s, n_, al = np.broadcast_arrays(
        np.asarray(successes, dtype=np.float64),
        np.asarray(n, dtype=np.float64),
        np.asarray(level_from(confidence_level, alpha, default=None), dtype=np.float64),
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
    for _ in range(BISECTION_STEPS):
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
    return ConfidenceSequenceResult(lower=scalar_or_array(lower), upper=scalar_or_array(upper))


# --------------------------------------------------------------------------- multinomial


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
    return scalar_or_array(np.exp(-running))


def multinomial_cs(
    counts: ArrayLike,
    theta0: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    k: float = 100.0,
    alpha: ArrayLike | None = None,
) -> ConfidenceSequenceResult:
    """Marginal intervals of the Dirichlet-multinomial confidence set, per category.

    ``alpha = 1 - confidence_level`` (required, keyword only, in (0, 1)); the
    deprecated keyword ``alpha`` gives it directly.

    The confidence set at one look is ``{theta: BF(theta) < 1/alpha}`` with the
    prior kept at ``Dirichlet(k theta0)``, i.e. ``sum_j x_j log theta_j >
    log m(x) + log(alpha)`` with ``m`` the Dirichlet-multinomial marginal
    likelihood. For category ``i`` the extreme ``theta_i`` puts the other
    categories in proportion to their counts, which leaves a one-dimensional
    binomial likelihood in ``theta_i``, solved by bisection. A stream's
    confidence sequence is the running intersection of these sets.

    Returns
    -------
    ConfidenceSequenceResult
        ``lower``, ``upper``: arrays of the shape of ``counts``.

    Notes
    -----
    Lindon and Malek (2022): the confidence sequence by inverting the
    e-value. savvi reports the running intersection over its
    example's looks, which is contained in this single-look set.
    """
    x = np.asarray(counts, dtype=np.float64)
    t = np.broadcast_to(np.asarray(theta0, dtype=np.float64), x.shape)
    al = np.asarray(level_from(confidence_level, alpha, default=None), dtype=np.float64)[..., None]
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
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo_a + lo_b)
        ins = inside(mid)
        lo_b, lo_a = np.where(ins, mid, lo_b), np.where(ins, lo_a, mid)
        mid = 0.5 * (hi_a + hi_b)
        ins = inside(mid)
        hi_a, hi_b = np.where(ins, mid, hi_a), np.where(ins, hi_b, mid)
    lower = np.where(inside(np.zeros_like(phat)), 0.0, lo_a)
    upper = np.where(inside(np.ones_like(phat)), 1.0, hi_b)
    return ConfidenceSequenceResult(lower=scalar_or_array(lower), upper=scalar_or_array(upper))
