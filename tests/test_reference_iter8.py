"""Iter8 v0.1 ``check_and_increment``: reference cases, run through the oracle and canarystats.

Every case is run twice: through ``tests/oracle.py`` (a plain-Python, per-experiment
re-statement of Iter8's rules) and through canarystats (``method="point"``,
``missing="iter8"``), and both must match the numbers Iter8's own tests assert. The source of
every case is in its test id (``reference_cases.json``) or in a comment next to it.

The fine-print tests below cite the rule of ``DESIGN.md`` ("Iter8 v0.1 semantics", fine
print) that each one pins.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle_criteria import criteria_from_oracle

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    InsufficientDataWarning,
    Observations,
    Reason,
    TrafficControl,
    Verdict,
)
from canarystats.registry import get_method
from canarystats.strategies.base import State

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference_cases.json").read_text())

# The check_and_increment cases of the shared reference file (the epsilon-greedy ones, with a
# "strategy" key, belong to the bandit strategies).
SHARED_CASES = [c for c in REFERENCE["iter8_check_and_increment"] if "strategy" not in c]

# More cases read from Iter8 v0.2.1's own test suite (iter8-tools/iter8-analytics). Only the
# numbers its tests assert are used; each case names the file and test.
SAMPLE_RESPONSE = {  # tests/data/prometheus_sample_response.json, mocked for every query
    "baseline": {"sample_size": 21.763975, "value": 21.763975},
    "candidate": {"sample_size": 19.67701, "value": 19.67701},
}
EXTRA_CASES: list[dict[str, Any]] = [
    {
        # analytics_tests.py, test_payload_canary_check_and_increment, "Test request threshold
        # crossing in a counter metric": asserts abort_experiment and not
        # all_success_criteria_met (19.677 > 18 on a counter; no absent_value given).
        "source": "iter8-analytics v0.2.1 analytics_tests.py "
        "test_payload_canary_check_and_increment (counter threshold crossing)",
        "criteria": [
            {
                "metric": "iter8_error_count",
                "is_counter": True,
                "type": "threshold",
                "tolerance": 18,
                "sample_size": 0,
                "stop_on_failure": False,
            }
        ],
        "observed": SAMPLE_RESPONSE,
        "expected": {"all_met": False, "abort": True},
    },
    {
        # successcriteria_tests.py, test_each_criterion: ThresholdCriterion(value 10,
        # sample_size 10) with candidate statistics {'sample_size': 12, 'value': 9}
        # -> success_criterion_met True.
        "source": "iter8-analytics v0.2.1 successcriteria_tests.py test_each_criterion "
        "(threshold, value 9)",
        "criteria": [{"type": "threshold", "tolerance": 10, "is_counter": True, "sample_size": 10}],
        "observed": {"candidate": {"sample_size": 12, "value": 9}},
        "expected": {"met": True, "abort": False},
    },
    {
        # successcriteria_tests.py, test_sample_size: ThresholdCriterion(value 10,
        # sample_size 20), candidate {'sample_size': 10, 'value': 12} -> "Insufficient
        # sample size.", success_criterion_met False.
        "source": "iter8-analytics v0.2.1 successcriteria_tests.py test_sample_size (threshold)",
        "criteria": [
            {"type": "threshold", "tolerance": 10, "is_counter": False, "sample_size": 20}
        ],
        "observed": {"candidate": {"sample_size": 10, "value": 12}},
        "expected": {"met": False, "sufficient": False, "abort": False},
    },
    {
        # successcriteria_tests.py, test_sample_size: DeltaCriterion with the same criterion
        # (sample_size 20), baseline {'sample_size': 12, 'value': 13}, candidate
        # {'sample_size': 10, 'value': 12} -> "Insufficient sample size.", met False.
        "source": "iter8-analytics v0.2.1 successcriteria_tests.py test_sample_size (delta)",
        "criteria": [{"type": "delta", "tolerance": 10, "is_counter": False, "sample_size": 20}],
        "observed": {
            "baseline": {"sample_size": 12, "value": 13},
            "candidate": {"sample_size": 10, "value": 12},
        },
        "expected": {"met": False, "sufficient": False, "abort": False},
    },
]

ALL_CASES = SHARED_CASES + EXTRA_CASES


# --------------------------------------------------------------------------- adapters


def _oracle_criteria(case: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i, c in enumerate(case["criteria"]):
        out.append(
            {
                "metric": c.get("metric", f"metric_{i}"),
                "type": c["type"],
                "tolerance": float(c["tolerance"]),
                "sample_size": float(c.get("sample_size", 10)),
                "stop_on_failure": bool(c.get("stop_on_failure", False)),
                "is_counter": bool(c.get("is_counter", False)),
                "absent_value": c.get("absent_value", "0.0"),
            }
        )
    return out


def _pair(observed: dict[str, Any], version: str) -> tuple[float, float] | None:
    if version not in observed:
        return None
    return (observed[version]["sample_size"], observed[version]["value"])


def _oracle_observed(case: dict[str, Any]) -> list[dict[str, Any]]:
    # The same queries serve every criterion (see the reference file's "about").
    obs = {ver: _pair(case["observed"], ver) for ver in oracle.VERSIONS}
    return [dict(obs) for _ in case["criteria"]]


def _oracle_last_state(case: dict[str, Any]) -> dict[str, Any] | None:
    last = case.get("last_state")
    if not last:
        return None
    return {
        ver: {"traffic_percentage": last[ver]["traffic_percentage"], "info": last[ver]["info"]}
        for ver in oracle.VERSIONS
    }


def _spec(criteria: list[Criterion], traffic_control: dict[str, Any] | None) -> ExperimentSpec:
    tc = traffic_control or {}
    return ExperimentSpec(
        name="reference",
        target_service="reviews",
        baseline="reviews-v1",
        candidate="reviews-v3",
        traffic_control=TrafficControl(
            step_size=tc.get("step_size", 2), max_traffic_percent=tc.get("max_traffic_percent", 50)
        ),
        criteria=criteria,
    )


def _nan(x: Any) -> float:
    return math.nan if x is None else float(x)


def state_from_last(spec: ExperimentSpec, last_state: dict[str, Any] | None) -> State:
    """A 0-d-batch canarystats State holding Iter8's ``_last_state``."""
    if last_state is None:
        return cs.initial_state(spec, ())
    n_crit = len(spec.criteria)
    info = np.full((n_crit, 2, 2), np.nan)
    for v, ver in enumerate(oracle.VERSIONS):
        for i, (n, value) in enumerate(last_state[ver]["info"][:n_crit]):
            info[i, v] = (float(n), _nan(value))
    return State(
        traffic=np.array(
            [
                float(last_state["baseline"]["traffic_percentage"]),
                float(last_state["candidate"]["traffic_percentage"]),
            ]
        ),
        iteration=np.int64(1),
        done=False,
        aborted=False,
        passed=False,
        info=info,
        method_states=tuple(get_method(c.method).init(c, ()) for c in spec.resolved_criteria()),
    )


def _cs_observations(
    crits: list[dict[str, Any]], observed_per_criterion: list[dict[str, Any]]
) -> dict[str, Observations]:
    out = {}
    for c, obs in zip(crits, observed_per_criterion, strict=True):
        pairs = [obs.get(ver) or (None, None) for ver in oracle.VERSIONS]
        out[c["metric"]] = Observations(
            count=[_nan(p[0]) for p in pairs], value=[_nan(p[1]) for p in pairs]
        )
    return out


def cs_check_and_increment(
    crits: list[dict[str, Any]],
    traffic_control: dict[str, Any] | None,
    last_state: dict[str, Any] | None,
    observed: list[dict[str, Any]],
) -> dict[str, Any]:
    """canarystats' answer to one Iter8 REST call, in the oracle's vocabulary."""
    spec = _spec(criteria_from_oracle(crits), traffic_control)
    state = state_from_last(spec, last_state)
    new_state, result = cs.step(spec, state, _cs_observations(crits, observed))
    return {
        "baseline_traffic": float(result.traffic[0]),
        "candidate_traffic": float(result.traffic[1]),
        "info": oracle.info_lists(np.asarray(new_state.info)),
        "met": [bool(v == Verdict.PASS) for v in result.verdicts.tolist()],
        "sufficient": [r != Reason.INSUFFICIENT_SAMPLE for r in result.reasons.tolist()],
        "abort": [bool(a) for a in result.aborts.tolist()],
        "all_met": bool(result.all_passed),
        "abort_experiment": bool(result.abort),
        "changed": bool(result.changed),
    }


def _check_expected(got: dict[str, Any], expected: dict[str, Any]) -> None:
    if "baseline_traffic" in expected:
        assert got["baseline_traffic"] == expected["baseline_traffic"]
        assert got["candidate_traffic"] == expected["candidate_traffic"]
    if "info" in expected:
        assert got["info"] == expected["info"]
    if "all_met" in expected:
        assert got["all_met"] is expected["all_met"]
    if "met" in expected:  # single-criterion cases
        assert got["met"] == [expected["met"]]
    if "sufficient" in expected:
        assert got["sufficient"] == [expected["sufficient"]]
    if "abort" in expected:
        assert got["abort_experiment"] is expected["abort"]


# --------------------------------------------------------------------------- reference cases


def _case_id(case: dict[str, Any]) -> str:
    return case["source"]


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_reference_oracle(case: dict[str, Any]) -> None:
    got = oracle.check_and_increment(
        _oracle_criteria(case),
        case.get("traffic_control"),
        _oracle_last_state(case),
        _oracle_observed(case),
    )
    _check_expected(got, case["expected"])


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_reference_canarystats(case: dict[str, Any]) -> None:
    crits = _oracle_criteria(case)
    got = cs_check_and_increment(
        crits, case.get("traffic_control"), _oracle_last_state(case), _oracle_observed(case)
    )
    _check_expected(got, case["expected"])
    want = oracle.check_and_increment(
        crits, case.get("traffic_control"), _oracle_last_state(case), _oracle_observed(case)
    )
    assert got == {k: want[k] for k in got}


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_reference_evaluate_criterion(case: dict[str, Any]) -> None:
    # The single-criterion entry point agrees with the strategy step.
    (crit,) = criteria_from_oracle(_oracle_criteria(case)[:1])
    obs = _cs_observations(_oracle_criteria(case)[:1], _oracle_observed(case)[:1])
    res = cs.evaluate_criterion(crit, obs[crit.metric])
    want = oracle.check_and_increment(
        _oracle_criteria(case)[:1], None, None, _oracle_observed(case)[:1]
    )
    assert (res.verdict == Verdict.PASS) == want["met"][0]
    assert bool(res.abort) == want["abort"][0]


def test_reference_resubmitting_the_returned_state_holds() -> None:
    # analytics_tests.py (epsilon_t_greedy, "when no change is observed") posts the returned
    # _last_state again with the same Prometheus data and asserts the state is unchanged; the
    # same holds for check_and_increment: the first shared case's answer, posted again.
    (case,) = [c for c in SHARED_CASES if "last_state" in c]
    crits = _oracle_criteria(case)
    first = oracle.check_and_increment(
        crits, case["traffic_control"], _oracle_last_state(case), _oracle_observed(case)
    )
    for impl in (oracle.check_and_increment, cs_check_and_increment):
        again = impl(crits, case["traffic_control"], first["state"], _oracle_observed(case))
        assert again["changed"] is False
        assert again["candidate_traffic"] == 27
        assert again["baseline_traffic"] == 73.0
        assert again["info"] == case["expected"]["info"]


def test_abort_rule_from_iter8_post_process() -> None:
    # successcriteria_tests.py, test_abort_experiment: threshold 0.02, stop_on_failure True,
    # sample_size 0; post_process_test_result({"sample_size_sufficient": False, "success":
    # False}) does not abort; with sufficient True it aborts.
    c = oracle._criterion(
        {
            "metric": "iter8_error_rate",
            "type": "threshold",
            "tolerance": 0.02,
            "stop_on_failure": True,
            "sample_size": 0,
        }
    )
    assert oracle.abort_rule(c, success=False, sufficient=False) is False
    assert oracle.abort_rule(c, success=False, sufficient=True) is True
    # canarystats on an input that yields (sufficient, not success): 0.05 > 0.02 with n >= 0.
    crit = Criterion(
        metric="iter8_error_rate",
        tolerance_type="threshold",
        tolerance=0.02,
        sample_size=0,
        stop_on_failure=True,
        missing="iter8",
    )
    res = cs.evaluate_criterion(crit, Observations(count=[5.0, 5.0], value=[0.0, 0.05]))
    assert res.verdict == Verdict.FAIL
    assert bool(res.abort)


def test_delta_on_counter_is_rejected() -> None:
    # analytics_tests.py, "Test request delta criterion with counter metric": b'Delta criterion
    # cannot be used with counter metric.' (DESIGN: "clear error, whatever the data").
    with pytest.raises(ValueError, match="counter"):
        oracle._criterion(
            {"metric": "iter8_error_count", "type": "delta", "tolerance": 0.5, "is_counter": True}
        )
    with pytest.raises(cs.SpecError, match="`tolerance_type`.*counter"):
        Criterion(metric="iter8_error_count", tolerance_type="delta", tolerance=0.5)


# --------------------------------------------------------------------------- fine print


def test_round3_tie_differs_from_numpy_round() -> None:
    # DESIGN fine print: rounding is float('%.3f' % x), "not numpy.round, which differs on
    # ties such as 0.2525".
    assert float("%.3f" % 0.2525) == 0.253  # noqa: UP031 -- Iter8's exact expression
    assert float(np.round(0.2525, 3)) == 0.252
    assert float(cs.round3(0.2525)) == 0.253
    assert oracle.round3(0.2525) == 0.253
    assert cs.round3([0.2525, 21.763975, 19.67701]).tolist() == [0.253, 21.764, 19.677]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


_any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
_edge_floats = st.sampled_from(
    [
        0.2525,
        0.0005,
        -0.0005,
        1.0005,
        2.675,
        1e300,
        -1e300,
        2.0**43 + 0.5,
        2.0**53,
        1e-300,
        5e-324,
        -0.0,
        math.nan,
        math.inf,
        -math.inf,
        9.9996,
        123456.7895,
    ]
)


@given(st.lists(st.one_of(_any_float, _edge_floats), min_size=1, max_size=30))
def test_round3_equals_percent_format(xs: list[float]) -> None:
    # DESIGN fine print: every fetched number goes through float('%.3f' % x), including huge,
    # tiny, negative and non-finite values.
    got = np.asarray(cs.round3(xs)).tolist()
    want = [float("%.3f" % x) for x in xs]  # noqa: UP031
    assert all(_same(g, w) for g, w in zip(got, want, strict=True))
    for x, w in zip(xs, want, strict=True):
        assert _same(float(cs.round3(x)), w)


@given(
    st.floats(min_value=-1e6, max_value=1e6).map(lambda x: round(x, 4) + 0.00005)
    | st.integers(-(10**7), 10**7).map(lambda k: (k + 0.5) / 1000)
)
def test_round3_near_ties(x: float) -> None:
    # Values on or next to a decimal tie are where correct binary rounding matters.
    assert _same(float(cs.round3(x)), float("%.3f" % x))  # noqa: UP031


def _latency(**kw: Any) -> dict[str, Any]:
    base = {
        "metric": "latency",
        "type": "threshold",
        "tolerance": 0.2,
        "sample_size": 10,
        "stop_on_failure": False,
        "is_counter": False,
        "absent_value": "0.0",
    }
    base.update(kw)
    return base


def _both(crits, tc, last, observed):  # type: ignore[no-untyped-def]
    want = oracle.check_and_increment(crits, tc, last, observed)
    got = cs_check_and_increment(crits, tc, last, observed)
    assert got == {k: want[k] for k in got}
    return got


def test_rounded_sample_size_decides_sufficiency() -> None:
    # DESIGN fine print: "the rounded sample size decides sufficiency (n >= sample_size:
    # 9.9996 -> 10.0 suffices for 10), and int() of it is what is stored".
    crits = [_latency(sample_size=10)]
    obs = [{"baseline": (50.0, 0.1), "candidate": (9.9996, 0.15)}]
    got = _both(crits, None, None, obs)
    assert got["met"] == [True]
    assert got["sufficient"] == [True]
    assert got["info"]["candidate"] == [[10, 0.15]]
    # 9.9994 rounds to 9.999: insufficient, and int(9.999) == 9 is stored.
    obs = [{"baseline": (50.0, 0.1), "candidate": (9.9994, 0.15)}]
    got = _both(crits, None, None, obs)
    assert got["sufficient"] == [False]
    assert got["info"]["candidate"] == [[9, 0.15]]


def test_threshold_passes_on_equality() -> None:
    # DESIGN fine print: "threshold passes on equality (<=)"; 0.2004 rounds to 0.2.
    crits = [_latency(tolerance=0.2)]
    for value in (0.2, 0.2004):
        got = _both(crits, None, None, [{"baseline": (50.0, 0.1), "candidate": (20.0, value)}])
        assert got["met"] == [True]
    got = _both(crits, None, None, [{"baseline": (50.0, 0.1), "candidate": (20.0, 0.2005)}])
    assert got["met"] == [False]


@pytest.mark.parametrize(
    ("tolerance", "baseline", "candidate", "met"),
    [
        # (1 + 0.1) * 0.09 == 0.099 but 0.09 + 0.1 * 0.09 == 0.09899999999999999 < 0.099:
        # the exact form passes where the additive form would fail.
        (0.1, 0.09, 0.099, True),
        # 1.173 / 1.15 == 1.02 but (1 + 0.02) * 1.15 == 1.1729999999999998 < 1.173: the
        # exact form fails where the ratio form would pass.
        (0.02, 1.15, 1.173, False),
    ],
)
def test_delta_exact_form(tolerance: float, baseline: float, candidate: float, met: bool) -> None:
    # DESIGN fine print: "delta is tested in exactly the form candidate <= (1 + tolerance) *
    # baseline".
    crits = [_latency(type="delta", tolerance=tolerance, sample_size=0)]
    obs = [{"baseline": (50.0, baseline), "candidate": (20.0, candidate)}]
    assert _both(crits, None, None, obs)["met"] == [met]


def test_first_assessment_increments_even_when_a_counter_aborts() -> None:
    # DESIGN fine print: "the first assessment increments (capped at max) even when a
    # criterion fails or aborts".
    crits = [_latency(metric="errors", tolerance=2, is_counter=True, sample_size=5)]
    obs = [{"baseline": (50.0, 0.0), "candidate": (20.0, 7.0)}]
    got = _both(crits, {"step_size": 20, "max_traffic_percent": 50}, None, obs)
    assert got["abort_experiment"] is True
    assert got["all_met"] is False
    assert (got["baseline_traffic"], got["candidate_traffic"]) == (80.0, 20.0)
    # capped at max
    got = _both(crits, {"step_size": 70, "max_traffic_percent": 50}, None, obs)
    assert (got["baseline_traffic"], got["candidate_traffic"]) == (50.0, 50.0)


def test_no_change_holds_traffic_even_when_all_pass() -> None:
    # DESIGN fine print: "'no change' means no criterion and no version changed" -> hold.
    crits = [_latency(), _latency(metric="rate", type="delta", tolerance=0.5)]
    obs = [{"baseline": (50.0, 0.1), "candidate": (20.0, 0.15)}] * 2
    first = oracle.check_and_increment(crits, None, None, obs)
    assert first["candidate_traffic"] == 2.0
    got = _both(crits, None, first["state"], obs)
    assert got["all_met"] is True
    assert got["changed"] is False
    assert got["candidate_traffic"] == 2.0
    # A sample-size change of less than 1 (int(n) unchanged) is no change either.
    obs2 = [{"baseline": (50.4, 0.1), "candidate": (20.7, 0.15)}] * 2
    got = _both(crits, None, first["state"], obs2)
    assert got["changed"] is False
    assert got["candidate_traffic"] == 2.0


def test_value_change_with_shrinking_n_replaces_the_entry() -> None:
    # DESIGN fine print: "else a different rounded value -> replace (even if the sample size
    # shrank), change".
    crits = [_latency(sample_size=5)]
    last = {
        "baseline": {"traffic_percentage": 96.0, "info": [[40, 0.1]]},
        "candidate": {"traffic_percentage": 4.0, "info": [[20, 0.1]]},
    }
    obs = [{"baseline": (40.0, 0.1), "candidate": (15.0, 0.12)}]
    got = _both(crits, None, last, obs)
    assert got["changed"] is True
    assert got["info"] == {"baseline": [[40, 0.1]], "candidate": [[15, 0.12]]}
    assert got["candidate_traffic"] == 6.0
    # A shrinking n with the same value keeps the stored entry: no change.
    obs = [{"baseline": (40.0, 0.1), "candidate": (15.0, 0.1)}]
    got = _both(crits, None, last, obs)
    assert got["changed"] is False
    assert got["info"] == {"baseline": [[40, 0.1]], "candidate": [[20, 0.1]]}
    assert got["candidate_traffic"] == 4.0


def test_nan_with_absent_zero_passes_under_iter8_only() -> None:
    # DESIGN fine print: a missing value takes absent_value (default "0.0"), "so missing data
    # passes in Iter8"; the library default ("inconclusive") gives INCONCLUSIVE with reason
    # "missing value", never PASS, and a warning.
    crits = [_latency(metric="iter8_error_rate", tolerance=0.01, absent_value="0.0")]
    obs = [{"baseline": (50.0, math.nan), "candidate": (20.0, math.nan)}]
    got = _both(crits, None, None, obs)
    assert got["met"] == [True]

    crit = Criterion(
        metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.01, missing="iter8"
    )
    data = Observations(count=[50.0, 20.0], value=[math.nan, math.nan])
    res = cs.evaluate_criterion(crit, data)
    assert (res.verdict, res.reason) == (Verdict.PASS, Reason.ABSENT_VALUE_USED)

    crit = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.01)
    with pytest.warns(InsufficientDataWarning, match="missing"):
        res = cs.evaluate_criterion(crit, data)
    assert (res.verdict, res.reason) == (Verdict.INCONCLUSIVE, Reason.MISSING_VALUE)
    assert not bool(res.abort)


def test_absent_none_fails_and_aborts_a_counter_under_iter8() -> None:
    # DESIGN fine print: '"None" makes it missing, which fails and, for a counter, aborts'.
    crits = [_latency(metric="errors", tolerance=5, is_counter=True, absent_value="None")]
    obs = [{"baseline": (50.0, 1.0), "candidate": (20.0, math.nan)}]
    got = _both(crits, None, None, obs)
    assert got["met"] == [False]
    assert got["abort_experiment"] is True
    assert got["info"]["candidate"] == [[20, None]]

    crit = Criterion(
        metric="errors",
        tolerance_type="threshold",
        tolerance=5,
        is_counter=True,
        absent_value="None",
        missing="iter8",
    )
    res = cs.evaluate_criterion(crit, Observations(count=[50.0, 20.0], value=[1.0, math.nan]))
    assert (res.verdict, res.reason) == (Verdict.FAIL, Reason.MISSING_VALUE)
    assert bool(res.abort)
    # Insufficient data never aborts, even with a missing value.
    res = cs.evaluate_criterion(crit, Observations(count=[50.0, 2.0], value=[1.0, math.nan]))
    assert res.verdict == Verdict.INCONCLUSIVE
    assert not bool(res.abort)


@pytest.mark.parametrize("missing", ["iter8", "inconclusive"])
def test_infinite_sample_size_is_bad_data(missing: str) -> None:
    # DESIGN error policy: bad data inside a batch -> INCONCLUSIVE for that slice plus one
    # warning (Iter8's int() raised on an infinite sample size).
    crit = Criterion(
        metric="iter8_latency",
        tolerance_type="threshold",
        tolerance=0.2,
        sample_size=10,
        missing=missing,
    )
    data = Observations(count=[[50.0, math.inf], [50.0, 20.0]], value=[[0.1, 0.1], [0.1, 0.1]])
    with pytest.warns(InsufficientDataWarning, match="1 of 2 slices"):
        res = cs.evaluate_criterion(crit, data)
    assert res.verdict.tolist() == [Verdict.INCONCLUSIVE, Verdict.PASS]
    assert res.reason[0] == Reason.BAD_DATA
    assert not res.abort.any()


def test_negative_value_is_bad_data_under_default() -> None:
    # DESIGN: "delta is defined for non-negative metrics, and a negative value is bad data".
    for ttype in ("threshold", "delta"):
        crit = Criterion(
            metric="iter8_latency",
            tolerance_type=ttype,
            tolerance=0.2,
            sample_size=10,
            stop_on_failure=True,
        )
        data = Observations(count=[50.0, 20.0], value=[0.1, -0.1])
        with pytest.warns(InsufficientDataWarning, match="negative"):
            res = cs.evaluate_criterion(crit, data)
        assert (res.verdict, res.reason) == (Verdict.INCONCLUSIVE, Reason.BAD_DATA)
        assert not bool(res.abort)


def test_default_policy_identical_observations_hold_traffic() -> None:
    # DESIGN, check_and_increment: "No change observed (see the fine print): hold". Under the
    # default missing policy a missing (NaN) sample size is kept as NaN, and the change record
    # uses a NaN sample size to mean "no entry yet", so every assessment re-stores the entry
    # and counts it as a change. A threshold criterion ignores the baseline, so with a missing
    # baseline sample size and a passing candidate, the SAME observations move traffic at
    # every assessment (10, 20, 30, ... here) instead of holding at 10.
    # Pinned: fails until canarystats' change detection tells a stored missing sample size
    # from "no entry" (or stores a missing sample size as 0, as Iter8 did).
    spec = ExperimentSpec(
        name="pin",
        target_service="s",
        baseline="v1",
        candidate="v2",
        traffic_control=TrafficControl(step_size=10, max_traffic_percent=50),
        criteria=[
            Criterion(
                metric="iter8_latency", tolerance_type="threshold", tolerance=0.2, sample_size=5
            )
        ],
    )
    obs = {"iter8_latency": Observations(count=[math.nan, 20.0], value=[math.nan, 0.1])}
    state = cs.initial_state(spec, ())
    state, first = cs.step(spec, state, obs)
    assert first.traffic.tolist() == [90.0, 10.0]
    state, again = cs.step(spec, state, obs)
    assert again.verdicts.tolist() == [Verdict.PASS]
    assert not bool(again.changed)
    assert again.traffic.tolist() == [90.0, 10.0]
