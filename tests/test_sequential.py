"""Anytime-valid sequential criteria: references, calibration, properties, early stopping.

Reference numbers come from peer libraries (confseq, savvi, via tests/reference_cases.json)
and from independent mpmath computations (tests/reference/sequential_mpmath.py, 50 digits;
the command that produced each number is in the comment next to it). None is taken from
canarystats itself.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from bench_runner import run_benchmark
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

import canarystats as cs
from canarystats import (
    Criterion,
    ExperimentSpec,
    InsufficientDataWarning,
    Observations,
    Outcome,
    Reason,
    SpecError,
    TrafficControl,
    Verdict,
    evaluate_criterion,
    run_experiment,
)
from canarystats.methods.sequential import SequentialMethod

CASES = json.loads((Path(__file__).parent / "reference_cases.json").read_text())

# --------------------------------------------------------------------------- references


def test_normal_mixture_matches_confseq() -> None:
    # confseq test/uniform_boundaries_unittest.cpp ("values from a reference R implementation"),
    # via tests/reference_cases.json["normal_mixture_boundary"]; confseq checks them to 1e-5
    exp = CASES["normal_mixture_boundary"][0]["expected"]
    rho = cs.normal_mixture_rho(100.0, confidence_level=0.95)
    assert rho == pytest.approx(exp["best_rho(v_opt=100, alpha=0.05)"], abs=1e-5)
    assert cs.normal_mixture_log_e(10.0, 100.0, rho) == pytest.approx(
        exp["two_sided_log_mixture(s=10, v=100, rho=best_rho)"], abs=1e-6
    )
    assert cs.normal_mixture_bound(100.0, rho, confidence_level=0.95) == pytest.approx(
        exp["two_sided_bound(v=100, alpha=0.05, rho=best_rho)"], abs=1e-5
    )
    # confseq's OneSidedNormalMixture(v_opt=100, alpha_opt=0.05) tunes rho for 2 * alpha
    rho1 = cs.normal_mixture_rho(100.0, confidence_level=0.95, alternative="greater")
    assert cs.normal_mixture_log_e(10.0, 100.0, rho1, alternative="greater") == pytest.approx(
        exp["one_sided_log_mixture(s=10, v=100)"], abs=1e-6
    )
    assert cs.normal_mixture_bound(100.0, rho1, confidence_level=0.95, alternative="greater") == pytest.approx(
        exp["one_sided_bound(v=100)"], abs=1e-5
    )


def test_multinomial_matches_savvi() -> None:
    # savvi 0.3.1 examples/Multinomial.qmd via tests/reference_cases.json
    case = CASES["multinomial_anytime_valid"][0]
    log_e = cs.multinomial_log_e(case["counts"], case["theta0"], k=case["k"])
    assert np.exp(-log_e) == pytest.approx(case["expected"]["p_value"], rel=1e-12)
    lo, hi = cs.multinomial_cs(case["counts"], case["theta0"], confidence_level=0.95, k=case["k"])
    ref = np.array(case["expected"]["confidence_sequence"])
    # savvi reports the running intersection over its example's looks: it lies inside this
    # single-look set, and where the last look binds (theta_2's upper end) the two agree
    assert np.all(lo <= ref[:, 0] + 1e-6)
    assert np.all(hi >= ref[:, 1] - 1e-6)
    assert hi[1] == pytest.approx(ref[1, 1], abs=1e-5)


def test_msprt_against_mpmath() -> None:
    # python tests/reference/sequential_mpmath.py -> msprt(0.3, 100, 1, 0.1) = 2.89196145450991
    assert cs.msprt_normal_log_e(0.3, 100, 1.0, 0.1) == pytest.approx(2.89196145450991, rel=1e-12)
    # python tests/reference/sequential_mpmath.py -> msprt(-0.05, 2500, 2, 0.01) = 0.145414416537068
    assert cs.msprt_normal_log_e(-0.05, 2500, 2.0, 0.01) == pytest.approx(
        0.145414416537068, rel=1e-11
    )


def test_msprt_is_the_two_sided_normal_mixture() -> None:
    mean, n, s2, t2 = 0.07, 400.0, 3.0, 0.02
    assert cs.msprt_normal_log_e(mean, n, s2, t2) == pytest.approx(
        cs.normal_mixture_log_e(n * mean, n * s2, s2 * s2 / t2), rel=1e-13
    )


def test_beta_mixture_against_mpmath() -> None:
    # python tests/reference/sequential_mpmath.py -> beta_mixture(30, 100, 0.5) = 5.69709404440132
    assert cs.beta_binomial_log_e(30, 100, 0.5) == pytest.approx(5.69709404440132, rel=1e-12)
    # python tests/reference/sequential_mpmath.py -> beta_mixture(3, 1000, 0.01) = -0.280824974643318
    assert cs.beta_binomial_log_e(3, 1000, 0.01) == pytest.approx(-0.280824974643318, rel=1e-11)
    # python tests/reference/sequential_mpmath.py ->
    #   bernoulli_cs(30, 100, 0.05) = 0.165651535387867 0.462839865141713
    lo, hi = cs.bernoulli_cs(30, 100, confidence_level=0.95)
    assert lo == pytest.approx(0.165651535387867, abs=1e-12)
    assert hi == pytest.approx(0.462839865141713, abs=1e-12)


def test_one_sided_alternatives_mirror_each_other() -> None:
    rho = cs.normal_mixture_rho(100.0, confidence_level=0.95, alternative="less")
    assert rho == cs.normal_mixture_rho(100.0, confidence_level=0.95, alternative="greater")
    s = np.array([-25.0, -3.0, 0.0, 4.0, 31.0])
    np.testing.assert_array_equal(cs.normal_mixture_log_e(s, 100.0, rho, alternative="less"),
                                  cs.normal_mixture_log_e(-s, 100.0, rho, alternative="greater"))
    assert cs.normal_mixture_bound(100.0, rho, confidence_level=0.95, alternative="less") == -cs.normal_mixture_bound(
        100.0, rho, confidence_level=0.95, alternative="greater")
    # scipy's convention: a one-sided sequence is open on the other side
    two = cs.normal_mean_cs([10.0, 5.0], [100.0, 0.0], 1.0, confidence_level=0.95)
    less = cs.normal_mean_cs([10.0, 5.0], [100.0, 0.0], 1.0, confidence_level=0.95, alternative="less")
    greater = cs.normal_mean_cs([10.0, 5.0], [100.0, 0.0], 1.0, confidence_level=0.95, alternative="greater")
    assert less.lower[0] == -np.inf
    assert greater.upper[0] == np.inf
    assert two.lower[0] < greater.lower[0] < 0.1 < less.upper[0] < two.upper[0]
    assert 0.1 - greater.lower[0] == pytest.approx(less.upper[0] - 0.1, rel=1e-15)
    assert np.isnan([two.lower[1], less.lower[1], less.upper[1], greater.upper[1]]).all()


@pytest.mark.parametrize("call", [
    lambda: cs.normal_mixture_rho(100.0, confidence_level=0.95, alternative="one-sided"),
    lambda: cs.normal_mixture_log_e(1.0, 100.0, 12.0, alternative="two_sided"),
    lambda: cs.normal_mixture_bound(100.0, 12.0, confidence_level=0.95, alternative="upper"),
    lambda: cs.normal_mean_cs(10.0, 100.0, 1.0, confidence_level=0.95, alternative="both"),
])
def test_alternative_is_checked(call: Callable[[], object]) -> None:
    with pytest.raises(SpecError, match="`alternative` must be one of"):
        call()


def test_results_unpack_like_the_tuples_they_replace() -> None:
    r = cs.bernoulli_cs(30, 100, confidence_level=0.95)
    lo, hi = r
    assert (lo, hi) == (r.lower, r.upper) == (r[0], r[1])
    assert isinstance(r.lower, np.float64)
    ll, lo, hi = cs.msprt_two_sample(0.3, 0.02, 0.1, confidence_level=0.95)
    assert cs.msprt_two_sample(0.3, 0.02, 0.1, confidence_level=0.95).log_lambda == ll
    k_lo, k_up = cs.quantile_ranks(1000, 0.95, confidence_level=0.95)
    assert (k_lo, k_up) == (924.0, 970.0)
    assert cs.quantile_cs(np.arange(1.0, 1001.0), 0.95, confidence_level=0.95).upper == 970.0


def test_bernoulli_cs_edges() -> None:
    lo, hi = cs.bernoulli_cs([0, 0, 10], [0, 10, 10], confidence_level=0.95)
    assert lo.tolist()[:2] == [0.0, 0.0]
    assert hi[0] == 1.0
    assert hi[2] == 1.0
    assert np.isnan(cs.bernoulli_cs(5, 3, confidence_level=0.95)[0])


# --------------------------------------------------------------------------- calibration

ALPHA = 0.05
N_STREAMS = 2000
N_LOOKS = 100
# Monte Carlo standard error of a rate near alpha, and the bound alpha + 3 SE
MC_SE = float(np.sqrt(ALPHA * (1 - ALPHA) / N_STREAMS))  # 0.00487
BOUND = ALPHA + 3 * MC_SE  # 0.0646


def _run_method(criterion: Criterion, observations: list[Observations]) -> NDArray[np.int8]:
    """Verdicts at every look, shape (n_looks, *batch), consulting the method each time."""
    method = cs.registry.get_method("sequential")
    state = method.init(criterion, observations[0].batch_shape)
    out = []
    for obs in observations:
        state, verdict, _, _ = method.update(criterion, state, obs)
        out.append(verdict)
    return np.stack(out)


def _rate_streams(
    rng: np.random.Generator, p: tuple[float, float], per_look: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cumulative requests and errors, shape (n_looks, n_streams, 2); per_look (n_looks, 2)."""
    n_inc = np.broadcast_to(per_look[:, None, :], (N_LOOKS, N_STREAMS, 2))
    errs = rng.binomial(n_inc.astype(np.int64), np.array(p))
    return np.cumsum(n_inc, axis=0), np.cumsum(errs, axis=0).astype(np.float64)


def _rate_obs(n: NDArray[np.float64], e: NDArray[np.float64]) -> list[Observations]:
    return [
        Observations(count=n[k], value=e[k] / n[k], successes=e[k]) for k in range(N_LOOKS)
    ]


def _ever(verdicts: NDArray[np.int8], code: int) -> float:
    return float(np.mean((verdicts == code).any(axis=0)))


def test_rate_threshold_calibrated_on_the_boundary_and_peeking_is_not() -> None:
    """Truth exactly at the threshold: error rate 0.05, tolerance 0.05, 100 looks x 200 requests.

    2,000 streams; MC SE 0.0049; bound alpha + 3 SE = 0.0646. Observed (seed 1): sequential false
    PASS 0.002 and false FAIL 0.001 (conservative); a one-sided exact binomial test at 95 %
    consulted at every look passes 0.286; the point rule (value <= tolerance) 0.942.
    """
    rng = np.random.default_rng(1)
    per_look = np.tile([200.0, 200.0], (N_LOOKS, 1))
    n, e = _rate_streams(rng, (0.05, 0.05), per_look)
    crit = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
                     method="sequential", confidence=1 - ALPHA, sample_size=10)
    v = _run_method(crit, _rate_obs(n, e))
    false_pass, false_fail = _ever(v, Verdict.PASS), _ever(v, Verdict.FAIL)
    assert false_pass <= BOUND
    assert false_fail <= BOUND
    # the motivation: a fixed-horizon test (exact one-sided binomial, level 0.05) at every look
    pvals = stats.binom.cdf(e[..., 1], n[..., 1], 0.05)  # small when the rate is below 0.05
    naive = float(np.mean((pvals <= ALPHA).any(axis=0)))
    point = float(np.mean((e[..., 1] / n[..., 1] <= 0.05).any(axis=0)))
    assert naive > BOUND
    assert naive > 0.2
    assert point > 0.9


def test_rate_delta_calibrated_at_the_margin_with_changing_allocation() -> None:
    """Baseline 0.05, candidate 0.06 = (1 + 0.2) * baseline: exactly on the delta margin.

    The candidate's share grows from 2 % to 50 % of 2,000 requests per look, as under
    check_and_increment. 2,000 streams x 100 looks; bound 0.0646 for each error. Observed
    (seed 2): false PASS 0.000, false FAIL 0.001; the point rule passes 0.974 at some look.
    """
    rng = np.random.default_rng(2)
    cand = np.linspace(40.0, 1000.0, N_LOOKS).round()
    per_look = np.stack([2000.0 - cand, cand], axis=-1)
    n, e = _rate_streams(rng, (0.05, 0.06), per_look)
    crit = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                     method="sequential", confidence=1 - ALPHA)
    v = _run_method(crit, _rate_obs(n, e))
    assert _ever(v, Verdict.PASS) <= BOUND
    assert _ever(v, Verdict.FAIL) <= BOUND
    # the point rule consulted at every look passes most of these bad-at-the-margin streams
    point = float(np.mean((e[..., 1] / n[..., 1] <= 1.2 * e[..., 0] / n[..., 0]).any(axis=0)))
    assert point > 0.5


def test_rate_power() -> None:
    """Power: candidate error rate 0.02 against a threshold of 0.05 (2,000 streams).

    PASS by look 100 (20,000 candidate requests) in every stream; by look 10 in most
    (observed, seed 3: all 2,000 by look 10, median first PASS at look 3). A candidate at 0.10
    against a 0.05 baseline with a 20 % margin FAILs in all streams (median look 15).
    """
    rng = np.random.default_rng(3)
    per_look = np.tile([200.0, 200.0], (N_LOOKS, 1))
    n, e = _rate_streams(rng, (0.05, 0.02), per_look)
    crit = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
                     method="sequential", confidence=1 - ALPHA)
    v = _run_method(crit, _rate_obs(n, e))
    assert np.mean(v[-1] == Verdict.PASS) >= 0.99
    assert np.mean(v[9] == Verdict.PASS) >= 0.5
    # a real regression (candidate 0.10 against a baseline of 0.05, margin 20 %) FAILs
    n, e = _rate_streams(rng, (0.05, 0.10), per_look)
    crit = attrs_evolve(crit, tolerance_type="delta", tolerance=0.2)
    v = _run_method(crit, _rate_obs(n, e))
    assert np.mean(v[-1] == Verdict.FAIL) >= 0.99


def attrs_evolve(c: Criterion, **kw: object) -> Criterion:
    import attrs

    return attrs.evolve(c, **kw)


def _mean_obs(
    rng: np.random.Generator, mu: tuple[float, float], sd: float, per_look: int, n_streams: int
) -> list[Observations]:
    x = rng.normal(np.array(mu)[None, None, :, None], sd, (N_LOOKS, n_streams, 2, per_look))
    s = np.cumsum(x.sum(axis=-1), axis=0)
    ss = np.cumsum((x * x).sum(axis=-1), axis=0)
    n = np.full(s.shape, float(per_look)) * np.arange(1, N_LOOKS + 1)[:, None, None]
    return [Observations(count=n[k], value=s[k] / n[k], sum=s[k], sumsq=ss[k]) for k in range(N_LOOKS)]


def test_mean_threshold_and_delta_calibrated_on_the_boundary() -> None:
    """Gaussian latencies with plug-in variance (burn-in 30), truth on the boundary.

    2,000 streams x 100 looks x 20 samples per version per look. Threshold: mean 0.2 = tolerance.
    Delta: baseline 1.0, candidate 1.2 = (1 + 0.2) x baseline. Each error <= 0.0646. Observed
    (seed 4): threshold false PASS 0.021 / false FAIL 0.021, the repeated z-test 0.305; delta
    0.001 / 0.001; power (candidate 10 % faster, 500 streams): all PASS, median look 5.
    """
    rng = np.random.default_rng(4)
    obs = _mean_obs(rng, (0.2, 0.2), 0.1, 20, N_STREAMS)
    crit = Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                     method="sequential", confidence=1 - ALPHA)
    v = _run_method(crit, obs)
    assert _ever(v, Verdict.PASS) <= BOUND
    assert _ever(v, Verdict.FAIL) <= BOUND
    naive_z = [(o.value[:, 1] + 1.645 * np.sqrt((o.sumsq[:, 1] / o.count[:, 1] - o.value[:, 1] ** 2)
                                                   / o.count[:, 1])) < 0.2 for o in obs]  # type: ignore[operator]
    assert float(np.mean(np.any(naive_z, axis=0))) > BOUND
    obs = _mean_obs(rng, (1.0, 1.2), 0.3, 20, N_STREAMS)
    crit = attrs_evolve(crit, tolerance_type="delta")
    v = _run_method(crit, obs)
    assert _ever(v, Verdict.PASS) <= BOUND
    assert _ever(v, Verdict.FAIL) <= BOUND
    # power: a candidate 10 % faster than the baseline passes the 20 % margin
    obs = _mean_obs(rng, (1.0, 0.9), 0.3, 20, 500)
    v = _run_method(crit, obs)
    assert np.mean(v[-1] == Verdict.PASS) >= 0.99


# --------------------------------------------------------------------------- properties

counts = hnp.arrays(np.float64, st.integers(1, 6), elements=st.integers(0, 400).map(float))


@given(counts, counts, st.floats(0.001, 0.3))
def test_bernoulli_cs_vectorized_equals_loop(s: NDArray[np.float64], extra: NDArray[np.float64],
                                            alpha: float) -> None:
    m = min(len(s), len(extra))
    s, n = s[:m], s[:m] + extra[:m]
    lo, hi = cs.bernoulli_cs(s, n, confidence_level=1 - alpha)
    for i in range(m):
        lo_i, hi_i = cs.bernoulli_cs(s[i], n[i], confidence_level=1 - alpha)
        assert np.ndim(lo_i) == 0
        assert lo_i == lo[i]
        assert hi_i == hi[i]
        assert 0.0 <= lo_i <= s[i] / max(n[i], 1) <= hi_i <= 1.0 or n[i] == 0


@given(hnp.arrays(np.float64, st.integers(1, 5), elements=st.floats(1.0, 1e5)),
       st.floats(0.001, 0.3), st.sampled_from(["two-sided", "less", "greater"]))
def test_normal_bound_vectorized_equals_loop(v: NDArray[np.float64], alpha: float,
                                             alternative: str) -> None:
    rho = cs.normal_mixture_rho(500.0, confidence_level=1 - alpha, alternative=alternative)
    b = cs.normal_mixture_bound(v, rho, confidence_level=1 - alpha, alternative=alternative)
    for i in range(len(v)):
        assert cs.normal_mixture_bound(v[i], rho, confidence_level=1 - alpha, alternative=alternative) == b[i]
    # the bound is where the mixture reaches 1/alpha
    lm = cs.normal_mixture_log_e(b, v, rho, alternative=alternative)
    np.testing.assert_allclose(lm, np.log(1 / alpha), atol=1e-9)


@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 8), st.just(3)), elements=st.integers(0, 60)))
def test_multinomial_pvalues_in_unit_interval_and_non_increasing(inc: NDArray[np.int64]) -> None:
    p = cs.multinomial_pvalue(np.cumsum(inc, axis=0), [0.2, 0.3, 0.5])
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(np.diff(p) <= 0)


def _random_rate_looks(data: st.DataObject, n_batch: int, n_looks: int) -> list[Observations]:
    inc_n = data.draw(hnp.arrays(np.float64, (n_looks, n_batch, 2),
                                 elements=st.integers(0, 300).map(float)))
    frac = data.draw(hnp.arrays(np.float64, (n_looks, n_batch, 2), elements=st.floats(0, 0.3)))
    n = np.cumsum(inc_n, axis=0)
    e = np.cumsum(np.floor(inc_n * frac), axis=0)
    with np.errstate(invalid="ignore"):
        return [Observations(count=n[k], value=e[k] / n[k], successes=e[k])
                for k in range(n_looks)]


@given(st.data(), st.sampled_from(["threshold", "delta"]), st.sampled_from(["lower", "higher"]))
def test_method_batched_equals_loop_nested_and_order_invariant(
    data: st.DataObject, ttype: str, direction: str
) -> None:
    n_batch, n_looks = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6))
    looks = _random_rate_looks(data, n_batch, n_looks)
    tol = 0.1 if ttype == "threshold" else 0.2
    crit = Criterion(metric="m", tolerance_type=ttype, tolerance=tol, direction=direction,
                     method="sequential", confidence=0.9, sample_size=5)
    method = SequentialMethod()
    perm = data.draw(st.permutations(range(n_batch)))
    state = method.init(crit, (n_batch,))
    pstate = method.init(crit, (n_batch,))
    singles = [method.init(crit, ()) for _ in range(n_batch)]
    for obs in looks:
        new, verdict, reason, _ = method.update(crit, state, obs)
        # nested: confidence sequences never widen
        assert np.all(new.lower >= state.lower)
        assert np.all(new.upper <= state.upper)
        state = new
        pstate, pverdict, preason, _ = method.update(crit, pstate, obs[list(perm)])
        np.testing.assert_array_equal(pverdict, verdict[list(perm)])
        np.testing.assert_array_equal(preason, reason[list(perm)])
        for i in range(n_batch):
            singles[i], v_i, r_i, _ = method.update(crit, singles[i], obs[i])
            assert v_i.shape == ()
            assert v_i == verdict[i]
            assert r_i == reason[i]


# --------------------------------------------------------------------------- data handling


def test_bad_and_missing_data() -> None:
    crit = Criterion(metric="latency", tolerance_type="threshold", tolerance=0.2,
                     method="sequential")
    obs = Observations(count=[[100.0, 100.0]], value=[[0.1, 0.1]], sum=[[10.0, 10.0]])
    with pytest.warns(InsufficientDataWarning, match="1 of 1 slices"):
        r = evaluate_criterion(crit, obs)  # no sumsq: no scale is assumed
    assert r.reason.tolist() == [Reason.MISSING_VALUE]
    assert r.verdict.tolist() == [Verdict.INCONCLUSIVE]
    rate = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
                     method="sequential")
    first = Observations(count=[[100.0, 500.0], [100.0, 500.0]], value=[[0.0, 0.0]] * 2,
                         successes=[[0.0, 1.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = evaluate_criterion(rate, first)
    # the second slice's cumulative count decreases (a counter reset): bad data, state kept
    second = Observations(count=[[200.0, 1000.0], [200.0, 400.0]], value=[[0.0, 0.0]] * 2,
                          successes=[[0.0, 2.0], [0.0, 1.0]])
    with pytest.warns(InsufficientDataWarning, match="1 of 2 slices"):
        r2 = evaluate_criterion(rate, second, state=r.state)
    assert r2.reason.tolist()[1] == Reason.BAD_DATA
    assert r2.state.count[1].tolist() == [100.0, 500.0]
    with pytest.warns(InsufficientDataWarning):
        r3 = evaluate_criterion(rate, Observations(count=[[10.0, 5.0]], value=[[0.0, 0.0]],
                                                   successes=[[0.0, 6.0]]))
    assert r3.reason.tolist() == [Reason.BAD_DATA]
    few = Observations(count=[[100.0, 5.0]], value=[[0.0, 0.0]], successes=[[0.0, 0.0]])
    assert evaluate_criterion(rate, few).reason.tolist() == [Reason.INSUFFICIENT_SAMPLE]


def test_configuration_errors() -> None:
    with pytest.raises(SpecError, match="counter"):
        evaluate_criterion(Criterion(metric="iter8_error_count", tolerance_type="threshold",
                                     tolerance=5, method="sequential"),
                           Observations(count=[1.0, 1.0], value=[0.0, 0.0]))
    with pytest.raises(SpecError, match="`missing` must be 'inconclusive'"):
        evaluate_criterion(Criterion(metric="iter8_error_rate", tolerance_type="threshold",
                                     tolerance=0.1, method="sequential", missing="iter8"),
                           Observations(count=[1.0, 1.0], value=[0.0, 0.0]))
    with pytest.raises(SpecError, match="`early_stop` must be true or false"):
        TrafficControl(early_stop="yes")  # type: ignore[arg-type]


def test_stop_on_failure_aborts_on_a_sequential_fail() -> None:
    crit = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.01,
                     method="sequential", stop_on_failure=True)
    obs = Observations(count=[1000.0, 1000.0], value=[0.2, 0.2], successes=[200.0, 200.0])
    r = evaluate_criterion(crit, obs)
    assert r.verdict == Verdict.FAIL
    assert bool(r.abort)


# --------------------------------------------------------------------------- early stopping


def _spec(method: str, early: bool) -> ExperimentSpec:
    return ExperimentSpec(
        name="e", target_service="s", baseline="b", candidate="c",
        traffic_control=TrafficControl(interval="1m", step_size=10, max_iterations=30,
                                       max_traffic_percent=50, early_stop=early),
        criteria=[Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                            method=method, sample_size=10)],
    )


def _observer(p_cand: float, n_batch: int, seed: int) -> cs.strategies.runner.Observe:
    """Closed loop: 3,000 requests a minute split by the routed percentage; baseline 5 % errors."""
    rng = np.random.default_rng(seed)
    tot = {"n": np.zeros((n_batch, 2)), "e": np.zeros((n_batch, 2))}

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> Mapping[str, Observations]:
        if k > 0:
            share = np.stack([100.0 - routed, routed], axis=-1) / 100.0
            inc = np.round(3000.0 * share)
            tot["n"] = tot["n"] + inc
            tot["e"] = tot["e"] + rng.binomial(inc.astype(np.int64), [0.05, p_cand])
        with np.errstate(invalid="ignore", divide="ignore"):
            value = tot["e"] / tot["n"]
        return {"iter8_error_rate": Observations(count=tot["n"], value=value, successes=tot["e"])}

    return observe


def test_early_stop_promotes_and_rolls_back_early() -> None:
    """200 rollouts each: a good candidate (2 % errors vs 5 %) and a bad one (10 %), 31 looks."""
    n_batch = 200
    good = run_experiment(_spec("sequential", True), _observer(0.02, n_batch, 5),
                          batch_shape=(n_batch,))
    bad = run_experiment(_spec("sequential", True), _observer(0.10, n_batch, 6),
                         batch_shape=(n_batch,))
    assert np.mean(good.outcome == Outcome.PROMOTE) >= 0.95
    assert np.mean(bad.outcome == Outcome.ROLLBACK) == 1.0
    # median assessments saved against the full 31 (observed, seeds 5/6: good 27, bad 25)
    assert np.median(30 - good.end_iteration) >= 10
    assert np.median(30 - bad.end_iteration) >= 10
    # without early_stop the same rollouts run all 31 assessments
    full = run_experiment(_spec("sequential", False), _observer(0.02, 20, 5), batch_shape=(20,))
    assert np.all(full.end_iteration == 30)
    # early_stop never acts on point verdicts
    point = run_experiment(_spec("point", True), _observer(0.02, 20, 5), batch_shape=(20,))
    assert np.all(point.end_iteration == 30)


def test_early_stop_iter8_round_trip() -> None:
    spec = _spec("sequential", True)
    doc = cs.spec_to_iter8(spec)
    assert doc["spec"]["trafficControl"]["earlyStop"] is True
    assert cs.spec_from_iter8(doc) == spec
    plain = cs.spec_to_iter8(_spec("sequential", False))
    assert "earlyStop" not in plain["spec"]["trafficControl"]
    doc["spec"]["trafficControl"]["earlyStop"] = "yes"
    with pytest.raises(SpecError, match="earlyStop"):
        cs.spec_from_iter8(doc)


@pytest.mark.parametrize("name", [
    "canarystats.methods.sequential",
    "canarystats.stats.mixtures",
    "canarystats.stats.confidence_sequences",
    "canarystats.stats.rate_ratio",
    "canarystats.stats.sample_ratio",
    "canarystats.stats.quantiles",
])
def test_module_doctests(name: str) -> None:
    import doctest
    import importlib

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_benchmark_quick_runs_and_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run_benchmark("bench_sequential.py", ["--quick"])
    out = capsys.readouterr().out
    assert "ratio (reference / canarystats):" in out
    assert figures["max_diff"] <= 1e-9


# --------------------------------------------------------------------------- point processes, mSPRT, SRM

# baseline errors, candidate errors, candidate share of the interval's requests
# (tests/reference/sequential_mpmath.py, PP_CASE)
PP_CASE = [(20, 1, 0.02), (18, 3, 0.1), (15, 9, 0.3), (9, 14, 0.5), (11, 13, 0.5)]


def _pp_arrays(case: list[tuple[int, int, float]]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ev = np.cumsum([[y, x] for y, x, _ in case], axis=0).astype(np.float64)
    ex = np.cumsum([[1 - w, w] for _, _, w in case], axis=0)
    return ev, ex


def test_point_process_against_mpmath() -> None:
    # python tests/reference/sequential_mpmath.py -> point_process(PP_CASE, 1.2) = -0.936198695678387
    ev, ex = _pp_arrays(PP_CASE)
    r = cs.rate_ratio_test(ev, ex, ratio=1.2)
    assert r.log_e[-1] == pytest.approx(-0.936198695678387, abs=1e-12)


def test_msprt_two_sample_against_mpmath() -> None:
    # python tests/reference/sequential_mpmath.py -> msprt_two_sample(0.3, 0.02, 0.1) = 0.979120265385972
    assert cs.msprt_two_sample(0.3, 0.02, 0.1, confidence_level=0.95)[0] == pytest.approx(0.979120265385972, abs=1e-12)
    # python tests/reference/sequential_mpmath.py -> msprt_two_sample(-0.01, 3e-5, 1e-4) = 0.548882747654569
    ll, lo, hi = cs.msprt_two_sample(-0.01, 3e-5, 1e-4, confidence_level=0.95)
    assert ll == pytest.approx(0.548882747654569, abs=1e-12)
    # the interval's ends are where Lambda = 1/alpha
    for end in (lo, hi):
        assert cs.msprt_two_sample(-0.01, 3e-5, 1e-4, confidence_level=0.95, theta0=end)[0] == pytest.approx(
            np.log(20.0), abs=1e-9)


def test_point_process_with_constant_allocation_is_lindon_malek() -> None:
    """A constant allocation gives the Dirichlet-multinomial Bayes factor (savvi's test)."""
    rng = np.random.default_rng(11)
    inc = rng.multinomial(30, [0.7, 0.3], size=(4, 25)).astype(np.float64)
    ev = np.cumsum(inc, axis=1)
    ex = np.cumsum(np.tile([0.7, 0.3], (4, 25, 1)), axis=1)
    for ratio in (1.0, 1.3):
        pi = 0.3 * ratio / (0.7 + 0.3 * ratio)
        r = cs.rate_ratio_test(ev, ex, ratio=ratio)
        np.testing.assert_allclose(r.log_e, cs.multinomial_log_e(ev, [1 - pi, pi]), atol=1e-10)
    # savvi 0.3.1's InhomogeneousPoissonProcess(rho=[0.5, 0.5]) p-values == multinomial_pvalue
    # (docstring example): the same numbers through the point-process function
    r = cs.rate_ratio_test([[10, 10], [50, 20], [200, 60]], [[1, 1], [2, 2], [3, 3]])
    np.testing.assert_allclose(r.pvalue, cs.multinomial_pvalue([[10, 10], [50, 20], [200, 60]],
                                                               [0.5, 0.5]), rtol=1e-12)


@given(st.floats(0.01, 0.99), st.integers(1, 60), st.floats(0.3, 3.0), st.floats(0.5, 50.0),
       st.floats(0.5, 50.0), st.floats(0.01, 0.99))
def test_point_process_factor_has_expectation_one_under_the_null(
    w: float, m: int, ratio: float, a: float, b: float, alloc: float
) -> None:
    """Each interval's predictive ratio averages to 1 under the null, whatever the state."""
    from canarystats.stats.rate_ratio import point_process_step as _pp_step

    x = np.arange(m + 1.0)
    pi0 = w * ratio / (1 - w + w * ratio)
    full = np.ones_like(x)
    _, _, _, log_f, _ = _pp_step(a * full, b * full, alloc * full, x, m - x, w * full,
                                 ratio * full, 100.0)
    assert float(np.sum(stats.binom.pmf(x, m, pi0) * np.exp(log_f))) == pytest.approx(1.0, rel=1e-9)


@given(st.data())
def test_point_process_batched_equals_loop_and_recursive_method(data: st.DataObject) -> None:
    n_batch, n_looks = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6))
    inc_n = data.draw(hnp.arrays(np.float64, (n_batch, n_looks, 2),
                                 elements=st.integers(0, 300).map(float)))
    frac = data.draw(hnp.arrays(np.float64, (n_batch, n_looks, 2), elements=st.floats(0, 0.3)))
    n = np.cumsum(inc_n, axis=1)
    e = np.cumsum(np.floor(inc_n * frac), axis=1)
    r = cs.rate_ratio_test(e, n, ratio=1.2)
    assert np.all((r.pvalue >= 0) & (r.pvalue <= 1))
    assert np.all(np.diff(r.pvalue, axis=-1) <= 0)
    for i in range(n_batch):
        np.testing.assert_array_equal(cs.rate_ratio_test(e[i], n[i], ratio=1.2).log_e, r.log_e[i])
    # the criterion's state, updated look by look, carries the same e-value at the margin
    crit = Criterion(metric="m", tolerance_type="delta", tolerance=0.2, method="sequential",
                     confidence=0.9, options={"sequential_test": "point_process"})
    method = SequentialMethod()
    state = method.init(crit, (n_batch,))
    for k in range(n_looks):
        with np.errstate(invalid="ignore", divide="ignore"):
            obs = Observations(count=n[:, k], value=e[:, k] / n[:, k], successes=e[:, k])
        state, *_ = method.update(crit, state, obs)
        np.testing.assert_allclose(state.evidence[:, 0], r.log_e[:, k], rtol=1e-12, atol=1e-12)


def test_rate_ratio_confidence_sequence() -> None:
    rng = np.random.default_rng(12)
    share = np.linspace(0.05, 0.5, 30)
    req = np.stack([1000 * (1 - share), 1000 * share], axis=-1).round()
    err = rng.binomial(req.astype(np.int64), [0.05, 0.05]).astype(np.float64)
    r = cs.rate_ratio_test(np.cumsum(err, 0), np.cumsum(req, 0))
    lo, hi = r.confidence_sequence(0.95)
    assert np.all(np.diff(lo) >= 0)  # nested
    assert np.all(np.diff(hi) <= 0)
    assert lo[-1] < 1.0 < hi[-1]
    assert lo[-1] > 0.5
    assert hi[-1] < 2.0
    # a batch gives each stream's sequence
    lo2, hi2 = cs.rate_ratio_test(np.cumsum(np.stack([err, err]), 1),
                                  np.cumsum(np.stack([req, req]), 1)).confidence_sequence(0.95)
    np.testing.assert_array_equal(lo2[1], lo)
    np.testing.assert_array_equal(hi2[0], hi)


def _run_crit(criterion: Criterion, n: NDArray[np.float64], e: NDArray[np.float64]) -> NDArray[np.int8]:
    return _run_method(criterion, _rate_obs(n, e))


@pytest.mark.parametrize("test", ["point_process", "msprt"])
def test_two_sample_rate_tests_calibrated_at_the_margin_with_changing_allocation(test: str) -> None:
    """Baseline 0.05, candidate 0.06 = 1.2 x baseline (on the margin), candidate share 2 % -> 50 %.

    2,000 streams x 100 looks (2,000 requests a look); each error <= 0.0646. Observed (seed 2):
    point_process false PASS 0.0125 / false FAIL 0.0055; msprt 0.0175 / 0.0040 (its burn-in:
    30 requests and 30 events and non-events per version). Power (seeds 3/4; 0.10 and 0.03
    against 0.05): every stream decides by look 100; median first FAIL / PASS at look 7 / 7
    (point_process), 8 / 12 (msprt), against 11 / 12 for the per-version Beta sequences.
    """
    rng = np.random.default_rng(2)
    cand = np.linspace(40.0, 1000.0, N_LOOKS).round()
    per_look = np.stack([2000.0 - cand, cand], axis=-1)
    n, e = _rate_streams(rng, (0.05, 0.06), per_look)
    crit = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                     method="sequential", confidence=1 - ALPHA, options={"sequential_test": test})
    v = _run_crit(crit, n, e)
    assert _ever(v, Verdict.PASS) <= BOUND
    assert _ever(v, Verdict.FAIL) <= BOUND
    n, e = _rate_streams(np.random.default_rng(3), (0.05, 0.10), per_look)
    assert np.mean(_run_crit(crit, n, e)[-1] == Verdict.FAIL) >= 0.99
    n, e = _rate_streams(np.random.default_rng(4), (0.05, 0.03), per_look)
    assert np.mean(_run_crit(crit, n, e)[-1] == Verdict.PASS) >= 0.99


def test_msprt_means_calibrated_at_the_margin() -> None:
    """Plug-in two-sample Gaussian mSPRT on the contrast mean_c - 1.2 mean_b (burn-in 30).

    2,000 streams x 100 looks x 20 samples per version per look, sd 0.3. Observed (seed 4):
    false PASS 0.008, false FAIL 0.0085 (bound 0.0646); candidate 10 % faster (seed 5) PASSes in
    all streams, median look 3; 40 % slower (seed 6) FAILs in all, median look 5.
    """
    crit = Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.2,
                     method="sequential", confidence=1 - ALPHA, options={"sequential_test": "msprt"})
    v = _run_method(crit, _mean_obs(np.random.default_rng(4), (1.0, 1.2), 0.3, 20, N_STREAMS))
    assert _ever(v, Verdict.PASS) <= BOUND
    assert _ever(v, Verdict.FAIL) <= BOUND
    v = _run_method(crit, _mean_obs(np.random.default_rng(5), (1.0, 0.9), 0.3, 20, 500))
    assert np.mean(v[-1] == Verdict.PASS) >= 0.99


def test_srm_calibrated_under_a_changing_split_and_detects_a_broken_router() -> None:
    """Intended candidate share 2 % -> 50 % over 100 looks, 300 requests a look, 2,000 streams.

    Router correct: mismatch declared (p <= 0.05 at some look) in 0.021 (seed 7; bound 0.0646).
    Router giving the candidate 0.9 x its odds: detected in all streams (median look 36).
    """
    rng = np.random.default_rng(7)
    share = np.linspace(2.0, 50.0, N_LOOKS)
    intended = np.broadcast_to(np.stack([100 - share, share], axis=-1), (N_STREAMS, N_LOOKS, 2))
    for bias, expect_null in ((1.0, True), (0.9, False)):
        p = share * bias / (100 - share + share * bias)
        cand = rng.binomial(300, np.broadcast_to(p, (N_STREAMS, N_LOOKS)))
        req = np.cumsum(np.stack([300 - cand, cand], axis=-1).astype(np.float64), axis=1)
        r = cs.srm_test(req, intended)
        rate = float(np.mean(r.pvalue[:, -1] <= ALPHA))
        if expect_null:
            assert rate <= BOUND
        else:
            assert rate >= 0.99
    # the guard (criterion-like, look by look) gives the same p-values on the same data
    guard = cs.SampleRatioGuard(confidence=1 - ALPHA)
    state = guard.init((N_STREAMS,))
    for k in range(N_LOOKS):
        state, verdict, reason, abort = guard.update(state, req[:, k], intended[:, k])
    np.testing.assert_allclose(state.pvalue, r.pvalue[:, -1], rtol=1e-9, atol=1e-300)
    assert np.array_equal(abort, verdict == Verdict.FAIL)
    assert np.all(reason == Reason.OK)


def test_srm_guard_bad_data_and_configuration() -> None:
    guard = cs.SampleRatioGuard()
    state = guard.init((3,))
    state, verdict, reason, abort = guard.update(
        state, [[100.0, 10.0], [np.nan, 5.0], [50.0, 50.0]], [[90.0, 10.0], [90, 10], [-1, 2]])
    assert verdict.tolist() == [Verdict.PASS, Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE]
    assert reason.tolist() == [Reason.OK, Reason.MISSING_VALUE, Reason.BAD_DATA]
    assert not abort.any()
    # a decreasing cumulative count is bad data; the state is kept
    state2, _, reason, _ = guard.update(state, [[50.0, 5.0], [1, 1], [60, 60]], [[90, 10]] * 3)
    assert reason[0] == Reason.BAD_DATA
    assert state2.count[0].tolist() == [100.0, 10.0]
    with pytest.raises(SpecError, match="`confidence` must be in"):
        cs.SampleRatioGuard(confidence=1.5)
    with pytest.raises(SpecError, match=r"`requests` must have shape"):
        guard.update(guard.init(()), [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])


def test_sequential_test_option_errors() -> None:
    obs = Observations(count=[100.0, 100.0], value=[0.1, 0.1], sum=[10.0, 10.0],
                       sumsq=[2.0, 2.0])
    with pytest.raises(SpecError, match="`sequential_test` must be one of"):
        evaluate_criterion(Criterion(metric="m", tolerance_type="delta", tolerance=0.2,
                                     method="sequential", options={"sequential_test": "x"}), obs)
    with pytest.raises(SpecError, match="needs `tolerance_type` 'delta'"):
        evaluate_criterion(Criterion(metric="m", tolerance_type="threshold", tolerance=0.2,
                                     method="sequential", options={"sequential_test": "msprt"}),
                           obs)
    with pytest.raises(SpecError, match="judges event counts"):
        evaluate_criterion(Criterion(metric="m", tolerance_type="delta", tolerance=0.2,
                                     method="sequential",
                                     options={"sequential_test": "point_process"}), obs)


@pytest.mark.parametrize("method", ["sequential", "fixed", "group_sequential"])
def test_a_mean_without_sums_of_squares_names_the_missing_field(method: str) -> None:
    # Istio gives a mean latency's `sum` and `count` but no `sumsq`: the observation looks
    # complete, so the warning must say which field these methods lack.
    crit = cs.Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                        method=method, sample_size=10,
                        **({"options": {"looks": 3}} if method == "group_sequential" else {}))
    obs = cs.Observations(count=[100.0, 100.0], value=[0.1, 0.1], sum=[10.0, 10.0])
    with pytest.warns(cs.InsufficientDataWarning, match=r"no `sumsq`.*Istio records no sums"):
        result = cs.evaluate_criterion(crit, obs)
    assert (result.verdict, result.reason) == (cs.Verdict.INCONCLUSIVE, cs.Reason.MISSING_VALUE)
    value_only = cs.Observations(count=[100.0, 100.0], value=[0.1, 0.1])
    with pytest.warns(cs.InsufficientDataWarning, match=r"no `sum` and `sumsq`"):
        cs.evaluate_criterion(crit, value_only)
