"""The two-sample Wilcoxon-Mann-Whitney test with the Hodges-Lehmann shift, vectorized.

- :func:`mann_whitney` -- the test with the Hodges-Lehmann shift estimate and
  its distribution-free confidence interval, computed as R's
  ``wilcox.test(x, y, conf.int=TRUE)`` does (exact distribution for small
  samples without ties; normal approximation with tie and continuity
  corrections otherwise);
- :func:`mann_whitney_binned` -- the same from two vectors of histogram bucket
  counts with shared bounds (each bucket a tie group at its upper bound);
- :class:`MannWhitneyResult` -- their result.

Samples are ``(..., n)`` arrays padded with NaN (NaN is "no sample"), so
pairs of unequal sizes share one array. The estimate is the shift of ``x``
relative to ``y`` (``x - y``), R's convention. The exact distribution is in
:mod:`canarystats.stats.wilcoxon`, the selection of order statistics of the
differences in :mod:`canarystats.stats.hodges_lehmann`.

Examples
--------
The reference case of Kayenta's ``MannWhitneySuite`` (R agrees):

>>> from canarystats.stats.mann_whitney import mann_whitney
>>> r = mann_whitney([10, 20, 30, 40], [1, 2, 3, 4])
>>> float(r.statistic), round(float(r.pvalue), 5), float(r.estimate)
(16.0, 0.02857, 22.5)
>>> [float(v) for v in r.confidence_interval(confidence_level=0.95)]
[6.0, 39.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats._arrays import scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats.alternatives import ALTERNATIVES
from canarystats.stats.hodges_lehmann import select_many
from canarystats.stats.wilcoxon import psf, pwilcox, qwilcox, rank_sums, within_ties

__all__ = ["MannWhitneyResult", "check_choice", "mann_whitney", "mann_whitney_binned"]

_F = NDArray[np.float64]
_I = NDArray[np.int64]
_B = NDArray[np.bool_]

_METHODS = ("auto", "exact", "asymptotic")
#: R's ``wilcox.test`` uses the exact distribution when both sizes are below this.
_EXACT_BELOW = 50


# --------------------------------------------------------------------------- validation


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` as a str if it is one of ``allowed``, else a SpecError naming ``name``."""
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
        the ``n_x * n_y`` differences ``x_i - y_j``; ``+-inf`` where those
        overflow (see :func:`mann_whitney`'s Notes).
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
        batch = self._core.batch
        return scalar_or_array(low.reshape(batch)), scalar_or_array(high.reshape(batch))


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
            qu = np.maximum(qwilcox(tail[sel], mm, nn), 1)
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
        le = pwilcox(ws, mm, nn)
        ge = psf(ws, mm, nn)
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

    Finite samples whose differences leave the float range (values near
    ``1e308`` of both signs, e.g. ``1e308`` against ``-1e308``) have ``+-inf``
    differences, as ``outer(x, y, "-")`` in R: the estimate and the interval's
    bounds are then ``inf`` or ``-inf``, not masked, and numpy's overflow
    ``RuntimeWarning`` is not suppressed. A caller should treat a non-finite
    estimate as bad data.

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
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    method = check_choice("method", method, _METHODS)
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
    sums = rank_sums(xs, ys)
    w, ties = sums.rank_sum - nx * (nx + 1) / 2.0, sums.ties
    has_ties = ties > 0
    p, exact = _test(w, nx, ny, ties, has_ties, alternative, method, correct)
    ties_xy = within_ties(xs) + within_ties(ys)

    def pick(k: _I) -> _F:
        return select_many(xs, ys, nx, ny, k)

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
        statistic=scalar_or_array(w.reshape(batch)),
        pvalue=scalar_or_array(p.reshape(batch)),
        estimate=scalar_or_array(estimate.reshape(batch)),
        prob=scalar_or_array(prob.reshape(batch)),
        n_x=scalar_or_array(nx.reshape(batch)),
        n_y=scalar_or_array(ny.reshape(batch)),
        exact=scalar_or_array(exact.reshape(batch)),
        alternative=alternative,
        confidence_level=scalar_or_array(level),
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
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    method = check_choice("method", method, _METHODS)
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
