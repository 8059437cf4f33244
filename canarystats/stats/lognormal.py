"""Log-normal means: posterior probabilities of ``exp(mu + sigma^2 / 2)``; histogram log-moments.

Per-request values (latencies) are log-normal; a criterion is judged on their
mean. From the count, mean and variance of the log values (estimated from a
histogram by :func:`histogram_log_moments`) its posterior probabilities are
expectations over the variance, computed by the composite Gauss-Legendre
rule of ``canarystats.stats._quadrature``. See ``docs/bayes.md``.

Examples
--------
70 latencies in the buckets (1, 2] and (2, 4]; the estimate of the mean is 2.23:

>>> from canarystats.stats.lognormal import histogram_log_moments, prob_lognormal_mean_le
>>> n, m, v, bad = histogram_log_moments([0, 30, 40, 0], [1.0, 2.0, 4.0, np.inf])
>>> np.round(prob_lognormal_mean_le(n, m, v, [2.0, 2.2, 2.5]), 4)
array([0.004 , 0.3641, 0.9929])
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike, NDArray

from canarystats._arrays import TupleResult, result_field, scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats._quadrature import CHUNK, GRID, NEGLIGIBLE, TAIL, flat_broadcast, panels

__all__ = [
    "HistogramLogMomentsResult",
    "histogram_log_moments",
    "prob_lognormal_mean_le",
    "prob_lognormal_ratio_le",
]

_F = NDArray[np.float64]


# --------------------------------------------------------------------------- log-normal means
#
# Model: per-request values (latencies) Y = exp(Z), Z ~ N(mu, sigma^2), reference prior
# p(mu, sigma^2) ∝ 1 / sigma^2 (the right-invariant prior of the log-scale location-scale
# family). From n, the mean m and the variance v of log Y: sigma^2 = (n - 1) v / X with
# X ~ chi^2_{n-1}, and mu | sigma^2 ~ N(m, sigma^2 / n). The criterion is judged on the mean
# exp(mu + sigma^2 / 2): given sigma^2 its probabilities are normal CDFs, so they are
# expectations over X, computed by the composite Gauss-Legendre rule in T = log X (density
# ∝ exp(nu t / 2 - e^t / 2), log-concave) between T's 1e-14 quantiles, panels graded around
# its mode log(nu) in units of its standard deviation sqrt(psi'(nu / 2)).

_CHUNK_2D = 32


def _chi2_log_nodes(nu: _F) -> tuple[_F, _F]:
    """Nodes ``t`` and normalised weights, shape (m, K), of ``E[f(log X)]``, X ~ chi^2_nu."""
    half = nu / 2.0
    lo = np.log(np.maximum(2.0 * sc.gammaincinv(half, TAIL), 1e-300))
    hi = np.log(2.0 * sc.gammainccinv(half, TAIL))
    sd = np.sqrt(sc.polygamma(1, half))
    t, w = panels(lo, hi, [np.log(nu)[:, None] + sd[:, None] * GRID[None, :]])
    logdens = half[:, None] * t - np.exp(t) / 2.0
    logdens -= logdens.max(axis=1, keepdims=True)
    dens = np.exp(logdens) * w
    dens /= dens.sum(axis=1, keepdims=True)
    dens[dens <= NEGLIGIBLE] = 0.0
    return t, dens


def _normal_cdf_ratio(num: _F, den: _F) -> _F:
    """``Phi(num / den)``, with ``den = 0`` a point mass: 1 where ``num >= 0``, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inf = np.where(num >= 0, np.inf, -np.inf)
        z = np.where(den > 0, num / np.where(den > 0, den, 1.0), inf)
    out: _F = sc.ndtr(z)
    return out


def _lognormal_ok(n: _F, m: _F, v: _F) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        ok: NDArray[np.bool_] = np.isfinite(n) & np.isfinite(m) & np.isfinite(v)
        ok &= (n > 1) & (v >= 0)
    return ok


def prob_lognormal_mean_le(
    count: ArrayLike, log_mean: ArrayLike, log_var: ArrayLike, bound: ArrayLike
) -> Any:
    """``P(exp(mu + sigma^2 / 2) <= bound)``: is a log-normal mean at most ``bound``?

    Per-request values are log-normal, ``log Y ~ N(mu, sigma^2)``, with the
    reference prior ``p(mu, sigma^2) ∝ 1 / sigma^2``; ``count``, ``log_mean``
    and ``log_var`` are the number, mean and sample variance (divisor ``n -
    1``) of ``log Y``. Deterministic quadrature over ``sigma^2`` (see
    docs/bayes.md); elementwise over the broadcast shape.

    Returns
    -------
    ndarray or numpy scalar
        In [0, 1]; NaN where ``count <= 1`` or an input is not finite (a
        ``bound <= 0`` gives 0). ``log_var = 0`` is a point mass of sigma^2 at 0.

    Examples
    --------
    50 values with log-mean 0 and log-variance 1 (the mean's estimate is e^0.5 = 1.65):

    >>> np.round(prob_lognormal_mean_le(50, 0.0, 1.0, [1.2, 1.65, 2.5]), 4)
    array([0.0187, 0.4809, 0.9759])
    """
    shape, (n, m, v, b) = flat_broadcast(count, log_mean, log_var, bound)
    out = np.full(n.shape, np.nan)
    ok = _lognormal_ok(n, m, v) & ~np.isnan(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_b = np.where(b > 0, np.log(np.where(b > 0, b, 1.0)), -np.inf)
    point = ok & (v == 0)
    out[point] = (m[point] <= log_b[point]).astype(np.float64)
    rows = np.flatnonzero(ok & (v > 0))
    for start in range(0, rows.size, CHUNK):
        r = rows[start:start + CHUNK]
        nu = n[r] - 1.0
        t, w = _chi2_log_nodes(nu)
        sig2 = (nu * v[r])[:, None] * np.exp(-t)
        num = log_b[r, None] - m[r, None] - sig2 / 2.0
        vals = _normal_cdf_ratio(num, np.sqrt(sig2 / n[r, None]))
        out[r] = (w * vals).sum(axis=1)
    return scalar_or_array(np.clip(out, 0.0, 1.0).reshape(shape))


def prob_lognormal_ratio_le(
    count_x: ArrayLike,
    log_mean_x: ArrayLike,
    log_var_x: ArrayLike,
    count_y: ArrayLike,
    log_mean_y: ArrayLike,
    log_var_y: ArrayLike,
    ratio: ArrayLike = 1.0,
) -> Any:
    """``P(M_x <= ratio * M_y)`` for two independent log-normal means ``M = exp(mu + sigma^2/2)``.

    Each version as in :func:`prob_lognormal_mean_le`. Given both variances
    the difference ``log M_x - log M_y`` is normal, so the probability is a
    two-dimensional expectation over the variances: the tensor product of the
    one-dimensional rules (nodes whose weight is below 1e-18 skipped).

    Examples
    --------
    >>> round(float(prob_lognormal_ratio_le(50, 0.1, 0.5, 50, 0.1, 0.5)), 12)   # equal data
    0.5
    """
    shape, (nx, mx, vx, ny, my, vy, k) = flat_broadcast(
        count_x, log_mean_x, log_var_x, count_y, log_mean_y, log_var_y, ratio
    )
    out = np.full(nx.shape, np.nan)
    with np.errstate(invalid="ignore"):
        ok = _lognormal_ok(nx, mx, vx) & _lognormal_ok(ny, my, vy) & np.isfinite(k) & (k > 0)
    rows = np.flatnonzero(ok)
    for start in range(0, rows.size, _CHUNK_2D):
        r = rows[start:start + _CHUNK_2D]
        tx, wx = _chi2_log_nodes(nx[r] - 1.0)
        ty, wy = _chi2_log_nodes(ny[r] - 1.0)
        sx = ((nx[r] - 1.0) * vx[r])[:, None, None] * np.exp(-tx)[:, :, None]
        sy = ((ny[r] - 1.0) * vy[r])[:, None, None] * np.exp(-ty)[:, None, :]
        weight = wx[:, :, None] * wy[:, None, :]
        need = weight > NEGLIGIBLE
        sx, sy = np.broadcast_to(sx, need.shape)[need], np.broadcast_to(sy, need.shape)[need]
        shift = np.broadcast_to((np.log(k[r]) - mx[r] + my[r])[:, None, None], need.shape)[need]
        den = np.sqrt(sx / np.broadcast_to(nx[r, None, None], need.shape)[need]
                      + sy / np.broadcast_to(ny[r, None, None], need.shape)[need])
        vals = np.zeros(need.shape)
        vals[need] = _normal_cdf_ratio(shift - (sx - sy) / 2.0, den)
        # a row's sum must not depend on the rest of the chunk (vectorized == loop)
        out[r] = (weight * vals).reshape(r.size, -1).sum(axis=1)
    return scalar_or_array(np.clip(out, 0.0, 1.0).reshape(shape))


@attrs.frozen(kw_only=True)
class HistogramLogMomentsResult(TupleResult):
    """Moments of ``log Y`` from a histogram; unpacks as ``count, log_mean, log_var, bad``.

    Attributes
    ----------
    count, log_mean, log_var : ndarray or numpy scalar, shape (...)
        Number, mean and sample variance (divisor ``count - 1``; NaN for
        ``count <= 1``) of ``log Y``: the inputs of :func:`prob_lognormal_mean_le`.
    bad : ndarray of bool or numpy bool, shape (...)
        Negative or infinite counts, or counts in non-positive buckets.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("count", "log_mean", "log_var", "bad")

    count: Any = result_field()
    log_mean: Any = result_field()
    log_var: Any = result_field()
    bad: Any = result_field()


def histogram_log_moments(
    buckets: ArrayLike, bucket_bounds: ArrayLike
) -> HistogramLogMomentsResult:
    """Count, mean and sample variance of ``log Y`` from a histogram of Y; and a bad-data mask.

    Each bucket stands for the log of its midpoint on the log scale (the
    geometric midpoint ``sqrt(lower * upper)``); explicitly:

    - the first bucket with a positive upper bound ``b_0``, ``(0, b_0]``, has
      no finite log-midpoint: it stands for ``(b_0^2 / b_1, b_0]``, one more
      bucket of the next bucket's log-width (``log b_1 - log b_0``) below;
    - the overflow bucket ``(b_L, +inf)`` stands for ``(b_L, b_L^2 / b_{L-1}]``,
      one more bucket of the last finite bucket's log-width above (a tail
      beyond ``b_L`` is not seen, so its spread is understated);
    - buckets whose upper bound is <= 0 hold values a log-normal model cannot
      have: counts there are bad data.

    Parameters
    ----------
    buckets : array_like of float, shape (..., n_buckets)
        Counts per bucket (not cumulative).
    bucket_bounds : array_like of float, shape (n_buckets,)
        Upper bounds, increasing, ending in ``+inf``; at least two finite
        positive ones.

    Returns
    -------
    HistogramLogMomentsResult
        ``count``, ``log_mean``, ``log_var`` (divisor ``count - 1``; NaN for
        ``count <= 1``) and the bad-data mask ``bad``, shape (...) each
        (numpy scalars when 0-d); unpacks as ``count, log_mean, log_var, bad``.

    Examples
    --------
    >>> n, m, v, bad = histogram_log_moments([0, 10, 10, 0], [1.0, 2.0, 4.0, np.inf])
    >>> float(n), round(float(np.exp(m)), 6), bool(bad)     # midpoints sqrt(2) and sqrt(8)
    (20.0, 2.0, False)
    """
    counts = np.asarray(buckets, dtype=np.float64)
    bounds = np.asarray(bucket_bounds, dtype=np.float64)
    pos = np.flatnonzero((bounds > 0) & np.isfinite(bounds))
    if pos.size < 2:
        raise SpecError(
            "`model` 'lognormal' needs at least two finite positive bucket bounds (the log-width "
            f"of the first and overflow buckets comes from their neighbours), got {bounds.tolist()}"
        )
    log_b = np.log(bounds[pos])
    mid = np.zeros(bounds.shape)
    mid[pos[1:]] = (log_b[:-1] + log_b[1:]) / 2.0
    mid[pos[0]] = log_b[0] - (log_b[1] - log_b[0]) / 2.0
    overflow = bounds.size - 1
    if np.isinf(bounds[overflow]):
        mid[overflow] = log_b[-1] + (log_b[-1] - log_b[-2]) / 2.0
    nonpositive = np.zeros(bounds.shape, dtype=bool)
    nonpositive[: pos[0]] = True
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = (np.isinf(counts).any(axis=-1) | (counts < 0).any(axis=-1)
               | (counts[..., nonpositive] > 0).any(axis=-1))
        total = counts.sum(axis=-1)
        mean = (counts * mid).sum(axis=-1) / total
        var = (counts * (mid - mean[..., None]) ** 2).sum(axis=-1) / (total - 1.0)
        var = np.where(total > 1, var, np.nan)
    return HistogramLogMomentsResult(
        count=scalar_or_array(total),
        log_mean=scalar_or_array(mean),
        log_var=scalar_or_array(var),
        bad=scalar_or_array(bad),
    )
