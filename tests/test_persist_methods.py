"""Every registered criterion method's state survives the JSON round trip, inside a State."""

from __future__ import annotations

import numpy as np
import pytest

import canarystats as cs
from canarystats.strategies.persist import registered_state_types, state_from_json, state_to_json


def _spec(method: str, **tc: object) -> cs.ExperimentSpec:
    extra: dict[str, object] = {}
    if method == "group_sequential":
        extra["options"] = {"looks": 4}
    criterion = cs.Criterion(
        metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2, sample_size=10, method=method, **extra
    )
    return cs.ExperimentSpec(
        name="e",
        target_service="s",
        baseline="a",
        candidate="b",
        traffic_control=cs.TrafficControl(step_size=10, **tc),  # type: ignore[arg-type]
        criteria=[criterion],
    )


def _series(rng: np.random.Generator, looks: int = 3) -> list[dict[str, cs.Observations]]:
    """Cumulative error-rate observations of 5 experiments at `looks` assessments."""
    per_look = np.full((looks, 5, 2), 400.0)
    count = np.cumsum(per_look, axis=0)
    errors = np.cumsum(rng.binomial(per_look.astype(np.int64), 0.05), axis=0).astype(float)
    return [
        {"iter8_error_rate": cs.Observations(count=count[k], value=errors[k] / count[k], successes=errors[k])}
        for k in range(looks)
    ]


@pytest.mark.parametrize(
    ("method", "srm_check"),
    [
        ("point", False),
        ("bayes", False),
        ("sequential", False),
        ("sequential", True),  # the sample-ratio guard's state rides along
        ("fixed", False),
        ("group_sequential", False),
    ],
)
def test_state_round_trip_after_steps(method: str, srm_check: bool) -> None:
    spec = _spec(method, srm_check=srm_check)
    series = _series(np.random.default_rng(7))
    state = cs.initial_state(spec, (5,))
    for obs in series[:2]:
        state, _ = cs.step(spec, state, obs)
    text = state_to_json(state)
    restored = state_from_json(text)
    assert restored == state
    assert state_to_json(restored) == text
    (a, ra), (b, rb) = cs.step(spec, state, series[2]), cs.step(spec, restored, series[2])
    assert a == b
    assert np.array_equal(ra.verdicts, rb.verdicts)
    assert np.array_equal(ra.traffic, rb.traffic)


def test_every_method_state_type_is_registered() -> None:
    names = set(registered_state_types())
    assert {"point", "bayes", "sequential", "fixed", "group_sequential", "ranks", "sample_ratio"} <= names
