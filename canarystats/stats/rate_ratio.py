"""Lindon and Malek's point-process test of a rate ratio, with the allocation changing.

:func:`rate_ratio_test` (:class:`RateRatioResult`) tests the ratio of two
versions' event rates (errors, or requests for a sample-ratio check) along
looks, conditioning on each interval's events so that any common
time-varying rate cancels, with anytime-valid p-values and a confidence
sequence for the ratio. :func:`point_process_step` is one interval of it,
elementwise, for callers that carry the test's state from look to look.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from canarystats._arrays import scalar_or_array
from canarystats.stats.confidence_sequences import ConfidenceSequenceResult
from canarystats.stats.levels import level_from
from canarystats.stats.mixtures import BISECTION_STEPS

__all__ = [
    "RateRatioResult",
    "point_process_step",
    "rate_ratio_test",
]

_F = NDArray[np.float64]


def _shift_beta(a: _F, b: _F, c: _F) -> tuple[_F, _F]:
    """Move a Beta(a, b) on a share to the share whose log-odds are shifted by ``c``.

    Matches the normal approximation of the log-odds: its mean ``log(a/b)``
    moves by ``c`` and its variance ``1/a + 1/b`` is kept. The identity when
    ``c = 0``, and shifting by ``c`` then ``-c`` returns ``(a, b)`` exactly.
    """
    log_s = np.log(a) - np.log(b) + c
    v = 1.0 / a + 1.0 / b
    return (1.0 + np.exp(log_s)) / v, (1.0 + np.exp(-log_s)) / v


def point_process_step(
    a: _F, b: _F, alloc: _F, x: _F, y: _F, w: _F, ratio: _F, k: float
) -> tuple[_F, _F, _F, _F, _F]:
    """One interval of the point-process test, elementwise.

    ``x``, ``y``: the candidate's and the baseline's events in the interval;
    ``w``: the candidate's share of the exposure in the interval; ``(a, b,
    alloc)``: the Beta mixing distribution of the candidate's share of events
    at allocation ``alloc`` (NaN before the first informative interval).
    Returns the new ``(a, b, alloc)``, the interval's log predictive ratio
    and its score (derivative of the log likelihood in ``log ratio``) at ``ratio``.
    """
    m = x + y
    informative = (m > 0) & (w > 0) & (w < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pi0 = w * ratio / (1.0 - w + w * ratio)
        first = np.isnan(alloc)
        a0 = np.where(first, k * pi0, a)
        b0 = np.where(first, k * (1.0 - pi0), b)
        c = np.where(first, 0.0, special.logit(w) - special.logit(alloc))
        a1, b1 = _shift_beta(a0, b0, c)
        log_f = (
            special.betaln(a1 + x, b1 + y)
            - special.betaln(a1, b1)
            - special.xlogy(x, pi0)
            - special.xlog1py(y, -pi0)
        )
        score = x - m * pi0
    return (
        np.where(informative, a1 + x, a),
        np.where(informative, b1 + y, b),
        np.where(informative, w, alloc),
        np.where(informative, log_f, 0.0),
        np.where(informative, score, 0.0),
    )


def _increments(cumulative: _F) -> _F:
    """Per-interval increments of cumulative counts along axis -2."""
    first = cumulative[..., :1, :]
    return np.concatenate([first, np.diff(cumulative, axis=-2)], axis=-2)


@attrs.frozen(kw_only=True)
class RateRatioResult:
    """Lindon and Malek's point-process test along looks (see :func:`rate_ratio_test`).

    Attributes
    ----------
    log_e : ndarray of float, shape (..., n_looks)
        The log e-value against ``rate ratio == ratio`` at each look.
    pvalue : ndarray of float, shape (..., n_looks)
        The anytime-valid p-value ``min(1, 1 / max_{j <= i} e_j)``: non-increasing.
    ratio : float
        The null rate ratio (candidate / baseline).
    k : float
        The Dirichlet (Beta) concentration.
    """

    log_e: _F
    pvalue: _F
    ratio: float
    k: float
    _events: _F = attrs.field(repr=False, alias="events")
    _exposure: _F = attrs.field(repr=False, alias="exposure")
    _log_q: _F = attrs.field(repr=False, alias="log_q")

    def confidence_sequence(self, confidence_level: float = 0.95) -> ConfidenceSequenceResult:
        """The confidence sequence for the rate ratio: running intersections per look.

        At look ``T`` the set is ``{r : e_T(r) < 1/alpha}`` with the mixing
        distribution kept as it was built for the null ``ratio`` (as savvi
        inverts the Dirichlet test): ``e_T(r) = prod_t q_t / prod_t
        Binomial(x_t; m_t, pi_t(r))`` with ``pi_t(r) = w_t r / (1 - w_t + w_t
        r)``. The conditional log likelihood is concave in ``log r``, so the
        set is an interval, found by bisection (64 halvings in ``log r`` over
        ``[-30, 30]``; an end beyond is reported as 0 or ``inf``). The running
        intersection is returned; an empty set is NaN. Costs ``O(n_looks**2)``
        per stream.

        ``alpha = 1 - confidence_level`` (in (0, 1), else a SpecError): the
        sequence covers the ratio at all looks with probability at least
        ``confidence_level``.

        Returns
        -------
        ConfidenceSequenceResult
            ``lower``, ``upper``: arrays of shape (..., n_looks).
        """
        alpha = float(level_from(confidence_level, None, default=0.95))
        inc = _increments(np.asarray(self._events, dtype=np.float64))
        exp_inc = _increments(np.asarray(self._exposure, dtype=np.float64))
        x, y = inc[..., 1], inc[..., 0]
        tot = exp_inc.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = exp_inc[..., 1] / tot
            lw = special.logit(w)
        ok = (x + y > 0) & (w > 0) & (w < 1)
        x, y, lw = np.where(ok, x, 0.0), np.where(ok, y, 0.0), np.where(ok, lw, 0.0)
        n_looks = x.shape[-1]
        floor = np.cumsum(self._log_q, axis=-1) - math.log(1.0 / alpha)
        lower = np.full(x.shape, np.nan)
        upper = np.full(x.shape, np.nan)
        big = 30.0
        for t in range(n_looks):
            xs, ys, ls = x[..., : t + 1], y[..., : t + 1], lw[..., : t + 1]
            fl = floor[..., t]

            def loglik(u: _F, xs: _F = xs, ys: _F = ys, ls: _F = ls) -> _F:
                z = u[..., None] + ls
                return np.asarray(
                    np.sum(xs * special.log_expit(z) + ys * special.log_expit(-z), axis=-1)
                )

            def score(u: _F, xs: _F = xs, ys: _F = ys, ls: _F = ls) -> _F:
                z = u[..., None] + ls
                return np.asarray(np.sum(xs - (xs + ys) * special.expit(z), axis=-1))

            # sum_t log q_t = log e_T(ratio) + loglik_T(ratio)
            fl = fl + loglik(np.full(fl.shape, math.log(self.ratio)))
            lo_u, hi_u = np.full(fl.shape, -big), np.full(fl.shape, big)
            for _ in range(BISECTION_STEPS):  # the maximiser: the score decreases in u
                mid = 0.5 * (lo_u + hi_u)
                pos = score(mid) > 0
                lo_u, hi_u = np.where(pos, mid, lo_u), np.where(pos, hi_u, mid)
            top = 0.5 * (lo_u + hi_u)
            nonempty = loglik(top) > fl
            ends = []
            for side in (-1.0, 1.0):
                inner, outer = np.array(top), np.full(fl.shape, side * big)
                for _ in range(BISECTION_STEPS):
                    mid = 0.5 * (inner + outer)
                    ins = loglik(mid) > fl
                    inner, outer = np.where(ins, mid, inner), np.where(ins, outer, mid)
                at_edge = loglik(np.full(fl.shape, side * big)) > fl
                ends.append(np.where(at_edge, side * np.inf, outer))
            lower[..., t] = np.where(nonempty, np.exp(ends[0]), np.nan)
            upper[..., t] = np.where(nonempty, np.exp(ends[1]), np.nan)
        lower = np.fmax.accumulate(lower, axis=-1)
        upper = np.fmin.accumulate(upper, axis=-1)
        return ConfidenceSequenceResult(lower=scalar_or_array(lower), upper=scalar_or_array(upper))


def rate_ratio_test(
    events: ArrayLike, exposure: ArrayLike, *, ratio: float = 1.0, k: float = 100.0
) -> RateRatioResult:
    """Lindon and Malek's point-process test of a rate ratio, with changing allocation.

    Two versions' events (errors, or requests for a sample-ratio check) are
    modelled as Poisson processes whose intensities are proportional to each
    version's exposure (its requests, or its intended traffic share) times a
    common, arbitrary time-varying rate, with the candidate's rate ``r``
    times the baseline's. Given the events of an interval, the candidate's
    count is ``Binomial(m_t, pi_t(r))`` with ``pi_t(r) = w_t r / (1 - w_t +
    w_t r)`` and ``w_t`` the candidate's share of the interval's exposure, so
    conditioning removes the common rate (any daily pattern of traffic).

    The e-value against ``r = ratio`` multiplies the intervals' predictive
    ratios ``q_t(x_t) / Binomial(x_t; m_t, pi_t(ratio))``. ``q_t`` is the
    beta-binomial predictive of a Beta distribution of the candidate's share,
    started as Lindon and Malek's prior ``Beta(k pi_1, k (1 - pi_1))`` at the
    first allocation and updated by conjugacy; when the allocation changes,
    the Beta is moved to the new allocation by matching the mean and variance
    of its log-odds (shifted by the change in ``logit w``). Each factor has
    conditional expectation 1 under the null whatever ``q_t`` is, so the
    product is a test martingale and ``min(1, 1 / max e)`` an anytime-valid
    p-value. With a constant allocation it is exactly the Dirichlet-
    multinomial Bayes factor of :func:`multinomial_log_e` with ``theta0 = (1 -
    pi, pi)`` (so savvi's ``InhomogeneousPoissonProcess`` p-value for
    ``ratio = 1``).

    Parameters
    ----------
    events : array_like of float, shape (..., n_looks, 2)
        Cumulative events per look, baseline then candidate (rounded to
        integers by the caller; a decrease is not allowed).
    exposure : array_like of float, shape (..., n_looks, 2)
        Cumulative exposure per look (requests, or the sum over intervals of
        the intended traffic shares); only each interval's split is used.
    ratio : float, default 1
        The null rate ratio, candidate / baseline.
    k : float, default 100
        The concentration of the Beta (Dirichlet) mixing distribution.

    Returns
    -------
    RateRatioResult

    Notes
    -----
    Lindon and Malek (2022), the sequential test of multinomial counts and
    its application to time-inhomogeneous Poisson processes (canary tests
    with a multiplicative treatment effect). Deviation: their test assumes a
    fixed allocation; here the mixing distribution is carried across changes
    of allocation by the log-odds moment match above (a predictable choice,
    so validity is unaffected). For error counts of Bernoulli requests the
    conditional law given the interval's errors is Fisher's noncentral
    hypergeometric rather than the binomial; for rare errors the difference
    is negligible, and the calibration tests simulate Bernoulli requests.

    Examples
    --------
    >>> r = rate_ratio_test([[10, 10], [50, 20], [200, 60]], [[1, 1], [2, 2], [3, 3]])
    >>> r.pvalue.round(6).tolist()   # the 50/50 multinomial test, as multinomial_pvalue
    [1.0, 0.08977, 0.0]
    """
    ev = np.asarray(events, dtype=np.float64)
    ex = np.asarray(exposure, dtype=np.float64)
    ev, ex = np.broadcast_arrays(ev, ex)
    inc = _increments(ev)
    exp_inc = _increments(ex)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = exp_inc[..., 1] / exp_inc.sum(axis=-1)
    batch = inc.shape[:-2]
    a = np.full(batch, np.nan)
    b = np.full(batch, np.nan)
    alloc = np.full(batch, np.nan)
    r0 = np.full(batch, float(ratio))
    log_q = np.empty(inc.shape[:-1])
    for t in range(inc.shape[-2]):
        a, b, alloc, log_q[..., t], _ = point_process_step(
            a, b, alloc, inc[..., t, 1], inc[..., t, 0], w[..., t], r0, float(k)
        )
    log_e = np.cumsum(log_q, axis=-1)
    pvalue = np.exp(-np.maximum.accumulate(np.maximum(log_e, 0.0), axis=-1))
    return RateRatioResult(
        log_e=log_e, pvalue=pvalue, ratio=float(ratio), k=float(k),
        events=ev, exposure=ex, log_q=log_q,
    )
