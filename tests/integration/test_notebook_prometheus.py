"""``notebooks/replay_a_rollout.ipynb`` pointed at the real Prometheus server (``conftest.py``).

The notebook's parameters cell reads the server's URL and the rollouts' starts from the
environment, which the kernel nbclient starts inherits; every later cell then runs on the
rollouts fetched from the server. The notebook must run without an error or a line on stderr,
and its replays must be those ``replay_prometheus`` gives for the same server and starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import groundtruth as gt
import nbclient
import nbformat
import numpy as np
import pytest

import canarystats as cs
from canarystats.adapters.prometheus import PrometheusClient, replay_prometheus

pytestmark = pytest.mark.filterwarnings("error")

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "replay_a_rollout.ipynb"
#: The environment variables the notebook's parameters cell reads.
VARIABLES = (
    "CANARYSTATS_PROMETHEUS_URL", "CANARYSTATS_PROMETHEUS_TOKEN", "CANARYSTATS_START",
    "CANARYSTATS_END", "CANARYSTATS_EXPERIMENT", "CANARYSTATS_NAMESPACE", "CANARYSTATS_TELEMETRY",
)  # fmt: skip
START = "2020-06-01T12:00:00Z"  # gt.T0
#: The timeline's columns compared with the direct replay (not the timestamps: JSON).
COLUMNS = [
    "iteration", "criterion", "metric", "verdict", "reason", "abort", "all_passed", "changed",
    "baseline_traffic", "candidate_traffic", "baseline_value", "candidate_value",
    "baseline_sample_size", "candidate_sample_size",
]  # fmt: skip
#: A cell appended to the notebook: what its replays decided, as one line of JSON.
REPORT = f"""\
import json
print(json.dumps({{
    name: {{"outcome": r.outcome, "final_traffic": list(r.final_traffic),
            **r.timeline[{COLUMNS!r}].to_dict(orient="list")}}
    for name, r in results.items()
}}))"""


def _environment(monkeypatch, **variables):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(f"CANARYSTATS_{name}", value)


def _execute(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a failing cell raises CellExecutionError
    return nb


def _experiment(tmp_path, text=gt.EXPERIMENT):
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# Each case: the environment (beyond the URL), and the direct replays it must reproduce,
# as (rollout name, keyword arguments of replay_prometheus); "experiment" is the YAML file.
CASES = {
    # Only the start: the tutorial's experiment, over the ground truth's two workloads.
    "tutorial": (
        {"START": START},
        [(START, {"start": START})],
    ),
    # Two rollouts (the second one starting 5 s earlier), with ends, a namespace and the ground
    # truth's experiment of three criteria; Unix seconds for the times.
    "experiment": (
        {"START": f"{gt.T0}, {gt.T0 - 5}", "END": f"{gt.T0 + 250},{gt.T0 + 245}",
         "NAMESPACE": gt.NAMESPACE, "EXPERIMENT": "{experiment}"},
        [(str(gt.T0), {"start": gt.T0, "end": gt.T0 + 250}),
         (str(gt.T0 - 5), {"start": gt.T0 - 5, "end": gt.T0 + 245})],
    ),
    # Istio telemetry v2: latencies in milliseconds, so the threshold is too.
    "telemetry_v2": (
        {"START": START, "TELEMETRY": "v2", "EXPERIMENT": "{experiment}"},
        [(START, {"start": START})],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_notebook_replays_the_server_rollouts_as_replay_prometheus(
    prometheus, tmp_path, monkeypatch, case
):
    variables, expected = CASES[case]
    ms = case == "telemetry_v2"
    text = gt.EXPERIMENT.replace("tolerance: 0.2\n", "tolerance: 200\n") if ms else gt.EXPERIMENT
    experiment = _experiment(tmp_path, text)
    variables = {k: v.format(experiment=experiment) for k, v in variables.items()}
    _environment(monkeypatch, PROMETHEUS_URL=prometheus.url, **variables)
    nb = _execute(tmp_path)

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # the timelines
    shown = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "rolled_back" not in shown  # not the bundled rollouts
    assert ("tolerance (ms)" if ms else "tolerance (s)") in shown

    got = json.loads(nb.cells[-1].outputs[-1].text)
    assert list(got) == [name for name, _ in expected]
    kwargs = {
        "namespace": variables.get("NAMESPACE"),
        "telemetry": variables.get("TELEMETRY", "v1"),
    }
    spec = experiment if "EXPERIMENT" in variables else cs.data.tutorial_experiment_path()
    with PrometheusClient(prometheus.url) as client:
        for name, times in expected:
            direct = replay_prometheus(client, spec, **times, **kwargs)
            assert got[name]["outcome"] == direct.outcome
            assert tuple(got[name]["final_traffic"]) == direct.final_traffic
            for column in COLUMNS:
                np.testing.assert_array_equal(
                    got[name][column], direct.timeline[column].to_numpy(), err_msg=column
                )
            # The notebook's own summary table shows the same outcome.
            assert any(name in line and direct.outcome in line for line in shown.splitlines())
    # The ground truth's candidate is faster than its baseline: promoted under every experiment.
    assert {rollout["outcome"] for rollout in got.values()} == {"promote"}


@pytest.mark.parametrize(
    ("variables", "match"),
    [
        ({"PROMETHEUS_URL": "http://127.0.0.1:9"}, "`CANARYSTATS_START` must give"),
        ({"START": START}, "apply to a server only"),
        ({"PROMETHEUS_URL": "http://127.0.0.1:9", "START": f"{START},{gt.T0 + 60}",
          "END": str(gt.T0 + 250)}, "one end per start"),  # fmt: skip
        ({"PROMETHEUS_URL": "http://127.0.0.1:9", "START": START, "TELEMETRY": "v2"},
         "milliseconds"),  # fmt: skip
    ],
    ids=["no_start", "no_url", "ends", "v2_without_experiment"],
)
def test_notebook_refuses_incomplete_parameters(tmp_path, monkeypatch, variables, match):
    # Raised by the parameters cell, before any query (the URL's port 9 is never contacted).
    _environment(monkeypatch, **variables)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match=match):
        _execute(tmp_path)
