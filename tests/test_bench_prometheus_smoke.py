"""The Prometheus parsing benchmark runs (``--quick``); no wall-clock assertions."""

from __future__ import annotations

import pytest
from bench_runner import run_benchmark


def test_prometheus_parse_benchmark_quick(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run_benchmark("bench_prometheus_parse.py", ["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert figures["samples"] == 10_000
    if "peer" in figures:  # prometheus-api-client installed
        assert "ratio (MetricRangeDataFrame / canarystats to DataFrame)" in out
        assert figures["agree"] == 1.0
    else:
        assert "peer skipped: prometheus-api-client is not installed" in out
