"""P(p_B > p_A) for many pairs of Beta posteriors: canarystats' quadrature, timed and checked.

Prints, in one run: our time for N pairs (vectorized), per pair; our largest absolute error
against 30-digit mpmath integration (tests/reference/beta_pairs_mpmath.py) on a sample of the
pairs, with mpmath's time per pair and the ratio; and spotify-confidence's ``BetaBinomial`` on a
sample of the same pairs (prior Beta(1/2, 1/2), its default; 500,000 Monte Carlo draws per
posterior), with its time per pair, the ratio, and its error against ours in units of its Monte
Carlo standard error. spotify-confidence 4.1.0 requires pandas<3 (and chartify, ipywidgets,
statsmodels), so it is not a dependency: run this script from a virtualenv that has it
(benchmarks/README.md gives the command). Without it, its rule is re-run with numpy instead
(read from its source: the same draws, without its pandas overhead), and the script says so.

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
from types import ModuleType

import numpy as np

from canarystats.stats.beta import beta_posterior, prob_beta_le

ROOT = Path(__file__).resolve().parents[1]


def _reference_module() -> ModuleType:
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


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _spotify(a_a: np.ndarray, b_a: np.ndarray, a_b: np.ndarray, b_b: np.ndarray,
             idx: np.ndarray) -> tuple[np.ndarray, float]:  # pragma: no cover - optional peer
    """P(B > A) by spotify-confidence's BetaBinomial (prior Beta(1/2, 1/2)), one pair per call."""
    import warnings

    import pandas as pd
    from spotify_confidence import BetaBinomial  # type: ignore[import-not-found,unused-ignore]

    np.random.seed(2)  # noqa: NPY002 - it draws from numpy's global generator
    out = np.empty(idx.size)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its pandas FutureWarnings
        for j, i in enumerate(idx):
            # successes and trials back from the Jeffreys posterior parameters
            frame = pd.DataFrame({"group": ["A", "B"],
                                  "successes": [a_a[i] - 0.5, a_b[i] - 0.5],
                                  "trials": [a_a[i] + b_a[i] - 1.0, a_b[i] + b_b[i] - 1.0]})
            model = BetaBinomial(frame, numerator_column="successes",
                                 denominator_column="trials", categorical_group_columns="group")
            out[j] = model.difference(level_1="A", level_2="B")["P(level_2 > level_1)"].iloc[0]
    return out, (time.perf_counter() - start) / idx.size


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--mpmath-sample", type=int, default=None)
    parser.add_argument("--spotify-sample", type=int, default=None,
                        help="pairs run through spotify-confidence (default 200; --quick 2)")
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

    n_mc = min(args.spotify_sample or (2 if args.quick else 200), n)
    idx_mc = np.random.default_rng(3).choice(n, size=n_mc, replace=False)
    draws = 500_000  # BetaBinomial._monte_carlo_sample_size (4.1.0)
    if importlib.util.find_spec("spotify_confidence") is not None:  # pragma: no cover - peer
        mc, t_mc = _spotify(a_a, b_a, a_b, b_b, idx_mc)
        what = f"spotify-confidence {_version('spotify-confidence')} BetaBinomial.difference"
    else:
        print("spotify-confidence: not installed (its 4.1.0 wheel requires pandas<3, chartify, "
              "ipywidgets and statsmodels; see benchmarks/README.md for a virtualenv): its rule "
              "is re-run with numpy instead, without its pandas overhead")
        # spotify_confidence/analysis/bayesian/bayesian_models.py (4.1.0): 500,000 Beta draws
        # per posterior, P(B > A) = the share of draws with B > A
        gen = np.random.default_rng(2)
        start = time.perf_counter()
        mc = np.array([np.mean(gen.beta(a_b[i], b_b[i], draws) > gen.beta(a_a[i], b_a[i], draws))
                       for i in idx_mc])
        t_mc = (time.perf_counter() - start) / n_mc
        what = "spotify-confidence's Monte Carlo rule (numpy)"
    se = np.sqrt(np.maximum(ours[idx_mc] * (1 - ours[idx_mc]), 1e-300) / draws)
    z = np.abs(mc - ours[idx_mc]) / se
    ratio_mc = t_mc / (t_ours / n)
    print(f"{what}, {draws:,} draws per posterior, {n_mc} pairs: {t_mc * 1e3:.1f} ms per pair; "
          f"ratio (spotify-confidence / canarystats per pair): {ratio_mc:,.0f}x (target >= 100x)")
    print(f"its error against ours: largest {np.max(z):.2f} Monte Carlo standard errors "
          f"(mean {np.mean(z):.2f}; share above 3: {np.mean(z > 3):.3f}); largest absolute "
          f"{np.max(np.abs(mc - ours[idx_mc])):.1e}")
    sys.stdout.flush()
    return {"pairs": float(n), "seconds": t_ours, "max_error": err, "ratio": t_ref / (t_ours / n),
            "mc_ratio": ratio_mc, "mc_max_z": float(np.max(z))}


if __name__ == "__main__":
    main()
