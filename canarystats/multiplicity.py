"""Error control across criteria and candidates: re-exports of canarystats.stats.multiplicity.

Kept so that ``from canarystats.multiplicity import ...`` keeps working; the
kernels -- :func:`intersection_union_pvalue`, :func:`adjust_pvalues`,
:func:`adjusted_confidence_level` -- live in :mod:`canarystats.stats.multiplicity`.

Examples
--------
>>> from canarystats.multiplicity import adjust_pvalues
>>> adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.2], method="holm").tolist()
[0.04, 0.09, 0.09, 0.025, 0.2]
"""

from __future__ import annotations

from canarystats.stats.multiplicity import (
    ADJUSTMENTS,
    adjust_pvalues,
    adjusted_confidence_level,
    intersection_union_pvalue,
)

__all__ = [
    "ADJUSTMENTS",
    "adjust_pvalues",
    "adjusted_confidence_level",
    "intersection_union_pvalue",
]
