"""Tuning: grids of operating characteristics, the Pareto front, progress bar, Dask, CLI."""

from __future__ import annotations

import json
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest

from canarystats import Scenario, SpecError, pareto_front, tune
from canarystats.cli import main
from canarystats.data.make_rollouts import tutorial_spec

SPEC = tutorial_spec()
SLOW = Scenario(request_rate=1.0, mean_latency=(0.15, 0.225))
GRID = {"sample_size": [6, 30], "step_size": [20, 40]}


def test_one_row_per_grid_point_in_grid_order() -> None:
    frame = tune(SPEC, SLOW, GRID, n=300, rng=4)
    assert frame[["sample_size", "step_size"]].to_numpy().tolist() == [
        [6, 20], [6, 40], [30, 20], [30, 40]
    ]
    assert (frame["n"] == 300).all()
    total = frame["p_promote"] + frame["p_rollback"] + frame["p_abort"]
    np.testing.assert_allclose(total, 1.0)
    for name in ("p_promote", "p_rollback", "time_to_decision", "exposure", "bad_requests"):
        assert (frame[f"{name}_low"] <= frame[name]).all()
        assert (frame[name] <= frame[f"{name}_high"]).all()
    # the larger step exposes the candidate to more traffic
    assert (frame["exposure"][frame["step_size"] == 40].to_numpy()
            > frame["exposure"][frame["step_size"] == 20].to_numpy()).all()


def test_streams_are_keyed_by_grid_point() -> None:
    full = tune(SPEC, SLOW, {"sample_size": [6, 30]}, n=200, rng=9)
    first = tune(SPEC, SLOW, {"sample_size": [6]}, n=200, rng=9)
    pd.testing.assert_frame_equal(full.iloc[:1], first, check_exact=True)
    again = tune(SPEC, SLOW, {"sample_size": [6, 30]}, n=200, rng=np.random.default_rng(9))
    assert not again.equals(full)  # a Generator draws the seed from itself
    assert tune(SPEC, SLOW, {"sample_size": [6, 30]}, n=200, rng=9).equals(full)


def test_traffic_and_criterion_parameters_are_applied() -> None:
    frame = tune(
        SPEC, SLOW,
        {"interval": ["15s", 30.0], "max_iterations": [4, 8], "tolerance": [10.0]},
        n=50, rng=1,
    )
    # point criteria never stop early: the decision comes at max_iterations * interval
    assert frame["time_to_decision"].tolist() == [60.0, 120.0, 120.0, 240.0]
    assert (frame["p_promote"] == 1.0).all()  # a 10 s threshold always passes
    # the fixed method reads sums of squares, which the simulator draws for it when told the
    # pipeline records them: no missing values (warnings are errors here)
    methods = tune(SPEC, SLOW, {"method": ["point", "fixed"]}, n=50, rng=1, sums_of_squares=True)
    with pytest.raises(SpecError, match="method 'fixed'.*`sums_of_squares=True`"):
        tune(SPEC, SLOW, {"method": ["point", "fixed"]}, n=50, rng=1)
    assert methods["method"].tolist() == ["point", "fixed"]


def test_empty_grid_is_the_spec_as_is() -> None:
    frame = tune(SPEC, SLOW, {}, n=50, rng=1)
    assert len(frame) == 1
    assert frame.columns[0] == "n"


def test_bad_arguments_raise() -> None:
    with pytest.raises(SpecError, match="grid key 'nope' is not one of"):
        tune(SPEC, SLOW, {"nope": [1]}, n=10)
    with pytest.raises(SpecError, match="must be a non-empty list"):
        tune(SPEC, SLOW, {"tolerance": []}, n=10)
    with pytest.raises(SpecError, match="`backend` must be one of"):
        tune(SPEC, SLOW, {}, n=10, backend="spark")
    with pytest.raises(SpecError, match="`n` must be an integer >= 1"):
        tune(SPEC, SLOW, {}, n=0)
    with pytest.raises(SpecError):
        tune(SPEC, SLOW, {"step_size": [150]}, n=10)  # rejected by TrafficControl


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = tune(SPEC, SLOW, GRID, n=100, rng=3)
    shown = tune(SPEC, SLOW, GRID, n=100, rng=3, progress=True)
    pd.testing.assert_frame_equal(quiet, shown, check_exact=True)
    err = capsys.readouterr().err
    assert "tune" in err
    assert "4/4" in err


def test_pareto_front_on_a_hand_made_frame() -> None:
    frame = pd.DataFrame(
        {
            "label": ["a", "b", "c", "d", "e", "f"],
            "p_rollback": [0.01, 0.02, 0.01, 0.05, 0.01, 0.00],
            "exposure": [100.0, 50.0, 100.0, 40.0, 120.0, 500.0],
            "time_to_decision": [240.0, 240.0, 240.0, 60.0, 240.0, 240.0],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    front = pareto_front(frame)
    # e is dominated by a (same risk and time, more exposure); a and c tie, both stay
    assert front["label"].tolist() == ["a", "b", "c", "d", "f"]
    assert front.index.tolist() == [10, 11, 12, 13, 15]
    two = pareto_front(frame, ["p_rollback", "exposure"])
    assert two["label"].tolist() == ["a", "b", "c", "d", "f"]
    # maximize exposure instead: f beats everything on exposure, at the least risk
    assert pareto_front(frame, ["p_rollback", "exposure"], ["min", "max"])["label"].tolist() == [
        "f"
    ]


def test_pareto_front_rejects_bad_input() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan], "y": [1.0, 2.0]})
    with pytest.raises(SpecError, match=r"'z' is not a column of the frame$"):
        pareto_front(frame, ["x", "z"])
    # a frame of several scenarios: the error names the scenarios' columns
    scenarios = pd.DataFrame({"y_equal": [1.0], "y_low_equal": [0.5], "y_worse": [2.0]})
    with pytest.raises(SpecError, match=r"the frame has \['y_equal', 'y_worse'\]"):
        pareto_front(scenarios, ["y"])
    with pytest.raises(SpecError, match="one of 'min'/'max' per objective"):
        pareto_front(frame, ["x", "y"], ["min"])
    with pytest.raises(SpecError, match="must be 'min' or 'max'"):
        pareto_front(frame, ["y"], ["up"])
    with pytest.raises(SpecError, match="hold NaN"):
        pareto_front(frame, ["x", "y"])


def test_cli_tune(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["tune", "--scenario", "request_rate=1,mean_latency=0.15:0.225",
            "--grid", "sample_size=6,30", "-n", "200", "--seed", "1"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "p_promote" in out
    assert len(out.strip().splitlines()) == 3
    assert main([*argv, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    want = tune(SPEC, SLOW, {"sample_size": [6, 30]}, n=200, rng=1)
    assert [r["p_promote"] for r in rows] == want["p_promote"].tolist()
    assert main([*argv, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("sample_size,n,p_promote")


@pytest.mark.parametrize(
    "extra",
    [
        ["--scenario", "request_rate=1,mean_latency=0.1", "--grid", "nope=1"],
        ["--scenario", "request_rate"],
        ["--scenario", "request_rate=1,bogus=2"],
        ["--scenario", "request_rate=1,mean_latency=0.1", "--experiment", "/no/such.yaml"],
    ],
)
def test_cli_tune_bad_input(capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
    assert main(["tune", "-n", "10", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("canarystats: error:")


def test_cli_tune_sums_of_squares(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["tune", "-n", "20", "--seed", "1", "--scenario", "request_rate=5,mean_latency=0.1",
            "--grid", "method=fixed", "--format", "json"]
    assert main(argv) == 2
    assert "`canarystats tune --sums-of-squares`" in capsys.readouterr().err
    assert main([*argv, "--sums-of-squares"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["method"] == "fixed"
    assert row["n"] == 20


def test_module_doctests() -> None:
    import doctest

    import canarystats.simulate.tuning

    result = doctest.testmod(canarystats.simulate.tuning, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_missing_optional_dependency_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import canarystats.simulate.tuning

    real = importlib.import_module

    def no_tqdm(name: str, *args: object) -> object:
        if name == "tqdm":
            raise ModuleNotFoundError(name=name)
        return real(name)

    with monkeypatch.context() as m:
        m.setattr(canarystats.simulate.tuning.importlib, "import_module", no_tqdm)
        with pytest.raises(SpecError, match=r"needs tqdm: pip install '.+\[tune\]'"):
            tune(SPEC, SLOW, {}, n=10, progress=True)
    with pytest.raises(SpecError, match="needs a `client`"):
        tune(SPEC, SLOW, {}, n=10, backend="dask")


# --------------------------------------------------------------------- several scenarios

EQUAL = Scenario(request_rate=1.0, mean_latency=0.15)
SCENARIOS = {"equal": EQUAL, "regressed": SLOW}


def test_several_scenarios_give_one_row_per_point_with_suffixed_columns() -> None:
    grid = {"tolerance": [0.2, 0.25], "step_size": [20, 40]}
    frame = tune(SPEC, SCENARIOS, grid, n=300, rng=7)
    assert len(frame) == 4
    assert frame.columns[:3].tolist() == ["tolerance", "step_size", "n"]
    assert "p_rollback_equal" in frame.columns
    assert "exposure_regressed" in frame.columns
    assert "time_to_decision_p90_high_equal" in frame.columns
    assert "p_rollback" not in frame.columns
    # common random numbers: each scenario's columns are its one-scenario frame
    for name, scenario in SCENARIOS.items():
        alone = tune(SPEC, scenario, grid, n=300, rng=7)
        figures = [c for c in alone.columns if c not in (*grid, "n")]
        mine = frame[[*grid, "n", *(f"{c}_{name}" for c in figures)]]
        mine.columns = alone.columns
        pd.testing.assert_frame_equal(mine, alone, check_exact=True)
    # ... and do not depend on the other scenarios or their order
    swapped = tune(SPEC, {"regressed": SLOW, "equal": EQUAL}, grid, n=300, rng=7)
    pd.testing.assert_frame_equal(swapped[frame.columns], frame, check_exact=True)
    # the Pareto front of false rollbacks, exposure to a bad candidate and time to promote
    front = pareto_front(
        frame, ("p_rollback_equal", "exposure_regressed", "time_to_decision_equal")
    )
    assert 1 <= len(front) <= len(frame)


def test_scenario_knobs_and_decision_time_columns_in_a_grid() -> None:
    # an early-stopping sequential criterion against a tail regression and a diurnal load
    base = SPEC
    spec = attrs.evolve(
        base, traffic_control=attrs.evolve(base.traffic_control, early_stop=True),
        criteria=[attrs.evolve(c, method="sequential") for c in base.criteria],
    )
    scenarios = {
        "equal": Scenario(request_rate=20.0, mean_latency=0.15, diurnal_amplitude=0.5,
                          diurnal_period=600.0),
        "tail": Scenario(request_rate=20.0, mean_latency=0.15, tail_probability=0.1,
                         tail_factor=6.0),
    }  # fmt: skip
    frame = tune(spec, scenarios, {"step_size": [20, 40]}, n=500, rng=3, sums_of_squares=True)
    for name in scenarios:
        low, mid, high = (frame[f"time_to_decision_median{s}_{name}"] for s in ("_low", "", "_high"))
        assert ((low <= mid) & (mid <= high)).all()
        assert (frame[f"time_to_decision_p90_{name}"] >= mid).all()
    assert (frame["time_to_decision_median_equal"] < 240).all()  # decided early
    # the tail's mean: 0.15 s (1 + 0.1 (6 - 1)) = 0.225 s, over the 0.2 s threshold
    assert (frame["p_rollback_tail"] > 0.95).all()


def test_bad_scenario_mappings_raise() -> None:
    with pytest.raises(SpecError, match="non-empty mapping of names to Scenarios"):
        tune(SPEC, {}, {}, n=10)
    with pytest.raises(SpecError, match="non-empty mapping"):
        tune(SPEC, [SLOW], {}, n=10)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="scenario names must be non-empty strings"):
        tune(SPEC, {"": SLOW}, {}, n=10)
    with pytest.raises(SpecError, match="scenario 'x' must be a Scenario, got dict"):
        tune(SPEC, {"x": {"request_rate": 1}}, {}, n=10)  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("processes", "scenario", "grid"),
    [
        (False, SLOW, GRID),  # threads in this interpreter, one scenario
        # two worker processes: the chunks are pickled to other interpreters and back
        (True, SCENARIOS, {"sample_size": [6, 30]}),
    ],
    ids=["threads", "processes"],
)
def test_dask_backend_equals_the_local_run(processes: bool, scenario: Any, grid: Any) -> None:
    import distributed  # the test extra installs it: never skipped

    local = tune(SPEC, scenario, grid, n=300, rng=2026)
    with (
        distributed.LocalCluster(
            processes=processes, n_workers=2 if processes else 1, threads_per_worker=1,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = tune(SPEC, scenario, grid, n=300, rng=2026, backend="dask", client=client)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
def test_cli_tune_several_named_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["tune", "--scenario", "equal:request_rate=1,mean_latency=0.15",
            "--scenario", "regressed:request_rate=1,mean_latency=0.15:0.225",
            "--grid", "sample_size=6,30", "-n", "200", "--seed", "1"]
    assert main([*argv, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    want = tune(SPEC, SCENARIOS, {"sample_size": [6, 30]}, n=200, rng=1)
    assert [r["p_rollback_equal"] for r in rows] == want["p_rollback_equal"].tolist()
    assert [r["exposure_regressed"] for r in rows] == want["exposure_regressed"].tolist()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "p_promote_equal" in out
    assert "time_to_decision_median_regressed" in out
    # the new knobs parse like the others
    knobs = ["tune", "--scenario", "request_rate=2,mean_latency=0.1,latency_shift=0.05,"
             "tail_probability=0.1,tail_factor=5,diurnal_amplitude=0.5,diurnal_period=3600,"
             "diurnal_offset=900,latency_distribution=gamma", "-n", "50", "--seed", "2",
             "--format", "csv"]  # fmt: skip
    assert main(knobs) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("n,p_promote,")
    assert "time_to_decision_p90" in header


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenario", "a:request_rate=1,mean_latency=0.1", "--scenario",
          "request_rate=1,mean_latency=0.2"], "give every scenario a name"),
        (["--scenario", "a:request_rate=1,mean_latency=0.1", "--scenario",
          "a:request_rate=1,mean_latency=0.2"], "the name 'a' is given twice"),
        (["--scenario", " :request_rate=1,mean_latency=0.1"], "empty name"),
        (["--scenario", "request_rate=1,mean_latency=0.1,tail_factor=0.5"], "`tail_factor`"),
        (["--scenario", "request_rate=1,mean_latency=0.1,diurnal_amplitude=1"],
         "`diurnal_amplitude`"),
    ],
)  # fmt: skip
def test_cli_tune_bad_scenarios(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["tune", "-n", "10", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("canarystats: error:")
    assert message in err
