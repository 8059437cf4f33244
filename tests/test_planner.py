"""The traffic-step planner: hand-computed schedules, warnings, power."""

from __future__ import annotations

import math

import numpy as np
import pytest

from canarystats import (
    Criterion,
    PlanWarning,
    Regression,
    SpecError,
    TrafficControl,
    plan_steps,
    power_means,
)
from canarystats.data.make_rollouts import tutorial_spec

TUTORIAL = TrafficControl(interval="30s", step_size=20, max_iterations=8, max_traffic_percent=80)


def test_tutorial_schedule_by_hand() -> None:
    plan = plan_steps(TUTORIAL)
    assert plan.iteration.tolist() == list(range(9))
    assert plan.time.tolist() == [30.0 * k for k in range(9)]
    assert plan.window.tolist() == [1.0] + [30.0 * k for k in range(1, 9)]
    assert plan.candidate_traffic.tolist() == [20, 40, 60, 80, 80, 80, 80, 80, 80]
    assert plan.baseline_traffic.tolist() == [80, 60, 40, 20, 20, 20, 20, 20, 20]
    assert plan.routed_candidate.tolist() == [0, 20, 40, 60, 80, 80, 80, 80, 80]
    assert plan.time_to_max_traffic == 90.0
    assert plan.time_to_finish == 240.0
    assert np.isnan(plan.candidate_requests).all()
    assert math.isnan(plan.exposure)
    assert plan.warnings == ()


def test_tutorial_with_a_request_rate() -> None:
    spec = tutorial_spec()
    plan = plan_steps(spec, request_rate=50.0)
    # by hand: 1 s of baseline only, then 29 s at 20 %, 30 s each at 40 %, 60 %, 80 %, ...
    cand = [0, 290, 890, 1790, 2990, 4190, 5390, 6590, 7790]
    np.testing.assert_allclose(plan.candidate_requests, cand)
    np.testing.assert_allclose(plan.baseline_requests, plan.window * 50.0 - np.array(cand))
    assert plan.baseline_requests[0] == 50.0
    assert plan.exposure == pytest.approx(7790.0)
    # sample size 6 on the candidate (threshold): reached at assessment 1
    assert plan.sample_size_reached == (1,)
    frame = plan.to_frame()
    assert list(frame.columns)[:4] == ["iteration", "time", "window", "routed_candidate"]
    assert len(frame) == 9


def test_flagger_step_weights() -> None:
    # Flagger stepWeights [1, 2, 10, 80], interval 1m, 10 req/s
    plan = plan_steps([1, 2, 10, 80], interval="1m", request_rate=10.0)
    assert plan.time.tolist() == [0, 60, 120, 180, 240]
    assert plan.candidate_traffic.tolist() == [1, 2, 10, 80, 80]
    # 59 s at 1 %, 60 s at 2 %, 60 s at 10 %, 60 s at 80 %
    cand = np.cumsum([0, 59 * 0.1, 60 * 0.2, 60 * 1.0, 60 * 8.0])
    np.testing.assert_allclose(plan.candidate_requests, cand)
    assert plan.time_to_max_traffic == 180.0
    assert plan.time_to_finish == 240.0


def test_argo_set_weight_with_fractional_interval() -> None:
    plan = plan_steps([25, 50, 75], interval=90.0, request_rate=4.0)
    np.testing.assert_allclose(
        plan.candidate_requests, [0, 89 * 4 * 0.25, 89 + 90 * 2.0, 89 + 180 + 90 * 3.0]
    )


def test_warns_when_sample_size_never_reached() -> None:
    crit = Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.2,
                     sample_size=500)
    with pytest.warns(PlanWarning, match=r"criterion 0 \(iter8_latency\) needs sample size 500"
                      r" but each version has only 84.2 requests"):
        plan = plan_steps(TUTORIAL, request_rate=1.0, criteria=[crit])
    assert plan.sample_size_reached == (None,)


def test_warns_when_max_is_never_reached() -> None:
    tc = TrafficControl(interval="1m", step_size=5, max_iterations=10, max_traffic_percent=80)
    with pytest.warns(PlanWarning, match=r"never reaches max traffic 80 %.*: it has 50 % after 10 increments"):
        plan = plan_steps(tc)
    assert math.isnan(plan.time_to_max_traffic)


def test_warns_on_an_overshooting_step() -> None:
    tc = TrafficControl(interval="1m", step_size=30, max_iterations=8, max_traffic_percent=80)
    with pytest.warns(PlanWarning, match=r"step 30 % overshoots max traffic 80 %.*capped"):
        plan = plan_steps(tc)
    assert plan.candidate_traffic.tolist()[:4] == [30, 60, 80, 80]
    tc = TrafficControl(strategy="increment_without_check", step_size=20, max_iterations=8,
                        max_traffic_percent=50)
    with pytest.warns(PlanWarning, match="stops at 40 %"):
        plan = plan_steps(tc)
    assert plan.candidate_traffic.max() == 40.0


def test_bad_plans_raise() -> None:
    with pytest.raises(SpecError, match="`steps` must not decrease"):
        plan_steps([20, 10])
    with pytest.raises(SpecError, match=r"`steps` must be weights in \(0, 100\]"):
        plan_steps([20, 120])
    with pytest.raises(SpecError, match="`interval` applies to a weight list only"):
        plan_steps(TUTORIAL, interval="1m")
    with pytest.raises(SpecError, match="`request_rate` must be a number > 0"):
        plan_steps(TUTORIAL, request_rate=0.0)
    with pytest.raises(SpecError, match="`sd` must be a number > 0"):
        Regression(metric="iter8_latency", baseline=0.1, candidate=0.12)


def test_power_of_a_delta_latency_criterion_matches_fixed() -> None:
    crit = Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.1,
                     sample_size=10)
    reg = Regression(metric="iter8_latency", baseline=0.1, candidate=0.12, sd=0.1)
    plan = plan_steps(TUTORIAL, request_rate=2.0, criteria=[crit], regressions=[reg])
    assert np.isnan(plan.power[0, 0])  # no candidate request yet
    k = 5
    nb, nc = plan.baseline_requests[k], plan.candidate_requests[k]
    want = power_means(nb, 0.1, 0.12, 0.1, ratio=1.1, confidence_level=0.95, allocation=nc / nb)
    assert plan.power[0, k] == pytest.approx(float(want))
    assert np.all(np.diff(plan.power[0, 1:]) > 0)  # more data, more power


def test_power_of_a_threshold_latency_criterion_by_hand() -> None:
    crit = Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                     sample_size=6)
    reg = Regression(metric="iter8_latency", baseline=0.15, candidate=0.225, sd=0.225)
    plan = plan_steps(TUTORIAL, request_rate=1.0, criteria=[crit], regressions=[reg])
    nc = plan.candidate_requests[1]  # 5.8 requests
    z = 0.025 * math.sqrt(nc) / 0.225 - 1.6448536269514722
    assert plan.power[0, 1] == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)))


def test_power_of_an_error_rate_delta() -> None:
    crit = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.0,
                     sample_size=10)
    reg = Regression(metric="iter8_error_rate", baseline=0.01, candidate=0.02)
    plan = plan_steps(TUTORIAL, request_rate=50.0, criteria=[crit], regressions=[reg])
    nb, nc = plan.baseline_requests[-1], plan.candidate_requests[-1]
    se = math.sqrt(0.02 * 0.98 / nc + 0.01 * 0.99 / nb)
    z = 0.01 / se - 1.6448536269514722
    assert plan.power[0, -1] == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)))


def test_cli_plan_prints_the_tutorial_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    from canarystats.cli import main

    assert main(["plan", "--rate", "50"]) == 0
    out = capsys.readouterr().out
    assert "max traffic after 90 s; decision after 240 s; candidate exposure 7790 requests" in out
    assert "sample size 6 of iter8_latency: at assessment 1" in out


def test_cli_plan_json_and_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from canarystats.cli import main

    assert main(["plan", "--rate", "0.01", "--format", "json"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert len(payload["schedule"]) == 9
    assert payload["sample_size_reached"] == [None]
    assert "warning: criterion 0 (iter8_latency) needs sample size 6" in captured.err
    assert main(["plan", "--experiment", "/nonexistent.yaml"]) == 2


@pytest.mark.parametrize("module", ["canarystats.planner", "canarystats.simulate"])
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
