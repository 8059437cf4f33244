"""The notebooks in notebooks/ run end to end on bundled data, and are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


#: Figures a notebook's prose quotes, which its executed outputs must show (seeded runs).
QUOTED = {
    "why_peeking_matters": [
        "0.0470",  # the fixed-horizon test read once
        "0.1922", "0.0062", "0.3685", "0.0076",  # read at every look: 10 and 100 looks
        "0.0148", "0.0019",  # the anytime-valid test over 100 looks
        "0.3935", "0.0022",  # intervals: Wald at every look, the confidence sequence
        "0.8820", "0.251",  # aborted A/A rollouts: point rule, fixed-horizon test
    ],
}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["replay_a_rollout.ipynb", "why_peeking_matters.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_executes(path, tmp_path):
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
