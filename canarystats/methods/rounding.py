"""Iter8's rounding of fetched values: Python's ``float('%.3f' % x)``, vectorized."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["round3"]


def round3(x: ArrayLike) -> NDArray[np.float64]:
    """Round to 3 decimals exactly as Python's ``float('%.3f' % x)``.

    ``'%.3f'`` rounds the exact binary value correctly (ties of the exact
    value go to even), so it differs from ``numpy.round`` on values such as
    0.2525 whose scaled product lands on a tie. Away from ties,
    ``rint(x * 1000) / 1000`` is the same double: while ``|x * 1000| < 2**52``
    every half-integer ``k + 0.5`` is a double and rounding is monotone, so the
    computed product stays on the same side of it as the exact one and rounds
    to the same integer ``k``; and ``k / 1000`` is the correctly rounded
    double of the decimal ``k/1000``, which ``float()`` parses. Values whose
    product lands within 1e-6 of a half-integer, and values whose product
    reaches 2**52, are formatted one by one.

    Examples
    --------
    >>> round3([0.2525, 21.763975, 9.9996]).tolist()
    [0.253, 21.764, 10.0]
    >>> float('%.3f' % 0.2525), float(np.round(0.2525, 3))
    (0.253, 0.252)
    """
    arr0 = np.asarray(x, dtype=np.float64)
    arr = arr0.reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = arr * 1000.0
        k = np.rint(scaled)
        # within a whisker of a tie of the scaled value; NaN and +-inf compare False
        dist = np.abs(np.subtract(scaled, k, out=scaled), out=scaled)
        slow = dist > 0.5 - 1e-6
        # fmax/fmin skip NaN; only look for huge values when the extremes say so
        if k.size and not (np.fmax.reduce(k, axis=None) < 2.0**52 > -np.fmin.reduce(k, axis=None)):
            slow |= (np.abs(k) >= 2.0**52) & np.isfinite(arr)
        out = np.divide(k, 1000.0, out=k)
    # NaN and +-inf format as 'nan' / 'inf' and parse back unchanged: rint keeps them.
    if slow.any():
        for i in np.flatnonzero(slow):
            out[i] = float("%.3f" % arr[i])  # noqa: UP031 -- Iter8's exact expression
    if arr0.ndim == 0:
        return np.float64(out[0])  # type: ignore[return-value]
    return out.reshape(arr0.shape)
