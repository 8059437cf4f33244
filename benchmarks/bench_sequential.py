"""Benchmark: vectorized anytime-valid multinomial p-values against per-stream computation.

Workload (issue 6): N count streams x 100 updates with a fixed allocation (two versions, intended
split 50/50, true split 50/50), cumulative counts; the Lindon & Malek Dirichlet-multinomial
test (k = 100) gives each stream's running anytime-valid p-value at every update.

- canarystats: one call of ``multinomial_pvalue`` over the whole (N, 100, 2) array;
- reference: a plain-Python loop, one stream and one update at a time (log-gamma from ``math``),
  as a per-stream object would compute it; it runs on a random subset, its time scaled per
  stream, and its p-values are compared with ours (largest absolute difference printed);
- savvi (Lindon's package), when installed: its per-stream ``Multinomial`` objects on the same
  subset, time scaled per stream. It is not a dependency; the line says so when it is missing.

    python benchmarks/bench_sequential.py            # N = 10,000
    python benchmarks/bench_sequential.py --quick    # N = 500, about a second
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

import canarystats as cs

N_UPDATES = 100
THETA0 = (0.5, 0.5)
K = 100.0


def _data(n: int, rng: np.random.Generator) -> np.ndarray:
    inc = rng.multinomial(50, THETA0, size=(n, N_UPDATES)).astype(np.float64)
    return np.cumsum(inc, axis=1)


def _reference_stream(counts: np.ndarray) -> list[float]:
    """One stream, one update at a time: the Bayes factor from its definition."""
    a = [K * t for t in THETA0]
    best, out = 0.0, []
    for row in counts:
        n = float(sum(row))
        log_bf = math.lgamma(K) - math.lgamma(K + n)
        for x, ai, t in zip(row, a, THETA0, strict=True):
            log_bf += math.lgamma(ai + x) - math.lgamma(ai) - x * math.log(t)
        best = max(best, log_bf)
        out.append(math.exp(-best))
    return out


def _savvi_streams(counts: np.ndarray) -> tuple[float, np.ndarray] | str:
    try:
        from savvi.multinomial import Multinomial  # type: ignore[import-not-found]
    except ImportError:
        return "savvi is not installed (pip install savvi): skipped"
    try:
        t0 = time.perf_counter()
        out = np.empty(counts.shape[:2])
        for i, stream in enumerate(counts):
            test = Multinomial(0.05, np.array(THETA0), K)
            prev = np.zeros(len(THETA0))
            for j, row in enumerate(stream):
                test.update(row - prev)
                prev = row
                out[i, j] = test.p
        return time.perf_counter() - t0, out
    except Exception as exc:  # an API other than the one assumed here
        return f"savvi call failed ({type(exc).__name__}: {exc}): skipped"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 500 (a smoke run)")
    parser.add_argument("--n", type=int, default=None, help="number of streams")
    parser.add_argument("--subset", type=int, default=None, help="streams run by the reference")
    args = parser.parse_args(argv)
    n = args.n or (500 if args.quick else 10_000)
    subset = min(n, args.subset or (20 if args.quick else 200))
    rng = np.random.default_rng(0)
    counts = _data(n, rng)

    t0 = time.perf_counter()
    ours = cs.multinomial_pvalue(counts, THETA0, k=K)
    t_ours = time.perf_counter() - t0

    pick = rng.choice(n, size=subset, replace=False)
    t0 = time.perf_counter()
    ref = np.array([_reference_stream(counts[i]) for i in pick])
    t_ref = (time.perf_counter() - t0) * n / subset
    diff = float(np.max(np.abs(ref - ours[pick])))
    ratio = t_ref / t_ours
    print(f"workload: {n:,} streams x {N_UPDATES} updates, fixed allocation {THETA0}, k = {K:g}")
    print(f"canarystats (vectorized): {t_ours:.4f} s")
    print(f"per-stream reference ({subset} streams, scaled to {n:,}): {t_ref:.4f} s")
    print(f"ratio (reference / canarystats): {ratio:.1f}x")
    print(f"largest p-value difference: {diff:.3g}")
    figures: dict[str, Any] = {"ratio": ratio, "max_diff": diff}
    savvi = _savvi_streams(counts[pick])
    if isinstance(savvi, str):
        print(f"savvi: {savvi}")
    else:
        t_sv = savvi[0] * n / subset
        sv_diff = float(np.max(np.abs(savvi[1] - ours[pick])))
        print(f"savvi ({subset} streams, scaled to {n:,}): {t_sv:.4f} s; "
              f"ratio {t_sv / t_ours:.1f}x; largest p-value difference {sv_diff:.3g}")
        figures.update(savvi_ratio=t_sv / t_ours, savvi_max_diff=sv_diff)
    return figures


if __name__ == "__main__":
    main()
