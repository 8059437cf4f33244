"""A criterion method written outside canarystats, as a plugin would be (used by the tests).

``method="test_mean_bound"`` judges a mean metric by the candidate's mean ``sum / count``
against the threshold plus a margin (a delta: against the baseline's mean scaled by the
margin). It is registered when this module is imported, or found by a fresh process through
the ``canarystats.methods`` entry point that tests/test_method_plugin.py writes.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from canarystats import SpecError
from canarystats.methods.base import DataReport, Evidence, Method
from canarystats.registry import Options, register_method


def _non_negative(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise SpecError(f"`{attribute.name}` must be a number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class MeanBoundOptions(Options):
    """Options of ``test_mean_bound``: ``margin``, added to the threshold (>= 0)."""

    margin: float = attrs.field(default=0.0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class MeanBoundState:
    """The candidate's last mean (NaN before the first update)."""

    mean: Any = attrs.field(eq=attrs.cmp_using(eq=lambda a, b: np.array_equal(a, b, True)))


@register_method
class MeanBoundMethod(Method):
    """The candidate's mean against the threshold plus ``margin``."""

    name = "test_mean_bound"
    options_type = MeanBoundOptions
    state_type = MeanBoundState

    def needs(self, criterion: Any, kind: str) -> frozenset[str]:
        return frozenset({"count", "value", "sum"})

    def reads(self, criterion: Any, observations: Any) -> tuple[str, ...]:
        return ("sum",)

    def initial_state(self, criterion: Any, batch_shape: tuple[int, ...]) -> MeanBoundState:
        return MeanBoundState(mean=np.full(batch_shape, np.nan))

    def evidence(
        self, criterion: Any, state: Any, observations: Any, report: DataReport, n: Any
    ) -> Evidence:
        mean = observations.sum / observations.count
        margin = criterion.options.margin
        if criterion.tolerance_type == "delta":
            bound = (1.0 + criterion.tolerance + margin) * mean[..., 0]
        else:
            bound = criterion.tolerance + margin
        passed = mean[..., 1] <= bound
        kept = np.where(report.valid, mean[..., 1], state.mean)
        return Evidence(state=MeanBoundState(mean=kept), passed=passed, failed=~passed,
                        derived=(mean[..., 1],))
