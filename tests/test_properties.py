"""Hypothesis properties of the vectorized ``check_and_increment``.

(a) the batched ``step`` equals the plain-Python oracle (``tests/oracle.py``) slice by slice,
    under ``missing="iter8"``, over several consecutive assessments;
(b) the batched ``step`` equals a loop of 0-d-batch ``step`` calls under the default
    missing policy (and warns about as many slices);
(c) traffic stays within [0, max] and never decreases;
(d) identical observations hold traffic;
(e) a better candidate value never gets a worse verdict;
(f) verdicts are invariant to the order of the batch;
(g) spec arrays broadcast against the batch (and a shape that does not raises ``SpecError``);
(h) a whole run equals the oracle's runner, slice by slice.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from typing import Any

import numpy as np
import oracle
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle_criteria import criteria_from_oracle

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    InsufficientDataWarning,
    Observations,
    Outcome,
    SpecError,
    TrafficControl,
    Verdict,
)

F64 = np.float64

# --------------------------------------------------------------------------- strategies

COUNTS = st.one_of(
    st.sampled_from([0.0, math.nan, 9.9996, 9.9994, 10.0, 10.4, 3.5, 12.0, 20.0, 0.0005]),
    st.floats(0.0, 60.0),
)
VALUES = st.one_of(
    st.sampled_from([0.0, math.nan, 0.2, 0.2004, 0.2525, 0.1, 0.3, 1.0, 2.0, 5.0, 18.0, -0.1]),
    st.floats(0.0, 20.0),
)
THRESHOLDS = st.one_of(st.sampled_from([0.0, 0.2, 0.25, 1.0, 5.0, 10.0]), st.floats(-1.0, 20.0))
DELTAS = st.one_of(st.sampled_from([0.0, 0.02, 0.1, 0.5]), st.floats(0.0, 2.0))
SAMPLE_SIZES = st.one_of(st.sampled_from([0.0, 5.0, 10.0]), st.floats(0.0, 30.0))
STEPS = st.one_of(st.sampled_from([2.0, 10.0, 20.0, 25.0, 100.0]), st.floats(0.5, 100.0))
MAXES = st.one_of(st.sampled_from([50.0, 100.0, 30.0, 0.0]), st.floats(0.0, 100.0))


@st.composite
def param_shapes(draw: st.DrawFn, batch: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``batch`` (trailing-aligned, dims 1 or full)."""
    k = draw(st.integers(0, len(batch)))
    return tuple(draw(st.sampled_from([1, n])) for n in batch[len(batch) - k :])


@st.composite
def params(draw: st.DrawFn, batch: tuple[int, ...], elements: st.SearchStrategy[float]) -> Any:
    """A scalar, or an array that broadcasts against ``batch``."""
    if draw(st.booleans()):
        return draw(elements)
    shape = draw(param_shapes(batch))
    return draw(hnp.arrays(F64, shape, elements=elements))


@st.composite
def criteria_specs(draw: st.DrawFn, batch: tuple[int, ...]) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        ttype = draw(st.sampled_from(["threshold", "delta"]))
        out.append(
            {
                "metric": f"m{i}",
                "type": ttype,
                "tolerance": draw(params(batch, THRESHOLDS if ttype == "threshold" else DELTAS)),
                "sample_size": draw(params(batch, SAMPLE_SIZES)),
                "stop_on_failure": draw(st.booleans()),
                "is_counter": ttype == "threshold" and draw(st.booleans()),
                "absent_value": draw(st.sampled_from(["0.0", "None", "0.5", "3"])),
            }
        )
    return out


@st.composite
def observation_series(
    draw: st.DrawFn, batch: tuple[int, ...], crits: list[dict[str, Any]], n_steps: int
) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per step and metric, ``(count, value)`` arrays of shape (*batch, 2).

    A step either repeats the previous observations, repeats them in part, or is new, so that
    Iter8's change detection sees both changes and no changes.
    """
    shape = (*batch, 2)
    series: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
    for k in range(n_steps):
        mode = "new" if k == 0 else draw(st.sampled_from(["new", "same", "partial"]))
        obs = {}
        for c in crits:
            count = draw(hnp.arrays(F64, shape, elements=COUNTS))
            value = draw(hnp.arrays(F64, shape, elements=VALUES))
            if mode != "new":
                old_count, old_value = series[-1][c["metric"]]
                if mode == "same":
                    count, value = old_count, old_value
                else:
                    keep = draw(hnp.arrays(np.bool_, shape))
                    count = np.where(keep, old_count, count)
                    value = np.where(keep, old_value, value)
            obs[c["metric"]] = (count, value)
        series.append(obs)
    return series


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 4) -> dict[str, Any]:
    batch = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    crits = draw(criteria_specs(batch))
    n_steps = draw(st.integers(1, max_steps))
    return {
        "batch": batch,
        "criteria": crits,
        "step_size": draw(params(batch, STEPS)),
        "max_traffic_percent": draw(params(batch, MAXES)),
        "series": draw(observation_series(batch, crits, n_steps)),
    }


# --------------------------------------------------------------------------- builders


def make_spec(
    sc: dict[str, Any], missing: str, *, max_iterations: int = 100, on_success: str = "candidate"
) -> ExperimentSpec:
    return ExperimentSpec(
        name="prop",
        target_service="svc",
        baseline="v1",
        candidate="v2",
        traffic_control=TrafficControl(
            step_size=sc["step_size"],
            max_traffic_percent=sc["max_traffic_percent"],
            max_iterations=max_iterations,
            on_success=on_success,
        ),
        criteria=criteria_from_oracle(sc["criteria"], missing),
    )


def make_obs(step_obs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Observations]:
    return {m: Observations(count=cv[0], value=cv[1]) for m, cv in step_obs.items()}


def at(value: Any, batch: tuple[int, ...], idx: tuple[int, ...]) -> float:
    """The scalar a broadcasting parameter takes at batch index ``idx``."""
    return float(np.broadcast_to(np.asarray(value, dtype=F64), batch)[idx])


def slice_scenario(sc: dict[str, Any], idx: tuple[int, ...]) -> dict[str, Any]:
    """The 0-d scenario of one batch slice (scalar parameters, observations of shape (2,))."""
    batch = sc["batch"]
    crits = [
        {
            **c,
            "tolerance": at(c["tolerance"], batch, idx),
            "sample_size": at(c["sample_size"], batch, idx),
        }
        for c in sc["criteria"]
    ]
    return {
        "batch": (),
        "criteria": crits,
        "step_size": at(sc["step_size"], batch, idx),
        "max_traffic_percent": at(sc["max_traffic_percent"], batch, idx),
        "series": [
            {m: (cv[0][idx], cv[1][idx]) for m, cv in step.items()} for step in sc["series"]
        ],
    }


def oracle_observed(sc0: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """The oracle's per-criterion observation of assessment ``k`` of a 0-d scenario."""
    out = []
    for c in sc0["criteria"]:
        count, value = sc0["series"][k][c["metric"]]
        out.append(
            {ver: (float(count[v]), float(value[v])) for v, ver in enumerate(oracle.VERSIONS)}
        )
    return out


def run_steps(spec: ExperimentSpec, sc: dict[str, Any]) -> list[tuple[Any, Any]]:
    state = cs.initial_state(spec, sc["batch"])
    out = []
    for step_obs in sc["series"]:
        state, result = cs.step(spec, state, make_obs(step_obs))
        out.append((state, result))
    return out


_WARNING = re.compile(r"^(\d+) of \d+ slices of criterion '([^']*)' \(([^)]*)\)")


def warned_slices(records: list[warnings.WarningMessage]) -> Counter[tuple[str, str]]:
    """How many slices the InsufficientDataWarnings counted, per (metric, kind)."""
    counts: Counter[tuple[str, str]] = Counter()
    for rec in records:
        assert issubclass(rec.category, InsufficientDataWarning)
        m = _WARNING.match(str(rec.message))
        assert m, str(rec.message)
        counts[(m.group(2), m.group(3))] += int(m.group(1))
    return counts


def quiet_steps(spec: ExperimentSpec, sc: dict[str, Any]) -> tuple[list[Any], Counter[Any]]:
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always", InsufficientDataWarning)
        out = run_steps(spec, sc)
    return out, warned_slices(records)


# --------------------------------------------------------------------------- (a) oracle


@given(scenarios())
def test_step_equals_oracle_per_slice(sc: dict[str, Any]) -> None:
    spec = make_spec(sc, "iter8")
    steps, _ = quiet_steps(spec, sc)  # only inf counts warn under iter8; none are drawn
    for idx in np.ndindex(*sc["batch"]):
        sc0 = slice_scenario(sc, idx)
        crits0 = sc0["criteria"]
        tc0 = {"step_size": sc0["step_size"], "max_traffic_percent": sc0["max_traffic_percent"]}
        last: dict[str, Any] | None = None
        aborted = False
        prev_traffic = [100.0, 0.0]
        for k, (state, result) in enumerate(steps):
            if aborted:  # Iter8's controller stops calling the analytics after an abort
                assert not result.active[idx]
                assert state.traffic[idx].tolist() == prev_traffic
                continue
            want = oracle.check_and_increment(crits0, tc0, last, oracle_observed(sc0, k))
            assert result.active[idx]
            assert result.traffic[idx].tolist() == [
                want["baseline_traffic"],
                want["candidate_traffic"],
            ], (k, idx)
            assert state.traffic[idx].tolist() == result.traffic[idx].tolist()
            assert oracle.info_lists(np.asarray(state.info[idx])) == want["info"], (k, idx)
            assert (result.verdicts[idx] == Verdict.PASS).tolist() == want["met"], (k, idx)
            assert result.aborts[idx].tolist() == want["abort"], (k, idx)
            assert bool(result.all_passed[idx]) is want["all_met"]
            assert bool(result.abort[idx]) is want["abort_experiment"]
            assert bool(result.changed[idx]) is want["changed"]
            last = want["state"]
            aborted = want["abort_experiment"]
            prev_traffic = result.traffic[idx].tolist()


# --------------------------------------------------------------------------- (b) 0-d loop


@given(scenarios(), st.sampled_from(["inconclusive", "iter8"]))
def test_step_equals_loop_of_0d_steps(sc: dict[str, Any], missing: str) -> None:
    spec = make_spec(sc, missing)
    steps, warned = quiet_steps(spec, sc)
    warned_loop: Counter[tuple[str, str]] = Counter()
    for idx in np.ndindex(*sc["batch"]):
        sc0 = slice_scenario(sc, idx)
        steps0, warned0 = quiet_steps(make_spec(sc0, missing), sc0)
        warned_loop += warned0
        for (state, result), (state0, result0) in zip(steps, steps0, strict=True):
            assert result.verdicts[idx].tolist() == result0.verdicts.tolist()
            assert result.reasons[idx].tolist() == result0.reasons.tolist()
            assert result.aborts[idx].tolist() == result0.aborts.tolist()
            assert bool(result.all_passed[idx]) == bool(result0.all_passed)
            assert bool(result.abort[idx]) == bool(result0.abort)
            assert bool(result.changed[idx]) == bool(result0.changed)
            assert result.traffic[idx].tolist() == result0.traffic.tolist()
            assert state.traffic[idx].tolist() == state0.traffic.tolist()
            assert bool(state.done[idx]) == bool(state0.done)
            np.testing.assert_array_equal(state.info[idx], state0.info)
    # One warning per update counts the slices; a loop of 0-d calls counts the same slices.
    assert warned == warned_loop


# --------------------------------------------------------------------------- (c) traffic bounds


@given(scenarios(max_steps=6), st.sampled_from(["inconclusive", "iter8"]))
def test_traffic_within_bounds_and_never_decreasing(sc: dict[str, Any], missing: str) -> None:
    spec = make_spec(sc, missing)
    steps, _ = quiet_steps(spec, sc)
    max_pct = np.broadcast_to(np.asarray(sc["max_traffic_percent"], dtype=F64), sc["batch"])
    last = np.zeros(sc["batch"])
    for state, result in steps:
        cand = state.traffic[..., 1]
        assert (cand >= 0).all()
        assert (cand <= max_pct).all()
        assert (cand >= last).all()
        np.testing.assert_array_equal(state.traffic[..., 0], 100.0 - cand)
        assert (result.traffic[..., 1] >= last).all()
        last = cand


# --------------------------------------------------------------------------- (d) no change


@given(scenarios(max_steps=1), st.integers(1, 3))
def test_identical_observations_hold_traffic(sc: dict[str, Any], repeats: int) -> None:
    # Under missing="iter8" (for the default policy see test_reference_iter8's pinned case).
    spec = make_spec(sc, "iter8")
    sc = {**sc, "series": sc["series"] * (repeats + 1)}
    steps, _ = quiet_steps(spec, sc)
    first_state, _ = steps[0]
    for state, result in steps[1:]:
        live = result.active
        assert not result.changed[live].any()
        np.testing.assert_array_equal(state.traffic, first_state.traffic)
        np.testing.assert_array_equal(state.info, first_state.info)


# --------------------------------------------------------------------------- (e) monotonicity


@st.composite
def monotone_cases(draw: st.DrawFn) -> dict[str, Any]:
    batch = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5))
    ttype = draw(st.sampled_from(["threshold", "delta"]))
    direction = draw(st.sampled_from(["lower", "higher"]))
    nonneg = st.one_of(st.sampled_from([0.0, 0.1, 0.2, 0.2525, 1.0]), st.floats(0.0, 10.0))
    if ttype == "delta":
        tol_el = st.floats(0.0, 1.0) if direction == "higher" else DELTAS
    else:
        tol_el = nonneg
    shape = (*batch, 2)
    return {
        "criterion": Criterion(
            metric="m",
            tolerance_type=ttype,
            tolerance=draw(params(batch, tol_el)),
            sample_size=draw(params(batch, SAMPLE_SIZES)),
            direction=direction,
            stop_on_failure=draw(st.booleans()),
            is_counter=ttype == "threshold" and draw(st.booleans()),
            missing=draw(st.sampled_from(["inconclusive", "iter8"])),
            absent_value=draw(st.sampled_from(["0.0", "None"])),
        ),
        "count": draw(hnp.arrays(F64, shape, elements=COUNTS)),
        "value": draw(hnp.arrays(F64, shape, elements=nonneg)),
        "improvement": draw(hnp.arrays(F64, batch, elements=st.floats(0.0, 10.0))),
    }


@given(monotone_cases())
def test_better_candidate_never_gets_a_worse_verdict(case: dict[str, Any]) -> None:
    crit = case["criterion"]
    value = case["value"]
    better = value.copy()
    if crit.direction == "lower":
        better[..., 1] = np.maximum(value[..., 1] - case["improvement"], 0.0)
    else:
        better[..., 1] = value[..., 1] + case["improvement"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        worse_res = cs.evaluate_criterion(crit, Observations(count=case["count"], value=value))
        better_res = cs.evaluate_criterion(crit, Observations(count=case["count"], value=better))
    assert (better_res.verdict >= worse_res.verdict).all()
    # ... and never aborts where the worse one did not.
    assert (~better_res.abort | worse_res.abort).all()


# --------------------------------------------------------------------------- (f) batch order


@given(scenarios(), st.sampled_from(["inconclusive", "iter8"]), st.randoms(use_true_random=False))
def test_verdicts_invariant_to_batch_order(sc: dict[str, Any], missing: str, rnd: Any) -> None:
    batch = sc["batch"]
    perm = list(range(batch[0]))
    rnd.shuffle(perm)

    def permute(x: Any) -> Any:
        # A parameter with a full leading batch axis is permuted with the batch.
        if isinstance(x, np.ndarray) and x.ndim == len(batch) and x.shape[0] == batch[0]:
            return x[perm]
        return x

    sc_p = {
        **sc,
        "criteria": [
            {**c, "tolerance": permute(c["tolerance"]), "sample_size": permute(c["sample_size"])}
            for c in sc["criteria"]
        ],
        "step_size": permute(sc["step_size"]),
        "max_traffic_percent": permute(sc["max_traffic_percent"]),
        "series": [
            {m: (cv[0][perm], cv[1][perm]) for m, cv in step.items()} for step in sc["series"]
        ],
    }
    steps, _ = quiet_steps(make_spec(sc, missing), sc)
    steps_p, _ = quiet_steps(make_spec(sc_p, missing), sc_p)
    for (state, result), (state_p, result_p) in zip(steps, steps_p, strict=True):
        for name in ("verdicts", "reasons", "aborts", "all_passed", "abort", "traffic"):
            np.testing.assert_array_equal(getattr(result, name)[perm], getattr(result_p, name))
        np.testing.assert_array_equal(state.info[perm], state_p.info)


# --------------------------------------------------------------------------- (g) broadcasting


@given(
    st.integers(1, 4),
    st.integers(1, 5),
    st.data(),
    st.sampled_from(["inconclusive", "iter8"]),
)
def test_tolerance_grid_equals_scalar_calls(k: int, m: int, data: Any, missing: str) -> None:
    tol = data.draw(hnp.arrays(F64, (k, 1), elements=THRESHOLDS))
    need = data.draw(hnp.arrays(F64, (k, 1), elements=SAMPLE_SIZES))
    count = data.draw(hnp.arrays(F64, (k, m, 2), elements=COUNTS))
    value = data.draw(hnp.arrays(F64, (k, m, 2), elements=VALUES))
    common = {
        "metric": "m",
        "tolerance_type": "threshold",
        "missing": missing,
        "stop_on_failure": True,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        grid = cs.evaluate_criterion(
            Criterion(tolerance=tol, sample_size=need, **common),
            Observations(count=count, value=value),
        )
        for i in range(k):
            one = cs.evaluate_criterion(
                Criterion(tolerance=float(tol[i, 0]), sample_size=float(need[i, 0]), **common),
                Observations(count=count[i], value=value[i]),
            )
            np.testing.assert_array_equal(grid.verdict[i], one.verdict)
            np.testing.assert_array_equal(grid.reason[i], one.reason)
            np.testing.assert_array_equal(grid.abort[i], one.abort)


def _spec_with(**kw: Any) -> ExperimentSpec:
    crit_kw = {k: kw.pop(k) for k in ("tolerance", "sample_size") if k in kw}
    return ExperimentSpec(
        name="x",
        target_service="s",
        baseline="a",
        candidate="b",
        traffic_control=TrafficControl(**kw),
        criteria=[
            Criterion(metric="m", tolerance_type="threshold", **{"tolerance": 0.2, **crit_kw})
        ],
    )


@pytest.mark.parametrize(
    ("field", "shape"),
    [
        ("tolerance", (3,)),
        ("tolerance", (2, 4, 1)),
        ("sample_size", (4, 2)),
        ("step_size", (3, 1)),
        ("max_traffic_percent", (5,)),
    ],
)
def test_non_broadcasting_spec_array_raises(field: str, shape: tuple[int, ...]) -> None:
    # batch (2, 4): a parameter of shape (3,), (4, 2), (3, 1) or (5,) does not broadcast, and
    # (2, 4, 1) would grow the batch.
    spec = _spec_with(**{field: np.full(shape, 10.0)})
    obs = {"m": Observations(count=np.full((2, 4, 2), 20.0), value=np.full((2, 4, 2), 0.1))}
    with pytest.raises(SpecError, match=f"`{field}`"):
        cs.step(spec, cs.initial_state(spec, (2, 4)), obs)


# --------------------------------------------------------------------------- (h) whole runs


@given(
    scenarios(max_steps=5),
    st.sampled_from(["candidate", "baseline", "both"]),
    st.data(),
)
def test_run_experiment_equals_oracle_runner(
    sc: dict[str, Any], on_success: str, data: Any
) -> None:
    max_iterations = data.draw(st.integers(0, len(sc["series"]) - 1))
    spec = make_spec(sc, "iter8", max_iterations=max_iterations, on_success=on_success)
    asked: list[int] = []

    def observe(k: int, window: float, routed: np.ndarray) -> dict[str, Observations]:
        asked.append(k)
        return make_obs(sc["series"][k])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsufficientDataWarning)
        run = cs.run_experiment(spec, observe, batch_shape=sc["batch"])
    codes = {
        "candidate": Outcome.PROMOTE,
        "baseline": Outcome.KEEP_BASELINE,
        "both": Outcome.KEEP_SPLIT,
    }
    for idx in np.ndindex(*sc["batch"]):
        sc0 = slice_scenario(sc, idx)
        want = oracle.run(
            sc0["criteria"],
            {"step_size": sc0["step_size"], "max_traffic_percent": sc0["max_traffic_percent"]},
            [oracle_observed(sc0, k) for k in range(max_iterations + 1)],
            max_iterations=max_iterations,
            on_success=on_success,
        )
        want_code = codes[on_success] if want["passed"] else Outcome.ROLLBACK
        assert run.outcome[idx] == want_code, idx
        assert tuple(run.final_traffic[idx].tolist()) == want["split"], idx
        assert run.end_iteration[idx] == want["end_iteration"], idx
    assert asked == list(range(len(asked)))
    assert len(asked) <= max_iterations + 1
