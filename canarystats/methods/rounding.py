"""Iter8's fetching of values: rounding as Python's ``float('%.3f' % x)``, and substitution."""

from __future__ import annotations

import weakref
from typing import Any, cast

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats.observations import Observations
from canarystats.spec import Criterion

__all__ = ["Fetched", "fetch_iter8", "round3"]


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


@attrs.frozen(kw_only=True)
class Fetched:
    """What Iter8 saw of one metric: rounded sample sizes and values.

    All arrays have shape ``(*batch, n_versions)``.

    Attributes
    ----------
    n : ndarray of float
        The rounded sample size; a missing one is 0 under ``missing="iter8"``
        and NaN otherwise.
    value : ndarray of float
        The rounded value after the missing-data policy: under
        ``missing="iter8"`` a missing value is replaced by ``absent_value``
        (NaN when that is not a number, Iter8's None).
    substituted : ndarray of bool
        Where ``absent_value`` replaced a missing value.
    """

    n: NDArray[np.float64]
    value: NDArray[np.float64]
    substituted: NDArray[np.bool_]


def fetch_iter8(criterion: Criterion, observations: Observations) -> Fetched:
    """Round and substitute as Iter8's metric queries did, for one criterion.

    The result for the last :class:`Observations` seen (immutable, with
    read-only arrays) is remembered, so a strategy and a method that both
    fetch the same observations in one step compute it once.
    """
    key = (criterion.missing, criterion.absent_value)
    ref, cached_key, cached = _LAST_FETCHED
    if ref is not None and ref() is observations and cached_key == key:
        return cast(Fetched, cached)
    n = round3(observations.count)
    value = round3(observations.value)
    substituted = np.isnan(value) if criterion.missing == "iter8" else None
    if substituted is not None and substituted.any():
        value = np.where(substituted, round3(criterion.absent), value)
    else:
        substituted = np.zeros(value.shape, dtype=bool)
    if criterion.missing == "iter8":
        missing_n = np.isnan(n)
        if missing_n.any():
            n = np.where(missing_n, 0.0, n)
    for arr in (n, value, substituted):
        arr.flags.writeable = False
    fetched = Fetched(n=n, value=value, substituted=substituted)
    _LAST_FETCHED[:] = [weakref.ref(observations), key, fetched]
    return fetched


_LAST_FETCHED: list[Any] = [None, None, None]
