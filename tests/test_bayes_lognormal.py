"""method="bayes" with ``Criterion.model="lognormal"``: log-normal latencies judged on their mean.

References: the threshold probability against 30-digit mpmath integration over the variance
(computed here, ``_mpmath_threshold``); the two-version probability against the values of
``scipy.integrate.dblquad`` (epsabs 1e-13, epsrel 1e-12, in ``log chi^2`` coordinates, windows
between the 1e-16 quantiles) listed with their calls in ``DBLQUAD``, and against the exact
reduction to one version when the other's log-variance is 0; calibration by a seeded
simulation of bucketed log-normal latencies.
"""

from __future__ import annotations

import mpmath as mp  # type: ignore[import-untyped]
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from canarystats.adapters.iter8 import spec_from_iter8, spec_to_iter8
from canarystats.methods.bayes import posterior_prob
from canarystats.stats.lognormal import (
    histogram_log_moments,
    prob_lognormal_mean_le,
    prob_lognormal_ratio_le,
)

# geometric buckets, log-width 0.1, from e^-6 to e^6, then +inf
BOUNDS = np.append(np.exp(np.arange(-60, 61) * 0.1), np.inf)


def _mpmath_threshold(n: float, m: float, v: float, b: float) -> float:
    """P(exp(mu + sigma^2/2) <= b): E over T = log X, X ~ chi^2_{n-1}, of a normal CDF (30 digits)."""
    mp.mp.dps = 30
    n_, m_, v_, log_b = mp.mpf(n), mp.mpf(m), mp.mpf(v), mp.log(mp.mpf(b))
    nu = n_ - 1
    log_norm = nu / 2 * mp.log(2) + mp.loggamma(nu / 2)

    def f(t: mp.mpf) -> mp.mpf:
        log_dens = nu / 2 * t - mp.exp(t) / 2 - log_norm
        if log_dens < -200:
            return mp.mpf(0)
        sig2 = nu * v_ * mp.exp(-t)
        return mp.exp(log_dens) * mp.ncdf((log_b - m_ - sig2 / 2) / mp.sqrt(sig2 / n_))

    mode, sd = mp.log(nu), mp.sqrt(mp.psi(1, nu / 2))
    return float(mp.quad(f, [mode + sd * k for k in range(-60, 21)]))


@pytest.mark.parametrize(("n", "m", "v"), [(2, -3.0, 0.05), (10, 0.0, 1.0), (1e3, 1.0, 2.5),
                                            (1e7, -3.0, 0.05)])
def test_threshold_against_mpmath(n: float, m: float, v: float) -> None:
    mean = np.exp(m + v / 2)
    for b in (0.8 * mean, mean, 1.05 * mean):
        assert abs(prob_lognormal_mean_le(n, m, v, b) - _mpmath_threshold(n, m, v, b)) <= 1e-9


# (call, scipy.integrate.dblquad value; its own error estimate <= 3.2e-12)
DBLQUAD = [
    ((5, 0.1, 0.5, 40, 0.0, 0.3, 1.2), 0.41979933136963454),
    ((100, 0.2, 1.0, 120, 0.0, 1.2, 1.1), 0.4889281252602393),
    ((1000, 0.0, 0.8, 1000, -0.05, 0.9, 1.05), 0.8392854356156623),
    ((3, -2.0, 2.0, 1e4, -2.0, 0.1, 2.0), 0.29950616324281615),
    ((10, 0.0, 3.0, 10, 0.0, 3.0, 1.5), 0.6165168597646844),
    ((5, 0.0, 1.0, 5, 0.0, 1.0, 1.1), 0.5394109915802295),
]


def test_ratio_against_dblquad_and_exact_reductions() -> None:
    for call, want in DBLQUAD:
        assert abs(prob_lognormal_ratio_le(*call) - want) <= 1e-10, call
    # baseline log-variance 0: its mean is exp(m_y) exactly, a threshold for the candidate
    got = prob_lognormal_ratio_le(50, 0.1, 0.7, 80, 0.3, 0.0, [0.9, 1.0, 1.3])
    want = prob_lognormal_mean_le(50, 0.1, 0.7, np.array([0.9, 1.0, 1.3]) * np.exp(0.3))
    np.testing.assert_allclose(got, want, atol=1e-12)
    # complements at k = 1
    p = prob_lognormal_ratio_le(30, 0.2, 0.9, 70, 0.1, 1.4)
    assert abs(p + prob_lognormal_ratio_le(70, 0.1, 1.4, 30, 0.2, 0.9) - 1.0) <= 1e-10
    assert np.isnan(prob_lognormal_ratio_le(1, 0.0, 1.0, 10, 0.0, 1.0))
    assert prob_lognormal_mean_le(10, 0.0, 1.0, 0.0) == 0.0


lognormal_rows = st.tuples(
    st.sampled_from([2.0, 3.0, 7.0, 50.0, 1e3, 1e6]), st.floats(-3, 3), st.floats(0.0, 4.0),
    st.sampled_from([2.0, 10.0, 400.0, 1e5]), st.floats(-3, 3), st.floats(0.01, 4.0),
    st.sampled_from([0.8, 1.0, 1.1, 2.0]),
)


@settings(max_examples=15, deadline=None)
@given(st.lists(lognormal_rows, min_size=1, max_size=4))
def test_vectorized_equals_loop(rows: list[tuple[float, ...]]) -> None:
    arr = np.array(rows).T
    ratio = prob_lognormal_ratio_le(*arr)
    thr = prob_lognormal_mean_le(arr[0], arr[1], arr[2], arr[6] * np.exp(arr[4]))
    for j, row in enumerate(rows):
        assert prob_lognormal_ratio_le(*row) == ratio[j]
        assert prob_lognormal_mean_le(row[0], row[1], row[2], row[6] * np.exp(row[4])) == thr[j]
    assert np.all((ratio >= 0) & (ratio <= 1) & (thr >= 0) & (thr <= 1))


def test_histogram_log_moments_first_and_overflow_buckets() -> None:
    bounds = [0.0, 1.0, 2.0, 4.0, np.inf]
    # (0, 1] stands for (1/2, 1], (4, inf) for (4, 8]: log-midpoints log(1/sqrt2), log(4 sqrt2)
    n, m, v, bad = histogram_log_moments([[0, 3, 0, 0, 0], [0, 0, 0, 0, 2]], bounds)
    np.testing.assert_allclose(m, [np.log(2**-0.5), np.log(4 * 2**0.5)], rtol=1e-15)
    assert n.tolist() == [3.0, 2.0]
    assert v.tolist() == [0.0, 0.0]
    assert not bad.any()
    # counts at or below 0 are impossible for a log-normal; one value has no variance
    n, m, v, bad = histogram_log_moments([[1, 3, 0, 0, 0], [0, 1, 0, 0, 0]], bounds)
    assert bad.tolist() == [True, False]
    assert np.isnan(v[1])
    with pytest.raises(SpecError, match="at least two finite positive bucket bounds"):
        histogram_log_moments([1, 2, 3], [-1.0, 1.0, np.inf])


def _histograms(rng: np.random.Generator, streams: int, n: int, mus: list[float],
                sigma: float) -> Observations:
    y = np.exp(rng.normal(np.asarray(mus)[None, :, None], sigma, (streams, 2, n)))
    nb = BOUNDS.size
    index = np.searchsorted(BOUNDS, y).reshape(streams * 2, n)  # bucket i = (b_{i-1}, b_i]
    flat = (np.arange(streams * 2)[:, None] * nb + index).ravel()
    counts = np.bincount(flat, minlength=streams * 2 * nb).reshape(streams, 2, nb)
    return Observations(count=np.full((streams, 2), float(n)), value=y.mean(axis=-1),
                        buckets=counts.astype(float), bucket_bounds=BOUNDS)


def _latency(model: str | None, tolerance_type: str = "threshold", *,
             tolerance: float = float(np.exp(0.5)), sample_size: float = 0.0,
             direction: str = "lower") -> Criterion:
    return Criterion(metric="iter8_latency", tolerance_type=tolerance_type, tolerance=tolerance,
                     method="bayes", options={"model": model}, sample_size=sample_size,
                     confidence=0.95,
                     direction=direction)


def test_calibration_on_the_threshold_and_the_normal_treatments_bias() -> None:
    # log Y ~ N(0, 1): mean latency e^{1/2}, exactly the threshold; n = 50 per stream, one look,
    # 20,000 streams, geometric buckets of log-width 0.1 (the same observations for both models)
    streams = 20_000
    obs = _histograms(np.random.default_rng(20240502), streams, 50, [0.0, 0.0], 1.0)
    se = np.sqrt(0.05 * 0.95 / streams)  # 0.0015
    lognormal = float(np.mean(cs.evaluate_criterion(_latency("lognormal"), obs).verdict
                              == Verdict.PASS))
    assert abs(lognormal - 0.05) <= 3 * se  # measured 0.0489
    # the t posterior around the sample mean ignores the skew: a low mean comes with a low
    # spread, so its false-PASS rate is far above 1 - c (measured 0.135)
    normal = float(np.mean(cs.evaluate_criterion(_latency(None), obs).verdict == Verdict.PASS))
    assert normal > lognormal + 3 * np.sqrt(2) * np.sqrt(normal * (1 - normal) / streams)


def test_delta_and_verdicts_through_the_method() -> None:
    obs = _histograms(np.random.default_rng(1), 3, 400, [0.0, 0.0], 0.8)
    c = _latency("lognormal", "delta", tolerance=0.2)
    r = cs.evaluate_criterion(c, obs)
    assert obs.buckets is not None
    n, m, v, _ = histogram_log_moments(obs.buckets, BOUNDS)
    want = prob_lognormal_ratio_le(n[:, 1], m[:, 1], v[:, 1], n[:, 0], m[:, 0], v[:, 0], 1.2)
    np.testing.assert_array_equal(r.state.prob, want)
    np.testing.assert_array_equal(r.state.df, n - 1)
    np.testing.assert_allclose(r.state.scale, np.sqrt(v))
    higher = cs.evaluate_criterion(_latency("lognormal", direction="higher", tolerance=1.0), obs)
    thr = prob_lognormal_mean_le(n[:, 1], m[:, 1], v[:, 1], 1.0)
    np.testing.assert_allclose(higher.state.prob, 1.0 - thr, atol=1e-15)
    # one value (no variance) and a count in a non-positive bucket are bad data
    bounds = np.array([0.0, 1.0, 2.0, np.inf])
    bad_obs = Observations(count=[[5.0, 1.0], [5.0, 5.0]], value=[[1.0, 1.0], [1.0, 1.0]],
                           buckets=[[[0, 2, 3, 0], [0, 1, 0, 0]], [[0, 2, 3, 0], [1, 2, 2, 0]]],
                           bucket_bounds=bounds)
    with pytest.warns(InsufficientDataWarning):
        r = cs.evaluate_criterion(_latency("lognormal"), bad_obs)
    assert r.reason.tolist() == [Reason.BAD_DATA, Reason.BAD_DATA]


def test_configuration_errors() -> None:
    no_buckets = Observations(count=[50.0, 50.0], value=[1.0, 1.1], sum=[50.0, 55.0],
                              sumsq=[60.0, 70.0])
    with pytest.raises(SpecError, match=r"`model` 'lognormal'.*needs.*`buckets`"):
        cs.evaluate_criterion(_latency("lognormal"), no_buckets)
    rate = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
                     method="bayes", options={"model": "normal"})
    with pytest.raises(SpecError, match=r"`model` 'normal' selects the model of a mean metric"):
        posterior_prob(rate, Observations(count=[9.0, 9.0], value=[0.1, 0.1],
                                          successes=[1.0, 1.0]))
    with pytest.raises(SpecError, match=r"`model` must be one of \['normal', 'lognormal'\]"):
        Criterion(metric="m", tolerance_type="threshold", tolerance=1.0, method="bayes",
                  options={"model": "gamma"})
    with pytest.raises(SpecError, match=r"`options` of method 'point': unknown option 'model'"):
        Criterion(metric="m", tolerance_type="threshold", tolerance=1.0,
                  options={"model": "lognormal"})
    # the routing strategies draw from t / normal posteriors only: they refuse, not substitute
    spec = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c",
                          traffic_control=TrafficControl(strategy="posterior_bayesian_routing"),
                          criteria=[_latency("lognormal", sample_size=5)])
    obs = _histograms(np.random.default_rng(2), 1, 20, [0.0, 0.0], 1.0)
    with pytest.raises(SpecError, match=r"routing strategies .* no log-normal draws"):
        cs.step(spec, cs.initial_state(spec, (1,)), {"iter8_latency": obs})


def test_iter8_loader_round_trip() -> None:
    doc = {
        "apiVersion": "iter8.tools/v1alpha1", "kind": "Experiment", "metadata": {"name": "x"},
        "spec": {
            "targetService": {"name": "s", "baseline": "b", "candidate": "c"},
            "analysis": {"successCriteria": [
                {"metricName": "iter8_latency", "toleranceType": "threshold", "tolerance": 0.3,
                 "method": "bayes", "model": "lognormal"},
                {"metricName": "iter8_latency", "toleranceType": "delta", "tolerance": 0.1,
                 "method": "bayes", "model": None, "scale": 0.05},
            ]},
        },
    }
    spec = spec_from_iter8(doc)
    assert [c.options.model for c in spec.criteria] == ["lognormal", None]
    back = spec_to_iter8(spec)
    criteria = back["spec"]["analysis"]["successCriteria"]
    assert criteria[0]["model"] == "lognormal"
    assert "model" not in criteria[1]  # the default is not written
    assert spec_from_iter8(back) == spec
    doc["spec"]["analysis"]["successCriteria"][0]["model"] = "weibull"  # type: ignore[index]
    with pytest.raises(SpecError, match=r"`spec.analysis.successCriteria\[0\].model` must be"):
        spec_from_iter8(doc)
