"""A criterion method written outside the library works end to end, with no library file edited.

The method (tests/plugin/canarystats_test_plugin.py) registers itself when imported; a fresh
process finds it through the ``canarystats.methods`` entry-point group of an installed
distribution (here a ``.dist-info`` folder on ``PYTHONPATH``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    Observations,
    SpecError,
    State,
    TrafficControl,
    Verdict,
    data,
    initial_state,
    run_experiment,
    step,
)

PLUGIN_DIR = Path(__file__).parent / "plugin"
sys.path.insert(0, str(PLUGIN_DIR))
import canarystats_test_plugin as plugin  # noqa: E402


def _criterion(**kw: Any) -> Criterion:
    kw.setdefault("options", {"margin": 0.01})
    return Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                     sample_size=5, method="test_mean_bound", **kw)


def _spec(**kw: Any) -> ExperimentSpec:
    return ExperimentSpec(
        name="e", target_service="reviews", baseline="reviews-v2", candidate="reviews-v3",
        traffic_control=TrafficControl(interval="30s", step_size=20, max_iterations=3,
                                       max_traffic_percent=60),
        criteria=[_criterion(**kw)],
    )


def _obs(mean_c: float) -> dict[str, Observations]:
    count = np.array([[100.0, 50.0], [100.0, 50.0]])
    means = np.array([[0.1, mean_c], [0.1, 0.3]])
    return {"iter8_latency": Observations(count=count, value=means, sum=count * means)}


def test_options_are_typed_and_checked() -> None:
    c = _criterion()
    assert isinstance(c.options, plugin.MeanBoundOptions)
    assert c.options.margin == 0.01
    with pytest.raises(SpecError, match=r"`options` of method 'test_mean_bound': unknown option "
                                        r"'marign'; its options are \['margin'\]"):
        _criterion(options={"marign": 0.01})
    with pytest.raises(SpecError, match="`margin` must be a number >= 0"):
        _criterion(options={"margin": -1})
    assert "test_mean_bound" in cs.available_methods()


def test_step_run_and_state_round_trip() -> None:
    spec = _spec()
    state, result = step(spec, initial_state(spec, (2,)), _obs(0.205))
    # 0.205 <= 0.2 + margin passes; 0.3 fails
    assert result.verdicts[..., 0].tolist() == [Verdict.PASS, Verdict.FAIL]
    assert isinstance(state.method_states[0], plugin.MeanBoundState)
    back = State.from_json(state.to_json())
    assert back == state
    assert json.loads(state.to_json())["fields"]["method_states"]["items"][0]["type"] == (
        "test_mean_bound")

    def observe(k: int, window: float, routed: Any) -> dict[str, Observations]:
        return _obs(0.15)

    run = run_experiment(spec, observe, batch_shape=(2,))
    assert run.final_state.passed.tolist() == [True, False]


def test_corrupted_data_is_inconclusive() -> None:
    count = np.array([[100.0, 50.0], [100.0, 50.0]])
    means = np.array([[0.1, 0.1], [0.1, 0.1]])
    sums = count * means
    sums[1, 1] = -5.0
    with pytest.warns(cs.InsufficientDataWarning, match="negative"):
        r = cs.evaluate_criterion(_criterion(), Observations(count=count, value=means, sum=sums))
    assert r.verdict.tolist() == [Verdict.PASS, Verdict.INCONCLUSIVE]
    assert r.reason[1] == cs.Reason.BAD_DATA


def test_replay_and_yaml_loading(tmp_path: Path) -> None:
    text = _experiment_yaml()
    spec = cs.load_experiment(text)
    assert spec.criteria[0].method == "test_mean_bound"
    assert spec.criteria[0].options == plugin.MeanBoundOptions(margin=0.05)
    result = cs.replay(spec, data.load_rollout("promoted"))
    assert result.outcome == "promote"
    # written back, the options are kept
    assert cs.spec_from_iter8(cs.spec_to_iter8(spec)) == spec
    bad = text.replace("margin: 0.05", "margn: 0.05")
    with pytest.raises(SpecError, match=r"options.*'margn'.*\['margin'\]"):
        cs.load_experiment(bad)


def test_simulator_reads_the_needs_of_the_method() -> None:
    spec = cs.load_experiment(_experiment_yaml())
    scenario = cs.Scenario(request_rate=20.0, mean_latency=(0.1, 0.1))
    oc = cs.operating_characteristics(spec, scenario, n=200, rng=1)
    assert 0.0 <= oc.p_promote <= 1.0


def _experiment_yaml() -> str:
    base = Path(data.tutorial_experiment_path()).read_text()
    doc = __import__("yaml").safe_load(base)
    doc["spec"]["analysis"]["successCriteria"] = [{
        "metricName": "iter8_latency", "toleranceType": "threshold", "tolerance": 0.2,
        "sampleSize": 5, "method": "test_mean_bound", "options": {"margin": 0.05},
    }]
    return str(__import__("yaml").safe_dump(doc))


def test_a_fresh_process_finds_the_plugin_through_its_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "canarystats_test_plugin-0.1.dist-info").mkdir(parents=True)
    dist = site / "canarystats_test_plugin-0.1.dist-info"
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: canarystats-test-plugin\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[canarystats.methods]\ntest_mean_bound = canarystats_test_plugin:MeanBoundMethod\n")
    (site / "canarystats_test_plugin.py").write_text(
        (PLUGIN_DIR / "canarystats_test_plugin.py").read_text())
    spec = _spec()
    state, _ = step(spec, initial_state(spec, (2,)), _obs(0.205))
    (tmp_path / "state.json").write_text(state.to_json())
    (tmp_path / "exp.yaml").write_text(_experiment_yaml())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    script = textwrap.dedent(f"""
        import sys
        from canarystats import State
        assert "canarystats_test_plugin" not in sys.modules
        state = State.from_json(open({str(tmp_path / "state.json")!r}).read())
        print(type(state.method_states[0]).__name__, state.method_states[0].mean.tolist())
    """)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "MeanBoundState"
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "canarystats"), "replay", "--experiment",
         str(tmp_path / "exp.yaml")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "promote" in cli.stdout
    assert attrs.has(plugin.MeanBoundState)
