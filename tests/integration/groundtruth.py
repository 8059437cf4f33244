"""A known ground truth of a canary rollout, written both as a recorded-rollout table and
as OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``.

Every workload is scraped every second (integer Unix seconds). With samples on every
second, a range ``[t - w, t]`` with whole-second ``t`` and ``w`` has samples exactly at
both ends, and Prometheus' ``increase()`` needs no extrapolation (see the tests).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from canarystats.adapters.frames import ISTIO_BUCKETS, bucket_column

#: The experiment's start: 2020-06-01T12:00:00Z.
T0 = 1591012800
#: Scrapes from T0 - LEAD to T0 + SPAN, every second.
LEAD, SPAN = 10, 250
NAMESPACE = "bookinfo"
BASELINE, CANDIDATE, OTHER = "reviews-v2", "reviews-v3", "reviews-v1"
#: A workload whose name holds every character PromQL escaping must handle.
TRICKY = 'we"ird\\na}me\nx'
CODES = ("200", "404", "503")
BOUNDS = (*ISTIO_BUCKETS, math.inf)

#: workload -> (requests per second, P(404), P(503), mean latency in seconds, counter origin)
PROFILES = {
    BASELINE: (4.0, 0.02, 0.01, 0.15, 5000),
    CANDIDATE: (3.0, 0.02, 0.02, 0.11, 0),
    OTHER: (2.0, 0.0, 0.0, 0.30, 100),
    TRICKY: (1.0, 0.0, 0.0, 0.05, 7),
}

EXPERIMENT = f"""\
apiVersion: iter8.tools/v1alpha1
kind: Experiment
metadata:
  name: reviews-v3-rollout
spec:
  targetService:
    name: reviews
    baseline: {BASELINE}
    candidate: {CANDIDATE}
  trafficControl:
    strategy: check_and_increment
    interval: 30s
    trafficStepSize: 20
    maxIterations: 8
    maxTrafficPercentage: 80
  analysis:
    successCriteria:
      - metricName: iter8_latency
        toleranceType: threshold
        tolerance: 0.2
        sampleSize: 6
      - metricName: iter8_error_rate
        toleranceType: delta
        tolerance: 2.0
        sampleSize: 10
      - metricName: iter8_error_count
        toleranceType: threshold
        tolerance: 1000
        sampleSize: 5
"""


def counters(seed: int = 20200601) -> dict[str, dict[str, np.ndarray]]:
    """Cumulative counters per workload, one entry per second of ``times()``."""
    rng = np.random.default_rng(seed)
    n = LEAD + SPAN + 1
    out = {}
    for name, (rps, p404, p503, mean, origin) in PROFILES.items():
        req = rng.poisson(rps, size=n)
        req[0] = 0
        codes = np.stack([rng.multinomial(k, [1 - p404 - p503, p404, p503]) for k in req])
        # Per-request latencies ~ Gamma(shape 4, mean), put into buckets and summed.
        lat_sum = np.zeros(n)
        buckets = np.zeros((n, len(BOUNDS)))
        for i, k in enumerate(req):
            if k:
                x = rng.gamma(4.0, mean / 4.0, size=k)
                lat_sum[i] = round(float(x.sum()), 6)
                buckets[i] = [(x <= b).sum() for b in BOUNDS]
        out[name] = {
            "codes": origin + np.cumsum(codes, axis=0),  # (n, 3), by CODES
            "latency_sum": np.round(origin * mean + np.cumsum(lat_sum), 6),
            "latency_count": origin + np.cumsum(req).astype(np.float64),
            "buckets": origin + np.cumsum(buckets, axis=0),  # cumulative over le, too
        }
    return out


def times() -> np.ndarray:
    return np.arange(T0 - LEAD, T0 + SPAN + 1)


def table(data: dict[str, dict[str, np.ndarray]], versions=(BASELINE, CANDIDATE)) -> pd.DataFrame:
    """The recorded-rollout table of ``versions`` (docs/recorded-rollouts.md)."""
    rows = []
    ts = times()
    for name in versions:
        d = data[name]
        frame = pd.DataFrame(
            {
                "timestamp": ts.astype(np.float64),
                "version": name,
                "requests": d["codes"].sum(axis=1).astype(np.float64),
                "errors_5xx": d["codes"][:, 2].astype(np.float64),
                "latency_sum": d["latency_sum"],
                "latency_count": d["latency_count"],
            }
        )
        for j, b in enumerate(BOUNDS):
            frame[bucket_column(b)] = d["buckets"][:, j]
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())


def _le(b: float) -> str:
    return "+Inf" if math.isinf(b) else repr(b)


def openmetrics(data: dict[str, dict[str, np.ndarray]]) -> Iterator[str]:
    """OpenMetrics text lines of every workload, source- and destination-reported.

    The ``reporter="destination"`` copies are decoys with doubled counts: the queries
    select ``reporter="source"``, so they must not change any result.
    """
    ts = times()
    reporters = (("source", 1), ("destination", 2))
    yield "# TYPE istio_requests counter"
    for name, d in data.items():
        for reporter, mult in reporters:
            for j, code in enumerate(CODES):
                lab = _labels(
                    reporter=reporter,
                    destination_workload=name,
                    destination_workload_namespace=NAMESPACE,
                    response_code=code,
                )
                for t, v in zip(ts, d["codes"][:, j], strict=True):
                    yield f"istio_requests_total{{{lab}}} {int(v) * mult} {t}"
    yield "# TYPE istio_request_duration_seconds histogram"
    for name, d in data.items():
        for reporter, mult in reporters:
            base = dict(
                reporter=reporter,
                destination_workload=name,
                destination_workload_namespace=NAMESPACE,
            )
            for i, t in enumerate(ts):
                for j, b in enumerate(BOUNDS):
                    lab = _labels(**base, le=_le(b))
                    yield f"istio_request_duration_seconds_bucket{{{lab}}} {int(d['buckets'][i, j]) * mult} {t}"
                lab = _labels(**base)
                yield f"istio_request_duration_seconds_sum{{{lab}}} {float(d['latency_sum'][i]) * mult!r} {t}"
                yield f"istio_request_duration_seconds_count{{{lab}}} {int(d['latency_count'][i]) * mult} {t}"
    # Istio telemetry v2: the same latencies in milliseconds, bucket bounds x 1000
    # (source-reported only).
    yield "# TYPE istio_request_duration_milliseconds histogram"
    for name, d in data.items():
        base = dict(reporter="source", destination_workload=name,
                    destination_workload_namespace=NAMESPACE)  # fmt: skip
        for i, t in enumerate(ts):
            for j, b in enumerate(BOUNDS):
                lab = _labels(**base, le=_le_ms(b))
                yield f"istio_request_duration_milliseconds_bucket{{{lab}}} {int(d['buckets'][i, j])} {t}"
            lab = _labels(**base)
            yield f"istio_request_duration_milliseconds_sum{{{lab}}} {float(d['latency_sum'][i]) * 1000.0!r} {t}"
            yield f"istio_request_duration_milliseconds_count{{{lab}}} {int(d['latency_count'][i])} {t}"
    yield "# EOF"


def _le_ms(b: float) -> str:
    return "+Inf" if math.isinf(b) else f"{b * 1000:g}"


def write_openmetrics(data: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    path.write_text("\n".join(openmetrics(data)) + "\n", encoding="utf-8")
