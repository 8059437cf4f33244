"""Group-sequential boundaries, fixed-horizon tests, sample sizes and multiplicity.

Every expected number comes from outside canarystats: R (base) output pasted with the call
that produced it, the independent Gauss-Legendre recursion of tests/reference/gs_bounds.R,
tests/reference_cases.json (peer libraries), or a textbook formula evaluated by hand.
Monte Carlo calibration is seeded; each test states its standard error.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import attrs
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    Observations,
    PlannedLooksWarning,
    Reason,
    SpecError,
    Verdict,
    evaluate_criterion,
)
from canarystats.adapters.iter8 import spec_from_iter8, spec_to_iter8

CASES = json.loads((Path(__file__).parent / "reference_cases.json").read_text())

# --------------------------------------------------------------------------- boundaries

# `Rscript tests/reference/gs_bounds.R` (independent recursive Gauss-Legendre quadrature,
# 60 x 40 nodes per look, uniroot tol 1e-14), two-sided alpha = 0.05, equally spaced looks,
# alpha/2 spent per side (symmetric designs; the same boundaries as one-sided alpha = 0.025).
R_BOUNDS = {
    (4, "obrien_fleming"): [4.33263365, 2.96313160, 2.35904429, 2.01409014],
    (4, "pocock"): [2.36832770, 2.36752429, 2.35816773, 2.35002954],
    (5, "obrien_fleming"): [4.87688495, 3.35701192, 2.68028006, 2.28981677, 2.03103204],
    (5, "pocock"): [2.43797669, 2.42681386, 2.41019384, 2.39664540, 2.38598457],
}
# same script: drift giving P(cross upper) = power, inflation = (drift / (z_.975 + z_power))^2
R_INFLATION = {(4, 0.8): 1.01963733, (4, 0.9): 1.01828002, (5, 0.8): 1.02471988, (5, 0.9): 1.02307833}


@pytest.mark.parametrize(("looks", "spending"), sorted(R_BOUNDS))
def test_bounds_match_independent_quadrature(looks: int, spending: str) -> None:
    b = cs.gs_bounds(looks, confidence_level=0.95, spending=spending)
    np.testing.assert_allclose(b.upper, R_BOUNDS[looks, spending], atol=1e-6)
    np.testing.assert_allclose(b.lower, -b.upper)


@pytest.mark.parametrize(("looks", "power"), sorted(R_INFLATION))
def test_inflation_factor_matches_independent_quadrature(looks: int, power: float) -> None:
    d = cs.gs_design(looks, confidence_level=0.95, power=power)
    assert d.inflation_factor == pytest.approx(R_INFLATION[looks, power], abs=1e-6)
    assert d.power == pytest.approx(power, abs=1e-9)


def test_one_look_is_the_fixed_test() -> None:
    b = cs.gs_bounds(1, confidence_level=0.95)
    assert float(b.upper[0]) == pytest.approx(stats.norm.isf(0.025), abs=1e-9)
    assert cs.gs_design(1, confidence_level=0.95, power=0.8).inflation_factor == pytest.approx(1.0, abs=1e-9)


def test_one_sided_equals_two_sided_at_half_alpha() -> None:
    one = cs.gs_bounds(5, confidence_level=0.975, alternative="greater")
    two = cs.gs_bounds(5, confidence_level=0.95)
    np.testing.assert_allclose(one.upper, two.upper, atol=1e-9)
    assert np.all(np.isneginf(one.lower))


@settings(max_examples=25)
@given(
    looks=st.integers(1, 6),
    alpha=st.floats(0.005, 0.2),
    spending=st.sampled_from(["obrien_fleming", "pocock", "power:1", "power:3"]),
    two_sided=st.booleans(),
)
def test_spends_exactly_alpha_and_obf_decreases(
    looks: int, alpha: float, spending: str, two_sided: bool
) -> None:
    alt = "two-sided" if two_sided else "greater"
    b = cs.gs_bounds(looks, confidence_level=1 - alpha, spending=spending, alternative=alt)
    pu, pl = cs.gs_crossing_probabilities(b.information, b.upper, b.lower)
    cum = np.cumsum(pu + pl)
    np.testing.assert_allclose(cum, b.cumulative_alpha, atol=1e-10)
    assert cum[-1] == pytest.approx(alpha, abs=1e-10)
    if spending == "obrien_fleming":
        assert np.all(np.diff(b.upper) < 0)


@settings(max_examples=15)
@given(
    fractions=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.05, 1.0)),
    alpha=st.floats(0.01, 0.1),
)
def test_batched_bounds_equal_loop(fractions: np.ndarray, alpha: float) -> None:
    t = np.sort(fractions, axis=-1)
    t[:, -1] = 1.0
    t = t[np.all(np.diff(t, axis=-1) > 1e-3, axis=-1)]
    if t.shape[0] == 0:
        return
    batched = cs.gs_bounds(t, confidence_level=1 - alpha, spending="pocock").upper
    loop = np.stack([cs.gs_bounds(row, confidence_level=1 - alpha, spending="pocock").upper for row in t])
    np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-12)


def test_futility_design_closes_and_keeps_level() -> None:
    d = cs.gs_design(5, confidence_level=0.975, power=0.9, alternative="greater", futility="pocock")
    up, lo = d.bounds.upper, d.bounds.lower
    assert lo[-1] == pytest.approx(up[-1])
    assert np.all(lo <= up)
    # non-binding: the efficacy boundaries are those of the design without futility
    np.testing.assert_allclose(up, cs.gs_bounds(5, confidence_level=0.975, alternative="greater").upper)
    pu, pl = cs.gs_crossing_probabilities(d.bounds.information, up, lo, d.drift)
    assert pu.sum() == pytest.approx(0.9, abs=1e-6)
    assert pl.sum() == pytest.approx(0.1, abs=1e-6)
    assert d.inflation_factor > cs.gs_design(5, confidence_level=0.975, power=0.9, alternative="greater").inflation_factor


def test_spending_function_values() -> None:
    # Lan & DeMets (1983): OBF-type 2 - 2 Phi(z_{a/2} / sqrt t); Pocock-type a log(1 + (e-1) t)
    assert cs.spending_function(0.5, confidence_level=0.95) == pytest.approx(2 - 2 * stats.norm.cdf(1.959964 / 0.5**0.5), abs=1e-6)
    assert cs.spending_function(0.5, spending="pocock", confidence_level=0.95) == pytest.approx(0.05 * np.log(1 + (np.e - 1) / 2))
    assert cs.spending_function(0.5, spending="power:2", confidence_level=0.95) == pytest.approx(0.0125)
    with pytest.raises(SpecError, match="`spending`"):
        cs.spending_function(0.5, spending="haybittle", confidence_level=0.95)
    with pytest.raises(SpecError, match="rho > 0"):
        cs.parse_spending("power:-1")
    with pytest.raises(SpecError, match="`information`"):
        cs.gs_bounds([0.5, 0.4, 1.0])


# --------------------------------------------------------------------------- fixed tests


def test_two_proportion_z_reference_case() -> None:
    # spotify-confidence 4.1.0 README example (ZTest), tests/reference_cases.json
    case = CASES["two_proportion_z_test"][0]
    x = [case["control"]["successes"], case["treatment"]["successes"]]
    n = [case["control"]["trials"], case["treatment"]["trials"]]
    r = cs.rate_test(x, n)
    exp = case["expected"]
    assert float(r.estimate) == pytest.approx(exp["difference"], abs=1e-9)
    assert float(r.pvalue) == pytest.approx(exp["p_value"], abs=1e-6)
    np.testing.assert_allclose(r.confidence_interval(0.95), exp["confidence_interval_95"], atol=1e-6)


def test_chi2_and_score_match_r() -> None:
    # R: prop.test(c(50,40), c(100,100), correct=FALSE)$p.value -> 0.155218489685
    r = cs.rate_test([40, 50], [100, 100], method="chi2")
    assert float(r.pvalue) == pytest.approx(0.155218489685, abs=1e-11)
    assert float(r.statistic) == pytest.approx(stats.chi2_contingency([[40, 60], [50, 50]], correction=False)[0])
    s = cs.rate_test([40, 50], [100, 100], method="score")
    assert float(s.statistic) ** 2 == pytest.approx(float(r.statistic))


def test_restricted_mle_maximises_the_null_likelihood() -> None:
    x0, n0, x1, n1, ratio = 30.0, 400.0, 45.0, 500.0, 1.2

    def nll(p0: float) -> float:
        p1 = ratio * p0
        return -(x0 * np.log(p0) + (n0 - x0) * np.log1p(-p0) + x1 * np.log(p1) + (n1 - x1) * np.log1p(-p1))

    best = optimize.minimize_scalar(nll, bounds=(1e-6, 1 / ratio - 1e-6), method="bounded", options={"xatol": 1e-12})
    from canarystats.stats.classical import restricted_mle as _restricted_mle

    q0, q1 = _restricted_mle(np.array(x0), np.array(n0), np.array(x1), np.array(n1), np.array(ratio))
    assert float(q0) == pytest.approx(best.x, abs=1e-7)
    assert float(q1) == pytest.approx(ratio * best.x, abs=1e-7)


def test_welch_matches_r() -> None:
    # b <- c(2,3,4,5,6,4,5,6,7,8); cc <- c(1,2,3,4,5,6,7,8,9,3,4,6)
    # (n, sum, sumsq) = (10, 50, 280) and (12, 58, 346); t.test(cc, b) (Welch):
    # t = -0.1828514437, df = 19.80951668, p-value = 0.856773009, CI -2.06916742768 1.73583409435
    r = cs.mean_test([10, 12], [50.0, 58.0], [280.0, 346.0])
    assert float(r.statistic) == pytest.approx(-0.1828514437, abs=1e-9)
    assert float(r.df) == pytest.approx(19.80951668, abs=1e-7)
    assert float(r.pvalue) == pytest.approx(0.856773009, abs=1e-9)
    np.testing.assert_allclose(r.confidence_interval(0.95), [-2.06916742768, 1.73583409435], atol=1e-9)
    # t.test(cc, mu=4, alternative="greater"): t = 1.181498661, df = 11, p = 0.131159166,
    # 95% CI lower 3.56666183258 (of the mean; ours is of mean - 4)
    o = cs.mean_threshold_test(12, 58.0, 346.0, 4.0, alternative="greater")
    assert float(o.statistic) == pytest.approx(1.181498661, abs=1e-9)
    assert float(o.pvalue) == pytest.approx(0.131159166, abs=1e-9)
    assert float(o.confidence_interval(0.95)[0]) + 4.0 == pytest.approx(3.56666183258, abs=1e-9)


def test_one_sample_rate_matches_r() -> None:
    # R: prop.test(12, 100, p=0.05, alternative="greater", correct=FALSE):
    # X-squared = 10.31578947, p-value = 0.000659484306
    r = cs.rate_threshold_test(12, 100, 0.05, alternative="greater")
    assert float(r.statistic) ** 2 == pytest.approx(10.31578947, abs=1e-7)
    assert float(r.pvalue) == pytest.approx(0.000659484306, abs=1e-12)


def test_vectorized_tests_equal_loop() -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(50, 500, size=(7, 2)).astype(float)
    x = rng.binomial(n.astype(int), 0.1).astype(float)
    ratio = rng.uniform(1.0, 1.5, size=7)
    v = cs.rate_test(x, n, ratio=ratio, method="score", alternative="less")
    for i in range(7):
        s = cs.rate_test(x[i], n[i], ratio=ratio[i], method="score", alternative="less")
        assert float(v.pvalue[i]) == float(s.pvalue)
        assert np.ndim(s.pvalue) == 0


# --------------------------------------------------------------------------- sample sizes


def test_sample_sizes_against_textbook_and_r() -> None:
    # Chow, Shao & Wang (2008), Sample Size Calculations in Clinical Research, 2nd ed.,
    # sec. 4.2 (two-sample proportions, equality): n = (z_{a/2} + z_b)^2 (p1 q1 + p2 q2) / d^2;
    # p1 = .65, p2 = .85, a = .05, power .8: (1.959964 + 0.841621)^2 * 0.355 / 0.04 = 69.65 -> 70
    assert cs.sample_size_rates(0.65, 0.85, alternative="two-sided", method="wald").baseline == 70
    # R: power.prop.test(p1=0.65, p2=0.85, power=0.8)$n -> 72.3930103565 (Fleiss, pooled under H0)
    assert cs.sample_size_rates(0.65, 0.85, alternative="two-sided").baseline == 73
    # sec. 3.2.1: n = 2 (z_{a/2} + z_b)^2 s^2 / d^2, s = 2, d = 1, power .9:
    # 2 * (1.959964 + 1.281552)^2 * 4 = 84.06 -> 85
    assert cs.sample_size_means(10.0, 11.0, 2.0, alternative="two-sided", power=0.9).baseline == 85
    # R: power.t.test(delta=1, sd=1, power=0.8, alternative="one.sided")$n -> 13.0977730406
    assert cs.sample_size_means(0.0, 1.0, 1.0, test="t").baseline == 14
    # R: power.t.test(delta=1, sd=2, power=0.9, sig.level=0.025, alternative="one.sided")$n
    # -> 85.0312893854
    assert cs.sample_size_means(0.0, 1.0, 2.0, confidence_level=0.975, power=0.9, test="t").baseline == 86
    # the power functions invert the sample size functions
    assert cs.power_means(13.0977730406, 0.0, 1.0, 1.0, test="t") == pytest.approx(0.8, abs=1e-6)
    assert cs.power_rates(72.3930103565, 0.65, 0.85, alternative="two-sided") == pytest.approx(0.8, abs=1e-6)
    # the group-sequential inflation multiplies
    infl = cs.gs_design(5, confidence_level=0.95, power=0.9).inflation_factor
    n_fixed = cs.sample_size_means(10.0, 11.0, 2.0, alternative="two-sided", power=0.9, inflation=1.0).baseline
    n_gs = cs.sample_size_means(10.0, 11.0, 2.0, alternative="two-sided", power=0.9, inflation=infl).baseline
    assert n_fixed < n_gs <= np.ceil(84.06 * infl) + 1
    with pytest.raises(SpecError, match="on the null"):
        cs.sample_size_means(10.0, 11.0, 2.0, ratio=1.1)


# --------------------------------------------------------------------------- multiplicity


def test_adjustments_match_r_p_adjust() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.2]
    # R: p.adjust(p, "holm"); p.adjust(p, "hochberg"); p.adjust(p, "bonferroni")
    np.testing.assert_allclose(cs.adjust_pvalues(p, method="holm"), [0.040, 0.090, 0.090, 0.025, 0.200])
    np.testing.assert_allclose(cs.adjust_pvalues(p, method="hochberg"), [0.040, 0.080, 0.080, 0.025, 0.200])
    np.testing.assert_allclose(cs.adjust_pvalues(p, method="bonferroni"), [0.050, 0.200, 0.150, 0.025, 1.000])
    batched = cs.adjust_pvalues(np.array([p, p[::-1]]).T, method="holm", axis=0)
    np.testing.assert_allclose(batched[:, 1], cs.adjust_pvalues(p[::-1], method="holm"))
    assert cs.intersection_union_pvalue([0.01, 0.04, 0.03]) == 0.04
    assert cs.adjusted_confidence_level(0.95, 5) == pytest.approx(0.99)
    assert cs.adjusted_confidence_level(0.95, 2, method="sidak") == pytest.approx(0.95**0.5)
    with pytest.raises(SpecError, match="`method`"):
        cs.adjust_pvalues(p, method="fdr")


# --------------------------------------------------------------------------- criteria


def _rate_obs(n: np.ndarray, x: np.ndarray) -> Observations:
    with np.errstate(invalid="ignore", divide="ignore"):
        return Observations(count=n, value=x / n, successes=x)


def test_criterion_fields_validate_and_round_trip() -> None:
    c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                  method="group_sequential", options={"looks": 5.0, "spending": "power:2"})
    assert c.options.looks == 5
    spec = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c", criteria=[c])
    doc = spec_to_iter8(spec)
    entry = doc["spec"]["analysis"]["successCriteria"][0]
    assert entry["looks"] == 5
    assert entry["spending"] == "power:2"
    assert spec_from_iter8(doc) == spec
    with pytest.raises(SpecError, match="`looks`"):
        Criterion(metric="m", tolerance_type="threshold", tolerance=1.0, method="group_sequential",
                  options={"looks": 0})
    with pytest.raises(SpecError, match="`spending`"):
        Criterion(metric="m", tolerance_type="threshold", tolerance=1.0, method="group_sequential",
                  options={"spending": "pocok"})
    no_looks = Criterion(metric="m", tolerance_type="threshold", tolerance=1.0, method="group_sequential")
    with pytest.raises(SpecError, match="`looks`"):
        evaluate_criterion(no_looks, _rate_obs(np.array([10.0, 10.0]), np.array([1.0, 1.0])))
    with pytest.raises(SpecError, match="counter"):
        evaluate_criterion(Criterion(metric="iter8_error_count", tolerance_type="threshold", tolerance=1.0, method="fixed"),
                           _rate_obs(np.array([10.0, 10.0]), np.array([1.0, 1.0])))


def test_fixed_method_verdicts() -> None:
    c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1, method="fixed", confidence=0.95)
    n = np.array([[20000.0, 20000.0], [20000.0, 20000.0], [20000.0, 20000.0], [20000.0, 5.0], [np.nan, 10.0]])
    x = np.array([[1000.0, 900.0], [1000.0, 1300.0], [1000.0, 1100.0], [1000.0, 0.0], [1.0, 1.0]])
    with pytest.warns(cs.InsufficientDataWarning, match="missing"):
        r = evaluate_criterion(c, _rate_obs(n, x))
    assert r.verdict.tolist() == [1, -1, 0, 0, 0]
    assert r.reason.tolist() == [Reason.OK, Reason.OK, Reason.NOT_YET_DECIDED, Reason.INSUFFICIENT_SAMPLE, Reason.MISSING_VALUE]
    # the verdict is the one-sided score test against the margin
    p = cs.rate_test(x[:3], n[:3], ratio=1.1, method="score", alternative="less").pvalue
    np.testing.assert_allclose(r.state.pvalue[:3], p)
    # means: Welch against the margin, higher is better mirrored
    m = Criterion(metric="throughput", tolerance_type="delta", tolerance=0.1, method="fixed", direction="higher", confidence=0.95)
    obs = Observations(count=[[100.0, 100.0]], value=[[10.0, 10.0]], sum=[[1000.0, 1000.0]], sumsq=[[10100.0, 10100.0]])
    assert evaluate_criterion(m, obs).verdict.tolist() == [Verdict.PASS]


def test_group_sequential_warns_off_plan_and_freezes() -> None:
    c = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
                  method="group_sequential", options={"looks": 2}, confidence=0.95)
    state = None
    n = np.array([[1000.0, 1000.0]])
    x = np.array([[40.0, 52.0]])
    r = evaluate_criterion(c, _rate_obs(n, x))
    assert r.verdict.tolist() == [0]
    assert r.reason.tolist() == [Reason.NOT_YET_DECIDED]
    assert r.state.information[0, 0] == pytest.approx(0.5)
    state = r.state
    r = evaluate_criterion(c, _rate_obs(2 * n, 2 * x), state=state)
    assert r.state.information[0, 1] == 1.0
    with pytest.warns(PlannedLooksWarning, match="after the last planned look"):
        r2 = evaluate_criterion(c, _rate_obs(3 * n, 3 * x), state=r.state)
    assert r2.verdict.tolist() == r.verdict.tolist()
    # information growing faster than planned: the look that reaches it is the last
    c3 = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
                   method="group_sequential", options={"looks": 3}, confidence=0.95)
    s = evaluate_criterion(c3, _rate_obs(n, x)).state
    with pytest.warns(PlannedLooksWarning, match="before the last planned look"):
        r3 = evaluate_criterion(c3, _rate_obs(4 * n, 4 * x), state=s)
    assert r3.state.information[0, :2].tolist() == [pytest.approx(1 / 3), 1.0]


def _simulate_gs(p_base: float, p_cand: float, n_look: int, looks: int, reps: int, seed: int) -> tuple[float, float]:
    """PASS and FAIL rates of a group-sequential delta criterion (tolerance 0.1), vectorized."""
    c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                  method="group_sequential", options={"looks": looks}, confidence=0.95,
                  sample_size=10)
    rng = np.random.default_rng(seed)
    n = np.zeros((reps, 2))
    x = np.zeros((reps, 2))
    state = None
    for _ in range(looks):
        n += n_look
        x += rng.binomial(n_look, [p_base, p_cand], size=(reps, 2))
        r = evaluate_criterion(c, _rate_obs(n, x), state=state)
        state = r.state
    return float(np.mean(r.verdict == Verdict.PASS)), float(np.mean(r.verdict == Verdict.FAIL))


def test_group_sequential_false_pass_rate_on_the_margin() -> None:
    # truth on the margin: p_c = 1.1 * p_b; 5 planned looks, OBF-type, alpha = 0.05 per side.
    # 100000 replications: SE = sqrt(.05 * .95 / 100000) = 0.00069
    reps, alpha = 100000, 0.05
    pass_rate, fail_rate = _simulate_gs(0.05, 0.055, 4000, 5, reps, seed=20240607)
    se = np.sqrt(alpha * (1 - alpha) / reps)
    assert pass_rate <= alpha + 3 * se
    assert fail_rate <= alpha + 3 * se
    assert pass_rate >= alpha - 5 * se  # exact, not merely conservative


def test_group_sequential_power_of_a_sized_design() -> None:
    # a design sized for 80 % power at p_c = 0.045 (margin 0.055, p_b = 0.05): the fixed score
    # test's size times the inflation factor of the symmetric 5-look OBF design (alpha per side)
    looks, alpha, power = 5, 0.05, 0.8
    infl = cs.gs_design(looks, confidence_level=1 - 2 * alpha, power=power).inflation_factor
    n = cs.sample_size_rates(0.05, 0.045, ratio=1.1, confidence_level=1 - alpha, power=power, inflation=infl).baseline
    n_look = int(np.ceil(n / looks))
    reps = 100000  # SE = sqrt(.8 * .2 / 100000) = 0.00126
    pass_rate, _ = _simulate_gs(0.05, 0.045, n_look, looks, reps, seed=7)
    se = np.sqrt(power * (1 - power) / reps)
    assert abs(pass_rate - power) <= 3 * se


def test_group_sequential_batched_equals_loop() -> None:
    c = Criterion(metric="latency", tolerance_type="threshold", tolerance=1.0,
                  method="group_sequential", options={"looks": 3}, confidence=0.9,
                  sample_size=5)
    rng = np.random.default_rng(11)
    reps = 6
    n_look = rng.integers(20, 60, size=(3, reps)).astype(float)
    states = [None] * reps
    state = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannedLooksWarning)
        n = np.zeros(reps)
        s = np.zeros(reps)
        ss = np.zeros(reps)
        for k in range(3):
            y = rng.normal(0.9, 0.5, size=(reps, 60))
            y = np.where(np.arange(60) < n_look[k][:, None], y, 0.0)
            n += n_look[k]
            s += y.sum(axis=1)
            ss += (y * y).sum(axis=1)
            cnt = np.stack([n, n], axis=1)
            obs = Observations(count=cnt, value=np.stack([s / n] * 2, axis=1),
                               sum=np.stack([s, s], axis=1), sumsq=np.stack([ss, ss], axis=1))
            r = evaluate_criterion(c, obs, state=state)
            state = r.state
            for i in range(reps):
                ri = evaluate_criterion(c, obs[i:i + 1], state=states[i])
                states[i] = ri.state
                assert ri.verdict[0] == r.verdict[i]
                assert ri.state.bound[0] == pytest.approx(r.state.bound[i], abs=1e-12)


@pytest.mark.parametrize("name", [
    "methods.fixed", "methods.group_sequential", "stats.classical", "stats.sample_size",
    "stats.group_sequential", "stats.multiplicity", "stats.confidence_interval",
])
def test_module_doctests(name: str) -> None:
    import doctest
    import importlib

    module = importlib.import_module(f"canarystats.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("method", ["fixed", "group_sequential"])
def test_a_single_experiment_judges_as_a_batch_of_one(method: str) -> None:
    # the batch shape () is a batch like any other: three looks of one experiment give the
    # verdicts, reasons and state of the same looks in a batch of one
    crit = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                     method=method, sample_size=10,
                     options={"looks": 3} if method == "group_sequential" else None)
    state0 = state1 = None
    for k, (errors_b, errors_c) in enumerate([(10.0, 9.0), (22.0, 15.0), (31.0, 18.0)]):
        n = 1000.0 * (k + 1)
        obs = Observations(count=[n, n], value=[errors_b / n, errors_c / n],
                           successes=[errors_b, errors_c])
        one = evaluate_criterion(crit, obs, state=state0)
        batch = evaluate_criterion(
            crit, Observations(count=[[n, n]], value=[[errors_b / n, errors_c / n]],
                               successes=[[errors_b, errors_c]]), state=state1)
        assert (one.verdict, one.reason) == (batch.verdict[0], batch.reason[0])
        for name in attrs.fields_dict(type(one.state)):
            np.testing.assert_array_equal(getattr(one.state, name), getattr(batch.state, name)[0])
        state0, state1 = one.state, batch.state
