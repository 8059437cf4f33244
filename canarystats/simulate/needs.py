"""What the simulators can produce, and what each criterion needs of them.

:data:`SIMULATED_METRICS` lists the metrics the simulators draw;
:func:`observation_needs` tells which criterion of a spec reads histogram
buckets and which a sum of squares, and rejects a criterion whose
observations the simulators cannot produce.

Examples
--------
>>> from canarystats.data.make_rollouts import tutorial_spec
>>> observation_needs(tutorial_spec())
(None, None)
"""

from __future__ import annotations

from canarystats.adapters.frames import KNOWN_METRICS
from canarystats.adapters.prometheus.queries import ISTIO_METRICS, QuantileDefinition
from canarystats.errors import SpecError
from canarystats.registry import get_method
from canarystats.spec import Criterion, ExperimentSpec

__all__ = ["QUANTILE_METRICS", "SIMULATED_METRICS", "metric_kind", "observation_needs"]

#: Latency quantile metrics (``iter8_latency_p50``, ``_p95``, ``_p99``, telemetry v1 seconds)
#: and their quantiles: read from the histogram buckets as Prometheus' ``histogram_quantile``.
QUANTILE_METRICS: dict[str, float] = {
    name: d.quantile for name, d in ISTIO_METRICS.items() if isinstance(d, QuantileDefinition)
}

#: The metrics the simulators produce: Iter8's standard metrics over Istio telemetry and the
#: latency quantiles of :data:`canarystats.ISTIO_METRICS`.
SIMULATED_METRICS: tuple[str, ...] = (*KNOWN_METRICS, *QUANTILE_METRICS)

#: Routing strategies that draw every criterion's posterior (a mean's needs a spread).
_ROUTING_STRATEGIES = frozenset(
    {"posterior_bayesian_routing", "optimistic_bayesian_routing", "top_k_routing"}
)


def metric_kind(criterion: Criterion) -> str:
    """The kind of a simulated metric: ``"rate"``, ``"mean"`` or ``"counter"`` (see ``needs``)."""
    if criterion.is_counter or criterion.metric in ("iter8_error_count", "iter8_sample_size"):
        return "counter"
    return "rate" if criterion.metric == "iter8_error_rate" else "mean"


def observation_needs(spec: ExperimentSpec) -> tuple[str | None, str | None]:
    """Which criterion reads histogram buckets, and which a sum of squares (None: none).

    Each criterion's method says which observation fields it needs
    (``needs(criterion, kind)`` in :mod:`canarystats.registry`), so a method
    registered outside the library is simulated like the built-in ones.

    Raises a :class:`SpecError` naming the metric for a criterion whose
    observations the simulators cannot produce: a metric outside
    :data:`SIMULATED_METRICS`, per-request values of a rate, or raw samples.
    """
    buckets: str | None = None
    sumsq: str | None = None
    routing = spec.effective_strategy in _ROUTING_STRATEGIES
    for c in spec.criteria:
        what = f"{c.metric!r} (method {c.method!r})"
        if c.metric not in SIMULATED_METRICS:
            raise SpecError(
                f"criterion metric {c.metric!r} cannot be simulated: the simulator produces "
                f"{list(SIMULATED_METRICS)}"
            )
        quantile = c.metric in QUANTILE_METRICS
        latency = c.metric == "iter8_latency"
        needs = get_method(c.method).needs(c, metric_kind(c))
        reads_values = "buckets" in needs or "samples" in needs
        if quantile:
            buckets = buckets or what  # the value is read from the histogram
        if reads_values and not (latency or quantile):
            raise SpecError(
                f"criterion on {what} reads a distribution of per-request values (histogram "
                f"buckets or samples); the simulator draws histograms of latencies only, none "
                f"of {c.metric!r}"
            )
        if "samples" in needs:
            option = " with `scale_check`" if getattr(c.options, "scale_check", False) else ""
            raise SpecError(
                f"criterion on {what}{option} needs raw samples of {c.metric!r}; "
                "the simulator draws sufficient statistics, never per-request samples"
            )
        if not latency:
            continue
        if "buckets" in needs:
            buckets = buckets or what
        elif "sumsq" in needs:
            sumsq = sumsq or what
        if routing and getattr(c.options, "scale", None) is None and not c.is_counter:
            buckets = buckets or f"{c.metric!r} (strategy {spec.effective_strategy!r})"
    return buckets, sumsq
