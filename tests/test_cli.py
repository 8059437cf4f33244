"""The `canarystats replay` command."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from canarystats import data as bundled
from canarystats.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_without_arguments_replays_both_bundled_rollouts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "replay")
    assert code == 0
    assert err == ""
    assert "rollout rolled_back" in out
    assert "rollout promoted" in out
    assert "decision: ROLLBACK" in out
    assert "decision: PROMOTE" in out
    assert "final traffic: baseline 0 %, candidate 100 %" in out
    # the input report of each bundled rollout: clean tables (98 rows: 49 scrapes x 2 versions)
    assert out.count("input: 98 rows read, 98 used\n") == 2
    # one row per assessment (iterations 0..8) per rollout
    assert out.count("iter8_latency") == 18


def test_exit_code_reports_a_rollback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "replay", "--exit-code")[0] == 3
    promoted = str(bundled.rollout_path("promoted"))
    assert run(capsys, "replay", "--exit-code", "--data", promoted)[0] == 0
    rolled_back = str(bundled.rollout_path("rolled_back"))
    assert run(capsys, "replay", "--exit-code", "--data", rolled_back)[0] == 3


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "replay", "--format", "json")
    assert code == 0
    payload = json.loads(out)
    assert [p["rollout"] for p in payload] == ["rolled_back", "promoted"]
    assert [p["outcome"] for p in payload] == ["rollback", "promote"]


def test_csv_format_and_compat(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "replay", "--format", "csv", "--compat", "iter8")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert set(frame["rollout"]) == {"rolled_back", "promoted"}
    assert len(frame) == 18
    last = frame[frame["iteration"] == 8].set_index("rollout")
    assert last.loc["promoted", "verdict"] == "PASS"
    assert last.loc["rolled_back", "verdict"] == "FAIL"


def test_parquet_data_and_explicit_experiment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    frame = bundled.load_rollout("promoted")
    path = tmp_path / "mine.parquet"
    frame.to_parquet(path)
    experiment = tmp_path / "exp.yaml"
    shutil.copy(bundled.tutorial_experiment_path(), experiment)
    code, out, _ = run(capsys, "replay", "--experiment", str(experiment), "--data", str(path))
    assert code == 0
    assert "rollout mine" in out
    assert "decision: PROMOTE" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--experiment", "/nonexistent/exp.yaml"], "`--experiment` file not found: '/nonexistent/exp.yaml'"),
        (["--data", "/nonexistent/data.csv"], "`--data` file not found: '/nonexistent/data.csv'"),
    ],
)
def test_missing_files_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "replay", *argv)
    assert code == 2
    assert out == ""
    assert err.strip() == f"canarystats: error: {message}"


def test_bad_experiment_and_bad_data_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("spec: [unclosed\n")
    code, _, err = run(capsys, "replay", "--experiment", str(bad_yaml))
    assert code == 2
    assert err.startswith("canarystats: error: ")
    assert err.count("\n") == 1
    bad_data = tmp_path / "bad.csv"
    bad_data.write_text("timestamp,version,requests\n0,reviews-v2,1\n")
    code, _, err = run(capsys, "replay", "--data", str(bad_data))
    assert code == 2
    assert "latency_sum" in err
    assert err.count("\n") == 1


def test_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    exe = shutil.which("canarystats")
    cmd = [exe] if exe else [sys.executable, "-m", "canarystats.cli"]
    done = subprocess.run([*cmd, "replay", "--exit-code"], capture_output=True, text=True, check=False)
    assert done.returncode == 3
    assert "decision: PROMOTE" in done.stdout
    bad = subprocess.run(
        [*cmd, "replay", "--experiment", str(tmp_path / "none.yaml")], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    usage = subprocess.run([*cmd, "replay", "--format", "xml"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2
    assert "invalid choice" in usage.stderr


def _cli() -> list[str]:
    exe = shutil.which("canarystats")
    return [exe] if exe else [sys.executable, "-m", "canarystats.cli"]


def test_version_flag_prints_the_installed_version() -> None:
    import importlib.metadata

    done = subprocess.run([*_cli(), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.strip() == f"canarystats {importlib.metadata.version('canarystats')}"


def _hint_target(hint: str, extra: str) -> str:
    prefix, suffix = "pip install '", f"[{extra}]'"
    assert hint.startswith(prefix)
    assert hint.endswith(suffix)
    return hint[len(prefix):-len(suffix)]


def test_a_missing_extra_names_an_install_that_works(tmp_path: Path) -> None:
    # `serve` without its extra (fastapi/uvicorn hidden from the import system): the hint names
    # either the package (an install from an index) or a directory holding canarystats'
    # pyproject.toml (an install from a checkout), never a package name that is not published
    script = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ('uvicorn', 'fastapi'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from canarystats.cli import main\n"
        "raise SystemExit(main(['serve']))\n"
    )
    for cwd in (Path.cwd(), tmp_path):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=False, cwd=cwd)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        line = done.stderr.strip()
        assert line.startswith("canarystats: error: `serve` needs the service extra: pip install")
        target = _hint_target(line.split("extra: ", 1)[1], "service")
        if target != "canarystats":
            project = (cwd / target).resolve() / "pyproject.toml"
            assert 'name = "canarystats"' in project.read_text()


def test_tune_merges_repeated_grid_keys_and_refuses_a_repeated_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "tune", "--scenario", "request_rate=1,mean_latency=0.1",
                         "--grid", "tolerance=0.2", "--grid", "tolerance=0.3,0.4",
                         "-n", "20", "--seed", "1", "--format", "csv")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["tolerance"].tolist() == [0.2, 0.3, 0.4]
    code, _, err = run(capsys, "tune", "--scenario", "request_rate=1,mean_latency=0.1",
                       "--grid", "tolerance=0.2", "--grid", "tolerance=0.2", "-n", "20")
    assert code == 2
    assert err == "canarystats: error: `--grid` gives tolerance=0.2 twice\n"


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("request_rate=1", "`--scenario` needs 'mean_latency'"),
        ("mean_latency=0.1", "`--scenario` needs 'request_rate'"),
        ("request_rate=1,mean_latency=0.1,latncy_cv=1", "`--scenario` has no key 'latncy_cv'"),
        ("request_rate=1,request_rate=2,mean_latency=0.1", "`--scenario` gives 'request_rate' twice"),
    ],
)
def test_tune_scenario_errors_speak_of_the_command_line(
    capsys: pytest.CaptureFixture[str], scenario: str, message: str
) -> None:
    code, _, err = run(capsys, "tune", "--scenario", scenario, "-n", "20")
    assert code == 2
    assert err.startswith(f"canarystats: error: {message}")
    assert "__init__" not in err
    assert err.count("\n") == 1


def test_assess_without_observations_names_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    request = tmp_path / "request.json"
    request.write_text('{"name": "x"}')
    code, _, err = run(capsys, "assess", "--request", str(request))
    assert code == 2
    assert "`--observations FILE`" in err
    assert "assess()" not in err


def test_progress_without_tqdm_names_the_option_and_the_install() -> None:
    script = (
        "import sys, importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'tqdm' else real(name, *a)\n"
        "from canarystats.cli import main\n"
        "raise SystemExit(main(['tune', '--scenario', 'request_rate=1,mean_latency=0.1',\n"
        "                       '-n', '20', '--progress']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert line.startswith("canarystats: error: `--progress` needs tqdm: pip install '")
    assert line.endswith("[tune]'")
    assert "progress=True" not in line
