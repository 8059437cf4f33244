"""Anytime-valid bounds on a quantile, from raw samples or histogram buckets.

For one quantile (a one-sided Beta mixture) or every quantile at once (Howard
and Ramdas' time-uniform DKW band, :func:`dkw_radius`), :func:`quantile_ranks`
gives the order-statistic ranks of the bounds; :func:`quantile_cs` reads them
off raw samples and :func:`quantile_cs_buckets` off histogram buckets
(conservatively). Valid for any distribution, ties and atoms included.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats._arrays import ARRAY_EQ, TupleResult, scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats.confidence_sequences import ConfidenceSequenceResult
from canarystats.stats.levels import level_from

__all__ = [
    "QUANTILE_BOUNDS",
    "QuantileRanksResult",
    "dkw_radius",
    "quantile_cs",
    "quantile_cs_buckets",
    "quantile_ranks",
]

_F = NDArray[np.float64]

#: The ``bound`` choices of :func:`quantile_ranks`: "beta" (one quantile) and "dkw"
#: (every quantile at once).
QUANTILE_BOUNDS: tuple[str, ...] = ("beta", "dkw")


@attrs.frozen(kw_only=True)
class QuantileRanksResult(TupleResult):
    """The ranks of :func:`quantile_ranks`; unpacks as ``k_lo, k_up = result``.

    Attributes
    ----------
    k_lo, k_up : float or ndarray
        The 1-based order-statistic ranks of the lower and upper bounds
        (``k_lo < 1``: the lower bound is ``-inf``; ``k_up > t``: the upper
        bound is ``+inf``; NaN for invalid ``p``).
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("k_lo", "k_up")

    k_lo: Any = attrs.field(eq=ARRAY_EQ)
    k_up: Any = attrs.field(eq=ARRAY_EQ)


def dkw_radius(
    t: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    t_min: float = 1.0,
    alpha: ArrayLike | None = None,
) -> Any:
    """Howard and Ramdas' time-uniform DKW radius for the empirical distribution function.

    ``eps_t = 0.85 sqrt((log(1 + log(t / t_min)) + 0.8 log(1612 / alpha)) / t)`` for
    ``t >= t_min`` (``+inf`` below), ``alpha = 1 - confidence_level`` (required, keyword
    only, in (0, 1); the deprecated keyword ``alpha`` gives it directly): with probability
    at least ``confidence_level``,
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
    >>> round(float(dkw_radius(1000, confidence_level=0.95)), 6)
    0.086569
    """
    return _dkw(t, np.asarray(level_from(confidence_level, alpha, default=None)), t_min)


def _dkw(t: ArrayLike, a: _F, t_min: float) -> Any:
    """:func:`dkw_radius` at the error level ``a``."""
    t_ = np.asarray(t, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.maximum(t_ / t_min, 1.0)
        c = 0.8 * np.log(1612.0 / np.minimum(a, 0.2))  # checked valid for alpha <= 0.2
        eps = 0.85 * np.sqrt((np.log1p(np.log(ratio)) + c) / t_)
        eps = np.where(t_ >= t_min, eps, np.inf)
    return scalar_or_array(np.asarray(eps, dtype=np.float64))


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
    t: ArrayLike,
    p: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    bound: str = "beta",
    t_min: float = 1.0,
    alpha: ArrayLike | None = None,
) -> QuantileRanksResult:
    """Order-statistic ranks of an anytime-valid lower and upper bound on a quantile.

    For ``t`` i.i.d. observations and the ``p``-quantile ``q = inf{x : F(x) >= p}``, the
    returned ranks ``k_lo`` and ``k_up`` (1-based) satisfy ``X_(k_lo) <= q <= X_(k_up)``
    at all ``t`` with the probabilities below (``alpha = 1 - confidence_level``);
    ``k_lo < 1`` means the lower bound is
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
    confidence_level : array_like of float
        Required, keyword only, in (0, 1): the probability stated above is
        ``confidence_level = 1 - alpha``.
    bound : {"beta", "dkw"}, default "beta"
    t_min : float, default 1
        ``dkw`` only: the first time the band is claimed (:func:`dkw_radius`).
    alpha : array_like of float, optional
        Deprecated alias: the error level ``1 - confidence_level`` (keyword only).

    Returns
    -------
    QuantileRanksResult
        ``k_lo``, ``k_up``: floats or arrays of the broadcast shape.

    Notes
    -----
    Howard and Ramdas (2022): confidence sequences for a fixed quantile from a uniform
    boundary for Bernoulli sums, and for all quantiles from the empirical-process bound.
    The "beta" boundary here is an exact one-sided Beta-mixture (the truncated
    Jeffreys prior), not their tuned beta-binomial boundary.

    Examples
    --------
    >>> k_lo, k_up = quantile_ranks(1000, 0.95, confidence_level=0.95)
    >>> int(k_lo), int(k_up)
    (924, 970)
    >>> [int(k) for k in quantile_ranks(1000, 0.95, confidence_level=0.95, bound="dkw")]
    [864, 1001]
    """
    if bound not in QUANTILE_BOUNDS:
        raise SpecError(f"`bound` must be one of {list(QUANTILE_BOUNDS)}, got {bound!r}")
    t_, p_, a_ = np.broadcast_arrays(
        np.floor(np.asarray(t, dtype=np.float64)),
        np.asarray(p, dtype=np.float64),
        np.asarray(level_from(confidence_level, alpha, default=None), dtype=np.float64),
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
        eps = np.asarray(_dkw(t_, a_, t_min))
        with np.errstate(invalid="ignore"):
            # a hair of slack on the conservative side of each rounding
            k_up = np.floor(t_ * (p_ + eps) + 1e-9) + 1.0
            k_lo = np.ceil(t_ * (p_ - eps) - 1e-9)
        k_up = np.where(np.isfinite(k_up), k_up, t_ + 1.0)
        k_lo = np.where(np.isfinite(k_lo), k_lo, 0.0)
    k_up = np.minimum(k_up, t_ + 1.0)
    k_lo = np.maximum(k_lo, 0.0)
    return QuantileRanksResult(
        k_lo=scalar_or_array(np.where(bad, np.nan, k_lo)),
        k_up=scalar_or_array(np.where(bad, np.nan, k_up)),
    )


def quantile_cs(
    samples: ArrayLike,
    p: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    bound: str = "beta",
    t_min: float = 1.0,
    alpha: ArrayLike | None = None,
) -> ConfidenceSequenceResult:
    """Anytime-valid lower and upper bounds on a quantile from raw samples.

    The order statistics at the ranks of :func:`quantile_ranks`. Pass all samples
    observed so far (cumulative); a stream's confidence sequence is the running
    intersection over looks, which stays valid (the guarantee is uniform in time).

    Parameters
    ----------
    samples : array_like of float, shape (..., n_max)
        Samples along the last axis, padded with NaN (NaN is not an observation).
    p, confidence_level : array_like of float
        Broadcast against the batch shape ``samples.shape[:-1]``;
        ``confidence_level`` is required and keyword only (see
        :func:`quantile_ranks`).
    bound : {"beta", "dkw"}, default "beta"
    t_min : float, default 1
    alpha : array_like of float, optional
        Deprecated alias: the error level ``1 - confidence_level`` (keyword only).

    Returns
    -------
    ConfidenceSequenceResult
        ``lower``, ``upper``: floats or arrays of the batch shape; ``-inf`` /
        ``+inf`` when the data do not bound the quantile yet.

    Examples
    --------
    >>> x = np.arange(1.0, 1001.0)          # 1, 2, ..., 1000
    >>> lo, hi = quantile_cs(x, 0.95, confidence_level=0.95)
    >>> float(lo), float(hi)                # X_(924), X_(970)
    (924.0, 970.0)
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0:
        raise SpecError("`samples` must have a last axis of samples")
    srt = np.sort(x, axis=-1)  # NaN last
    t = np.sum(~np.isnan(x), axis=-1).astype(np.float64)
    k_lo, k_up = (np.asarray(k) for k in quantile_ranks(
        t, p, confidence_level=confidence_level, bound=bound, t_min=t_min, alpha=alpha))
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
    return ConfidenceSequenceResult(
        lower=scalar_or_array(np.where(nan, np.nan, lower)),
        upper=scalar_or_array(np.where(nan, np.nan, upper)),
    )


def quantile_cs_buckets(
    counts: ArrayLike,
    bounds: ArrayLike,
    p: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    bound: str = "beta",
    t_min: float = 1.0,
    alpha: ArrayLike | None = None,
) -> ConfidenceSequenceResult:
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
    p, confidence_level : array_like of float
        ``confidence_level`` is required and keyword only (see :func:`quantile_ranks`).
    bound : {"beta", "dkw"}, default "beta"
    t_min : float, default 1
    alpha : array_like of float, optional
        Deprecated alias: the error level ``1 - confidence_level`` (keyword only).

    Returns
    -------
    ConfidenceSequenceResult
        ``lower``, ``upper``: floats or arrays of the batch shape ``counts.shape[:-1]``.

    Examples
    --------
    >>> counts = [500, 300, 150, 40, 10]          # 1,000 requests
    >>> lo, hi = quantile_cs_buckets(counts, [0.1, 0.2, 0.5, 1.0, np.inf], 0.95,
    ...                             confidence_level=0.95)
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
    k_lo, k_up = (np.asarray(k) for k in quantile_ranks(
        t, p, confidence_level=confidence_level, bound=bound, t_min=t_min, alpha=alpha))
    t, k_lo, k_up = np.broadcast_arrays(t, k_lo, k_up)
    cum = np.broadcast_to(cum, (*t.shape, b.shape[0]))
    with np.errstate(invalid="ignore"):
        j_up = np.sum(cum < k_up[..., None], axis=-1)  # the bucket holding X_(k_up)
        j_lo = np.sum(cum < k_lo[..., None], axis=-1)
    edges = np.concatenate([[-np.inf], b, [np.inf]])
    upper = np.where(k_up > t, np.inf, edges[np.minimum(j_up, b.shape[0] - 1) + 1])
    lower = np.where(k_lo < 1, -np.inf, edges[np.minimum(j_lo, b.shape[0] - 1)])
    bad = np.isnan(k_lo) | np.isnan(t) | (c < 0).any(axis=-1)
    return ConfidenceSequenceResult(
        lower=scalar_or_array(np.where(bad, np.nan, lower)),
        upper=scalar_or_array(np.where(bad, np.nan, upper)),
    )
