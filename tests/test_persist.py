"""Persistent state: ``State`` as versioned JSON, and Iter8's ``_last_state``."""

from __future__ import annotations

import json
import math
from typing import Any

import attrs
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

import canarystats as cs
from canarystats import Criterion, ExperimentSpec, Observations, SpecError, State, TrafficControl
from canarystats.adapters.iter8 import state_from_iter8, state_to_iter8
from canarystats.methods.point import PointState
from canarystats.strategies.persist import (
    FORMAT,
    VERSION,
    register_state_type,
    registered_state_types,
    state_from_json,
    state_to_json,
)

# --------------------------------------------------------------------------- comparison


def assert_same_array(a: NDArray[Any], b: NDArray[Any]) -> None:
    """Same dtype, shape, read-only flag and values (floats bit for bit; NaN as NaN)."""
    assert isinstance(b, np.ndarray)
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert not b.flags.writeable
    if a.dtype.kind == "f":
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        assert np.array_equal(nan_a, nan_b)
        bits = np.dtype(f"u{a.dtype.itemsize}")
        assert np.array_equal(
            np.where(nan_a, 0, a).view(bits), np.where(nan_b, 0, b).view(bits)
        )
    else:
        assert np.array_equal(a, b)


def assert_same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert_same_array(a, b)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    elif attrs.has(type(a)):
        for f in attrs.fields(type(a)):
            assert_same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b
        if isinstance(a, float):
            assert math.copysign(1.0, a) == math.copysign(1.0, b)


def _ro(arr: NDArray[Any]) -> NDArray[Any]:
    arr = np.array(arr)
    arr.flags.writeable = False
    return arr


def assert_batch_last(state: State) -> None:
    """``State.info`` laid out as ``initial_state`` lays it out (batch axes last in memory)."""
    ref = cs.initial_state(
        ExperimentSpec(
            name="e",
            target_service="s",
            baseline="b",
            candidate="c",
            criteria=[criterion(i) for i in range(state.info.shape[-3])],
        ),
        state.batch_shape,
    )
    # strides of axes of length 1 mean nothing
    def layout(info: NDArray[Any]) -> list[int]:
        return [s for s, n in zip(info.strides, info.shape, strict=True) if n > 1]

    assert layout(state.info) == layout(ref.info)


# --------------------------------------------------------------------------- random states


def criterion(i: int) -> Criterion:
    kind = "threshold" if i % 2 == 0 else "delta"
    return Criterion(
        metric=f"m{i}",
        tolerance_type=kind,
        tolerance=0.5,
        sample_size=5,
        stop_on_failure=i == 2,
        missing="iter8",
    )


def spec_for(n_criteria: int) -> ExperimentSpec:
    return ExperimentSpec(
        name="persist",
        target_service="s",
        baseline="b",
        candidate="c",
        traffic_control=TrafficControl(step_size=10, max_iterations=1000),
        criteria=[criterion(i) for i in range(n_criteria)],
    )


floats = st.floats(width=64) | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324])


def farr(shape: tuple[int, ...]) -> st.SearchStrategy[NDArray[np.float64]]:
    return hnp.arrays(np.float64, shape, elements=floats)


@st.composite
def states(draw: st.DrawFn, *, steppable: bool = False, zero_d: bool = False) -> State:
    batch = () if zero_d else draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    n_crit = draw(st.integers(0, 3))
    info_values = (
        st.sampled_from([math.nan, 0.0, 3.0, 12.0, 0.25]) if steppable else floats
    )
    info = draw(hnp.arrays(np.float64, (*batch, n_crit, 2, 2), elements=info_values))
    traffic = draw(
        hnp.arrays(np.float64, (*batch, 2), elements=st.sampled_from([0.0, 2.0, 50.0, 98.0, math.nan]))
        if steppable
        else farr((*batch, 2))
    )
    ints = st.integers(0, 1000) if steppable else st.integers(-(2**63), 2**63 - 1)
    method_states = []
    for _ in range(n_crit):
        n = _ro(draw(farr((*batch, 2))))
        v = _ro(draw(farr((*batch, 2))))
        method_states.append(PointState(n=n, value=v))
    return State(
        traffic=traffic,
        iteration=draw(hnp.arrays(np.int64, batch, elements=ints)),
        done=draw(hnp.arrays(np.bool_, batch)),
        aborted=draw(hnp.arrays(np.bool_, batch)),
        passed=draw(hnp.arrays(np.bool_, batch)),
        info=info,
        method_states=tuple(method_states),
    )


# --------------------------------------------------------------------------- round trips


@given(states())
def test_json_round_trip_keeps_every_field(state: State) -> None:
    text = state_to_json(state)
    json.loads(text)  # strict JSON
    assert "NaN" not in text
    assert "Infinity" not in text
    loaded = state_from_json(text)
    assert_same(state, loaded)
    assert_batch_last(loaded)
    assert State.from_json(state.to_json()).to_json() == text


@given(states(steppable=True), st.data())
def test_stepping_the_loaded_state_equals_stepping_the_original(
    state: State, data: st.DataObject
) -> None:
    n_crit = state.info.shape[-3]
    spec = spec_for(n_crit)
    batch = state.batch_shape
    values = st.sampled_from([0.0, 0.1, 0.5, 0.75, 3.0])
    counts = st.sampled_from([0.0, 4.0, 5.0, 9.9996, 30.0])
    obs = {
        f"m{i}": Observations(
            count=data.draw(hnp.arrays(np.float64, (*batch, 2), elements=counts)),
            value=data.draw(hnp.arrays(np.float64, (*batch, 2), elements=values)),
        )
        for i in range(n_crit)
    }
    loaded = state_from_json(state_to_json(state))
    new_a, result_a = cs.step(spec, state, obs)
    new_b, result_b = cs.step(spec, loaded, obs)
    _same_values(new_a, new_b)
    for f in attrs.fields(type(result_a)):
        _same_values(getattr(result_a, f.name), getattr(result_b, f.name))


def _same_values(a: Any, b: Any) -> None:
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    elif attrs.has(type(a)):
        for f in attrs.fields(type(a)):
            _same_values(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same_values(x, y)
    else:
        assert a == b


def test_a_stepped_state_round_trips_exactly() -> None:
    spec = spec_for(3)
    state = cs.initial_state(spec, (4, 2))
    rng = np.random.default_rng(7)
    obs = {
        f"m{i}": Observations(count=rng.uniform(0, 20, (4, 2, 2)), value=rng.uniform(0, 1, (4, 2, 2)))
        for i in range(3)
    }
    for _ in range(3):
        state, _ = cs.step(spec, state, obs)
    loaded = State.from_json(state.to_json())
    assert_same(state, loaded)
    assert loaded == state
    assert_batch_last(loaded)


@attrs.frozen(kw_only=True)
class _ToyState:
    """A method state of a method that does not exist yet: every kind of field."""

    p: float
    k: int
    flag: bool
    label: str
    nothing: None
    counts: NDArray[np.int8]
    small: NDArray[np.float32]
    scalar: np.float64
    nested: tuple[Any, ...]


register_state_type(_ToyState, "test-toy")


def test_registered_method_states_plug_in() -> None:
    assert registered_state_types()["point"] is PointState
    inner = PointState(n=_ro(np.array([1.0, np.nan])), value=_ro(np.array([-0.0, np.inf])))
    toy = _ToyState(
        p=-math.inf,
        k=-(2**62),
        flag=True,
        label="bayes: alpha/beta",
        nothing=None,
        counts=_ro(np.array([[-128, 127]], dtype=np.int8)),
        small=_ro(np.array([1.1, np.nan], dtype=np.float32)),
        scalar=np.float64(0.1),
        nested=(inner, 2.5, (None, "x")),
    )
    state = attrs.evolve(cs.initial_state(spec_for(2), ()), method_states=(toy, inner))
    loaded = state_from_json(state_to_json(state))
    assert_same(state.method_states[1], loaded.method_states[1])
    got = loaded.method_states[0]
    assert isinstance(got, _ToyState)
    assert (got.p, got.k, got.flag, got.label, got.nothing) == (-math.inf, -(2**62), True, toy.label, None)
    assert_same_array(toy.counts, got.counts)
    assert_same_array(toy.small, got.small)
    assert type(got.scalar) is np.float64
    assert got.scalar == 0.1
    assert_same(toy.nested, got.nested)


def test_registering_conflicts_is_an_error() -> None:
    register_state_type(_ToyState, "test-toy")  # the same pair again is fine
    with pytest.raises(SpecError, match="'point' is PointState"):
        register_state_type(_ToyState, "point")
    with pytest.raises(SpecError, match="must be an attrs class"):
        register_state_type(dict, "dict")
    with pytest.raises(SpecError, match="non-empty string"):
        register_state_type(_ToyState, "")


# --------------------------------------------------------------------------- errors


def _document() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(state_to_json(cs.initial_state(spec_for(1), (2,))))
    return result


def test_unknown_format_is_an_error() -> None:
    doc = _document()
    doc["format"] = "iter8.last_state"
    with pytest.raises(SpecError, match="not a canarystats state: `format` must be 'canarystats.state', got 'iter8.last_state'"):
        state_from_json(json.dumps(doc))
    with pytest.raises(SpecError, match="not a canarystats state"):
        state_from_json("[1, 2]")


def test_newer_version_is_an_error() -> None:
    doc = _document()
    assert (doc["format"], doc["version"]) == (FORMAT, VERSION) == ("canarystats.state", 2)
    doc["version"] = VERSION + 1
    with pytest.raises(SpecError, match="format version 3, newer than the version 2 .* upgrade canarystats"):
        state_from_json(json.dumps(doc))
    for bad in (0, "1", None, True):
        doc["version"] = bad
        with pytest.raises(SpecError, match="`version` of a canarystats state must be an integer >= 1"):
            state_from_json(json.dumps(doc))


def test_unknown_state_type_is_an_error() -> None:
    doc = _document()
    doc["fields"]["method_states"]["items"][0]["type"] = "no_such_method"
    with pytest.raises(SpecError, match="unknown method-state type 'no_such_method'.*registered types are \\[.*'point'"):
        state_from_json(json.dumps(doc))


def test_writing_an_unregistered_state_type_is_an_error() -> None:
    @attrs.frozen
    class Unregistered:
        x: float

    state = attrs.evolve(cs.initial_state(spec_for(1), ()), method_states=(Unregistered(1.0),))
    with pytest.raises(SpecError, match="not a registered method-state type"):
        state_to_json(state)
    with pytest.raises(SpecError, match="`state` must be a State"):
        state_to_json({})  # type: ignore[arg-type]


def _malformed(change: Any) -> str:
    doc = _document()
    change(doc)
    return json.dumps(doc)


MALFORMED = [
    ("{not json", "must be JSON text"),
    (_malformed(lambda d: d.pop("fields")), r"`document.fields` is missing"),
    (_malformed(lambda d: d["fields"].pop("traffic")), r"`fields.fields` of a State must be"),
    (_malformed(lambda d: d["fields"]["traffic"].update(dtype="complex128")), r"`fields.traffic.dtype` must name a bool, integer or float dtype"),
    (_malformed(lambda d: d["fields"]["traffic"].update(dtype="object")), r"must name a bool, integer or float dtype"),
    (_malformed(lambda d: d["fields"]["traffic"].update(shape=[3, -1])), r"`fields.traffic.shape` must be a list of sizes"),
    (_malformed(lambda d: d["fields"]["traffic"].update(data=[1.0])), r"`fields.traffic.data` must hold 4 values, got 1"),
    (_malformed(lambda d: d["fields"]["traffic"]["data"].__setitem__(0, "NaN")), r"`fields.traffic.data\[0\]` holds 'NaN', not a number"),
    (_malformed(lambda d: d["fields"]["done"]["data"].__setitem__(0, 0)), r"`fields.done.data` must hold true / false only"),
    (_malformed(lambda d: d["fields"]["iteration"]["data"].__setitem__(0, 1.5)), r"`fields.iteration.data` must hold integers only"),
    (_malformed(lambda d: d["fields"]["iteration"]["data"].__setitem__(0, 2**64)), r"`fields.iteration`"),
    (_malformed(lambda d: d["fields"]["traffic"].update(kind="matrix")), r"`fields.traffic.kind` 'matrix' is not known"),
    (_malformed(lambda d: d["fields"]["method_states"].update(items=3)), r"`fields.method_states.items` must be a list"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_documents_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        state_from_json(text)


# --------------------------------------------------------------------------- Iter8 _last_state


pairs = st.tuples(
    st.integers(0, 10**6),
    st.none() | st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def last_states(draw: st.DrawFn) -> tuple[int, dict[str, Any]]:
    n_crit = draw(st.integers(1, 3))
    out = {}
    for version in ("baseline", "candidate"):
        k = draw(st.integers(0, n_crit))  # Iter8's lists grow one criterion at a time
        out[version] = {
            "traffic_percentage": draw(st.floats(0, 100)),
            "success_criterion_information": [list(draw(pairs)) for _ in range(k)],
        }
    return n_crit, out


@given(last_states())
def test_iter8_last_state_round_trip(case: tuple[int, dict[str, Any]]) -> None:
    n_crit, last = case
    spec = spec_for(n_crit)
    state = state_from_iter8(last, spec)
    assert state.batch_shape == ()
    assert int(state.iteration) == 1
    assert state_to_iter8(state) == last
    # and through canarystats' JSON as well
    assert state_to_iter8(state_from_json(state_to_json(state))) == last


@given(states(steppable=True, zero_d=True), st.data())
def test_state_to_iter8_and_back_steps_the_same(state: State, data: st.DataObject) -> None:
    n_crit = state.info.shape[-3]
    if n_crit == 0:
        return
    # Iter8 holds what a running experiment holds: whole sample sizes in prefix lists, no NaN
    # traffic, iteration >= 1, not done
    info = np.array(state.info)
    info[..., 0] = np.trunc(np.nan_to_num(info[..., 0], nan=0.0))
    traffic = np.array([98.0, 2.0])
    state = attrs.evolve(
        state, info=info, traffic=traffic, iteration=np.int64(3), done=np.False_
    )
    last = state_to_iter8(state)
    back = state_from_iter8(json.loads(json.dumps(last)), spec_for(n_crit))
    assert_same(back.traffic, state.traffic)
    assert_same(back.info, state.info)
    counts = st.sampled_from([0.0, 3.0, 5.0, 12.0])
    values = st.sampled_from([0.0, 0.25, 0.5, 3.0])
    obs = {
        f"m{i}": Observations(
            count=data.draw(hnp.arrays(np.float64, (2,), elements=counts)),
            value=data.draw(hnp.arrays(np.float64, (2,), elements=values)),
        )
        for i in range(n_crit)
    }
    spec = spec_for(n_crit)
    new_a, result_a = cs.step(spec, state, obs)
    new_b, result_b = cs.step(spec, back, obs)
    _same_values(result_a, result_b)
    _same_values(new_a.info, new_b.info)
    assert state_to_iter8(new_a) == state_to_iter8(new_b)


def test_iter8_first_call_state_is_empty() -> None:
    spec = spec_for(2)
    for empty in ({}, None):
        state = state_from_iter8(empty, spec)
        assert_same(state, cs.initial_state(spec, ()))
    assert state_to_iter8(cs.initial_state(spec, ())) == {}


def test_state_to_iter8_refuses_what_iter8_cannot_hold() -> None:
    spec = spec_for(2)
    state = cs.initial_state(spec, (2,))
    with pytest.raises(SpecError, match="0-d batch, got batch shape \\(2,\\)"):
        state_to_iter8(state)
    info = np.full((2, 2, 2), np.nan)
    info[1] = [[3.0, 0.5], [3.0, 0.5]]  # an entry after a missing one
    holey = attrs.evolve(cs.initial_state(spec, ()), info=info, iteration=np.int64(1))
    with pytest.raises(SpecError, match="follows a criterion without an entry"):
        state_to_iter8(holey)
    info[0] = [[np.inf, 0.5], [3.0, 0.5]]
    with pytest.raises(SpecError, match="n = inf"):
        state_to_iter8(attrs.evolve(holey, info=info))


def test_module_doctests() -> None:
    import doctest

    import canarystats.strategies.persist as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_format_1_document_reads_into_the_new_layout() -> None:
    # tests/reference/state_format1.json was written by the canarystats of commit 680f4ad
    # (tests/reference/state_format1.py): the sample-ratio guard's state at the end of
    # `method_states`, the Bayes posterior's shapes named `alpha` and `beta`
    import pathlib

    import canarystats as cs

    text = (pathlib.Path(__file__).parent / "reference" / "state_format1.json").read_text()
    assert json.loads(text)["version"] == 1
    old = cs.State.from_json(text)
    spec = cs.ExperimentSpec(
        name="v1", target_service="s", baseline="b", candidate="c",
        traffic_control=cs.TrafficControl(step_size=20, max_traffic_percent=60, srm_check=True),
        criteria=[cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.5,
                               method="bayes", options={"prior": (1.0, 1.0)}, sample_size=20),
                  cs.Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                               sample_size=5)],
    )
    count = np.array([[400.0, 100.0], [400.0, 100.0]])
    obs = {"iter8_error_rate": cs.Observations(
        count=count, value=np.array([[8, 1], [8, 6]]) / count,
        successes=np.array([[8.0, 1.0], [8.0, 6.0]])),
        "iter8_latency": cs.Observations(count=count, value=np.array([[0.1, 0.12], [0.1, 0.3]]))}
    new, _ = cs.step(spec, cs.initial_state(spec, (2,)), obs)
    assert len(old.method_states) == 2
    assert isinstance(old.sample_ratio, cs.SampleRatioState)
    assert old == new
    # and it steps on like a state of today's format
    again_old, r_old = cs.step(spec, old, obs)
    again_new, r_new = cs.step(spec, new, obs)
    assert again_old == again_new
    np.testing.assert_array_equal(r_old.verdicts, r_new.verdicts)
    assert json.loads(again_old.to_json())["version"] == 2
