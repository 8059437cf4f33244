"""Operating characteristics by closed-loop simulation: closed forms, seeding, intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from canarystats import (
    Criterion,
    ExperimentSpec,
    Scenario,
    SpecError,
    TrafficControl,
    operating_characteristics,
)
from canarystats.data.make_rollouts import tutorial_spec


def _zero_error_spec(max_iterations: int) -> ExperimentSpec:
    # a counter threshold of 0 errors: any candidate 5xx aborts at once
    return ExperimentSpec(
        name="tiny", target_service="svc", baseline="v1", candidate="v2",
        traffic_control=TrafficControl(interval="10s", step_size=20, max_iterations=max_iterations,
                                       max_traffic_percent=100),
        criteria=[Criterion(metric="iter8_error_count", tolerance_type="threshold",
                            tolerance=0.0, sample_size=0, is_counter=True)],
    )


@pytest.mark.parametrize("max_iterations", [1, 2])
def test_point_mode_matches_the_closed_form(max_iterations: int) -> None:
    # Candidate 5xx in [1 s, 10 s] at 20 % and [10 s, 20 s] at 40 % are Poisson (thinning):
    # P(promote) = exp(-rate * p * (9 * 0.2 [+ 10 * 0.4])), the rest abort.
    rate, p = 10.0, 0.02
    spec = _zero_error_spec(max_iterations)
    lam = rate * p * (9 * 0.2 + (10 * 0.4 if max_iterations == 2 else 0.0))
    n = 20000
    oc = operating_characteristics(
        spec, Scenario(request_rate=rate, mean_latency=0.1, error_probability=p), n=n, rng=3
    )
    want = math.exp(-lam)
    se = math.sqrt(want * (1 - want) / n)
    assert abs(oc.p_promote - want) < 4 * se
    assert oc.p_rollback == 0.0
    assert oc.p_promote + oc.p_abort == 1.0
    low, high = oc.confidence_interval("p_promote")
    assert low < oc.p_promote < high
    # exposure: every rollout serves the candidate up to its deciding window
    assert oc.exposure > 0


def test_equal_candidate_promotes_and_bad_candidate_rolls_back() -> None:
    spec = tutorial_spec()
    good = operating_characteristics(spec, Scenario(request_rate=5.0, mean_latency=0.1), n=500,
                                     rng=1)
    assert good.p_promote > 0.99
    assert good.time_to_decision == 240.0
    bad = operating_characteristics(spec, Scenario(request_rate=5.0, mean_latency=(0.1, 0.3)),
                                    n=500, rng=1)
    assert bad.p_rollback == 1.0
    assert bad.confidence_interval("exposure")[0] < bad.exposure


def test_seeded_and_chunk_independent() -> None:
    spec = tutorial_spec()
    sc = Scenario(request_rate=2.0, mean_latency=(0.15, 0.18))
    a = operating_characteristics(spec, sc, n=300, rng=7)
    b = operating_characteristics(spec, sc, n=300, rng=7)
    assert a == b
    np.testing.assert_array_equal(a.outcome, b.outcome)
    d = a.to_dict()
    assert d["p_promote_low"] <= d["p_promote"] <= d["p_promote_high"]


def test_bad_arguments_raise() -> None:
    spec = tutorial_spec()
    sc = Scenario(request_rate=2.0, mean_latency=0.1)
    with pytest.raises(SpecError, match="`n` must be an integer >= 1"):
        operating_characteristics(spec, sc, n=0)
    with pytest.raises(SpecError, match="`rng` must be"):
        operating_characteristics(spec, sc, n=2, rng="x")
    oc = operating_characteristics(spec, sc, n=2, rng=1)
    with pytest.raises(SpecError, match="`name` must be one of"):
        oc.confidence_interval("nope")
