"""The simulation benchmark runs (``--quick``); no wall-clock assertions."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_simulate.py"


def test_bench_simulate_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_simulate", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        figures = module.main(["--quick"])
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert re.search(r"ratio \(vectorized / loop, rollouts per second\): [\d.]+x", out)
    assert figures["ratio"] > 0
    assert 0.0 <= figures["p_promote"] <= 1.0
