"""More of the Prometheus adapter against the real server (see ``test_prometheus_server.py``
for the ground truth and Prometheus 2.42's range semantics): range queries and the bulk
matrix parser, the long-frame layout of prometheus-api-client's ``MetricRangeDataFrame``,
Istio telemetry v2 (milliseconds), the ``offset`` option, the client-side timeout, the HTTP
service (``create_app`` and ``canarystats serve --prometheus``), and a rollout with a
quantile criterion stepped through ``observe``.
"""

from __future__ import annotations

import json
import math
import socket
import time
import warnings

import attrs
import groundtruth as gt
import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import canarystats as cs
from canarystats.adapters.prometheus import (
    PrometheusClient,
    fetch_rollout,
    observe,
    parse_response,
    replay_prometheus,
    result_from_frame,
    service_observer,
)
from canarystats.adapters.prometheus import parsing as prom
from canarystats.adapters.prometheus.queries import ISTIO_METRICS
from canarystats.adapters.service import create_app
from canarystats.cli import main

pytestmark = pytest.mark.filterwarnings("error")

SPEC = cs.load_experiment(gt.EXPERIMENT)
VERSIONS = {n: {"destination_workload": n} for n in (gt.BASELINE, gt.CANDIDATE)}
REQUESTS = 'sum by (destination_workload) (istio_requests_total{reporter="source"})'
# requests / 5xx over 2 s: +Inf where there were requests but no 5xx, NaN where neither.
SPECIAL = (
    'sum by (destination_workload) (increase(istio_requests_total{reporter="source"}[2s]))'
    ' / sum by (destination_workload) (increase(istio_requests_total{reporter="source",'
    'response_code=~"5.."}[2s]))'
)


@pytest.fixture
def client(prometheus):
    with PrometheusClient(prometheus.url, timeout=10.0, retries=1, backoff=0.05) as c:
        yield c


def _raw_range(url, query, start, end, step):
    params = {"query": query, "start": start, "end": end, "step": step}
    response = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=10.0)
    assert response.status_code == 200
    return response.content


def test_query_range_matrix_equals_ground_truth(client, truth):
    result = client.query_range(REQUESTS, start=gt.T0, end=gt.T0 + 240, step=15)
    assert result.result_type == "matrix"
    assert len(result.series) == len(gt.PROFILES)  # the tricky name too; no decoys
    times = np.arange(gt.T0, gt.T0 + 241, 15, dtype=np.float64)
    for name in gt.PROFILES:
        s = result.select({"destination_workload": name})
        np.testing.assert_array_equal(s.timestamps, times)
        # An instant value at t is the sample scraped at t (every second).
        expected = truth[name]["codes"].sum(axis=1)[gt.LEAD + (times - gt.T0).astype(int)]
        np.testing.assert_array_equal(s.samples, expected)


@pytest.mark.parametrize("query", [REQUESTS, SPECIAL])
def test_bulk_matrix_parser_equals_json_on_server_bodies(prometheus, query):
    body = _raw_range(prometheus.url, query, gt.T0 - 5, gt.T0 + 240, 1)
    assert prom._fast_matrix(body) is not None  # the server's layout takes the bulk path
    fast, slow = parse_response(body), parse_response(json.loads(body))
    assert fast == slow
    assert sum(len(s.samples) for s in fast.series) > 900
    values = np.concatenate([s.samples for s in fast.series])
    if query == SPECIAL:  # the server wrote "NaN" and "+Inf"; both read as json does
        assert np.isnan(values).any()
        assert np.isposinf(values).any()


def test_metric_range_dataframe_layout_into_result(prometheus, client):
    """``result_from_frame`` on prometheus-api-client's ``MetricRangeDataFrame`` layout.

    Its documented layout (``prometheus_api_client.MetricRangeDataFrame``, 0.5+): one row
    per sample, one column per label of the series' ``metric`` (NaN where a series lacks
    it), a ``value`` column of floats, and the ``timestamp`` as the index, converted with
    ``pd.to_datetime(unit="s")`` (naive, UTC) when ``ts_as_datetime=True`` (the default).
    The package is not a test dependency, so the frame is built here to that layout; when
    the package is installed, its own frame is checked too.
    """
    body = _raw_range(prometheus.url, "istio_requests_total", gt.T0, gt.T0 + 30, 5)
    data = json.loads(body)["data"]["result"]
    rows = [{**item["metric"], "timestamp": t, "value": float(v)}
            for item in data for t, v in item["values"]]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")
    frame = frame.set_index("timestamp")
    expected = parse_response(body)
    assert len(expected.series) == 2 * len(gt.PROFILES) * len(gt.CODES)  # both reporters
    frames = [frame]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from prometheus_api_client import MetricRangeDataFrame

            frames.append(MetricRangeDataFrame(data))
    except ImportError:
        pass
    for f in frames:
        got = result_from_frame(f, query="istio_requests_total")
        assert got.result_type == "matrix"
        assert got.series == expected.series
    # And back: to_frame's long frame is accepted too.
    assert result_from_frame(expected.to_frame()).series == expected.series


def test_telemetry_v2_milliseconds(client):
    spec = attrs.evolve(
        SPEC,
        criteria=(
            cs.Criterion(metric="iter8_latency_p95", tolerance_type="threshold", tolerance=500),
            *SPEC.criteria,
        ),
    )
    v1 = observe(client, spec, start=gt.T0, at=gt.T0 + 120)
    v2 = observe(client, spec, start=gt.T0, at=gt.T0 + 120, telemetry="v2")
    for name in ("iter8_latency", "iter8_latency_p95"):
        np.testing.assert_array_equal(v2[name].count, v1[name].count)
        # The same latencies in milliseconds: x 1000 (the sums were written x 1000 too).
        np.testing.assert_allclose(v2[name].value, 1000 * v1[name].value, rtol=1e-9)
    np.testing.assert_array_equal(v2["iter8_latency_p95"].buckets, v1["iter8_latency_p95"].buckets)
    np.testing.assert_allclose(
        v2["iter8_latency_p95"].bucket_bounds, 1000 * v1["iter8_latency_p95"].bucket_bounds
    )
    np.testing.assert_array_equal(v2["iter8_error_rate"].value, v1["iter8_error_rate"].value)
    # The v2 one-query form, evaluated by the server, agrees.
    text = cs.istio_metrics("v2")["iter8_latency"].query(window=120, versions=VERSIONS)
    server = client.query(text, time=gt.T0 + 120)
    for v, labels in enumerate(VERSIONS.values()):
        np.testing.assert_allclose(v2["iter8_latency"].value[v], server.value_of(labels),
                                   rtol=1e-12)  # fmt: skip
    rollout = fetch_rollout(client, SPEC, start=gt.T0, end=gt.T0 + 60, telemetry="v2")
    np.testing.assert_allclose(rollout.bucket_bounds, [*(1000 * b for b in gt.BOUNDS)])


def test_offset_ends_the_window_in_the_past(client, truth):
    # [60s] offset 90s evaluated at T0 + 210 is the window [T0 + 60, T0 + 120].
    at, window, offset = gt.T0 + 210, 60, 90
    for name in ("iter8_error_count", "iter8_sample_size", "iter8_latency", "iter8_latency_p95"):
        text = ISTIO_METRICS[name].query(window=window, versions=VERSIONS, offset=offset)
        assert f"[{window}s] offset {offset}s" in text
        shifted = client.query(text, time=at)
        plain = client.query(ISTIO_METRICS[name].query(window=window, versions=VERSIONS),
                             time=at - offset)  # fmt: skip
        for labels in VERSIONS.values():
            assert shifted.value_of(labels) == plain.value_of(labels), name
    counts = client.query(ISTIO_METRICS["iter8_error_count"].query(
        window=window, versions=VERSIONS, offset=offset), time=at)  # fmt: skip
    for name, labels in VERSIONS.items():
        c = truth[name]["codes"][:, 2]
        assert counts.value_of(labels) == c[gt.LEAD + 120] - c[gt.LEAD + 60]
    with pytest.raises(cs.SpecError, match="offset"):
        ISTIO_METRICS["iter8_latency"].query(window=60, versions=VERSIONS, offset=-1)


def test_client_timeout_against_a_silent_socket():
    # A loopback socket that accepts connections (the kernel's backlog) and never answers:
    # only the client's own timeout can end the wait.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        begun = time.monotonic()
        client = PrometheusClient(url, timeout=0.3, retries=1, backoff=0.0)
        with client as c, pytest.raises(cs.PrometheusError) as info:
            c.query_range("up", start=gt.T0, end=gt.T0 + 60, step=15)
        elapsed = time.monotonic() - begun
    err = info.value
    assert err.error_type == "timeout"
    assert err.status is None
    assert "no answer within 0.3 s" in err.message
    assert "after 2 attempts" in err.message
    assert 0.5 < elapsed < 5.0  # two bounded attempts


def _iter8_request(candidate=gt.CANDIDATE, tags=True):
    def version(name):
        out = {"start_time": "2020-06-01T12:00:00Z"}
        if tags:
            out["tags"] = {"destination_workload": name}
        return out

    return {
        "baseline": version(gt.BASELINE),
        "candidate": version(candidate),
        "traffic_control": {"step_size": 20, "max_traffic_percent": 80, "success_criteria": [
            {"metric_name": "iter8_error_rate", "is_counter": False, "absent_value": "0.0",
             "type": "delta", "value": 2.0, "sample_size": 10},
            {"metric_name": "iter8_latency", "is_counter": False, "absent_value": "None",
             "type": "threshold", "value": 0.2, "sample_size": 6}]},
        "_last_state": {},
    }  # fmt: skip


def _post(app, body):
    with TestClient(app) as http:
        return http.post("/api/v1/experiment/check_and_increment", json=body)


def test_service_observes_prometheus(client, truth):
    hook = service_observer(client, now=lambda: gt.T0 + 120.0)
    answer = _post(create_app(observe=hook), _iter8_request())
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    for role, name in (("baseline", gt.BASELINE), ("candidate", gt.CANDIDATE)):
        codes = truth[name]["codes"]
        requests = float(codes[gt.LEAD + 120].sum() - codes[gt.LEAD].sum())
        errors = float(codes[gt.LEAD + 120, 2] - codes[gt.LEAD, 2])
        rate, latency = (m["statistics"] for m in payload[role]["metrics"])
        assert rate["sample_size"] == latency["sample_size"] == requests
        assert rate["value"] == pytest.approx(errors / requests, abs=5e-4)  # Iter8 rounds to 3
    assert payload["assessment"]["summary"]["all_success_criteria_met"] is True

    idle = _post(create_app(observe=hook), _iter8_request(candidate="reviews-v9"))
    assert idle.status_code == 200, idle.text
    summary = idle.json()["assessment"]["summary"]
    assert summary["all_success_criteria_met"] is False  # no data: never a pass
    assert summary["sample_size_sufficient"] is False

    untagged = _post(create_app(observe=hook), _iter8_request(tags=False))
    assert untagged.status_code == 400
    assert "tags" in untagged.json()["message"]


def test_service_prometheus_unreachable_is_502():
    with PrometheusClient("http://127.0.0.1:9", timeout=1.0, retries=0) as dead:
        answer = _post(create_app(observe=service_observer(dead)), _iter8_request())
    assert answer.status_code == 502
    assert answer.json()["error"] == "PrometheusError"
    assert "Prometheus connection" in answer.json()["message"]


def test_cli_serve_with_prometheus(prometheus, monkeypatch):
    import uvicorn

    served = {}

    def run(app, **kw):  # instead of serving: one request while `serve`'s client is open
        served.update(kw, answer=_post(app, _iter8_request()))

    monkeypatch.setattr(uvicorn, "run", run)
    code = main(["serve", "--prometheus", prometheus.url, "--port", "18080", "--timeout", "5"])
    assert code == 0
    assert (served["host"], served["port"]) == ("127.0.0.1", 18080)
    answer = served["answer"]
    # The window is [2020-06-01T12:00:00Z, now]: every backfilled sample is in it, and the
    # server extrapolates towards now (half a scrape interval), so only the wiring is checked.
    assert answer.status_code == 200, answer.text
    for role in ("baseline", "candidate"):
        for metric in answer.json()[role]["metrics"]:
            assert metric["statistics"]["sample_size"] > 0


def test_cli_serve_rejects_a_bad_prometheus_url(capsys):
    assert main(["serve", "--prometheus", "ftp://127.0.0.1:9090"]) == 2
    assert "canarystats: error: `url` must be an http(s) URL" in capsys.readouterr().err


def test_quantile_criteria_over_a_past_rollout(client):
    """A replay from Prometheus computes Iter8's standard metrics only; a rollout judged on a
    quantile is stepped through ``observe`` with ``run_experiment`` (docs/prometheus.md)."""
    spec = attrs.evolve(
        SPEC,
        criteria=(
            cs.Criterion(metric="iter8_latency_p95", tolerance_type="threshold", tolerance=0.5),
            *SPEC.criteria,
        ),
    )
    with pytest.raises(cs.DataError, match="standard metrics"):
        replay_prometheus(client, spec, start=gt.T0)

    def observe_at(k, window, routed):
        return observe(client, spec, start=gt.T0, at=gt.T0 + window)

    run = cs.run_experiment(spec, observe_at)
    assert cs.Outcome(int(run.outcome)).name.lower() == "promote"
    p95 = [float(obs["iter8_latency_p95"].value[1]) for obs in run.observations]
    assert all(0 < v < 0.5 for v in p95[1:])
    # The standard metrics of the same run equal the replay's.
    standard = replay_prometheus(client, SPEC, start=gt.T0)
    assert standard.outcome == "promote"
    last = run.observations[-1]["iter8_latency"].value
    np.testing.assert_allclose(last, standard.run.observations[-1]["iter8_latency"].value,
                               rtol=1e-12)  # fmt: skip
    assert not math.isnan(last[1])
