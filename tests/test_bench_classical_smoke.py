"""The classical benchmark runs (``--quick``) and batched and per-item results agree.

No wall-clock assertions: speed belongs to ``benchmarks/``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_classical.py"


def test_bench_classical_quick_runs_and_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_classical", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        figures = module.main(["--quick", "--pairs", "2000", "--intervals", "500",
                               "--designs", "12", "--reference", "60"])
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert len(re.findall(r"ratio \(reference / canarystats per item\): [\d,.]+x", out)) == 3
    assert figures["welch_error"] <= 1e-12
    assert figures["interval_error"] <= 1e-9
    assert figures["bounds_error"] <= 1e-12
    assert all(figures[k] > 0 for k in ("welch_ratio", "interval_ratio", "bounds_ratio"))
