"""Quantiles of a positive ratio from its CDF, by vectorized Illinois false position.

Shared by the relative-difference intervals of the Beta and t posteriors: the
ends of ``X / Y - 1`` solve ``P(X <= k Y) = q`` for ``k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["ratio_quantiles"]

_F = NDArray[np.float64]


def ratio_quantiles(
    cdf: Any, center: _F, spread: _F, q: _F, ok: NDArray[np.bool_]
) -> _F:
    """Solve ``cdf(rows, k) = q`` for ``k > 0`` per row (cdf increasing in k), vectorized.

    Illinois false position on ``log k`` inside a bracket ``center -+ 50 spread``
    (widened until it holds), to ``|log k| < 1e-12`` relative; NaN where not ``ok``.
    """
    out = np.full(q.shape, np.nan)
    rows = np.nonzero(ok)[0]
    if rows.size == 0:
        return out
    qq = q[rows]
    lo = np.clip(center[rows] - 50.0 * spread[rows], -700.0, 700.0)
    hi = np.clip(center[rows] + 50.0 * spread[rows], -700.0, 700.0)
    f_lo = cdf(rows, np.exp(lo)) - qq
    f_hi = cdf(rows, np.exp(hi)) - qq
    for _ in range(20):  # widen a bracket that does not hold (heavy tails)
        bad_lo, bad_hi = f_lo > 0, f_hi < 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        width = hi - lo
        lo = np.where(bad_lo, np.maximum(lo - width, -700.0), lo)
        hi = np.where(bad_hi, np.minimum(hi + width, 700.0), hi)
        if bad_lo.any():
            f_lo[bad_lo] = cdf(rows[bad_lo], np.exp(lo[bad_lo])) - qq[bad_lo]
        if bad_hi.any():
            f_hi[bad_hi] = cdf(rows[bad_hi], np.exp(hi[bad_hi])) - qq[bad_hi]
    res = np.where(f_lo > 0, -np.inf, np.where(f_hi < 0, np.inf, np.nan))
    active = np.isnan(res)
    for _ in range(200):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        a, b, fa, fb = lo[idx], hi[idx], f_lo[idx], f_hi[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            c = b - fb * (b - a) / (fb - fa)
        c = np.where(np.isfinite(c) & (c > a) & (c < b), c, (a + b) / 2.0)
        fc = cdf(rows[idx], np.exp(c)) - qq[idx]
        same = np.sign(fc) == np.sign(fb)  # the root lies in [a, c]: Illinois halves fa
        lo[idx] = np.where(same, a, b)
        f_lo[idx] = np.where(same, fa / 2.0, fb)
        hi[idx], f_hi[idx] = c, fc
        # keep lo < hi
        swap = lo[idx] > hi[idx]
        lo_i, hi_i, flo_i, fhi_i = lo[idx], hi[idx], f_lo[idx], f_hi[idx]
        lo[idx] = np.where(swap, hi_i, lo_i)
        hi[idx] = np.where(swap, lo_i, hi_i)
        f_lo[idx] = np.where(swap, fhi_i, flo_i)
        f_hi[idx] = np.where(swap, flo_i, fhi_i)
        done = (np.abs(hi[idx] - lo[idx]) <= 1e-12 * np.maximum(1.0, np.abs(c))) | (fc == 0)
        res[idx[done]] = c[done]
        active[idx[done]] = False
    res[active] = ((lo + hi) / 2.0)[active]
    out[rows] = np.exp(res)
    return out
