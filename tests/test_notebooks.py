"""The notebooks in notebooks/ run end to end on bundled data, and are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import ipykernel  # noqa: F401  (the kernel the notebooks run in)
import matplotlib  # noqa: F401
import nbclient
import nbformat
import pytest

# the test extra installs all four: these tests are never skipped

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
#: The environment variables that point replay_a_rollout and tuning_criteria at a Prometheus
#: server (unset here: the bundled data; tests/integration/test_notebook_prometheus.py sets them).
SERVER_VARIABLES = (
    "CANARYSTATS_PROMETHEUS_URL", "CANARYSTATS_PROMETHEUS_TOKEN", "CANARYSTATS_START",
    "CANARYSTATS_END", "CANARYSTATS_EXPERIMENT", "CANARYSTATS_NAMESPACE", "CANARYSTATS_TELEMETRY",
)  # fmt: skip


#: Figures a notebook's prose quotes, which its executed outputs must show (seeded runs).
QUOTED = {
    "replay_a_rollout": [
        "0.320",  # the rolled-back candidate's final mean latency
        "passed from iteration 1 on",  # the promoted candidate's first PASS
    ],
    "tuning_criteria": [
        "3.9875", "0.1019", "0.0154",  # the bundled rollouts: rate, baseline latency and 5xx
        "623.2", "0.134", "0.871", "239.2", "0.529", "0.484", "0.990",  # the plan and its power
        "34.14",  # the quiet hour's PlanWarning
        "0.0103 [0.0076, 0.0139]", "0.0055", "0.1015", "0.1032",  # point, bayes, sequential
        "293 [", "617 [", "350 [", "150 [150, 150]", "120 [",  # exposure, early-stop median
        "254", "413", "3913",  # decisions by time with early stopping
        "0.5427", "0.0960", "0.0360", "0.0853", "0.3557",  # the grid
        "34 of 54", "16 of 34",  # the front, and its rows under the false-rollback bound
        "mean 88.6 s, median 90 s, p90 150 s", "362 requests", "287 requests", "0.0077",
        "0.0008 [0.0005, 0.0012]", "0.0003 [0.0002, 0.0007]", "mean 88.4 s",  # confirmed
        "MISSING_VALUE",  # the sequential mean criterion on Istio data
        "0.0043 [0.0025, 0.0074]", "0.0056 [0.0047, 0.0067]",  # the choice on Istio data
        "0.0001 [0.0000, 0.0003]",
    ],
    "why_peeking_matters": [
        "0.0470",  # the fixed-horizon test read once
        "0.1922", "0.0062", "0.3685", "0.0076",  # read at every look: 10 and 100 looks
        "0.0148", "0.0019",  # the anytime-valid test over 100 looks
        "0.3935", "0.0022",  # intervals: Wald at every look, the confidence sequence
        "0.8820", "0.251",  # aborted A/A rollouts: point rule, fixed-horizon test
    ],
}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "replay_a_rollout.ipynb", "tuning_criteria.ipynb", "why_peeking_matters.ipynb"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executes(path, tmp_path, monkeypatch):
    for name in SERVER_VARIABLES:  # the kernel inherits the environment
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a failing cell raises CellExecutionError
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the figures are rendered, not only their repr
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    # no warnings printed by the analysis
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    text = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs
    )
    missing = [figure for figure in QUOTED.get(path.stem, []) if figure not in text]
    assert missing == [], "the prose quotes figures the notebook no longer shows"


def test_the_notebooks_extra_installs_what_their_readme_runs() -> None:
    # notebooks/README.md says `jupyter lab` and `jupyter nbconvert --clear-output`: the
    # `notebooks` extra must bring both, and the README must say how to install it
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    names = {req.split(">")[0].split("=")[0].split("[")[0] for req in extras["notebooks"]}
    assert {"jupyterlab", "nbconvert"} <= names
    readme = (root / "notebooks" / "README.md").read_text()
    assert "pip install '.[notebooks]'" in readme
    assert "jupyter lab" in readme
    assert "jupyter nbconvert" in readme
