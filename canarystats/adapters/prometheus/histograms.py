"""Quantiles from classic Prometheus histograms, as ``histogram_quantile`` computes them.

:func:`classic_buckets` gathers one version's ``le`` bucket series from a
vector result; :func:`bucket_quantile` interpolates a quantile from the
cumulative bucket counts with the rules of Prometheus' ``bucketQuantile``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats._arrays import scalar_or_array
from canarystats.adapters.prometheus.parsing import QueryResult
from canarystats.errors import DataError

__all__ = ["bucket_quantile", "classic_buckets"]

#: A quantile per batch element: an array, or a numpy scalar when 0-d.
_Quantiles = NDArray[np.float64] | np.float64


def classic_buckets(
    result: QueryResult, labels: Mapping[str, str]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The classic histogram buckets of one version in a vector result grouped by ``le``.

    Returns ``(bounds, cumulative)``: upper bounds sorted increasing (ending in
    ``+inf`` when the ``+Inf`` bucket is there) and the cumulative counts;
    None when the version has no bucket series.

    Raises
    ------
    DataError
        For an ``le`` that is not a number, or two series with the same ``le``.
    """
    found: dict[float, float] = {}
    for s in result.series:
        if not all(s.labels.get(k) == v for k, v in labels.items()):
            continue
        le = s.labels.get("le")
        try:
            bound = float(le) if le is not None else math.nan
        except ValueError:
            bound = math.nan
        if math.isnan(bound):
            raise DataError(f"a bucket series has no numeric `le` label: {dict(s.labels)}")
        if bound in found:
            raise DataError(f"two bucket series with le={le!r} match {dict(labels)}")
        found[bound] = float(s.samples[-1]) if len(s.samples) else math.nan
    if not found:
        return None
    bounds = np.array(sorted(found))
    return bounds, np.array([found[b] for b in bounds])


def bucket_quantile(
    q: float, bounds: ArrayLike, cumulative: ArrayLike
) -> NDArray[np.float64] | np.float64:
    """The ``q`` quantile from classic histogram buckets, as ``histogram_quantile`` computes it.

    Prometheus' rules (``promql/quantile.go``, ``bucketQuantile``, in 2.42):
    NaN for a NaN ``q``, ``-inf`` for ``q < 0``, ``+inf`` for ``q > 1``; NaN
    without a ``+Inf`` bucket, with fewer than two buckets, or with no
    observations; bucket counts are made monotone (each at least the one
    before); the quantile's rank ``q * total`` falls in the first bucket whose
    cumulative count reaches it, and is interpolated linearly inside it
    (from 0 for the first bucket, unless its upper bound is <= 0: then that
    bound); in the ``+Inf`` bucket the answer is the largest finite bound.

    Parameters
    ----------
    q : float
    bounds : array_like of float, shape (n_buckets,)
        Upper bounds, increasing.
    cumulative : array_like of float, shape (..., n_buckets)
        Cumulative counts (e.g. increases of the ``_bucket`` counters).

    Returns
    -------
    ndarray of float, shape (...)

    Examples
    --------
    >>> float(bucket_quantile(0.5, [0.1, 0.25, float("inf")], [10.0, 30.0, 40.0]))
    0.175
    >>> float(bucket_quantile(0.99, [0.1, 0.25, float("inf")], [10.0, 30.0, 40.0]))
    0.25
    """
    b = np.asarray(bounds, dtype=np.float64)
    c = np.asarray(cumulative, dtype=np.float64)
    batch = c.shape[:-1]
    if math.isnan(q):
        return cast(_Quantiles, scalar_or_array(np.full(batch, np.nan)))
    if q < 0:
        return cast(_Quantiles, scalar_or_array(np.full(batch, -np.inf)))
    if q > 1:
        return cast(_Quantiles, scalar_or_array(np.full(batch, np.inf)))
    n = b.shape[0]
    if c.shape[-1] != n:
        raise DataError(f"`cumulative` has {c.shape[-1]} buckets, `bounds` {n}")
    if n < 2 or not np.isposinf(b[-1]):
        return cast(_Quantiles, scalar_or_array(np.full(batch, np.nan)))
    c = np.fmax.accumulate(c, axis=-1)  # ensureMonotonic (NaN counts skipped)
    total = c[..., -1]
    rank = q * total
    # sort.Search over the first n-1 buckets: the first whose count reaches the rank.
    reach = c[..., : n - 1] >= rank[..., None]
    idx = np.where(reach.any(axis=-1), reach.argmax(axis=-1), n - 1)
    end = b[np.minimum(idx, n - 1)]
    start = np.where(idx > 0, b[np.maximum(idx - 1, 0)], 0.0)
    below = np.where(
        idx > 0, np.take_along_axis(c, np.maximum(idx - 1, 0)[..., None], -1)[..., 0], 0.0
    )
    count = np.take_along_axis(c, idx[..., None], -1)[..., 0] - below
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = start + (end - start) * ((rank - below) / count)
    out = np.where(idx == n - 1, b[n - 2], inside)
    out = np.where((idx == 0) & (b[0] <= 0), b[0], out)
    out = np.where((total == 0) | np.isnan(total), np.nan, out)
    return cast(_Quantiles, scalar_or_array(out))
