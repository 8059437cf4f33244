"""Tuning an experiment: the names of :mod:`canarystats.simulate.tuning`, re-exported.

:func:`tune` (operating characteristics over a grid of an experiment's knobs)
and :func:`pareto_front` live in :mod:`canarystats.simulate.tuning`; this
module keeps ``from canarystats.tuning import tune`` working.
"""

from __future__ import annotations

from canarystats.simulate.tuning import (
    BACKENDS,
    CRITERION_PARAMETERS,
    TRAFFIC_PARAMETERS,
    pareto_front,
    tune,
)

__all__ = ["BACKENDS", "CRITERION_PARAMETERS", "TRAFFIC_PARAMETERS", "pareto_front", "tune"]
