"""Scenario knobs of the simulator: diurnal rates, shift and tail regressions, sums of squares.

Statistical checks are seeded (deterministic) and allow for their Monte Carlo error: a mean of
m draws is compared with its expectation within 5 standard errors (two-sided level 6e-7 each),
a distribution by Kolmogorov-Smirnov at level 0.001.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from scipy import integrate, special, stats

from canarystats import Criterion, ExperimentSpec, SpecError, TrafficControl
from canarystats.data.make_rollouts import tutorial_spec
from canarystats.simulate import Scenario, simulate_rollouts
from canarystats.simulate.drawing import draw_latency

# A latency threshold no simulated latency reaches: every assessment passes, so the traffic
# (and with it the random draws) does not depend on the candidate's latencies.
OPEN = attrs.evolve(
    tutorial_spec(), criteria=[attrs.evolve(tutorial_spec().criteria[0], tolerance=1e6)]
)


def _rate(t: float, rate: float, amplitude: float, period: float, offset: float) -> float:
    """The diurnal rate, written out independently of the library."""
    return rate * (1.0 + amplitude * math.sin(2.0 * math.pi * (t + offset) / period))


@pytest.mark.parametrize(
    ("amplitude", "period", "offset", "t0", "t1"),
    [
        (0.0, 86400.0, 0.0, 0.0, 30.0),
        (0.5, 86400.0, 0.0, 0.0, 86400.0),
        (0.5, 86400.0, 21600.0, 100.0, 130.0),
        (0.9, 60.0, 7.0, 1.0, 10.0),
        (0.9, 60.0, -13.0, 10.0, 250.0),
        (0.3, 3600.0, 1800.0, 0.0, 1.0),
    ],
)
def test_expected_requests_is_the_integral_of_the_rate(
    amplitude: float, period: float, offset: float, t0: float, t1: float
) -> None:
    s = Scenario(request_rate=7.0, mean_latency=0.1, diurnal_amplitude=amplitude,
                 diurnal_period=period, diurnal_offset=offset)  # fmt: skip
    want, err = integrate.quad(_rate, t0, t1, args=(7.0, amplitude, period, offset),
                               limit=200, epsabs=1e-10, epsrel=1e-12)  # fmt: skip
    assert float(s.expected_requests(t0, t1)) == pytest.approx(want, rel=1e-10, abs=1e-9)
    assert float(s.rate_at(t0)) == pytest.approx(_rate(t0, 7.0, amplitude, period, offset))


def test_diurnal_requests_follow_the_integrated_rate() -> None:
    # A 50 s cycle, so 240 s of rollout see almost 5 of them; each 30 s window's requests of the
    # whole service are Poisson with the integral of the rate (checked on mean and variance).
    scenario = Scenario(request_rate=10.0, mean_latency=0.1, diurnal_amplitude=0.8,
                        diurnal_period=50.0, diurnal_offset=5.0)  # fmt: skip
    n = 2000
    table = simulate_rollouts(OPEN, scenario, n_rollouts=n, scrape_interval=30.0, rng=8)
    total = table.groupby(["rollout", "timestamp"])["requests"].sum().to_numpy().reshape(n, -1)
    per_window = np.diff(total, axis=1)  # (n, 8): [0, 30], [30, 60], ...
    for w in range(per_window.shape[1]):
        lam = integrate.quad(_rate, 30.0 * w, 30.0 * (w + 1), args=(10.0, 0.8, 50.0, 5.0))[0]
        x = per_window[:, w]
        assert abs(x.mean() - lam) < 5 * math.sqrt(lam / n), (w, x.mean(), lam)
        # the sample variance of m Poisson draws: sd about lam * sqrt(2 / m) (plus lam / m)
        assert abs(x.var(ddof=1) - lam) < 5 * math.sqrt(2 * lam**2 / n + lam / n)


def test_a_shift_adds_exactly_shift_times_requests() -> None:
    plain = Scenario(request_rate=5.0, mean_latency=(0.1, 0.12), latency_cv=0.7)
    shifted = attrs.evolve(plain, latency_shift=0.05)
    a = simulate_rollouts(OPEN, plain, n_rollouts=30, rng=12)
    b = simulate_rollouts(OPEN, shifted, n_rollouts=30, rng=12)
    for col in ("requests", "errors_5xx", "latency_count"):
        assert (a[col] == b[col]).all()
    cand = (a["version"] == "reviews-v3").to_numpy()
    np.testing.assert_allclose(
        b["latency_sum"][cand] - a["latency_sum"][cand], 0.05 * a["latency_count"][cand],
        rtol=1e-9, atol=1e-12,
    )
    np.testing.assert_array_equal(b["latency_sum"][~cand], a["latency_sum"][~cand])


@pytest.mark.parametrize("distribution", ["gamma", "lognormal"])
def test_latency_cdf_of_shift_and_tail_is_the_mixture(distribution: str) -> None:
    m, cv, p, f, d = 0.1, 0.8, 0.1, 5.0, 0.02
    s = Scenario(request_rate=1.0, mean_latency=(0.08, m), latency_cv=cv,
                 latency_distribution=distribution, tail_probability=p, tail_factor=f,
                 latency_shift=d)  # fmt: skip
    bounds = np.array([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, np.inf])

    def cdf(x: np.ndarray, mean: float) -> np.ndarray:  # scipy's distributions, by mean and cv
        if distribution == "gamma":
            return np.asarray(stats.gamma.cdf(x, 1 / cv**2, scale=mean * cv**2))
        sigma = math.sqrt(math.log1p(cv**2))
        return np.asarray(stats.lognorm.cdf(x, sigma, scale=mean / math.sqrt(1 + cv**2)))

    want_c = (1 - p) * cdf(bounds - d, m) + p * cdf(bounds - d, m * f)
    got = s.latency_cdf(bounds)
    np.testing.assert_allclose(got[0], cdf(bounds, 0.08), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got[1], want_c, rtol=1e-12, atol=1e-15)
    assert s.candidate_mean_latency == pytest.approx(m * (1 - p + p * f) + d)


@pytest.mark.parametrize("distribution", ["gamma", "lognormal"])
def test_tail_regression_sums_and_buckets(distribution: str) -> None:
    m, cv, p, f = 0.1, 1.0, 0.05, 10.0
    scenario = Scenario(request_rate=50.0, mean_latency=m, latency_cv=cv, tail_probability=p,
                        tail_factor=f, latency_distribution=distribution)  # fmt: skip
    n = 400
    table = simulate_rollouts(OPEN, scenario, n_rollouts=n, scrape_interval=240.0,
                              buckets=[0.1, 1.0], rng=21)  # fmt: skip
    last = table[table["timestamp"] == table["timestamp"].max()]
    cand = last[last["version"] == "reviews-v3"]
    k = cand["latency_count"].to_numpy()
    # one candidate request Y = F X: E[Y] = m (1 - p + p f), E[Y^2] = m^2 (1 + cv^2) (1 - p + p f^2)
    ey = m * (1 - p + p * f)
    vy = m**2 * (1 + cv**2) * (1 - p + p * f**2) - ey**2
    z = (cand["latency_sum"].to_numpy() - k * ey) / np.sqrt(k * vy)
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert 0.8 < z.var() < 1.2
    # the share in each bucket: the mixture CDF, from scipy
    if distribution == "gamma":
        g = stats.gamma(1 / cv**2, scale=m * cv**2).cdf
        g_slow = stats.gamma(1 / cv**2, scale=m * f * cv**2).cdf
    else:
        sigma = math.sqrt(math.log1p(cv**2))
        g = stats.lognorm(sigma, scale=m / math.sqrt(1 + cv**2)).cdf
        g_slow = stats.lognorm(sigma, scale=m * f / math.sqrt(1 + cv**2)).cdf
    total = cand["bucket_le_inf"].sum()
    for bound in (0.1, 1.0):
        share = cand[f"bucket_le_{bound:g}"].sum() / total
        want = (1 - p) * g(bound) + p * g_slow(bound)
        assert abs(share - want) < 5 * math.sqrt(want * (1 - want) / total), (bound, share, want)


def _moments(k: float, theta: float, j: int) -> float:
    """E[X^j] of Gamma(k, theta): theta^j k (k + 1) ... (k + j - 1)."""
    return float(theta**j * special.poch(k, j))


@pytest.mark.parametrize("count", [2, 7, 60])
def test_sums_of_squares_have_the_exact_first_two_moments(count: int) -> None:
    # Gamma latencies (mean 0.2, cv 1.5): given n, sum(X^2) has mean n E[X^2], variance
    # n (E[X^4] - E[X^2]^2) and covariance n (E[X^3] - E[X] E[X^2]) with sum(X).
    cv, mean = 1.5, 0.2
    k, theta = 1 / cv**2, mean * cv**2
    s = Scenario(request_rate=1.0, mean_latency=mean, latency_cv=cv, latency_distribution="gamma")
    m = 100_000
    requests = np.full((m, 2), count)
    total, squares = draw_latency(np.random.default_rng(5), s, requests, True)
    assert squares is not None
    x, y = total[:, 0], squares[:, 0]
    e2, e3, e4 = (_moments(k, theta, j) for j in (2, 3, 4))
    var_y = count * (e4 - e2**2)
    assert abs(y.mean() - count * e2) < 5 * math.sqrt(var_y / m)
    # the sample variance and covariance: their standard errors estimated from the draws
    dy = (y - y.mean()) ** 2
    assert abs(dy.mean() - var_y) < 5 * dy.std() / math.sqrt(m)
    cross = (x - x.mean()) * (y - y.mean())
    assert abs(cross.mean() - count * (e3 - mean * e2)) < 5 * cross.std() / math.sqrt(m)
    # sum^2 / n <= sum of squares <= sum^2 for positive values
    assert np.all(y >= x * x / count * (1 - 1e-12))
    assert np.all(y <= x * x * (1 + 1e-12))


def test_sums_of_squares_of_two_requests_are_exact() -> None:
    # For n = 2 the draw is exact: against sums of two Gamma draws per rollout, by
    # two-sample Kolmogorov-Smirnov at level 0.001 (and the sum of squares over the squared sum,
    # the part the Beta draw supplies).
    cv, mean = 1.3, 0.1
    k, theta = 1 / cv**2, mean * cv**2
    s = Scenario(request_rate=1.0, mean_latency=mean, latency_cv=cv, latency_distribution="gamma")
    m = 20_000
    total, squares = draw_latency(np.random.default_rng(6), s, np.full((m, 2), 2), True)
    assert squares is not None
    x = np.random.default_rng(7).gamma(k, theta, size=(m, 2))
    assert stats.ks_2samp(squares[:, 1], (x * x).sum(1)).pvalue > 0.001
    assert stats.ks_2samp(squares[:, 1] / total[:, 1] ** 2,
                          (x * x).sum(1) / x.sum(1) ** 2).pvalue > 0.001  # fmt: skip


def test_sums_of_squares_with_shift_and_tail() -> None:
    m, cv, p, f, d = 0.1, 1.0, 0.1, 4.0, 0.03
    base = Scenario(request_rate=1.0, mean_latency=m, latency_cv=cv, tail_probability=p,
                    tail_factor=f, latency_distribution="gamma")  # fmt: skip
    shifted = attrs.evolve(base, latency_shift=d)
    count, draws = 30, 50_000
    requests = np.full((draws, 2), count)
    t0, q0 = draw_latency(np.random.default_rng(9), base, requests, True)
    t1, q1 = draw_latency(np.random.default_rng(9), shifted, requests, True)
    assert q0 is not None
    assert q1 is not None
    # the shift is exact: sum((x + d)^2) = sum(x^2) + 2 d sum(x) + n d^2, candidate only
    np.testing.assert_allclose(q1[:, 1], q0[:, 1] + 2 * d * t0[:, 1] + count * d * d, rtol=1e-12)
    np.testing.assert_array_equal(q1[:, 0], q0[:, 0])
    # the tail's mixture: E[sum(Y^2)] = n m^2 (1 + cv^2) (1 - p + p f^2)
    want = count * m**2 * (1 + cv**2) * (1 - p + p * f**2)
    assert abs(q0[:, 1].mean() - want) < 5 * q0[:, 1].std() / math.sqrt(draws)
    # no requests, no sums; one request: its square
    t, q = draw_latency(np.random.default_rng(1), base, np.array([[0, 1]]), True)
    assert q is not None
    assert t[0, 0] == 0.0
    assert q[0, 0] == 0.0
    assert q[0, 1] == pytest.approx(t[0, 1] ** 2)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("latency_shift", -0.01, r"`latency_shift` must be a finite number in \[0, inf\]"),
        ("latency_shift", math.inf, "`latency_shift`"),
        ("tail_probability", 1.5, r"`tail_probability` must be a finite number in \[0, 1\]"),
        ("tail_factor", 0.5, r"`tail_factor` must be a finite number in \[1, inf\]"),
        ("diurnal_amplitude", 1.0, r"`diurnal_amplitude` must be a finite number in \[0, 1\)"),
        ("diurnal_amplitude", -0.1, "`diurnal_amplitude`"),
        ("diurnal_period", 0.0, "`diurnal_period` must be a finite number > 0"),
        ("diurnal_offset", math.nan, "`diurnal_offset` must be a finite number, got nan"),
        ("diurnal_offset", "noon", "`diurnal_offset` must be a finite number, got 'noon'"),
        ("tail_factor", True, "`tail_factor`"),
    ],
)
def test_scenario_knobs_are_validated(field: str, value: object, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        Scenario(request_rate=1.0, mean_latency=0.1, **{field: value})  # type: ignore[arg-type]


def test_criteria_the_simulator_cannot_serve_raise() -> None:
    base = tutorial_spec()
    scenario = Scenario(request_rate=1.0, mean_latency=0.1)

    def with_criterion(**kwargs: object) -> ExperimentSpec:
        return attrs.evolve(base, criteria=[Criterion(**kwargs)])  # type: ignore[arg-type]

    unknown = with_criterion(metric="iter8_throughput", tolerance_type="threshold", tolerance=1)
    with pytest.raises(SpecError, match="'iter8_throughput' cannot be simulated"):
        simulate_rollouts(unknown, scenario, rng=1)
    ranks = with_criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.1,
                           method="ranks")  # fmt: skip
    with pytest.raises(SpecError, match=r"'iter8_latency' \(method 'ranks'\) reads histogram"):
        simulate_rollouts(ranks, scenario, rng=1)
    table = simulate_rollouts(ranks, scenario, buckets=True, rng=1)  # with buckets it runs
    assert "bucket_le_inf" in table.columns
    p95 = with_criterion(metric="iter8_latency_p95", tolerance_type="threshold", tolerance=0.5)
    with pytest.raises(SpecError, match=r"'iter8_latency_p95' \(method 'point'\) reads"):
        simulate_rollouts(p95, scenario, rng=1)
    assert len(simulate_rollouts(p95, scenario, buckets=True, rng=1)) > 0
    rate = with_criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                          method="ranks")  # fmt: skip
    with pytest.raises(SpecError, match="none of 'iter8_error_rate'"):
        simulate_rollouts(rate, scenario, buckets=True, rng=1)


def test_constant_rate_draws_are_unchanged_by_the_new_knobs() -> None:
    # defaults of the new knobs (no cycle, no shift, no tail) draw exactly what the simulator
    # drew before them; a tail with factor 1 is no tail
    a = simulate_rollouts(OPEN, Scenario(request_rate=3.0, mean_latency=0.1), n_rollouts=3,
                          buckets=True, rng=4)  # fmt: skip
    b = simulate_rollouts(
        OPEN,
        Scenario(request_rate=3.0, mean_latency=0.1, tail_probability=0.3, tail_factor=1.0,
                 diurnal_period=100.0, diurnal_offset=3.0),
        n_rollouts=3, buckets=True, rng=4,
    )  # fmt: skip
    assert a.equals(b)


def test_increment_without_check_spec_is_unaffected_by_latency_knobs() -> None:
    spec = ExperimentSpec(
        name="x", target_service="svc", baseline="reviews-v2", candidate="reviews-v3",
        traffic_control=TrafficControl(strategy="increment_without_check", interval="10s",
                                       step_size=20, max_iterations=2),
        criteria=[],
    )  # fmt: skip
    a = simulate_rollouts(spec, Scenario(request_rate=5.0, mean_latency=0.1), rng=3)
    b = simulate_rollouts(spec, Scenario(request_rate=5.0, mean_latency=0.1, latency_shift=1.0),
                          rng=3)  # fmt: skip
    assert (a["requests"] == b["requests"]).all()
