"""Warnings and exceptions raised by canarystats.

One small hierarchy, so that callers can filter or catch all of canarystats'
conditions at once:

- :class:`CanaryStatsWarning` (``UserWarning``) is the base of every warning;
  :class:`InsufficientDataWarning` (also a ``RuntimeWarning``) says that some
  slices of a batch held bad or missing data and were judged INCONCLUSIVE;
  :class:`UnknownFieldWarning` names a key of an Iter8 document that
  canarystats does not know (a typo such as ``trafficStepsize``); the key is
  kept, not dropped.
- :class:`UnusedRowsWarning` says that rows of a recorded rollout are not
  used (versions the experiment does not compare, or invalid rows dropped on
  request); the replay's input report counts them.
- :class:`SpecError` (``ValueError``) is raised for bad configuration: the
  message names the field, the value received and what is allowed.
- :class:`DataError` (``ValueError``) is raised for a recorded rollout or
  other input table that cannot be used at all.
"""

from __future__ import annotations

__all__ = [
    "CanaryStatsWarning",
    "DataError",
    "InsufficientDataWarning",
    "SpecError",
    "UnknownFieldWarning",
    "UnusedRowsWarning",
]


class CanaryStatsWarning(UserWarning):
    """Base class of every warning canarystats emits."""


class InsufficientDataWarning(CanaryStatsWarning, RuntimeWarning):
    """Some slices of a batch held bad or missing data; they are INCONCLUSIVE."""


class UnusedRowsWarning(CanaryStatsWarning):
    """Rows of a recorded rollout are not used: versions the experiment does not
    compare, or rows dropped as invalid under ``invalid="drop"``; the input report
    counts them."""


class UnknownFieldWarning(CanaryStatsWarning):
    """An Iter8 document holds a key canarystats does not know; it is kept."""


class SpecError(ValueError):
    """A specification field holds a value that is not allowed."""


class DataError(ValueError):
    """An input table (a recorded rollout, a metric frame) cannot be used."""
