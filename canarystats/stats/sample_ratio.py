"""The sample-ratio-mismatch test against an intended split that changes at every look.

:func:`srm_test` asks whether the router delivers the split it was told to
apply: the point-process test of :mod:`canarystats.stats.rate_ratio` with the
requests as events and the intended shares as exposure. The check that runs
it at every assessment and can abort a rollout is
:class:`canarystats.strategies.sample_ratio.SampleRatioGuard`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from canarystats.stats.rate_ratio import RateRatioResult, rate_ratio_test

__all__ = [
    "srm_test",
]


def srm_test(requests: ArrayLike, intended: ArrayLike, *, k: float = 100.0) -> RateRatioResult:
    """Sample-ratio mismatch along looks, with the intended split changing at every look.

    The requests each version received in each interval are tested against
    the split the router was told to apply in that interval: the point-process
    test of :func:`rate_ratio_test` with ratio 1, the requests as events and
    the intended shares as exposure. A small p-value means the router does
    not deliver the intended split (every other comparison is then suspect).

    Parameters
    ----------
    requests : array_like of float, shape (..., n_looks, 2)
        Cumulative requests per look, baseline then candidate.
    intended : array_like of float, shape (..., n_looks, 2)
        The intended split in force during each interval (percentages or
        fractions; not cumulative), e.g. the traffic of the previous step.

    Examples
    --------
    >>> r = srm_test([[900, 100], [1700, 300], [2300, 700]], [[90, 10], [80, 20], [60, 40]])
    >>> bool(r.pvalue[-1] > 0.05)
    True
    >>> r = srm_test([[900, 100], [1800, 200], [2700, 300]], [[90, 10], [80, 20], [60, 40]])
    >>> bool(r.pvalue[-1] < 1e-6)   # the candidate's share never grew
    True
    """
    share = np.asarray(intended, dtype=np.float64)
    share = share / share.sum(axis=-1, keepdims=True)
    return rate_ratio_test(requests, np.cumsum(share, axis=-2), ratio=1.0, k=k)
