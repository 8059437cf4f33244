"""The result of a credible interval: its two ends, unpacking as ``low, high``.

Shared by the Beta and t posteriors' intervals (:mod:`canarystats.stats.beta`,
:mod:`canarystats.stats.t_posterior`), of one version and of a relative
difference.

Examples
--------
>>> from canarystats.stats.credible_interval import CredibleIntervalResult
>>> ci = CredibleIntervalResult(low=0.05, high=0.95)
>>> low, high = ci
>>> low, ci.high
(0.05, 0.95)
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from canarystats._arrays import TupleResult, result_field

__all__ = ["CredibleIntervalResult"]


@attrs.frozen(kw_only=True)
class CredibleIntervalResult(TupleResult):
    """An equal-tailed credible interval, elementwise; unpacks as ``low, high``.

    Attributes
    ----------
    low, high : ndarray or numpy scalar
        The ends, in the broadcast shape of the parameters (numpy scalars when
        0-d); NaN where the interval is undefined.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("low", "high")

    low: Any = result_field()
    high: Any = result_field()
