"""The `canarystats assess` command: one Iter8 check_and_increment request, answered as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from canarystats.adapters.iter8 import assess
from canarystats.cli import main

CRITERION = {
    "metric_name": "iter8_error_count",
    "is_counter": True,
    "type": "threshold",
    "value": 2,
    "sample_size": 5,
}
LAST = {
    "baseline": {"traffic_percentage": 98.0, "success_criterion_information": [[1, 0.0]]},
    "candidate": {"traffic_percentage": 2.0, "success_criterion_information": [[1, 0.0]]},
}


def observed(candidate_n: Any, candidate_value: Any) -> dict[str, Any]:
    return {
        "baseline": [{"sample_size": 40, "value": 0}],
        "candidate": [{"sample_size": candidate_n, "value": candidate_value}],
    }


def write(tmp_path: Path, name: str, payload: Any) -> str:
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def request(last_state: Any = None) -> dict[str, Any]:
    return {
        "traffic_control": {"step_size": 10, "success_criteria": [CRITERION]},
        "_last_state": LAST if last_state is None else last_state,
    }


@pytest.mark.parametrize(
    ("candidate", "code"),
    [
        ((12, 1), 0),  # 1 <= 2 on 12 requests: met
        ((3, 9), 3),  # 3 < 5 requests: not met, no abort
        ((12, 3), 4),  # a counter over its threshold: abort
    ],
)
def test_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], candidate: tuple[int, int], code: int
) -> None:
    req = write(tmp_path, "request.json", request())
    obs = write(tmp_path, "observations.json", observed(*candidate))
    got, out, err = run(capsys, "assess", "--request", req, "--observations", obs, "--exit-code")
    assert got == code
    assert err == ""
    response = json.loads(out)
    assert response == assess(request(), observed(*candidate))
    # without --exit-code the command succeeds whatever the verdict
    assert run(capsys, "assess", "--request", req, "--observations", obs)[0] == 0


def test_output_is_iter8s_response(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    req = write(tmp_path, "request.json", request({}))
    obs = write(tmp_path, "observations.json", observed(12, 1))
    code, out, _ = run(capsys, "assess", "--request", req, "--observations", obs)
    assert code == 0
    response = json.loads(out)
    assert response["candidate"]["traffic_percentage"] == 10.0
    assert response["baseline"]["traffic_percentage"] == 90.0
    assert response["assessment"]["summary"]["all_success_criteria_met"] is True
    assert response["_last_state"]["candidate"]["success_criterion_information"] == [[12, 1.0]]


def test_observations_inside_the_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {**request(), "observations": observed(12, 3)}
    req = write(tmp_path, "request.json", body)
    code, out, _ = run(capsys, "assess", "--request", req, "--exit-code")
    assert code == 4
    assert json.loads(out)["assessment"]["summary"]["abort_experiment"] is True


def test_chaining_through_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    last: Any = {}
    traffic = []
    for n in (12, 20, 20):  # the third call repeats the second: no change, traffic holds
        req = write(tmp_path, "request.json", request(last))
        obs = write(tmp_path, "observations.json", observed(n, 1))
        code, out, _ = run(capsys, "assess", "--request", req, "--observations", obs)
        assert code == 0
        response = json.loads(out)
        traffic.append(response["candidate"]["traffic_percentage"])
        last = response["_last_state"]
    assert traffic == [10.0, 20.0, 20.0]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"request": "{not json"}, "`--request` file .* is not valid JSON"),
        ({"request": request(), "observations": "[1,"}, "`--observations` file .* is not valid JSON"),
        ({"request": request()}, "no observations"),
        (
            {"request": request(), "observations": observed(12, "abc")},
            r"`observations.candidate\[0\].value` must be a number or null",
        ),
        (
            {"request": {"traffic_control": {"success_criteria": [{**CRITERION, "type": "normal"}]}},
             "observations": observed(12, 1)},
            r"`traffic_control.success_criteria\[0\].type` must be one of",
        ),
        (
            {"request": {"traffic_control": {"success_criteria": [{**CRITERION, "type": "delta"}]}},
             "observations": observed(12, 1)},
            "not allowed on the counter",
        ),
        ({"request": [1, 2], "observations": observed(12, 1)}, "`request` must be a mapping"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, Any], message: str
) -> None:
    argv = ["assess", "--exit-code"]
    for key, payload in files.items():
        argv += [f"--{key}", write(tmp_path, f"{key}.json", payload)]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("canarystats: error: ")
    assert "Traceback" not in err
    assert re.search(message, lines[0])


def test_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "assess", "--request", str(tmp_path / "nope.json"))
    assert code == 2
    assert err.strip() == f"canarystats: error: `--request` file not found: {str(tmp_path / 'nope.json')!r}"
    req = write(tmp_path, "request.json", request())
    code, _, err = run(capsys, "assess", "--request", req, "--observations", str(tmp_path / "x"))
    assert code == 2
    assert "`--observations` file not found" in err


def test_request_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["assess"])
    assert exc.value.code == 2
    assert "--request" in capsys.readouterr().err
