"""The simulation benchmark runs (``--quick``); no wall-clock assertions."""

from __future__ import annotations

import re

import pytest
from bench_runner import run_benchmark


def test_bench_simulate_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run_benchmark("bench_simulate.py", ["--quick"])
    out = capsys.readouterr().out
    assert re.search(r"ratio \(vectorized / loop, rollouts per second\): [\d.]+x", out)
    assert figures["ratio"] > 0
    assert 0.0 <= figures["p_promote"] <= 1.0
