"""The closed-loop rollout simulator: seeding, schema, closed loop, distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from canarystats import SpecError, replay_all
from canarystats.adapters.frames import ISTIO_BUCKETS, bucket_column
from canarystats.data.make_rollouts import tutorial_spec
from canarystats.simulate import Scenario, simulate_rollouts

SPEC = tutorial_spec()
GOOD = Scenario(request_rate=4.0, mean_latency=(0.1, 0.12), error_probability=0.02, latency_cv=0.5)
BAD = Scenario(request_rate=4.0, mean_latency=(0.1, 0.35), latency_cv=0.5)
COUNTERS = ["requests", "errors_5xx", "latency_sum", "latency_count"]


def test_same_seed_same_table() -> None:
    a = simulate_rollouts(SPEC, GOOD, n_rollouts=3, rng=11)
    b = simulate_rollouts(SPEC, GOOD, n_rollouts=3, rng=np.random.default_rng(11))
    c = simulate_rollouts(SPEC, GOOD, n_rollouts=3, rng=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_schema_of_n_rollouts() -> None:
    n = 4
    table = simulate_rollouts(SPEC, GOOD, n_rollouts=n, buckets=True, rng=5)
    buckets = [bucket_column(b) for b in (*ISTIO_BUCKETS, np.inf)]
    assert list(table.columns) == ["rollout", "timestamp", "version", *COUNTERS, *buckets]
    assert buckets[0] == "bucket_le_0.005"
    assert buckets[-1] == "bucket_le_inf"
    assert len(table) == n * 49 * 2  # scrapes at 0, 5, ..., 240 s
    assert isinstance(table["timestamp"].dtype, pd.DatetimeTZDtype)
    assert table["timestamp"].min() == pd.Timestamp("2020-06-01T12:00:00Z")
    assert table["timestamp"].max() == pd.Timestamp("2020-06-01T12:04:00Z")
    assert table["rollout"].tolist() == np.repeat(np.arange(n), 98).tolist()
    assert set(table["version"]) == {"reviews-v2", "reviews-v3"}
    for col in ["requests", "errors_5xx", "latency_count", *buckets]:
        assert table[col].dtype == np.int64
    assert table["latency_sum"].dtype == np.float64
    assert (table["latency_count"] == table["requests"]).all()
    assert (table["bucket_le_inf"] == table["requests"]).all()
    assert (np.diff(table[buckets].to_numpy(), axis=1) >= 0).all()  # cumulative over bounds
    per_series = table.groupby(["rollout", "version"])[[*COUNTERS, *buckets]]
    assert (per_series.diff().fillna(0) >= 0).all().all()  # cumulative over time
    assert (table["errors_5xx"] <= table["requests"]).all()


def test_numeric_start_gives_numeric_timestamps() -> None:
    table = simulate_rollouts(SPEC, GOOD, scrape_interval=7.0, start=100.0, rng=1)
    assert table["timestamp"].dtype == np.float64
    times = np.unique(table["timestamp"])
    np.testing.assert_array_equal(times, 100.0 + 7.0 * np.arange(36))  # through 245 >= 240 s


def test_closed_loop_traffic_follows_the_routed_split() -> None:
    n = 300
    table = simulate_rollouts(SPEC, GOOD, n_rollouts=n, rng=2024)
    results = replay_all(SPEC, table)
    routed = np.array([r.run.routed[1:] for r in results.values()])  # (n, 9) after each k
    # Every rollout passes: routed 20, 40, 60, 80, ... after assessments 0, 1, 2, 3, ...
    assert (routed == [20, 40, 60, 80, 80, 80, 80, 80, 80]).all()
    assert all(r.outcome == "promote" for r in results.values())

    secs = (table["timestamp"] - table["timestamp"].min()).dt.total_seconds()
    wide = table.assign(t=secs).pivot_table(
        index=["rollout", "t"], columns="version", values="requests"
    )
    shares = []
    # Requests between assessments k and k+1 (at 30 k s) follow the split routed after k.
    for k, expected in [(1, 0.4), (2, 0.6), (3, 0.8)]:
        lo = wide.xs(30.0 * k, level="t")
        hi = wide.xs(30.0 * (k + 1), level="t")
        cand = (hi["reviews-v3"] - lo["reviews-v3"]).sum()
        total = (hi - lo).to_numpy().sum()
        share = cand / total
        # Given the total, the candidate's requests are Binomial(total, share) (Poisson
        # splitting); allow 5 standard deviations of the binomial proportion.
        sd = np.sqrt(expected * (1 - expected) / total)
        assert abs(share - expected) < 5 * sd, (k, share, expected, sd)
        shares.append(share)
    assert shares == sorted(shares)  # more candidate requests after each increment


def test_failing_candidate_stays_at_the_first_step_then_gets_nothing() -> None:
    table = simulate_rollouts(SPEC, BAD, n_rollouts=50, rng=3)
    results = replay_all(SPEC, table)
    assert all(r.outcome == "rollback" for r in results.values())
    assert all(r.timeline["candidate_traffic"].tolist() == [20.0] * 9 for r in results.values())


def test_rollback_routes_all_traffic_to_the_baseline_after_an_abort() -> None:
    import attrs

    from canarystats import Criterion

    # A counter over its threshold aborts; after that the candidate gets no requests.
    spec = attrs.evolve(
        SPEC,
        criteria=[
            Criterion(metric="iter8_error_count", tolerance_type="threshold", tolerance=0,
                      sample_size=6)
        ],
    )  # fmt: skip
    scenario = Scenario(request_rate=20.0, mean_latency=0.1, error_probability=(0.0, 0.5))
    table = simulate_rollouts(spec, scenario, n_rollouts=20, rng=4)
    results = replay_all(spec, table)
    for rid, result in results.items():
        assert result.aborted
        assert result.outcome == "rollback"
        assert result.end_iteration == 1
        cand = table[(table["rollout"] == int(rid)) & (table["version"] == "reviews-v3")]
        after = cand["requests"].to_numpy()[cand["timestamp"] >= cand["timestamp"].min()
                                            + pd.Timedelta(seconds=30)]  # fmt: skip
        assert (after == after[0]).all()


@pytest.mark.parametrize("distribution", ["gamma", "lognormal"])
def test_latency_sums_have_the_scenario_mean_and_variance(distribution: str) -> None:
    scenario = Scenario(
        request_rate=50.0, mean_latency=(0.1, 0.3), latency_cv=2.0,
        latency_distribution=distribution,
    )  # fmt: skip
    spec = tutorial_spec()
    table = simulate_rollouts(spec, scenario, n_rollouts=400, scrape_interval=240.0, rng=9)
    last = table[table["timestamp"] == table["timestamp"].max()]
    for version, mean in [("reviews-v2", 0.1), ("reviews-v3", 0.3)]:
        rows = last[last["version"] == version]
        n = rows["latency_count"].to_numpy()
        total = rows["latency_sum"].to_numpy()
        # Sum of n requests: mean n * m, variance n * (cv m)^2 (exact for both choices).
        z = (total - n * mean) / np.sqrt(n * (2.0 * mean) ** 2)
        # 400 standardized draws: their mean within 5 / sqrt(400) of 0, variance near 1.
        assert abs(z.mean()) < 5 / np.sqrt(len(z))
        assert 0.7 < z.var() < 1.3


def test_bucket_probabilities_follow_the_distribution() -> None:
    scenario = Scenario(request_rate=50.0, mean_latency=0.1, latency_cv=1.0,
                        latency_distribution="gamma")  # fmt: skip
    # Gamma with cv 1 is exponential: P(latency <= 0.1) = 1 - exp(-1).
    table = simulate_rollouts(SPEC, scenario, n_rollouts=20, buckets=[0.1], rng=6)
    last = table[table["timestamp"] == table["timestamp"].max()]
    share = last["bucket_le_0.1"].sum() / last["bucket_le_inf"].sum()
    total = last["bucket_le_inf"].sum()
    p = 1 - np.exp(-1)
    assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / total)


def test_scenario_validation() -> None:
    with pytest.raises(SpecError, match="`request_rate` must be a finite number > 0"):
        Scenario(request_rate=0.0, mean_latency=0.1)
    with pytest.raises(SpecError, match=r"`mean_latency` must be .* pair"):
        Scenario(request_rate=1.0, mean_latency=(0.1, 0.2, 0.3))
    with pytest.raises(SpecError, match="`error_probability`"):
        Scenario(request_rate=1.0, mean_latency=0.1, error_probability=(0.0, 1.5))
    with pytest.raises(SpecError, match="`latency_distribution` must be one of"):
        Scenario(request_rate=1.0, mean_latency=0.1, latency_distribution="weibull")
    assert Scenario(request_rate=1, mean_latency=0.2).mean_latency == (0.2, 0.2)


def test_argument_validation() -> None:
    with pytest.raises(SpecError, match="`n_rollouts` must be an integer >= 1"):
        simulate_rollouts(SPEC, GOOD, n_rollouts=0)
    with pytest.raises(SpecError, match="`scrape_interval`"):
        simulate_rollouts(SPEC, GOOD, scrape_interval=-5)
    with pytest.raises(SpecError, match="`rng` must be"):
        simulate_rollouts(SPEC, GOOD, rng="seed")
    with pytest.raises(SpecError, match="`buckets`"):
        simulate_rollouts(SPEC, GOOD, buckets=[0.5, 0.1])


@pytest.mark.parametrize(
    "module",
    [
        "canarystats.simulate",
        "canarystats.simulate.drawing",
        "canarystats.simulate.needs",
        "canarystats.simulate.operating",
        "canarystats.simulate.scenario",
    ],
)
def test_module_doctests(module: str) -> None:
    # The package's examples live in its modules: run each module's (the package's own too).
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
