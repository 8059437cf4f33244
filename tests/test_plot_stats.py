"""Plots of the statistics (canarystats.plot): posteriors, p-value paths, rank judge, tuning.

Each test checks that the figure holds the artists expected and that what they draw is what
the statistics functions return.
"""

from __future__ import annotations

import attrs
import matplotlib  # the test extra installs it: never skipped
import numpy as np
import pandas as pd
import pytest
from scipy import stats

matplotlib.use("Agg")

from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import canarystats as cs  # noqa: E402
from canarystats.data.make_rollouts import tutorial_spec  # noqa: E402
from canarystats.plot import (  # noqa: E402
    plot_operating_characteristics,
    plot_pareto_front,
    plot_posterior_probability,
    plot_posteriors,
    plot_pvalue_paths,
    plot_rank_summary,
)


def _lines(ax) -> dict[str, object]:
    return {line.get_label(): line for line in ax.get_lines()}


def _scatters(ax) -> dict[str, PathCollection]:
    return {c.get_label(): c for c in ax.collections if isinstance(c, PathCollection)}


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --------------------------------------------------------------------------- posteriors


RATE_DELTA = cs.Criterion(
    metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2, method="bayes",
    sample_size=100, confidence=0.95,
)
RATE_OBS = cs.Observations(count=[4000.0, 1000.0], value=[0.02, 0.015], successes=[80.0, 15.0])


def test_posteriors_rate_delta_draws_the_beta_posteriors_and_the_margin():
    fig = plot_posteriors(RATE_DELTA, RATE_OBS)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    lines = _lines(ax)
    assert list(lines) == ["baseline", "candidate", "margin 1.2 × baseline"]
    a, b = cs.beta_posterior([80.0, 15.0], [4000.0, 1000.0])  # Jeffreys' prior
    for v, name in enumerate(("baseline", "candidate")):
        x, y = (np.asarray(d) for d in lines[name].get_data())
        np.testing.assert_allclose(y, stats.beta.pdf(x, a[v], b[v]), rtol=1e-12)
        assert np.trapezoid(y, x) == pytest.approx(1.0, abs=2e-3)
        # drawn between the 1e-4 and 1 - 1e-4 quantiles (and over the other curves' ranges)
        assert stats.beta.cdf(x.min(), a[v], b[v]) <= 1e-4
        assert stats.beta.sf(x.max(), a[v], b[v]) <= 1e-4
    x, y = (np.asarray(d) for d in lines["margin 1.2 × baseline"].get_data())
    np.testing.assert_allclose(y, stats.beta.pdf(x / 1.2, a[0], b[0]) / 1.2, rtol=1e-12)
    prob = cs.posterior_prob(RATE_DELTA, RATE_OBS)
    assert ax.get_title() == (
        f"iter8_error_rate: P(H | data) = {prob:.4g} → PASS\n"
        "H: candidate ≤ 1.2 × baseline, confidence 0.95"
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("iter8_error_rate", "posterior density")
    assert 0.0 <= ax.get_xlim()[0] <= x.min()  # a rate is not negative


def test_posteriors_mean_threshold_from_a_replay():
    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    crit = attrs.evolve(spec.resolved_criteria()[0], method="bayes")
    result = cs.replay(spec, cs.data.load_rollout("promoted"))
    obs = result.run.observations[3]["iter8_latency"]
    fig = plot_posteriors(crit, obs, labels=("v1", "v2"))
    (ax,) = fig.axes
    lines = _lines(ax)
    assert list(lines) == ["v1", "v2", "threshold 0.2"]
    assert lines["threshold 0.2"].get_xdata()[0] == pytest.approx(0.2)
    state, *_ = cs.BayesMethod().update(crit, cs.BayesMethod().init(crit, ()), obs)
    x, y = (np.asarray(d) for d in lines["v2"].get_data())
    np.testing.assert_allclose(y, stats.t.pdf(x, state.df[1], state.loc[1], state.scale[1]),
                               rtol=1e-12)
    assert x[np.argmax(y)] == pytest.approx(state.loc[1], rel=1e-3)
    assert ax.get_title().startswith("iter8_latency: P(H | data) = 1 → PASS\nH: candidate ≤ 0.2")
    assert ax.get_xlim()[1] > 0.2  # the threshold is in view


def test_posteriors_lognormal_mean_and_missing_confidence():
    bounds = np.array([0.05, 0.1, 0.2, 0.4, 0.8, np.inf])
    buckets = np.array([[10.0, 40.0, 35.0, 12.0, 3.0, 0.0], [5.0, 30.0, 40.0, 20.0, 5.0, 0.0]])
    obs = cs.Observations(count=buckets.sum(-1), value=[0.17, 0.22], buckets=buckets,
                          bucket_bounds=bounds)
    crit = cs.Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.3,
                        method="bayes", options={"model": "lognormal"},
                        sample_size=10)
    assert crit.confidence is None  # takes the traffic control's default, 0.95
    fig = plot_posteriors(crit, obs)
    (ax,) = fig.axes
    lines = _lines(ax)
    x, y = (np.asarray(d) for d in lines["candidate"].get_data())
    assert np.trapezoid(y, x) == pytest.approx(1.0, abs=5e-3)
    n, m, v, _ = cs.stats.lognormal.histogram_log_moments(buckets, bounds)
    # the density's CDF is the posterior probability of the log-normal mean
    cdf = np.concatenate([[0.0], np.cumsum(np.diff(x) * (y[1:] + y[:-1]) / 2)])
    at = np.searchsorted(x, 0.25)
    expected = cs.stats.lognormal.prob_lognormal_mean_le(n[1], m[1], v[1], x[at])
    assert cdf[at] == pytest.approx(expected, abs=5e-3)
    assert ax.get_title().endswith("H: candidate ≤ 0.3, confidence 0.95")


def test_posteriors_point_mass_and_missing_version():
    crit = cs.Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.1,
                        method="bayes", sample_size=1, confidence=0.9)
    # every request took the same time: a posterior with zero spread (drawn as a point mass;
    # a zero variance is never the basis of a verdict: an insufficient sample)
    obs = cs.Observations(count=[50.0, 40.0], value=[0.5, 0.5], sum=[25.0, 20.0],
                          sumsq=[12.5, 10.0])
    fig = plot_posteriors(crit, obs)
    lines = _lines(fig.axes[0])
    assert lines["baseline"].get_xdata()[0] == 0.5  # vertical lines
    assert lines["margin 1.1 × baseline"].get_xdata()[0] == pytest.approx(0.55)
    assert "P(H | data) undefined (INSUFFICIENT_SAMPLE) → INCONCLUSIVE" in fig.axes[0].get_title()
    # a candidate without requests has no posterior: only the baseline is drawn
    obs = cs.Observations(count=[50.0, 0.0], value=[0.1, np.nan], sum=[5.0, 0.0],
                          sumsq=[0.6, 0.0])
    crit = attrs.evolve(crit, tolerance_type="threshold", tolerance=0.2)
    fig = plot_posteriors(crit, obs)
    assert list(_lines(fig.axes[0])) == ["baseline", "threshold 0.2"]
    assert "undefined (INSUFFICIENT_SAMPLE) → INCONCLUSIVE" in fig.axes[0].get_title()


def test_posteriors_errors():
    batch = cs.Observations(count=[[10.0, 10.0]] * 2, value=[[0.1, 0.1]] * 2,
                            successes=[[1.0, 1.0]] * 2)
    with pytest.raises(cs.SpecError, match=r"`observations` must be one assessment .* \(2,\)"):
        plot_posteriors(RATE_DELTA, batch)
    with pytest.raises(cs.SpecError, match="`observations` must be an Observations, got dict"):
        plot_posteriors(RATE_DELTA, {})
    with pytest.raises(cs.SpecError, match="`criterion` must be a Criterion, got str"):
        plot_posteriors("iter8_latency", RATE_OBS)
    with pytest.raises(cs.SpecError, match="`labels` must name the two versions"):
        plot_posteriors(RATE_DELTA, RATE_OBS, labels=("a",))
    grid = attrs.evolve(RATE_DELTA, tolerance=np.array([0.1, 0.2]))
    with pytest.raises(cs.SpecError, match="scalar `tolerance`"):
        plot_posteriors(grid, RATE_OBS)
    counter = cs.Criterion(metric="iter8_error_count", tolerance_type="threshold", tolerance=5,
                           confidence=0.95)
    with pytest.raises(cs.SpecError, match="counter metric"):
        plot_posteriors(counter, RATE_OBS)


# --------------------------------------------------------------------------- P(H) over looks


@pytest.fixture(scope="module")
def bayes_replay():
    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    errors = cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                          method="bayes", sample_size=100)
    threshold = attrs.evolve(errors, tolerance_type="threshold", tolerance=0.02)
    spec = attrs.evolve(spec, criteria=(spec.criteria[0], errors, threshold))
    return spec, cs.replay(spec, cs.data.load_rollout("promoted"))


def test_posterior_probability_from_a_replay(bayes_replay):
    spec, result = bayes_replay
    fig = plot_posterior_probability(result, experiment=spec)
    (ax,) = fig.axes
    lines = _lines(ax)
    # the point criterion (latency) has no probability; the two bayes ones each a line
    assert list(lines) == [
        "iter8_error_rate (delta 0.2)", "iter8_error_rate (threshold 0.02)",
        "PASS at P ≥ 0.95", "FAIL at P ≤ 0.05",
    ]
    for i, name in ((1, "iter8_error_rate (delta 0.2)"), (2, "iter8_error_rate (threshold 0.02)")):
        expected = [float(s.method_states[i].prob) for s in result.run.states]
        np.testing.assert_array_equal(lines[name].get_ydata(), expected)
        np.testing.assert_array_equal(lines[name].get_xdata(), np.arange(len(expected)))
    # markers: one per assessment with a probability, styled by its verdict
    tl = result.timeline[result.timeline["criterion"] > 0]
    decided = tl[tl["verdict"] != "INCONCLUSIVE"]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    n_marked = sum(len(c.get_offsets()) for c in scatters)
    n_prob = sum(np.isfinite(lines[n].get_ydata()).sum() for n in list(lines)[:2])
    assert n_marked == n_prob
    assert sum(len(c.get_offsets()) for c in scatters if c.get_label() == "PASS") == len(decided)
    assert lines["PASS at P ≥ 0.95"].get_ydata()[0] == pytest.approx(0.95)
    assert lines["FAIL at P ≤ 0.05"].get_ydata()[0] == pytest.approx(0.05)
    assert ax.get_ylabel() == "P(criterion holds | data)"
    assert "INCONCLUSIVE" in _legend(ax)


def test_posterior_probability_without_experiment_and_from_a_run(bayes_replay):
    spec, result = bayes_replay
    fig = plot_posterior_probability(result)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["iter8_error_rate", "iter8_error_rate"]  # no levels without the spec
    fig = plot_posterior_probability(result.run)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["criterion 1", "criterion 2"]
    given = Figure().subplots()
    assert plot_posterior_probability(result.run, experiment=spec, ax=given) is given.figure


def test_posterior_probability_errors(bayes_replay):
    spec, result = bayes_replay
    point = cs.replay(cs.load_experiment(cs.data.tutorial_experiment_path()),
                      cs.data.load_rollout("promoted"))
    with pytest.raises(cs.SpecError, match="no criterion judged by method 'bayes'"):
        plot_posterior_probability(point)
    with pytest.raises(cs.SpecError, match="`experiment` has criteria on"):
        plot_posterior_probability(result, experiment=attrs.evolve(spec, criteria=spec.criteria[:2]))
    with pytest.raises(cs.SpecError, match="must be a ReplayResult or a RunResult, got DataFrame"):
        plot_posterior_probability(result.timeline)


def test_posterior_probability_batch_run_is_rejected():
    crit = cs.Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
                        method="bayes", sample_size=10)
    spec = cs.ExperimentSpec(name="e", target_service="s", baseline="a", candidate="b",
                             traffic_control=cs.TrafficControl(max_iterations=2), criteria=[crit])

    def observe(k, window, routed):
        n = np.full((3, 2), 100.0 * (k + 1))
        return {"iter8_error_rate": cs.Observations(count=n, value=np.full((3, 2), 0.01),
                                                    successes=n * 0.01)}

    run = cs.run_experiment(spec, observe, batch_shape=(3,))
    with pytest.raises(cs.SpecError, match=r"single run \(batch shape \(\)\), got batch shape \(3,\)"):
        plot_posterior_probability(run)


# --------------------------------------------------------------------------- p-value paths


@pytest.fixture(scope="module")
def aa_streams():
    """A/A error streams: 40 streams, 60 looks of 200 requests per version, 5 % errors."""
    rng = np.random.default_rng(20240601)
    requests = np.cumsum(np.full((40, 60, 2), 200.0), axis=1)
    errors = np.cumsum(rng.binomial(200, 0.05, size=(40, 60, 2)), axis=1).astype(float)
    anytime = cs.rate_ratio_test(errors, requests).pvalue
    naive = cs.rate_test(errors, requests, method="score").pvalue
    return requests[0, :, 1], anytime, naive


def test_pvalue_paths_draw_every_path_and_count_first_crossings(aa_streams):
    n, anytime, naive = aa_streams
    fig = plot_pvalue_paths(n, anytime, naive_pvalue=naive, confidence_level=0.95)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 2 * 40 + 1  # every path, and the α line
    for i in range(40):
        np.testing.assert_array_equal(lines[i].get_ydata(), anytime[i])
        np.testing.assert_array_equal(lines[40 + i].get_ydata(), naive[i])
        np.testing.assert_array_equal(lines[i].get_xdata(), n)
    # anytime-valid p-values never increase along a path
    assert all(np.all(np.diff(line.get_ydata()) <= 0) for line in lines[:40])
    assert lines[-1].get_ydata()[0] == pytest.approx(0.05)
    naive_hits = (naive <= 0.05).any(axis=1)
    any_hits = (anytime <= 0.05).any(axis=1)
    assert naive_hits.sum() > any_hits.sum()  # peeking at fixed-horizon p-values errs more
    scatters = _scatters(ax)
    label = f"fixed-horizon, every look: first p ≤ α ({naive_hits.sum()} of 40)"
    offsets = scatters[label].get_offsets()
    first = np.argmax(naive <= 0.05, axis=1)[naive_hits]
    np.testing.assert_array_equal(offsets[:, 0], n[first])
    np.testing.assert_array_equal(offsets[:, 1], naive[naive_hits, first])
    assert f"anytime-valid: first p ≤ α ({any_hits.sum()} of 40)" in scatters
    assert _legend(ax)[:3] == ["anytime-valid", "fixed-horizon, every look", "α = 0.05"]
    assert ax.get_yscale() == "log"
    assert ax.get_ylim()[1] == pytest.approx(1.5)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("samples", "p-value")


def test_pvalue_paths_one_path_linear_scale():
    p = np.array([1.0, 0.5, 0.04, 0.04, 0.0])
    fig = plot_pvalue_paths([1, 2, 3, 4, 5], p, confidence_level=0.9, yscale="linear", xlabel="look",
                            label="mSPRT")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["mSPRT", "α = 0.1"]
    offsets = _scatters(ax)["mSPRT: first p ≤ α (1 of 1)"].get_offsets()
    np.testing.assert_array_equal(offsets, [[3.0, 0.04]])
    assert ax.get_yscale() == "linear"
    assert ax.get_xlabel() == "look"


def test_pvalue_paths_errors():
    with pytest.raises(cs.SpecError, match=r"`pvalue` must have one value per look \(3 looks"):
        plot_pvalue_paths([1, 2, 3], [0.5, 0.4])
    with pytest.raises(cs.SpecError, match=r"`naive_pvalue` must have the shape of `pvalue`"):
        plot_pvalue_paths([1, 2], [[1.0, 0.5]], naive_pvalue=[[1.0, 0.5], [1.0, 0.2]])
    with pytest.raises(cs.SpecError, match=r"`pvalue` must hold p-values in \[0, 1\], got 1.5"):
        plot_pvalue_paths([1, 2], [1.5, 0.2])
    with pytest.raises(cs.SpecError, match=r"`confidence_level` must lie in \(0, 1\), got 5"):
        plot_pvalue_paths([1, 2], [1.0, 0.2], confidence_level=5)
    with pytest.raises(cs.SpecError, match=r"`yscale` must be one of \['log', 'linear'\], got 'symlog'"):
        plot_pvalue_paths([1, 2], [1.0, 0.2], yscale="symlog")
    with pytest.raises(cs.SpecError, match="`pvalue` must be 1 or 2-dimensional"):
        plot_pvalue_paths([1, 2], np.ones((2, 2, 2)))


# --------------------------------------------------------------------------- rank judge


@pytest.fixture(scope="module")
def judged():
    rng = np.random.default_rng(7)
    baseline = rng.lognormal(np.log([[0.1], [0.02], [0.5]]), 0.5, size=(3, 150))
    candidate = rng.lognormal(np.log([[0.1], [0.03], [0.4]]), 0.5, size=(3, 150))
    candidate[2, 100:] = np.nan  # unequal sizes: NaN padding
    mc = cs.classify_metric(baseline, candidate, direction="either")
    return mc, cs.score_groups(mc.classification, ["latency", "latency", "db"])


def test_rank_summary_draws_each_metric_as_classified(judged):
    mc, score = judged
    assert mc.classification.tolist() == [cs.MetricClass.PASS, cs.MetricClass.HIGH,
                                          cs.MetricClass.LOW]
    fig = plot_rank_summary(mc, names=["p50", "db", "cache"], score=score)
    assert len(fig.axes) == 3
    for i, (ax, cls) in enumerate(zip(fig.axes, ("PASS", "HIGH", "LOW"), strict=True)):
        interval = _lines(ax)["interval"]
        np.testing.assert_allclose(interval.get_xdata(), [mc.ci_low[i], mc.ci_high[i]])
        marker = _scatters(ax)[f"estimate ({cls})"]
        np.testing.assert_allclose(marker.get_offsets()[0], [mc.estimate[i], 0.0])
        (band,) = [p for p in ax.patches if p.get_label() == "tolerance band"]
        assert band.get_x() == pytest.approx(-mc.bound[i])
        assert band.get_x() + band.get_width() == pytest.approx(mc.bound[i])
        title = ax.get_title(loc="left")
        assert title.startswith(f"{cls}: effect {mc.effect[i]:.3g}, p = {mc.pvalue[i]:.2g}")
        assert title.endswith(f"n = {mc.n_baseline[i]} / {mc.n_candidate[i]}")
    assert [ax.get_ylabel() for ax in fig.axes] == ["p50", "db", "cache"]
    assert fig.axes[0].get_title().strip() == "canary score 25: FAIL; groups: latency 50, db 0"
    assert fig.axes[2].get_title(loc="left").endswith("n = 150 / 100")
    assert fig.axes[2].get_xlabel() == "shift of the candidate over the baseline (Hodges-Lehmann)"


def test_rank_summary_one_metric_infinite_bound_nodata_and_critical():
    one = cs.classify_metric(np.array([0.1, 0.2, 0.15]), np.array([0.3, 0.35, 0.4]), critical=True)
    assert one.classification.shape == ()
    fig = plot_rank_summary(one, names=["latency"])
    (ax,) = fig.axes
    assert ax.get_title(loc="left").startswith(f"{cs.MetricClass(int(one.classification)).name}")
    # an infinite interval end runs to the panel's edge; no data: no estimate, no interval
    inf = attrs.evolve(one, ci_high=np.float64(np.inf))
    ax = plot_rank_summary(inf).axes[0]
    assert _lines(ax)["interval"].get_xdata()[1] == pytest.approx(ax.get_xlim()[1])
    nodata = cs.classify_metric(np.array([0.1, 0.2]), np.full(2, np.nan), critical=True)
    ax = plot_rank_summary(nodata).axes[0]
    assert "interval" not in _lines(ax)
    assert ax.get_title(loc="left").startswith("NODATA, CRITICAL: effect")
    assert ax.get_ylabel() == "metric 0"


def test_rank_summary_errors(judged):
    mc, score = judged
    with pytest.raises(cs.SpecError, match="`names` must name the 3 metrics, got 2 names"):
        plot_rank_summary(mc, names=["a", "b"])
    with pytest.raises(cs.SpecError, match=r"`ax` must be 3 Axes \(one per metric\), got 1"):
        plot_rank_summary(mc, ax=Figure().subplots())
    with pytest.raises(cs.SpecError, match="must be a MetricClassification"):
        plot_rank_summary(score)
    two_d = cs.classify_metric(np.ones((2, 2, 5)), np.ones((2, 2, 5)))
    with pytest.raises(cs.SpecError, match=r"one metric or a vector of metrics, got batch shape \(2, 2\)"):
        plot_rank_summary(two_d)
    batch_score = cs.score_groups(np.ones((2, 3), dtype=np.int8), ["a", "a", "b"])
    with pytest.raises(cs.SpecError, match=r"`score` must score one canary .* \(2,\)"):
        plot_rank_summary(mc, score=batch_score)


# --------------------------------------------------------------------------- tuning


def _oc_frame() -> pd.DataFrame:
    rows = []
    for method, shift in (("point", 0.0), ("bayes", 0.1)):
        for tol in (0.3, 0.1, 0.2):  # not sorted: the curves are
            p = min(1.0, tol * 3 + shift)
            rows.append({"method": method, "tolerance": tol, "n": 100,
                         "p_promote": p, "p_promote_low": p - 0.05, "p_promote_high": p,
                         "p_rollback": 1 - p, "p_rollback_low": 1 - p,
                         "p_rollback_high": 1 - p + 0.05, "p_abort": 0.0,
                         "p_abort_low": 0.0, "p_abort_high": 0.03})
    return pd.DataFrame(rows)


def test_operating_characteristics_from_tune():
    spec = tutorial_spec()
    frame = cs.tune(spec, cs.Scenario(request_rate=1.0, mean_latency=(0.15, 0.2)),
                    {"tolerance": [0.25, 0.2, 0.3]}, n=200, rng=3)
    fig = plot_operating_characteristics(frame, "tolerance")
    (ax,) = fig.axes
    lines = _lines(ax)
    assert list(lines) == ["P(promote)", "P(rollback)"]
    order = np.argsort(frame["tolerance"].to_numpy())
    for name, column in (("P(promote)", "p_promote"), ("P(rollback)", "p_rollback")):
        np.testing.assert_array_equal(lines[name].get_xdata(), frame["tolerance"].to_numpy()[order])
        np.testing.assert_array_equal(lines[name].get_ydata(), frame[column].to_numpy()[order])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    ys = bands[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(frame["p_promote_low"].min())
    assert ys.max() == pytest.approx(frame["p_promote_high"].max())
    # a looser threshold promotes more often
    assert np.all(np.diff(lines["P(promote)"].get_ydata()) >= 0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("tolerance", "probability")


def test_operating_characteristics_by_group_and_merged_suffixes():
    frame = _oc_frame()
    fig = plot_operating_characteristics(frame, "tolerance", by="method",
                                         outcomes=("p_promote", "p_rollback", "p_abort"))
    (ax,) = fig.axes
    lines = _lines(ax)
    assert list(lines) == [
        "P(promote), method=point", "P(rollback), method=point", "P(abort), method=point",
        "P(promote), method=bayes", "P(rollback), method=bayes", "P(abort), method=bayes",
    ]
    np.testing.assert_allclose(lines["P(promote), method=bayes"].get_ydata(), [0.4, 0.7, 1.0])
    np.testing.assert_array_equal(lines["P(promote), method=bayes"].get_xdata(), [0.1, 0.2, 0.3])
    assert lines["P(promote), method=point"].get_color() != lines["P(promote), method=bayes"].get_color()
    assert lines["P(promote), method=point"].get_linestyle() != lines["P(rollback), method=point"].get_linestyle()
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 6
    merged = frame.rename(columns={"p_rollback": "p_rollback_equal",
                                   "p_rollback_low": "p_rollback_low_equal",
                                   "p_rollback_high": "p_rollback_high_equal"})
    merged["p_rollback_worse"] = merged["p_rollback_equal"] / 2
    merged["p_rollback_low_worse"] = merged["p_rollback_low_equal"] / 2
    merged["p_rollback_high_worse"] = merged["p_rollback_high_equal"] / 2
    ax = plot_operating_characteristics(
        merged[merged["tolerance"] == 0.2], "method",
        outcomes=["p_rollback_equal", "p_rollback_worse"],
    ).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["point", "bayes"]
    lines = _lines(ax)
    assert list(lines) == ["P(rollback), equal", "P(rollback), worse"]
    np.testing.assert_array_equal(lines["P(rollback), equal"].get_xdata(), [0.0, 1.0])
    np.testing.assert_allclose(lines["P(rollback), worse"].get_ydata(), [0.2, 0.15])
    assert lines["P(rollback), equal"].get_color() != lines["P(rollback), worse"].get_color()
    ys = [c for c in ax.collections if isinstance(c, PolyCollection)][1].get_paths()[0].vertices
    assert ys[:, 1].max() == pytest.approx((0.4 + 0.05) / 2)  # the suffixed interval columns


def test_operating_characteristics_errors():
    frame = _oc_frame()
    with pytest.raises(cs.SpecError, match="`frame` has no column 'step_size'"):
        plot_operating_characteristics(frame, "step_size")
    with pytest.raises(cs.SpecError, match="no Monte Carlo interval of 'n'"):
        plot_operating_characteristics(frame, "tolerance", outcomes=["n"])
    assert plot_operating_characteristics(frame, "tolerance", outcomes=["n"], intervals=False)
    with pytest.raises(cs.SpecError, match="`outcomes` must name at least one column"):
        plot_operating_characteristics(frame, "tolerance", outcomes=[])
    with pytest.raises(cs.SpecError, match="`frame` has no rows"):
        plot_operating_characteristics(frame.iloc[:0], "tolerance")
    with pytest.raises(cs.SpecError, match="`frame` must be a pandas DataFrame, got dict"):
        plot_operating_characteristics({}, "tolerance")


def test_pareto_front_highlights_the_front():
    frame = pd.DataFrame({
        "tolerance": [0.2, 0.2, 0.25, 0.25, 0.3],
        "step_size": [20, 40, 20, 40, 20],
        "p_rollback": [0.006, 0.001, 0.0, 0.0, 0.0],
        "p_rollback_low": [0.003, 0.0, 0.0, 0.0, 0.0],
        "p_rollback_high": [0.008, 0.003, 0.0004, 0.0004, 0.0004],
        "exposure": [85.0, 138.0, 124.0, 168.0, 124.0],
        "exposure_low": [80.0, 130.0, 120.0, 160.0, 120.0],
        "exposure_high": [90.0, 146.0, 128.0, 176.0, 128.0],
    })
    fig = plot_pareto_front(frame, "p_rollback", "exposure", annotate=["tolerance", "step_size"],
                            intervals=True)
    (ax,) = fig.axes
    scatters = _scatters(ax)
    front = cs.pareto_front(frame, ["p_rollback", "exposure"])
    assert front.index.tolist() == [0, 2, 4]  # ties stay
    np.testing.assert_array_equal(scatters["grid points (5)"].get_offsets(),
                                  frame[["p_rollback", "exposure"]].to_numpy())
    np.testing.assert_array_equal(scatters["Pareto front (3)"].get_offsets(),
                                  front[["p_rollback", "exposure"]].to_numpy())
    assert [t.get_text() for t in ax.texts] == [
        "tolerance=0.2, step_size=20", "tolerance=0.25, step_size=20",
        "tolerance=0.3, step_size=20",
    ]
    (joined,) = ax.get_lines()
    assert np.all(np.diff(joined.get_xdata()) >= 0)  # the front, in order of x
    assert _legend(ax) == ["grid points (5)", "Pareto front (3)"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("p_rollback", "exposure")
    assert len(ax.containers) == 1  # the error bars


def test_pareto_front_more_objectives_and_senses():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0], "c": [0.0, 5.0, 0.0]})
    ax = plot_pareto_front(frame, "a", "b", objectives=["a", "b", "c"],
                           senses=["min", "min", "max"]).axes[0]
    assert "Pareto front (3)" in _scatters(ax)
    assert ax.get_lines() == []  # a front in three objectives is not a curve in (a, b)
    ax = plot_pareto_front(frame, "a", "c", senses=["min", "max"]).axes[0]
    (line,) = ax.get_lines()  # a front in the plotted plane: joined in order of `x`
    np.testing.assert_array_equal(line.get_xydata(), [[1.0, 0.0], [2.0, 5.0]])
    np.testing.assert_array_equal(_scatters(ax)["Pareto front (2)"].get_offsets(),
                                  [[1.0, 0.0], [2.0, 5.0]])
    with pytest.raises(cs.SpecError, match="`frame` has no column 'd'"):
        plot_pareto_front(frame, "a", "d")
    with pytest.raises(cs.SpecError, match="no Monte Carlo interval of 'a'"):
        plot_pareto_front(frame, "a", "b", intervals=True)
    with pytest.raises(cs.SpecError, match="sense of 'b' must be 'min' or 'max'"):
        plot_pareto_front(frame, "a", "b", senses=["min", "up"])


def test_into_given_axes_returns_its_figure(judged, aa_streams):
    fig = Figure()
    axes = fig.subplots(2, 2)
    n, anytime, naive = aa_streams
    assert plot_pvalue_paths(n, anytime[0], ax=axes[0, 0]) is fig
    assert plot_posteriors(RATE_DELTA, RATE_OBS, ax=axes[0, 1]) is fig
    assert plot_operating_characteristics(_oc_frame(), "tolerance", ax=axes[1, 0]) is fig
    assert plot_pareto_front(_oc_frame(), "p_rollback", "p_promote", ax=axes[1, 1]) is fig
    mc, _ = judged
    sub = Figure().subfigures(1, 2)[1]
    assert plot_rank_summary(mc, ax=sub.subplots(3, 1)) is sub.figure
