"""canarystats: statistics that decide canary releases.

The public API, re-exported flat. See the README for a tour.
"""

from canarystats import data as data
from canarystats.adapters.frames import InputReport
from canarystats.adapters.iter8 import assess, load_experiment
from canarystats.errors import (
    CanaryStatsWarning,
    DataError,
    InsufficientDataWarning,
    SpecError,
    UnknownFieldWarning,
    UnusedRowsWarning,
)
from canarystats.observations import Observations, Reason, Verdict
from canarystats.replay import ReplayResult, replay, replay_all
from canarystats.simulate import Scenario, simulate_rollouts
from canarystats.spec import (
    METHODS,
    Criterion,
    ExperimentSpec,
    TrafficControl,
    available_methods,
    format_duration,
    parse_duration,
)
from canarystats.strategies import (
    Outcome,
    RunResult,
    State,
    StepResult,
    initial_state,
    run_experiment,
    step,
)
from canarystats.strategies.persist import state_from_json, state_to_json
from canarystats.tolerances import CriterionResult, evaluate_criterion, round3

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "CanaryStatsWarning",
    "Criterion",
    "CriterionResult",
    "DataError",
    "ExperimentSpec",
    "InputReport",
    "InsufficientDataWarning",
    "Observations",
    "Outcome",
    "Reason",
    "ReplayResult",
    "RunResult",
    "Scenario",
    "SpecError",
    "State",
    "StepResult",
    "TrafficControl",
    "UnknownFieldWarning",
    "UnusedRowsWarning",
    "Verdict",
    "assess",
    "available_methods",
    "evaluate_criterion",
    "format_duration",
    "initial_state",
    "load_experiment",
    "parse_duration",
    "replay",
    "replay_all",
    "round3",
    "run_experiment",
    "simulate_rollouts",
    "state_from_json",
    "state_to_json",
    "step",
]
