"""Order statistics of the pairwise differences ``x_i - y_j``, selected without forming them all.

The Hodges-Lehmann shift estimate is the median of the ``n_x * n_y``
differences between two samples, and its distribution-free confidence
interval two of their order statistics (Hollander & Wolfe 1999, sec. 4.3).
:func:`select_many` returns the ``k``-th smallest differences of a batch of
pairs of sorted, NaN-padded samples exactly -- the very doubles R sorts in
``sort(outer(x, y, "-"))[k]`` -- without the ``O(n_x n_y)`` memory: small pairs
sort all their differences; larger ones bracket the target ranks between
pivots counted by one :func:`numpy.searchsorted` over all pairs, gather the
window and verify it; what is left goes to a batched randomized selection in
the spirit of Monahan (1984).

Examples
--------
The smallest, the two middle and the largest of the 16 differences of Kayenta's
``MannWhitneySuite`` case (the estimate is the mean of the middle two, 22.5):

>>> import numpy as np
>>> from canarystats.stats.hodges_lehmann import select_many
>>> xs, ys = np.array([[10.0, 20, 30, 40]]), np.array([[1.0, 2, 3, 4]])
>>> select_many(xs, ys, np.array([4]), np.array([4]), np.array([[1, 8, 9, 16]])).tolist()
[[6.0, 19.0, 26.0, 39.0]]
"""

from __future__ import annotations

import attrs
import numpy as np
from numpy.typing import NDArray

__all__ = ["select_many"]

_F = NDArray[np.float64]
_I = NDArray[np.int64]
_B = NDArray[np.bool_]

#: Candidate differences gathered at once when the selection has narrowed enough.
_CAP = 2048
#: Pivots are drawn from this many candidate differences per pair and round.
_SAMPLE = 1024
#: Fixed seed of the pivot sampler: pivots change speed only, never results.
_PIVOT_SEED = 0x5EED


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
#: Bracketing rounds before the remaining targets go to ``_select``.
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


def select_many(xs: _F, ys: _F, nx: _I, ny: _I, ks: _I) -> _F:
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
    after a few rounds (heavy ties, odd shapes) go to ``_select``.
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
