"""The Prometheus parsing benchmark runs (``--quick``); no wall-clock assertions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_prometheus_parse.py"


def test_prometheus_parse_benchmark_quick(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_prometheus_parse", BENCH)
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
    assert figures["samples"] == 10_000
    if "peer" in figures:  # prometheus-api-client installed
        assert "ratio (MetricRangeDataFrame / canarystats to DataFrame)" in out
        assert figures["agree"] == 1.0
    else:
        assert "peer skipped: prometheus-api-client is not installed" in out
