"""Rank-based canary judge (``method="ranks"``): names kept for old imports.

The criterion method (:class:`RanksMethod`), its state (:class:`RanksState`)
and its options (``RanksOptions``) live in :mod:`canarystats.methods.ranks`.
The statistics are pure kernels in :mod:`canarystats.stats`, and their public
names are re-exported here:

- :func:`mann_whitney`, :func:`mann_whitney_binned`,
  :class:`MannWhitneyResult` (:mod:`canarystats.stats.mann_whitney`) -- the
  Wilcoxon-Mann-Whitney test with the Hodges-Lehmann shift and its interval,
  as R's ``wilcox.test(x, y, conf.int=TRUE)``;
- :func:`classify_metric`, :func:`score_groups` and their classes
  (:mod:`canarystats.stats.kayenta`) -- Kayenta's per-metric classes and
  weighted group scores.

Examples
--------
The reference case of Kayenta's ``MannWhitneySuite`` (R agrees):

>>> from canarystats.ranks import mann_whitney
>>> r = mann_whitney([10, 20, 30, 40], [1, 2, 3, 4])
>>> float(r.statistic), round(float(r.pvalue), 5), float(r.estimate)
(16.0, 0.02857, 22.5)
>>> [float(v) for v in r.confidence_interval(confidence_level=0.95)]
[6.0, 39.0]

See ``docs/ranks.md`` for the formulas, what is exact and what is
approximated, and where the judge deliberately differs from Kayenta.
"""

from __future__ import annotations

from canarystats.methods.ranks import RanksMethod, RanksState
from canarystats.stats.kayenta import (
    MetricClass,
    MetricClassification,
    ScoreClass,
    ScoreResult,
    classify_metric,
    score_groups,
)
from canarystats.stats.mann_whitney import MannWhitneyResult, mann_whitney, mann_whitney_binned

__all__ = [
    "MannWhitneyResult",
    "MetricClass",
    "MetricClassification",
    "RanksMethod",
    "RanksState",
    "ScoreClass",
    "ScoreResult",
    "classify_metric",
    "mann_whitney",
    "mann_whitney_binned",
    "score_groups",
]
