"""The check_and_increment benchmark runs (``--quick``) and both implementations agree.

No wall-clock assertions: speed belongs to ``benchmarks/``.
"""

from __future__ import annotations

import re

import pytest
from bench_runner import run_benchmark


def test_benchmark_quick_runs_and_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run_benchmark("bench_check_and_increment.py", ["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert re.search(r"ratio \(reference / canarystats per experiment\): [\d.]+x", out)
    assert re.search(r"agreement on [\d,]+ experiments \(final traffic\): yes", out)
    assert figures["agree"] == 1.0
    assert figures["ratio"] > 0


def test_bench_bayes_quick_runs(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run_benchmark("bench_bayes.py", ["--quick", "--pairs", "500", "--mpmath-sample", "2"])
    out = capsys.readouterr().out
    assert re.search(r"largest error against mpmath: [\d.e+-]+", out)
    assert figures["max_error"] <= 1e-9
