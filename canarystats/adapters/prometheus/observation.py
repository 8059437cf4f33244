"""From Prometheus to the library: observations, past rollouts, replays, the service hook.

- :func:`observe` returns the observations one assessment needs
  (:func:`version_labels` selects each version's series);
- :func:`fetch_rollout` fetches a past rollout at every assessment time, and
  :func:`replay_prometheus` replays an experiment over it, as
  :func:`canarystats.replay` does over a file;
- :func:`service_observer` is the ``observe`` hook of the REST service.
"""

from __future__ import annotations

import math
import os
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.adapters.frames import (
    COUNTER_COLUMNS,
    KNOWN_METRICS,
    InputReport,
    RolloutSeries,
    iter8_observations,
)
from canarystats.adapters.prometheus.client import PrometheusClient, epoch_seconds
from canarystats.adapters.prometheus.histograms import bucket_quantile, classic_buckets
from canarystats.adapters.prometheus.parsing import bad_response
from canarystats.adapters.prometheus.queries import (
    CounterQuery,
    MetricDefinition,
    QuantileDefinition,
    istio_counters,
    istio_metrics,
    version_selectors,
)
from canarystats.errors import DataError, SpecError
from canarystats.observations import Observations
from canarystats.spec import ExperimentSpec

if TYPE_CHECKING:
    from canarystats.replay import ReplayResult

__all__ = [
    "MetricDef",
    "fetch_rollout",
    "observe",
    "replay_prometheus",
    "service_observer",
    "version_labels",
]

#: A metric definition of the catalogue: a counter metric or a histogram quantile.
MetricDef = MetricDefinition | QuantileDefinition


def version_labels(
    spec: ExperimentSpec, *, namespace: str | None = None
) -> dict[str, dict[str, str]]:
    """The labels that select each version's series: Istio's workload labels.

    ``{"destination_workload": name}`` (and ``destination_workload_namespace``
    when ``namespace`` is given), for the baseline and the candidate.
    """
    out = {}
    for name in (spec.baseline, spec.candidate):
        labels = {"destination_workload": name}
        if namespace is not None:
            labels["destination_workload_namespace"] = namespace
        out[name] = labels
    return out


def _as_spec(experiment: ExperimentSpec | str | os.PathLike[str]) -> ExperimentSpec:
    if isinstance(experiment, ExperimentSpec):
        return experiment
    from canarystats.adapters.iter8 import load_experiment

    return load_experiment(experiment)


class _Fetcher:
    """Runs the per-counter queries of one assessment time and caches them."""

    def __init__(
        self,
        client: PrometheusClient,
        versions: Mapping[str, Mapping[str, str]],
        at: float,
        window: float,
    ) -> None:
        self.client, self.versions, self.at, self.window = client, versions, at, window
        self.keys, _ = version_selectors(versions)
        self._cache: dict[str, Any] = {}

    def counter(self, cq: CounterQuery) -> NDArray[np.float64]:
        """The counter's increase per version, shape (n_versions,); NaN where absent."""
        text = _version_query(cq, self.window, self.versions, self.keys, ())
        if text not in self._cache:
            result = self.client.query(text, time=self.at)
            if result.result_type != "vector":
                raise bad_response(f"expected a vector, got a {result.result_type}", text)
            self._cache[text] = np.array([result.value_of(lab) for lab in self.versions.values()])
        out: NDArray[np.float64] = self._cache[text]
        return out

    def buckets(self, cq: CounterQuery) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """Bucket bounds and cumulative increases per version, (n_versions, n_buckets)."""
        text = _version_query(cq, self.window, self.versions, self.keys, ("le",))
        if text not in self._cache:
            result = self.client.query(text, time=self.at)
            per = [classic_buckets(result, lab) for lab in self.versions.values()]
            known = [p for p in per if p is not None]
            if not known:
                self._cache[text] = None
            else:
                bounds = known[0][0]
                for p in known[1:]:
                    if not np.array_equal(p[0], bounds):
                        raise DataError(
                            f"the versions' histograms have different buckets: {bounds.tolist()} "
                            f"and {p[0].tolist()} (query: {text!r})"
                        )
                rows = [p[1] if p is not None else np.full(len(bounds), np.nan) for p in per]
                self._cache[text] = (bounds, np.stack(rows))
        cached: tuple[NDArray[np.float64], NDArray[np.float64]] | None = self._cache[text]
        return cached


def _version_query(
    cq: CounterQuery,
    window: float,
    versions: Mapping[str, Mapping[str, str]],
    keys: Sequence[str],
    extra_by: Sequence[str],
) -> str:
    _, matchers = version_selectors(versions)
    parts = [cq.increase(window, by=[*keys, *extra_by], extra=m) for m in matchers]
    return " or ".join(parts)


def _observations(
    fetch: _Fetcher,
    metrics: Mapping[str, MetricDef],
    names: Iterable[str],
    telemetry: str,
) -> dict[str, Observations]:
    standard = istio_metrics(telemetry)
    counters = istio_counters(telemetry)
    out: dict[str, Observations] = {}
    for name in names:
        if name not in metrics:
            raise DataError(
                f"no definition of the metric {name!r}; known metrics: {sorted(metrics)} "
                "(register a MetricDefinition or QuantileDefinition under its name)"
            )
        defn = metrics[name]
        if name in KNOWN_METRICS and standard.get(name) == defn:
            increase = np.stack([fetch.counter(counters[c]) for c in COUNTER_COLUMNS], axis=-1)
            out[name] = iter8_observations(name, increase)
        elif isinstance(defn, QuantileDefinition):
            count = fetch.counter(defn.sample_size)
            found = fetch.buckets(defn.buckets)
            if found is None:
                out[name] = Observations(count=count, value=np.full(count.shape, np.nan))
            else:
                bounds, cum = found
                value = bucket_quantile(defn.quantile, bounds, cum)
                if not np.isposinf(bounds[-1]):
                    out[name] = Observations(count=count, value=np.asarray(value))
                else:
                    per_bucket = np.diff(cum, axis=-1, prepend=0.0)
                    out[name] = Observations(
                        count=count,
                        value=np.asarray(value),
                        buckets=per_bucket,
                        bucket_bounds=bounds,
                    )
        else:
            count = fetch.counter(defn.sample_size)
            num = fetch.counter(defn.numerator)
            if defn.denominator is None:
                value = num
            else:
                den = fetch.counter(defn.denominator)
                with np.errstate(invalid="ignore", divide="ignore"):
                    value = np.where(den > 0, num / den, np.nan)
                value = np.where(np.isnan(num) | np.isnan(den), np.nan, value)
            out[name] = Observations(count=count, value=value)
    return out


def observe(
    client: PrometheusClient,
    experiment: ExperimentSpec | str | os.PathLike[str],
    *,
    start: Any,
    at: Any = None,
    metrics: Mapping[str, MetricDef] | None = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    namespace: str | None = None,
    telemetry: str = "v1",
) -> dict[str, Observations]:
    """The observations one assessment of an experiment needs, read from Prometheus.

    Every criterion's metric is computed from ``increase()`` over the
    cumulative window ``[start, at]`` (whole seconds, at least 1 s, as Iter8
    clamped the first assessment's window), summed per version; Iter8's
    four standard metrics from the same four Istio counters a recorded
    rollout holds, with the same arithmetic as a replay from a file
    (:func:`canarystats.adapters.frames.iter8_observations`).

    Parameters
    ----------
    client : PrometheusClient
    experiment : ExperimentSpec or path
    start : time
        The experiment's start: Unix seconds, a tz-aware datetime or an ISO
        8601 string with an offset.
    at : time, optional
        The assessment's time (the query's evaluation time); default now.
    metrics : dict, optional
        Metric definitions by name; default :func:`istio_metrics` of
        ``telemetry``. Register a metric by adding it:
        ``{**istio_metrics(), "my_metric": MetricDefinition(...)}``.
    versions : dict, optional
        The labels selecting each version; default :func:`version_labels`.
    namespace : str, optional
        The workloads' namespace (for the default version labels).
    telemetry : {"v1", "v2"}, default "v1"
        Istio telemetry: latency in seconds (v1) or milliseconds (v2).

    Returns
    -------
    dict of str to Observations
        One per metric of the criteria, shape ``(2,)`` (baseline, candidate).
        An absent series (e.g. an idle candidate) or ``0/0`` gives NaN:
        missing, which the criteria judge INCONCLUSIVE (or Iter8's absent
        value under ``missing="iter8"``) -- never a pass.

    Raises
    ------
    PrometheusError
        When Prometheus fails (see :class:`PrometheusClient`).
    DataError
        For a metric without definition, or two series for one version.
    """
    spec = _as_spec(experiment)
    t0 = epoch_seconds(start, "start")
    t = epoch_seconds(at, "at") if at is not None else _time.time()
    labels = versions if versions is not None else version_labels(spec, namespace=namespace)
    _check_versions(spec, labels)
    ordered = {v: labels[v] for v in (spec.baseline, spec.candidate)}
    catalogue = metrics if metrics is not None else istio_metrics(telemetry)
    fetch = _Fetcher(client, ordered, t, max(t - t0, 0.0))
    names = sorted({c.metric for c in spec.criteria})
    return _observations(fetch, catalogue, names, telemetry)


def _check_versions(spec: ExperimentSpec, labels: Mapping[str, Mapping[str, str]]) -> None:
    for v in (spec.baseline, spec.candidate):
        if v not in labels:
            raise SpecError(f"`versions` has no labels for version {v!r}; got {sorted(labels)}")


def fetch_rollout(
    client: PrometheusClient,
    experiment: ExperimentSpec | str | os.PathLike[str],
    *,
    start: Any,
    end: Any = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    namespace: str | None = None,
    telemetry: str = "v1",
    histogram: bool = True,
) -> RolloutSeries:
    """A past rollout's cumulative counters at each assessment time, for ``replay``.

    For each assessment ``k`` whose time ``start + w_k`` (``w_k =
    window_seconds(k, interval)``) is at most ``end``, the increases of the
    four Istio counters (and, with ``histogram``, of the duration buckets)
    over ``[start, start + w_k]``, evaluated at ``start + w_k`` -- the
    windows a replay from a file uses. The result is a
    :class:`~canarystats.adapters.frames.RolloutSeries` whose "scrapes" are
    those increases (0 at the start), so ``replay(experiment, series)``
    judges exactly the numbers Prometheus returned.

    Parameters
    ----------
    client, experiment, versions, namespace, telemetry
        As for :func:`observe`.
    start, end : time
        The experiment's start, and the end of the data (default: the last
        assessment's time).
    histogram : bool, default True
        Also fetch the latency histogram's buckets (skipped when absent).

    Returns
    -------
    RolloutSeries
        One rollout, id ``"prometheus"``.
    """
    from canarystats.strategies.runner import window_seconds

    spec = _as_spec(experiment)
    t0 = epoch_seconds(start, "start")
    interval = float(spec.traffic_control.interval)
    n_assessments = spec.traffic_control.max_iterations + 1
    windows = sorted({window_seconds(k, interval) for k in range(n_assessments)})
    t_end = epoch_seconds(end, "end") if end is not None else t0 + windows[-1]
    windows = [w for w in windows if t0 + w <= t_end]
    if not windows:
        raise DataError(
            f"`end` ({t_end}) leaves no assessment: the first is 1 s after `start` ({t0})"
        )
    labels = versions if versions is not None else version_labels(spec, namespace=namespace)
    _check_versions(spec, labels)
    ordered = {v: labels[v] for v in (spec.baseline, spec.candidate)}
    counters = istio_counters(telemetry)
    bucket_query = CounterQuery(
        metric=f"{istio_metrics(telemetry)['iter8_latency_p50'].histogram}_bucket",  # type: ignore[union-attr]
        matchers={"reporter": "source"},
    )
    rows: list[NDArray[np.float64]] = []
    bounds: NDArray[np.float64] | None = None
    for w in windows:
        fetch = _Fetcher(client, ordered, t0 + w, w)
        inc = np.stack([fetch.counter(counters[c]) for c in COUNTER_COLUMNS], axis=-1)
        if histogram:
            found = fetch.buckets(bucket_query)
            if found is not None and np.isposinf(found[0][-1]):
                if bounds is None and not rows:
                    bounds = found[0]
                if bounds is None or not np.array_equal(found[0], bounds):
                    raise DataError(
                        "the latency histogram's buckets change during the rollout "
                        f"(at {w:g} s after the start); replay them with histogram=False"
                    )
                inc = np.concatenate([inc, found[1]], axis=-1)
            elif bounds is not None:
                inc = np.concatenate([inc, np.full((2, len(bounds)), np.nan)], axis=-1)
        rows.append(inc)
    if bounds is None:
        rows = [r[:, : len(COUNTER_COLUMNS)] for r in rows]
    n_k = len(rows[0][0])
    times = np.array([0.0, *windows])
    counters_arr = np.concatenate([np.zeros((1, 2, n_k)), np.stack(rows)])  # (S, 2, K)
    n_s = len(times)
    nan = np.isnan(counters_arr)
    columns = list(COUNTER_COLUMNS)
    if bounds is not None:
        columns += [f"bucket_le_{b:g}" for b in bounds]
    report = InputReport(
        rows_read=2 * n_s,
        rows_used=2 * n_s,
        rows_with_nan=int(nan.any(axis=-1).sum()),
        nan_counters={c: int(k) for c, k in zip(columns, nan.sum(axis=(0, 1)), strict=True) if k},
    )
    t_pad = np.broadcast_to(times, (1, 2, n_s)).copy()
    c_pad = counters_arr.transpose(1, 0, 2)[None].copy()
    t_pad.flags.writeable = False
    c_pad.flags.writeable = False
    return RolloutSeries(
        ids=("prometheus",),
        times=t_pad,
        counters=c_pad,
        n_scrapes=np.full((1, 2), n_s, dtype=np.int64),
        t0=(pd.Timestamp(t0, unit="s", tz="UTC"),),
        is_datetime=True,
        bucket_bounds=bounds,
        report=report,
    )


def replay_prometheus(
    client: PrometheusClient,
    experiment: ExperimentSpec | str | os.PathLike[str],
    *,
    start: Any,
    end: Any = None,
    compat: str | None = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    namespace: str | None = None,
    telemetry: str = "v1",
) -> ReplayResult:
    """Replay an experiment over a rollout read from Prometheus (see :func:`fetch_rollout`).

    Its criteria must use Iter8's standard metrics (``KNOWN_METRICS``): a replay
    computes them from the four Istio counters, as from a recorded file. Quantile
    (``iter8_latency_p95``) and custom metrics raise a :class:`DataError`
    before any query; :func:`observe` computes them for one assessment.

    Examples
    --------
    ::

        with PrometheusClient("http://127.0.0.1:9090") as client:
            result = replay_prometheus(client, "experiment.yaml",
                                       start="2020-06-01T12:00:00Z")
        result.outcome, result.timeline
    """
    from canarystats.replay import replay

    spec = _as_spec(experiment)
    other = sorted({c.metric for c in spec.criteria} - set(KNOWN_METRICS))
    if other:
        raise DataError(
            f"a replay from Prometheus computes Iter8's standard metrics {list(KNOWN_METRICS)} "
            f"only, not {other}: for quantile and custom metrics, call observe() at each "
            "assessment time and feed canarystats.step (see docs/prometheus.md)"
        )
    series = fetch_rollout(
        client,
        spec,
        start=start,
        end=end,
        versions=versions,
        namespace=namespace,
        telemetry=telemetry,
    )
    return replay(spec, series, compat=compat)


def service_observer(
    client: PrometheusClient,
    *,
    telemetry: str = "v1",
    now: Callable[[], float] = _time.time,
) -> Callable[[Mapping[str, Any]], dict[str, list[dict[str, float | None]]]]:
    """An ``observe`` hook for :func:`canarystats.adapters.service.create_app`.

    For an Iter8 check_and_increment request it queries Prometheus as Iter8's
    analytics did: each version selected by its ``tags`` (label equality),
    over ``[baseline.start_time, now]``, every success criterion's
    ``metric_name`` from the catalogue of ``telemetry``; it returns the
    request's observations (``{"baseline": [{"sample_size", "value"}, ...],
    "candidate": [...]}``, None for missing).
    """
    catalogue = istio_metrics(telemetry)

    def hook(body: Mapping[str, Any]) -> dict[str, list[dict[str, float | None]]]:
        try:
            base, cand = body["baseline"], body["candidate"]
            tags = {"baseline": dict(base["tags"]), "candidate": dict(cand["tags"])}
            start = epoch_seconds(str(base["start_time"]), "baseline.start_time")
            names = [c["metric_name"] for c in body["traffic_control"]["success_criteria"]]
        except (KeyError, TypeError) as exc:
            raise SpecError(
                "querying Prometheus needs `baseline` and `candidate` with `start_time` and "
                f"`tags`, and `traffic_control.success_criteria[].metric_name` ({exc!r})"
            ) from None
        t = now()
        fetch = _Fetcher(client, tags, t, max(t - start, 0.0))
        obs = _observations(fetch, catalogue, dict.fromkeys(names), telemetry)
        out: dict[str, list[dict[str, float | None]]] = {"baseline": [], "candidate": []}
        for name in names:
            for v, role in enumerate(("baseline", "candidate")):
                n, x = float(obs[name].count[v]), float(obs[name].value[v])
                out[role].append(
                    {
                        "sample_size": None if math.isnan(n) else n,
                        "value": None if math.isnan(x) else x,
                    }
                )
        return out

    return hook
