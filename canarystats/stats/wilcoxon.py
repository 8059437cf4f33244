"""The exact null distribution of the Wilcoxon-Mann-Whitney statistic, and rank sums with ties.

- :func:`pwilcox`, :func:`psf`, :func:`qwilcox` -- ``P(W <= q)``, ``P(W >= q)``
  and R's quantile ``qwilcox`` of the Mann-Whitney statistic ``W`` for sample
  sizes ``m``, ``n`` without ties, from the exact integer coefficients of the
  Gaussian binomial (cached per ``(m, n)``);
- :func:`rank_sums` -- the sums of the (average) ranks of ``x`` in the pooled
  rows and the tie term ``sum(t^3 - t)``, for batches of sorted, NaN-padded
  rows (:class:`RankSumsResult`); :func:`within_ties` -- the tie term of one
  sample.

Examples
--------
``P(W <= 0)`` for two samples of 4 is ``1 / C(8, 4)``; R's ``qwilcox(0.025, 4, 4)``
is 1:

>>> import numpy as np
>>> from canarystats.stats.wilcoxon import pwilcox, qwilcox
>>> float(pwilcox(np.array([0.0]), 4, 4)[0]) * 70
1.0
>>> int(qwilcox(np.array([0.025]), 4, 4)[0])
1
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import TupleResult, result_field

__all__ = ["RankSumsResult", "psf", "pwilcox", "qwilcox", "rank_sums", "within_ties"]

_F = NDArray[np.float64]
_I = NDArray[np.int64]
_B = NDArray[np.bool_]

#: Samples per block of pairs processed together (x or y values).
_BLOCK = 1 << 17

# --------------------------------------------------------------------------- exact distribution


@functools.lru_cache(maxsize=512)
def _wilcox_dist(m: int, n: int) -> tuple[_F, _F]:
    """``(cdf, sf)`` of the Mann-Whitney statistic W for sizes ``m``, ``n``, no ties.

    ``cdf[q] = P(W <= q)`` and ``sf[q] = P(W >= q)`` for ``q = 0..m*n``, from
    the exact integer coefficients of the Gaussian binomial ``[m+n choose
    m]_q = prod_i (1 - q^(n+i)) / (1 - q^i)`` (Python integers: no rounding
    before the final division, so tail probabilities keep full relative
    precision).
    """
    total_n = m * n
    coef = np.zeros(total_n + 1, dtype=object)
    coef[:] = 0
    coef[0] = 1
    for i in range(1, m + 1):
        s = n + i
        if s <= total_n:
            coef[s:] = coef[s:] - coef[: total_n + 1 - s]
        for r in range(i):
            coef[r::i] = np.cumsum(coef[r::i])
    total = math.comb(m + n, m)
    cum = np.cumsum(coef)
    cdf = np.array([c / total for c in cum], dtype=np.float64)
    sf = cdf[::-1].copy()  # P(W >= q) = P(W <= mn - q) by symmetry
    return cdf, sf


def pwilcox(q: _F, m: int, n: int) -> _F:
    """``P(W <= q)`` (R's ``pwilcox``), q floored."""
    cdf, _ = _wilcox_dist(m, n)
    qi = np.floor(q)
    out = np.where(qi < 0, 0.0, 1.0)
    inside = (qi >= 0) & (qi < m * n)
    out[inside] = cdf[qi[inside].astype(np.int64)]
    return out


def psf(q: _F, m: int, n: int) -> _F:
    """``P(W >= q)`` for integer q."""
    _, sf = _wilcox_dist(m, n)
    qi = np.ceil(q)
    out = np.where(qi <= 0, 1.0, 0.0)
    inside = (qi > 0) & (qi <= m * n)
    out[inside] = sf[qi[inside].astype(np.int64)]
    return out


def qwilcox(p: _F, m: int, n: int) -> _I:
    """R's ``qwilcox(p, m, n)``: the smallest q with ``P(W <= q) >= p`` (fuzz 10 eps)."""
    cdf, _ = _wilcox_dist(m, n)
    eps = 10 * np.finfo(np.float64).eps
    low = p <= 0.5
    q_low = np.searchsorted(cdf, p - eps, side="left")
    # R's upper branch: accumulate until the sum exceeds 1 - p + fuzz, then mirror
    q_up = m * n - np.searchsorted(cdf, 1 - p + eps, side="right")
    return np.where(low, q_low, q_up).astype(np.int64)


# --------------------------------------------------------------------------- ranks and ties


def _tie_groups(zs: _F, valid: _B) -> tuple[_F, _F]:
    """Average ranks (1-based) of sorted rows and ``sum(t^3 - t)`` over their tie groups."""
    length = zs.shape[-1]
    idx = np.broadcast_to(np.arange(length), zs.shape)
    new = np.ones(zs.shape, dtype=bool)
    new[:, 1:] = zs[:, 1:] != zs[:, :-1]
    end = np.ones(zs.shape, dtype=bool)
    end[:, :-1] = new[:, 1:]
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=-1)
    stop = np.minimum.accumulate(np.where(end, idx, length - 1)[:, ::-1], axis=-1)[:, ::-1]
    avg = (start + stop) / 2.0 + 1.0
    size = (stop - start + 1).astype(np.float64)
    ties = np.where(new & valid, size**3 - size, 0.0).sum(axis=-1)
    return avg, ties


@attrs.frozen(kw_only=True)
class RankSumsResult(TupleResult):
    """Result of :func:`rank_sums`; unpacks as ``rank_sum, ties``.

    Attributes
    ----------
    rank_sum : ndarray of float, shape (n_pairs,)
        The sum of the (average, 1-based) ranks of ``x`` in each pooled row.
    ties : ndarray of float, shape (n_pairs,)
        ``sum(t^3 - t)`` over the tie groups of each pooled row.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("rank_sum", "ties")

    rank_sum: Any = result_field()
    ties: Any = result_field()


def rank_sums(xs: _F, ys: _F) -> RankSumsResult:
    """Sums of the (average) ranks of x in the pooled rows, and pooled ``sum(t^3 - t)``.

    ``xs``, ``ys`` sorted rows with NaN padding; in blocks of pairs.
    """
    b_n, m = xs.shape
    rank_sum = np.zeros(b_n)
    ties = np.zeros(b_n)
    step = max(1, _BLOCK // max(m + ys.shape[1], 1))
    ranks = np.arange(1.0, m + ys.shape[1] + 1)
    for s in range(0, b_n, step):
        z = np.concatenate([xs[s : s + step], ys[s : s + step]], axis=1)
        order = np.argsort(z, axis=1, kind="stable")  # merges the two sorted runs
        zs = np.take_along_axis(z, order, axis=1)
        from_x = (order < m) & ~np.isnan(zs)  # padding (NaN) sorts last
        # ranks are positions + 1 unless a row has ties (NaN never equals NaN)
        tied = np.flatnonzero((zs[:, 1:] == zs[:, :-1]).any(axis=1))
        block = np.where(from_x, ranks, 0.0).sum(axis=1)
        if tied.size:
            zt = zs[tied]
            avg, ties[s + tied] = _tie_groups(zt, ~np.isnan(zt))
            block[tied] = np.where(from_x[tied], avg, 0.0).sum(axis=1)
        rank_sum[s : s + step] = block
    return RankSumsResult(rank_sum=rank_sum, ties=ties)


def within_ties(s: _F) -> _F:
    """``sum(t^3 - t)`` over the tie groups of sorted, NaN-padded rows."""
    out = np.zeros(s.shape[0])
    tied = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
    if tied.size:
        out[tied] = _tie_groups(s[tied], ~np.isnan(s[tied]))[1]
    return out
