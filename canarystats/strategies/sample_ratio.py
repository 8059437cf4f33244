"""The sample-ratio guard: a sample-ratio-mismatch check at every assessment.

:class:`SampleRatioGuard` (state :class:`SampleRatioState`) runs the
anytime-valid sample-ratio-mismatch test of :mod:`canarystats.stats.sample_ratio`
(through its point-process step) against the intended split of each
assessment, and can abort the experiment. It mirrors the criterion-method
protocol without being a criterion method: it judges the traffic split, not a
metric.
"""

from __future__ import annotations

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats._arrays import array_field
from canarystats.errors import SpecError
from canarystats.observations import Reason, Verdict
from canarystats.stats.rate_ratio import point_process_step

__all__ = ["SampleRatioGuard", "SampleRatioState"]

_F = NDArray[np.float64]
_I8 = np.int8


@attrs.frozen(kw_only=True)
class SampleRatioState:
    """State of :class:`SampleRatioGuard`, batch-leading arrays.

    Attributes
    ----------
    count : ndarray of float, shape (*batch, 2)
        The last valid cumulative requests (NaN before the first).
    beta : ndarray of float, shape (*batch, 3)
        The mixing Beta's ``(a, b)`` and the allocation it refers to.
    log_e : ndarray of float, shape (*batch,)
        The log e-value; ``pvalue`` is ``min(1, 1/max e)``.
    pvalue : ndarray of float, shape (*batch,)
        The running anytime-valid p-value (non-increasing).
    """

    count: _F = array_field()
    beta: _F = array_field()
    log_e: _F = array_field()
    pvalue: _F = array_field()


class SampleRatioGuard:
    """A sample-ratio-mismatch check at every assessment that can abort (criterion-like).

    ``init(batch_shape)`` and ``update(state, requests, intended)`` mirror the
    criterion-method protocol: ``update`` returns ``(state, verdict, reason,
    abort)``. The verdict is FAIL once the running p-value of :func:`srm_test`
    falls to ``1 - confidence`` (a mismatch: sticky, and an abort when
    ``abort_on_mismatch``), PASS otherwise ("no mismatch detected so far");
    bad data (NaN, negative or decreasing requests, an intended split that is
    not two nonnegative numbers with a positive sum) is INCONCLUSIVE with
    ``Reason.BAD_DATA`` or ``Reason.MISSING_VALUE`` and leaves the state
    unchanged. P(a false mismatch ever) <= 1 - confidence under any monitoring.

    Parameters
    ----------
    confidence : float, default 0.999
        A strict default: a false abort is costly.
    k : float, default 100
    abort_on_mismatch : bool, default True

    Examples
    --------
    >>> guard = SampleRatioGuard()
    >>> state = guard.init(())
    >>> for n, split in (([900, 100], [90, 10]), ([1800, 200], [80, 20]),
    ...                  ([2700, 300], [60, 40])):
    ...     state, verdict, reason, abort = guard.update(state, n, split)
    >>> int(verdict), bool(abort), bool(state.pvalue < 1e-6)
    (-1, True, True)
    """

    def __init__(
        self, *, confidence: float = 0.999, k: float = 100.0, abort_on_mismatch: bool = True
    ) -> None:
        if not 0.0 < confidence < 1.0:
            raise SpecError(f"`confidence` must be in (0, 1), got {confidence!r}")
        if not k > 0:
            raise SpecError(f"`k` must be > 0, got {k!r}")
        self.confidence = float(confidence)
        self.k = float(k)
        self.abort_on_mismatch = bool(abort_on_mismatch)

    def init(self, batch_shape: tuple[int, ...]) -> SampleRatioState:
        shape = tuple(batch_shape)
        return SampleRatioState(
            count=np.full((*shape, 2), np.nan),
            beta=np.full((*shape, 3), np.nan),
            log_e=np.zeros(shape),
            pvalue=np.ones(shape),
        )

    def update(
        self, state: SampleRatioState, requests: ArrayLike, intended: ArrayLike
    ) -> tuple[SampleRatioState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        n = np.asarray(requests, dtype=np.float64)
        share = np.broadcast_to(np.asarray(intended, dtype=np.float64), n.shape)
        batch = n.shape[:-1]
        if n.shape[-1:] != (2,):
            raise SpecError(f"`requests` must have shape (*batch, 2), got {n.shape}")
        with np.errstate(invalid="ignore", divide="ignore"):
            missing = np.isnan(n).any(axis=-1) | np.isnan(share).any(axis=-1)
            prev = np.where(np.isnan(state.count), 0.0, state.count)
            bad = ~missing & (
                np.isinf(n).any(axis=-1)
                | (n < prev).any(axis=-1)
                | (share < 0).any(axis=-1)
                | ~(share.sum(axis=-1) > 0)
            )
            w = share[..., 1] / share.sum(axis=-1)
        valid = ~missing & ~bad
        inc = np.where(valid[..., None], np.rint(n) - np.rint(prev), 0.0)
        a, b, alloc, log_f, _ = point_process_step(
            state.beta[..., 0], state.beta[..., 1], state.beta[..., 2],
            inc[..., 1], inc[..., 0], np.where(valid, w, 0.5), np.ones(batch), self.k,
        )
        log_e = state.log_e + np.where(valid, log_f, 0.0)
        pvalue = np.minimum(state.pvalue, np.exp(-np.maximum(log_e, 0.0)))
        mismatch = pvalue <= 1.0 - self.confidence
        verdict = np.where(mismatch, Verdict.FAIL, Verdict.PASS).astype(_I8)
        verdict[~valid & ~mismatch] = Verdict.INCONCLUSIVE
        reason = np.full(batch, _I8(Reason.OK))
        reason[missing & ~mismatch] = Reason.MISSING_VALUE
        reason[bad & ~mismatch] = Reason.BAD_DATA
        abort = mismatch & self.abort_on_mismatch
        new = SampleRatioState(
            count=np.where(valid[..., None], n, state.count),
            beta=np.stack([a, b, alloc], axis=-1),
            log_e=log_e,
            pvalue=pvalue,
        )
        return new, verdict, reason, np.asarray(abort, dtype=bool)
