"""Regenerate the bundled recorded rollouts: ``python -m canarystats.data.make_rollouts``.

Both rollouts simulate the scenario of Iter8's Tekton tutorial under its
experiment (``tutorial-experiment.yaml``: interval 30 s, step 20, 8
iterations, max 80 %, ``iter8_latency`` threshold 0.2 s on 6 requests):
4 requests per second to the reviews service, baseline mean latency 0.1 s,
1 % of 5xx for both versions, log-normal latencies with a coefficient of
variation of 0.5, scrapes every 5 s from 0 to 240 s (the last assessment),
with Istio's histogram buckets.

- ``rollout-rolled-back.csv``: candidate mean latency 0.35 s, which misses
  the criterion; the experiment holds at 20 % and rolls back.
- ``rollout-promoted.csv``: candidate mean latency 0.12 s, which meets it;
  traffic goes 20, 40, 60, 80 % and the candidate is promoted.

The seeds are fixed and floats are written with a fixed format, so
regeneration is byte-identical (for a given numpy version).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from canarystats.simulate import Scenario, simulate_rollouts
from canarystats.spec import Criterion, ExperimentSpec, TrafficControl

__all__ = ["SCENARIOS", "SEEDS", "main", "tutorial_spec", "write_rollouts"]

#: The candidate's scenario of each bundled rollout, by file name.
SCENARIOS: dict[str, Scenario] = {
    "rollout-rolled-back.csv": Scenario(
        request_rate=4.0,
        mean_latency=(0.1, 0.35),
        error_probability=0.01,
        latency_cv=0.5,
    ),
    "rollout-promoted.csv": Scenario(
        request_rate=4.0,
        mean_latency=(0.1, 0.12),
        error_probability=0.01,
        latency_cv=0.5,
    ),
}

#: The seed of each bundled rollout.
SEEDS: dict[str, int] = {"rollout-rolled-back.csv": 20200601, "rollout-promoted.csv": 20200602}

_START = "2020-06-01T12:00:00Z"


def tutorial_spec() -> ExperimentSpec:
    """The tutorial's experiment, built without reading the YAML file."""
    return ExperimentSpec(
        name="reviews-v3-rollout",
        target_service="reviews",
        baseline="reviews-v2",
        candidate="reviews-v3",
        traffic_control=TrafficControl(
            strategy="check_and_increment",
            interval="30s",
            step_size=20,
            max_iterations=8,
            max_traffic_percent=80,
            on_success="candidate",
        ),
        criteria=[
            Criterion(
                metric="iter8_latency", tolerance_type="threshold", tolerance=0.2, sample_size=6
            )
        ],
    )


def write_rollouts(directory: str | os.PathLike[str]) -> list[Path]:
    """Simulate the bundled rollouts and write them as CSV files into ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    spec = tutorial_spec()
    paths = []
    for filename, scenario in SCENARIOS.items():
        table = simulate_rollouts(
            spec,
            scenario,
            n_rollouts=1,
            scrape_interval=5.0,
            start=_START,
            buckets=True,
            rng=SEEDS[filename],
        )
        table = table.drop(columns="rollout")
        table["timestamp"] = table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        path = out / filename
        table.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write the rollouts next to this module or into ``--outdir``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default=str(Path(__file__).parent))
    args = parser.parse_args(argv)
    for path in write_rollouts(args.outdir):
        print(path)


if __name__ == "__main__":
    main()
