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
- :class:`PrometheusError` (``RuntimeError``) is raised when Prometheus cannot
  answer a query: an error envelope, an HTTP error, a timeout, a refused
  connection or a malformed body. It carries Prometheus' ``errorType``, the
  message, the HTTP status and the query. :class:`PrometheusWarning` carries
  the ``warnings`` and ``infos`` Prometheus returned beside a result.
"""

from __future__ import annotations

__all__ = [
    "CanaryStatsWarning",
    "DataError",
    "InsufficientDataWarning",
    "PrometheusError",
    "PrometheusWarning",
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


class PrometheusWarning(CanaryStatsWarning):
    """Prometheus returned ``warnings`` or ``infos`` beside a result (never dropped)."""


class PrometheusError(RuntimeError):
    """Prometheus could not answer a query.

    A ``RuntimeError``: the failure lies in the metrics backend or the way to
    it, not in canarystats' input.

    Attributes
    ----------
    error_type : str
        Prometheus' ``errorType`` (``"bad_data"``, ``"execution"``,
        ``"timeout"``, ``"canceled"``, ``"internal"``, ``"unavailable"``,
        ``"not_found"``), or one of the client's own: ``"timeout"`` (no answer
        in time), ``"connection"`` (refused, reset, DNS), ``"http"`` (an HTTP
        error without Prometheus' JSON envelope, e.g. from a proxy),
        ``"bad_response"`` (a body that is not Prometheus' JSON envelope).
    message : str
        Prometheus' ``error`` text, or the client's account of the failure.
    status : int or None
        The HTTP status, when a response arrived.
    query : str or None
        The PromQL query (never holds credentials).

    Notes
    -----
    Messages and reprs never show credentials: the client removes user
    information from URLs and never puts headers into errors.
    """

    def __init__(
        self,
        error_type: str,
        message: str,
        *,
        status: int | None = None,
        query: str | None = None,
    ) -> None:
        super().__init__(error_type, message, status, query)
        self.error_type = error_type
        self.message = message
        self.status = status
        self.query = query

    def __str__(self) -> str:
        where = f" (HTTP {self.status})" if self.status is not None else ""
        text = f"Prometheus {self.error_type}{where}: {self.message}"
        if self.query is not None:
            text += f"; query: {self.query!r}"
        return text

    def __repr__(self) -> str:
        return (
            f"PrometheusError(error_type={self.error_type!r}, message={self.message!r}, "
            f"status={self.status!r}, query={self.query!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_prometheus_error, (self.error_type, self.message, self.status, self.query))


def _rebuild_prometheus_error(
    error_type: str, message: str, status: int | None, query: str | None
) -> PrometheusError:
    return PrometheusError(error_type, message, status=status, query=query)
