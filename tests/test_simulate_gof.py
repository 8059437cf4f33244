"""Goodness of fit of the simulator's per-interval draws: Poisson requests, Binomial 5xx.

Chi-squared tests at level alpha = 0.001 each, on seeded draws (deterministic): bins hold
an expected count >= 5, the tails are lumped into the end bins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from canarystats import Criterion, ExperimentSpec, TrafficControl
from canarystats.simulate import Scenario, simulate_rollouts

ALPHA = 0.001
RATE = 20.0
P_ERR = (0.1, 0.3)
N = 20000


def _chi2_pvalue(x: NDArray[np.int64], cdf: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                 support_max: int) -> float:
    """Chi-squared test of integer draws ``x`` against a discrete distribution given by ``cdf``."""
    ks = np.arange(support_max + 1, dtype=np.float64)
    pmf = np.diff(cdf(ks), prepend=0.0)
    pmf[-1] += 1.0 - pmf.sum()  # the upper tail into the last value
    n = x.size
    # bin edges: consecutive values merged until each bin expects >= 5
    edges = [0]
    acc = 0.0
    for k in range(support_max + 1):
        acc += pmf[k] * n
        if acc >= 5 and sum(pmf[k + 1:]) * n >= 5:
            edges.append(k + 1)
            acc = 0.0
    edges.append(support_max + 1)
    expected = np.array([pmf[a:b].sum() * n for a, b in zip(edges[:-1], edges[1:], strict=True)])
    clipped = np.minimum(x, support_max)
    observed = np.array([np.sum((clipped >= a) & (clipped < b))
                         for a, b in zip(edges[:-1], edges[1:], strict=True)])
    assert observed.sum() == n
    return float(stats.chisquare(observed, expected).pvalue)


@pytest.fixture(scope="module")
def increments() -> dict[str, NDArray[np.int64]]:
    # increment_without_check routes 20 % to the candidate after assessment 0 (at 1 s) whatever
    # the data say, so the split of each 1 s scrape interval is known: [0, 1] all baseline,
    # [1, 2] 80 / 20.
    spec = ExperimentSpec(
        name="gof", target_service="svc", baseline="v1", candidate="v2",
        traffic_control=TrafficControl(strategy="increment_without_check", interval="2s",
                                       step_size=20, max_iterations=1, max_traffic_percent=100),
        criteria=[Criterion(metric="iter8_error_count", tolerance_type="threshold",
                            tolerance=1e9, sample_size=0, is_counter=True)],
    )
    scenario = Scenario(request_rate=RATE, mean_latency=0.1, error_probability=P_ERR)
    table = simulate_rollouts(spec, scenario, n_rollouts=N, scrape_interval=1.0, rng=2026)
    # rows per rollout: scrapes at 0, 1, 2 s x (baseline, candidate)
    req = table["requests"].to_numpy().reshape(N, 3, 2)
    err = table["errors_5xx"].to_numpy().reshape(N, 3, 2)
    d_req, d_err = np.diff(req, axis=1), np.diff(err, axis=1)
    return {
        "base_req_0": d_req[:, 0, 0], "cand_req_0": d_req[:, 0, 1],
        "base_req_1": d_req[:, 1, 0], "cand_req_1": d_req[:, 1, 1],
        "base_err_1": d_err[:, 1, 0], "cand_err_1": d_err[:, 1, 1],
    }


@pytest.mark.parametrize(
    ("name", "mean"),
    [("base_req_0", RATE), ("base_req_1", 0.8 * RATE), ("cand_req_1", 0.2 * RATE)],
)
def test_request_counts_are_poisson(
    increments: dict[str, NDArray[np.int64]], name: str, mean: float
) -> None:
    x = increments[name]
    p = _chi2_pvalue(x, lambda k: stats.poisson.cdf(k, mean), int(mean + 10 * np.sqrt(mean) + 10))
    assert p > ALPHA, f"{name}: chi-squared p = {p:.2g}"
    assert np.all(increments["cand_req_0"] == 0)  # nothing is routed before assessment 0


@pytest.mark.parametrize(("version", "share", "prob"), [(0, 0.8, P_ERR[0]), (1, 0.2, P_ERR[1])])
def test_error_counts_are_binomial_given_requests(
    increments: dict[str, NDArray[np.int64]], version: int, share: float, prob: float
) -> None:
    which = "base" if version == 0 else "cand"
    req, err = increments[f"{which}_req_1"], increments[f"{which}_err_1"]
    assert np.all(err <= req)
    # conditionally on the requests: Binomial(requests, p), tested at the most common counts
    for count in np.argsort(np.bincount(req))[-3:]:
        sub = err[req == count]
        p = _chi2_pvalue(sub, lambda k, c=int(count): stats.binom.cdf(k, c, prob), int(count))
        assert p > ALPHA, f"{which} errors | requests = {count}: chi-squared p = {p:.2g}"
    # marginally, thinning a Poisson gives Poisson(rate * share * p)
    mean = RATE * share * prob
    p = _chi2_pvalue(err, lambda k: stats.poisson.cdf(k, mean), int(mean + 10 * np.sqrt(mean) + 10))
    assert p > ALPHA, f"{which} errors: chi-squared p = {p:.2g}"
