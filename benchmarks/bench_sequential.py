"""Benchmark: vectorized anytime-valid multinomial p-values against per-stream computation.

Workload (issue 6): N count streams x 100 updates with a fixed allocation (two versions, intended
split 50/50, true split 50/50), cumulative counts; the Lindon & Malek Dirichlet-multinomial
test (k = 100) gives each stream's running anytime-valid p-value at every update.

- canarystats: one call of ``multinomial_pvalue`` over the whole (N, 100, 2) array;
- reference: a plain-Python loop, one stream and one update at a time (log-gamma from ``math``),
  as a per-stream object would compute it; it runs on a random subset, its time scaled per
  stream, and its p-values are compared with ours (largest absolute difference printed);
- savvi 0.3.1 (Lindon's package), when installed: its per-stream ``Multinomial`` objects on the
  same subset, time scaled per stream (``update`` + ``calculate_p_value``; its cvxpy confidence
  set is not timed). It is not a dependency (it needs cvxpy, and matplotlib at import); the
  line says so when it is missing.
- then the changing-allocation case savvi does not cover: ``rate_ratio_test`` (errors given
  each version's requests, the candidate's share growing 2 % -> 50 %) against a plain-Python
  per-stream loop of the same recursion.

    python benchmarks/bench_sequential.py            # N = 10,000
    python benchmarks/bench_sequential.py --quick    # N = 500, about a second
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
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
    """savvi's per-stream objects: ``update`` with each increment, then the p-value.

    savvi's ``infer()`` also solves its confidence set with cvxpy at every update; only the
    p-value (``calculate_p_value``, a running minimum kept here as ``infer`` keeps it) is timed.
    """
    try:
        with warnings.catch_warnings():  # third-party import-time warnings are not ours
            warnings.simplefilter("ignore")
            from savvi.multinomial import Multinomial  # type: ignore[import-not-found]
    except ImportError as exc:
        return f"savvi is not installed ({exc}; pip install savvi matplotlib): skipped"
    try:
        t0 = time.perf_counter()
        out = np.empty(counts.shape[:2])
        inc = np.diff(counts, axis=1, prepend=0.0).astype(np.int64)
        for i, stream in enumerate(inc):
            test = Multinomial(0.05, np.array(THETA0), K)
            best = 1.0
            for j, row in enumerate(stream):
                test.update(row)
                best = min(best, float(test.calculate_p_value()))
                out[i, j] = best
        return time.perf_counter() - t0, out
    except Exception as exc:  # an API other than the one assumed here
        return f"savvi call failed ({type(exc).__name__}: {exc}): skipped"


def _changing_allocation(n: int, subset: int, rng: np.random.Generator) -> dict[str, float]:
    """Errors conditioned on requests, the candidate's share growing 2 % -> 50 % (issue 6)."""
    share = np.linspace(0.02, 0.5, N_UPDATES)
    req = np.broadcast_to(np.round(2000 * np.stack([1 - share, share], -1)), (n, N_UPDATES, 2))
    err = rng.binomial(req.astype(np.int64), [0.05, 0.06]).astype(np.float64)
    ev, ex = np.cumsum(err, axis=1), np.cumsum(req, axis=1)
    t0 = time.perf_counter()
    ours = cs.rate_ratio_test(ev, ex, ratio=1.2).pvalue
    t_ours = time.perf_counter() - t0
    pick = rng.choice(n, size=subset, replace=False)
    t0 = time.perf_counter()
    ref = np.array([_reference_pp(ev[i], ex[i], 1.2) for i in pick])
    t_ref = (time.perf_counter() - t0) * n / subset
    diff = float(np.max(np.abs(ref - ours[pick])))
    print(f"changing allocation, errors given requests: {n:,} streams x {N_UPDATES} updates")
    print(f"  canarystats rate_ratio_test: {t_ours:.4f} s; per-stream reference ({subset} "
          f"streams, scaled): {t_ref:.4f} s; ratio {t_ref / t_ours:.1f}x; "
          f"largest p-value difference {diff:.3g}")
    print("  savvi: no counterpart (its InhomogeneousPoissonProcess has a fixed allocation)")
    return {"pp_ratio": t_ref / t_ours, "pp_max_diff": diff}


def _reference_pp(ev: np.ndarray, ex: np.ndarray, ratio: float) -> list[float]:
    """One stream, one interval at a time, in plain Python (math.lgamma)."""

    def betaln(p: float, q: float) -> float:
        return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)

    a = b = alloc = math.nan
    log_e, best, out = 0.0, 0.0, []
    prev_e, prev_x = (0.0, 0.0), (0.0, 0.0)
    for e_row, x_row in zip(ev, ex, strict=True):
        y, x = e_row[0] - prev_e[0], e_row[1] - prev_e[1]
        d0, d1 = x_row[0] - prev_x[0], x_row[1] - prev_x[1]
        prev_e, prev_x = (e_row[0], e_row[1]), (x_row[0], x_row[1])
        w = d1 / (d0 + d1)
        if x + y > 0 and 0 < w < 1:
            pi0 = w * ratio / (1 - w + w * ratio)
            if math.isnan(alloc):
                a, b, alloc = K * pi0, K * (1 - pi0), w
            log_s = math.log(a / b) + math.log(w / (1 - w)) - math.log(alloc / (1 - alloc))
            v = 1 / a + 1 / b
            a, b = (1 + math.exp(log_s)) / v, (1 + math.exp(-log_s)) / v
            log_e += betaln(a + x, b + y) - betaln(a, b) - x * math.log(pi0)
            log_e -= y * math.log1p(-pi0)
            a, b, alloc = a + x, b + y, w
        best = max(best, log_e)
        out.append(math.exp(-best))
    return out


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
    figures.update(_changing_allocation(n, subset, rng))
    return figures


if __name__ == "__main__":
    main()
