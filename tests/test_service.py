"""The HTTP service (`canarystats.adapters.service`, `canarystats serve`).

Reference numbers come from tests/reference_cases.json, first `iter8_check_and_increment` case
(source: iter8-tools/iter8-analytics v0.2.1, tests/api/analytics/endpoints/analytics_tests.py,
check_and_increment): 21.763975 baseline and 19.67701 candidate requests and error rates,
delta 0.02, step 2, max 50, last split 75/25 -> 73.0/27 with info [[21, 21.764]] / [[19, 19.677]].
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canarystats.adapters.service import (
    CHECK_AND_INCREMENT_PATHS,
    HEALTH_PATHS,
    OBSERVATIONS_KEY,
    create_app,
)
from canarystats.cli import main

NEW_PATH, OLD_PATH = CHECK_AND_INCREMENT_PATHS
CASES = json.loads((Path(__file__).parent / "reference_cases.json").read_text())
REFERENCE = CASES["iter8_check_and_increment"][0]
ERROR_RATE_QUERY = (
    "sum(increase(istio_requests_total{response_code=~'5..',reporter='source'}[$interval]"
    "$offset_str)) by ($entity_labels) / sum(increase(istio_requests_total{reporter='source'}"
    "[$interval]$offset_str)) by ($entity_labels)"
)
SAMPLE_SIZE_QUERY = (
    "sum(increase(istio_requests_total{reporter='source'}[$interval]$offset_str)) by ($entity_labels)"
)


def _version(workload: str) -> dict[str, Any]:
    return {
        "start_time": "2019-05-01T19:00:02.389Z",
        "end_time": "2019-05-01T19:30:02.389Z",
        "tags": {"destination_service_namespace": "default", "destination_workload": workload},
    }


def _criterion(case_criterion: dict[str, Any]) -> dict[str, Any]:
    """An Iter8 request criterion from a reference case's shortened one ('tolerance' = 'value')."""
    return {
        "metric_name": case_criterion.get("metric", "iter8_error_rate"),
        "metric_type": "Correctness",
        "metric_query_template": ERROR_RATE_QUERY,
        "metric_sample_size_query_template": SAMPLE_SIZE_QUERY,
        "is_counter": case_criterion["is_counter"],
        "absent_value": "0.0",
        "type": case_criterion["type"],
        "value": case_criterion["tolerance"],
        "sample_size": case_criterion["sample_size"],
        "stop_on_failure": case_criterion.get("stop_on_failure", False),
    }


def _observed(case: dict[str, Any], version: str) -> list[dict[str, Any]]:
    obs = case["observed"][version]
    return [{"sample_size": obs["sample_size"], "value": obs["value"]} for _ in case["criteria"]]


def reference_body() -> dict[str, Any]:
    """The reference case as the Iter8 controller POSTed it, observations in the body."""
    case = copy.deepcopy(REFERENCE)
    last = case["last_state"]
    return {
        "baseline": _version("reviews-v1"),
        "candidate": _version("reviews-v2"),
        "traffic_control": {
            **case["traffic_control"],
            "success_criteria": [_criterion(c) for c in case["criteria"]],
        },
        "_last_state": {
            v: {
                "traffic_percentage": last[v]["traffic_percentage"],
                "success_criterion_information": last[v]["info"],
            }
            for v in ("baseline", "candidate")
        },
        OBSERVATIONS_KEY: {v: _observed(case, v) for v in ("baseline", "candidate")},
    }


def post(client: TestClient, body: Any, path: str = NEW_PATH) -> Any:
    """POST ``body`` as Python's json writes it (NaN and Infinity literals included)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=content, headers={"content-type": "application/json"})


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def _assert_bad_request(response: Any, *fragments: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    payload: dict[str, Any] = response.json()
    for fragment in fragments:
        assert fragment in payload["message"], payload
    return payload


# --------------------------------------------------------------------------------------------
# the app and its import


@pytest.mark.parametrize("path", HEALTH_PATHS)
def test_health(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "OK"}


def test_paths_are_iter8s() -> None:
    assert CHECK_AND_INCREMENT_PATHS == (
        "/api/v1/experiment/check_and_increment",
        "/api/v1/analytics/canary/check_and_increment",
    )
    assert "/api/v1/health/health_check" in HEALTH_PATHS
    routes = {(r.path, m) for r in create_app().routes for m in getattr(r, "methods", ())}
    assert {(p, "POST") for p in CHECK_AND_INCREMENT_PATHS} <= routes
    assert {(p, "GET") for p in HEALTH_PATHS} <= routes


def test_importing_canarystats_does_not_import_the_service_or_fastapi() -> None:
    code = (
        "import sys, canarystats, canarystats.adapters.iter8, canarystats.cli\n"
        "assert 'fastapi' not in sys.modules, 'fastapi'\n"
        "assert 'canarystats.adapters.service' not in sys.modules, 'service'\n"
        "import canarystats.adapters.service\n"
        "assert 'fastapi' not in sys.modules, 'fastapi at service import'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_serve_without_the_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` fails
    assert main(["serve", "--port", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    # the hint works for this installation: the package name, or the checkout it came from
    hint = err.strip().split("extra: ", 1)[1]
    assert hint.startswith("pip install '")
    assert hint.endswith("[service]'")
    target = hint[len("pip install '"):-len("[service]'")]
    if target != "canarystats":
        assert 'name = "canarystats"' in (Path(target).resolve() / "pyproject.toml").read_text()


# --------------------------------------------------------------------------------------------
# bodies that never reach the assessment


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        pytest.param(b"", ("empty",), id="empty"),
        pytest.param(b"   \n", ("empty",), id="blank"),
        pytest.param(b"{'baseline': 1}", ("not valid JSON",), id="not-json"),
        pytest.param(b"\xff\xfe{}", ("not UTF-8",), id="not-utf8"),
        pytest.param(b"[1, 2]", ("JSON object", "array"), id="array"),
        pytest.param(b'"check"', ("JSON object", "string"), id="string"),
        pytest.param(b"null", ("JSON object", "null"), id="null"),
        pytest.param(b"3.5", ("JSON object", "number"), id="number"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, ("nested too deeply",), id="deep"),
        pytest.param(b'{"a": ' + b"9" * 5000 + b"}", ("not valid JSON",), id="huge-int"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client: TestClient, content: bytes, fragments: tuple[str, ...]
) -> None:
    payload = _assert_bad_request(post(client, content), *fragments)
    assert payload["error"] == "BadBody"


def test_missing_observations_is_a_bad_request_naming_the_key(client: TestClient) -> None:
    body = reference_body()
    del body[OBSERVATIONS_KEY]
    _assert_bad_request(post(client, body), "`observations`")


def test_a_body_over_the_limit_is_refused() -> None:
    small = TestClient(create_app(max_body_bytes=100))
    response = post(small, {"padding": "x" * 200})
    assert response.status_code == 413
    assert "100 bytes" in response.json()["message"]


def test_wrong_method_and_unknown_path_are_not_500(client: TestClient) -> None:
    assert client.get(NEW_PATH).status_code == 405
    assert post(client, {}, "/api/v1/experiment/nope").status_code == 404


# --------------------------------------------------------------------------------------------
# through assess


def test_reference_case_through_http(client: TestClient) -> None:
    response = post(client, reference_body())
    assert response.status_code == 200, response.text
    out = response.json()
    expected = REFERENCE["expected"]
    assert out["baseline"]["traffic_percentage"] == expected["baseline_traffic"]
    assert out["candidate"]["traffic_percentage"] == expected["candidate_traffic"]
    assert out["assessment"]["summary"]["all_success_criteria_met"] is expected["all_met"]
    assert out["assessment"]["summary"]["abort_experiment"] is expected["abort"]
    for version in ("baseline", "candidate"):
        info = out["_last_state"][version]["success_criterion_information"]
        assert info == expected["info"][version]
    assert "warnings" not in out


def test_both_paths_give_the_same_response(client: TestClient) -> None:
    body = reference_body()
    new, old = post(client, body, NEW_PATH), post(client, body, OLD_PATH)
    assert new.status_code == old.status_code == 200
    assert new.json() == old.json()


def test_trailing_slash_is_served(client: TestClient) -> None:
    # Iter8's Flask app served its paths with or without a trailing slash.
    assert post(client, reference_body(), NEW_PATH + "/").json() == post(client, reference_body()).json()


def test_chaining_last_state(client: TestClient) -> None:
    body = reference_body()
    body["_last_state"] = {}
    # first call: Iter8's first iteration increments whatever the verdict
    first = post(client, body).json()
    assert first["candidate"]["traffic_percentage"] == 2
    assert first["baseline"]["traffic_percentage"] == 98.0
    # same data again: nothing changed, so the split holds
    second_body = {**body, "_last_state": first["_last_state"]}
    second = post(client, second_body).json()
    assert second["candidate"]["traffic_percentage"] == 2
    # more data that still passes the delta: one more step
    third_body = copy.deepcopy(second_body)
    third_body["_last_state"] = second["_last_state"]
    third_body[OBSERVATIONS_KEY] = {
        "baseline": [{"sample_size": 40.0, "value": 0.02}],
        "candidate": [{"sample_size": 30.0, "value": 0.0204}],
    }
    third = post(client, third_body).json()
    assert third["assessment"]["summary"]["all_success_criteria_met"] is True
    assert third["candidate"]["traffic_percentage"] == 4
    assert third["baseline"]["traffic_percentage"] == 96.0
    assert third["_last_state"]["candidate"]["success_criterion_information"] == [[30, 0.02]]


def _bad_traffic_control(body: dict[str, Any]) -> None:
    del body["traffic_control"]


def _ratio_criterion(body: dict[str, Any]) -> None:
    body["traffic_control"]["success_criteria"][0]["type"] = "ratio"


def _delta_on_counter(body: dict[str, Any]) -> None:
    body["traffic_control"]["success_criteria"][0]["is_counter"] = True


def _non_numeric_value(body: dict[str, Any]) -> None:
    body[OBSERVATIONS_KEY]["candidate"][0]["value"] = "fast"


def _non_numeric_sample_size(body: dict[str, Any]) -> None:
    body[OBSERVATIONS_KEY]["baseline"][0]["sample_size"] = [1]


def _observations_not_an_object(body: dict[str, Any]) -> None:
    body[OBSERVATIONS_KEY] = [1, 2]


def _one_observation_too_few(body: dict[str, Any]) -> None:
    body[OBSERVATIONS_KEY]["candidate"] = []


def _criteria_not_a_list(body: dict[str, Any]) -> None:
    body["traffic_control"]["success_criteria"] = "iter8_error_rate"


def _step_size_a_string(body: dict[str, Any]) -> None:
    body["traffic_control"]["step_size"] = "two"


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        pytest.param(_bad_traffic_control, ("`traffic_control`",), id="missing-traffic_control"),
        pytest.param(_ratio_criterion, ("`traffic_control.success_criteria[0].type`", "ratio"), id="criterion-type-ratio"),
        pytest.param(_delta_on_counter, ("`traffic_control.success_criteria[0].type`", "delta", "counter"), id="delta-on-counter"),
        pytest.param(_non_numeric_value, ("`observations.candidate[0].value`", "fast"), id="non-numeric-value"),
        pytest.param(_non_numeric_sample_size, ("`observations.baseline[0].sample_size`",), id="non-numeric-sample-size"),
        pytest.param(_observations_not_an_object, ("`observations`",), id="observations-array"),
        pytest.param(_one_observation_too_few, ("`observations.candidate`",), id="too-few-observations"),
        pytest.param(_criteria_not_a_list, ("`traffic_control.success_criteria`",), id="criteria-not-a-list"),
        pytest.param(_step_size_a_string, ("`traffic_control.step_size`",), id="step-size-string"),
    ],
)
def test_bad_requests_name_the_field(client: TestClient, mutate: Any, fragments: tuple[str, ...]) -> None:
    body = reference_body()
    mutate(body)
    for path in CHECK_AND_INCREMENT_PATHS:
        payload = _assert_bad_request(post(client, body, path), *fragments)
        assert payload["error"] in {"SpecError", "ValueError"}, payload


@pytest.mark.parametrize("literal", [math.nan, math.inf, 1e999, -math.inf])
def test_non_finite_observations_never_give_500(client: TestClient, literal: float) -> None:
    for field in ("value", "sample_size"):
        body = reference_body()
        body[OBSERVATIONS_KEY]["candidate"][0][field] = literal
        response = post(client, body)
        assert response.status_code in {200, 400}, response.text
        json.loads(response.text)  # Python's json reads the answer back, Infinity included
        if response.status_code == 400:
            assert field in response.json()["message"]


def test_nan_value_takes_the_absent_value_and_comes_back_as_null(client: TestClient) -> None:
    # Iter8: a NaN value takes `absent_value`; "None" leaves it missing, which fails the criterion.
    body = reference_body()
    body["traffic_control"]["success_criteria"][0]["absent_value"] = "None"
    body[OBSERVATIONS_KEY]["candidate"][0]["value"] = math.nan
    response = post(client, body)
    assert response.status_code == 200, response.text
    assert "NaN" not in response.text
    out = response.json()
    assert out["assessment"]["summary"]["all_success_criteria_met"] is False
    assert out["_last_state"]["candidate"]["success_criterion_information"] == [[19, None]]
    # the null goes back as Iter8's None: same data again is no change, the split holds
    again = post(client, {**body, "_last_state": out["_last_state"]})
    assert again.status_code == 200, again.text
    assert again.json()["candidate"]["traffic_percentage"] == out["candidate"]["traffic_percentage"]


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("traffic_control", "step_size"), 1e999),
        (("traffic_control", "max_traffic_percent"), math.nan),
        (("traffic_control", "success_criteria", 0, "sample_size"), -1),
        (("traffic_control", "success_criteria", 0, "value"), 10**400),
        (("traffic_control", "success_criteria", 0, "absent_value"), 0.0),
        (("traffic_control", "success_criteria", 0, "is_counter"), "yes"),
        ((OBSERVATIONS_KEY, "candidate", 0, "value"), True),
        ((OBSERVATIONS_KEY, "baseline", 0, "sample_size"), 10**400),
        (("_last_state", "candidate", "traffic_percentage"), "25"),
        (("_last_state", "candidate", "success_criterion_information"), [[math.inf, 1.0]]),
        (("_last_state", "baseline", "success_criterion_information"), [[1]]),
        (("_last_state",), []),
        (("baseline",), None),
        (("candidate", "tags"), "reviews-v2"),
    ],
)
def test_edge_values_are_answered_never_500(client: TestClient, where: tuple[Any, ...], value: Any) -> None:
    body = reference_body()
    parent: Any = body
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = value
    response = post(client, body)
    assert response.status_code in {200, 400}, response.text
    if response.status_code == 400:
        assert response.json()["error"] == "SpecError", response.text


def test_docs_request_gives_the_docs_response(client: TestClient) -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "service.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```json\n")[1:]]
    request, response = (json.loads(b) for b in blocks)
    assert post(client, request).json() == response


def test_docs_and_docstring_examples_run() -> None:
    import doctest

    import canarystats.adapters.service as service

    docs = Path(__file__).resolve().parents[1] / "docs" / "service.md"
    result = doctest.testfile(str(docs), module_relative=False)
    assert result.attempted >= 5
    assert result.failed == 0
    result = doctest.testmod(service)
    assert result.attempted >= 2
    assert result.failed == 0


def test_an_unexpected_error_from_bad_input_is_a_logged_400(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import canarystats.adapters.iter8 as iter8

    def assess(request: Any, observations: Any = None) -> Any:
        return request["traffic_control"]["success_criteria"][0]["no such key"]

    monkeypatch.setattr(iter8, "assess", assess)
    payload = _assert_bad_request(post(client, reference_body()), "KeyError", "no such key")
    assert payload["error"] == "KeyError"
    assert any(r.name == "canarystats.service" and r.exc_info for r in caplog.records)


def test_warnings_while_assessing_are_returned(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    import canarystats.adapters.iter8 as iter8
    from canarystats.errors import UnknownFieldWarning

    real = iter8.assess

    def assess(request: Any, observations: Any = None) -> Any:
        warnings.warn("`traffic_control.stepsize` is not a field canarystats knows", UnknownFieldWarning, stacklevel=2)
        return real(request, observations)

    monkeypatch.setattr(iter8, "assess", assess)
    response = post(client, reference_body())
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == ["`traffic_control.stepsize` is not a field canarystats knows"]


def test_a_metrics_backend_supplies_missing_observations() -> None:
    body = reference_body()
    posted = body.pop(OBSERVATIONS_KEY)
    seen: list[dict[str, Any]] = []

    def observe(request: Any) -> Any:
        seen.append(dict(request))
        return posted

    with_backend = TestClient(create_app(observe=observe))
    response = post(with_backend, body)
    assert response.status_code == 200, response.text
    assert seen
    assert seen[0]["candidate"]["tags"]["destination_workload"] == "reviews-v2"
    assert response.json() == post(with_backend, reference_body()).json()  # the body wins


def test_a_failing_metrics_backend_is_a_bad_gateway() -> None:
    def observe(request: Any) -> Any:
        raise ConnectionError("prometheus at 127.0.0.1:9 refused the connection")

    body = reference_body()
    del body[OBSERVATIONS_KEY]
    response = post(TestClient(create_app(observe=observe)), body)
    assert response.status_code == 502
    assert "refused" in response.json()["message"]


# --------------------------------------------------------------------------------------------
# garbage in, never a 500

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["threshold", "delta", "ratio", "None", "0.0", "nan", "1e999", ""])
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "baseline", "candidate", "traffic_control", "_last_state", OBSERVATIONS_KEY,
        "success_criteria", "step_size", "max_traffic_percent", "sample_size", "value", "type",
        "is_counter", "absent_value", "stop_on_failure", "metric_name", "tags", "start_time",
        "traffic_percentage", "success_criterion_information",
    ]
) | st.text(max_size=6)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``obj`` (dict keys and list indices)."""
    found = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def _mutated_reference(draw: st.DrawFn) -> dict[str, Any]:
    """The reference body with one to three of its values replaced, or keys dropped."""
    body = reference_body()
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(body)
        path = draw(st.sampled_from(paths))
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_json)
    return body


_garbage = (
    st.dictionaries(_keys, _json, max_size=6)
    | _mutated_reference()
    | _json
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_garbage)
def test_garbage_never_gives_500(client: TestClient, body: Any) -> None:
    response = post(client, body, NEW_PATH)
    assert response.status_code in {200, 400}, (body, response.text)
    payload = json.loads(response.text)
    if response.status_code == 400:
        assert isinstance(payload["message"], str)
        assert payload["message"]


# --------------------------------------------------------------------------------------------
# the real server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_canarystats_serve_answers_over_http() -> None:
    port = _free_port()
    exe = shutil.which("canarystats")
    cmd = [exe] if exe else [sys.executable, "-m", "canarystats.cli"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20.0
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as reply:
                    assert json.load(reply) == {"status": "OK"}
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server did not come up within 20 s"
                time.sleep(0.1)
        request = urllib.request.Request(
            base + NEW_PATH,
            data=json.dumps(reference_body()).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
            out = json.load(reply)
        assert out["candidate"]["traffic_percentage"] == REFERENCE["expected"]["candidate_traffic"]
        bad = urllib.request.Request(base + OLD_PATH, data=b"not json", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=10)
        assert info.value.code == 400
        assert "not valid JSON" in json.load(info.value)["message"]
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
