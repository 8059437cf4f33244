"""P(p_B > p_A) for many pairs of Beta posteriors: canarystats' quadrature, timed and checked.

Prints, in one run: our time for N pairs (vectorized), per pair; our largest absolute error
against 30-digit mpmath integration (tests/reference/beta_pairs_mpmath.py) on a sample of the
pairs, with mpmath's time per pair and the ratio; whether ``spotify-confidence`` could be run
(its 4.1.0 wheel needs chartify, ipywidgets, statsmodels and pandas<3, so here it is not); and
its ``BetaBinomial`` rule re-run with numpy on a sample of the same pairs (500,000 Beta draws
per posterior, read from its source), with its time, the ratio, and its error against ours in
units of its Monte Carlo standard error.

    python benchmarks/bench_bayes.py            # 1,000,000 pairs, trials up to 10**6
    python benchmarks/bench_bayes.py --quick    # 2,000 pairs, 3 mpmath checks

Prior Beta(1/2, 1/2) for both versions (spotify-confidence's BetaBinomial default).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from canarystats.bayes import beta_posterior, prob_beta_le

ROOT = Path(__file__).resolve().parents[1]


def _reference_module():  # type: ignore[no-untyped-def]
    path = ROOT / "tests" / "reference" / "beta_pairs_mpmath.py"
    spec = importlib.util.spec_from_file_location("beta_pairs_mpmath", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_pairs(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    trials_a = np.floor(10 ** rng.uniform(0, 6, n))
    trials_b = np.floor(10 ** rng.uniform(0, 6, n))
    rate = 10 ** rng.uniform(-3, -0.5, n)
    s_a = rng.binomial(trials_a.astype(np.int64), rate)
    s_b = rng.binomial(trials_b.astype(np.int64), np.minimum(rate * 1.05, 1.0))
    a_a, b_a = beta_posterior(s_a, trials_a, prior=(0.5, 0.5))
    a_b, b_b = beta_posterior(s_b, trials_b, prior=(0.5, 0.5))
    return a_a, b_a, a_b, b_b


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--mpmath-sample", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.pairs or (2_000 if args.quick else 1_000_000)
    n_ref = args.mpmath_sample or (3 if args.quick else 20)

    a_a, b_a, a_b, b_b = make_pairs(n)
    start = time.perf_counter()
    ours = prob_beta_le(a_a, b_a, a_b, b_b)  # P(p_A <= p_B) = P(p_B > p_A)
    t_ours = time.perf_counter() - start
    print(f"canarystats: {n:,} pairs in {t_ours:.2f} s ({t_ours / n * 1e6:.1f} us per pair)")

    ref = _reference_module()
    idx = np.random.default_rng(1).choice(n, size=min(n_ref, n), replace=False)
    start = time.perf_counter()
    want = np.array([float(ref.reference(a_a[i], b_a[i], a_b[i], b_b[i], 1.0)) for i in idx])
    t_ref = (time.perf_counter() - start) / len(idx)
    err = float(np.max(np.abs(ours[idx] - want)))
    print(f"mpmath (30 digits): {len(idx)} pairs, {t_ref:.2f} s per pair; "
          f"ratio (mpmath / canarystats per pair): {t_ref / (t_ours / n):,.0f}x")
    print(f"largest error against mpmath: {err:.2e}")

    if importlib.util.find_spec("spotify_confidence") is None:
        print("spotify-confidence: not installed, and not installable here without heavy "
              "dependencies (its 4.1.0 wheel requires chartify, ipywidgets, statsmodels and "
              "pandas<3; this environment has pandas 3): the package itself was not run")
    else:  # pragma: no cover - optional peer
        print("spotify-confidence: installed; this script does not call it (see below)")
    # Its BetaBinomial's rule, re-run with numpy on the same pairs (read from its source,
    # spotify_confidence/analysis/bayesian/bayesian_models.py, 4.1.0): 500,000 Beta draws per
    # posterior, P(B > A) = share of draws with B > A; prior Beta(1/2, 1/2) as ours here.
    n_mc = min(n_ref if args.mpmath_sample else (2 if args.quick else 10), n)
    draws = 500_000
    gen = np.random.default_rng(2)
    idx_mc = np.random.default_rng(3).choice(n, size=n_mc, replace=False)
    start = time.perf_counter()
    mc = np.array([np.mean(gen.beta(a_b[i], b_b[i], draws) > gen.beta(a_a[i], b_a[i], draws))
                   for i in idx_mc])
    t_mc = (time.perf_counter() - start) / n_mc
    se = np.sqrt(np.maximum(ours[idx_mc] * (1 - ours[idx_mc]), 1e-300) / draws)
    z = np.abs(mc - ours[idx_mc]) / se
    ratio_mc = t_mc / (t_ours / n)
    print(f"spotify-confidence's Monte Carlo rule (numpy, {draws:,} draws per posterior), "
          f"{n_mc} pairs: {t_mc * 1e3:.1f} ms per pair (without its pandas overhead); "
          f"ratio (Monte Carlo / canarystats per pair): {ratio_mc:,.0f}x (target >= 100x)")
    print(f"its error against ours: largest {np.max(z):.2f} Monte Carlo standard errors "
          f"(mean {np.mean(z):.2f})")
    sys.stdout.flush()
    return {"pairs": float(n), "seconds": t_ours, "max_error": err, "ratio": t_ref / (t_ours / n),
            "mc_ratio": ratio_mc, "mc_max_z": float(np.max(z))}


if __name__ == "__main__":
    main()
