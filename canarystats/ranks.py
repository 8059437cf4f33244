"""Rank-based canary judge: Wilcoxon-Mann-Whitney, Hodges-Lehmann, Kayenta-class scoring.

A judge of the class of Netflix Kayenta's ``NetflixACAJudge``, exposed and
vectorized over a batch of metric pairs, on raw samples and on histogram
bucket counts:

- :func:`mann_whitney` -- the two-sample Wilcoxon-Mann-Whitney test with the
  Hodges-Lehmann shift estimate and its distribution-free confidence interval,
  computed as R's ``wilcox.test(x, y, conf.int=TRUE)`` does (exact
  distribution for small samples without ties; normal approximation with tie
  and continuity corrections otherwise);
- :func:`mann_whitney_binned` -- the same from two vectors of histogram bucket
  counts with shared bounds (each bucket a tie group at its upper bound);
- :func:`classify_metric` -- Kayenta's per-metric classes High / Low / Pass /
  NoData, with an opt-in scale check Kayenta lacks;
- :func:`score_groups` -- weighted group scores into Pass / Marginal / Fail;
- ``method="ranks"`` for criteria (:class:`RanksMethod`).

Samples are ``(..., n)`` arrays padded with NaN (NaN is "no sample"), so
pairs of unequal sizes share one array. The estimate is the shift of ``x``
relative to ``y`` (``x - y``), R's convention.

Examples
--------
The reference case of Kayenta's ``MannWhitneySuite`` (R agrees):

>>> from canarystats.ranks import mann_whitney
>>> r = mann_whitney([10, 20, 30, 40], [1, 2, 3, 4])
>>> float(r.statistic), round(float(r.pvalue), 5), float(r.estimate)
(16.0, 0.02857, 22.5)
>>> [float(v) for v in r.confidence_interval(confidence_level=0.95)]
[6.0, 39.0]

See ``docs/ranks.md`` for the formulas, what is exact and what is
approximated, and where the judge deliberately differs from Kayenta.
"""

from __future__ import annotations

import enum
import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats.errors import InsufficientDataWarning, SpecError
from canarystats.observations import Observations, Reason, Verdict
from canarystats.spec import Criterion
from canarystats.tolerances import BAD_DATA_MESSAGE, register_method

__all__ = [
    "MannWhitneyResult",
    "MetricClass",
    "MetricClassification",
    "RanksMethod",
    "RanksState",
    "ScoreClass",
    "ScoreResult",
    "classify_metric",
    "mann_whitney",
    "mann_whitney_binned",
    "score_groups",
]

_F = NDArray[np.float64]
_I = NDArray[np.int64]
_B = NDArray[np.bool_]

_ALTERNATIVES = ("two-sided", "less", "greater")
_METHODS = ("auto", "exact", "asymptotic")
#: R's ``wilcox.test`` uses the exact distribution when both sizes are below this.
_EXACT_BELOW = 50
#: Candidate differences gathered at once when the selection has narrowed enough.
_CAP = 2048
#: Pivots are drawn from this many candidate differences per pair and round.
_SAMPLE = 1024
#: Fixed seed of the pivot sampler: pivots change speed only, never results.
_PIVOT_SEED = 0x5EED


# --------------------------------------------------------------------------- validation


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SpecError(f"`{name}` must be one of {list(allowed)}, got {value!r}")
    return str(value)


def _check_level(value: Any) -> _F:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all((arr > 0) & (arr < 1)):
        raise SpecError(f"`confidence_level` must lie in (0, 1), got {value!r}")
    return arr


def _as_pairs(x: ArrayLike, y: ArrayLike, axis: int) -> tuple[_F, _F, tuple[int, ...]]:
    """Move ``axis`` last, broadcast the batch shapes, flatten to (B, n)."""
    xa = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    ya = np.moveaxis(np.asarray(y, dtype=np.float64), axis, -1)
    if xa.ndim == 0 or ya.ndim == 0:
        raise SpecError("`x` and `y` must have at least one axis of samples")
    batch = np.broadcast_shapes(xa.shape[:-1], ya.shape[:-1])
    xb = np.broadcast_to(xa, (*batch, xa.shape[-1])).reshape(-1, xa.shape[-1])
    yb = np.broadcast_to(ya, (*batch, ya.shape[-1])).reshape(-1, ya.shape[-1])
    return xb, yb, tuple(batch)


def _out(arr: NDArray[Any], batch: tuple[int, ...]) -> Any:
    res = arr.reshape(batch)
    return res[()] if res.ndim == 0 else res


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


def _pwilcox(q: _F, m: int, n: int) -> _F:
    """``P(W <= q)`` (R's ``pwilcox``), q floored."""
    cdf, _ = _wilcox_dist(m, n)
    qi = np.floor(q)
    out = np.where(qi < 0, 0.0, 1.0)
    inside = (qi >= 0) & (qi < m * n)
    out[inside] = cdf[qi[inside].astype(np.int64)]
    return out


def _psf(q: _F, m: int, n: int) -> _F:
    """``P(W >= q)`` for integer q."""
    _, sf = _wilcox_dist(m, n)
    qi = np.ceil(q)
    out = np.where(qi <= 0, 1.0, 0.0)
    inside = (qi > 0) & (qi <= m * n)
    out[inside] = sf[qi[inside].astype(np.int64)]
    return out


def _qwilcox(p: _F, m: int, n: int) -> _I:
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


def _rank_sums(xs: _F, ys: _F) -> tuple[_F, _F]:
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
    return rank_sum, ties


def _within_ties(s: _F) -> _F:
    """``sum(t^3 - t)`` over the tie groups of sorted, NaN-padded rows."""
    out = np.zeros(s.shape[0])
    tied = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
    if tied.size:
        out[tied] = _tie_groups(s[tied], ~np.isnan(s[tied]))[1]
    return out


# --------------------------------------------------------------------------- order statistics


def _count_le(xs: _F, ys_flat: _F, base: _I, qlo: _I, qhi: _I, piv: _F) -> _I:
    """Per row i: the number of j with ``fl(x_i - y_j) <= piv``, searched in [qlo, qhi].

    Row i's r-th smallest difference is ``x_i - y[ny - r]`` (y sorted
    ascending), non-decreasing in r; ``base`` is the flat index of
    ``y[b, ny_b]`` so that ``y[ny - r]`` is ``ys_flat[base - r]``. A binary
    search on the rows whose window is not yet closed, compacted as they close.
    """
    m = xs.shape[1]
    out = qlo.copy().ravel()
    idx = np.flatnonzero(qlo.ravel() < qhi.ravel())
    if idx.size == 0:
        return out.reshape(qlo.shape)
    xv = xs.ravel()[idx]
    bv = base.ravel()[idx]
    pv = piv[idx // m]
    lo = out[idx]
    hi = qhi.ravel()[idx]
    while idx.size:
        mid = (lo + hi + 1) >> 1
        ok = (xv - ys_flat[bv - mid]) <= pv
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid - 1)
        fin = lo >= hi
        if fin.any():
            out[idx[fin]] = lo[fin]
            keep = ~fin
            idx, xv, bv, pv, lo, hi = idx[keep], xv[keep], bv[keep], pv[keep], lo[keep], hi[keep]
    return out.reshape(qlo.shape)


def _candidates(xs: _F, ys_flat: _F, base: _I, qlo: _I, cnt: _I, t: _I) -> _F:
    """Values of the candidates number ``t`` (per pair, row-major) between two brackets."""
    n_pairs, m = xs.shape
    flat_cnt = cnt.ravel()
    ends = np.cumsum(flat_cnt)
    pair_start = ends[np.arange(n_pairs) * m + m - 1] - cnt.sum(axis=1)
    g = pair_start[:, None] + t
    row = np.searchsorted(ends, g, side="right")
    off = g - (ends[row] - flat_cnt[row])
    r = qlo.ravel()[row] + 1 + off
    vals = xs.ravel()[row] - ys_flat[base.ravel()[row] - r]
    return np.asarray(vals, dtype=np.float64)


def _select(xs: _F, ys: _F, nx: _I, ny: _I, k: _I) -> _F:
    """The k-th smallest (1-based) of ``{x_i - y_j}`` per row, without forming them all.

    ``xs``, ``ys`` are sorted ascending with NaN padding at the end; rows
    with ``k`` outside ``[1, nx*ny]`` give NaN. The differences are the
    floating-point ones R sorts (``outer(x, y, "-")``), so the result is
    exactly R's ``diffs[k]``. A batched randomized selection (in the spirit
    of Monahan 1984): per row of the implicit sorted matrix a window of
    candidate ranks, narrowed by two pivots drawn from the candidates, then
    the few remaining candidates are gathered and sorted. The fixed-seed
    sampler changes only the speed.
    """
    n_pairs, m = xs.shape
    n = ys.shape[1]
    out = np.full(n_pairs, np.nan)
    total = nx * ny
    ok = (total > 0) & (k >= 1) & (k <= total)
    if not ok.any() or n == 0:
        return out
    rng = np.random.default_rng(_PIVOT_SEED)
    rows = np.flatnonzero(ok)
    xs, ys, nx, ny, k = xs[rows], ys[rows], nx[rows], ny[rows], k[rows]
    b_n = rows.size
    ys_flat = ys.ravel()
    base = (np.arange(b_n) * n + ny)[:, None] * np.ones((1, m), dtype=np.int64)
    in_x = np.arange(m)[None, :] < nx[:, None]
    qlo = np.zeros((b_n, m), dtype=np.int64)
    qhi = np.where(in_x, ny[:, None], 0).astype(np.int64)
    c_lo = np.zeros(b_n, dtype=np.int64)
    c_hi = total[rows].astype(np.int64)
    upper = np.full(b_n, np.inf)
    done = np.zeros(b_n, dtype=bool)
    result = np.full(b_n, np.nan)
    while True:
        cnt = qhi - qlo
        size = c_hi - c_lo
        gather = ~done & (size <= _CAP)
        if gather.any():
            g = np.flatnonzero(gather)
            width = int(size[g].max())
            vals = np.full((g.size, width), np.inf)
            gc = cnt[g]
            flat = gc.ravel()
            rep = np.repeat(np.arange(flat.size), flat)
            starts = np.cumsum(flat) - flat
            off = np.arange(rep.size) - starts[rep]
            rr = qlo[g].ravel()[rep] + 1 + off
            pb = rep // m
            pstart = np.cumsum(size[g]) - size[g]
            pos = np.arange(rep.size) - pstart[pb]
            vals[pb, pos] = xs[g].ravel()[rep] - ys_flat[base[g].ravel()[rep] - rr]
            vals.sort(axis=1)
            result[g] = vals[np.arange(g.size), k[g] - c_lo[g] - 1]
            done[g] = True
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        a_cnt = cnt[act]
        a_size = size[act]
        t = np.floor(rng.random((act.size, _SAMPLE)) * a_size[:, None]).astype(np.int64)
        t = np.minimum(t, a_size[:, None] - 1)
        samp = _candidates(xs[act], ys_flat, base[act], qlo[act], a_cnt, t)
        samp.sort(axis=1)
        # the smallest candidate: if it equals the upper bracket, all candidates tie
        first = np.where(a_cnt > 0, qlo[act] + 1, 0)
        with np.errstate(invalid="ignore"):
            row_min = np.where(
                a_cnt > 0, xs[act] - ys_flat[np.where(a_cnt > 0, base[act] - first, 0)], np.inf
            )
        cmin = row_min.min(axis=1)
        tied = cmin >= upper[act]
        if tied.any():
            result[act[tied]] = upper[act[tied]]
            done[act[tied]] = True
            keep = ~tied
            act, samp, cmin, a_size = act[keep], samp[keep], cmin[keep], a_size[keep]
            if act.size == 0:
                continue
        frac = (k[act] - c_lo[act] - 0.5) / a_size
        # the target's rank among the sampled candidates is about binomial(_SAMPLE, frac)
        spread = 3.0 * np.sqrt(_SAMPLE * frac * (1 - frac)) + 2.0
        i1 = np.clip(np.floor(frac * _SAMPLE - spread), 0, _SAMPLE - 1).astype(np.int64)
        i2 = np.clip(np.ceil(frac * _SAMPLE + spread), 0, _SAMPLE - 1).astype(np.int64)
        ar = np.arange(act.size)
        p1 = samp[ar, i1]
        p2 = samp[ar, i2]
        p1 = np.where(p1 >= upper[act], cmin, p1)  # guarantees progress
        q1 = _count_le(xs[act], ys_flat, base[act], qlo[act], qhi[act], p1)
        q2 = _count_le(xs[act], ys_flat, base[act], qlo[act], qhi[act], p2)
        c1 = q1.sum(axis=1)
        c2 = q2.sum(axis=1)
        kk = k[act]
        below2 = c2 < kk  # both pivots below the target: raise the lower bracket to p2
        below1 = ~below2 & (c1 < kk)  # target between the pivots
        above = ~below2 & ~below1  # target at or below p1
        new_qlo = np.where(below2[:, None], q2, np.where(below1[:, None], q1, qlo[act]))
        new_clo = np.where(below2, c2, np.where(below1, c1, c_lo[act]))
        new_qhi = np.where(below1[:, None], q2, np.where(above[:, None], q1, qhi[act]))
        new_chi = np.where(below1, c2, np.where(above, c1, c_hi[act]))
        new_up = np.where(below1, p2, np.where(above, p1, upper[act]))
        qlo[act], c_lo[act] = new_qlo, new_clo
        qhi[act], c_hi[act], upper[act] = new_qhi, new_chi, new_up
    out[rows] = result
    return out


# --------------------------------------------------------------------------- fast batched selection

#: Pairs with at most this many differences are selected by sorting all of them.
_DIRECT = 4096
#: Grid sample size per pair (every x row, about _GRID / n_x columns each).
_GRID = 1536
#: First bracket margin, in ranks, on either side of the target ranks.
_MARGIN = 256
#: Largest window (differences between two pivots) gathered and sorted per target.
_WINDOW = 1 << 14
#: Bracketing rounds before the remaining targets go to :func:`_select`.
_ROUNDS = 4
#: Elements sorted per chunk when gathering windows or all differences.
_CHUNK = 1 << 22
#: Samples per block of pairs processed together (x or y values).
_BLOCK = 1 << 17
#: Relative rounding allowance of the counts (a few hundred ulps: generous).
_ROUNDING = 2.0**-44


def _select_direct(xs: _F, ys: _F, nx: _I, ny: _I, ks: _I) -> _F:
    """Order statistics by sorting all differences of small pairs (chunked)."""
    b_n, m = xs.shape
    n = ys.shape[1]
    out = np.full(ks.shape, np.nan)
    step = max(1, _CHUNK // max(m * n, 1))
    for s in range(0, b_n, step):
        d = (xs[s : s + step, :, None] - ys[s : s + step, None, :]).reshape(-1, m * n)
        d[np.isnan(d)] = np.inf
        d.sort(axis=1)
        kk = ks[s : s + step]
        ok = (kk >= 1) & (kk <= (nx * ny)[s : s + step, None])
        v = np.take_along_axis(d, np.clip(kk - 1, 0, max(m * n - 1, 0)), axis=1)
        out[s : s + step] = np.where(ok, v, np.nan)
    return out


@attrs.frozen
class _Counter:
    """Per-row counts ``#{j: x_i - y_j <= p}`` for one pivot per pair, all pairs in one search.

    Each pair's y are mapped by ``v -> 16 b + (v - centre) / R`` (``R`` the
    sum of the two samples' ranges) into its own slot of one sorted array
    (padding at ``16 b + 6``), so one :func:`numpy.searchsorted` serves every
    pair. Pivots are clipped to within ``R`` of the differences' range (which
    changes no count), so every query ``x_i - p``, mapped the same way, lands
    within ``16 b +- 3``; an exact tie ``x_i - p == y_j`` stays a tie. The map
    rounds, so a count can misplace a difference within :meth:`tolerance` of
    the pivot; callers verify.
    """

    xs: _F
    tx: _F | None  # the mapped x, when there are no ties
    ny: _I
    pad_x: _B | None  # rows of x padding (counted 0), None if there is none
    center: _F
    scale: _F
    slots: _F
    flat: _F
    end: _I  # flat index one past each pair's last sample of y
    low: _F  # pivots are clipped to [low, high]
    high: _F
    slack: _F

    @classmethod
    def build(cls, xs: _F, ys: _F, nx: _I, ny: _I) -> _Counter:
        b_n, m = xs.shape
        n = ys.shape[1]
        ar = np.arange(b_n)
        y_lo, y_hi = ys[:, 0], ys[ar, np.maximum(ny - 1, 0)]
        x_lo, x_hi = xs[:, 0], xs[ar, np.maximum(nx - 1, 0)]
        with np.errstate(invalid="ignore"):
            span = np.nan_to_num((x_hi - x_lo) + (y_hi - y_lo))
            span = np.where(span > 0, span, 1.0)
            center = np.nan_to_num((y_lo + y_hi) / 2)
            slots = np.asarray(16.0 * ar, dtype=np.float64)
            ty = slots[:, None] + (ys - center[:, None]) / span[:, None]
        ty = np.where(np.arange(n)[None, :] < ny[:, None], ty, slots[:, None] + 6.0)
        pad = np.isnan(xs)
        xi = np.where(pad, 0.0, xs)
        # without ties inside x or y (continuous data) queries are mapped as
        # ``tx - p / R`` (one operation; an exact tie at the pivot may round either way,
        # which the callers' tolerance covers); with ties, as ``(x - p - centre) / R``
        # so that lattice data keep their exact ties
        tied = bool((xs[:, 1:] == xs[:, :-1]).any() or (ys[:, 1:] == ys[:, :-1]).any())
        tx = None if tied else slots[:, None] + (xi - center[:, None]) / span[:, None]
        big = np.nan_to_num(np.fmax(np.fmax(np.abs(x_lo), np.abs(x_hi)),
                                    np.fmax(np.abs(y_lo), np.abs(y_hi))))
        slack = ((slots + 8.0) * span + 2 * big) * _ROUNDING
        low = np.nan_to_num(x_lo - y_hi) - span
        high = np.nan_to_num(x_hi - y_lo) + span
        scale = np.asarray(1.0 / span, dtype=np.float64)
        return cls(xi, tx, ny, pad if pad.any() else None, center, scale, slots,
                   ty.ravel(), ar * n + ny, low, high, slack)

    def tolerance(self, p: _F, rows: _I) -> _F:
        """A bound on how far from ``p`` a difference the count misplaced can be."""
        tol = self.slack[rows] + np.abs(p) * _ROUNDING
        return np.asarray(np.where(np.isfinite(p), tol, 0.0), dtype=np.float64)

    def __call__(self, p: _F, rows: _I | None = None, strict: _B | None = None) -> _I:
        """Counts at pivots ``p`` of pairs ``rows``; ``strict``: count ``< p`` instead."""
        c, s, o, end = self.center, self.scale, self.slots, self.end
        low, high, pad = self.low, self.high, self.pad_x
        if rows is not None:
            c, s, o, end = c[rows], s[rows], o[rows], end[rows]
            low, high = low[rows], high[rows]
            pad = None if pad is None else pad[rows]
        p = np.clip(p, low, high)
        if self.tx is not None:
            q = (self.tx if rows is None else self.tx[rows]) - (p * s)[:, None]
        else:
            q = (self.xs if rows is None else self.xs[rows]) - p[:, None]
            q -= c[:, None]
            q *= s[:, None]
            q += o[:, None]
        pos = np.searchsorted(self.flat, q.ravel()).reshape(q.shape)
        if strict is not None and strict.any():
            pos[strict] = np.searchsorted(self.flat, q[strict].ravel(), side="right").reshape(
                -1, q.shape[1]
            )
        cnt = end[:, None] - pos
        if pad is not None:
            cnt[pad] = 0
        return cnt


def _grid_sample(xs: _F, ys: _F, nx: _I, ny: _I) -> tuple[_F, _I]:
    """A sorted stratified sample of the differences: every x row, evenly spaced columns.

    Row ``i`` takes ``cols`` columns at offsets ``(t + u_i) / cols`` of its
    sorted y, ``u_i`` a golden-ratio sequence: quantiles of this sample are
    far closer to the true ones than those of a random sample of its size.
    """
    b_n, m = xs.shape
    cols = min(max(1, -(-_GRID // m)), ys.shape[1])
    u = (np.arange(m) * 0.6180339887498949) % 1.0
    frac = (np.arange(cols)[None, :] + u[:, None]) / cols
    if np.all(ny == ny[0]):  # one set of columns for every pair
        yv = ys[:, np.floor(frac * ny[0]).astype(np.int64)]
    else:
        j = np.floor(frac[None, :, :] * ny[:, None, None]).astype(np.int64)
        yv = np.take_along_axis(ys, j.reshape(b_n, -1), axis=1).reshape(b_n, m, cols)
    samp = np.subtract(xs[:, :, None], yv, out=yv).reshape(b_n, -1)
    if np.isnan(xs[:, -1]).any() or np.isnan(ys[:, -1]).any():
        samp[np.isnan(samp)] = np.inf
    samp.sort(axis=1)
    return samp, nx * cols


def _gather(
    xs: _F, ys: _F, ny: _I, qa: _I, qb: _I, ca: _I, ks: _I, in_x: _B, lo: _F, hi: _F
) -> tuple[_F, _B]:
    """The ``ks``-th smallest differences from the windows ``(qa_i, qb_i]`` of each row.

    Returns the values and whether each is verified: every difference left
    of the windows ``<=`` it and every one right of them ``>=`` it (then it is
    the exact order statistic, whatever rounding the counts suffered). The
    counts misplace only differences within their tolerance of the pivots,
    so a value inside ``(lo, hi)`` (the pivots narrowed by it) is verified at
    once; others are checked against each row's neighbours of its window.
    """
    a_n, m = qa.shape
    n = ys.shape[1]
    out = np.full(ks.shape, np.nan)
    good = np.zeros(ks.shape, dtype=bool)
    cnt = qb - qa
    size = cnt.sum(axis=1)
    order = np.argsort(size, kind="stable")
    sizes = np.maximum(size[order], 1)
    start = 0
    while start < a_n:
        # pairs by increasing window size, as many as fit in one chunk with little
        # padding (at most a quarter of the smallest window)
        fill = np.arange(1, a_n - start + 1) * sizes[start:]
        stop = start + max(int(np.searchsorted(fill, _CHUNK, side="right")), 1)
        close = np.searchsorted(sizes, sizes[start] * 1.25 + 16, side="right")
        stop = max(min(stop, int(close)), start + 1)
        g = order[start:stop]
        width = int(sizes[stop - 1])
        # each pair's window rows, then a filler row of +inf up to the common width,
        # laid out flat so that the result reshapes to (pairs, width) directly
        c = np.concatenate([cnt[g], (width - size[g])[:, None]], axis=1).ravel()
        xv = np.concatenate([xs[g], np.full((g.size, 1), np.inf)], axis=1).ravel()
        # flat index into ys of each row's first window element (position qa + 1)
        top = (g * n + ny[g])[:, None] - qa[g] - 1
        head = np.concatenate([top, top[:, :1]], axis=1).ravel()
        # runs of consecutive y indices (descending) per row, built by one cumsum of
        # steps (np.repeat is slow on many short runs), and the row of each element
        run = np.flatnonzero(c)
        length, head = c[run], head[run]
        begin = np.cumsum(length) - length
        step = np.full(g.size * width, -1, dtype=np.int64)
        step[begin] = head - np.concatenate([[0], head[:-1] - length[:-1] + 1])
        jump = np.zeros(g.size * width, dtype=np.int64)
        jump[begin] = np.diff(run, prepend=0)
        yv = np.take(ys, np.cumsum(step), mode="clip")
        with np.errstate(invalid="ignore"):
            vals = (xv[np.cumsum(jump)] - yv).reshape(g.size, width)
        vals.sort(axis=1)
        kk = ks[g] - ca[g][:, None]
        ok = (kk >= 1) & (kk <= size[g][:, None])
        v = np.take_along_axis(vals, np.clip(kk - 1, 0, width - 1), axis=1)
        out[g] = v
        inside = ok & (v > lo[g][:, None]) & (v < hi[g][:, None])
        good[g] = inside
        check = np.flatnonzero(ok.any(axis=1) & ~inside.all(axis=1))
        if check.size:
            gc = g[check]
            xg, yg, nyg, qag, qbg = xs[gc], ys[gc], ny[gc][:, None], qa[gc], qb[gc]
            with np.errstate(invalid="ignore"):
                left = xg - np.take_along_axis(yg, np.clip(nyg - qag, 0, n - 1), axis=1)
                right = xg - np.take_along_axis(yg, np.clip(nyg - qbg - 1, 0, n - 1), axis=1)
            l_max = np.where(in_x[gc] & (qag > 0), left, -np.inf).max(axis=1)
            r_min = np.where(in_x[gc] & (qbg < nyg), right, np.inf).min(axis=1)
            vc = v[check]
            good[gc] = ok[check] & (l_max[:, None] <= vc) & (r_min[:, None] >= vc)
        start = stop
    return out, good


def _tied(xs: _F, ys: _F, ny: _I, qa: _I, qb: _I, in_x: _B) -> tuple[_F, _B]:
    """Whether every difference of the windows ``(qa_i, qb_i]`` is one value, verified
    against the windows' neighbours (then that value is every rank inside)."""
    n = ys.shape[1]
    nyc = ny[:, None]

    def at(pos: _I) -> _F:  # the difference at 1-based row position ``pos``
        j = np.clip(nyc - pos, 0, n - 1)
        return np.asarray(xs - np.take_along_axis(ys, j, axis=1), dtype=np.float64)

    with np.errstate(invalid="ignore"):
        filled = in_x & (qb > qa)
        first = np.where(filled, at(qa + 1), np.inf).min(axis=1)
        last = np.where(filled, at(qb), -np.inf).max(axis=1)
        left = np.where(in_x & (qa > 0), at(qa), -np.inf).max(axis=1)
        right = np.where(in_x & (qb < nyc), at(qb + 1), np.inf).min(axis=1)
    return first, (first == last) & (left <= first) & (right >= first)


def _select_many(xs: _F, ys: _F, nx: _I, ny: _I, ks: _I) -> _F:
    """The ``ks[b, t]``-th smallest (1-based) of ``{x_i - y_j}`` per pair ``b``, batched.

    ``xs``, ``ys`` are sorted ascending with NaN padding at the end; ranks
    outside ``[1, nx*ny]`` give NaN. Small pairs sort all their differences.
    Larger pairs bracket each group of adjacent target ranks between two
    pivots: first from the quantiles of a stratified grid sample, later by
    interpolating the counts found so far (regula falsi), with the margin
    widened after a miss. Every pivot is counted for all pairs in one
    :func:`numpy.searchsorted`; the differences between the pivots are
    gathered, sorted and the result verified against the neighbours of the
    window, so it is exactly R's ``sort(outer(x, y, "-"))[k]``. Targets left
    after a few rounds (heavy ties, odd shapes) go to :func:`_select`.
    """
    ks = np.asarray(ks, dtype=np.int64)
    out = np.full(ks.shape, np.nan)
    total = nx * ny
    valid = (ks >= 1) & (ks <= total[:, None])
    small = np.flatnonzero((total <= _DIRECT) & valid.any(axis=1))
    if small.size:
        out[small] = _select_direct(xs[small], ys[small], nx[small], ny[small], ks[small])
    big = np.flatnonzero((total > _DIRECT) & valid.any(axis=1))
    # in chunks of pairs: arrays that stay in cache and in the allocator's pool
    step = max(1, _BLOCK // max(xs.shape[1], ys.shape[1], 1))
    for s in range(0, big.size, step):
        c = big[s : s + step]
        out[c] = _select_large(xs[c], ys[c], nx[c], ny[c], ks[c], valid[c])
    return out


def _select_large(xs: _F, ys: _F, nx: _I, ny: _I, ks: _I, valid: _B) -> _F:
    b_n, m = xs.shape
    total = (nx * ny).astype(np.float64)
    res = np.full(ks.shape, np.nan)
    done = ~valid
    samp, size = _grid_sample(xs, ys, nx, ny)
    count = _Counter.build(xs, ys, nx, ny)
    in_x = np.arange(m)[None, :] < nx[:, None]
    # adjacent target columns (the two middle ranks) share a bracket
    groups: list[list[int]] = []
    for col in range(ks.shape[1]):
        prev = groups[-1][-1] if groups else -1
        step = ks[:, col] - ks[:, prev] if prev >= 0 else None
        if step is not None and bool(np.all((step >= 0) & (step <= 1) | ~valid[:, col])):
            groups[-1].append(col)
        else:
            groups.append([col])
    for g in groups:
        kg = np.where(valid[:, g], ks[:, g], 0)
        k1 = np.where(valid[:, g], ks[:, g], np.iinfo(np.int64).max).min(axis=1)
        k2 = kg.max(axis=1)
        rows = np.flatnonzero(valid[:, g].any(axis=1))
        # the tightest known pivots below and above the targets, with their counts
        # (``lo_s``: that count was strict, ``< lo_p``)
        lo_p, lo_c, lo_s = np.full(b_n, -np.inf), np.zeros(b_n), np.zeros(b_n, dtype=bool)
        hi_p, hi_c = np.full(b_n, np.inf), total.copy()
        # and each row's count at them (reused, not recounted)
        lo_q = np.zeros((b_n, m), dtype=np.int64)
        hi_q = np.where(in_x, ny[:, None], 0)
        margin = np.full(b_n, float(_MARGIN))
        miss_lo, miss_hi = np.zeros(b_n, dtype=bool), np.zeros(b_n, dtype=bool)
        for rnd in range(_ROUNDS):
            if rows.size == 0:
                break
            r = rows
            t_lo, t_hi = k1[r] - margin[r], k2[r] + margin[r]
            a = _predict(rnd, r, t_lo, samp, size, total, lo_p, lo_c, hi_p, hi_c)
            b = _predict(rnd, r, t_hi, samp, size, total, lo_p, lo_c, hi_p, hi_c)
            # known pivots within the margins are used as they are; a lower pivot at or
            # above a known upper one means the targets sit in the tie block at hi_p:
            # count strictly below it
            # (and so is the known pivot on a side that missed last round: the counts
            # may be a step, which interpolation does not cross)
            use_lo = (t_lo - margin[r] <= lo_c[r]) | (miss_lo[r] & np.isfinite(lo_p[r]))
            a = np.where(use_lo, lo_p[r], np.maximum(a, lo_p[r]))
            strict = np.where(use_lo, lo_s[r], a >= hi_p[r])
            a = np.where(a >= hi_p[r], hi_p[r], a)
            use_hi = (t_hi + margin[r] >= hi_c[r]) | (b <= lo_p[r])
            use_hi |= miss_hi[r] & np.isfinite(hi_p[r])
            b = np.where(use_hi, hi_p[r], np.minimum(b, hi_p[r]))
            a = np.where(t_lo < 1, -np.inf, a)  # the window reaches the ends
            strict &= np.isfinite(a)
            b = np.where(t_hi > total[r], np.inf, b)
            qa = _counts(count, a, r, b_n, (a == lo_p[r]) & (strict == lo_s[r]), lo_q, strict)
            qb = _counts(count, b, r, b_n, b == hi_p[r], hi_q, None)
            ca, cb = qa.sum(axis=1), qb.sum(axis=1)
            for p, q, c, st in ((a, qa, ca, strict), (b, qb, cb, np.zeros(r.size, dtype=bool))):
                below = (c < k1[r]) & ((c > lo_c[r]) | ((c == lo_c[r]) & (p > lo_p[r])))
                rb = r[below]
                lo_p[rb], lo_c[rb], lo_s[rb], lo_q[rb] = p[below], c[below], st[below], q[below]
                above = (c >= k2[r]) & ((c < hi_c[r]) | ((c == hi_c[r]) & (p < hi_p[r])))
                ra = r[above]
                hi_p[ra], hi_c[ra], hi_q[ra] = p[above], c[above], q[above]
            hit = (ca < k1[r]) & (cb >= k2[r])
            miss_lo[r], miss_hi[r] = ca >= k1[r], cb < k2[r]
            wide = np.flatnonzero(hit & (cb - ca > _WINDOW))
            if wide.size:  # a wide window may be one tie block (heavy ties)
                rw = r[wide]
                v, good = _tied(xs[rw], ys[rw], ny[rw], qa[wide], qb[wide], in_x[rw])
                for col in g:
                    ok = good & valid[rw, col]
                    res[rw[ok], col] = v[ok]
                    done[rw[ok], col] = True
            take = np.flatnonzero(hit & (cb - ca <= _WINDOW))
            if take.size:
                rg = r[take]
                pa, pb = a[take], b[take]
                vals, good = _gather(
                    xs[rg], ys[rg], ny[rg], qa[take], qb[take], ca[take], ks[rg][:, g],
                    in_x[rg], pa + count.tolerance(pa, rg), pb - count.tolerance(pb, rg),
                )
                for j, col in enumerate(g):
                    # an unverified value (rounding at a pivot) is left to _select
                    ok = good[:, j] & valid[rg, col]
                    res[rg[ok], col] = vals[ok, j]
                    done[rg[ok], col] = True
            # a miss widens the margin; a hit with too wide a window narrows it
            margin[r] = np.where(hit, np.maximum(margin[r] / 4.0, 8.0), margin[r] * 2.0)
            keep = np.asarray(~done[r][:, g].all(axis=1), dtype=bool)
            keep[take] = False
            rows = r[keep]
    for col in range(ks.shape[1]):
        left = np.flatnonzero(~done[:, col])
        if left.size:
            res[left, col] = _select(xs[left], ys[left], nx[left], ny[left], ks[left, col])
    return res


def _counts(
    count: _Counter, p: _F, r: _I, b_n: int, known: _B, known_q: _I, strict: _B | None
) -> _I:
    """Per-row counts at pivots ``p`` of pairs ``r``, reusing those of known pivots."""
    if not known.any():
        return count(p, None if r.size == b_n else r, strict)
    q = known_q[r]
    new = np.flatnonzero(~known)
    if new.size:
        q[new] = count(p[new], r[new], None if strict is None else strict[new])
    return q


def _predict(
    rnd: int, r: _I, target: _F, samp: _F, size: _I, total: _F,
    lo_p: _F, lo_c: _F, hi_p: _F, hi_c: _F,
) -> _F:
    """A pivot whose count should be about ``target``: a sample quantile, then regula falsi."""
    s = size[r]
    idx = np.clip(np.floor((target - 0.5) / total[r] * s).astype(np.int64), 0, s - 1)
    guess = samp[r, idx]
    if rnd == 0:
        return np.asarray(guess, dtype=np.float64)
    h = np.maximum(s // 64, 1)
    i0, i1 = np.clip(idx - h, 0, s - 1), np.clip(idx + h, 0, s - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        # the sample's slope (differences per rank), for one-sided extrapolation
        slope = (samp[r, i1] - samp[r, i0]) / ((i1 - i0) / s * total[r])
        lp, lc, hp, hc = lo_p[r], lo_c[r], hi_p[r], hi_c[r]
        both = np.isfinite(lp) & np.isfinite(hp) & (hc > lc)
        inter = lp + (target - lc) * (hp - lp) / (hc - lc)
        from_lo = lp + (target - lc) * slope
        from_hi = hp + (target - hc) * slope
        pred = np.where(both, inter, np.where(np.isfinite(lp), from_lo, from_hi))
    pred = np.where(np.isfinite(pred), pred, guess)
    return np.asarray(pred, dtype=np.float64)


# --------------------------------------------------------------------------- result


@attrs.frozen(kw_only=True)
class MannWhitneyResult:
    """Result of :func:`mann_whitney` or :func:`mann_whitney_binned`.

    All fields have the broadcast batch shape (numpy scalars for one pair).

    Attributes
    ----------
    statistic : ndarray of float
        R's ``W``: the Mann-Whitney U of ``x``, ``#{x_i > y_j} + #{x_i = y_j} / 2``.
    pvalue : ndarray of float
        The p-value for ``alternative``.
    estimate : ndarray of float
        The Hodges-Lehmann shift of ``x`` relative to ``y``: the median of
        the ``n_x * n_y`` differences ``x_i - y_j``.
    prob : ndarray of float
        The common-language effect size ``P(X > Y) + P(X = Y) / 2 =
        statistic / (n_x * n_y)`` (0.5: no effect).
    n_x, n_y : ndarray of int
        Sample sizes after removing NaN.
    exact : ndarray of bool
        Whether the exact null distribution was used (else the normal
        approximation with tie and, if ``correct``, continuity corrections).
    alternative : str
        ``"two-sided"``, ``"less"`` or ``"greater"``.
    confidence_level : float
        The default level of :meth:`confidence_interval`.
    """

    statistic: Any
    pvalue: Any
    estimate: Any
    prob: Any
    n_x: Any
    n_y: Any
    exact: Any
    alternative: str
    confidence_level: Any
    _core: _Core = attrs.field(repr=False, alias="core")

    def confidence_interval(self, confidence_level: float | ArrayLike | None = None) -> Any:
        """The confidence interval of the shift, as R's ``conf.int``.

        Order statistics of the differences ``x_i - y_j`` at the critical
        ranks of the exact distribution (``qwilcox``) where the test is
        exact, of the normal approximation (tie and continuity corrected)
        otherwise; one-sided alternatives give an infinite bound.

        Returns
        -------
        (low, high) : tuple of ndarray of float
        """
        level = self.confidence_level if confidence_level is None else confidence_level
        low, high = self._core.interval(_check_level(level), self.alternative)
        return _out(low, self._core.batch), _out(high, self._core.batch)


@attrs.frozen(kw_only=True)
class _Core:
    """What confidence intervals need later: sizes, ties and an order-statistic picker."""

    batch: tuple[int, ...]
    nx: _I
    ny: _I
    exact: _B
    correct: bool
    ties_xy: _F  # sum(t^3 - t) within x plus within y (the ties at a generic shift)
    pick: Any  # callable: ranks (B, T) int -> the k-th smallest differences (B, T)
    memo: dict[bytes, tuple[_F, _F]] = attrs.field(factory=dict, eq=False, repr=False)

    def ranks_for(self, alpha: _F, alternative: str) -> tuple[_I, _I]:
        """1-based ranks of the interval's bounds (0: -inf, N + 1: +inf)."""
        nx = self.nx.astype(np.float64)
        ny = self.ny.astype(np.float64)
        total = nx * ny
        big = self.nx * self.ny
        a = np.broadcast_to(alpha, total.shape)
        two = alternative == "two-sided"
        tail = a / 2 if two else a
        # asymptotic: the shift where R's wdiff crosses its quantile is a jump of W(d)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_all = nx + ny
            sigma = np.sqrt(
                nx * ny / 12 * ((n_all + 1) - self.ties_xy / (n_all * (n_all - 1)))
            )
        z = special.ndtri(1 - tail)
        corr = 0.5 if self.correct else 0.0
        with np.errstate(invalid="ignore"):
            k_lo = np.floor(total / 2 - corr - z * sigma) + 1
            k_hi = np.floor(total / 2 + corr + z * sigma) + 1
        k_lo = np.clip(np.nan_to_num(k_lo, nan=1.0), 1, np.maximum(total, 1))
        k_hi = np.clip(np.nan_to_num(k_hi, nan=1.0), 1, np.maximum(total, 1))
        bad_sigma = ~(sigma > 0)
        k_lo_i = k_lo.astype(np.int64)
        k_hi_i = k_hi.astype(np.int64)
        # exact: R's qwilcox, per (n_x, n_y) group
        for mm, nn in _size_groups(self.nx, self.ny, self.exact):
            sel = self.exact & (self.nx == mm) & (self.ny == nn)
            qu = np.maximum(_qwilcox(tail[sel], mm, nn), 1)
            k_lo_i[sel] = qu
            k_hi_i[sel] = mm * nn - qu + 1
        k_lo_i = np.where(bad_sigma & ~self.exact, -1, k_lo_i)
        k_hi_i = np.where(bad_sigma & ~self.exact, -1, k_hi_i)
        if alternative == "less":
            k_lo_i = np.zeros_like(k_lo_i)
        elif alternative == "greater":
            k_hi_i = big + 1
        return k_lo_i, k_hi_i

    def values(
        self, level: _F, alternative: str, extra: Sequence[_I] = ()
    ) -> tuple[_F, _F, _F]:
        """The interval at ``level`` and the order statistics at the ranks ``extra``.

        All ranks are selected in one batched call (they share its brackets);
        the interval is remembered per level.
        """
        flat = np.broadcast_to(level, self.batch).reshape(-1)
        k_lo, k_hi = self.ranks_for(1 - flat, alternative)
        v = self.pick(np.stack([k_lo, *extra, k_hi], axis=1))
        big = self.nx * self.ny
        empty = big == 0
        low = np.where(empty, np.nan, np.where(k_lo == 0, -np.inf, v[:, 0]))
        high = np.where(empty, np.nan, np.where(k_hi == big + 1, np.inf, v[:, -1]))
        low.flags.writeable = False
        high.flags.writeable = False
        self.memo[np.ascontiguousarray(flat).tobytes()] = (low, high)
        return low, high, v[:, 1:-1]

    def interval(self, level: _F, alternative: str) -> tuple[_F, _F]:
        key = np.ascontiguousarray(np.broadcast_to(level, self.batch).reshape(-1)).tobytes()
        if key not in self.memo:
            self.values(level, alternative)
        return self.memo[key]


def _size_groups(nx: _I, ny: _I, mask: _B) -> list[tuple[int, int]]:
    if not mask.any():
        return []
    pairs = np.unique(np.stack([nx[mask], ny[mask]], axis=1), axis=0)
    return [(int(a), int(b)) for a, b in pairs]


def _test(
    w: _F,
    nx: _I,
    ny: _I,
    ties: _F,
    has_ties: _B,
    alternative: str,
    method: str,
    correct: bool,
) -> tuple[_F, _B]:
    """p-values of W as R's ``wilcox.test`` computes them, and where it was exact."""
    total = (nx * ny).astype(np.float64)
    small = (nx < _EXACT_BELOW) & (ny < _EXACT_BELOW)
    want = small if method == "auto" else np.full(nx.shape, method == "exact")
    exact = want & ~has_ties & (nx > 0) & (ny > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_all = (nx + ny).astype(np.float64)
        sigma = np.sqrt(total / 12 * ((n_all + 1) - ties / (n_all * (n_all - 1))))
        dz = w - total / 2
        corr: Any = 0.0
        if correct:
            corr = {"two-sided": np.sign(dz) * 0.5, "greater": 0.5, "less": -0.5}[alternative]
        z = (dz - corr) / sigma
    if alternative == "less":
        p = special.ndtr(z)
    elif alternative == "greater":
        p = special.ndtr(-z)
    else:
        p = 2 * np.minimum(special.ndtr(z), special.ndtr(-z))
    # all values tied (sigma = 0): no evidence of a shift (R returns NaN)
    p = np.where(sigma == 0, 1.0, p)
    for mm, nn in _size_groups(nx, ny, exact):
        sel = exact & (nx == mm) & (ny == nn)
        ws = w[sel]
        le = _pwilcox(ws, mm, nn)
        ge = _psf(ws, mm, nn)
        if alternative == "less":
            pe = le
        elif alternative == "greater":
            pe = ge
        else:
            pe = np.minimum(2 * np.where(ws > mm * nn / 2, ge, le), 1.0)
        p[sel] = pe
    p = np.where((nx == 0) | (ny == 0), np.nan, p)
    return np.minimum(p, 1.0), exact


# --------------------------------------------------------------------------- raw samples


def mann_whitney(
    x: ArrayLike,
    y: ArrayLike,
    *,
    alternative: str = "two-sided",
    method: str = "auto",
    correct: bool = True,
    confidence_level: float | ArrayLike = 0.95,
    axis: int = -1,
) -> MannWhitneyResult:
    """Wilcoxon-Mann-Whitney test with the Hodges-Lehmann shift, vectorized.

    Parameters
    ----------
    x, y : array_like of float, shape (..., n_x) and (..., n_y)
        Samples along ``axis``, padded with NaN (NaN is no sample); batch
        shapes broadcast. ``x`` is the candidate in a canary comparison.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"greater"``: ``x`` is shifted up relative to ``y``.
    method : {"auto", "exact", "asymptotic"}, default "auto"
        ``"auto"`` follows R: exact when both sizes are below 50 and there
        are no ties. ``"exact"`` still falls back to the normal
        approximation on ties (as R does with ``exact=TRUE``).
    correct : bool, default True
        Continuity correction of the normal approximation (R's ``correct``).
    confidence_level : float or array_like, default 0.95
        Default level of :meth:`MannWhitneyResult.confidence_interval`.
    axis : int, default -1
        The axis of samples.

    Returns
    -------
    MannWhitneyResult

    Notes
    -----
    ``W = sum(ranks of x) - n_x (n_x + 1) / 2`` with average ranks. The exact
    p-value sums the null distribution of W (Hollander & Wolfe 1999, sec.
    4.1); the asymptotic one is ``(W - n_x n_y / 2 - c) / sigma`` with
    ``sigma^2 = n_x n_y / 12 (n + 1 - sum(t^3 - t) / (n (n - 1)))`` and
    ``c = sign * 0.5``. The estimate is the median of the differences and the
    interval their order statistics at the critical ranks (Hollander & Wolfe
    1999, sec. 4.3; Bauer 1972). Where R root-finds the asymptotic interval
    and estimate (``uniroot``, tolerance 1e-4), this function returns the
    order statistic R's root brackets, exactly: the two agree to about 1e-4
    times the data's scale. Slices with an infinite value, or an empty
    sample, give NaN.

    References
    ----------
    Hollander, M. and Wolfe, D. A. (1999). *Nonparametric Statistical
    Methods*, 2nd ed., Wiley. Bauer, D. F. (1972). Constructing confidence
    sets using rank statistics. *JASA* 67, 687-690.

    Examples
    --------
    R's ``?wilcox.test`` example, ``wilcox.test(x, y, alternative = "g")``
    (W = 35, p-value = 0.1272):

    >>> x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    >>> y = [1.15, 0.88, 0.90, 0.74, 1.21]
    >>> r = mann_whitney(x, y, alternative="greater")
    >>> float(r.statistic), round(float(r.pvalue), 4), bool(r.exact)
    (35.0, 0.1272, True)
    """
    alternative = _check_choice("alternative", alternative, _ALTERNATIVES)
    method = _check_choice("method", method, _METHODS)
    level = _check_level(confidence_level)
    xb, yb, batch = _as_pairs(x, y, axis)
    bad: _B = np.asarray(np.isinf(xb).any(axis=1) | np.isinf(yb).any(axis=1))
    if bad.any():
        xb = np.where(bad[:, None], np.nan, xb)
        yb = np.where(bad[:, None], np.nan, yb)
    xs = np.sort(xb, axis=1)
    ys = np.sort(yb, axis=1)
    nx = np.count_nonzero(~np.isnan(xs), axis=1).astype(np.int64)
    ny = np.count_nonzero(~np.isnan(ys), axis=1).astype(np.int64)
    w, ties = _rank_sums(xs, ys)
    w -= nx * (nx + 1) / 2.0
    has_ties = ties > 0
    p, exact = _test(w, nx, ny, ties, has_ties, alternative, method, correct)
    ties_xy = _within_ties(xs) + _within_ties(ys)

    def pick(k: _I) -> _F:
        return _select_many(xs, ys, nx, ny, k)

    return _finish(w, p, exact, nx, ny, ties_xy, pick, batch, alternative, level, correct)


def _finish(
    w: _F,
    p: _F,
    exact: _B,
    nx: _I,
    ny: _I,
    ties_xy: _F,
    pick: Any,
    batch: tuple[int, ...],
    alternative: str,
    level: _F,
    correct: bool,
) -> MannWhitneyResult:
    total = nx * ny
    half = total // 2
    odd = total % 2 == 1
    core = _Core(
        batch=batch, nx=nx, ny=ny, exact=exact, correct=correct, ties_xy=ties_xy, pick=pick
    )
    # the two middle ranks and the default interval's ranks, selected together
    _, _, mid = core.values(level, alternative, (np.where(odd, half + 1, half), half + 1))
    v1, v2 = mid[:, 0], mid[:, 1]
    with np.errstate(invalid="ignore"):
        estimate = np.where(odd, v1, (v1 + v2) / 2)
        prob = w / total
    empty = total == 0
    w = np.where(empty, np.nan, w)
    return MannWhitneyResult(
        statistic=_out(w, batch),
        pvalue=_out(p, batch),
        estimate=_out(estimate, batch),
        prob=_out(prob, batch),
        n_x=_out(nx, batch),
        n_y=_out(ny, batch),
        exact=_out(exact, batch),
        alternative=alternative,
        confidence_level=level[()] if level.ndim == 0 else level,
        core=core,
    )


# --------------------------------------------------------------------------- histogram buckets


def mann_whitney_binned(
    counts_x: ArrayLike,
    counts_y: ArrayLike,
    bounds: ArrayLike,
    *,
    alternative: str = "two-sided",
    method: str = "auto",
    correct: bool = True,
    confidence_level: float | ArrayLike = 0.95,
) -> MannWhitneyResult:
    """The rank test, shift estimate and effect size from histogram bucket counts.

    Parameters
    ----------
    counts_x, counts_y : array_like of float, shape (..., n_buckets)
        Counts per bucket (not cumulative) of the two samples; batch shapes
        broadcast. Counts are rounded to integers (Prometheus' ``increase()``
        gives fractions); NaN or negative counts make the slice NaN.
    bounds : array_like of float, shape (n_buckets,)
        The buckets' upper bounds, strictly increasing, ending in ``+inf``
        (Prometheus ``le``); for native histograms pass the bucket upper bounds.
    alternative, method, correct, confidence_level
        As in :func:`mann_whitney`.

    Returns
    -------
    MannWhitneyResult

    Notes
    -----
    Every observation is placed at its bucket's upper bound, so each bucket
    is one tie group. On data that lie exactly at bucket bounds this *is* the
    raw-sample computation: the same W, tie correction, p-value, differences,
    estimate and interval (tested). Otherwise the test is the exact rank test
    of the coarsened data -- still a valid test of "same distribution", since
    coarsening preserves the null -- and the estimate and interval carry a
    discretisation error of at most the widths of the buckets involved. The
    overflow bucket (``+inf``) ranks above every finite one; its differences
    with finite buckets are ``+inf`` / ``-inf`` (the shift is unbounded
    there) and with itself 0. Costs ``O(n_buckets^2)`` per pair, whatever
    the counts.
    """
    alternative = _check_choice("alternative", alternative, _ALTERNATIVES)
    method = _check_choice("method", method, _METHODS)
    level = _check_level(confidence_level)
    edges = np.asarray(bounds, dtype=np.float64)
    if edges.ndim != 1 or edges.size == 0 or not (
        np.all(np.diff(edges) > 0) and edges[-1] == np.inf
    ):
        raise SpecError(
            f"`bounds` must increase strictly and end in +inf, got {edges.tolist()}"
        )
    cx_in = np.asarray(counts_x, dtype=np.float64)
    cy_in = np.asarray(counts_y, dtype=np.float64)
    nb = edges.size
    if cx_in.shape[-1:] != (nb,) or cy_in.shape[-1:] != (nb,):
        raise SpecError(
            f"`counts_x` and `counts_y` must end in an axis of {nb} buckets, got shapes "
            f"{cx_in.shape} and {cy_in.shape}"
        )
    cx, cy, batch = _as_pairs(cx_in, cy_in, -1)
    bad: _B = np.asarray(~np.isfinite(cx).all(axis=1) | ~np.isfinite(cy).all(axis=1))
    bad = bad | (cx < 0).any(axis=1) | (cy < 0).any(axis=1)
    cx = np.where(bad[:, None], 0.0, np.rint(cx))
    cy = np.where(bad[:, None], 0.0, np.rint(cy))
    nx = cx.sum(axis=1).astype(np.int64)
    ny = cy.sum(axis=1).astype(np.int64)
    below_y = np.cumsum(cy, axis=1) - cy
    w = (cx * (below_y + cy / 2)).sum(axis=1)
    t = cx + cy
    ties = (t**3 - t).sum(axis=1)
    has_ties: _B = np.asarray((t > 1).any(axis=1))
    p, exact = _test(w, nx, ny, ties, has_ties, alternative, method, correct)
    ties_xy = (cx**3 - cx).sum(axis=1) + (cy**3 - cy).sum(axis=1)
    # the weighted multiset of differences between bucket representatives
    rep = edges.copy()
    fin = np.isfinite(rep)
    with np.errstate(invalid="ignore"):
        diff = rep[:, None] - np.where(fin, rep, np.inf)[None, :]
    diff[~fin[:, None] & ~fin[None, :]] = 0.0
    diff[~fin[:, None] & fin[None, :]] = np.inf
    order = np.argsort(diff.ravel(), kind="stable")
    dvals = diff.ravel()[order]
    weights = (cx[:, :, None] * cy[:, None, :]).reshape(cx.shape[0], -1)[:, order]
    cum = np.cumsum(weights, axis=1)

    def pick(k: _I) -> _F:
        out = np.empty(k.shape)
        for col in range(k.shape[1]):
            kk = np.asarray(k[:, col], dtype=np.float64)
            idx = (cum < kk[:, None]).sum(axis=1)
            okk = (kk >= 1) & (kk <= nx * ny)
            out[:, col] = np.where(okk, dvals[np.minimum(idx, dvals.size - 1)], np.nan)
        return out

    nx = np.where(bad, 0, nx)
    ny = np.where(bad, 0, ny)
    return _finish(w, p, exact, nx, ny, ties_xy, pick, batch, alternative, level, correct)


# --------------------------------------------------------------------------- classification


class MetricClass(enum.IntEnum):
    """Kayenta's per-metric classes (int8 codes).

    NODATA_FAIL is Kayenta's ``NodataFailMetric``: a metric that must have
    data and has none; it counts as a failure in its group's score.
    """

    NODATA = 0
    PASS = 1
    HIGH = 2
    LOW = 3
    NODATA_FAIL = 4


_DIRECTIONS = ("increase", "decrease", "either")
_EFFECTS = ("mean_ratio", "cles")
_NAN_STRATEGIES = ("remove", "replace")


@attrs.frozen(kw_only=True)
class MetricClassification:
    """Result of :func:`classify_metric`; arrays of the batch shape.

    Attributes
    ----------
    classification : ndarray of int8
        :class:`MetricClass` codes.
    critical : ndarray of bool
        A critical metric's failure (High / Low beyond the critical
        thresholds, or NoData): fails the whole canary in :func:`score_groups`.
    estimate, ci_low, ci_high : ndarray of float
        Hodges-Lehmann shift of the candidate over the baseline and its interval.
    bound : ndarray of float
        The tolerance band ``tolerance * |estimate|`` the interval must clear.
    effect : ndarray of float
        The effect size: mean ratio (candidate / baseline; 1 when the baseline
        mean is 0, as Kayenta) or the common-language effect size.
    pvalue : ndarray of float
        The two-sided rank test's p-value (not used by the rule; reported).
    scale_high : ndarray of bool
        The opt-in scale check found the candidate more dispersed (a High).
    scale_estimate, scale_effect : ndarray of float
        Shift of the absolute deviations from the medians, and their median
        ratio (candidate / baseline); NaN when the check is off.
    n_baseline, n_candidate : ndarray of int
        Sample sizes used (after NaN and outlier handling).
    """

    classification: Any
    critical: Any
    estimate: Any
    ci_low: Any
    ci_high: Any
    bound: Any
    effect: Any
    pvalue: Any
    scale_high: Any
    scale_estimate: Any
    scale_effect: Any
    n_baseline: Any
    n_candidate: Any


def _clean(a: _F, nan_strategy: str, nan_fill: float, outlier_factor: float | None) -> _F:
    if nan_strategy == "replace":
        # trailing NaN are padding; NaN before a row's last sample are missing values
        seen = np.flip(np.maximum.accumulate(np.flip(~np.isnan(a), axis=-1), axis=-1), axis=-1)
        a = np.where(np.isnan(a) & seen, nan_fill, a)
    if outlier_factor is not None:
        empty = np.isnan(a).all(axis=-1, keepdims=True)
        safe = np.where(empty, 0.0, a)
        q1, q3 = np.nanquantile(safe, [0.25, 0.75], axis=-1, keepdims=True)
        iqr = q3 - q1
        keep = (a >= q1 - outlier_factor * iqr) & (a <= q3 + outlier_factor * iqr)
        a = np.where(keep, a, np.nan)
    return a


def _nanmean(a: _F) -> _F:
    total = a.sum(axis=-1)
    if a.shape[-1] and not np.isnan(total).any():  # no NaN at all: one pass
        return np.asarray(total / a.shape[-1], dtype=np.float64)
    n = np.count_nonzero(~np.isnan(a), axis=-1)
    s = np.where(np.isnan(a), 0.0, a).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan)


def _nanmedian(a: _F) -> _F:
    s = np.sort(a, axis=-1)
    n = np.count_nonzero(~np.isnan(s), axis=-1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def classify_metric(
    baseline: ArrayLike,
    candidate: ArrayLike,
    *,
    direction: str = "increase",
    tolerance: float = 0.25,
    confidence_level: float | ArrayLike = 0.98,
    effect_size: str = "mean_ratio",
    allowed: tuple[Any, Any] | None = None,
    critical_thresholds: tuple[Any, Any] | None = None,
    critical: bool = False,
    must_have_data: bool = False,
    nan_strategy: str = "remove",
    nan_fill: float = 0.0,
    outlier_factor: float | None = None,
    scale_check: bool = False,
    axis: int = -1,
) -> MetricClassification:
    """Classify a candidate's metric against the baseline's: High / Low / Pass / NoData.

    Kayenta's Mann-Whitney classifier, vectorized over pairs of NaN-padded samples.

    Parameters
    ----------
    baseline, candidate : array_like of float, shape (..., n)
        Samples along ``axis``, NaN-padded; batch shapes broadcast.
    direction : {"increase", "decrease", "either"}, default "increase"
        Which change is bad: an increase gives High, a decrease Low.
    tolerance : float, default 0.25
        Kayenta's band relative to the estimate: High needs the interval's
        lower bound above ``tolerance * |estimate|``, Low its upper bound
        below ``-tolerance * |estimate|``.
    confidence_level : float or array_like, default 0.98
        Level of the two-sided interval (0.98 is what Kayenta's
        ``NetflixACAJudge`` passes to its classifier).
    effect_size : {"mean_ratio", "cles"}, default "mean_ratio"
        Mean ratio candidate / baseline (no effect 1), or the common-language
        effect size P(candidate > baseline) (no effect 0.5).
    allowed : (decrease, increase), optional
        Effect sizes a High must reach (``>= increase``) and a Low must reach
        (``<= decrease``). Default: no effect, ``(1, 1)`` or ``(0.5, 0.5)``.
    critical_thresholds : (decrease, increase), optional
        For a critical metric, the effect sizes that make a High / Low a
        critical failure. Default: as ``allowed``.
    critical : bool, default False
        A critical metric's failure or NoData fails the whole canary.
    must_have_data : bool, default False
        A non-critical metric without data is NODATA_FAIL (a failure in its
        group) instead of NODATA (ignored).
    nan_strategy : {"remove", "replace"}, default "remove"
        ``"replace"`` fills NaN *before a row's last sample* with ``nan_fill``
        (trailing NaN are padding, never data).
    nan_fill : float, default 0
    outlier_factor : float, optional
        Remove values outside ``[Q1 - f IQR, Q3 + f IQR]`` of each sample.
    scale_check : bool, default False
        Also test the absolute deviations from each sample's median
        (candidate more dispersed, one-sided): a significant increase beyond
        the band whose median-deviation ratio exceeds the allowed mean-ratio
        increase (1 for ``cles``) is High even when the location does not move.
        Only for ``direction`` "increase" or "either".
    axis : int, default -1

    Returns
    -------
    MetricClassification
    """
    direction = _check_choice("direction", direction, _DIRECTIONS)
    effect_size = _check_choice("effect_size", effect_size, _EFFECTS)
    nan_strategy = _check_choice("nan_strategy", nan_strategy, _NAN_STRATEGIES)
    if not (np.isfinite(tolerance) and tolerance >= 0):
        raise SpecError(f"`tolerance` must be a finite number >= 0, got {tolerance!r}")
    if outlier_factor is not None and not (outlier_factor > 0):
        raise SpecError(f"`outlier_factor` must be > 0 or None, got {outlier_factor!r}")
    neutral = 1.0 if effect_size == "mean_ratio" else 0.5
    allowed = (neutral, neutral) if allowed is None else allowed
    critical_thresholds = allowed if critical_thresholds is None else critical_thresholds
    base = _clean(
        np.moveaxis(np.asarray(baseline, dtype=np.float64), axis, -1),
        nan_strategy, nan_fill, outlier_factor,
    )
    cand = _clean(
        np.moveaxis(np.asarray(candidate, dtype=np.float64), axis, -1),
        nan_strategy, nan_fill, outlier_factor,
    )
    mw = mann_whitney(cand, base, confidence_level=confidence_level)
    low, high = mw.confidence_interval()
    if effect_size == "mean_ratio":
        mb, mc = _nanmean(base), _nanmean(cand)
        with np.errstate(invalid="ignore", divide="ignore"):
            effect = np.where(mb == 0, 1.0, mc / mb)
    else:
        effect = np.asarray(mw.prob, dtype=np.float64)
    scale_est = scale_eff = np.full(np.shape(mw.estimate), np.nan)
    scale_high = np.zeros(np.shape(mw.estimate), dtype=bool)
    if scale_check and direction != "decrease":
        dev_b = np.abs(base - _nanmedian(base)[..., None])
        dev_c = np.abs(cand - _nanmedian(cand)[..., None])
        sc = mann_whitney(
            dev_c, dev_b, alternative="greater", confidence_level=confidence_level
        )
        s_low, _ = sc.confidence_interval()
        scale_est = np.asarray(sc.estimate, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mad_b, mad_c = _nanmedian(dev_b), _nanmedian(dev_c)
            scale_eff = np.where(mad_b == 0, np.where(mad_c > 0, np.inf, 1.0), mad_c / mad_b)
            s_bound = tolerance * np.abs(scale_est)
            need = allowed[1] if effect_size == "mean_ratio" else 1.0
            scale_high = (s_low > s_bound) & (scale_eff > need)
    est = np.asarray(mw.estimate, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bound = tolerance * np.abs(est)
        high_ok = direction in ("increase", "either")
        low_ok = direction in ("decrease", "either")
        is_high = high_ok & (low > bound) & (effect >= allowed[1])
        is_low = low_ok & (high < -bound) & (effect <= allowed[0]) & ~is_high
        is_high = is_high | (scale_high & ~is_low)
    nodata = (np.asarray(mw.n_x) == 0) | (np.asarray(mw.n_y) == 0)
    cls = np.full(np.shape(est), MetricClass.PASS, dtype=np.int8)
    cls[is_high] = MetricClass.HIGH
    cls[is_low] = MetricClass.LOW
    cls = np.where(
        nodata,
        np.int8(
            MetricClass.NODATA_FAIL if (must_have_data and not critical) else MetricClass.NODATA
        ),
        cls,
    ).astype(np.int8)
    if critical:
        with np.errstate(invalid="ignore"):
            crit = (
                ((cls == MetricClass.HIGH) & ((effect >= critical_thresholds[1]) | scale_high))
                | ((cls == MetricClass.LOW) & (effect <= critical_thresholds[0]))
                | nodata
            )
    else:
        crit = np.zeros(np.shape(cls), dtype=bool)

    def o(v: Any) -> Any:
        arr = np.asarray(v)
        return arr[()] if arr.ndim == 0 else arr

    return MetricClassification(
        classification=o(cls),
        critical=o(crit),
        estimate=o(est),
        ci_low=o(low),
        ci_high=o(high),
        bound=o(bound),
        effect=o(effect),
        pvalue=o(mw.pvalue),
        scale_high=o(scale_high),
        scale_estimate=o(scale_est),
        scale_effect=o(scale_eff),
        n_baseline=o(mw.n_y),
        n_candidate=o(mw.n_x),
    )


# --------------------------------------------------------------------------- scoring


class ScoreClass(enum.IntEnum):
    """A canary run's overall class (int8 codes, ordered like verdicts)."""

    FAIL = -1
    MARGINAL = 0
    PASS = 1


#: Kayenta's rule: 50 % or more metrics without data fail the canary.
NODATA_FAIL_PERCENT = 50.0


@attrs.frozen(kw_only=True)
class ScoreResult:
    """Result of :func:`score_groups`.

    Attributes
    ----------
    group_names : tuple of str
        The groups, in first-appearance order.
    group_scores : ndarray of float, shape (*batch, n_groups)
        Each group's share of passing metrics, in percent (High, Low, Pass
        and NoData-fail metrics count; NoData ones do not); NaN for a group
        without classified metrics (it counts as 100 in the summary, as Kayenta).
    weights : ndarray of float, shape (n_groups,)
        The weight of each group (unweighted groups share what is left of 100).
    summary : ndarray of float, shape (*batch,)
        ``sum(weight * score) / 100`` rounded to 2 decimals; 0 after a
        critical failure or with too many NoData metrics.
    critical_failure : ndarray of bool, shape (*batch,)
    too_many_nodata : ndarray of bool, shape (*batch,)
    verdict : ndarray of int8, shape (*batch,)
        :class:`ScoreClass`: PASS if ``summary >= pass_threshold``, MARGINAL
        if ``>= marginal_threshold``, else FAIL.
    """

    group_names: tuple[str, ...]
    group_scores: Any
    weights: Any
    summary: Any
    critical_failure: Any
    too_many_nodata: Any
    verdict: Any


def score_groups(
    classification: ArrayLike,
    groups: Sequence[str],
    *,
    weights: Mapping[str, float] | None = None,
    critical: ArrayLike | None = None,
    muted: ArrayLike | None = None,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
) -> ScoreResult:
    """Score metric classes into Pass / Marginal / Fail, as Kayenta's weighted-sum scorer.

    Parameters
    ----------
    classification : array_like of int, shape (*batch, n_metrics)
        :class:`MetricClass` codes.
    groups : sequence of str, length n_metrics
        The group of each metric.
    weights : mapping of str to float, optional
        Group weights in percent; groups without one share ``100 - sum``.
    critical : array_like of bool, shape (*batch, n_metrics), optional
        Critical failures (:attr:`MetricClassification.critical`).
    muted : array_like of bool, broadcastable to (*batch, n_metrics), optional
        Muted metrics: classified and reported, but left out of the group
        scores, of the critical-failure rule and of the no-data rule (as a
        muted metric in Kayenta is shown without counting).
    pass_threshold, marginal_threshold : float, default 95 and 75
        Summary thresholds (``marginal <= pass``).

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> r = score_groups([[1, 1, 2, 1]], ["latency", "latency", "errors", "errors"],
    ...                  weights={"latency": 60, "errors": 40})
    >>> r.group_scores.tolist(), r.summary.tolist(), r.verdict.tolist()
    ([[100.0, 50.0]], [80.0], [0])
    """
    cls = np.asarray(classification)
    if cls.ndim < 1 or cls.shape[-1] != len(groups):
        raise SpecError(
            f"`groups` must name the group of each of the {cls.shape[-1:]} metrics, "
            f"got {len(groups)} names"
        )
    if not (0 <= marginal_threshold <= pass_threshold <= 100):
        raise SpecError(
            "`marginal_threshold` and `pass_threshold` must satisfy 0 <= marginal <= pass "
            f"<= 100, got {marginal_threshold!r} and {pass_threshold!r}"
        )
    names = tuple(dict.fromkeys(groups))
    given = dict(weights or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise SpecError(f"`weights` names groups without metrics: {unknown}")
    rest = [g for g in names if g not in given]
    left = 100.0 - sum(given.values())
    w = np.array([given.get(g, left / len(rest) if rest else 0.0) for g in names])
    member = np.array([[g == name for g in groups] for name in names], dtype=np.float64)
    live = (
        np.ones(cls.shape, dtype=bool)
        if muted is None
        else ~np.broadcast_to(np.asarray(muted, dtype=bool), cls.shape)
    )
    passed = ((cls == MetricClass.PASS) & live).astype(np.float64)
    counted = (
        np.isin(cls, [MetricClass.PASS, MetricClass.HIGH, MetricClass.LOW, MetricClass.NODATA_FAIL])
        & live
    ).astype(np.float64)
    n_pass = passed @ member.T
    n_count = counted @ member.T
    with np.errstate(invalid="ignore", divide="ignore"):
        gscore = np.where(n_count > 0, n_pass / n_count * 100.0, np.nan)
    effective = np.where(np.isnan(gscore), 100.0, gscore)
    summary = np.round(effective @ w / 100.0, 2)
    crit = (
        np.zeros(cls.shape[:-1], dtype=bool)
        if critical is None
        else (np.broadcast_to(np.asarray(critical, dtype=bool), cls.shape) & live).any(axis=-1)
    )
    n_live = live.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        nodata_share = ((cls == MetricClass.NODATA) & live).sum(axis=-1) / n_live * 100
    nodata = np.where(n_live > 0, nodata_share >= NODATA_FAIL_PERCENT, False)
    summary = np.where(crit | nodata, 0.0, summary)
    verdict = np.where(
        summary >= pass_threshold,
        ScoreClass.PASS,
        np.where(summary >= marginal_threshold, ScoreClass.MARGINAL, ScoreClass.FAIL),
    ).astype(np.int8)
    return ScoreResult(
        group_names=names,
        group_scores=gscore,
        weights=w,
        summary=summary,
        critical_failure=crit,
        too_many_nodata=nodata,
        verdict=verdict,
    )


# --------------------------------------------------------------------------- criterion method


def _field(**kw: Any) -> Any:
    return attrs.field(eq=attrs.cmp_using(eq=lambda a, b: np.array_equal(a, b, equal_nan=True)),
                       **kw)


@attrs.frozen(kw_only=True)
class RanksState:
    """State of the ranks method: what it found at the last assessment.

    Attributes
    ----------
    estimate, ci_low, ci_high, effect, pvalue : ndarray of float, shape (*batch,)
        The candidate's shift over the baseline, its interval, the effect
        size (mean ratio) and the rank test's p-value; NaN before the first
        assessment and where there was no data.
    classification : ndarray of int8, shape (*batch,)
        The :class:`MetricClass` of the last assessment.
    """

    estimate: _F = _field()
    ci_low: _F = _field()
    ci_high: _F = _field()
    effect: _F = _field()
    pvalue: _F = _field()
    classification: NDArray[np.int8] = _field()


def _bucket_means(obs: Observations, counts: _F) -> _F:
    if obs.sum is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(obs.sum / obs.count, dtype=np.float64)
    assert obs.bucket_bounds is not None
    # overflow observations sit at the last finite bound: a lower bound of the mean
    finite = obs.bucket_bounds[np.isfinite(obs.bucket_bounds)]
    last = finite[-1] if finite.size else np.nan
    rep = np.where(np.isfinite(obs.bucket_bounds), obs.bucket_bounds, last)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((counts * rep).sum(axis=-1) / counts.sum(axis=-1), dtype=np.float64)


class RanksMethod:
    """The rank judge as a criterion method (``method="ranks"``).

    **Delta criteria.**

    Per assessment it uses the observations' cumulative raw ``samples`` if
    present, else their ``buckets`` (histogram counts with ``bucket_bounds``),
    and judges the candidate (version 1) against the baseline (version 0)
    with :func:`classify_metric`'s rule at the criterion's ``confidence``: the
    bad direction (``direction="lower"``: an increase) is High when the
    two-sided interval of the shift clears the band ``estimate_tolerance *
    |estimate|`` and the mean ratio exceeds the margin, ``1 + tolerance``
    (``1 - tolerance`` for ``direction="higher"``). High (the bad direction)
    is FAIL, Pass and the good direction PASS, NoData or a sample smaller than
    ``sample_size`` INCONCLUSIVE. Options from ``criterion.extras``:
    ``estimate_tolerance`` (default 0.25, Kayenta's) and ``scale_check``
    (default False; raw samples only). The mean comes from the samples, or
    for buckets from ``sum / count`` when the observations carry ``sum``, else
    from the bucket upper bounds (overflow at the last finite bound).
    The method state keeps the last estimate, interval, effect, p-value and
    class.

    **Threshold criteria** (the candidate's *median* against ``tolerance``:
    ``median <= tolerance`` for ``direction="lower"``, ``>=`` for
    ``"higher"``): the exact sign test, distribution-free and valid with ties.
    With ``alpha = 1 - confidence`` and ``S`` the candidate's samples at or
    below the threshold (below it for ``"higher"``), FAIL when the median is
    shown on the wrong side (``P(Bin(n, 1/2) <= S) <= alpha`` for
    ``"lower"``), PASS when it is shown on the right side (``P(Bin(n, 1/2) >=
    S) <= alpha``), else INCONCLUSIVE with ``Reason.NOT_YET_DECIDED`` -- the
    three-way rule of ``method="fixed"``. Equivalently the one-sided ``1 -
    alpha`` order-statistic bounds of the median (Hollander & Wolfe 1999,
    sec. 3.6) lie above / below the threshold. On buckets ``S`` is known
    exactly when the threshold is a bucket bound; otherwise each test uses
    the conservative end (so a threshold between bounds can stay
    INCONCLUSIVE). The state keeps the median (on buckets: the upper bound of
    its bucket), the bounds, the share of samples at or below the threshold
    (``effect``), the p-value of the FAIL test and the class (HIGH: median
    shown above, LOW: below, PASS: neither). A counter metric is a SpecError.
    ``scale_check`` on bucket-only observations is a SpecError.
    """

    name = "ranks"

    def init(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> RanksState:
        nan = np.full(batch_shape, np.nan)
        nan.flags.writeable = False
        cls = np.zeros(batch_shape, dtype=np.int8)
        cls.flags.writeable = False
        return RanksState(
            estimate=nan, ci_low=nan, ci_high=nan, effect=nan, pvalue=nan, classification=cls
        )

    def update(
        self, criterion: Criterion, state: RanksState, observations: Observations
    ) -> tuple[RanksState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        if criterion.tolerance_type == "threshold" and criterion.is_counter:
            raise SpecError(
                f"method 'ranks' judges a distribution; {criterion.metric!r} is a counter "
                "(a cumulative count against a threshold): use method 'point'"
            )
        if observations.n_versions != 2:
            raise SpecError(
                "the ranks method compares a baseline and one candidate: observations of "
                f"{criterion.metric!r} must have 2 versions, got {observations.n_versions}"
            )
        if observations.samples is None and bool(criterion.extras.get("scale_check", False)):
            raise SpecError(
                "`scale_check` needs raw `samples`: the deviations from the median of "
                f"bucketed data are not bucketed on shared bounds ({criterion.metric!r} "
                "has only buckets)"
            )
        if observations.samples is None and observations.buckets is None:
            raise SpecError(
                f"method 'ranks' needs `samples` or `buckets` in the observations of "
                f"{criterion.metric!r}; they hold neither"
            )
        batch = observations.batch_shape
        tol = np.broadcast_to(np.asarray(criterion.tolerance, dtype=np.float64), batch)
        need = np.broadcast_to(np.asarray(criterion.sample_size, dtype=np.float64), batch)
        conf = np.broadcast_to(np.asarray(criterion.confidence, dtype=np.float64), batch)
        if criterion.tolerance_type == "threshold":
            return _median_threshold(criterion, observations, tol, need, conf)
        band = float(criterion.extras.get("estimate_tolerance", 0.25))
        lower = criterion.direction == "lower"
        if observations.samples is not None:
            s = observations.samples
            base, cand = s[..., 0, :], s[..., 1, :]
            bad = np.isinf(s).any(axis=(-1, -2))
            scale = bool(criterion.extras.get("scale_check", False)) and lower
            res = classify_metric(
                base, cand, direction="increase" if lower else "decrease",
                tolerance=band, confidence_level=conf, scale_check=scale,
            )
            est, lo, hi = res.estimate, res.ci_low, res.ci_high
            p, n_b, n_c = res.pvalue, res.n_baseline, res.n_candidate
            scale_high = res.scale_high
            mb, mc = _nanmean(base), _nanmean(cand)
        else:
            assert observations.buckets is not None
            assert observations.bucket_bounds is not None
            bk = observations.buckets
            bad = ~np.isfinite(bk).all(axis=(-1, -2)) | (bk < 0).any(axis=(-1, -2))
            mw = mann_whitney_binned(
                bk[..., 1, :], bk[..., 0, :], observations.bucket_bounds, confidence_level=conf
            )
            lo, hi = mw.confidence_interval()
            est, p, n_b, n_c = mw.estimate, mw.pvalue, mw.n_y, mw.n_x
            scale_high = np.zeros(batch, dtype=bool)
            means = _bucket_means(observations, np.where(np.isfinite(bk), bk, 0.0))
            mb, mc = means[..., 0], means[..., 1]
        est, lo, hi, p = (np.asarray(v, dtype=np.float64).reshape(batch) for v in (est, lo, hi, p))
        with np.errstate(invalid="ignore", divide="ignore"):
            effect = np.where(mb == 0, 1.0, mc / mb).reshape(batch)
            bound = band * np.abs(est)
            if lower:
                worse = (lo > bound) & (effect >= 1 + tol)
                better = (hi < -bound)
            else:
                worse = (hi < -bound) & (effect <= 1 - tol)
                better = (lo > bound)
            worse = worse | np.asarray(scale_high).reshape(batch)
        n_b = np.asarray(n_b).reshape(batch)
        n_c = np.asarray(n_c).reshape(batch)
        nodata = (n_b == 0) | (n_c == 0) | np.asarray(bad).reshape(batch)
        insufficient = ~nodata & ((n_b < need) | (n_c < need))
        cls = np.where(worse, MetricClass.HIGH if lower else MetricClass.LOW, MetricClass.PASS)
        cls = np.where(better & ~worse, MetricClass.LOW if lower else MetricClass.HIGH, cls)
        cls = np.where(nodata, MetricClass.NODATA, cls).astype(np.int8)
        verdict = np.where(worse, Verdict.FAIL, Verdict.PASS).astype(np.int8)
        verdict[nodata | insufficient] = Verdict.INCONCLUSIVE
        reason = np.zeros(batch, dtype=np.int8)
        reason[insufficient] = Reason.INSUFFICIENT_SAMPLE
        reason[nodata] = Reason.MISSING_VALUE
        n_bad = int(np.count_nonzero(bad))
        reason[np.asarray(bad).reshape(batch)] = Reason.BAD_DATA
        if n_bad:
            warnings.warn(
                BAD_DATA_MESSAGE.format(
                    n=n_bad, total=int(np.prod(batch)), metric=criterion.metric,
                    kind="bad data", what="infinite or negative samples or counts",
                ),
                InsufficientDataWarning,
                stacklevel=3,
            )
        abort = (verdict == Verdict.FAIL) & criterion.stop_on_failure
        new_state = RanksState(
            estimate=est, ci_low=np.asarray(lo, dtype=np.float64).reshape(batch),
            ci_high=np.asarray(hi, dtype=np.float64).reshape(batch),
            effect=effect, pvalue=p, classification=cls,
        )
        return new_state, verdict, reason, np.asarray(abort, dtype=bool)


def _median_threshold(
    criterion: Criterion, observations: Observations, t: _F, need: _F, conf: _F
) -> tuple[RanksState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
    """A threshold criterion judged by ranks: the exact sign test of the candidate's median.

    See :class:`RanksMethod`. ``S`` counts the candidate's samples at or below
    ``t`` (``direction="lower"``: the criterion is ``median <= t``) or below
    ``t`` (``"higher"``: ``median >= t``); on buckets it is known only between
    the counts up to the last bound before ``t`` and the first bound at or
    after it, and each test uses the end that makes it conservative.
    """
    batch = observations.batch_shape
    alpha = 1.0 - conf
    lower_better = criterion.direction == "lower"
    if observations.samples is not None:
        x = observations.samples[..., 1, :]
        bad: _B = np.asarray(np.isinf(x).any(axis=-1))
        xs = np.sort(np.where(bad[..., None], np.nan, x), axis=-1)
        n = np.count_nonzero(~np.isnan(xs), axis=-1).astype(np.float64)
        below = xs <= t[..., None] if lower_better else xs < t[..., None]
        s_lo = s_hi = np.count_nonzero(below, axis=-1).astype(np.float64)

        def order_stat(r: _F) -> _F:  # the r-th smallest (1-based); NaN outside [1, n]
            ok = (r >= 1) & (r <= n)
            if not xs.shape[-1]:
                return np.full(r.shape, np.nan)
            idx = np.clip(r - 1, 0, xs.shape[-1] - 1).astype(np.int64)
            return np.where(ok, np.take_along_axis(xs, idx[..., None], axis=-1)[..., 0], np.nan)
    else:
        assert observations.buckets is not None
        assert observations.bucket_bounds is not None
        bk = observations.buckets[..., 1, :]
        edges = observations.bucket_bounds
        bad = np.asarray(~np.isfinite(bk).all(axis=-1) | (bk < 0).any(axis=-1))
        counts = np.where(bad[..., None], 0.0, np.rint(np.where(np.isfinite(bk), bk, 0.0)))
        cum = np.cumsum(counts, axis=-1)
        n = cum[..., -1]
        # S lies between the count up to the last bound before t (at or before t for
        # "<= t") and the count up to the first bound at or after t
        last = np.searchsorted(edges, t, side="right" if lower_better else "left") - 1
        first = np.minimum(np.searchsorted(edges, t, side="left"), edges.size - 1)
        s_lo = np.where(
            last >= 0, np.take_along_axis(cum, np.maximum(last, 0)[..., None], -1)[..., 0], 0.0
        )
        s_hi = np.take_along_axis(cum, np.broadcast_to(first, n.shape)[..., None], -1)[..., 0]

        def order_stat(r: _F) -> _F:  # upper bound of the bucket holding the r-th smallest
            ok = (r >= 1) & (r <= n)
            idx = (cum < r[..., None]).sum(axis=-1)
            return np.where(ok, edges[np.minimum(idx, edges.size - 1)], np.nan)

    ni = n.astype(np.int64)  # scipy's binomial takes integer sizes
    with np.errstate(invalid="ignore"):
        # P(Bin(n, 1/2) <= S) small: few samples at/below t; P(... >= S) small: many
        p_few = special.bdtr(s_hi.astype(np.int64), ni, 0.5)
        p_many = np.where(
            s_lo > 0, special.bdtrc(np.maximum(s_lo - 1, 0).astype(np.int64), ni, 0.5), 1.0
        )
        # the one-sided bounds' rank: l - 1 = the largest j with P(Bin(n, 1/2) <= j) <= alpha
        # (from the normal guess, which is within a few steps: walk down, then up)
        j = np.clip(np.floor(n / 2 - special.ndtri(1 - alpha) * np.sqrt(n) / 2), -1, n)
        j = j.astype(np.int64)
        while True:
            down = (j >= 0) & (special.bdtr(np.maximum(j, 0), ni, 0.5) > alpha)
            if not down.any():
                break
            j = np.where(down, j - 1, j)
        while True:
            up = (j + 1 <= ni) & (special.bdtr(j + 1, ni, 0.5) <= alpha)
            if not up.any():
                break
            j = np.where(up, j + 1, j)
        rank = (j + 1).astype(np.float64)
    above, under = p_few <= alpha, p_many <= alpha  # the median shown above / below t
    worse, better = (above, under) if lower_better else (under, above)
    median_lo, median_hi = order_stat(np.floor((n + 1) / 2)), order_stat(np.ceil((n + 1) / 2))
    estimate = (median_lo + median_hi) / 2 if observations.samples is not None else median_hi
    ci_low = np.where(rank >= 1, order_stat(rank), -np.inf)
    ci_high = np.where(rank >= 1, order_stat(n - rank + 1), np.inf)
    nodata = (n == 0) | bad
    insufficient = ~nodata & (n < need)
    valid = ~nodata & ~insufficient
    verdict = np.zeros(batch, dtype=np.int8)
    verdict[valid & better] = Verdict.PASS
    verdict[valid & worse] = Verdict.FAIL
    reason = np.full(batch, np.int8(Reason.NOT_YET_DECIDED))
    reason[valid & (better | worse)] = Reason.OK
    reason[insufficient] = Reason.INSUFFICIENT_SAMPLE
    reason[n == 0] = Reason.MISSING_VALUE
    reason[bad] = Reason.BAD_DATA
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        warnings.warn(
            BAD_DATA_MESSAGE.format(
                n=n_bad, total=int(np.prod(batch)), metric=criterion.metric,
                kind="bad data", what="infinite or negative samples or counts",
            ),
            InsufficientDataWarning,
            stacklevel=4,
        )
    cls = np.where(above, MetricClass.HIGH, np.where(under, MetricClass.LOW, MetricClass.PASS))
    cls = np.where(nodata, MetricClass.NODATA, cls).astype(np.int8)
    abort = (verdict == Verdict.FAIL) & criterion.stop_on_failure
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, s_hi / n, np.nan)

    def f(v: Any) -> _F:
        return np.asarray(v, dtype=np.float64).reshape(batch)

    new_state = RanksState(
        estimate=f(estimate), ci_low=f(ci_low), ci_high=f(ci_high), effect=f(share),
        pvalue=f(p_few if lower_better else p_many), classification=cls.reshape(batch),
    )
    return new_state, verdict, reason, np.asarray(abort, dtype=bool)


register_method("ranks", RanksMethod())
