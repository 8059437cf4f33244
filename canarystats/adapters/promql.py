"""PromQL for canary metrics: a re-export of :mod:`canarystats.adapters.prometheus.queries`.

The metric catalogue, safe label matchers and query builders live in
:mod:`canarystats.adapters.prometheus.queries`; this module keeps the names
importable from ``canarystats.adapters.promql``.
"""

from __future__ import annotations

from canarystats.adapters.prometheus.queries import (
    ISTIO_METRICS,
    LABEL_NAME_RE,
    MATCH_OPS,
    METRIC_NAME_RE,
    TELEMETRY,
    CounterQuery,
    Matcher,
    MetricDefinition,
    QuantileDefinition,
    format_window,
    istio_counters,
    istio_metrics,
    quote,
    version_selectors,
)

__all__ = [
    "ISTIO_METRICS",
    "LABEL_NAME_RE",
    "MATCH_OPS",
    "METRIC_NAME_RE",
    "TELEMETRY",
    "CounterQuery",
    "Matcher",
    "MetricDefinition",
    "QuantileDefinition",
    "format_window",
    "istio_counters",
    "istio_metrics",
    "quote",
    "version_selectors",
]
