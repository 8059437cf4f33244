"""The Prometheus adapter on hand-written response bodies and a mock transport (no server).

Bodies follow the Prometheus HTTP API documentation (``docs/querying/api.md``): result types
vector / matrix / scalar / string, sample values as strings ("NaN", "+Inf", "-Inf",
exponents), native histograms (``histogram`` / ``histograms``, buckets as
``[boundary_rule, "left", "right", "count"]``), error envelopes and warnings / infos.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import attrs
import httpx
import numpy as np
import pandas as pd
import pytest

import canarystats as cs
from canarystats.adapters.prometheus import (
    PrometheusClient,
    bucket_quantile,
    classic_buckets,
    parse_response,
    result_from_frame,
    service_observer,
)
from canarystats.adapters.prometheus import parsing as _prom
from canarystats.adapters.prometheus.queries import CounterQuery, Matcher, format_window, quote


def ok(rtype, result, **extra):
    return json.dumps({"status": "success", "data": {"resultType": rtype, "result": result},
                       **extra}).encode()  # fmt: skip


# --------------------------------------------------------------------------- result types


def test_vector_special_values_and_exponents():
    body = ok("vector", [
        {"metric": {"v": "a"}, "value": [1591012800.123, "NaN"]},
        {"metric": {"v": "b"}, "value": [1591012800, "+Inf"]},
        {"metric": {"v": "c"}, "value": [1591012800, "-Inf"]},
        {"metric": {"v": "d"}, "value": [1591012800, "1.5e-3"]},
        {"metric": {"v": "e"}, "value": [1591012800, "-2E+10"]},
        {"metric": {"v": "f"}, "value": [1591012800, "0x1p-2"]},  # Go's hex floats? no: see below
    ][:-1])  # fmt: skip
    r = parse_response(body)
    assert r.result_type == "vector"
    assert len(r.series) == 5
    assert math.isnan(r.value_of({"v": "a"}))
    assert r.value_of({"v": "b"}) == math.inf
    assert r.value_of({"v": "c"}) == -math.inf
    assert r.value_of({"v": "d"}) == 1.5e-3
    assert r.value_of({"v": "e"}) == -2e10
    assert r.series[0].timestamps[0] == 1591012800.123
    assert math.isnan(r.value_of({"v": "zzz"}))  # absent: missing, never 0


def test_matrix_arrays_and_long_frame():
    body = ok("matrix", [
        {"metric": {"__name__": "x", "v": "a"}, "values": [[10, "1"], [20, "2.5"], [30, "NaN"]]},
        {"metric": {"v": "b"}, "values": [[10.5, "+Inf"]]},
    ])  # fmt: skip
    r = parse_response(body)
    a = r.select({"v": "a"})
    np.testing.assert_array_equal(a.timestamps, [10, 20, 30])
    np.testing.assert_array_equal(a.samples, [1, 2.5, np.nan])
    frame = r.to_frame()
    assert list(frame.columns) == ["__name__", "v", "timestamp", "value"]
    assert frame["v"].tolist() == ["a", "a", "a", "b"]
    assert frame["__name__"].isna().tolist() == [False, False, False, True]
    assert frame["timestamp"].iloc[3] == pd.Timestamp("1970-01-01T00:00:10.5Z")
    assert frame["value"].iloc[3] == math.inf
    back = result_from_frame(frame)
    assert back.select({"v": "a"}) == a.__class__(labels={"__name__": "x", "v": "a"},
                                                 timestamps=a.timestamps, samples=a.samples)  # fmt: skip


def test_scalar_and_string():
    s = parse_response(ok("scalar", [1591012800, "-Inf"]))
    assert s.scalar == -math.inf
    assert s.time == 1591012800
    assert s.to_frame()["value"].tolist() == [-math.inf]
    t = parse_response(ok("string", [1591012800, "hello"]))
    assert t.string == "hello"
    assert t.series == ()


def test_native_histograms_vector_and_matrix():
    h = {"count": "10", "sum": "3.5e0", "buckets": [
        [0, "-0.5", "0", "1"], [1, "0", "0.5", "4"], [2, "0.5", "1", "3"], [3, "1", "+Inf", "2"]]}  # fmt: skip
    r = parse_response(ok("vector", [{"metric": {"v": "a"}, "histogram": [100, h]}]))
    (hist,) = r.series[0].histograms
    assert hist.count == 10
    assert hist.sum == 3.5
    np.testing.assert_array_equal(hist.boundary_rule, [0, 1, 2, 3])
    np.testing.assert_array_equal(hist.lower, [-0.5, 0, 0.5, 1])
    np.testing.assert_array_equal(hist.upper, [0, 0.5, 1, math.inf])
    np.testing.assert_array_equal(hist.counts, [1, 4, 3, 2])
    assert r.series[0].samples.size == 0
    m = parse_response(ok("matrix", [{"metric": {}, "histograms": [[100, h], [115, {
        "count": "0", "sum": "0"}]]}]))  # fmt: skip
    s = m.series[0]
    np.testing.assert_array_equal(s.histogram_timestamps, [100, 115])
    assert s.histograms[1].counts.size == 0


@pytest.mark.parametrize(
    "bucket", [[4, "0", "1", "1"], [0, "1", "0", "1"], [0, "0", "1"], ["0", "0", "1", "2"]]
)
def test_native_histogram_bad_buckets(bucket):
    h = {"count": "1", "sum": "1", "buckets": [bucket]}
    with pytest.raises(cs.PrometheusError, match="bad_response"):
        parse_response(ok("vector", [{"metric": {}, "histogram": [1, h]}]))


def test_two_series_for_one_version_is_an_error():
    r = parse_response(ok("vector", [{"metric": {"w": "a", "ns": "x"}, "value": [1, "1"]},
                                     {"metric": {"w": "a", "ns": "y"}, "value": [1, "2"]}]))  # fmt: skip
    with pytest.raises(cs.DataError, match="2 series match the labels"):
        r.select({"w": "a"})
    assert r.value_of({"w": "a", "ns": "y"}) == 2.0


def test_warnings_and_infos_kept():
    r = parse_response(ok("vector", [], warnings=["partial data"], infos=["not a counter"]))
    assert r.warnings == ("partial data",)
    assert r.infos == ("not a counter",)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b'{"status":"error","errorType":"bad_data","error":"1:5: parse error"}', 400, "bad_data"),
        (b'{"status":"error","errorType":"execution","error":"many-to-many"}', 422, "execution"),
        (b'{"status":"error","errorType":"timeout","error":"query timed out"}', 503, "timeout"),
        (b"<html>502 Bad Gateway</html>", 502, "http"),
        (b"not json", 200, "bad_response"),
        (b'{"data": {}}', 200, "bad_response"),
        (b'{"status":"success","data":{"resultType":"tensor","result":[]}}', 200, "bad_response"),
        (json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [1, "abc"]}]}}).encode(), 200, "bad_response"),  # fmt: skip
        (json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {}, "values": [[1, 2.0]]}]}}).encode(), 200, "bad_response"),  # fmt: skip
    ],
)
def test_error_envelopes_and_malformed_bodies(body, status, kind):
    with pytest.raises(cs.PrometheusError) as info:
        parse_response(body, status=status, query="up")
    err = info.value
    assert (err.error_type, err.status, err.query) == (kind, status, "up")
    assert isinstance(err, RuntimeError)
    assert f"Prometheus {kind}" in str(err)


def test_prometheus_error_pickles():
    import pickle

    err = cs.PrometheusError("bad_data", "oops", status=400, query="sum(")
    back = pickle.loads(pickle.dumps(err))
    assert (back.error_type, back.message, back.status, back.query) == ("bad_data", "oops", 400,
                                                                         "sum(")  # fmt: skip


# --------------------------------------------------------------------------- histogram_quantile


# Expected values worked by hand from Prometheus' bucketQuantile (promql/quantile.go, 2.42).
@pytest.mark.parametrize(
    ("q", "bounds", "cum", "expected"),
    [
        (0.5, [0.1, 0.25, math.inf], [10, 30, 40], 0.175),  # rank 20: 0.1 + 0.15 * 10/20
        (0.1, [0.1, 0.25, math.inf], [10, 30, 40], 0.04),  # first bucket starts at 0
        (0.99, [0.1, 0.25, math.inf], [10, 30, 40], 0.25),  # +Inf bucket: largest bound
        (0.5, [-1.0, 0.25, math.inf], [30, 30, 40], -1.0),  # first bound <= 0: that bound
        (0.5, [0.1, 0.25, 1.0], [10, 30, 40], math.nan),  # no +Inf bucket
        (0.5, [math.inf], [10], math.nan),  # fewer than 2 buckets
        (0.5, [0.1, math.inf], [0, 0], math.nan),  # no observations
        (0.0, [0.1, math.inf], [0, 5], math.nan),  # 0/0 inside the first bucket, as in Go
        (-0.1, [0.1, math.inf], [1, 5], -math.inf),
        (1.1, [0.1, math.inf], [1, 5], math.inf),
        (0.5, [0.1, 0.2, math.inf], [10, 8, 20], 0.1),  # made monotone: [10, 10, 20]
    ],
)
def test_bucket_quantile_rules(q, bounds, cum, expected):
    got = float(bucket_quantile(q, bounds, cum))
    assert got == pytest.approx(expected, nan_ok=True)


def test_bucket_quantile_vectorized_equals_loop():
    rng = np.random.default_rng(1)
    cum = np.cumsum(rng.integers(0, 5, size=(7, 2, 6)), axis=-1).astype(float)
    bounds = [0.01, 0.05, 0.1, 0.5, 1.0, math.inf]
    got = bucket_quantile(0.9, bounds, cum)
    assert got.shape == (7, 2)
    loop = [[float(bucket_quantile(0.9, bounds, cum[i, j])) for j in range(2)] for i in range(7)]
    np.testing.assert_allclose(got, loop, equal_nan=True)


def test_classic_buckets_sorted_by_le():
    r = parse_response(ok("vector", [
        {"metric": {"w": "a", "le": "+Inf"}, "value": [1, "9"]},
        {"metric": {"w": "a", "le": "0.5"}, "value": [1, "4"]},
        {"metric": {"w": "a", "le": "1e-1"}, "value": [1, "1"]},
        {"metric": {"w": "b", "le": "0.5"}, "value": [1, "7"]},
    ]))  # fmt: skip
    bounds, cum = classic_buckets(r, {"w": "a"})
    np.testing.assert_array_equal(bounds, [0.1, 0.5, math.inf])
    np.testing.assert_array_equal(cum, [1, 4, 9])
    assert classic_buckets(r, {"w": "zzz"}) is None


# --------------------------------------------------------------------------- PromQL text


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("a\nb\tc\rd", '"a\\nb\\tc\\rd"'),
        ("\x00\x7f", '"\\x00\\x7f"'),
        ("}{,=~!", '"}{,=~!"'),
        ("ünï", '"ünï"'),
    ],
)
def test_quote(value, literal):
    assert quote(value) == literal


def test_injection_stays_inside_the_string():
    evil = 'x"} or vector(1) or up{a="'
    text = CounterQuery(metric="m").increase(60, by=["w"], extra=[Matcher(name="w", value=evil)])
    assert text == 'sum by (w) (increase(m{w="x\\"} or vector(1) or up{a=\\""}[60s]))'


@pytest.mark.parametrize("name", ["1abc", "a-b", "a b", "", 'a"', "a{"])
def test_label_names_are_validated(name):
    with pytest.raises(cs.SpecError, match="label name"):
        Matcher(name=name, value="x")


def test_lone_surrogate_rejected_and_windows():
    with pytest.raises(cs.SpecError, match="UTF-8"):
        quote("\ud800")
    assert format_window(0.0) == "1s"  # Iter8 clamps the first assessment's window to 1 s
    with pytest.raises(cs.SpecError, match="window"):
        format_window(-1)


# --------------------------------------------------------------------------- the client


def mock_client(handler, **kw):
    kw.setdefault("backoff", 0.0)
    return PrometheusClient("http://prom.example:9090", transport=httpx.MockTransport(handler),
                            **kw)  # fmt: skip


def test_client_get_post_and_params():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, content=ok("vector", []))

    with mock_client(handler, max_get_length=200) as c:
        c.query("up", time=1591012800)
        c.query("up" + " or up" * 100, time="2020-06-01T12:00:00Z")
        c.query_range("up", start=0, end=60, step=15)
    assert seen[0].method == "GET"
    assert seen[0].url.params["time"] == "1591012800.000"
    assert seen[0].url.params["timeout"] == "10"
    assert seen[1].method == "POST"
    assert b"time=1591012800.000" in seen[1].content
    assert seen[2].url.path == "/api/v1/query_range"
    assert seen[2].url.params["step"] == "15"


def test_client_retries_503_then_succeeds_and_never_retries_4xx():
    calls = []

    def flaky(request):
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503, text="overloaded")
        return httpx.Response(200, content=ok("scalar", [1, "2"]))

    with mock_client(flaky, retries=2) as c:
        assert c.query("x").scalar == 2.0
    assert len(calls) == 3

    calls.clear()

    def reject(request):
        calls.append(1)
        return httpx.Response(400, content=b'{"status":"error","errorType":"bad_data","error":"no"}')

    with mock_client(reject, retries=5) as c, pytest.raises(cs.PrometheusError, match="bad_data"):
        c.query("x")
    assert len(calls) == 1


def test_client_timeout_and_connection_errors_are_bounded():
    calls = []

    def slow(request):
        calls.append(1)
        raise httpx.ReadTimeout("timed out", request=request)

    with mock_client(slow, retries=3, timeout=0.5) as c, pytest.raises(cs.PrometheusError) as info:
        c.query("x")
    assert info.value.error_type == "timeout"
    assert len(calls) == 4
    assert "after 4 attempts" in info.value.message


def test_credentials_never_shown():
    secret, token = "hunter2-pass", "tok-abcdef"

    def refuse(request):
        assert request.headers["authorization"] == f"Bearer {token}"
        raise httpx.ConnectError(f"refused (echo {token})", request=request)

    c = PrometheusClient("https://bob:" + secret + "@prom.example/", bearer_token=token,
                         transport=httpx.MockTransport(refuse), retries=0)  # fmt: skip
    assert c.url == "https://prom.example"
    assert c.verify is True
    with pytest.raises(cs.PrometheusError) as info:
        c.query("up")
    for text in (repr(c), str(info.value), repr(info.value)):
        assert secret not in text
        assert token not in text
        assert "bob" not in text
    assert "<hidden>" in str(info.value)


def test_client_validates_arguments():
    with pytest.raises(cs.SpecError, match="url"):
        PrometheusClient("ftp://x")
    with pytest.raises(cs.SpecError, match="retries"):
        PrometheusClient("http://x", retries=-1)
    with pytest.raises(cs.SpecError, match="offset"):
        mock_client(lambda r: None).query("x", time="2020-06-01T12:00:00")


def test_warnings_are_emitted():
    def handler(request):
        return httpx.Response(200, content=ok("vector", [], warnings=["partial"], infos=["i"]))

    with mock_client(handler) as c, pytest.warns(cs.PrometheusWarning) as record:
        c.query("x")
    assert [str(w.message).split(":")[0] for w in record] == ["Prometheus warning", "Prometheus info"]


def test_import_does_not_need_httpx():
    code = ("import sys; sys.modules['httpx'] = None; import canarystats; "
            "assert canarystats.PrometheusClient; print('ok')")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


# --------------------------------------------------------------------------- observe, mocked


def test_observe_missing_candidate_and_zero_denominator():
    def handler(request):
        # The baseline served nothing (increases 0); the candidate has no series at all.
        return httpx.Response(200, content=ok("vector", [
            {"metric": {"destination_workload": "reviews-v2"}, "value": [1, "0"]}]))  # fmt: skip

    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    with mock_client(handler) as c:
        obs = cs.observe(c, spec, start=0, at=30)
    lat = obs["iter8_latency"]
    assert lat.count[0] == 0.0
    assert math.isnan(lat.count[1])
    assert np.isnan(lat.value).all()  # 0/0 and absent: missing, never a pass


def test_service_observer_builds_iter8_observations():
    def handler(request):
        q = request.url.params["query"]
        assert 'app="v1"' in q
        assert 'app="v3"' in q
        assert request.url.params["time"] == "1591012920.000"
        value = "5" if "response_code" in q else "100"
        if "duration" in q:
            value = "20" if "_sum" in q else "100"
        return httpx.Response(200, content=ok("vector", [
            {"metric": {"app": w}, "value": [1, value]} for w in ("v1", "v3")]))  # fmt: skip

    body = {
        "baseline": {"start_time": "2020-06-01T12:00:00Z", "tags": {"app": "v1"}},
        "candidate": {"start_time": "2020-06-01T12:00:00Z", "tags": {"app": "v3"}},
        "traffic_control": {"success_criteria": [
            {"metric_name": "iter8_error_rate"}, {"metric_name": "iter8_latency"}]},
    }  # fmt: skip
    with mock_client(handler) as c:
        hook = service_observer(c, now=lambda: 1591012800.0 + 120)
        got = hook(body)
    assert got["baseline"] == [{"sample_size": 100.0, "value": 0.05},
                               {"sample_size": 100.0, "value": 0.2}]  # fmt: skip
    assert got["candidate"] == got["baseline"]


def test_docs_prometheus_examples():
    import doctest
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "prometheus.md"
    result = doctest.testfile(str(doc), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 1


# --------------------------------------------------------------------------- bulk matrix path


def _same(a, b):
    """Both results hold the same series, bit for bit (NaN payloads aside)."""
    assert (a.result_type, a.warnings, a.infos) == (b.result_type, b.warnings, b.infos)
    assert len(a.series) == len(b.series)
    for x, y in zip(a.series, b.series, strict=True):
        assert x.labels == y.labels
        assert x.histograms == y.histograms
        np.testing.assert_array_equal(x.histogram_timestamps, y.histogram_timestamps)
        for u, v in ((x.timestamps, y.timestamps), (x.samples, y.samples)):
            assert u.dtype == v.dtype == np.float64
            assert u.shape == v.shape
            nan = np.isnan(u)
            np.testing.assert_array_equal(nan, np.isnan(v))
            np.testing.assert_array_equal(u[~nan].view(np.uint64), v[~nan].view(np.uint64))


def _outcome(parse):
    try:
        return parse()
    except cs.PrometheusError as exc:
        return f"error:{exc.error_type}"


def _reference(body):
    """json.loads, then the per-sample path: what the bulk path must agree with."""
    try:
        obj = json.loads(body)
    except ValueError:
        return "error:bad_response"
    return _outcome(lambda: parse_response(obj))


def _agree(body):
    got, ref = _outcome(lambda: parse_response(body)), _reference(body)
    if isinstance(ref, str) or isinstance(got, str):
        assert got == ref, body[:300]
    else:
        _same(got, ref)
    return got


SPECIALS = ["NaN", "+Inf", "-Inf", "1e+06", "-2.5E-3", "0", "-0", "5e-324", "2.2250738585072014e-308",
            "1.7976931348623157e+308", "1e999", "-1e999", "123456789012345678901234567890",
            "0.1", "3.0000000000000004", "9007199254740993", "1E5", "+1", "nan", "-nan",
            "4.35", "1e-400"]  # fmt: skip


def test_bulk_matrix_special_values_equal_json():
    result = [
        {"metric": {"__name__": "x", "v": 'a"values":[[1,"2"]]'}, "values": [
            [1591012800 + i, v] for i, v in enumerate(SPECIALS)]},
        {"metric": {"v": "b"}, "values": []},
        {"metric": {"v": "c"}},
        {"metric": {"v": "d"}, "values": [[1591012800.123, "1"], [0, "2"], [1e3, "3"],
                                          [12345678901234567890123, "4"]]},
        {"metric": {"v": "e"}, "values": [[1, "7"]], "histograms": [[1, {"count": "1", "sum": "2"}]]},
    ]  # fmt: skip
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}},
                      separators=(",", ":")).encode()  # fmt: skip
    assert _prom._fast_matrix(body) is not None
    got = _agree(body)
    a = got.select({"v": 'a"values":[[1,"2"]]'})
    assert np.isnan(a.samples[0])
    np.testing.assert_array_equal(a.samples[1:3], [math.inf, -math.inf])
    assert math.copysign(1.0, a.samples[SPECIALS.index("-0")]) == -1.0
    assert got.select({"v": "c"}).samples.size == 0
    assert got.select({"v": "d"}).timestamps[0] == 1591012800.123
    assert len(got.select({"v": "e"}).histograms) == 1
    with pytest.raises(cs.DataError, match="outside the datetimes"):
        got.to_frame()  # 12345678901234567890123 s: beyond pandas' datetimes
    frame = attrs.evolve(got, series=got.series[:3]).to_frame()
    assert len(frame) == len(SPECIALS)
    assert frame["value"].isna().sum() == 3


def test_bulk_matrix_random_body_equals_json():
    rng = np.random.default_rng(4)
    result = []
    for i in range(120):
        n = int(rng.integers(0, 400))
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)
        kinds = rng.integers(0, 6, n)
        values = [
            repr(float(v)) if k == 0 else f"{v:g}" if k == 1 else f"{v:.17g}" if k == 2
            else str(int(abs(v) * 1e3) % 10**12) if k == 3 else f"{v:e}" if k == 4
            else ("NaN", "+Inf", "-Inf")[j % 3]
            for j, (v, k) in enumerate(zip(x, kinds, strict=True))
        ]  # fmt: skip
        t = 1591012800 + np.sort(rng.integers(0, 10**7, n)) / 1000
        points = [[int(s) if s == int(s) else float(s), v] for s, v in zip(t, values, strict=True)]
        result.append({"metric": {"pod": f"p{i}", "k": str(i % 3)}, "values": points})
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}},
                      separators=(",", ":")).encode()  # fmt: skip
    assert _prom._fast_matrix(body) is not None
    _same(parse_response(body), parse_response(json.loads(body)))


TIMES = ["1", "0", "1591012800.5", "01", "1.", ".5", "-1", "+1", "1e5", "1E+5", "1.e5", "1e",
         "NaN", "Infinity", '"1"', "true", "null", "1 ", "0x10", "1_0", "", "1.2.3", "--1"]  # fmt: skip
VALUES = ['"1"', '"01"', '"1."', '".5"', '"1e"', '"e5"', '"Infn"', '"Infinity"', '"NaNa"',
          '"1_0"', '" 1"', '""', '"\\u0031"', '"1,2"', '"]]"', "1", "null", '"0x10"',
          '"+-1"', '"1-2"', '"nan"', '"-nan"', '"inf"', '"INF"', '"1.5.3"', "[]", '"1e5e"']  # fmt: skip


@pytest.mark.parametrize("where", ["time", "value"])
def test_bulk_matrix_malformed_tokens_as_json_does(where):
    """Every odd token, in place of a time or a value: the same result or the same error
    as json.loads and the per-sample checks -- never a silent difference."""
    template = ('{"status":"success","data":{"resultType":"matrix","result":['
                '{"metric":{"a":"1"},"values":[[1,"1"],[2,"2"]]},'
                '{"metric":{"a":"2"},"values":[[3,"3"],[%s,%s],[5,"5"]]}]}}')  # fmt: skip
    for token in TIMES if where == "time" else VALUES:
        pair = (token, '"4"') if where == "time" else ("4", token)
        _agree((template % pair).encode())


@pytest.mark.parametrize(
    "body",
    [
        # layouts the bulk path leaves to json.loads
        b'{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, '
        b'"values": [[1, "2"], [3, "4"]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
        b'"values":[[1,"2"]],"values":[[3,"4"]]}]}}',
        b'{"status":"success","data":{"values":[[1,"2"]],"resultType":"matrix","result":[]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"x\\"values":'
        b'"1"},"values":[[1,"2"]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
        b'"x\\"values":[[1,"2"]]}]}}',
        b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},'
        b'"values":[[1,"2"]],"value":[1,"2"]}]}}',
        # malformed bodies
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2",3]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"],]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[[1,"2"]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"][3,"4"]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"],,[3,"4"]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":{"values":[[1,"2"]]}}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]]}]}}x',
        b'\xff{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]]}]}}',
    ],
)  # fmt: skip
def test_bulk_matrix_odd_layouts_as_json_does(body):
    _agree(body)


def test_bulk_matrix_byte_mutations_as_json_does():
    rng = np.random.default_rng(7)
    base = bytearray(ok("matrix", [
        {"metric": {"a": "1"}, "values": [[1591012800, "1.5"], [1591012815.5, "NaN"]]},
        {"metric": {"a": "2"}, "values": [[1591012800, "-Inf"], [1591012815, "2e-3"]]}]))  # fmt: skip
    base = bytearray(json.dumps(json.loads(base), separators=(",", ":")).encode())
    alphabet = b'0123456789.,+-eENaInf[]" x\\'
    for _ in range(400):
        body = bytearray(base)
        for _ in range(int(rng.integers(1, 3))):
            i = int(rng.integers(0, len(body)))
            op = rng.integers(0, 3)
            if op == 0:
                body[i] = alphabet[int(rng.integers(0, len(alphabet)))]
            elif op == 1:
                del body[i]
            else:
                body.insert(i, alphabet[int(rng.integers(0, len(alphabet)))])
        _agree(bytes(body))


def test_replay_prometheus_refuses_quantile_metrics_before_querying():
    def handler(request):
        raise AssertionError("no query expected")

    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    spec = attrs.evolve(spec, criteria=(cs.Criterion(
        metric="iter8_latency_p95", tolerance_type="threshold", tolerance=0.5),))  # fmt: skip
    with mock_client(handler) as c, pytest.raises(cs.DataError, match="observe"):
        cs.replay_prometheus(c, spec, start=0)
