"""Benchmark: vectorized ``check_and_increment`` against a per-experiment Python reference.

Workload: N experiments x 9 assessments x 3 criteria (mean latency threshold with absent value
"None", error-rate delta, error-count threshold on a counter), Iter8 semantics
(``missing="iter8"``), cumulative fractional sample sizes as Prometheus' ``increase()`` gives
them, and no data at assessment 0 (the 1 s window).

- canarystats: one ``step`` per assessment over the whole batch;
- reference: ``tests/oracle.py``, a plain-Python re-statement of Iter8's analytics, called once
  per experiment and assessment (as Iter8's REST service was), on the SAME inputs.

The reference is slow, so it runs on a random subset and its time is scaled per experiment.
On that subset the final traffic of both must agree (the benchmark checks correctness too).

    python benchmarks/bench_check_and_increment.py            # N = 100,000
    python benchmarks/bench_check_and_increment.py --quick    # N = 2,000, a few seconds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import canarystats as cs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import oracle  # noqa: E402

N_ASSESSMENTS = 9

CRITERIA = [
    # (metric, type, tolerance, sample_size, stop_on_failure, is_counter, absent_value)
    ("iter8_latency", "threshold", 0.2, 10.0, False, False, "None"),
    ("iter8_error_rate", "delta", 0.5, 20.0, False, False, "0.0"),
    ("iter8_error_count", "threshold", 25.0, 10.0, False, True, "0.0"),
]


def make_inputs(n: int, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Cumulative observations of shape (N_ASSESSMENTS, n, 2) per metric: (count, value)."""
    k, shape = N_ASSESSMENTS, (n, 2)
    rps = rng.uniform(0.2, 3.0, size=shape)  # requests per second of each version
    per_interval = rng.gamma(shape=4.0, scale=rps[None] * 15.0 / 4.0, size=(k, *shape))
    count = np.cumsum(per_interval, axis=0)
    count[0] = rng.choice([0.0, 0.5, 1.0], size=shape)  # assessment 0: a 1 s window
    lat_mean = rng.normal(0.15, 0.04, size=shape)
    lat_mean[:, 1] += rng.choice([0.0, 0.02, 0.08], size=n)  # some candidates are slower
    latency = np.abs(
        lat_mean[None] + rng.normal(0.0, 0.5, size=(k, *shape)) / np.sqrt(np.maximum(count, 1.0))
    )
    latency = np.where(count > 0, latency, np.nan)  # no requests: no mean latency
    p_err = rng.beta(1.0, 60.0, size=shape)
    errors = np.cumsum(rng.binomial(np.floor(per_interval).astype(np.int64), p_err[None]), axis=0)
    errors = np.minimum(errors.astype(np.float64), count)
    errors[0] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, errors / count, np.nan)
    return {
        "iter8_latency": (count, latency),
        "iter8_error_rate": (count, rate),
        "iter8_error_count": (count, errors),
    }


def make_spec() -> cs.ExperimentSpec:
    return cs.ExperimentSpec(
        name="bench",
        target_service="reviews",
        baseline="reviews-v1",
        candidate="reviews-v2",
        traffic_control=cs.TrafficControl(
            step_size=10.0, max_traffic_percent=80.0, max_iterations=N_ASSESSMENTS - 1
        ),
        criteria=[
            cs.Criterion(
                metric=m,
                tolerance_type=t,
                tolerance=tol,
                sample_size=need,
                stop_on_failure=stop,
                is_counter=counter,
                absent_value=absent,
                missing="iter8",
            )
            for m, t, tol, need, stop, counter, absent in CRITERIA
        ],
    )


def run_vectorized(
    spec: cs.ExperimentSpec, observations: list[dict[str, cs.Observations]], n: int
) -> cs.State:
    """All experiments, one ``step`` per assessment; returns the final state."""
    state = cs.initial_state(spec, (n,))
    for obs in observations:
        state, _ = cs.step(spec, state, obs)
    return state


def oracle_inputs(
    data: dict[str, tuple[np.ndarray, np.ndarray]], subset: np.ndarray
) -> list[list[list[dict[str, Any]]]]:
    """Per experiment of the subset, per assessment, per criterion: the oracle's observation."""
    per_metric = {
        m: (count[:, subset].tolist(), value[:, subset].tolist())
        for m, (count, value) in data.items()
    }
    out = []
    for j in range(len(subset)):
        assessments = []
        for k in range(N_ASSESSMENTS):
            crits = []
            for m, *_ in CRITERIA:
                count, value = per_metric[m]
                crits.append(
                    {
                        "baseline": (count[k][j][0], value[k][j][0]),
                        "candidate": (count[k][j][1], value[k][j][1]),
                    }
                )
            assessments.append(crits)
        out.append(assessments)
    return out


ORACLE_CRITERIA = [
    {
        "metric": m,
        "type": t,
        "tolerance": tol,
        "sample_size": need,
        "stop_on_failure": stop,
        "is_counter": counter,
        "absent_value": absent,
    }
    for m, t, tol, need, stop, counter, absent in CRITERIA
]
ORACLE_TC = {"step_size": 10.0, "max_traffic_percent": 80.0}


def run_oracle(inputs: list[list[list[dict[str, Any]]]]) -> list[tuple[float, float]]:
    """Each experiment through Iter8's analytics, one call per assessment, until an abort."""
    finals = []
    for assessments in inputs:
        last = None
        for observed in assessments:
            result = oracle.check_and_increment(ORACLE_CRITERIA, ORACLE_TC, last, observed)
            last = result["state"]
            if result["abort_experiment"]:
                break
        assert last is not None
        finals.append(
            (last["baseline"]["traffic_percentage"], last["candidate"]["traffic_percentage"])
        )
    return finals


def _median_time(fn: Any, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="experiments (default 100,000)")
    parser.add_argument(
        "--subset",
        type=int,
        default=2_000,
        help="experiments run through the reference (default 2,000)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median)")
    parser.add_argument("--seed", type=int, default=20200424)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="n = 2,000, subset = 500, at most 3 repeats: a few seconds",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.subset, args.repeats = 2_000, 500, min(args.repeats, 3)
    n, subset_n = args.n, min(args.subset, args.n)

    rng = np.random.default_rng(args.seed)
    data = make_inputs(n, rng)
    spec = make_spec()
    observations = [
        {m: cs.Observations(count=c[k], value=v[k]) for m, (c, v) in data.items()}
        for k in range(N_ASSESSMENTS)
    ]
    subset = np.sort(rng.choice(n, size=subset_n, replace=False))
    inputs = oracle_inputs(data, subset)

    t_vec, state = _median_time(lambda: run_vectorized(spec, observations, n), args.repeats)
    traffic = np.asarray(state.traffic)
    oracle_repeats = max(1, min(args.repeats, 3))
    t_ref, finals = _median_time(lambda: run_oracle(inputs), oracle_repeats)

    got = [tuple(row) for row in traffic[subset].tolist()]
    agree = got == finals
    n_diff = sum(a != b for a, b in zip(got, finals, strict=True))
    per_vec = t_vec / n
    per_ref = t_ref / subset_n
    ratio = per_ref / per_vec
    aborted = float(np.mean(state.aborted))
    passed = float(np.mean(state.passed & ~state.aborted))
    cand = traffic[:, 1]

    print(
        f"check_and_increment: {n:,} experiments x {N_ASSESSMENTS} assessments x "
        f"{len(CRITERIA)} criteria (Iter8 semantics)"
    )
    print(
        f"  canarystats (vectorized step): {t_vec * 1e3:10.2f} ms total, "
        f"{per_vec * 1e6:9.3f} us/experiment  (median of {args.repeats})"
    )
    print(
        f"  reference (oracle, per item):  {t_ref * 1e3:10.2f} ms for {subset_n:,}, "
        f"{per_ref * 1e6:9.3f} us/experiment  (median of {oracle_repeats}); "
        f"scaled to {n:,}: {per_ref * n:.2f} s"
    )
    print(f"  ratio (reference / canarystats per experiment): {ratio:.1f}x  (target >= 100x)")
    print(
        f"  agreement on {subset_n:,} experiments (final traffic): "
        f"{'yes' if agree else f'NO, {n_diff} differ'}"
    )
    print(
        f"  workload: {aborted:.1%} aborted, {passed:.1%} passing the last assessment; "
        f"final candidate traffic median {np.median(cand):.0f} % "
        f"(min {cand.min():.0f}, max {cand.max():.0f})"
    )
    if not agree:
        raise SystemExit(f"canarystats and the reference disagree on {n_diff} experiments")
    return {
        "per_experiment_vectorized": per_vec,
        "per_experiment_reference": per_ref,
        "vectorized_seconds": t_vec,
        "reference_seconds": t_ref,
        "ratio": ratio,
        "agree": float(agree),
    }


if __name__ == "__main__":
    main()
