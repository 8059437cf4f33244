"""Operating characteristics by closed-loop simulation: closed forms, seeding, intervals."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from scipy import integrate, stats

from canarystats import (
    Criterion,
    ExperimentSpec,
    OperatingCharacteristicsResult,
    Scenario,
    SpecError,
    TrafficControl,
    operating_characteristics,
)
from canarystats.data.make_rollouts import tutorial_spec


def _zero_error_spec(max_iterations: int) -> ExperimentSpec:
    # a counter threshold of 0 errors: any candidate 5xx aborts at once
    return ExperimentSpec(
        name="tiny", target_service="svc", baseline="v1", candidate="v2",
        traffic_control=TrafficControl(interval="10s", step_size=20, max_iterations=max_iterations,
                                       max_traffic_percent=100),
        criteria=[Criterion(metric="iter8_error_count", tolerance_type="threshold",
                            tolerance=0.0, sample_size=0, is_counter=True)],
    )


@pytest.mark.parametrize("max_iterations", [1, 2])
def test_point_mode_matches_the_closed_form(max_iterations: int) -> None:
    # Candidate 5xx in [1 s, 10 s] at 20 % and [10 s, 20 s] at 40 % are Poisson (thinning):
    # P(promote) = exp(-rate * p * (9 * 0.2 [+ 10 * 0.4])), the rest abort.
    rate, p = 10.0, 0.02
    spec = _zero_error_spec(max_iterations)
    lam = rate * p * (9 * 0.2 + (10 * 0.4 if max_iterations == 2 else 0.0))
    n = 20000
    oc = operating_characteristics(
        spec, Scenario(request_rate=rate, mean_latency=0.1, error_probability=p), n=n, rng=3
    )
    want = math.exp(-lam)
    se = math.sqrt(want * (1 - want) / n)
    assert abs(oc.p_promote - want) < 4 * se
    assert oc.p_rollback == 0.0
    assert oc.p_promote + oc.p_abort == 1.0
    low, high = oc.confidence_interval("p_promote")
    assert low < oc.p_promote < high
    # exposure: every rollout serves the candidate up to its deciding window
    assert oc.exposure > 0


def test_equal_candidate_promotes_and_bad_candidate_rolls_back() -> None:
    spec = tutorial_spec()
    good = operating_characteristics(spec, Scenario(request_rate=5.0, mean_latency=0.1), n=500,
                                     rng=1)
    assert good.p_promote > 0.99
    assert good.time_to_decision == 240.0
    bad = operating_characteristics(spec, Scenario(request_rate=5.0, mean_latency=(0.1, 0.3)),
                                    n=500, rng=1)
    assert bad.p_rollback == 1.0
    assert bad.confidence_interval("exposure")[0] < bad.exposure


def test_seeded_and_chunk_independent() -> None:
    spec = tutorial_spec()
    sc = Scenario(request_rate=2.0, mean_latency=(0.15, 0.18))
    a = operating_characteristics(spec, sc, n=300, rng=7)
    b = operating_characteristics(spec, sc, n=300, rng=7)
    assert a == b
    np.testing.assert_array_equal(a.outcome, b.outcome)
    d = a.to_dict()
    assert d["p_promote_low"] <= d["p_promote"] <= d["p_promote_high"]


def test_bad_arguments_raise() -> None:
    spec = tutorial_spec()
    sc = Scenario(request_rate=2.0, mean_latency=0.1)
    with pytest.raises(SpecError, match="`n` must be an integer >= 1"):
        operating_characteristics(spec, sc, n=0)
    with pytest.raises(SpecError, match="`rng` must be"):
        operating_characteristics(spec, sc, n=2, rng="x")
    oc = operating_characteristics(spec, sc, n=2, rng=1)
    with pytest.raises(SpecError, match="`name` must be one of"):
        oc.confidence_interval("nope")


# --------------------------------------------------------------------- diurnal rates, buckets


def _rate(t: float, rate: float, amplitude: float, period: float, offset: float) -> float:
    """The diurnal rate, written out independently of the library."""
    return rate * (1.0 + amplitude * math.sin(2.0 * math.pi * (t + offset) / period))


def test_point_mode_closed_form_with_a_diurnal_rate() -> None:
    # As above, with the rate's integral (scipy's quad) in place of rate * seconds:
    # P(promote) = exp(-p (0.2 int_1^10 rate + 0.4 int_10^20 rate)).
    rate, p, args = 10.0, 0.02, (0.9, 40.0, 25.0)
    spec = _zero_error_spec(2)
    scenario = Scenario(request_rate=rate, mean_latency=0.1, error_probability=p,
                        diurnal_amplitude=args[0], diurnal_period=args[1],
                        diurnal_offset=args[2])  # fmt: skip
    lam = p * (0.2 * integrate.quad(_rate, 1.0, 10.0, args=(rate, *args))[0]
               + 0.4 * integrate.quad(_rate, 10.0, 20.0, args=(rate, *args))[0])  # fmt: skip
    n = 20000
    oc = operating_characteristics(spec, scenario, n=n, rng=5)
    want = math.exp(-lam)
    assert abs(oc.p_promote - want) < 4 * math.sqrt(want * (1 - want) / n)
    assert abs(want - math.exp(-rate * p * (9 * 0.2 + 10 * 0.4))) > 0.1  # the cycle matters


def _ranks_spec(sample_size: int) -> ExperimentSpec:
    # the sign test of the candidate's median latency <= 0.1 s (a bucket bound of Istio's),
    # judged once on [0, 10 s]; the candidate receives 20 % of [1 s, 10 s]
    return ExperimentSpec(
        name="median", target_service="svc", baseline="v1", candidate="v2",
        traffic_control=TrafficControl(interval="10s", step_size=20, max_iterations=1,
                                       max_traffic_percent=100),
        criteria=[Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.1,
                            sample_size=sample_size, method="ranks")],
    )  # fmt: skip


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(request_rate=8.0, mean_latency=0.06, latency_cv=1.0, latency_distribution="gamma"),
        Scenario(request_rate=8.0, mean_latency=0.05, latency_cv=0.8, tail_probability=0.2,
                 tail_factor=4.0, latency_shift=0.01),
    ],
)
def test_bucket_criterion_matches_the_closed_form(scenario: Scenario) -> None:
    # PASS (so promote) iff the candidate's N requests number >= 5 and the sign test shows the
    # median below 0.1 s: P(Bin(N, 1/2) >= S) <= 0.05, with N ~ Poisson(rate * 9 * 0.2) and
    # S | N ~ Bin(N, G(0.1)), G the candidate's latency CDF (scipy's distributions).
    cv = scenario.latency_cv
    m = scenario.mean_latency[1]
    if scenario.latency_distribution == "gamma":
        g = float(stats.gamma.cdf(0.1, 1 / cv**2, scale=m * cv**2))
    else:
        sigma = math.sqrt(math.log1p(cv**2))
        x = 0.1 - scenario.latency_shift
        scale = m / math.sqrt(1 + cv**2)
        g = float((1 - scenario.tail_probability) * stats.lognorm.cdf(x, sigma, scale=scale)
                  + scenario.tail_probability
                  * stats.lognorm.cdf(x, sigma, scale=scale * scenario.tail_factor))  # fmt: skip
    lam = scenario.request_rate * 9 * 0.2
    want = 0.0
    for count in range(5, 200):
        s = np.arange(count + 1)
        passes = stats.binom.sf(s - 1, count, 0.5) <= 0.05
        want += stats.poisson.pmf(count, lam) * stats.binom.pmf(s, count, g)[passes].sum()
    n = 20000
    oc = operating_characteristics(_ranks_spec(5), scenario, n=n, rng=17)
    assert abs(oc.p_promote - want) < 4 * math.sqrt(want * (1 - want) / n), (oc.p_promote, want)
    assert oc.p_abort == 0.0


def test_latency_quantile_metric_matches_the_closed_form() -> None:
    # A point threshold on iter8_latency_p50 <= 0.1 s, a bucket bound: Prometheus'
    # histogram_quantile is <= 0.1 exactly when the buckets up to 0.1 hold at least half the
    # requests (rank 0.5 N), so P(promote) = sum over N >= 5 of Poisson(N; rate * 9 * 0.2)
    # P(Bin(N, G(0.1)) >= N / 2), G from scipy. (Above the bound the interpolated value exceeds
    # it by at least 0.15 * 0.5 / N, more than Iter8's 3-decimal rounding for N < 150.)
    spec = attrs.evolve(_ranks_spec(5), criteria=[
        Criterion(metric="iter8_latency_p50", tolerance_type="threshold", tolerance=0.1,
                  sample_size=5)])  # fmt: skip
    scenario = Scenario(request_rate=8.0, mean_latency=0.1, latency_cv=1.0,
                        latency_distribution="gamma")  # fmt: skip
    g = float(stats.gamma.cdf(0.1, 1.0, scale=0.1))  # exponential: 1 - exp(-1)
    lam = 8.0 * 9 * 0.2
    want = sum(
        stats.poisson.pmf(count, lam) * stats.binom.sf(math.ceil(count / 2) - 1, count, g)
        for count in range(5, 150)
    )
    n = 20000
    oc = operating_characteristics(spec, scenario, n=n, rng=23)
    assert abs(oc.p_promote - want) < 4 * math.sqrt(want * (1 - want) / n), (oc.p_promote, want)


def test_criteria_the_simulator_cannot_serve_raise_naming_the_metric() -> None:
    sc = Scenario(request_rate=2.0, mean_latency=0.1)
    unknown = attrs.evolve(
        tutorial_spec(),
        criteria=[Criterion(metric="iter8_cpu", tolerance_type="threshold", tolerance=1.0)],
    )
    with pytest.raises(SpecError, match="'iter8_cpu' cannot be simulated"):
        operating_characteristics(unknown, sc, n=2)
    ranks_rate = attrs.evolve(
        tutorial_spec(),
        criteria=[Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                            method="ranks")],
    )  # fmt: skip
    with pytest.raises(SpecError, match="'iter8_error_rate' \\(method 'ranks'\\)"):
        operating_characteristics(ranks_rate, sc, n=2)
    quantile_rate = attrs.evolve(
        tutorial_spec(),
        criteria=[Criterion(metric="iter8_error_rate", tolerance_type="threshold",
                            tolerance=0.1, method="sequential",
                            options={"sequential_test": "quantile", "quantile": 0.9})],
    )  # fmt: skip
    with pytest.raises(SpecError, match="none of 'iter8_error_rate'"):
        operating_characteristics(quantile_rate, sc, n=2)
    scale_check = attrs.evolve(
        tutorial_spec(),
        criteria=[Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.1,
                            method="ranks", options={"scale_check": True})],
    )  # fmt: skip
    with pytest.raises(SpecError, match="`scale_check` needs raw samples of 'iter8_latency'"):
        operating_characteristics(scale_check, sc, n=2)
    with pytest.raises(SpecError, match="`buckets=False` forbids them"):
        operating_characteristics(_ranks_spec(5), sc, n=2, buckets=False)
    with pytest.raises(SpecError, match="`buckets` must be True"):
        operating_characteristics(_ranks_spec(5), sc, n=2, buckets=[0.2, 0.1])


@pytest.mark.parametrize("method", ["fixed", "group_sequential", "sequential"])
def test_mean_methods_get_sums_of_squares_only_when_asked(method: str) -> None:
    # These methods need the sample variance; Istio records no sums of squares, so by default
    # the simulator refuses them (naming the criterion and the switch) instead of producing
    # figures for data a replay of Istio metrics cannot give.
    crit = attrs.evolve(tutorial_spec().criteria[0], method=method)
    if method == "group_sequential":
        crit = attrs.evolve(crit, options={"looks": 9})
    spec = attrs.evolve(tutorial_spec(), criteria=[crit])
    with pytest.raises(SpecError, match=rf"'iter8_latency' \(method '{method}'\) needs .*"
                                        r"sum of squared latencies.*`sums_of_squares=True`"):
        operating_characteristics(spec, Scenario(request_rate=50.0, mean_latency=0.1), n=3)
    with pytest.raises(SpecError, match="`sums_of_squares` must be True or False"):
        operating_characteristics(spec, Scenario(request_rate=50.0, mean_latency=0.1), n=3,
                                  sums_of_squares=1)  # type: ignore[arg-type]
    # With them, the variance is there (without it they would stay undecided and warn: warnings
    # are errors here). 50 requests/s with a mean latency of 0.1 s against a 0.2 s threshold:
    # every rollout passes; 0.3 s: every one fails.
    good = operating_characteristics(spec, Scenario(request_rate=50.0, mean_latency=0.1),
                                     n=300, rng=2, sums_of_squares=True)  # fmt: skip
    bad = operating_characteristics(spec, Scenario(request_rate=50.0, mean_latency=(0.1, 0.3)),
                                    n=300, rng=2, sums_of_squares=True)  # fmt: skip
    assert good.p_promote == 1.0
    assert bad.p_rollback == 1.0


# --------------------------------------------------------------------- the time to decision


def _result(times: np.ndarray, outcome: np.ndarray | None = None,
            assessment: np.ndarray | None = None) -> OperatingCharacteristicsResult:
    n = times.size
    out = np.ones(n, dtype=np.int8) if outcome is None else outcome.astype(np.int8)
    return OperatingCharacteristicsResult(
        n=n, p_promote=float(np.mean(out == 1)), p_rollback=float(np.mean(out == 0)),
        p_abort=float(np.mean(out == -1)), time_to_decision=float(times.mean()), exposure=0.0,
        bad_requests=0.0, outcome=out, decision_time=times.astype(np.float64),
        exposures=np.zeros(n), bad=np.zeros(n), assessment_times=assessment,
    )  # fmt: skip


def test_decision_time_quantiles_and_their_order_statistic_intervals() -> None:
    # x = 1..100 (shuffled): R's quantile(x, c(0.5, 0.9), type = 1) = 50, 90; the ranks of the
    # 95 % intervals are qbinom(0.025, 100, p) and qbinom(0.975, 100, p) + 1: 40 and 61 for the
    # median (Conover 1999, table A3 gives the same), 84 and 96 for the 90th percentile (R 4.x).
    times = np.random.default_rng(0).permutation(np.arange(1.0, 101.0))
    res = _result(times)
    d = res.to_dict()
    assert (d["time_to_decision_median"], d["time_to_decision_median_low"],
            d["time_to_decision_median_high"]) == (50.0, 40.0, 61.0)  # fmt: skip
    assert (d["time_to_decision_p90"], d["time_to_decision_p90_low"],
            d["time_to_decision_p90_high"]) == (90.0, 84.0, 96.0)  # fmt: skip
    assert res.time_to_decision_median == 50.0
    assert res.time_to_decision_p90 == 90.0
    assert res.confidence_interval("time_to_decision_p90") == (84.0, 96.0)
    # R: qbinom(0.05, 20, 0.5) = 6 and qbinom(0.95, 20, 0.5) + 1 = 15 (90 % interval)
    small = _result(np.arange(1.0, 21.0))
    assert small.confidence_interval("time_to_decision_median", 0.90) == (6.0, 15.0)
    # too few rollouts to bound a quantile: the interval is unbounded there
    assert _result(np.array([3.0, 4.0])).confidence_interval("time_to_decision_p90") == (
        3.0, math.inf
    )


def test_order_statistic_intervals_cover_at_least_their_level_on_discrete_times() -> None:
    # Decision times on a grid of 9 assessment times (ties everywhere): over 2000 seeded
    # samples of 60 rollouts the 90 % intervals of the median and the 90th percentile cover the
    # true quantiles at least 90 % of the time, up to 3 Monte Carlo standard errors (0.02).
    rng = np.random.default_rng(11)
    grid = 30.0 * np.arange(9)
    probs = np.array([0.0, 0.05, 0.3, 0.25, 0.15, 0.1, 0.05, 0.05, 0.05])
    cdf = np.cumsum(probs)
    truth = {0.5: grid[np.searchsorted(cdf, 0.5)], 0.9: grid[np.searchsorted(cdf, 0.9 - 1e-12)]}
    reps = 2000
    hits = {0.5: 0, 0.9: 0}
    for _ in range(reps):
        res = _result(rng.choice(grid, size=60, p=probs))
        for q, name in ((0.5, "time_to_decision_median"), (0.9, "time_to_decision_p90")):
            low, high = res.confidence_interval(name, 0.9)
            hits[q] += low <= truth[q] <= high
    for q in hits:
        assert hits[q] / reps >= 0.9 - 3 * math.sqrt(0.9 * 0.1 / reps), (q, hits[q] / reps)


def test_time_to_decision_distribution_table() -> None:
    # 10,000 rollouts: 9,862 decided at 30 s (promoted), 138 at 60 s (100 promoted, 38 aborted).
    times = np.repeat([30.0, 60.0], [9862, 138])
    outcome = np.repeat([1, 1, -1], [9862, 100, 38])
    res = _result(times, outcome, assessment=30.0 * np.arange(4))
    table = res.time_to_decision_distribution()
    assert table.columns.tolist() == [
        "time", "count", "fraction", "fraction_low", "fraction_high", "cumulative_fraction",
        "cumulative_low", "cumulative_high", "promote", "rollback", "abort",
    ]
    assert table["time"].tolist() == [0.0, 30.0, 60.0, 90.0]
    assert table["count"].tolist() == [0, 9862, 138, 0]
    assert table["cumulative_fraction"].tolist() == [0.0, 0.9862, 1.0, 1.0]
    assert table["promote"].tolist() == [0, 9862, 100, 0]
    assert table["abort"].tolist() == [0, 0, 38, 0]
    # Wilson intervals: R's prop.test(138, 10000, correct = FALSE)$conf.int = 0.01169303
    # 0.01628037; prop.test(0, 10000, correct = FALSE)$conf.int = 0 0.0003839984
    row = table.iloc[2]
    assert row["fraction_low"] == pytest.approx(0.01169303, abs=5e-9)
    assert row["fraction_high"] == pytest.approx(0.01628037, abs=5e-9)
    assert table.iloc[0]["fraction_high"] == pytest.approx(0.0003839984, abs=5e-11)
    # unknown assessment times: the observed ones
    assert _result(times).time_to_decision_distribution()["time"].tolist() == [30.0, 60.0]
    with pytest.raises(SpecError, match="`confidence_level` must lie in"):
        res.time_to_decision_distribution(confidence_level=1.5)


def test_early_stopping_spreads_the_time_to_decision() -> None:
    # The tutorial experiment judged by an anytime-valid confidence sequence with early_stop:
    # at 20 requests/s an equal candidate (150 ms, threshold 200 ms) is promoted and a +50 %
    # one rolled back, both mostly before the last assessment at 240 s; with point criteria
    # every decision comes at 240 s.
    base = tutorial_spec()
    spec = attrs.evolve(
        base, traffic_control=attrs.evolve(base.traffic_control, early_stop=True),
        criteria=[attrs.evolve(c, method="sequential") for c in base.criteria],
    )
    equal = operating_characteristics(spec, Scenario(request_rate=20.0, mean_latency=0.15),
                                      n=2000, rng=3, sums_of_squares=True)  # fmt: skip
    worse = operating_characteristics(spec, Scenario(request_rate=20.0,
                                                     mean_latency=(0.15, 0.225)), n=2000, rng=3,
                                      sums_of_squares=True)  # fmt: skip
    point = operating_characteristics(base, Scenario(request_rate=20.0, mean_latency=0.15),
                                      n=2000, rng=3)  # fmt: skip
    assert point.time_to_decision_distribution()["count"].iloc[-1] == 2000
    assert point.confidence_interval("time_to_decision_median") == (240.0, 240.0)
    for oc in (equal, worse):
        dist = oc.time_to_decision_distribution()
        assert dist["count"].sum() == oc.n
        assert (dist[["promote", "rollback", "abort"]].sum(axis=1) == dist["count"]).all()
        assert dist["cumulative_fraction"].iloc[-1] == pytest.approx(1.0)
        assert (dist["count"] > 0).sum() >= 3  # decisions spread over several assessments
        assert oc.confidence_interval("time_to_decision_median")[1] < 240.0
        assert oc.time_to_decision < point.time_to_decision
    assert equal.p_promote > 0.95
    assert worse.p_rollback > 0.95


def test_wilson_intervals_match_scipy_and_are_exact_at_the_ends() -> None:
    # scipy.stats.binomtest(k, n).proportion_ci(method="wilson") is the reference; at 0 successes
    # the lower end is exactly 0 and at n successes the upper end exactly 1 (no rounding noise
    # such as 2e-19 or 0.9999999999999999 in `tune` rows)
    from scipy.stats import binomtest

    from canarystats.simulate.operating import wilson_interval

    for n in (1, 7, 100, 20000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
            low, high = wilson_interval(k, n, 0.95)
            assert low == pytest.approx(ref.low, abs=1e-15)
            assert high == pytest.approx(ref.high, abs=1e-15)
        assert wilson_interval(0, n, 0.95)[0] == 0.0
        assert wilson_interval(n, n, 0.95)[1] == 1.0
    spec = tutorial_spec()
    good = operating_characteristics(spec, Scenario(request_rate=5.0, mean_latency=0.1), n=500,
                                     rng=1)
    assert good.p_rollback == 0.0
    assert good.confidence_interval("p_rollback")[0] == 0.0
    row = good.to_dict()
    assert row["p_rollback_low"] == 0.0
