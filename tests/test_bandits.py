"""epsilon_t_greedy: Iter8's reference cases, its rules, dispatch through canarystats.step.

Reference cases: ``tests/reference_cases.json`` ``iter8_check_and_increment`` entries with
``"strategy": "epsilon_t_greedy"`` (iter8-tools/iter8-analytics v0.2.1, analytics_tests.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import canarystats as cs
from canarystats import Criterion, ExperimentSpec, Observations, SpecError, TrafficControl
from canarystats.adapters.iter8 import spec_from_iter8, spec_to_iter8
from canarystats.registry import get_method
from canarystats.strategies.bandits import BanditState

HERE = Path(__file__).parent
CASES = [
    c
    for c in json.loads((HERE / "reference_cases.json").read_text())["iter8_check_and_increment"]
    if c.get("strategy") == "epsilon_t_greedy"
]


def _spec(criteria: list[Criterion], max_pct: float = 50.0, **tc: Any) -> ExperimentSpec:
    return ExperimentSpec(
        name="e", target_service="s", baseline="b", candidate="c",
        traffic_control=TrafficControl(strategy="epsilon_t_greedy",
                                       max_traffic_percent=max_pct, **tc),
        criteria=criteria)


def _state(spec: ExperimentSpec, last: dict[str, Any]) -> BanditState:
    n_crit = len(spec.criteria)
    info = np.full((n_crit, 2, 2), np.nan)
    for v, ver in enumerate(("baseline", "candidate")):
        for i, (n, value) in enumerate(last["info"][ver]):
            info[i, v] = (float(n), np.nan if value is None else float(value))
    return BanditState(
        traffic=np.array([float(last["baseline"]), float(last["candidate"])]),
        iteration=np.int64(1), done=False, aborted=False, passed=False, info=info,
        method_states=tuple(get_method(c.method).init(c, ()) for c in spec.resolved_criteria()),
        effective_iterations=np.int64(last["effective_iteration_count"]),
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["source"])
def test_reference_cases(case: dict[str, Any]) -> None:
    criteria = [
        Criterion(metric=c["metric"], tolerance_type=c["type"], tolerance=c["tolerance"],
                  sample_size=c["sample_size"], is_counter=c["is_counter"], missing="iter8")
        for c in case["criteria"]
    ]
    spec = _spec(criteria, case.get("traffic_control", {}).get("max_traffic_percent", 50))
    obs = {
        c.metric: Observations(
            count=[case["observed"][v]["sample_size"] for v in ("baseline", "candidate")],
            value=[case["observed"][v]["value"] for v in ("baseline", "candidate")])
        for c in criteria
    }
    state = _state(spec, case["last_state"])
    new, result = cs.step(spec, state, obs)
    exp = case["expected"]
    assert result.traffic.tolist() == [exp["baseline_traffic"], exp["candidate_traffic"]]
    assert int(new.effective_iterations) == exp["effective_iteration_count"]
    info = np.asarray(new.info)
    for v, ver in enumerate(("baseline", "candidate")):
        assert info[:, v].tolist() == [[float(a), float(b)] for a, b in exp["info"][ver]]
    assert not bool(result.abort)
    # posting the returned state again with the same data changes nothing (analytics_tests.py)
    again, result2 = cs.step(spec, new, obs)
    assert not bool(result2.changed)
    assert result2.traffic.tolist() == result.traffic.tolist()
    assert int(again.effective_iterations) == int(new.effective_iterations)


def _latency(sample_size: float = 5.0) -> Criterion:
    return Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                     sample_size=sample_size)


def _obs(n: Any, value: Any) -> dict[str, Observations]:
    n, value = np.asarray(n, float), np.asarray(value, float)
    return {"iter8_latency": Observations(
        count=np.stack([n, n], -1), value=np.stack([np.full_like(value, 0.1), value], -1))}


def test_exploit_explore_hold_sequence() -> None:
    spec = _spec([_latency()], max_pct=100)
    state = cs.initial_state(spec, ())
    assert isinstance(state, BanditState)
    got = []
    for n, v in [(10, 0.1), (20, 0.1), (30, 0.3), (32, 0.3), (32, 0.3), (40, 0.1)]:
        state, r = cs.step(spec, state, _obs(n, v))
        got.append((float(r.traffic[1]), int(state.effective_iterations)))
    # t=1: int(0.5*100); t=2: int(0.75*100); fail: int(1/3/2*100)=16; fail t=4: 12;
    # unchanged data: hold; pass t=5: int((1-0.2+0.1)*100) = 90
    assert got == [(50.0, 1), (75.0, 2), (16.0, 3), (12.0, 4), (12.0, 4), (90.0, 5)]


def test_insufficient_holds_and_cap() -> None:
    spec = _spec([_latency(sample_size=100)], max_pct=30)
    state = cs.initial_state(spec, ())
    state, r = cs.step(spec, state, _obs(10, 0.1))  # first: exploit, capped at 30
    assert r.traffic.tolist() == [70.0, 30.0]
    state, r = cs.step(spec, state, _obs(20, 0.5))  # insufficient: hold, t stays
    assert r.traffic.tolist() == [70.0, 30.0]
    assert int(state.effective_iterations) == 1


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from([0.1, 0.3, np.nan])),
                min_size=1, max_size=6),
       st.sampled_from([20.0, 50.0, 100.0]))
@pytest.mark.filterwarnings("ignore::canarystats.InsufficientDataWarning")  # NaN values
def test_batch_equals_scalar_runs_and_bounds(seq: list, max_pct: float) -> None:
    spec = _spec([_latency()], max_pct=max_pct, max_iterations=4)
    rows = 3
    batch = cs.initial_state(spec, (rows,))
    scalars = [cs.initial_state(spec, ()) for _ in range(rows)]
    total = np.zeros(rows)
    for n, v in seq:
        ns = total + n * np.arange(1, rows + 1)
        total = ns
        vs = np.array([v, 0.1, 0.3])
        batch, rb = cs.step(spec, batch, _obs(ns, vs))
        for j in range(rows):
            scalars[j], rs = cs.step(spec, scalars[j], _obs(ns[j], vs[j]))
            assert rs.traffic.tolist() == rb.traffic[j].tolist()
        cand = rb.traffic[..., 1]
        assert np.all((cand >= 0) & (cand <= max_pct))
        assert np.all(rb.traffic.sum(axis=-1) == 100.0)


def test_wrong_state_type() -> None:
    spec = _spec([_latency()])
    other = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c",
                           criteria=[_latency()])
    with pytest.raises(SpecError, match="needs the state from initial_state"):
        cs.step(spec, cs.initial_state(other, ()), _obs(10, 0.1))


def test_iter8_loader_epsilon_greedy_and_bayes_keys_round_trip() -> None:
    doc = {
        "apiVersion": "iter8.tools/v1alpha1", "kind": "Experiment", "metadata": {"name": "x"},
        "spec": {
            "targetService": {"name": "s", "baseline": "b", "candidate": "c"},
            "trafficControl": {"strategy": "epsilon_greedy"},
            "analysis": {"successCriteria": [
                {"metricName": "iter8_error_rate", "toleranceType": "delta", "tolerance": 0.1,
                 "method": "bayes", "prior": [1, 1]},
                {"metricName": "iter8_latency", "toleranceType": "threshold",
                 "tolerance": 0.2, "method": "bayes", "scale": 0.05},
            ]},
        },
    }
    spec = spec_from_iter8(doc)
    assert spec.traffic_control.strategy == "epsilon_t_greedy"
    assert spec.criteria[0].options.prior == (1.0, 1.0)
    assert spec.criteria[1].options.scale == 0.05
    back = spec_to_iter8(spec)
    assert back["spec"]["trafficControl"]["strategy"] == "epsilon_greedy"
    assert back["spec"]["analysis"]["successCriteria"][0]["prior"] == [1, 1]
    assert spec_from_iter8(back) == spec


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [("strategy", "epsilon_t_greedy", r"the analytics REST API's name.*'epsilon_greedy'"),
     ("strategy", "thompson", r"one of")],
)
def test_iter8_loader_strategy_errors(key: str, value: str, match: str) -> None:
    doc = {
        "apiVersion": "iter8.tools/v1alpha1", "kind": "Experiment", "metadata": {"name": "x"},
        "spec": {"targetService": {"name": "s", "baseline": "b", "candidate": "c"},
                 "trafficControl": {key: value}},
    }
    with pytest.raises(SpecError, match=match):
        spec_from_iter8(doc)
