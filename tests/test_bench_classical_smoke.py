"""The classical benchmark runs (``--quick``) and batched and per-item results agree.

No wall-clock assertions: speed belongs to ``benchmarks/``.
"""

from __future__ import annotations

import re

import pytest
from bench_runner import run_benchmark


def test_bench_classical_quick_runs_and_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run_benchmark("bench_classical.py", ["--quick", "--pairs", "2000", "--intervals", "500", "--designs", "12", "--reference", "60"])
    out = capsys.readouterr().out
    assert len(re.findall(r"ratio \(reference / canarystats per item\): [\d,.]+x", out)) == 3
    assert figures["welch_error"] <= 1e-12
    assert figures["interval_error"] <= 1e-9
    assert figures["bounds_error"] <= 1e-12
    assert all(figures[k] > 0 for k in ("welch_ratio", "interval_ratio", "bounds_ratio"))
