"""The classical one-shot criterion method (``method="fixed"``): names kept for old imports.

The method, its state and the criterion's statistic live in
:mod:`canarystats.methods.fixed`; the kernels -- the tests
(:func:`mean_test`, :func:`mean_threshold_test`, :func:`rate_test`,
:func:`rate_threshold_test`, :func:`rate_ratio_interval`) and the sample sizes
and power (:func:`sample_size_means`, :func:`sample_size_rates`,
:func:`power_means`, :func:`power_rates`, in
:mod:`canarystats.stats.sample_size`) -- in :mod:`canarystats.stats`. This
module re-exports them.

Examples
--------
The two-proportion z test of spotify-confidence's README (40/100 vs 50/100):

>>> from canarystats import rate_test
>>> r = rate_test([40, 50], [100, 100])
>>> round(float(r.estimate), 6), round(float(r.pvalue), 6)
(0.1, 0.153127)
>>> [round(float(x), 6) for x in r.confidence_interval(0.95)]
[-0.037197, 0.237197]
"""

from __future__ import annotations

from canarystats.methods.fixed import FixedMethod, FixedState
from canarystats.stats.classical import (
    ALTERNATIVES,
    FixedTestResult,
    mean_test,
    mean_threshold_test,
    rate_ratio_interval,
    rate_test,
    rate_threshold_test,
    restricted_mle,
    score_z,
)
from canarystats.stats.sample_size import (
    SampleSizeResult,
    power_means,
    power_rates,
    sample_size_means,
    sample_size_rates,
)

__all__ = [
    "ALTERNATIVES",
    "FixedMethod",
    "FixedState",
    "FixedTestResult",
    "SampleSizeResult",
    "mean_test",
    "mean_threshold_test",
    "power_means",
    "power_rates",
    "rate_ratio_interval",
    "rate_test",
    "rate_threshold_test",
    "sample_size_means",
    "sample_size_rates",
]

# the kernels' former private names, kept for old imports (tests, benchmarks)
_restricted_mle = restricted_mle
_score_z = score_z
