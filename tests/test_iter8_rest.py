"""Iter8's analytics REST contract: ``canarystats.adapters.iter8.assess``.

Reference numbers come from ``reference_cases.json`` (each case names its source) and from
Iter8 v0.2.1's own test suite, iter8-tools/iter8-analytics
``tests/api/analytics/endpoints/analytics_tests.py`` (the file and test are cited next to each
number). ``prometheus_sample_response.json``, which that suite mocks for every query, gives
the baseline ``21.763975`` and the candidate ``19.67701`` for both the sample-size and the
value queries (see ``tests/test_reference_iter8.py``).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    Observations,
    SpecError,
    TrafficControl,
    Verdict,
)
from canarystats.adapters.iter8 import assess, state_from_iter8, state_to_iter8

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference_cases.json").read_text())
# The check_and_increment cases (those with a "strategy" key are epsilon_t_greedy's).
CASES = [c for c in REFERENCE["iter8_check_and_increment"] if "strategy" not in c]

# prometheus_sample_response.json of Iter8 v0.2.1's tests: every query returns these.
SAMPLE = {
    "baseline": {"sample_size": 21.763975, "value": 21.763975},
    "candidate": {"sample_size": 19.67701, "value": 19.67701},
}
NONE = {"sample_size": None, "value": None}


# --------------------------------------------------------------------------- helpers


def criterion_json(**kwargs: Any) -> dict[str, Any]:
    out = {"metric_name": "iter8_error_rate", "is_counter": False, "type": "threshold", "value": 1}
    out.update(kwargs)
    return out


def request_json(
    criteria: list[dict[str, Any]],
    last_state: dict[str, Any] | None = None,
    **traffic_control: Any,
) -> dict[str, Any]:
    return {
        "baseline": {"start_time": "2019-04-24T19:40:32.017Z", "tags": {"app": "reviews-v1"}},
        "candidate": {"start_time": "2019-04-24T19:40:32.017Z", "tags": {"app": "reviews-v3"}},
        "traffic_control": {**traffic_control, "success_criteria": criteria},
        "_last_state": {} if last_state is None else last_state,
    }


def same_for_all(n_criteria: int, observed: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Observations where every criterion's queries return the same numbers."""
    return {v: [dict(observed.get(v, NONE)) for _ in range(n_criteria)] for v in ("baseline", "candidate")}


def case_request(case: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A reference case (shortened field names, see the file's "about") as a REST call."""
    criteria = []
    for i, c in enumerate(case["criteria"]):
        entry = {
            "metric_name": c.get("metric", f"metric_{i}"),
            "is_counter": c["is_counter"],
            "type": c["type"],
            "value": c["tolerance"],
        }
        for key in ("sample_size", "stop_on_failure", "absent_value"):
            if key in c:
                entry[key] = c[key]
        criteria.append(entry)
    last = case.get("last_state")
    last_state = (
        {
            v: {
                "traffic_percentage": last[v]["traffic_percentage"],
                "success_criterion_information": last[v]["info"],
            }
            for v in ("baseline", "candidate")
        }
        if last
        else {}
    )
    request = request_json(criteria, last_state, **(case.get("traffic_control") or {}))
    return request, same_for_all(len(criteria), case["observed"])


def info_of(response: dict[str, Any]) -> dict[str, Any]:
    return {
        v: response["_last_state"][v]["success_criterion_information"]
        for v in ("baseline", "candidate")
    }


# --------------------------------------------------------------------------- reference cases


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["source"])
def test_reference_cases(case: dict[str, Any]) -> None:
    # Source of each case: its "source" field (the test id), in reference_cases.json.
    request, observations = case_request(case)
    response = assess(request, observations)
    expected = case["expected"]
    summary = response["assessment"]["summary"]
    criteria = response["assessment"]["success_criteria"]
    if "baseline_traffic" in expected:
        assert response["baseline"]["traffic_percentage"] == expected["baseline_traffic"]
        assert response["candidate"]["traffic_percentage"] == expected["candidate_traffic"]
        assert response["_last_state"]["candidate"]["traffic_percentage"] == (
            expected["candidate_traffic"]
        )
    if "info" in expected:
        assert info_of(response) == expected["info"]
    if "all_met" in expected:
        assert summary["all_success_criteria_met"] is expected["all_met"]
    if "met" in expected:
        assert criteria[0]["success_criterion_met"] is expected["met"]
    if "abort" in expected:
        assert summary["abort_experiment"] is expected["abort"]
        assert criteria[0]["abort_experiment"] is expected["abort"]


def test_iter8_no_change_case_gives_iter8s_last_state() -> None:
    # analytics_tests.py, test_payload_canary_check_and_increment, "Test request with no
    # change observed wrt sample size or metric parameters": the whole _last_state is asserted.
    request = request_json(
        [
            criterion_json(
                metric_name="iter8_error_rate",
                absent_value="0.0",
                type="delta",
                value=0.02,
                sample_size=0,
                stop_on_failure=False,
            )
        ],
        {
            "baseline": {"traffic_percentage": 75, "success_criterion_information": [[0, 0]]},
            "candidate": {"traffic_percentage": 25, "success_criterion_information": [[0, 0]]},
        },
    )
    response = assess(request, same_for_all(1, SAMPLE))
    assert response["_last_state"] == {
        "baseline": {"traffic_percentage": 73.0, "success_criterion_information": [[21, 21.764]]},
        "candidate": {"traffic_percentage": 27, "success_criterion_information": [[19, 19.677]]},
    }
    # the numbers Iter8 fetched (rounded as float('%.3f' % x))
    assert response["baseline"]["metrics"][0]["statistics"] == {
        "sample_size": 21.764,
        "value": 21.764,
    }
    assert response["candidate"]["metrics"][0]["statistics"] == {
        "sample_size": 19.677,
        "value": 19.677,
    }


def test_iter8_counter_threshold_crossing_aborts() -> None:
    # analytics_tests.py, test_payload_canary_check_and_increment, "Test request threshold
    # crossing in a counter metric": abort_experiment and not all_success_criteria_met
    # (19.677 > 18 on a counter, sample_size 0, no absent_value, _last_state {}).
    request = request_json(
        [
            criterion_json(
                metric_name="iter8_error_count",
                is_counter=True,
                type="threshold",
                value=18,
                sample_size=0,
                stop_on_failure=False,
            )
        ]
    )
    summary = assess(request, same_for_all(1, SAMPLE))["assessment"]["summary"]
    assert summary["abort_experiment"] is True
    assert summary["all_success_criteria_met"] is False


def test_iter8_delta_on_a_counter_is_an_error() -> None:
    # analytics_tests.py, test_payload_canary_check_and_increment, "Test request delta
    # criterion with counter metric": Iter8 answered "Delta criterion cannot be used with
    # counter metric." (a ValueError); canarystats raises SpecError, a ValueError.
    request = request_json(
        [criterion_json(metric_name="iter8_error_count", is_counter=True, type="delta", value=0.5, sample_size=0)]
    )
    with pytest.raises(ValueError, match="counter"):
        assess(request, same_for_all(1, SAMPLE))
    # whatever the data: even without any observation
    with pytest.raises(SpecError, match=r"success_criteria\[0\]\.type"):
        assess(request, same_for_all(1, {}))


@pytest.mark.parametrize("absent_value", ["0.0", "None"])
def test_iter8_no_data_from_prometheus_is_answered(absent_value: str) -> None:
    # analytics_tests.py, test_no_data_from_prometheus: with no data at all, both the
    # iter8_error_rate delta (absent_value "0.0") and the iter8_latency delta (absent_value
    # "None") get HTTP 200. Missing sample sizes read 0 (sufficient for sample_size 0).
    request = request_json(
        [criterion_json(type="delta", value=0.02, sample_size=0, absent_value=absent_value)]
    )
    response = assess(request, same_for_all(1, {}))
    met = response["assessment"]["success_criteria"][0]["success_criterion_met"]
    assert met is (absent_value == "0.0")  # 0.0 <= 1.02 * 0.0; None fails
    assert response["candidate"]["traffic_percentage"] == 2.0  # the first call increments
    assert response["candidate"]["metrics"][0]["statistics"] == {
        "sample_size": 0.0,
        "value": 0.0 if absent_value == "0.0" else None,
    }
    assert info_of(response)["candidate"] == [[0, 0.0 if absent_value == "0.0" else None]]


def test_iter8_baseline_failing_conclusion() -> None:
    # analytics_tests.py, test_baseline_failing_success_criteria asserts that Iter8 concludes
    # "The baseline version did not meet success criteria" when the candidate fails on enough
    # data and the baseline, with enough data, fails a threshold too (numbers here are ours).
    crits = [criterion_json(type="threshold", value=2, sample_size=2)]
    last = {
        "baseline": {"traffic_percentage": 98.0, "success_criterion_information": [[1, 0.0]]},
        "candidate": {"traffic_percentage": 2, "success_criterion_information": [[1, 0.0]]},
    }
    obs = {"baseline": [{"sample_size": 10, "value": 4}], "candidate": [{"sample_size": 10, "value": 5}]}
    conclusions = assess(request_json(crits, last), obs)["assessment"]["summary"]["conclusions"]
    assert "The baseline does not meet the success criteria either." in conclusions
    obs["baseline"][0]["value"] = 1
    conclusions = assess(request_json(crits, last), obs)["assessment"]["summary"]["conclusions"]
    assert "The baseline does not meet the success criteria either." not in conclusions


# --------------------------------------------------------------------------- the quirks


def test_nan_with_absent_value_zero_passes() -> None:
    # DESIGN.md fine print: a missing value takes absent_value "0.0", so missing error data
    # passes in Iter8.
    crits = [criterion_json(type="threshold", value=0.01, sample_size=10)]
    obs = {
        "baseline": [{"sample_size": 100, "value": 0.0}],
        "candidate": [{"sample_size": 50, "value": math.nan}],
    }
    response = assess(request_json(crits), obs)
    assert response["assessment"]["success_criteria"][0]["success_criterion_met"] is True
    assert response["candidate"]["metrics"][0]["statistics"]["value"] == 0.0
    obs["candidate"][0]["value"] = None
    assert assess(request_json(crits), obs)["assessment"]["summary"]["all_success_criteria_met"]


def test_missing_sample_size_reads_zero() -> None:
    crits = [criterion_json(type="threshold", value=1.0, sample_size=0)]
    for missing in (None, math.nan):
        obs = {"baseline": [NONE], "candidate": [{"sample_size": missing, "value": 0.5}]}
        response = assess(request_json(crits), obs)
        assert response["candidate"]["metrics"][0]["statistics"]["sample_size"] == 0.0
        assert response["assessment"]["success_criteria"][0]["success_criterion_met"] is True
        assert info_of(response)["candidate"] == [[0, 0.5]]


def test_first_assessment_increments_even_when_it_aborts() -> None:
    crits = [criterion_json(metric_name="iter8_error_count", is_counter=True, value=2, sample_size=5)]
    obs = {"baseline": [{"sample_size": 40, "value": 0}], "candidate": [{"sample_size": 12, "value": 3}]}
    response = assess(request_json(crits, step_size=20), obs)
    assert response["assessment"]["summary"]["abort_experiment"] is True
    assert response["candidate"]["traffic_percentage"] == 20.0
    assert response["baseline"]["traffic_percentage"] == 80.0
    # a later failing assessment holds
    later = assess(request_json(crits, response["_last_state"], step_size=20), {
        "baseline": [{"sample_size": 80, "value": 0}], "candidate": [{"sample_size": 30, "value": 9}]
    })
    assert later["candidate"]["traffic_percentage"] == 20.0


def test_posting_the_returned_state_again_holds_traffic() -> None:
    crits = [criterion_json(type="delta", value=0.02, sample_size=0)]
    first = assess(request_json(crits), same_for_all(1, {}))  # no data yet
    assert first["candidate"]["traffic_percentage"] == 2.0
    second = assess(request_json(crits, first["_last_state"]), same_for_all(1, SAMPLE))
    assert second["candidate"]["traffic_percentage"] == 4.0  # all met: +2
    third = assess(request_json(crits, second["_last_state"]), same_for_all(1, SAMPLE))
    assert third["candidate"]["traffic_percentage"] == 4.0  # no change observed: hold
    assert third["_last_state"] == second["_last_state"]
    assert any("No change" in c for c in third["assessment"]["summary"]["conclusions"])
    # the state survives a trip through JSON text
    fourth = assess(
        request_json(crits, json.loads(json.dumps(third["_last_state"]))), same_for_all(1, SAMPLE)
    )
    assert fourth == third


def test_traffic_is_capped_and_baseline_is_100_minus_candidate() -> None:
    crits = [criterion_json(type="threshold", value=1.0, sample_size=0)]
    last = {
        "baseline": {"traffic_percentage": 53.3, "success_criterion_information": [[1, 0.5]]},
        "candidate": {"traffic_percentage": 46.7, "success_criterion_information": [[1, 0.5]]},
    }
    obs = {"baseline": [NONE], "candidate": [{"sample_size": 5, "value": 0.5}]}
    response = assess(request_json(crits, last, step_size=5, max_traffic_percent=50), obs)
    assert response["candidate"]["traffic_percentage"] == 50.0
    assert response["baseline"]["traffic_percentage"] == 100.0 - 50.0


def test_observations_in_the_request_body() -> None:
    crits = [criterion_json(type="delta", value=0.02, sample_size=0)]
    request = {**request_json(crits), "observations": same_for_all(1, SAMPLE)}
    assert assess(request) == assess(request_json(crits), same_for_all(1, SAMPLE))
    # an explicit argument wins over the body
    assert assess(request, same_for_all(1, {})) == assess(request_json(crits), same_for_all(1, {}))


def test_entries_beyond_the_criteria_are_given_back() -> None:
    # Iter8 kept every posted success_criterion_information entry and returned it.
    crits = [criterion_json(type="threshold", value=1.0, sample_size=0)]
    last = {
        "baseline": {"traffic_percentage": 98, "success_criterion_information": [[1, 0.5], [7, None]]},
        "candidate": {"traffic_percentage": 2, "success_criterion_information": [[1, 0.5], [3, 1.5]]},
    }
    obs = {"baseline": [{"sample_size": 4, "value": 0.5}], "candidate": [{"sample_size": 4, "value": 0.5}]}
    response = assess(request_json(crits, last), obs)
    assert info_of(response) == {"baseline": [[4, 0.5], [7, None]], "candidate": [[4, 0.5], [3, 1.5]]}


def test_duplicate_metric_names_keep_their_own_observations() -> None:
    crits = [
        criterion_json(metric_name="iter8_latency", type="threshold", value=0.2, sample_size=0),
        criterion_json(metric_name="iter8_latency", type="delta", value=0.1, sample_size=0),
    ]
    obs = {
        "baseline": [{"sample_size": 10, "value": 0.1}, {"sample_size": 10, "value": 0.1}],
        "candidate": [{"sample_size": 10, "value": 0.15}, {"sample_size": 10, "value": 0.3}],
    }
    response = assess(request_json(crits), obs)
    met = [c["success_criterion_met"] for c in response["assessment"]["success_criteria"]]
    assert met == [True, False]
    assert [c["metric_name"] for c in response["assessment"]["success_criteria"]] == [
        "iter8_latency",
        "iter8_latency",
    ]


def test_without_criteria_iter8_holds_traffic() -> None:
    # With no success criteria, Iter8's analytics never saw a change: it held the traffic.
    response = assess(request_json([]), {"baseline": [], "candidate": []})
    assert response["candidate"]["traffic_percentage"] == 0.0
    assert response["assessment"]["summary"]["all_success_criteria_met"] is True
    assert response["_last_state"]["candidate"]["success_criterion_information"] == []


def test_response_is_plain_json() -> None:
    crits = [criterion_json(type="delta", value=0.02, sample_size=0), criterion_json(value=5)]
    response = assess(request_json(crits), same_for_all(2, SAMPLE))
    assert json.loads(json.dumps(response, allow_nan=False)) == response
    summary = response["assessment"]["summary"]
    assert set(summary) == {
        "all_success_criteria_met",
        "abort_experiment",
        "sample_size_sufficient",
        "conclusions",
    }
    assert all(isinstance(c, str) for c in summary["conclusions"])
    for item in response["assessment"]["success_criteria"]:
        assert set(item) == {
            "metric_name",
            "success_criterion_met",
            "abort_experiment",
            "sample_size_sufficient",
            "conclusions",
        }


def test_request_is_not_modified() -> None:
    request, observations = case_request(CASES[0])
    before = copy.deepcopy((request, observations))
    assess(request, observations)
    assert (request, observations) == before


# --------------------------------------------------------------------------- chaining == core


ABSENT_VALUES = ["0.0", "None", "1.5"]


@st.composite
def criteria_strategy(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["threshold", "delta"]))
        out.append(
            {
                "metric_name": f"m{i}",
                "is_counter": kind == "threshold" and draw(st.booleans()),
                "type": kind,
                "value": draw(st.sampled_from([0.0, 0.05, 0.5, 1.0, 2.0, 10.0])),
                "sample_size": draw(st.sampled_from([0, 1, 5, 10, 20])),
                "stop_on_failure": draw(st.booleans()),
                "absent_value": draw(st.sampled_from(ABSENT_VALUES)),
            }
        )
    return out


number = st.one_of(
    st.none(),
    st.just(math.nan),
    st.sampled_from([0.0, 9.9996, 10.0, 0.2525, 1.0005]),
    st.floats(0, 30, allow_nan=False).map(lambda x: round(x, 4)),
)
entry = st.fixed_dictionaries({"sample_size": number, "value": number})


def to_core(crits: list[dict[str, Any]], max_iterations: int, tc: dict[str, Any]) -> ExperimentSpec:
    return ExperimentSpec(
        name="chain",
        target_service="s",
        baseline="b",
        candidate="c",
        traffic_control=TrafficControl(max_iterations=max_iterations, **tc),
        criteria=[
            Criterion(
                metric=c["metric_name"],
                tolerance_type=c["type"],
                tolerance=c["value"],
                sample_size=c["sample_size"],
                stop_on_failure=c["stop_on_failure"],
                is_counter=c["is_counter"],
                absent_value=c["absent_value"],
                missing="iter8",
            )
            for c in crits
        ],
    )


def core_observations(crits: list[dict[str, Any]], obs: dict[str, Any]) -> dict[str, Observations]:
    def num(x: Any) -> float:
        return math.nan if x is None else float(x)

    return {
        c["metric_name"]: Observations(
            count=[num(obs[v][i]["sample_size"]) for v in ("baseline", "candidate")],
            value=[num(obs[v][i]["value"]) for v in ("baseline", "candidate")],
        )
        for i, c in enumerate(crits)
    }


def iter8_info(info: Any) -> dict[str, list[list[Any]]]:
    return oracle.info_lists(np.asarray(info))


@given(
    crits=criteria_strategy(),
    tc=st.fixed_dictionaries(
        {"step_size": st.sampled_from([2.0, 5.0, 20.0, 33.3]), "max_traffic_percent": st.sampled_from([50.0, 80.0, 100.0])}
    ),
    data=st.data(),
)
def test_chaining_assess_equals_the_core(crits: list[dict[str, Any]], tc: dict[str, Any], data: st.DataObject) -> None:
    n = len(crits)
    calls = data.draw(
        st.lists(
            st.fixed_dictionaries(
                {"baseline": st.lists(entry, min_size=n, max_size=n), "candidate": st.lists(entry, min_size=n, max_size=n)}
            ),
            min_size=1,
            max_size=6,
        )
    )
    # A call may repeat the previous observations (no change observed: hold).
    calls = [calls[k - 1] if k and data.draw(st.booleans()) else c for k, c in enumerate(calls)]
    # Iter8's analytics has no max_iterations: the spec's covers every call.
    spec = to_core(crits, len(calls) - 1, tc)
    run = cs.run_experiment(
        spec, lambda k, window, routed: core_observations(crits, calls[k]), batch_shape=()
    )
    state = cs.initial_state(spec, ())
    last_state: dict[str, Any] = {}
    oracle_state: dict[str, Any] | None = None
    first_abort = None
    for k, obs in enumerate(calls):
        response = assess(request_json(crits, last_state, **tc), obs)
        summary = response["assessment"]["summary"]
        traffic = [response["baseline"]["traffic_percentage"], response["candidate"]["traffic_percentage"]]
        # the oracle (a plain re-statement of Iter8's rules) at every call, aborts included
        want = oracle.check_and_increment(
            [{**c, "metric": c["metric_name"], "tolerance": c["value"]} for c in crits],
            tc,
            oracle_state,
            [{v: (obs[v][i]["sample_size"], obs[v][i]["value"]) for v in ("baseline", "candidate")} for i in range(n)],
        )
        oracle_state = want["state"]
        assert traffic == [want["baseline_traffic"], want["candidate_traffic"]]
        assert info_of(response) == want["info"]
        assert summary["all_success_criteria_met"] is want["all_met"]
        assert summary["abort_experiment"] is want["abort_experiment"]
        assert [c["success_criterion_met"] for c in response["assessment"]["success_criteria"]] == want["met"]
        assert [c["sample_size_sufficient"] for c in response["assessment"]["success_criteria"]] == want["sufficient"]
        # repeated core steps, and the core runner, until the controller stops (an abort)
        if not bool(state.done):
            state, result = cs.step(spec, state, core_observations(crits, obs))
            assert traffic == result.traffic.tolist()
            assert info_of(response) == iter8_info(state.info)
            assert summary["all_success_criteria_met"] is bool(result.all_passed)
            assert summary["abort_experiment"] is bool(result.abort)
            assert [c["success_criterion_met"] for c in response["assessment"]["success_criteria"]] == [
                v == Verdict.PASS for v in result.verdicts.tolist()
            ]
            assert run.steps[k].traffic.tolist() == traffic
            assert iter8_info(run.states[k].info) == info_of(response)
            assert bool(run.steps[k].abort) is summary["abort_experiment"]
        if summary["abort_experiment"] and first_abort is None:
            first_abort = k
        last_state = json.loads(json.dumps(response["_last_state"]))
    # the runner stops at the first abort, as Iter8's controller did
    assert len(run.steps) == (len(calls) if first_abort is None else first_abort + 1)


# --------------------------------------------------------------------------- errors


GOOD = criterion_json(type="threshold", value=1.0, sample_size=0)
OBS1 = same_for_all(1, SAMPLE)


def with_criterion(**changes: Any) -> dict[str, Any]:
    c = {**GOOD, **changes}
    return request_json([{k: v for k, v in c.items() if v is not ...}])


LAST = {
    "baseline": {"traffic_percentage": 98, "success_criterion_information": [[1, 0.5]]},
    "candidate": {"traffic_percentage": 2, "success_criterion_information": [[1, 0.5]]},
}


def with_last(path: list[Any], value: Any) -> dict[str, Any]:
    last = copy.deepcopy(LAST)
    node: Any = last
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return request_json([GOOD], last)


BAD_REQUESTS = [
    (["not", "a", "mapping"], r"`request` must be a mapping"),
    ({"_last_state": {}}, r"`traffic_control` is required"),
    ({"traffic_control": []}, r"`traffic_control` must be a mapping"),
    ({"traffic_control": {}}, r"`traffic_control.success_criteria` is required"),
    ({"traffic_control": {"success_criteria": {}}}, r"`traffic_control.success_criteria` must be a list"),
    ({"traffic_control": {"success_criteria": [3]}}, r"`traffic_control.success_criteria\[0\]` must be a mapping"),
    ({**request_json([GOOD]), "baseline": "v1"}, r"`baseline` must be a mapping"),
    (with_criterion(metric_name=...), r"`traffic_control.success_criteria\[0\].metric_name` is required"),
    (with_criterion(metric_name=""), r"`traffic_control.success_criteria\[0\].metric_name` must be a non-empty string"),
    # analytics_tests.py, test_payload_canary_check_and_increment: "'is_counter' is a required
    # property", "'No' is not of type 'boolean'", "'normal' is not one of ['delta',
    # 'threshold']", "'value' is a required property", "0 is not of type 'string'"
    (with_criterion(is_counter=...), r"`traffic_control.success_criteria\[0\].is_counter` is required"),
    (with_criterion(is_counter="No"), r"`traffic_control.success_criteria\[0\].is_counter` must be true or false, got 'No'"),
    (with_criterion(type="normal"), r"`traffic_control.success_criteria\[0\].type` must be one of \['threshold', 'delta'\], got 'normal'"),
    (with_criterion(type=...), r"`traffic_control.success_criteria\[0\].type` is required"),
    (with_criterion(value=...), r"`traffic_control.success_criteria\[0\].value` is required"),
    (with_criterion(absent_value=0), r"`traffic_control.success_criteria\[0\].absent_value` must be a string"),
    (with_criterion(value="0.2"), r"`traffic_control.success_criteria\[0\].value` must be a number"),
    (with_criterion(value=True), r"`traffic_control.success_criteria\[0\].value` must be a number"),
    (with_criterion(value=math.inf), r"`traffic_control.success_criteria\[0\].value` must be a finite number"),
    (with_criterion(sample_size="10"), r"`traffic_control.success_criteria\[0\].sample_size` must be a number >= 0"),
    (with_criterion(sample_size=-1), r"`traffic_control.success_criteria\[0\].sample_size` must be a finite number in \[0.0, inf\]"),
    (with_criterion(stop_on_failure="yes"), r"`traffic_control.success_criteria\[0\].stop_on_failure` must be true or false"),
    (with_criterion(confidence="high"), r"`traffic_control.success_criteria\[0\].confidence` must be a number"),
    (with_criterion(type="delta", value=-0.1), r"`traffic_control.success_criteria\[0\].value` of a delta criterion"),
    (with_criterion(is_counter=True, type="delta", value=0.1), r"`traffic_control.success_criteria\[0\].type` 'delta' is not allowed on the counter"),
    (request_json([GOOD], step_size=0), r"`traffic_control.step_size` must be a finite number in \(0.0, 100.0\]"),
    (request_json([GOOD], step_size="2"), r"`traffic_control.step_size` must be a number in \(0, 100\]"),
    (request_json([GOOD], max_traffic_percent=150), r"`traffic_control.max_traffic_percent` must be a finite number in \[0.0, 100.0\]"),
    (request_json([GOOD], ["x"]), r"`_last_state` must be a mapping"),
    (with_last(["candidate"], ...), r"`_last_state.candidate` is required"),
    (with_last(["baseline"], 98), r"`_last_state.baseline` must be a mapping"),
    (with_last(["candidate", "traffic_percentage"], ...), r"`_last_state.candidate.traffic_percentage` is required"),
    (with_last(["candidate", "traffic_percentage"], "2"), r"`_last_state.candidate.traffic_percentage` must be a number"),
    (with_last(["candidate", "traffic_percentage"], math.nan), r"`_last_state.candidate.traffic_percentage` must be a finite number"),
    (with_last(["baseline", "success_criterion_information"], ...), r"`_last_state.baseline.success_criterion_information` is required"),
    (with_last(["baseline", "success_criterion_information"], 5), r"`_last_state.baseline.success_criterion_information` must be a list"),
    (with_last(["baseline", "success_criterion_information", 0], [1]), r"`_last_state.baseline.success_criterion_information\[0\]` must be a pair"),
    (with_last(["baseline", "success_criterion_information", 0, 0], None), r"`_last_state.baseline.success_criterion_information\[0\]\[0\]` must be a number"),
    (with_last(["baseline", "success_criterion_information", 0, 0], math.inf), r"`_last_state.baseline.success_criterion_information\[0\]\[0\]` must be a finite number"),
    (with_last(["candidate", "success_criterion_information", 0, 1], "0.5"), r"`_last_state.candidate.success_criterion_information\[0\]\[1\]` must be a number or null"),
]


@pytest.mark.parametrize(("request_body", "message"), BAD_REQUESTS)
def test_bad_requests_name_the_field(request_body: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        assess(request_body, OBS1)


BAD_OBSERVATIONS = [
    ([], r"`observations` must be a mapping"),
    ({"baseline": OBS1["baseline"]}, r"`observations.candidate` is required"),
    ({**OBS1, "candidate": {"sample_size": 1, "value": 2}}, r"`observations.candidate` must be a list"),
    ({**OBS1, "candidate": []}, r"`observations.candidate` must hold one observation per success criterion \(1\), got 0"),
    ({**OBS1, "baseline": [7]}, r"`observations.baseline\[0\]` must be a mapping"),
    ({**OBS1, "baseline": [{"value": 1.0}]}, r"`observations.baseline\[0\].sample_size` is required"),
    ({**OBS1, "candidate": [{"sample_size": 1.0}]}, r"`observations.candidate\[0\].value` is required"),
    ({**OBS1, "candidate": [{"sample_size": 1.0, "value": "abc"}]}, r"`observations.candidate\[0\].value` must be a number or null, got 'abc'"),
    ({**OBS1, "candidate": [{"sample_size": "12", "value": 1.0}]}, r"`observations.candidate\[0\].sample_size` must be a number or null"),
    ({**OBS1, "candidate": [{"sample_size": False, "value": 1.0}]}, r"`observations.candidate\[0\].sample_size` must be a number or null"),
    ({**OBS1, "candidate": [{"sample_size": math.inf, "value": 1.0}]}, r"`observations.candidate\[0\].sample_size` must be finite"),
]


@pytest.mark.parametrize(("observations", "message"), BAD_OBSERVATIONS)
def test_bad_observations_name_the_field(observations: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        assess(request_json([GOOD]), observations)


def test_the_field_path_counts_criteria() -> None:
    obs = same_for_all(2, SAMPLE)
    obs["candidate"][1] = {"sample_size": 3, "value": [1]}
    with pytest.raises(SpecError, match=r"`observations.candidate\[1\].value`"):
        assess(request_json([GOOD, GOOD]), obs)


def test_observations_are_required_somewhere() -> None:
    with pytest.raises(SpecError, match="no observations"):
        assess(request_json([GOOD]))
    with pytest.raises(SpecError, match="no observations"):
        assess({**request_json([GOOD]), "observations": None})


def test_state_conversion_errors() -> None:
    spec = to_core([{**GOOD, "stop_on_failure": False, "absent_value": "0.0"}], 1, {})
    with pytest.raises(SpecError, match="0-d batch"):
        state_to_iter8(cs.initial_state(spec, (3,)))
    with pytest.raises(SpecError, match="`state` must be a State"):
        state_to_iter8({})  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="`spec` must be an ExperimentSpec"):
        state_from_iter8({}, {})  # type: ignore[arg-type]


def test_garbage_never_escapes_as_another_exception() -> None:
    for body in (None, 3, "x", {"traffic_control": None}, {"traffic_control": {"success_criteria": None}}):
        with pytest.raises(SpecError):
            assess(body, OBS1)  # type: ignore[arg-type]


def test_module_doctests() -> None:
    import doctest

    import canarystats.adapters.iter8_rest as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
