"""The check_and_increment benchmark runs (``--quick``) and both implementations agree.

No wall-clock assertions: speed belongs to ``benchmarks/``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_check_and_increment.py"


def test_benchmark_quick_runs_and_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_check_and_increment", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        figures = module.main(["--quick", "--repeats", "1"])
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert re.search(r"ratio \(reference / canarystats per experiment\): [\d.]+x", out)
    assert re.search(r"agreement on [\d,]+ experiments \(final traffic\): yes", out)
    assert figures["agree"] == 1.0
    assert figures["ratio"] > 0


def test_bench_bayes_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    path = BENCH.parent / "bench_bayes.py"
    spec = importlib.util.spec_from_file_location("bench_bayes", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        figures = module.main(["--quick", "--pairs", "500", "--mpmath-sample", "2"])
    finally:
        sys.modules.pop(spec.name, None)
    out = capsys.readouterr().out
    assert re.search(r"largest error against mpmath: [\d.e+-]+", out)
    assert figures["max_error"] <= 1e-9
