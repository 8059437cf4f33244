"""Small example data bundled with canarystats.

- the experiment of Iter8's Tekton canary-release tutorial
  (:func:`tutorial_experiment_path`);
- two recorded rollouts of that experiment (:data:`ROLLOUTS`), simulated by
  ``python -m canarystats.data.make_rollouts``: ``"rolled_back"``, whose
  candidate misses its 200 ms latency criterion (mean 0.35 s), and
  ``"promoted"``, whose candidate meets it (mean 0.12 s).

Examples
--------
>>> from canarystats import data
>>> data.ROLLOUTS
('rolled_back', 'promoted')
>>> data.rollout_path("promoted").name
'rollout-promoted.csv'
>>> table = data.load_rollout("rolled_back")
>>> sorted(table["version"].unique())
['reviews-v2', 'reviews-v3']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from canarystats.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ROLLOUTS", "load_rollout", "rollout_path", "tutorial_experiment_path"]

#: The names of the bundled recorded rollouts.
ROLLOUTS: tuple[str, ...] = ("rolled_back", "promoted")

_FILES = {
    "rolled_back": "rollout-rolled-back.csv",
    "promoted": "rollout-promoted.csv",
}


def _path(filename: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(filename)))


def tutorial_experiment_path() -> Path:
    """The path of the tutorial's Iter8 experiment (``tutorial-experiment.yaml``)."""
    return _path("tutorial-experiment.yaml")


def rollout_path(name: str) -> Path:
    """The path of the bundled recorded rollout ``name`` (one of :data:`ROLLOUTS`).

    Raises
    ------
    SpecError
        For an unknown name, listing the known ones.
    """
    if name not in _FILES:
        raise SpecError(f"`name` must be one of {list(ROLLOUTS)}, got {name!r}")
    return _path(_FILES[name])


def load_rollout(name: str) -> pd.DataFrame:
    """The bundled recorded rollout ``name`` as a DataFrame (timestamps as UTC datetimes).

    Raises
    ------
    SpecError
        For an unknown name, listing the known ones.
    """
    import pandas as pd

    table = pd.read_csv(rollout_path(name))
    table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True, format="ISO8601")
    return table
