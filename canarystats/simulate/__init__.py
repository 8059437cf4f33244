"""Monte Carlo rollouts: closed-loop simulation, operating characteristics and tuning.

One concept per module, re-exported here:

- :mod:`~canarystats.simulate.scenario`: :class:`Scenario`, what the simulated
  service does (load, latency and errors of each version);
- :mod:`~canarystats.simulate.needs`: the metrics the simulators produce
  (:data:`SIMULATED_METRICS`) and what each criterion needs of them;
- :mod:`~canarystats.simulate.drawing`: the draws of one interval's
  sufficient statistics and :func:`simulate_rollouts`, recorded rollouts in
  closed loop;
- :mod:`~canarystats.simulate.operating`: :func:`operating_characteristics`
  and its :class:`OperatingCharacteristicsResult`;
- :mod:`~canarystats.simulate.tuning`: :func:`canarystats.tune` over a grid
  and :func:`canarystats.pareto_front` (also importable from
  :mod:`canarystats.simulate.tuning`).

Examples
--------
>>> from canarystats.data.make_rollouts import tutorial_spec
>>> from canarystats.simulate import Scenario, operating_characteristics
>>> worse = Scenario(request_rate=5.0, mean_latency=(0.1, 0.3))
>>> oc = operating_characteristics(tutorial_spec(), worse, n=200, rng=1)
>>> oc.p_rollback, oc.time_to_decision
(1.0, 240.0)
"""

from __future__ import annotations

from canarystats.simulate.drawing import simulate_rollouts
from canarystats.simulate.needs import SIMULATED_METRICS
from canarystats.simulate.operating import (
    CHUNK_SIZE,
    DECISION_TIME_QUANTILES,
    OperatingCharacteristicsResult,
    assessment_times,
    operating_characteristics,
)
from canarystats.simulate.scenario import LATENCY_DISTRIBUTIONS, Scenario

__all__ = [
    "CHUNK_SIZE",
    "DECISION_TIME_QUANTILES",
    "LATENCY_DISTRIBUTIONS",
    "SIMULATED_METRICS",
    "OperatingCharacteristicsResult",
    "Scenario",
    "assessment_times",
    "operating_characteristics",
    "simulate_rollouts",
]
