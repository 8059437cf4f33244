"""The Prometheus adapter against a real server (Debian's prometheus 2.42), backfilled with a
known ground truth (``groundtruth.py``).

Expected values follow from the ground truth and Prometheus 2.42's range semantics:

- a range selector ``x[w]`` evaluated at ``t`` selects the samples with timestamps in the
  CLOSED interval ``[t - w, t]`` (2.x; Prometheus 3 made it left-open);
- ``increase()`` (``extrapolatedRate`` in ``promql/functions.go``) takes ``last - first``
  (plus counter-reset corrections) and extrapolates it from the sampled interval
  ``last.t - first.t`` towards each end of the range: by the gap to that end when the gap is
  under 1.1 x the average interval between samples, else by half an average interval (and
  towards the start never past where the counter would reach 0).

The ground truth is scraped every whole second, and the adapter evaluates whole-second
windows at whole-second times, so both ends of every range hold a sample: the gaps are 0,
the extrapolation factor is exactly 1, and ``increase()`` is exactly the difference of the
counters -- which is what a replay from the recorded table computes (its linear
interpolation lands on scrapes). One test checks the extrapolating case too.
"""

from __future__ import annotations

import json
import logging
import math

import attrs
import groundtruth as gt
import numpy as np
import pandas as pd
import pytest

import canarystats as cs
from canarystats.adapters.prometheus import (
    PrometheusClient,
    bucket_quantile,
    classic_buckets,
    fetch_rollout,
    observe,
    replay_prometheus,
)
from canarystats.adapters.prometheus.queries import ISTIO_METRICS
from canarystats.cli import main

pytestmark = pytest.mark.filterwarnings("error")

SPEC = cs.load_experiment(gt.EXPERIMENT)


def _at(truth, name, w):
    """Ground-truth increases over [T0, T0 + w] of one workload."""
    d = truth[name]
    i0, i1 = gt.LEAD, gt.LEAD + int(w)
    codes = d["codes"][i1] - d["codes"][i0]
    return {
        "requests": float(codes.sum()),
        "errors": float(codes[2]),
        "lsum": float(d["latency_sum"][i1] - d["latency_sum"][i0]),
        "lcount": float(d["latency_count"][i1] - d["latency_count"][i0]),
        "buckets": d["buckets"][i1] - d["buckets"][i0],
    }


@pytest.fixture
def client(prometheus):
    with PrometheusClient(prometheus.url, timeout=10.0, retries=1, backoff=0.05) as c:
        yield c


@pytest.mark.parametrize("window", [1, 30, 240])
def test_observe_equals_ground_truth_increases(client, truth, window):
    obs = observe(client, SPEC, start=gt.T0, at=gt.T0 + window)
    for v, name in enumerate((gt.BASELINE, gt.CANDIDATE)):
        exp = _at(truth, name, window)
        # Exact: no extrapolation (samples at both ends of the range); the
        # reporter="destination" decoys (doubled counts) are not selected.
        assert obs["iter8_error_rate"].count[v] == exp["requests"]
        assert obs["iter8_error_count"].value[v] == exp["errors"]
        rate = exp["errors"] / exp["requests"] if exp["requests"] else math.nan
        np.testing.assert_allclose(obs["iter8_error_rate"].value[v], rate, rtol=1e-12)
        mean = exp["lsum"] / exp["lcount"] if exp["lcount"] else math.nan
        np.testing.assert_allclose(obs["iter8_latency"].value[v], mean, rtol=1e-12)


def test_increase_extrapolates_as_prometheus_documents(client, truth):
    # At T0 + 30.5 over [30s]: samples at T0+1 .. T0+30 (29 s sampled), 0.5 s short of
    # each end (< 1.1 x the 1 s average interval), so increase = (c(T0+30) - c(T0+1)) * 30/29.
    q = 'sum by (destination_workload) (increase(istio_requests_total{reporter="source"}[30s]))'
    got = client.query(q, time=gt.T0 + 30.5).value_of({"destination_workload": gt.BASELINE})
    c = truth[gt.BASELINE]["codes"].sum(axis=1)
    expected = (c[gt.LEAD + 30] - c[gt.LEAD + 1]) * 30.0 / 29.0
    assert got == pytest.approx(expected, rel=1e-12)


def test_bucket_quantile_equals_histogram_quantile(client, truth):
    window = 240
    inner = (
        "sum by (destination_workload, le) (increase("
        f'istio_request_duration_seconds_bucket{{reporter="source"}}[{window}s]))'
    )
    buckets = client.query(inner, time=gt.T0 + window)
    for q in (0.0, 0.25, 0.5, 0.95, 0.99, 1.0):
        server = client.query(f"histogram_quantile({q}, {inner})", time=gt.T0 + window)
        for name in gt.PROFILES:
            labels = {"destination_workload": name}
            bounds, cum = classic_buckets(buckets, labels)
            np.testing.assert_array_equal(cum, _at(truth, name, window)["buckets"])
            ours = float(bucket_quantile(q, bounds, cum))
            assert ours == pytest.approx(server.value_of(labels), rel=1e-12, nan_ok=True), (q, name)


def test_quantile_metric_and_iter8_query_forms(client, truth):
    spec = attrs.evolve(
        SPEC,
        criteria=(
            cs.Criterion(metric="iter8_latency_p95", tolerance_type="threshold", tolerance=0.5),
            *SPEC.criteria,
        ),
    )
    obs = observe(client, spec, start=gt.T0, at=gt.T0 + 120)
    versions = {n: {"destination_workload": n} for n in (gt.BASELINE, gt.CANDIDATE)}
    for name in ("iter8_latency", "iter8_error_rate", "iter8_error_count", "iter8_latency_p95"):
        # Iter8's one-query form, evaluated by the server, equals what observe computed.
        text = ISTIO_METRICS[name].query(window=120, versions=versions)
        result = client.query(text, time=gt.T0 + 120)
        for v, version in enumerate(versions):
            server = result.value_of(versions[version])
            np.testing.assert_allclose(obs[name].value[v], server, rtol=1e-12)
    p95 = obs["iter8_latency_p95"]
    assert p95.buckets is not None
    assert p95.buckets.shape == (2, len(gt.BOUNDS))
    np.testing.assert_array_equal(
        p95.buckets.sum(axis=-1), [_at(truth, n, 120)["buckets"][-1] for n in versions]
    )


def test_replay_from_prometheus_equals_replay_from_file(client, truth):
    from_file = cs.replay(SPEC, gt.table(truth), start=float(gt.T0))
    from_server = replay_prometheus(client, SPEC, start="2020-06-01T12:00:00Z")
    assert from_server.outcome == from_file.outcome == "promote"
    assert from_server.final_traffic == from_file.final_traffic
    a, b = from_server.timeline, from_file.timeline
    assert len(a) == len(b) == 9 * 3
    for col in ("iteration", "time", "window", "criterion", "metric", "verdict", "reason",
                "abort", "all_passed", "changed", "baseline_traffic", "candidate_traffic",
                "routed_candidate"):  # fmt: skip
        assert a[col].tolist() == b[col].tolist(), col
    # Sample sizes and values: Iter8 rounds to 3 decimals; the server's sums of per-code
    # series may differ from the table's totals in the last bit only.
    for col in ("baseline_value", "candidate_value", "baseline_sample_size",
                "candidate_sample_size"):  # fmt: skip
        np.testing.assert_allclose(a[col], b[col], rtol=1e-12, equal_nan=True)
    assert a["timestamp"].iloc[-1] == pd.Timestamp("2020-06-01T12:04:00Z")
    # The buckets travelled too.
    obs = from_server.run.observations[3]["iter8_latency"]
    np.testing.assert_array_equal(obs.buckets.sum(axis=-1), obs.count)


def test_cli_replay_from_prometheus(prometheus, tmp_path, capsys, truth):
    exp = tmp_path / "exp.yaml"
    exp.write_text(gt.EXPERIMENT, encoding="utf-8")
    code = main(["replay", "--prometheus", prometheus.url, "--experiment", str(exp),
                 "--start", "2020-06-01T12:00:00Z", "--end", str(gt.T0 + 250),
                 "--format", "json", "--exit-code"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    payload = json.loads(out.out)
    assert payload[0]["outcome"] == "promote"
    from_file = cs.replay(SPEC, gt.table(truth), start=float(gt.T0))
    assert [r["verdict"] for r in payload[0]["timeline"]] == from_file.timeline["verdict"].tolist()


def test_cli_replay_prometheus_unreachable(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(gt.EXPERIMENT, encoding="utf-8")
    code = main(["replay", "--prometheus", "http://127.0.0.1:9", "--experiment", str(exp),
                 "--start", str(gt.T0), "--timeout", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "Prometheus connection" in err
    assert "after 3 attempts" in err


def test_idle_candidate_is_inconclusive_never_pass(client):
    spec = attrs.evolve(SPEC, candidate="reviews-v9")  # never served a request
    obs = observe(client, spec, start=gt.T0, at=gt.T0 + 60)
    for name in ("iter8_latency", "iter8_error_rate", "iter8_error_count"):
        assert math.isnan(obs[name].value[1])
        assert math.isnan(obs[name].count[1])
    with pytest.warns(cs.InsufficientDataWarning, match="missing values"):
        result = replay_prometheus(client, spec, start=gt.T0)
    cand = result.timeline
    assert (cand["verdict"] == "INCONCLUSIVE").all()
    assert set(cand["reason"]) == {"MISSING_VALUE"}
    assert result.outcome == "rollback"  # an inconclusive last assessment rolls back
    # Iter8's policy: a missing sample size is 0, so insufficient: still never a pass.
    iter8 = replay_prometheus(client, spec, start=gt.T0, compat="iter8")
    assert "PASS" not in set(iter8.timeline["verdict"])
    assert iter8.outcome == "rollback"


def test_label_values_cannot_inject_promql(client, truth):
    spec = attrs.evolve(SPEC, baseline="b", candidate="c")
    evil = 'reviews-v2"} or vector(1) or up{x="'
    versions = {"b": {"destination_workload": gt.TRICKY}, "c": {"destination_workload": evil}}
    obs = observe(client, spec, start=gt.T0, at=gt.T0 + 90, versions=versions)
    exp = _at(truth, gt.TRICKY, 90)
    # The tricky name (quote, backslash, newline, brace) selects exactly its own series ...
    assert obs["iter8_error_rate"].count[0] == exp["requests"] > 0
    np.testing.assert_allclose(obs["iter8_latency"].value[0], exp["lsum"] / exp["lcount"])
    # ... and the injection attempt is just a workload name that matches nothing.
    assert math.isnan(obs["iter8_error_rate"].count[1])
    assert math.isnan(obs["iter8_latency"].value[1])


def test_bad_data_is_surfaced(client):
    with pytest.raises(cs.PrometheusError) as info:
        client.query("sum(rate(istio_requests_total[5m])", time=gt.T0)
    err = info.value
    assert err.error_type == "bad_data"
    assert err.status == 400
    assert "parse error" in err.message
    assert err.query == "sum(rate(istio_requests_total[5m])"


def test_too_short_timeout(prometheus, caplog):
    # 1 microsecond: whichever side gives up first -- the client (httpx's timeout) or the
    # server (the query's `timeout` parameter, which the client sets to the same value:
    # HTTP 503, errorType "timeout", retried as a 503) -- it is a "timeout" error.
    caplog.set_level(logging.INFO, logger="canarystats.prometheus")
    heavy = 'sum by (le) (increase(istio_request_duration_seconds_bucket[250s]))'
    client = PrometheusClient(prometheus.url, timeout=1e-6, retries=1, backoff=0.0)
    with client as c, pytest.raises(cs.PrometheusError) as info:
        c.query(heavy, time=gt.T0 + 240)
    assert info.value.error_type == "timeout"
    assert info.value.status in (None, 503)
    assert "after 2 attempts" in info.value.message
    assert info.value.query == heavy


def test_server_stopped_mid_run(start_server, caplog):
    server = start_server()
    caplog.set_level(logging.INFO, logger="canarystats.prometheus")

    class StopsAfterFive(PrometheusClient):
        calls = 0

        def query(self, query, *, time=None):
            type(self).calls += 1
            if type(self).calls == 6:
                server.stop()
            return super().query(query, time=time)

    secret = "s3cret-password"
    client = StopsAfterFive(server.url, auth=("alice", secret), retries=2, backoff=0.01)
    with client as c, pytest.raises(cs.PrometheusError) as info:
        fetch_rollout(c, SPEC, start=gt.T0)
    err = info.value
    assert StopsAfterFive.calls == 6  # the first five answered; the sixth failed
    assert err.error_type == "connection"
    assert "after 3 attempts" in err.message
    assert server.url in err.message
    assert err.query is not None
    assert "istio_" in err.query
    for text in (str(err), repr(err), repr(c), *(r.getMessage() for r in caplog.records)):
        assert secret not in text
    assert "<hidden>" in repr(c)
    assert len([r for r in caplog.records if "attempt" in r.getMessage()]) == 3
