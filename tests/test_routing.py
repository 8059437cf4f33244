"""Posterior-sampling routing: PBR, OBR, top-k; seeds, split properties, persistence.

The rules are Iter8's, read from iter8-tools/iter8-analytics (v0.x ``BayesianRoutingResponse``:
1,000 trials, implicit rewards Beta((n+2)/3, 2(n+2)/3) / Beta(2(n+2)/3, (n+2)/3), infeasible
reward 0, baseline 1e-4 when both are 0; OBR clips a draw at the posterior mean; v1
``create_top_k_recommendation`` / ``apply_max_increment``: pseudo rewards 1 / 2, 5 % exploration,
candidate increase capped). Reference probabilities below are closed forms (regularized
incomplete beta, normal CDF); the Monte Carlo shares must agree within 4 standard errors.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betainc
from scipy.stats import norm

import canarystats as cs
from canarystats import Criterion, ExperimentSpec, Observations, SpecError, TrafficControl
from canarystats.adapters.iter8 import spec_from_iter8, spec_to_iter8
from canarystats.strategies.bandits import (
    ROUTING_DRAWS,
    RoutingState,
    routing_initial_state,
    routing_step,
)
from canarystats.strategies.persist import state_from_json, state_to_json

ROUTINGS = ["posterior_bayesian_routing", "optimistic_bayesian_routing", "top_k_routing"]


def _spec(strategy: str, criteria: list[Criterion], max_pct: Any = 80.0,
          step: Any = 10.0) -> ExperimentSpec:
    return ExperimentSpec(
        name="e", target_service="s", baseline="b", candidate="c",
        traffic_control=TrafficControl(strategy=strategy, max_traffic_percent=max_pct,
                                       step_size=step, max_iterations=20),
        criteria=criteria)


def _criteria() -> list[Criterion]:
    return [
        Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                  method="bayes", sample_size=10),
        Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                  method="bayes", options={"scale": 0.05}, sample_size=10),
    ]


def _obs(n: Any, err: Any, lat: Any) -> dict[str, Observations]:
    """Per slice: count n (both versions), error rates (b, c), mean latencies (b, c)."""
    n = np.asarray(n, float)
    err, lat = np.asarray(err, float), np.asarray(lat, float)
    count = np.stack([n, n], -1)
    return {
        "iter8_error_rate": Observations(count=count, value=err, successes=np.round(err * count)),
        "iter8_latency": Observations(count=count, value=lat),
    }


def _step(spec: ExperimentSpec, state: Any, obs: dict[str, Observations]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cs.InsufficientDataWarning)
        return cs.step(spec, state, obs)


# --------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("strategy", ROUTINGS)
def test_seeded_and_pure(strategy: str) -> None:
    spec = _spec(strategy, _criteria())
    obs = _obs([100, 100], [[0.02, 0.02], [0.02, 0.021]], [[0.1, 0.18], [0.1, 0.19]])
    a = routing_initial_state(spec, (2,), rng=7)
    b = routing_initial_state(spec, (2,), rng=7)
    assert a == b
    (sa, ra), (sb, rb) = _step(spec, a, obs), _step(spec, b, obs)
    assert sa == sb
    np.testing.assert_array_equal(ra.traffic, rb.traffic)
    # the same state stepped twice gives the same decision (no hidden global state)
    np.testing.assert_array_equal(_step(spec, a, obs)[1].traffic, ra.traffic)
    g1 = routing_initial_state(spec, (2,), rng=np.random.default_rng(1))
    g2 = routing_initial_state(spec, (2,), rng=np.random.default_rng(1))
    assert g1 == g2
    assert not np.array_equal(g1.seed, routing_initial_state(spec, (2,), rng=8).seed)
    # canarystats.initial_state: the documented default seed 0
    assert cs.initial_state(spec, (2,)) == routing_initial_state(spec, (2,), rng=0)


def test_bad_rng_and_parameters() -> None:
    spec = _spec("top_k_routing", _criteria())
    with pytest.raises(SpecError, match="`rng` as a seed"):
        routing_initial_state(spec, (), rng=-1)
    with pytest.raises(SpecError, match="`rng` must be"):
        routing_initial_state(spec, (), rng=1.5)
    with pytest.raises(SpecError, match="do not broadcast"):
        routing_initial_state(spec, (2,), rng=[1, 2, 3])
    state = routing_initial_state(spec, ())
    obs = _obs(10, [0.1, 0.1], [0.1, 0.1])
    for kwargs, match in [({"rule": "x"}, "`rule`"), ({"rule": "top_k", "k": 0}, "`k`"),
                          ({"rule": "top_k", "exploration_percent": 101}, "exploration"),
                          ({"rule": "posterior", "draws": 0}, "`draws`")]:
        with pytest.raises(SpecError, match=match):
            routing_step(spec, state, obs, **kwargs)
    other = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c",
                           criteria=_criteria())
    with pytest.raises(SpecError, match="needs the state from initial_state"):
        cs.step(spec, cs.initial_state(other, ()), obs)


# --------------------------------------------------------------------------- properties

RULES = {"posterior_bayesian_routing": "posterior", "optimistic_bayesian_routing": "optimistic",
         "top_k_routing": "top_k"}

rows = st.tuples(
    st.integers(0, 400),                                   # count per version
    st.sampled_from([0.0, 0.01, 0.02, 0.05]),              # baseline error rate
    st.sampled_from([0.0, 0.01, 0.02, 0.05]),              # candidate error rate
    st.sampled_from([0.1, 0.19, 0.2, 0.25, np.nan]),       # candidate latency
)


@settings(max_examples=20)
@given(st.sampled_from(ROUTINGS), st.lists(rows, min_size=1, max_size=3),
       st.sampled_from([30.0, 50.0, 100.0]), st.sampled_from([1.0, 7.5, 20.0]),
       st.lists(st.integers(0, 2**64 - 1), min_size=3, max_size=3))
def test_batch_equals_loop_and_split_bounds(
    strategy: str, seq: list, max_pct: float, step: float, keys: list[int]
) -> None:
    spec = _spec(strategy, _criteria(), max_pct=max_pct, step=step)
    batch = routing_initial_state(spec, (3,), rng=np.array(keys, dtype=np.uint64))
    loops = [routing_initial_state(spec, (), rng=np.array(k, dtype=np.uint64)) for k in keys]

    def advance(state: Any, obs: dict[str, Observations]) -> Any:  # 200 draws: a faster test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cs.InsufficientDataWarning)
            return routing_step(spec, state, obs, rule=RULES[strategy], draws=200)

    total = 0
    for n, eb, ec, lat in seq:
        total += n
        ns = total * np.arange(1, 4)
        err = np.array([[eb, ec], [eb, eb], [ec, eb]])
        lats = np.array([[0.1, lat], [0.1, 0.15], [0.1, 0.3]])
        last = np.array(batch.traffic[..., 1])
        batch, rb = advance(batch, _obs(ns, err, lats))
        for j in range(3):
            loops[j], rs = advance(loops[j], _obs(ns[j], err[j], lats[j]))
            assert rs.traffic.tolist() == rb.traffic[j].tolist()
            assert float(loops[j].win_share) == float(batch.win_share[j])
        cand = rb.traffic[..., 1]
        assert np.all(rb.traffic.sum(axis=-1) == 100.0)
        assert np.all((cand >= 0.0) & (cand <= max_pct))
        assert np.all((batch.win_share >= 0.0) & (batch.win_share <= 1.0))
        if strategy == "top_k_routing":
            assert np.all(cand - last <= step)  # the maximum increment per assessment
            if step == int(step):  # whole percents unless a cap is fractional
                assert np.all(cand == np.round(cand))


# --------------------------------------------------------------------------- the rules


def _threshold_rate(strategy: str, n: float, s_c: float, tol: float = 0.02) -> Any:
    crit = [Criterion(metric="r", tolerance_type="threshold", tolerance=tol, method="bayes")]
    spec = _spec(strategy, crit, max_pct=100.0, step=100.0)
    obs = {"r": Observations(count=[n, n], value=[0.0, s_c / n], successes=[0.0, s_c])}
    state, result = _step(spec, routing_initial_state(spec, (), rng=3), obs)
    return state, result


def test_pbr_share_estimates_the_feasibility_probability() -> None:
    # baseline 0 errors of 20,000 (feasible in every draw), candidate 40 of 20,000 against a
    # threshold 0.0021; rewards Beta(2(n+2)/3, (n+2)/3) > Beta((n+2)/3, 2(n+2)/3) surely at this
    # n, so the candidate's share estimates P(p_c <= 0.0021) = I_0.0021(40.5, 19960.5).
    n, s, tol = 20_000.0, 40.0, 0.0021
    state, result = _threshold_rate("posterior_bayesian_routing", n, s, tol)
    exact = betainc(s + 0.5, n - s + 0.5, tol)
    se = np.sqrt(exact * (1 - exact) / ROUTING_DRAWS)
    assert abs(float(state.win_share) - exact) <= 4 * se
    assert float(result.traffic[1]) == pytest.approx(100 * float(state.win_share))


def test_t_posterior_draws_match_the_normal_cdf() -> None:
    # known-sigma latency: candidate mean 0.19, sigma 0.05, n 100 -> N(0.19, 0.005^2);
    # P(mu <= 0.2) = Phi(2) (closed form); the baseline (0.1) is feasible in every draw
    crit = [Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                      method="bayes", options={"scale": 0.05})]
    spec = _spec("top_k_routing", crit, max_pct=100.0, step=100.0)
    obs = {"iter8_latency": Observations(count=[100.0, 100.0], value=[0.1, 0.19])}
    state, result = _step(spec, routing_initial_state(spec, (), rng=5), obs)
    exact = norm.cdf(2.0)
    se = np.sqrt(exact * (1 - exact) / ROUTING_DRAWS)
    assert abs(float(state.win_share) - exact) <= 4 * se
    # top-k: 5 % explored evenly, rounded to a whole percent
    assert float(result.traffic[1]) == np.round((0.025 + 0.95 * float(state.win_share)) * 100)


def test_both_infeasible_baseline_wins_pbr_and_top_k_splits() -> None:
    # both versions far over a threshold: PBR gives the baseline the 1e-4 reward (candidate 0);
    # top-k credits both (tied utilities 0): 2.5 + 95 * 0.5 = 50 %, then the increment cap
    crit = [Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                      method="bayes", options={"scale": 0.01})]
    obs = {"iter8_latency": Observations(count=[1000.0, 1000.0], value=[0.5, 0.5])}
    for strategy, want in [("posterior_bayesian_routing", 0.0),
                           ("optimistic_bayesian_routing", 0.0), ("top_k_routing", 10.0)]:
        spec = _spec(strategy, crit, max_pct=100.0, step=10.0)
        state, result = _step(spec, routing_initial_state(spec, ()), obs)
        assert float(result.traffic[1]) == want, strategy
    spec = _spec("top_k_routing", crit, max_pct=100.0, step=100.0)
    assert float(_step(spec, routing_initial_state(spec, ()), obs)[1].traffic[1]) == 50.0


def test_each_criterion_uses_its_own_metric() -> None:
    # Iter8 v0.x's defect: every criterion read criterion 0's values. Here criterion 0 is a
    # loose threshold on a metric near 100; criterion 1 a delta that the candidate clearly
    # fails (0.5 vs 0.1). Read right, the candidate is infeasible: share 0. (With the defect
    # the delta would compare 0.5 with 1.1 * 100 and pass.)
    crit = [Criterion(metric="big", tolerance_type="threshold", tolerance=1000.0,
                      method="bayes", options={"scale": 1.0}),
            Criterion(metric="small", tolerance_type="delta", tolerance=0.1,
                      method="bayes", options={"scale": 0.01})]
    obs = {"big": Observations(count=[500.0, 500.0], value=[100.0, 100.0]),
           "small": Observations(count=[500.0, 500.0], value=[0.1, 0.5])}
    for strategy in ROUTINGS:
        spec = _spec(strategy, crit, max_pct=100.0, step=100.0)
        state, _ = _step(spec, routing_initial_state(spec, ()), obs)
        assert float(state.win_share) == 0.0, strategy


def test_optimistic_never_below_posterior_for_a_delta() -> None:
    # one delta criterion: the baseline is feasible in every draw and OBR's candidate draws
    # are no worse than PBR's (same keys), so OBR's share is >= PBR's, slice by slice
    crit = [Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                      method="bayes")]
    n = np.array([50.0, 500.0, 5000.0, 50000.0])
    rates = np.array([[0.02, 0.021], [0.02, 0.023], [0.02, 0.022], [0.02, 0.0215]])
    count = np.stack([n, n], -1)
    obs = {"iter8_error_rate": Observations(count=count, value=rates,
                                            successes=np.round(rates * count))}
    shares = {}
    for strategy in ("posterior_bayesian_routing", "optimistic_bayesian_routing"):
        spec = _spec(strategy, crit)
        shares[strategy] = _step(spec, routing_initial_state(spec, (4,), rng=11), obs)[0].win_share
    assert np.all(shares["optimistic_bayesian_routing"] >= shares["posterior_bayesian_routing"])


def test_abort_done_and_run_experiment() -> None:
    crit = [Criterion(metric="iter8_error_count", tolerance_type="threshold", tolerance=5.0),
            Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                      method="bayes", options={"scale": 0.05})]
    spec = _spec("posterior_bayesian_routing", crit)
    obs = {"iter8_error_count": Observations(count=[[100.0] * 2] * 2,
                                             value=[[0.0, 9.0], [0.0, 1.0]]),
           "iter8_latency": Observations(count=[[100.0] * 2] * 2, value=[[0.1, 0.1]] * 2)}
    state, result = _step(spec, routing_initial_state(spec, (2,)), obs)
    assert result.abort.tolist() == [True, False]
    assert state.done.tolist() == [True, False]
    # a counter's observed value decides its feasibility: 9 > 5 makes the candidate lose
    assert float(state.win_share[0]) == 0.0
    state2, result2 = _step(spec, state, obs)
    assert result2.active.tolist() == [False, True]
    assert state2.traffic[0].tolist() == state.traffic[0].tolist()

    def observe(k: int, seconds: float, routed: Any) -> dict[str, Observations]:
        n = 100.0 * (k + 1)
        return {"iter8_error_count": Observations(count=[n, n], value=[0.0, 0.0]),
                "iter8_latency": Observations(count=[n, n], value=[0.1, 0.12])}

    run = cs.run_experiment(_spec("top_k_routing", crit), observe)
    split = np.array([float(r.traffic[1]) for r in run.steps])
    assert np.all(np.diff(split) <= 10.0)
    assert split.max() <= 80.0


# --------------------------------------------------------------------------- persistence, loader


@pytest.mark.parametrize("strategy", ["epsilon_t_greedy", *ROUTINGS])
def test_strategy_states_round_trip_losslessly(strategy: str) -> None:
    spec = _spec(strategy, _criteria())
    obs = _obs([100, 300], [[0.02, 0.02], [0.02, 0.03]], [[0.1, 0.15], [0.1, 0.3]])
    state, _ = _step(spec, cs.initial_state(spec, (2,)), obs)
    text = state_to_json(state)
    back = state_from_json(text)
    assert type(back) is type(state)
    assert back == state
    if strategy == "epsilon_t_greedy":
        assert back.effective_iterations.tolist() == [1, 1]
    else:
        assert back.seed.dtype == np.uint64
    assert not back.seed.flags.writeable if isinstance(back, RoutingState) else True
    # stepping on from the restored state is exactly stepping on from the original
    obs2 = _obs([200, 600], [[0.02, 0.02], [0.02, 0.03]], [[0.1, 0.15], [0.1, 0.3]])
    (s1, r1), (s2, r2) = _step(spec, state, obs2), _step(spec, back, obs2)
    assert s1 == s2
    np.testing.assert_array_equal(r1.traffic, r2.traffic)


def test_unknown_state_type_refused() -> None:
    spec = _spec("top_k_routing", _criteria())
    text = state_to_json(routing_initial_state(spec, ())).replace('"routing"', '"nope"')
    with pytest.raises(SpecError, match="unknown state type 'nope'"):
        state_from_json(text)
    text = state_to_json(routing_initial_state(spec, ())).replace('"routing"', '"point"')
    with pytest.raises(SpecError, match="unknown state type 'point'"):
        state_from_json(text)


@pytest.mark.parametrize("strategy", ROUTINGS)
def test_iter8_loader_maps_routing_names(strategy: str) -> None:
    doc = {
        "apiVersion": "iter8.tools/v1alpha1", "kind": "Experiment", "metadata": {"name": "x"},
        "spec": {
            "targetService": {"name": "s", "baseline": "b", "candidate": "c"},
            "trafficControl": {"strategy": strategy},
            "analysis": {"successCriteria": [
                {"metricName": "iter8_error_rate", "toleranceType": "delta", "tolerance": 0.1,
                 "method": "bayes"}]},
        },
    }
    spec = spec_from_iter8(doc)
    assert spec.traffic_control.strategy == strategy
    assert spec_to_iter8(spec)["spec"]["trafficControl"]["strategy"] == strategy
    assert isinstance(cs.initial_state(spec, ()), RoutingState)
