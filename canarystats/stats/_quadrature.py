"""Composite Gauss-Legendre quadrature shared by the posterior kernels.

The rule (:data:`ORDER` nodes per panel), the graded grid of panel boundaries
(:data:`GRID`, in units of a density's scale around its mode), the tail mass
left outside the window (:data:`TAIL`), and the flat rows the kernels work on:
their inputs are broadcast and flattened once (:func:`flat_broadcast`), the
quadrature sees rows of one length and the result is reshaped at the end.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CHUNK", "GRID", "NEGLIGIBLE", "ORDER", "TAIL", "flat_broadcast", "panels"]

#: Nodes per panel of the composite Gauss-Legendre rule.
ORDER = 12
#: Panel boundaries around a density's mode, in units of its standard deviation:
#: fine near the mode, coarse in the exponential tails that small parameters give.
GRID = np.array([-40.0, -26.0, -17.0, -11.0, -7.0, -4.4, -2.6, -1.4, -0.5,
                 0.5, 1.4, 2.6, 4.4, 7.0, 11.0, 17.0, 26.0, 40.0])
#: The integration window runs between a density's ``TAIL`` and ``1 - TAIL`` quantiles.
TAIL = 1e-14
#: Rows integrated at once (bounds the memory of the node arrays).
CHUNK = 16_384
#: Nodes whose share of the density's integral is below this are not evaluated.
NEGLIGIBLE = 1e-18
_XI, _WI = np.polynomial.legendre.leggauss(ORDER)
_XI01 = (_XI + 1.0) / 2.0
_WI01 = _WI / 2.0

_F = NDArray[np.float64]


def panels(lo: _F, hi: _F, edges: list[_F]) -> tuple[_F, _F]:
    """Nodes and weights, shape (m, n_panels * ORDER), of the composite rule on [lo, hi].

    ``edges`` are (m, q) arrays of panel boundaries, clipped into the window.
    """
    bounds = np.concatenate([lo[:, None], *edges, hi[:, None]], axis=1)
    bounds = np.sort(np.clip(bounds, lo[:, None], hi[:, None]), axis=1)
    left, width = bounds[:, :-1, None], np.diff(bounds, axis=1)[:, :, None]
    nodes = (left + width * _XI01).reshape(lo.size, -1)
    weights = (width * _WI01).reshape(lo.size, -1)
    return nodes, weights


def flat_broadcast(*arrays: ArrayLike) -> tuple[tuple[int, ...], list[_F]]:
    """The broadcast shape of ``arrays`` and each of them as a flat float64 array."""
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in arrays))
    shape = arrs[0].shape
    return shape, [np.ascontiguousarray(a).reshape(-1) for a in arrs]
