"""Former home of the point method and the method protocol (kept for old imports).

The criterion methods live in :mod:`canarystats.methods` (the base owns the
data policy) and are registered in :mod:`canarystats.registry`.
"""

from __future__ import annotations

import warnings
from typing import Any

from canarystats.errors import InsufficientDataWarning
from canarystats.methods.base import BAD_DATA_MESSAGE, CriterionResult, evaluate_criterion
from canarystats.methods.point import Fetched, PointMethod, PointState, fetch_iter8
from canarystats.methods.rounding import round3
from canarystats.observations import Observations
from canarystats.registry import NoOptions, get_method, registered_methods
from canarystats.registry import register_method as _register
from canarystats.spec import Criterion

__all__ = [
    "BAD_DATA_MESSAGE",
    "CriterionResult",
    "Fetched",
    "PointMethod",
    "PointState",
    "evaluate_criterion",
    "fetch_iter8",
    "get_method",
    "register_method",
    "round3",
    "warn_bad",
    "missing_moments",
]

METHOD_REGISTRY = registered_methods()


def register_method(name: str, method: Any) -> None:
    """Register a method object of the old protocol (transitional)."""
    cls = type(method)
    if not hasattr(cls, "options_type"):
        cls.options_type = NoOptions
    if not hasattr(cls, "state_type"):
        import typing

        cls.state_type = typing.get_type_hints(cls.init)["return"]
    if not hasattr(cls, "anytime_valid"):
        cls.anytime_valid = lambda self, c: name == "sequential"
    if not hasattr(cls, "needs"):
        cls.needs = lambda self, c, kind: frozenset({"count", "value"})
    _register(method)


def missing_moments(observations: Observations) -> str:
    """Transitional: the "missing" words for a mean method."""
    if observations.successes is None and observations.sumsq is None:
        absent = "`sumsq`" if observations.sum is not None else "`sum` and `sumsq`"
        return (
            f"missing values (the observations have no {absent}, which this method needs "
            "for a mean; Istio records no sums of squares)"
        )
    return "missing values"


def warn_bad(mask: Any, criterion: Criterion, kind: str, what: str) -> None:
    """Transitional: one warning counting flagged slices."""
    import numpy as np

    n = int(np.count_nonzero(mask))
    if n:
        warnings.warn(
            BAD_DATA_MESSAGE.format(
                n=n, total=mask.size, metric=criterion.metric, kind=kind, what=what
            ),
            InsufficientDataWarning,
            stacklevel=4,
        )


_missing_moments = missing_moments
_warn_bad = warn_bad
