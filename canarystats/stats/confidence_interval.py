"""The result of a confidence interval: its two ends, unpacking as ``low, high``.

Shared by the classical tests' and the group-sequential design's intervals:
the Wald interval of a fixed-horizon test
(:meth:`canarystats.stats.classical.FixedTestResult.confidence_interval`), the
score interval of a rate ratio
(:func:`canarystats.stats.classical.rate_ratio_interval`) and the repeated
confidence intervals
(:func:`canarystats.stats.group_sequential.repeated_confidence_intervals`).

Examples
--------
>>> from canarystats.stats.confidence_interval import ConfidenceIntervalResult
>>> ci = ConfidenceIntervalResult(low=0.25, high=float("inf"))
>>> low, high = ci
>>> low, ci.high
(0.25, inf)
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from canarystats._arrays import TupleResult, result_field

__all__ = ["ConfidenceIntervalResult"]


@attrs.frozen(kw_only=True)
class ConfidenceIntervalResult(TupleResult):
    """A confidence interval, elementwise; unpacks like the tuple it replaced (``low, high``).

    Attributes
    ----------
    low, high : ndarray or numpy scalar
        The ends (numpy scalars when 0-d; ``-inf`` or ``+inf`` on the open
        side of a one-sided interval; NaN where the interval is undefined).
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("low", "high")

    low: Any = result_field()
    high: Any = result_field()
