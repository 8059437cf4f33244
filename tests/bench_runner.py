"""Runs a benchmark script's ``main`` in-process, for the benchmarks' smoke tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(script: str, argv: list[str]) -> Any:
    """Import ``benchmarks/<script>`` as a module and return ``main(argv)``."""
    name = Path(script).stem
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        return module.main(argv)
    finally:
        sys.modules.pop(name, None)
