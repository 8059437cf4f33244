"""Benchmark: the vectorized rank judge against a per-pair scipy loop.

Classifies metric pairs (candidate vs baseline, Kayenta's Mann-Whitney rule:
two-sided 98 % interval of the Hodges-Lehmann shift against the band
``0.25 * |estimate|``, mean ratio >= 1) with

- canarystats: :func:`canarystats.stats.kayenta.classify_metric` on the whole batch;
- the reference: per pair, ``scipy.stats.mannwhitneyu`` for the p-value plus
  the Hodges-Lehmann estimate and interval by root-finding (``brentq``, xtol
  1e-4, as R's ``wilcox.test`` does with ``uniroot``) on the tie- and
  continuity-corrected standardized statistic of ``x - d`` against ``y``.

The reference runs on a subset of pairs and its time is scaled per pair; on
that subset the two must agree on the classes (the root-finder's 1e-4
tolerance can flip a pair whose interval touches the band: counted, printed).

    python benchmarks/bench_ranks.py            # 10,000 pairs x 500 samples
    python benchmarks/bench_ranks.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from scipy import optimize, stats

from canarystats.stats.kayenta import MetricClass, classify_metric


def _wdiff(d: float, x: np.ndarray, y: np.ndarray, zq: float, correct: bool) -> float:
    z = np.concatenate([x - d, y])
    r = stats.rankdata(z)
    _, t = np.unique(z, return_counts=True)
    nx, ny = x.size, y.size
    dz = r[:nx].sum() - nx * (nx + 1) / 2 - nx * ny / 2
    corr = np.sign(dz) * 0.5 if correct else 0.0
    n = nx + ny
    sigma = np.sqrt(nx * ny / 12 * ((n + 1) - (t**3 - t).sum() / (n * (n - 1))))
    return float((dz - corr) / sigma - zq)


def _root(x: np.ndarray, y: np.ndarray, zq: float, correct: bool) -> float:
    lo, hi = x.min() - y.max(), x.max() - y.min()
    f_lo, f_hi = _wdiff(lo, x, y, zq, correct), _wdiff(hi, x, y, zq, correct)
    if f_lo <= 0:
        return float(lo)
    if f_hi >= 0:
        return float(hi)
    return float(optimize.brentq(_wdiff, lo, hi, args=(x, y, zq, correct), xtol=1e-4))


def reference_classify(base: np.ndarray, cand: np.ndarray, level: float = 0.98) -> int:
    """One pair: scipy's test plus R-style root-finding for the estimate and interval."""
    stats.mannwhitneyu(cand, base, alternative="two-sided", method="asymptotic")
    z = stats.norm.ppf(1 - (1 - level) / 2)
    low = _root(cand, base, z, True)
    _root(cand, base, -z, True)  # the upper bound: computed, as R does, unused by the rule
    est = _root(cand, base, 0.0, False)
    bound = 0.25 * abs(est)
    mb = base.mean()
    effect = 1.0 if mb == 0 else cand.mean() / mb
    if low > bound and effect >= 1.0:
        return int(MetricClass.HIGH)
    return int(MetricClass.PASS)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--reference-pairs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="200 pairs x 100 samples")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.size, args.reference_pairs = 200, 100, 10
    rng = np.random.default_rng(20240608)
    base = rng.lognormal(0.0, 0.5, size=(args.pairs, args.size))
    shift = np.where(rng.random(args.pairs) < 0.3, 1.25, 1.0)[:, None]
    cand = rng.lognormal(0.0, 0.5, size=(args.pairs, args.size)) * shift

    ours = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = classify_metric(base, cand, direction="increase")
        ours.append(time.perf_counter() - t0)
    t_ours = float(np.median(ours)) / args.pairs

    sub = rng.choice(args.pairs, size=min(args.reference_pairs, args.pairs), replace=False)
    t0 = time.perf_counter()
    ref = np.array([reference_classify(base[i], cand[i]) for i in sub])
    t_ref = (time.perf_counter() - t0) / sub.size
    ours_cls = np.where(np.asarray(res.classification)[sub] == MetricClass.HIGH,
                        int(MetricClass.HIGH), int(MetricClass.PASS))
    agree = float(np.mean(ref == ours_cls))
    ratio = t_ref / t_ours
    print(f"pairs: {args.pairs:,} x {args.size} samples per version")
    print(f"canarystats classify_metric: {t_ours * 1e3:.3f} ms per pair "
          f"({t_ours * args.pairs:.2f} s for the batch)")
    print(f"reference (scipy mannwhitneyu + brentq HL interval, {sub.size} pairs): "
          f"{t_ref * 1e3:.3f} ms per pair")
    print(f"ratio (reference / canarystats per pair): {ratio:.1f}x")
    print(f"agreement on {sub.size:,} pairs (class): {agree:.3f}")
    return {"ratio": ratio, "agree": agree, "ours_per_pair": t_ours, "ref_per_pair": t_ref}


if __name__ == "__main__":
    main()
