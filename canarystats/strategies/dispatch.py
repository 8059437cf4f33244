"""The one entry point of every strategy: ``initial_state`` and ``step`` by strategy name.

Each strategy module registers its own pair with
:func:`~canarystats.strategies.base.register_strategy`; these functions pick
the pair named by ``spec.effective_strategy`` (``increment_without_check``
for an experiment without criteria).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# imported for their registrations
import canarystats.strategies.bandits
import canarystats.strategies.check_and_increment  # noqa: F401
from canarystats.errors import SpecError
from canarystats.observations import Observations
from canarystats.spec import ExperimentSpec
from canarystats.strategies.base import STRATEGY_REGISTRY, State, StepResult

__all__ = ["initial_state", "step"]


def _strategy(spec: ExperimentSpec) -> tuple[Any, Any]:
    name = spec.effective_strategy
    try:
        return STRATEGY_REGISTRY[name]
    except KeyError:
        raise SpecError(
            f"no strategy {name!r} is registered; registered: {sorted(STRATEGY_REGISTRY)}"
        ) from None


def initial_state(spec: ExperimentSpec, batch_shape: tuple[int, ...] = ()) -> State:
    """The state before the first assessment, for the spec's strategy.

    Parameters
    ----------
    spec : ExperimentSpec
    batch_shape : tuple of int, default ()
        The batch shape of the observations that will be stepped.
    """
    state: State = _strategy(spec)[0](spec, tuple(int(b) for b in batch_shape))
    return state


def step(
    spec: ExperimentSpec, state: State, observations: Mapping[str, Observations]
) -> tuple[State, StepResult]:
    """One assessment of every experiment in the batch, by the spec's strategy.

    See :func:`canarystats.strategies.check_and_increment.step` for the
    parameters and results; every strategy shares that contract.
    """
    result: tuple[State, StepResult] = _strategy(spec)[1](spec, state, observations)
    return result
