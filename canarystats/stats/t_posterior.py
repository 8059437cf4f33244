"""Student-t posteriors of means: ``P(X <= k Y)`` and credible intervals.

The posterior of a mean under the reference prior is a location-scale t
(:func:`t_posterior`; ``df = inf``: normal). Pairs are integrated by
fixed-order composite Gauss-Legendre quadrature in ``asinh`` coordinates
(``canarystats.stats._quadrature``), where the t's polynomial tails become
exponential; no Monte Carlo. See ``docs/bayes.md``.

Examples
--------
A candidate's mean latency 0.108 s from 20 requests (sample variance 4e-4)
against a baseline's posterior t_30(0.1, 0.004): is the candidate within 10 %?

>>> from canarystats.stats.t_posterior import prob_t_le, t_posterior
>>> loc, scale, df = t_posterior(20, 0.108, 0.0004)
>>> round(float(prob_t_le(loc, scale, df, 0.1, 0.004, 30.0, 1.1)), 6)
0.621776
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike, NDArray

from canarystats._arrays import TupleResult, result_field, scalar_or_array
from canarystats.stats._quadrature import CHUNK, GRID, TAIL, flat_broadcast, panels
from canarystats.stats._ratio_quantiles import ratio_quantiles
from canarystats.stats.credible_interval import CredibleIntervalResult

__all__ = [
    "TPosteriorResult",
    "prob_t_le",
    "t_cdf",
    "t_credible_interval",
    "t_posterior",
    "t_relative_difference_interval",
]

# In asinh coordinates a t density with few degrees of freedom has exponential tails
# reaching |z| ~ 32 (Cauchy, 1e-14): more graded boundaries out there.
_Z_TAIL = np.array([5.5, 7.0, 9.0, 11.5, 14.5, 18.0, 22.0, 27.0, 33.0])
_Z_GRID = np.concatenate([-_Z_TAIL[::-1], np.arcsinh(GRID), _Z_TAIL])

_F = NDArray[np.float64]


# --------------------------------------------------------------------------- Student-t posteriors


@attrs.frozen(kw_only=True)
class TPosteriorResult(TupleResult):
    """The posterior of a mean, a location-scale t, elementwise; unpacks as ``loc, scale, df``.

    Attributes
    ----------
    loc, scale, df : ndarray or numpy scalar
        ``mu | data ~ loc + scale * T_df`` (``scipy.stats.t(df, loc, scale)``),
        in the broadcast shape of the data (numpy scalars when 0-d).
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("loc", "scale", "df")

    loc: Any = result_field()
    scale: Any = result_field()
    df: Any = result_field()


def t_posterior(count: ArrayLike, mean: ArrayLike, variance: ArrayLike) -> TPosteriorResult:
    """The posterior of a mean under the reference prior ``p(mu, sigma^2) ∝ 1 / sigma^2``.

    ``mu | data ~ t_{n-1}(mean, sqrt(variance / n))`` where ``variance`` is the
    sample variance (divisor ``n - 1``). Needs ``n > 1``; fractional ``n``
    enter as they are.

    Returns
    -------
    TPosteriorResult
        ``loc = mean``, ``scale = sqrt(variance / n)``, ``df = n - 1``;
        unpacks as ``loc, scale, df``.
    """
    n, m, v = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (count, mean, variance)))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(v / n)
        df = n - 1.0
    return TPosteriorResult(
        loc=scalar_or_array(np.array(m)), scale=scalar_or_array(scale), df=scalar_or_array(df)
    )


def t_cdf(x: _F, loc: _F, scale: _F, df: _F) -> _F:
    """CDF of the location-scale t (df = inf: normal; scale = 0: a point mass)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - loc) / scale
        z = np.where(scale == 0, np.where(x >= loc, np.inf, -np.inf), z)
        out: _F = np.where(np.isinf(df), sc.ndtr(z), sc.stdtr(np.where(np.isinf(df), 1.0, df), z))
    return out


def _t_ppf(q: float, df: _F) -> _F:
    out: _F = np.where(np.isinf(df), sc.ndtri(q), sc.stdtrit(np.where(np.isinf(df), 1.0, df), q))
    return out


def _t_quad(
    loc: _F, scale: _F, df: _F, func: Any, *args: _F, other: tuple[_F, _F, _F] | None = None
) -> _F:
    """``E[func(D, *args)]`` for D ~ t_df(loc, scale), scale > 0, in ``asinh`` coordinates.

    With ``D = loc + scale * sinh(z)`` the t's polynomial tails become
    exponential in ``z``; the window runs between the ``TAIL`` quantiles, with
    panels graded around the centre and around the points where ``mult * D``
    crosses the other variable's graded grid (``other = (loc_o, scale_o, mult)``).
    """
    out = np.empty(loc.shape)
    for start in range(0, loc.size, CHUNK):
        sl = slice(start, start + CHUNK)
        q = _t_ppf(TAIL, df[sl])  # negative
        z_lo, z_hi = np.arcsinh(q), np.arcsinh(-q)
        edges = [np.broadcast_to(_Z_GRID[None, :], (z_lo.size, _Z_GRID.size))]
        if other is not None:
            loc_o, scale_o, mult = (v[sl, None] for v in other)
            x = (loc_o + scale_o * np.sinh(_Z_GRID)[None, :]) / mult
            edges.append(np.arcsinh((x - loc[sl, None]) / scale[sl, None]))
        z, w = panels(z_lo, z_hi, edges)
        u = np.sinh(z)
        d = df[sl, None]
        finite = np.isfinite(d)
        with np.errstate(invalid="ignore", divide="ignore"):
            log_t = -(d + 1.0) / 2.0 * np.log1p(u * u / np.where(finite, d, 1.0))
        logdens = np.where(finite, log_t, -0.5 * u * u) + np.log(np.cosh(z))
        logdens -= logdens.max(axis=1, keepdims=True)
        dens = np.exp(logdens) * w
        x_nodes = loc[sl, None] + scale[sl, None] * u
        vals = func(x_nodes, *(arg[sl, None] for arg in args))
        out[sl] = np.einsum("ij,ij->i", dens, vals) / dens.sum(axis=1)
    return out


def _t_cdf_scaled(y: _F, loc: _F, scale: _F, df: _F, ratio: _F) -> _F:
    return t_cdf(ratio * y, loc, scale, df)


def prob_t_le(
    loc_x: ArrayLike,
    scale_x: ArrayLike,
    df_x: ArrayLike,
    loc_y: ArrayLike,
    scale_y: ArrayLike,
    df_y: ArrayLike,
    ratio: ArrayLike = 1.0,
) -> Any:
    """``P(X <= ratio * Y)`` for independent location-scale t variables (df = inf: normal).

    Deterministic quadrature over the narrower of ``X`` and ``ratio * Y`` (a
    point mass, scale 0, is handled exactly). ``ratio > 0``.

    Examples
    --------
    >>> round(float(prob_t_le(0.0, 1.0, np.inf, 0.0, 1.0, np.inf)), 12)
    0.5
    >>> from scipy.stats import norm
    >>> p = prob_t_le(1.0, 0.3, np.inf, 1.2, 0.4, np.inf)   # normal difference: closed form
    >>> bool(abs(p - norm.cdf(0.2 / 0.5)) < 1e-12)
    True
    """
    shape, (mx, sx, dx, my, sy, dy, k) = flat_broadcast(
        loc_x, scale_x, df_x, loc_y, scale_y, df_y, ratio
    )
    out = np.full(mx.shape, np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(mx) & np.isfinite(my) & np.isfinite(sx) & np.isfinite(sy)
        ok &= (sx >= 0) & (sy >= 0) & (dx > 0) & (dy > 0) & (k > 0) & np.isfinite(k)
    both_points = ok & (sx == 0) & (sy == 0)
    out[both_points] = (mx <= k * my)[both_points]
    # integrate over Y when k * scale_y <= scale_x (Y possibly a point mass), else over X
    over_y = ok & ~both_points & (k * sy <= sx)
    over_x = ok & ~both_points & ~over_y
    point_y = over_y & (sy == 0)
    out[point_y] = t_cdf(k * my, mx, sx, dx)[point_y]
    point_x = over_x & (sx == 0)
    with np.errstate(divide="ignore"):
        out[point_x] = 1.0 - t_cdf(mx / k, my, sy, dy)[point_x]
    m = over_y & ~point_y
    if m.any():
        out[m] = _t_quad(my[m], sy[m], dy[m], _t_cdf_scaled, mx[m], sx[m], dx[m], k[m],
                         other=(mx[m], sx[m], k[m]))
    m = over_x & ~point_x
    if m.any():
        out[m] = 1.0 - _t_quad(mx[m], sx[m], dx[m], _t_cdf_scaled, my[m], sy[m], dy[m],
                               1.0 / k[m], other=(my[m], sy[m], 1.0 / k[m]))
    return scalar_or_array(np.clip(out, 0.0, 1.0).reshape(shape))


def t_credible_interval(
    loc: ArrayLike, scale: ArrayLike, df: ArrayLike, confidence_level: ArrayLike = 0.95
) -> CredibleIntervalResult:
    """The equal-tailed credible interval ``(low, high)`` of a location-scale t (df = inf: normal).

    Returns
    -------
    CredibleIntervalResult
        ``low, high`` in the broadcast shape of the inputs.

    Examples
    --------
    >>> low, high = t_credible_interval(0.0, 1.0, np.inf, 0.95)
    >>> round(float(high), 6)
    1.959964
    """
    shape, (m, s, d, c) = flat_broadcast(loc, scale, df, confidence_level)
    with np.errstate(invalid="ignore"):
        q = _t_ppf_array((1.0 + c) / 2.0, d)
    return CredibleIntervalResult(
        low=scalar_or_array((m - s * q).reshape(shape)),
        high=scalar_or_array((m + s * q).reshape(shape)),
    )


def _t_ppf_array(q: _F, df: _F) -> _F:
    infinite = np.isinf(df)
    out: _F = np.where(infinite, sc.ndtri(q), sc.stdtrit(np.where(infinite, 1.0, df), q))
    return out


#: The probability of a non-positive mean above which a ratio of t posteriors is undefined.
_RATIO_POSITIVE_TOL = 1e-9


def t_relative_difference_interval(
    loc_x: ArrayLike,
    scale_x: ArrayLike,
    df_x: ArrayLike,
    loc_y: ArrayLike,
    scale_y: ArrayLike,
    df_y: ArrayLike,
    confidence_level: ArrayLike = 0.95,
) -> CredibleIntervalResult:
    """The equal-tailed credible interval of ``X / Y - 1`` for positive t posteriors of means.

    ``X`` (candidate) and ``Y`` (baseline) are independent location-scale t
    variables (df = inf: normal), e.g. mean latencies. The ratio is defined
    only for positive variables: where either posterior puts more than 1e-9 on
    values <= 0 the interval is NaN. The ends solve ``prob_t_le(..., 1 + end)
    = (1 -+ confidence_level) / 2`` as in
    :func:`canarystats.stats.beta.beta_relative_difference_interval`.

    Returns
    -------
    CredibleIntervalResult
        ``low, high`` in the broadcast shape of the inputs.

    Examples
    --------
    >>> low, high = t_relative_difference_interval(0.11, 0.002, np.inf, 0.1, 0.002, np.inf)
    >>> round(float(low), 3), round(float(high), 3)
    (0.043, 0.16)
    """
    shape, (mx, sx, dx, my, sy, dy, c) = flat_broadcast(
        loc_x, scale_x, df_x, loc_y, scale_y, df_y, confidence_level
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(mx) & np.isfinite(my) & np.isfinite(sx) & np.isfinite(sy)
        ok &= (sx >= 0) & (sy >= 0) & (dx > 0) & (dy > 0) & (c > 0) & (c < 1)
        zero = np.zeros_like(mx)
        ok &= t_cdf(zero, mx, sx, dx) <= _RATIO_POSITIVE_TOL
        ok &= t_cdf(zero, my, sy, dy) <= _RATIO_POSITIVE_TOL
        center = np.where(ok, np.log(np.abs(mx)) - np.log(np.abs(my)), 0.0)
        spread = np.where(ok, np.hypot(sx / mx, sy / my), 1.0)
    spread = np.where(spread > 0, spread, 1e-12)

    def cdf(rows: NDArray[np.intp], k: _F) -> _F:
        return np.asarray(
            prob_t_le(mx[rows], sx[rows], dx[rows], my[rows], sy[rows], dy[rows], k), np.float64
        )

    tail = np.where(ok, (1.0 - c) / 2.0, 0.5)
    low = ratio_quantiles(cdf, center, spread, tail, ok) - 1.0
    high = ratio_quantiles(cdf, center, spread, 1.0 - tail, ok) - 1.0
    return CredibleIntervalResult(
        low=scalar_or_array(low.reshape(shape)), high=scalar_or_array(high.reshape(shape))
    )
