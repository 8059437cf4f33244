"""Tuning: grids of operating characteristics, the Pareto front, progress bar, Dask, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from canarystats import InsufficientDataWarning, Scenario, SpecError, pareto_front, tune
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
    # assessment 0 sees no candidate requests: the fixed test's mean is missing there
    with pytest.warns(InsufficientDataWarning, match="missing values"):
        methods = tune(SPEC, SLOW, {"method": ["point", "fixed"]}, n=50, rng=1)
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
    pytest.importorskip("tqdm")
    quiet = tune(SPEC, SLOW, GRID, n=100, rng=3)
    shown = tune(SPEC, SLOW, GRID, n=100, rng=3, progress=True)
    pd.testing.assert_frame_equal(quiet, shown, check_exact=True)
    err = capsys.readouterr().err
    assert "tune" in err
    assert "4/4" in err


def test_dask_backend_equals_the_local_run() -> None:
    distributed = pytest.importorskip("distributed")
    local = tune(SPEC, SLOW, GRID, n=300, rng=2026)
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = tune(SPEC, SLOW, GRID, n=300, rng=2026, backend="dask", client=client)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


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
    with pytest.raises(SpecError, match="is not a column"):
        pareto_front(frame, ["x", "z"])
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


def test_module_doctests() -> None:
    import doctest

    import canarystats.tuning

    result = doctest.testmod(canarystats.tuning, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_missing_optional_dependency_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import canarystats.tuning

    real = importlib.import_module

    def no_tqdm(name: str, *args: object) -> object:
        if name == "tqdm":
            raise ModuleNotFoundError(name=name)
        return real(name)

    with monkeypatch.context() as m:
        m.setattr(canarystats.tuning.importlib, "import_module", no_tqdm)
        with pytest.raises(SpecError, match=r"needs tqdm: pip install 'canarystats\[tune\]'"):
            tune(SPEC, SLOW, {}, n=10, progress=True)
    pytest.importorskip("distributed")
    with pytest.raises(SpecError, match="needs a `client`"):
        tune(SPEC, SLOW, {}, n=10, backend="dask")
