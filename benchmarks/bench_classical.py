"""Classical tests and group-sequential boundaries: batched canarystats against per-item loops.

Prints, in one run, for three workloads: canarystats' time over the whole batch (vectorized),
a per-item reference's time on a random subset (scaled per item), their ratio, and the largest
disagreement between the two on that subset:

1. Welch's t test from sufficient statistics (``mean_test``) over N pairs, against
   ``scipy.stats.ttest_ind_from_stats`` called pair by pair (same two-sided p-value);
2. the score interval for ``p_c / p_b`` (``rate_ratio_interval``, vectorized bisection on
   ``log r``) over M pairs, against ``scipy.optimize.brentq`` on the same score statistic,
   pair by pair (the way R's ``uniroot`` computes it);
3. Lan-DeMets O'Brien-Fleming-type boundaries (``gs_bounds``, two-sided 0.05, 5 looks at
   random information fractions) for D designs in one batch, against ``gs_bounds`` called once
   per design. Both do the same recursion, so this measures what batching saves.

    python benchmarks/bench_classical.py          # 10**6 pairs, 10**5 intervals, 2,000 designs
    python benchmarks/bench_classical.py --quick  # 5,000 pairs, 2,000 intervals, 40 designs

No timing is asserted anywhere; quote ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from scipy import optimize, stats

from canarystats.stats.classical import mean_test, rate_ratio_interval
from canarystats.stats.classical import score_z as _score_z
from canarystats.stats.group_sequential import gs_bounds

T = TypeVar("T")


def _timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _report(name: str, n: int, t_ours: float, n_ref: int, t_ref: float, err: float) -> float:
    ours_each = t_ours / n
    ref_each = t_ref / n_ref
    ratio = ref_each / ours_each
    print(f"{name}: canarystats {n:,} in {t_ours:.3f} s ({ours_each * 1e6:.2f} us each); "
          f"reference {n_ref:,} in {t_ref:.3f} s ({ref_each * 1e6:.2f} us each)")
    print(f"  ratio (reference / canarystats per item): {ratio:,.1f}x; "
          f"largest difference on the subset: {err:.2e}")
    return ratio


def bench_welch(n: int, n_ref: int, rng: np.random.Generator) -> tuple[float, float]:
    count = rng.integers(10, 100_000, size=(n, 2)).astype(float)
    mean = rng.normal(10.0, 1.0, size=(n, 2))
    sd = rng.uniform(0.5, 5.0, size=(n, 2))
    total = mean * count
    total_sq = (count - 1) * sd * sd + total * total / count
    res, t_ours = _timed(mean_test, count, total, total_sq)
    idx = rng.choice(n, size=min(n_ref, n), replace=False)
    start = time.perf_counter()
    ref = np.array([
        stats.ttest_ind_from_stats(mean[i, 1], sd[i, 1], count[i, 1],
                                   mean[i, 0], sd[i, 0], count[i, 0], equal_var=False).pvalue
        for i in idx
    ])
    t_ref = time.perf_counter() - start
    err = float(np.max(np.abs(np.asarray(res.pvalue)[idx] - ref)))
    return _report("Welch t, p-values", n, t_ours, len(idx), t_ref, err), err


def _brentq_interval(x0: float, n0: float, x1: float, n1: float, q: float) -> tuple[float, float]:
    def z(u: float, target: float) -> float:
        args = [np.array(v) for v in (x0, n0, x1, n1, math.exp(u))]
        return float(_score_z(*args)) - target

    lo = 0.0 if x1 == 0 else math.exp(optimize.brentq(z, -40, 40, args=(q,), xtol=1e-13))
    hi = math.inf if x0 == 0 else math.exp(optimize.brentq(z, -40, 40, args=(-q,), xtol=1e-13))
    return lo, hi


def bench_score_interval(m: int, m_ref: int, rng: np.random.Generator) -> tuple[float, float]:
    n = rng.integers(100, 1_000_000, size=(m, 2)).astype(float)
    p = 10 ** rng.uniform(-3, -1, size=(m, 1)) * np.array([1.0, 1.1])
    x = rng.binomial(n.astype(np.int64), p).astype(float)
    (low, high), t_ours = _timed(rate_ratio_interval, x, n, 0.95)
    idx = rng.choice(m, size=min(m_ref, m), replace=False)
    q = float(stats.norm.isf(0.025))
    start = time.perf_counter()
    ref = np.array([_brentq_interval(x[i, 0], n[i, 0], x[i, 1], n[i, 1], q) for i in idx])
    t_ref = time.perf_counter() - start
    ours = np.stack([low[idx], high[idx]], axis=1)
    finite = np.isfinite(ref) & (ref > 0)
    err = float(np.max(np.abs(ours[finite] / ref[finite] - 1.0))) if finite.any() else 0.0
    same_edges = bool(np.array_equal(ours[~finite], ref[~finite]))
    return _report("score interval of p_c/p_b (relative error)", m, t_ours, len(idx), t_ref,
                   err if same_edges else math.inf), err if same_edges else math.inf


def bench_bounds(d: int, d_ref: int, rng: np.random.Generator) -> tuple[float, float]:
    inc = rng.uniform(0.5, 1.5, size=(d, 5))
    t = inc.cumsum(axis=1)
    t /= t[:, -1:]
    batch, t_ours = _timed(gs_bounds, t, confidence_level=0.95, spending="obrien_fleming")
    idx = rng.choice(d, size=min(d_ref, d), replace=False)
    start = time.perf_counter()
    ref = np.array(
        [gs_bounds(t[i], confidence_level=0.95, spending="obrien_fleming").upper for i in idx]
    )
    t_ref = time.perf_counter() - start
    err = float(np.max(np.abs(np.asarray(batch.upper)[idx] - ref)))
    return _report("group-sequential boundaries (5 looks)", d, t_ours, len(idx), t_ref, err), err


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--intervals", type=int, default=None)
    parser.add_argument("--designs", type=int, default=None)
    parser.add_argument("--reference", type=int, default=None, help="subset size per workload")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.pairs or (5_000 if quick else 1_000_000)
    m = args.intervals or (2_000 if quick else 100_000)
    d = args.designs or (40 if quick else 2_000)
    n_ref = args.reference or (200 if quick else 2_000)
    rng = np.random.default_rng(args.seed)

    welch_ratio, welch_err = bench_welch(n, n_ref, rng)
    ci_ratio, ci_err = bench_score_interval(m, max(n_ref // 10, 10), rng)
    gs_ratio, gs_err = bench_bounds(d, max(min(n_ref // 10, d), 5), rng)
    return {
        "welch_ratio": welch_ratio,
        "welch_error": welch_err,
        "interval_ratio": ci_ratio,
        "interval_error": ci_err,
        "bounds_ratio": gs_ratio,
        "bounds_error": gs_err,
    }


if __name__ == "__main__":
    main()
