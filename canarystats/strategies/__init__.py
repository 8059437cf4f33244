"""Traffic strategies: ``check_and_increment``, ``increment_without_check``, ``epsilon_t_greedy``.

Every strategy follows the contract of :mod:`canarystats.strategies.base`:
``step(spec, state, observations) -> (state, StepResult)``, pure and
vectorized over the batch; :func:`run_experiment` plays whole experiments.
"""

from canarystats.strategies.bandits import BanditState
from canarystats.strategies.base import Outcome, State, StepResult, where_batch
from canarystats.strategies.dispatch import initial_state, step
from canarystats.strategies.runner import (
    Observe,
    RunResult,
    final_split,
    route,
    run_experiment,
    window_seconds,
)

__all__ = [
    "BanditState",
    "Observe",
    "Outcome",
    "RunResult",
    "State",
    "StepResult",
    "final_split",
    "initial_state",
    "route",
    "run_experiment",
    "step",
    "where_batch",
    "window_seconds",
]
