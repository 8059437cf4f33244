"""Benchmark: vectorized closed-loop rollouts against a per-rollout Python loop of the same model.

Workload: the Tekton tutorial experiment (9 assessments: iterations 0..8, 30 s apart) with 2
point-mode criteria (mean latency threshold 0.2 s, error-rate delta 50 %), 50 requests/s,
log-normal latencies (baseline mean 0.15 s, candidate +50 %), 1 % errors.

- canarystats: :func:`canarystats.operating_characteristics` on N rollouts at once (sufficient
  statistics per interval and version; one ``step`` per assessment over the whole batch);
- reference: the same model and code path run one rollout at a time in a Python loop
  (``n=1`` per call), on a sample of rollouts; its time is scaled per rollout.

For information it also times the same vectorized run with the scenario's newer knobs on (a
diurnal rate and a tail regression instead of the scale one: one more binomial and one more
gamma draw per interval), so that their cost shows beside the plain point-mode path.

No timing is asserted anywhere; the issue's target is a ratio of at least 100x.

    python benchmarks/bench_simulate.py            # N = 1,000,000
    python benchmarks/bench_simulate.py --quick    # N = 20,000, a few seconds
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import canarystats as cs

SCENARIO = cs.Scenario(
    request_rate=50.0, mean_latency=(0.15, 0.225), error_probability=0.01, latency_cv=1.0
)
#: The same mean candidate latency (0.225 s) from a slow tail, under a diurnal load.
KNOBS = cs.Scenario(
    request_rate=50.0, mean_latency=0.15, error_probability=0.01, latency_cv=1.0,
    tail_probability=0.1, tail_factor=6.0, diurnal_amplitude=0.5, diurnal_offset=21600.0,
)


def make_spec() -> cs.ExperimentSpec:
    return cs.ExperimentSpec(
        name="bench", target_service="reviews", baseline="reviews-v2", candidate="reviews-v3",
        traffic_control=cs.TrafficControl(interval="30s", step_size=20, max_iterations=8,
                                          max_traffic_percent=80),
        criteria=[
            cs.Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                         sample_size=6),
            cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.5,
                         sample_size=20),
        ],
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="vectorized rollouts")
    parser.add_argument("--sample", type=int, default=200, help="rollouts of the loop")
    parser.add_argument("--quick", action="store_true", help="N = 20,000, sample 20")
    args = parser.parse_args(argv)
    n, sample = (20_000, 20) if args.quick else (args.n, args.sample)
    spec = make_spec()

    t0 = time.perf_counter()
    oc = cs.operating_characteristics(spec, SCENARIO, n=n, rng=1)
    t_vec = time.perf_counter() - t0

    t0 = time.perf_counter()
    promoted = 0
    for i in range(sample):
        promoted += cs.operating_characteristics(spec, SCENARIO, n=1, rng=1000 + i).p_promote == 1
    t_loop = time.perf_counter() - t0

    t0 = time.perf_counter()
    cs.operating_characteristics(spec, KNOBS, n=n, rng=1)
    t_knobs = time.perf_counter() - t0

    vec_rate = n / t_vec
    loop_rate = sample / t_loop
    ratio = vec_rate / loop_rate
    knobs_rate = n / t_knobs
    print(f"workload: {len(spec.criteria)} point-mode criteria, "
          f"{spec.traffic_control.max_iterations + 1} assessments, 50 requests/s")
    print(f"canarystats (vectorized): {n:,} rollouts in {t_vec:.2f} s = {vec_rate:,.0f} rollouts/s")
    print(f"reference (per-rollout loop): {sample:,} rollouts in {t_loop:.2f} s = "
          f"{loop_rate:,.0f} rollouts/s")
    print(f"ratio (vectorized / loop, rollouts per second): {ratio:.1f}x")
    print(f"P(promote) vectorized {oc.p_promote:.4f}, loop {promoted / sample:.4f}")
    print(f"with a diurnal rate and a tail regression (vectorized): {n:,} rollouts in "
          f"{t_knobs:.2f} s = {knobs_rate:,.0f} rollouts/s")
    return {"vec_rate": vec_rate, "loop_rate": loop_rate, "ratio": ratio,
            "p_promote": oc.p_promote, "knobs_rate": knobs_rate}


if __name__ == "__main__":
    main()
