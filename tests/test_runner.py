"""The runner plays experiments as Iter8's controller did (DESIGN.md, "Iter8 v0.1 semantics").

Each expectation below follows from a rule quoted next to it; none is read off the code.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import pytest
from numpy.typing import NDArray

from canarystats import (
    Criterion,
    ExperimentSpec,
    Observations,
    Outcome,
    SpecError,
    TrafficControl,
    initial_state,
    run_experiment,
    step,
)
from canarystats.strategies import window_seconds

LATENCY = Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2, sample_size=6)
ERRORS = Criterion(metric="iter8_error_count", tolerance_type="threshold", tolerance=2, sample_size=6)


def make_spec(criteria: tuple[Criterion, ...] = (LATENCY,), **tc: object) -> ExperimentSpec:
    settings: dict[str, object] = {"interval": "30s", "step_size": 20, "max_iterations": 8, "max_traffic_percent": 80}
    settings.update(tc)
    return ExperimentSpec(
        name="e",
        target_service="svc",
        baseline="v1",
        candidate="v2",
        traffic_control=TrafficControl(**settings),  # type: ignore[arg-type]
        criteria=criteria,
    )


def steady(latency: float, errors: float = 0.0, rps: float = 2.0):  # type: ignore[no-untyped-def]
    """Closed-loop observations: counts follow the routed split; fixed candidate latency."""

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> Mapping[str, Observations]:
        share = np.asarray(routed) / 100.0
        n = np.stack([window * rps * (1 - share), window * rps * share], axis=-1)
        lat = np.stack(np.broadcast_arrays(0.1, np.full(share.shape, latency)), axis=-1)
        lat = np.where(n > 0, lat, np.nan)
        err = np.stack(np.broadcast_arrays(0.0, np.full(share.shape, errors * k)), axis=-1)
        return {
            "iter8_latency": Observations(count=n, value=lat),
            "iter8_error_count": Observations(count=n, value=err),
        }

    return observe


def test_window_is_whole_seconds_at_least_one() -> None:
    # Iter8 sends str(int(seconds)) + "s", clamped to >= 1 s: assessment 0 sees 1 s.
    assert [window_seconds(k, 30.0) for k in range(3)] == [1.0, 30.0, 60.0]
    assert window_seconds(1, 0.5) == 1.0
    assert window_seconds(3, 1.5) == 4.0


def test_passing_candidate_is_promoted_after_max_iterations_plus_one_assessments() -> None:
    res = run_experiment(make_spec(), steady(0.15))
    # assessments at iterations 0..maxIterations (8): 9 of them; never stops early on success
    assert len(res.steps) == 9
    assert res.times.tolist() == [30.0 * k for k in range(9)]
    # first assessment increments; +20 per passing assessment, capped at 80
    assert res.routed.tolist() == [0, 20, 40, 60, 80, 80, 80, 80, 80, 80]
    assert res.outcome == Outcome.PROMOTE
    assert res.final_traffic.tolist() == [0.0, 100.0]


def test_failing_candidate_holds_then_rolls_back() -> None:
    res = run_experiment(make_spec(), steady(0.35))
    assert res.routed.tolist() == [0, 20, 20, 20, 20, 20, 20, 20, 20, 20]
    assert res.outcome == Outcome.ROLLBACK
    assert res.final_traffic.tolist() == [100.0, 0.0]


def test_inconclusive_last_assessment_rolls_back() -> None:
    spec = make_spec(criteria=(attrs.evolve(LATENCY, sample_size=10**9),))
    res = run_experiment(spec, steady(0.15))
    assert res.steps[-1].verdicts.tolist() == [0]
    assert res.outcome == Outcome.ROLLBACK


def test_abort_ends_at_once_without_applying_the_increment() -> None:
    # A counter over its threshold aborts (errors grow 1 per assessment: 3 > 2 at k = 3).
    spec = make_spec(criteria=(LATENCY, ERRORS))
    res = run_experiment(spec, steady(0.15, errors=1.0))
    assert len(res.steps) == 4
    assert res.steps[-1].abort.item()
    # the analytics still recommended a split; the controller did not apply it
    assert res.routed.tolist() == [0, 20, 40, 60, 60]
    assert res.end_iteration.item() == 3
    assert res.outcome == Outcome.ROLLBACK
    assert res.final_traffic.tolist() == [100.0, 0.0]


def test_first_assessment_increments_even_when_it_aborts() -> None:
    spec = make_spec(criteria=(attrs.evolve(ERRORS, sample_size=0),))

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> Mapping[str, Observations]:
        return {"iter8_error_count": Observations(count=[10.0, 10.0], value=[0.0, 5.0])}

    state = initial_state(spec)
    state, result = step(spec, state, observe(0, 1.0, np.zeros(())))
    assert result.abort.item()
    assert result.traffic.tolist() == [80.0, 20.0]  # the analytics' answer
    assert state.done.item()
    assert state.aborted.item()
    res = run_experiment(spec, observe)
    assert res.routed.tolist() == [0.0, 0.0]
    assert res.outcome == Outcome.ROLLBACK


@pytest.mark.parametrize(
    ("on_success", "outcome", "final"),
    [
        ("candidate", Outcome.PROMOTE, [0.0, 100.0]),
        ("baseline", Outcome.KEEP_BASELINE, [100.0, 0.0]),
        ("both", Outcome.KEEP_SPLIT, [20.0, 80.0]),
    ],
)
def test_on_success_sets_the_final_split(on_success: str, outcome: Outcome, final: list[float]) -> None:
    res = run_experiment(make_spec(on_success=on_success), steady(0.15))
    assert res.outcome == outcome
    assert res.final_traffic.tolist() == final


def test_increment_without_check_skips_an_overshooting_step() -> None:
    # DESIGN: "+step each interval, a step that would overshoot the max is skipped
    # (step 20, max 50 stops at 40), and the experiment always succeeds".
    spec = make_spec(criteria=(), max_traffic_percent=50, max_iterations=4)
    res = run_experiment(spec, lambda k, w, r: {})
    assert res.routed.tolist() == [0, 20, 40, 40, 40, 40]
    assert res.outcome == Outcome.PROMOTE


def test_routing_applies_int_of_the_float_percentage() -> None:
    spec = make_spec(step_size=2.5, max_iterations=3)
    res = run_experiment(spec, steady(0.15, rps=100.0))
    assert [s.traffic[1] for s in res.steps] == [2.5, 5.0, 7.5, 10.0]
    assert res.routed.tolist() == [0, 2, 5, 7, 10]
    assert res.steps[0].traffic[0] == 97.5  # baseline = 100.0 - candidate, in floats


def test_done_slices_are_frozen_while_others_continue() -> None:
    spec = make_spec(criteria=(LATENCY, ERRORS))
    errors = np.array([1.0, 0.0, 0.0])

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> Mapping[str, Observations]:
        n = np.broadcast_to([50.0 * (k + 1), 10.0 * (k + 1)], (3, 2))
        lat = np.broadcast_to([0.1, 0.15], (3, 2))
        err = np.stack([np.zeros(3), errors * 3 * k], axis=-1)
        return {
            "iter8_latency": Observations(count=n, value=lat),
            "iter8_error_count": Observations(count=n, value=err),
        }

    res = run_experiment(spec, observe, batch_shape=(3,))
    assert res.end_iteration.tolist() == [1, 8, 8]
    assert res.outcome.tolist() == [Outcome.ROLLBACK, Outcome.PROMOTE, Outcome.PROMOTE]
    aborted_state = res.states[1]
    for later in res.states[2:]:
        assert later.traffic[0].tolist() == aborted_state.traffic[0].tolist()
        assert later.iteration[0] == aborted_state.iteration[0]
        assert not res.steps[res.states.index(later)].active[0]


def test_step_errors_name_the_problem() -> None:
    spec = make_spec()
    state = initial_state(spec, (2,))
    good = Observations(count=np.ones((2, 2)), value=np.ones((2, 2)))
    with pytest.raises(SpecError, match=r"no observations for metric 'iter8_latency'; got metrics \['other'\]"):
        step(spec, state, {"other": good})
    with pytest.raises(SpecError, match=r"must have shape \(2, 2\).*got \(3, 2\)"):
        step(spec, state, {"iter8_latency": Observations(count=np.ones((3, 2)), value=np.ones((3, 2)))})
    with pytest.raises(SpecError, match="the state holds 1 method states but the spec has 2 criteria"):
        step(make_spec(criteria=(LATENCY, ERRORS)), state, {"iter8_latency": good})
    wide = make_spec(step_size=[10.0, 20.0, 30.0])
    with pytest.raises(SpecError, match=r"`step_size` of shape \(3,\) does not broadcast against the batch shape \(2,\)"):
        step(wide, initial_state(wide, (2,)), {"iter8_latency": good})


def test_point_method_errors_name_the_problem() -> None:
    from canarystats import evaluate_criterion
    from canarystats.registry import get_method

    three = Observations(count=np.ones((4, 3)), value=np.ones((4, 3)))
    with pytest.raises(SpecError, match="observations of 'iter8_latency' must have 2 versions, got 3"):
        evaluate_criterion(LATENCY, three)
    with pytest.raises(SpecError, match=r"`method` must be one of \[.*'point'.*\], got 'magic'"):
        get_method("magic")
    grid = attrs.evolve(LATENCY, tolerance=[0.1, 0.2, 0.3])
    two = Observations(count=np.ones((2, 2)), value=np.ones((2, 2)))
    with pytest.raises(SpecError, match=r"`tolerance` of shape \(3,\) does not broadcast against the batch shape \(2,\)"):
        evaluate_criterion(grid, two)
