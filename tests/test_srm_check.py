"""``TrafficControl(srm_check=True)``: the sample-ratio-mismatch guard inside check_and_increment."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest
from numpy.typing import NDArray

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    Observations,
    Outcome,
    Reason,
    SpecError,
    TrafficControl,
    Verdict,
    initial_state,
    run_experiment,
    step,
)
from canarystats.strategies.check_and_increment import SRM_CONFIDENCE


def _spec(srm: bool = True, **kw: object) -> ExperimentSpec:
    return ExperimentSpec(
        name="e", target_service="s", baseline="b", candidate="c",
        traffic_control=TrafficControl(interval="1m", step_size=10, max_iterations=30,
                                       max_traffic_percent=50, srm_check=srm, **kw),  # type: ignore[arg-type]
        criteria=[Criterion(metric="iter8_error_rate", tolerance_type="threshold",
                            tolerance=0.5, sample_size=10)],
    )


def _observer(bias: float, n_batch: int, seed: int) -> cs.strategies.runner.Observe:
    """3,000 requests a minute, each routed to the candidate with its routed share times ``bias``
    (a broken router when ``bias != 1``); 5 % errors everywhere."""
    rng = np.random.default_rng(seed)
    tot = {"n": np.zeros((n_batch, 2)), "e": np.zeros((n_batch, 2))}

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> Mapping[str, Observations]:
        if k > 0:
            cand = rng.binomial(3000, bias * routed / 100.0)
            inc = np.stack([3000 - cand, cand], axis=-1).astype(np.float64)
            tot["n"] = tot["n"] + inc
            tot["e"] = tot["e"] + rng.binomial(inc.astype(np.int64), 0.05)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = tot["e"] / tot["n"]
        return {"iter8_error_rate": Observations(count=tot["n"], value=value, successes=tot["e"])}

    return observe


def test_broken_router_aborts_and_a_correct_one_does_not() -> None:
    """Closed loop, 31 assessments, step 10 % to 50 %, criteria always passing.

    Broken router (candidate gets 0.8 x its share), 200 rollouts: all abort (rolled back), with
    Reason.SAMPLE_RATIO_MISMATCH on every criterion; observed (seed 41) at assessment 1 or 2
    (median 2: the windows routed at 10 % and 20 %). Correct router, 2,000 rollouts (seed 42):
    false aborts 0.0000 (bound 1 - 0.999 + 3 SE = 0.0031), all promoted.
    """
    broken = run_experiment(_spec(), _observer(0.8, 200, 41), batch_shape=(200,))
    assert np.all(broken.outcome == Outcome.ROLLBACK)
    assert np.all(broken.final_state.aborted)
    assert np.median(broken.end_iteration) <= 5
    last = broken.steps[int(np.max(broken.end_iteration))]
    for k, result in enumerate(broken.steps):
        hit = result.active & result.abort
        if hit.any():
            assert np.all(result.reasons[hit] == Reason.SAMPLE_RATIO_MISMATCH)
            assert np.all(result.verdicts[hit] == Verdict.INCONCLUSIVE)
            assert np.all(broken.end_iteration[hit] == k)
    assert last.abort.any()
    n = 2000
    good = run_experiment(_spec(), _observer(1.0, n, 42), batch_shape=(n,))
    alpha = 1 - SRM_CONFIDENCE
    bound = alpha + 3 * math.sqrt(alpha * (1 - alpha) / n)
    assert np.mean(good.final_state.aborted) <= bound
    assert np.mean(good.outcome == Outcome.PROMOTE) >= 1 - bound
    # the check is off by default, and then a broken router goes unnoticed
    off = run_experiment(_spec(srm=False), _observer(0.8, 50, 41), batch_shape=(50,))
    assert not off.final_state.aborted.any()


def test_state_layout_and_a_state_without_the_guard() -> None:
    spec = _spec()
    state = initial_state(spec, (3,))
    assert len(state.method_states) == 1  # the criterion's; the guard's has its own field
    assert isinstance(state.sample_ratio, cs.SampleRatioState)
    assert initial_state(_spec(srm=False), (3,)).sample_ratio is None
    obs = {"iter8_error_rate": Observations(count=np.full((3, 2), 100.0),
                                            value=np.full((3, 2), 0.01),
                                            successes=np.ones((3, 2)))}
    # a state rebuilt without the guard's (e.g. from Iter8's _last_state) starts it afresh
    plain = initial_state(_spec(srm=False), (3,))
    new, result = step(spec, plain, obs)
    assert isinstance(new.sample_ratio, cs.SampleRatioState)
    assert not result.abort.any()
    with pytest.raises(SpecError, match="sample_ratio"):
        step(_spec(srm=False), new, obs)
    no_criteria = ExperimentSpec(
        name="e", target_service="s", baseline="b", candidate="c",
        traffic_control=TrafficControl(strategy="increment_without_check", srm_check=True),
    )
    with pytest.raises(SpecError, match="`srm_check` needs a criterion"):
        step(no_criteria, initial_state(no_criteria, ()), {})


def test_reason_code_is_appended() -> None:
    assert int(Reason.SAMPLE_RATIO_MISMATCH) == 6
    assert [r.value for r in Reason] == list(range(7))


def test_srm_check_iter8_round_trip_and_validation() -> None:
    spec = _spec()
    doc = cs.spec_to_iter8(spec)
    assert doc["spec"]["trafficControl"]["srmCheck"] is True
    assert cs.spec_from_iter8(doc) == spec
    assert "srmCheck" not in cs.spec_to_iter8(_spec(srm=False))["spec"]["trafficControl"]
    doc["spec"]["trafficControl"]["srmCheck"] = "yes"
    with pytest.raises(SpecError, match="srmCheck"):
        cs.spec_from_iter8(doc)
    with pytest.raises(SpecError, match="`srm_check` must be true or false"):
        TrafficControl(srm_check="yes")
