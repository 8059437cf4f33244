"""The notebooks pointed at the real Prometheus server (``conftest.py``).

Their parameters cells read the server's URL and the rollouts' starts from the environment,
which the kernel nbclient starts inherits. ``replay_a_rollout.ipynb`` then runs every later cell
on the rollouts fetched from the server: it must run without an error or a line on stderr, and
its replays must be those ``replay_prometheus`` gives for the same server and starts.
``tuning_criteria.ipynb`` measures its traffic (request rate, the baseline's mean latency and
5xx rate) on them: it must run the same way, and print what ``fetch_rollout`` gives.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import groundtruth as gt
import nbclient
import nbformat
import numpy as np
import pytest

import canarystats as cs
from canarystats.adapters.frames import COUNTER_COLUMNS
from canarystats.adapters.prometheus import PrometheusClient, fetch_rollout, replay_prometheus

pytestmark = pytest.mark.filterwarnings("error")

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
REPLAY, TUNING = NOTEBOOKS / "replay_a_rollout.ipynb", NOTEBOOKS / "tuning_criteria.ipynb"
#: The environment variables the notebooks' parameters cells read.
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


def _execute(tmp_path, notebook=REPLAY, report=REPORT, until=None):
    """Execute ``notebook`` (its cells up to the first holding ``until``), then ``report``."""
    nb = nbformat.read(notebook, as_version=4)
    if until is not None:
        last = next(i for i, cell in enumerate(nb.cells) if until in cell.source)
        nb.cells = nb.cells[: last + 1]
    nb.cells.append(nbformat.v4.new_code_cell(report))
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


#: Incomplete parameters, and what the parameters cells say (both notebooks refuse them).
REFUSALS = {
    "no_start": ({"PROMETHEUS_URL": "http://127.0.0.1:9"}, "`CANARYSTATS_START` must give"),
    "no_url": ({"START": START}, "apply to a server only"),
    "ends": ({"PROMETHEUS_URL": "http://127.0.0.1:9", "START": f"{START},{gt.T0 + 60}",
              "END": str(gt.T0 + 250)}, "one end per start"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("variables", "match"),
    [
        *REFUSALS.values(),
        ({"PROMETHEUS_URL": "http://127.0.0.1:9", "START": START, "TELEMETRY": "v2"},
         "milliseconds"),  # fmt: skip
    ],
    ids=[*REFUSALS, "v2_without_experiment"],
)
def test_notebook_refuses_incomplete_parameters(tmp_path, monkeypatch, variables, match):
    # Raised by the parameters cell, before any query (the URL's port 9 is never contacted).
    _environment(monkeypatch, **variables)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match=match):
        _execute(tmp_path)


# --------------------------------------------------------------------------- tuning_criteria

#: A cell appended to the tuning notebook: its measurements, exactly, as one line of JSON.
TUNING_REPORT = """\
import json
print(json.dumps({name: {column: float(value) for column, value in row.items()}
                  for name, row in counts.iterrows()}))"""
#: The line the tuning notebook prints: the measurements over all its rollouts.
PRINTED = re.compile(
    r"^(?P<name>.+): (?P<rate>[0-9.]+) requests/s, baseline mean latency (?P<latency>[0-9.]+) s, "
    r"baseline 5xx rate (?P<errors>[0-9.]+)$",
    re.MULTILINE,
)
#: The columns the notebook measures per rollout, then derives.
MEASURED = ["seconds", "requests", "baseline requests", "baseline latency sum (s)", "baseline 5xx"]

# Each case: the environment (beyond the URL), the rollouts it measures as (name, keyword
# arguments of fetch_rollout), and whether to run the whole notebook (else its cells up to the
# measurement, which is all the later cells take from the server).
TUNING_CASES = {
    # Only the start: the tutorial's experiment, over the ground truth's two workloads; the
    # whole notebook runs on the scenario it states.
    "tutorial": (
        {"START": START},
        [(START, {"start": START})],
        True,
    ),
    # Three rollouts with ends (the second one's before its last assessment, at 240 s: it is
    # measured at 180 s), a namespace and the ground truth's experiment; Unix seconds.
    "experiment": (
        {"START": f"{gt.T0}, {gt.T0 - 5},{gt.T0 + 2}",
         "END": f"{gt.T0 + 250},{gt.T0 + 180},{gt.T0 + 248}",
         "NAMESPACE": gt.NAMESPACE, "EXPERIMENT": "{experiment}"},
        [(str(gt.T0), {"start": gt.T0, "end": gt.T0 + 250}),
         (str(gt.T0 - 5), {"start": gt.T0 - 5, "end": gt.T0 + 180}),
         (str(gt.T0 + 2), {"start": gt.T0 + 2, "end": gt.T0 + 248})],
        False,
    ),
    # Istio telemetry v2: latencies in milliseconds, measured in seconds; no threshold is read,
    # so the tutorial's experiment serves (where the replay notebook needs one in ms).
    "telemetry_v2": (
        {"START": START, "TELEMETRY": "v2"},
        [(START, {"start": START})],
        False,
    ),
}  # fmt: skip


def _fetched(client, spec, times, namespace, telemetry):
    """What ``fetch_rollout`` gives for one rollout, in the notebook's columns."""
    series = fetch_rollout(
        client, spec, **times, namespace=namespace, telemetry=telemetry, histogram=False
    )
    increase = dict(zip(COUNTER_COLUMNS, series.counters[0, :, -1].T, strict=True))
    second = 1000.0 if telemetry == "v2" else 1.0
    return {
        "seconds": series.times[0, 0, -1],
        "requests": increase["requests"].sum(),
        "baseline requests": increase["requests"][0],
        "baseline latency sum (s)": increase["latency_sum"][0] / second,
        "baseline 5xx": increase["errors_5xx"][0],
    }


@pytest.mark.parametrize("case", TUNING_CASES)
def test_tuning_notebook_measures_the_server_rollouts_as_fetch_rollout(
    prometheus, tmp_path, monkeypatch, case
):
    variables, expected, whole = TUNING_CASES[case]
    experiment = _experiment(tmp_path)
    variables = {k: v.format(experiment=experiment) for k, v in variables.items()}
    _environment(monkeypatch, PROMETHEUS_URL=prometheus.url, **variables)
    nb = _execute(tmp_path, TUNING, TUNING_REPORT, until=None if whole else "cs.fetch_rollout(")

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    shown = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    if whole:
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
        # the rest plans for the stated scenario: its candidate's expected exposure at 4 requests/s
        assert "expected candidate requests before the decision: 623.2" in shown

    spec = experiment if "EXPERIMENT" in variables else cs.data.tutorial_experiment_path()
    with PrometheusClient(prometheus.url) as client:
        direct = {
            name: _fetched(client, spec, times, variables.get("NAMESPACE"),
                           variables.get("TELEMETRY", "v1"))
            for name, times in expected
        }  # fmt: skip
    # The rollouts' own rows, then all of them together (when there are several).
    got = json.loads(nb.cells[-1].outputs[-1].text)
    total = {"both", "all"} & set(got)
    assert list(got) == [*direct, *total]
    assert len(total) == (len(direct) > 1)
    for name, row in direct.items():
        assert [got[name][column] for column in MEASURED] == list(row.values()), name
    together = {c: sum(row[c] for row in direct.values()) for c in MEASURED}
    rate = together["requests"] / together["seconds"]
    latency = together["baseline latency sum (s)"] / together["baseline requests"]
    errors = together["baseline 5xx"] / together["baseline requests"]
    last = got[list(got)[-1]]
    np.testing.assert_allclose(
        [last["requests/s"], last["baseline mean latency (s)"], last["baseline 5xx rate"]],
        [rate, latency, errors], rtol=1e-12,
    )  # fmt: skip
    # ... and the figures it prints, to their printed precision.
    printed = [m.groupdict() for m in PRINTED.finditer(shown)]
    assert printed == [{"name": list(got)[-1], "rate": f"{rate:.4f}",
                        "latency": f"{latency:.4f}", "errors": f"{errors:.4f}"}]  # fmt: skip
    if case == "telemetry_v2":  # converted from milliseconds: the ground truth's 0.15 s
        assert printed[0]["latency"].startswith("0.15")


@pytest.mark.parametrize(("variables", "match"), REFUSALS.values(), ids=list(REFUSALS))
def test_tuning_notebook_refuses_incomplete_parameters(tmp_path, monkeypatch, variables, match):
    # As the replay notebook: raised by the parameters cell, before any query.
    _environment(monkeypatch, **variables)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match=match):
        _execute(tmp_path, TUNING, TUNING_REPORT)
