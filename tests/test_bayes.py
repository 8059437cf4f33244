"""method="bayes": posteriors, quadrature accuracy, decisions, calibration.

Reference values:
- ``tests/reference/beta_pairs.json``: P(X <= k Y) for Beta pairs at 30 digits, each with the
  call of ``tests/reference/beta_pairs_mpmath.py`` that produced it (mpmath, own continued
  fraction for I_x(a, b), mpmath.quad in logit coordinates);
- ``tests/reference_cases.json`` ``beta_binomial``: Evan Miller's closed form, with C.
  Stucchio's expected loss (the source is named in the case);
- normal pairs: ``X - kY`` is normal, ``P = Phi((k m_y - m_x) / hypot(s_x, k s_y))``; Cauchy
  pairs (t with 1 degree of freedom) at k = 1: ``X - Y`` is Cauchy(m_x - m_y, s_x + s_y).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    InsufficientDataWarning,
    Observations,
    Reason,
    SpecError,
    TrafficControl,
    Verdict,
)
from canarystats.methods.bayes import posterior_prob
from canarystats.stats.beta import (
    beta_credible_interval,
    beta_posterior,
    expected_loss_beta,
    prob_beta_le,
)
from canarystats.stats.t_posterior import prob_t_le

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference_cases.json").read_text())
BETA_PAIRS = json.loads((HERE / "reference" / "beta_pairs.json").read_text())["cases"]


# --------------------------------------------------------------------------- accuracy


def test_beta_pairs_against_mpmath() -> None:
    # 90 pairs, trials 1 .. 10**7, priors Beta(1/2, 1/2) and Beta(1, 1), k in {0.9, 1, 1.1}.
    args = np.array([[c["a_x"], c["b_x"], c["a_y"], c["b_y"], c["k"]] for c in BETA_PAIRS]).T
    want = np.array([float(c["p"]) for c in BETA_PAIRS])
    got = prob_beta_le(*args)
    err = np.abs(got - want)
    assert err.max() <= 1e-10, BETA_PAIRS[int(err.argmax())]["call"]


@pytest.mark.parametrize("case", REFERENCE["beta_binomial"], ids=lambda c: c["source"][:40])
def test_beta_binomial_reference_case(case: dict) -> None:
    prior = tuple(case["prior"])
    a_a, b_a = beta_posterior(case["A"]["successes"], case["A"]["trials"], prior=prior)
    a_b, b_b = beta_posterior(case["B"]["successes"], case["B"]["trials"], prior=prior)
    exp = case["expected"]
    # printed to 6 decimals: agree to half a unit of the last digit
    assert abs(prob_beta_le(a_a, b_a, a_b, b_b) - exp["P(pB > pA)"]) <= 5e-7
    assert abs(expected_loss_beta(a_a, b_a, a_b, b_b) - exp["expected_loss_choosing_A"]) <= 5e-7
    assert abs(expected_loss_beta(a_b, b_b, a_a, b_a) - exp["expected_loss_choosing_B"]) <= 5e-7


def test_t_pairs_against_closed_forms() -> None:
    rng = np.random.default_rng(7)
    m = 3000
    mx, my = rng.normal(0, 1, m), rng.normal(0, 1, m)
    sx, sy = 10 ** rng.uniform(-4, 2, m), 10 ** rng.uniform(-4, 2, m)
    k = rng.choice([0.8, 1.0, 1.25], m)
    got = prob_t_le(mx, sx, np.inf, my, sy, np.inf, k)
    assert np.abs(got - norm.cdf((k * my - mx) / np.hypot(sx, k * sy))).max() <= 1e-12
    got = prob_t_le(mx, sx, 1.0, my, sy, 1.0)
    cauchy = 0.5 + np.arctan((my - mx) / (sx + sy)) / np.pi
    assert np.abs(got - cauchy).max() <= 1e-9


def test_point_masses_and_credible_interval() -> None:
    assert prob_t_le(1.0, 0.0, np.inf, 2.0, 0.0, np.inf) == 1.0
    assert prob_t_le(3.0, 0.0, np.inf, 2.0, 1.0, np.inf, 1.0) == pytest.approx(norm.sf(1.0))
    low, high = beta_credible_interval(2.0, 2.0, 0.5)
    assert low == pytest.approx(1 - high)
    assert np.isnan(prob_beta_le(-1.0, 1.0, 1.0, 1.0))


# --------------------------------------------------------------------------- properties

counts = st.integers(0, 10**6)


@st.composite
def beta_args(draw: st.DrawFn) -> tuple[float, float, float, float, float]:
    n_x, n_y = draw(counts), draw(counts)
    s_x, s_y = draw(st.integers(0, n_x)), draw(st.integers(0, n_y))
    prior = draw(st.sampled_from([0.5, 1.0]))
    k = draw(st.sampled_from([0.5, 0.9, 1.0, 1.1, 2.0]))
    return (prior + s_x, prior + n_x - s_x, prior + s_y, prior + n_y - s_y, k)


@settings(max_examples=40)
@given(st.lists(beta_args(), min_size=1, max_size=6))
def test_vectorized_equals_scalar_calls_and_bounds(rows: list) -> None:
    arr = np.array(rows).T
    batch = prob_beta_le(*arr)
    loop = np.array([prob_beta_le(*row) for row in rows])
    np.testing.assert_array_equal(batch, loop)  # the same fixed rule: identical numbers
    assert np.all((batch >= 0) & (batch <= 1))
    # batch-order invariance
    perm = np.arange(len(rows))[::-1]
    np.testing.assert_array_equal(prob_beta_le(*arr[:, perm]), batch[perm])


@settings(max_examples=40)
@given(beta_args())
def test_complement_sums_to_one(row: tuple) -> None:
    a_x, b_x, a_y, b_y, _ = row
    p = prob_beta_le(a_x, b_x, a_y, b_y) + prob_beta_le(a_y, b_y, a_x, b_x)
    # each probability is documented accurate to 1e-9 absolute, so their sum to 2e-9
    assert abs(p - 1.0) <= 2e-9


def test_identical_extreme_posteriors_give_one_half() -> None:
    # X, Y iid Beta(631519.5, 0.5): P(X <= Y) = 1/2 exactly by symmetry. Hypothesis found this
    # case, where the two halves of the complement property sum to 1 - 1.6e-10.
    p = prob_beta_le(631519.5, 0.5, 631519.5, 0.5)
    assert abs(p - 0.5) <= 1e-9


@settings(max_examples=40)
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.data())
def test_monotone_in_candidate_errors(n_c: int, n_b: int, data: st.DataObject) -> None:
    # fewer candidate errors (a better candidate) never lowers P(H) of a delta criterion
    s_b = data.draw(st.integers(0, n_b))
    s_c = np.sort(data.draw(st.lists(st.integers(0, n_c), min_size=2, max_size=5)))
    c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                  method="bayes")
    obs = Observations(
        count=np.broadcast_to([float(n_b), float(n_c)], (len(s_c), 2)),
        value=np.full((len(s_c), 2), np.nan),
        successes=np.stack([np.full(len(s_c), float(s_b)), s_c.astype(float)], axis=-1),
    )
    p = posterior_prob(c, obs)
    assert np.all(np.diff(p) <= 1e-12)


# --------------------------------------------------------------------------- the method


def _rate(tolerance_type: str = "delta", **kw: object) -> Criterion:
    return Criterion(metric="iter8_error_rate", tolerance_type=tolerance_type,
                     tolerance=kw.pop("tolerance", 0.1), method="bayes", confidence=0.95,
                     sample_size=10, **kw)


def test_rate_verdicts_reasons_and_warnings() -> None:
    obs = Observations(
        count=[[1000, 1000], [1000, 1000], [1000, 5], [np.nan, 1000], [1000, 1000],
               [1000, 1000]],
        value=np.full((6, 2), np.nan),
        successes=[[10, 2], [10, 40], [10, 0], [10, 10], [10, 11], [10, 2000]],
    )
    with pytest.warns(InsufficientDataWarning) as record:
        r = cs.evaluate_criterion(_rate(), obs)
    assert r.verdict.tolist() == [Verdict.PASS, Verdict.FAIL, 0, 0, 0, 0]
    assert r.reason.tolist() == [Reason.OK, Reason.OK, Reason.INSUFFICIENT_SAMPLE,
                                 Reason.MISSING_VALUE, Reason.NOT_YET_DECIDED, Reason.BAD_DATA]
    assert sorted(str(w.message).split(" slices")[0] for w in record) == ["1 of 6", "1 of 6"]
    assert not r.abort.any()
    assert np.isnan(r.state.prob[2:4]).all()
    assert 0 < r.state.prob[4] < 1


def test_threshold_rate_closed_form_and_stop_on_failure() -> None:
    c = _rate("threshold", tolerance=0.02, stop_on_failure=True, options={"prior": (1, 1)})
    obs = Observations(count=[[0, 1000], [0, 1000]], value=np.full((2, 2), np.nan),
                       successes=[[0, 5], [0, 40]])
    r = cs.evaluate_criterion(c, obs)
    assert r.verdict.tolist() == [Verdict.PASS, Verdict.FAIL]
    assert r.abort.tolist() == [False, True]
    from scipy.stats import beta

    assert r.state.prob[0] == pytest.approx(beta.cdf(0.02, 6, 996), abs=1e-14)


def test_mean_models() -> None:
    lat = Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.2,
                    method="bayes", sample_size=5)
    # sum / sumsq: t posterior; candidate mean 1.1 vs baseline 1.0, sd ~ 0.1, n = 100
    n = np.array([100.0, 100.0])
    mean, sd = np.array([1.0, 1.1]), np.array([0.1, 0.1])
    obs = Observations(count=n, value=mean, sum=n * mean,
                       sumsq=(n - 1) * sd**2 + n * mean**2)
    assert cs.evaluate_criterion(lat, obs).verdict == Verdict.PASS
    # histogram buckets of the same window
    bounds = np.array([0.5, 1.0, 1.5, np.inf])
    obs = Observations(count=[100.0, 100.0], value=[1.0, 1.5],
                       buckets=[[0, 50, 50, 0], [0, 0, 60, 40]], bucket_bounds=bounds)
    r = cs.evaluate_criterion(lat, obs)
    assert r.verdict == Verdict.FAIL
    assert np.isfinite(r.state.scale).all()
    # an explicit scale
    c = Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                  method="bayes", options={"scale": 0.1})
    r = cs.evaluate_criterion(c, Observations(count=[100.0, 50.0], value=[0.1, 0.17]))
    assert r.state.prob == pytest.approx(norm.cdf(0.03 / (0.1 / np.sqrt(50))))
    # a single sample has no t posterior: bad data, not a verdict
    with pytest.warns(InsufficientDataWarning):
        r = cs.evaluate_criterion(
            attrs.evolve(lat, sample_size=0),
            Observations(count=[1.0, 1.0], value=[1.0, 1.0], sum=[1.0, 1.0],
                         sumsq=[1.0, 1.0]))
    assert r.reason == Reason.BAD_DATA
    # ... but below the sample size the same missing posterior is only an insufficient
    # sample (documented: INSUFFICIENT_SAMPLE, no warning); e.g. an interpolated count of 0.4
    bounds = np.array([0.1, 0.2, np.inf])
    obs = Observations(count=[60.0, 0.4], value=[0.11, 0.15],
                       buckets=[[20.0, 40.0, 0.0], [0.0, 0.4, 0.0]], bucket_bounds=bounds)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = cs.evaluate_criterion(attrs.evolve(lat, sample_size=6), obs)
    assert (r.verdict, r.reason) == (Verdict.INCONCLUSIVE, Reason.INSUFFICIENT_SAMPLE)
    with pytest.warns(InsufficientDataWarning, match="bad data"):
        r = cs.evaluate_criterion(attrs.evolve(lat, sample_size=0), obs)
    assert r.reason == Reason.BAD_DATA


@pytest.mark.parametrize(
    ("kwargs", "obs", "match"),
    [
        ({"metric": "iter8_latency"}, Observations(count=[9.0, 9.0], value=[1.0, 1.0]),
         r"needs the spread of the samples.*`scale`"),
        ({"metric": "iter8_error_count", "tolerance_type": "threshold"},
         Observations(count=[9.0, 9.0], value=[1.0, 1.0]), r"does not apply to the counter"),
        ({"missing": "iter8"}, Observations(count=[9.0, 9.0], value=[1.0, 1.0]),
         r"`missing` must be 'inconclusive' for method 'bayes'"),
    ],
)
def test_configuration_errors(kwargs: dict, obs: Observations, match: str) -> None:
    base = {"metric": "iter8_error_rate", "tolerance_type": "delta", "tolerance": 0.1,
            "method": "bayes"}
    with pytest.raises(SpecError, match=match):
        cs.evaluate_criterion(Criterion(**{**base, **kwargs}), obs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"prior": (0, 1)}, r"`prior` must be two finite numbers > 0"),
     ({"prior": "flat"}, r"`prior` must be two"),
     ({"scale": -1.0}, r"`scale` must be a finite number in \(0.0, inf\]")],
)
def test_criterion_field_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        Criterion(metric="m", tolerance_type="delta", tolerance=0.1, method="bayes",
                  options=kwargs)


def test_fractional_counts_enter_as_they_are() -> None:
    c = _rate(options={"prior": (1, 1)})
    obs = Observations(count=[200.4, 204.6], value=[np.nan, np.nan], successes=[36.2, 16.3])
    a_b, b_b = 37.2, 1 + 200.4 - 36.2
    a_c, b_c = 17.3, 1 + 204.6 - 16.3
    assert posterior_prob(c, obs) == pytest.approx(prob_beta_le(a_c, b_c, a_b, b_b, 1.1),
                                                   abs=1e-15)


def test_bayes_criterion_in_a_rollout_and_persistence() -> None:
    spec = ExperimentSpec(
        name="e", target_service="s", baseline="b", candidate="c",
        traffic_control=TrafficControl(step_size=20, max_traffic_percent=80, max_iterations=3),
        criteria=[_rate()])

    def observe(k: int, window: float, routed: np.ndarray) -> dict:
        n = 1000.0 * (k + 1)
        return {"iter8_error_rate": Observations(
            count=np.broadcast_to([n, n], (*routed.shape, 2)),
            value=np.full((*routed.shape, 2), np.nan),
            successes=np.broadcast_to([0.01 * n, 0.005 * n], (*routed.shape, 2)))}

    run = cs.run_experiment(spec, observe, batch_shape=(3,))
    assert (run.outcome == cs.Outcome.PROMOTE).all()
    state = run.final_state
    assert cs.State.from_json(state.to_json()) == state


# --------------------------------------------------------------------------- calibration
#
# Seeded and vectorized: one binomial draw per stream and look, one quadrature per stream.
# Monte Carlo standard errors are stated next to each bound.


def _delta_verdicts(s_b: np.ndarray, s_c: np.ndarray, n: float, conf: float) -> np.ndarray:
    c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                  method="bayes", confidence=conf, sample_size=0)
    obs = Observations(count=np.broadcast_to([n, n], (*s_b.shape, 2)),
                       value=np.full((*s_b.shape, 2), np.nan),
                       successes=np.stack([s_b, s_c], axis=-1).astype(float))
    return np.asarray(cs.evaluate_criterion(c, obs).verdict)


def test_false_pass_on_the_margin_one_look() -> None:
    # truth exactly on the margin: p_c = 1.1 * p_b; 20,000 streams of n = 20,000 per version
    rng = np.random.default_rng(20240501)
    streams, n, p_b, conf = 20_000, 20_000, 0.02, 0.95
    s_b = rng.binomial(n, p_b, streams)
    s_c = rng.binomial(n, 1.1 * p_b, streams)
    rate = float(np.mean(_delta_verdicts(s_b, s_c, n, conf) == Verdict.PASS))
    se = np.sqrt(0.05 * 0.95 / streams)  # 0.0015
    assert rate <= 1 - conf + 3 * se
    assert rate >= 1 - conf - 6 * se  # near 1 - c, not trivially conservative


def test_pass_verdicts_hold_when_truths_come_from_the_prior() -> None:
    # truths drawn from the prior Beta(1/2, 1/2): among PASS, H holds in >= c of them
    rng = np.random.default_rng(11)
    streams, n, conf = 20_000, 200, 0.9
    p_b, p_c = rng.beta(0.5, 0.5, streams), rng.beta(0.5, 0.5, streams)
    s_b, s_c = rng.binomial(n, p_b), rng.binomial(n, p_c)
    passed = _delta_verdicts(s_b, s_c, n, conf) == Verdict.PASS
    holds = p_c <= 1.1 * p_b
    share = float(np.mean(holds[passed]))
    se = np.sqrt(conf * (1 - conf) / passed.sum())
    assert share >= conf - 3 * se


def test_repeated_looks_inflate_false_pass() -> None:
    # the same rule applied at 10 cumulative looks: the chance of some PASS on the margin
    # exceeds 1 - c clearly (why the sequential methods exist)
    rng = np.random.default_rng(3)
    streams, per_look, looks, p_b, conf = 4_000, 2_000, 10, 0.02, 0.95
    inc_b = rng.binomial(per_look, p_b, (looks, streams)).cumsum(axis=0)
    inc_c = rng.binomial(per_look, 1.1 * p_b, (looks, streams)).cumsum(axis=0)
    ever = np.zeros(streams, dtype=bool)
    for k in range(looks):  # a loop over looks (sequential by nature), not over streams
        ever |= _delta_verdicts(inc_b[k], inc_c[k], per_look * (k + 1.0), conf) == 1
    rate = float(ever.mean())
    se = np.sqrt(rate * (1 - rate) / streams)
    assert rate > 1 - conf + 3 * se


def test_no_warnings_on_clean_data() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _delta_verdicts(np.array([10, 20]), np.array([5, 30]), 1000.0, 0.95)
