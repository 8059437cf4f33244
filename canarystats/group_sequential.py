"""The group-sequential method (``method="group_sequential"``): names kept for old imports.

The method, its options, its state and :class:`PlannedLooksWarning` live in
:mod:`canarystats.methods.group_sequential`; the boundaries in
:mod:`canarystats.stats.group_sequential`, whose public names
(:func:`gs_bounds`, :func:`gs_crossing_probabilities`, :func:`gs_design`,
:func:`repeated_confidence_intervals`, :func:`spending_function`, ...) are
re-exported here.

Examples
--------
O'Brien-Fleming-type boundaries for 5 equally spaced looks, two-sided 0.05:

>>> from canarystats import gs_bounds
>>> b = gs_bounds(5, alpha=0.05, spending="obrien_fleming")
>>> [round(float(x), 3) for x in b.upper]
[4.877, 3.357, 2.68, 2.29, 2.031]
"""

from __future__ import annotations

from canarystats.methods.group_sequential import (
    PLANNED_LOOKS_MESSAGE,
    GroupSequentialMethod,
    GroupSequentialState,
    PlannedLooksWarning,
)
from canarystats.stats.group_sequential import (
    SPENDING_FUNCTIONS,
    GroupSequentialBounds,
    GroupSequentialDesign,
    gs_bounds,
    gs_crossing_probabilities,
    gs_design,
    parse_spending,
    repeated_confidence_intervals,
    spending_function,
)

__all__ = [
    "PLANNED_LOOKS_MESSAGE",
    "SPENDING_FUNCTIONS",
    "GroupSequentialBounds",
    "GroupSequentialDesign",
    "GroupSequentialMethod",
    "GroupSequentialState",
    "PlannedLooksWarning",
    "gs_bounds",
    "gs_crossing_probabilities",
    "gs_design",
    "parse_spending",
    "repeated_confidence_intervals",
    "spending_function",
]
