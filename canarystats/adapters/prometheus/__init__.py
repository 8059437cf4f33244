"""Read canary metrics from Prometheus: parse, fetch, observe, replay.

A thin, strict adapter between Prometheus' HTTP API and canarystats'
observations (see ``docs/prometheus.md``):

- :func:`parse_response` turns a response body of ``/api/v1/query`` or
  ``/api/v1/query_range`` into a :class:`QueryResult` (every result type:
  ``vector``, ``matrix``, ``scalar``, ``string``; values given as strings,
  ``"NaN"``, ``"+Inf"``, ``"-Inf"`` and exponents included; native histograms).
  Error envelopes raise :class:`~canarystats.PrometheusError`; ``warnings``
  and ``infos`` are kept on the result and, by the client, emitted as
  :class:`~canarystats.PrometheusWarning`.
- :class:`PrometheusClient` fetches over HTTP (the ``prometheus`` extra:
  httpx, imported only when a client is made): instant and range queries,
  GET or POST for long queries, bounded retries with exponential backoff on
  connection errors, timeouts and 502/503/504, never on other statuses.
- :func:`observe` returns the observations one assessment needs;
  :func:`fetch_rollout` fetches a past rollout at every assessment time, and
  :func:`replay_prometheus` replays an experiment over it, as
  :func:`canarystats.replay` does over a file.
- :func:`bucket_quantile` computes quantiles from classic histogram buckets
  with the interpolation of Prometheus' ``histogram_quantile``.

The package's modules, one concept each: ``parsing`` (result objects and
the response parser), ``histograms`` (classic buckets and their quantiles),
``client`` (the HTTP client), ``queries`` (the metric catalogue and PromQL
builders, also importable as :mod:`canarystats.adapters.prometheus.queries`) and
``observation`` (observations, past rollouts, replays, the service hook).
This module re-exports their public API.

Examples
--------
>>> body = b'''{"status": "success", "data": {"resultType": "vector", "result": [
...   {"metric": {"destination_workload": "reviews-v2"}, "value": [1591012800, "1.5e2"]},
...   {"metric": {"destination_workload": "reviews-v3"}, "value": [1591012800, "NaN"]}]}}'''
>>> result = parse_response(body)
>>> result.result_type, len(result.series)
('vector', 2)
>>> result.select({"destination_workload": "reviews-v2"}).samples
array([150.])
>>> result.value_of({"destination_workload": "reviews-v3"})
nan
"""

from __future__ import annotations

from canarystats.adapters.prometheus.client import RETRY_STATUSES, PrometheusClient
from canarystats.adapters.prometheus.histograms import bucket_quantile, classic_buckets
from canarystats.adapters.prometheus.observation import MetricDef as MetricDef
from canarystats.adapters.prometheus.observation import (
    fetch_rollout,
    observe,
    replay_prometheus,
    service_observer,
    version_labels,
)
from canarystats.adapters.prometheus.parsing import BOUNDARY_RULES as BOUNDARY_RULES
from canarystats.adapters.prometheus.parsing import (
    RESULT_TYPES,
    NativeHistogram,
    QueryResult,
    Series,
    parse_response,
    result_from_frame,
)

__all__ = [
    "RESULT_TYPES",
    "RETRY_STATUSES",
    "NativeHistogram",
    "PrometheusClient",
    "QueryResult",
    "Series",
    "bucket_quantile",
    "classic_buckets",
    "fetch_rollout",
    "observe",
    "parse_response",
    "replay_prometheus",
    "result_from_frame",
    "service_observer",
    "version_labels",
]
