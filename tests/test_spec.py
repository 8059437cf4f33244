"""Specs and observations: defaults, conversions and every documented error."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import canarystats as cs
from canarystats import Criterion, ExperimentSpec, Observations, SpecError, TrafficControl
from canarystats.spec import format_duration, parse_duration


def crit(**kw: object) -> Criterion:
    base: dict[str, object] = {
        "metric": "iter8_latency",
        "tolerance_type": "threshold",
        "tolerance": 0.2,
    }
    base.update(kw)
    return Criterion(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        # Go's time.ParseDuration documentation examples: "10h", "1h10m10s" (4210 s),
        # "1µs" and "1us" (1e-6 s), "300ms", "-1.5h", "2h45m".
        ("10h", 36000.0),
        ("1h10m10s", 4210.0),
        ("1\u00b5s", 1e-6),
        ("1us", 1e-6),
        ("300ms", 0.3),
        ("-1.5h", -5400.0),
        ("2h45m", 9900.0),
        ("30s", 30.0),
        ("1.5m", 90.0),
        ("0", 0.0),
        (".5s", 0.5),
    ],
)
def test_parse_duration_go_examples(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("text", ["", "1d", "30", "s", "1h 2m", "1.2.3s", "abc", "1m-2s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(SpecError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**15))
def test_format_duration_round_trips_whole_nanoseconds(ns: int) -> None:
    seconds = ns / 1e9
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-12)


# ------------------------------------------------------------------ Criterion


def test_criterion_defaults_follow_iter8() -> None:
    c = crit()
    assert (c.sample_size, c.stop_on_failure, c.method, c.confidence) == (10.0, False, "point", None)
    assert (c.missing, c.direction, c.absent_value, c.is_counter) == (
        "inconclusive",
        "lower",
        "None",
        False,
    )
    counter = crit(metric="iter8_error_count", tolerance=5)
    assert counter.is_counter
    assert counter.absent_value == "0.0"
    assert crit(metric="my_metric").absent_value == "0.0"
    assert np.isnan(c.absent)
    assert counter.absent == 0.0


def test_methods_of_the_design_are_either_available_or_named_as_unavailable() -> None:
    from canarystats.spec import METHODS, available_methods

    assert available_methods()[0] == "point"
    # every built-in method is available; registered plugins (tests/plugin) may add more
    assert set(METHODS) <= set(available_methods())
    for name in METHODS:
        if name in available_methods():
            assert crit(method=name).method == name
        else:
            with pytest.raises(SpecError, match=f"`method` '{name}' is not available in this version"):
                crit(method=name)


def test_criterion_array_parameters_are_read_only_and_compare() -> None:
    c = crit(tolerance=[0.1, 0.2], sample_size=[[5], [10]])
    assert isinstance(c.tolerance, np.ndarray)
    assert c.tolerance.shape == (2,)
    assert not c.tolerance.flags.writeable
    assert c == crit(tolerance=[0.1, 0.2], sample_size=[[5], [10]])
    assert c != crit(tolerance=[0.1, 0.3], sample_size=[[5], [10]])
    assert attrs.evolve(c, tolerance=0.2).tolerance == 0.2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": ""}, "`metric` must be a non-empty string"),
        ({"tolerance_type": "ratio"}, r"`tolerance_type` must be one of \['threshold', 'delta'\], got 'ratio'"),
        ({"tolerance": "high"}, "`tolerance` must be a finite number.*got 'high'"),
        ({"tolerance": np.inf}, "`tolerance` must be a finite number.*got inf"),
        ({"tolerance": [0.1, np.nan]}, "`tolerance` must be .*an array holding nan"),
        ({"sample_size": -1}, r"`sample_size` must be a finite number in \[0.0, inf\].*got -1.0"),
        ({"stop_on_failure": "yes"}, "`stop_on_failure` must be true or false, got 'yes'"),
        ({"is_counter": 1}, "`is_counter` must be true or false, got 1"),
        ({"direction": "up"}, r"`direction` must be one of \['lower', 'higher'\], got 'up'"),
        ({"method": "magic"}, r"`method` must be one of \['point'.*\], got 'magic'"),
        ({"confidence": 1.0}, r"`confidence` must be a finite number in \(0.0, 1.0\).*got 1.0"),
        ({"missing": "zero"}, r"`missing` must be one of \['inconclusive', 'iter8'\], got 'zero'"),
        ({"absent_value": 0.0}, "`absent_value` must be a string"),
        ({"extras": [1]}, "`extras` must be a mapping"),
        (
            {"metric": "iter8_error_count", "tolerance_type": "delta"},
            "`tolerance_type` 'delta' is not allowed on the counter metric 'iter8_error_count'",
        ),
        ({"tolerance_type": "delta", "tolerance": -0.1}, r"relative margin in \[0, inf\)"),
        (
            {"tolerance_type": "delta", "tolerance": 1.5, "direction": "higher"},
            r"relative margin in \[0, 1\]",
        ),
    ],
)
def test_criterion_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        crit(**kwargs)


# ------------------------------------------------------------------ TrafficControl


def test_traffic_control_defaults_follow_iter8() -> None:
    tc = TrafficControl()
    assert (tc.strategy, tc.interval, tc.step_size, tc.max_iterations) == (
        "check_and_increment",
        60.0,
        2.0,
        100,
    )
    assert (tc.max_traffic_percent, tc.on_success, tc.confidence) == (50.0, "candidate", 0.95)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30.0), (45, 45.0), (1.5, 1.5), (dt.timedelta(minutes=2), 120.0)],
)
def test_interval_conversions(value: object, seconds: float) -> None:
    assert TrafficControl(interval=value).interval == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "epsilon_greedy"}, r"`strategy` must be one of .*got 'epsilon_greedy'"),
        ({"interval": "0s"}, "`interval` must be a positive duration.*got 0.0"),
        ({"interval": "-1m"}, "`interval` must be a positive duration"),
        ({"interval": "1d"}, "invalid duration '1d'"),
        ({"interval": True}, "`interval` must be a positive duration.*got True"),
        ({"step_size": -2}, r"`step_size` must be a finite number in \(0.0, 100.0\]"),
        ({"step_size": 0}, r"`step_size` must be a finite number in \(0.0, 100.0\]"),
        ({"max_iterations": -1}, "`max_iterations` must be an integer >= 0, got -1"),
        ({"max_iterations": 2.5}, "`max_iterations` must be an integer >= 0, got 2.5"),
        ({"max_traffic_percent": 101}, r"`max_traffic_percent` must be .*\[0.0, 100.0\]"),
        ({"on_success": "canary"}, r"`on_success` must be one of \['candidate', 'baseline', 'both'\]"),
        ({"confidence": 0}, r"`confidence` must be a finite number in \(0.0, 1.0\)"),
    ],
)
def test_traffic_control_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        TrafficControl(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ ExperimentSpec


def test_experiment_spec_resolves_confidence_and_strategy() -> None:
    spec = ExperimentSpec(
        name="e",
        target_service="s",
        baseline="a",
        candidate="b",
        traffic_control=TrafficControl(confidence=0.9),
        criteria=[crit(), crit(confidence=0.99)],
    )
    assert [c.confidence for c in spec.resolved_criteria()] == [0.9, 0.99]
    assert spec.effective_strategy == "check_and_increment"
    no_criteria = attrs.evolve(spec, criteria=())
    assert no_criteria.effective_strategy == "increment_without_check"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "`name` must be a non-empty string"),
        ({"baseline": None}, "`baseline` must be a non-empty string, got None"),
        ({"traffic_control": {"step_size": 2}}, "`traffic_control` must be a TrafficControl"),
        ({"criteria": ["latency"]}, "`criteria` must be a sequence of Criterion"),
    ],
)
def test_experiment_spec_errors(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"name": "e", "target_service": "s", "baseline": "a", "candidate": "b"}
    base.update(kwargs)
    with pytest.raises(SpecError, match=match):
        ExperimentSpec(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------ Observations


def test_observations_shapes_and_indexing() -> None:
    obs = Observations(
        count=np.arange(12.0).reshape(3, 2, 2),
        value=np.ones((3, 2, 2)),
        buckets=np.ones((3, 2, 2, 3)),
        bucket_bounds=[0.1, 1.0, np.inf],
    )
    assert obs.batch_shape == (3, 2)
    assert obs.n_versions == 2
    sub = obs[1]
    assert sub.batch_shape == (2,)
    assert sub.buckets is not None
    assert sub.buckets.shape == (2, 2, 3)
    assert np.array_equal(sub.count, obs.count[1])
    assert not obs.count.flags.writeable
    assert Observations.point([[1.0, 2.0]], 0.5).value.shape == (1, 2)
    assert obs == obs[:]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"count": 3.0, "value": 1.0}, "`count` must have a last axis of versions"),
        ({"count": [1.0, 2.0], "value": [1.0]}, r"`value` must have the shape of `count` \(2,\)"),
        ({"count": [1.0, 2.0], "value": [1.0, 2.0], "successes": [[1.0]]}, "`successes` must have"),
        ({"count": [1.0, 2.0], "value": [1.0, 2.0], "buckets": [[1.0], [1.0]]}, "given together"),
        (
            {"count": [1.0, 2.0], "value": [1.0, 2.0], "buckets": [[1.0], [1.0]], "bucket_bounds": [1.0]},
            r"`bucket_bounds` must increase strictly and end in \+inf",
        ),
        (
            {"count": [1.0, 2.0], "value": [1.0, 2.0], "buckets": [1.0, 1.0], "bucket_bounds": [np.inf]},
            r"`buckets` must have shape \(\*batch, n_versions, n_buckets\)",
        ),
        ({"count": [1.0, 2.0], "value": [1.0, 2.0], "samples": [1.0, 2.0]}, "`samples` must have shape"),
    ],
)
def test_observations_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        Observations(**kwargs)  # type: ignore[arg-type]


def test_public_api_is_sorted_and_importable() -> None:
    # isort-style order (as ruff's RUF022): CONSTANTS, then Classes, then functions.
    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert list(cs.__all__) == sorted(cs.__all__, key=key)
    for name in cs.__all__:
        assert hasattr(cs, name), name
