"""The rank judge, continued: the batched order-statistic selection against brute force,
threshold criteria (the sign test of the median), the method's options and data policy, and
replays of the bundled rollouts."""

from __future__ import annotations

import warnings
import zlib

import attrs
import numpy as np
import pytest
from scipy import stats

import canarystats.stats.hodges_lehmann as hodges_lehmann
from canarystats import (
    Criterion,
    InsufficientDataWarning,
    MetricClass,
    Observations,
    Reason,
    SpecError,
    Verdict,
    classify_metric,
    data,
    evaluate_criterion,
    mann_whitney,
    replay,
)
from canarystats.data.make_rollouts import tutorial_spec
from canarystats.methods.ranks import RanksOptions
from canarystats.registry import get_method

# --------------------------------------------------------------------------- selection


def _brute(x, y, k):
    d = np.sort(np.subtract.outer(x[~np.isnan(x)], y[~np.isnan(y)]).ravel())
    return d[k - 1] if 1 <= k <= d.size else np.nan


GENERATORS = {
    "normal": lambda rng, s: rng.normal(size=s),
    "lattice": lambda rng, s: rng.integers(0, 20, s).astype(float),  # huge tie blocks
    "fine-lattice": lambda rng, s: rng.integers(0, 1000, s) / 10,
    "heavy-tail": lambda rng, s: rng.lognormal(0, 2, s),
    # scales from 1e-8 to 1e7 across the batch: one search serves them all
    "scales": lambda rng, s: rng.normal(size=s) * 10.0 ** rng.integers(-8, 8, (s[0], 1)),
    "constant": lambda rng, s: np.ones(s),
}


@pytest.mark.parametrize("kind", list(GENERATORS))
@pytest.mark.parametrize(("m", "n"), [(300, 400), (70, 100), (2, 5000), (5000, 3)])
def test_select_many_is_exact(kind, m, n, monkeypatch):
    """The fast batched selection returns R's ``sort(outer(x, y, "-"))[k]`` exactly, at the
    ends, the middle and the 95 % interval's ranks, with NaN padding, without falling back."""
    rng = np.random.default_rng(zlib.crc32(f"{kind}-{m}-{n}".encode()))
    x, y = GENERATORS[kind](rng, (4, m)), GENERATORS[kind](rng, (4, n))
    x[1, m // 2 :] = np.nan
    y[2, n // 3 :] = np.nan
    xs, ys = np.sort(x, axis=1), np.sort(y, axis=1)
    nx = np.count_nonzero(~np.isnan(xs), axis=1)
    ny = np.count_nonzero(~np.isnan(ys), axis=1)
    big = nx * ny
    ks = np.stack([np.ones(4, int), (big * 0.025).astype(int), big // 2, big // 2 + 1,
                   (big * 0.975).astype(int), big, big + 1, np.zeros(4, int)], axis=1)
    fallbacks = []
    slow = hodges_lehmann._select

    def spy(*args):
        fallbacks.append(args[0].shape[0])
        return slow(*args)

    monkeypatch.setattr(hodges_lehmann, "_select", spy)
    got = hodges_lehmann.select_many(xs, ys, nx, ny, ks)
    want = np.array([[_brute(x[b], y[b], k) for k in ks[b]] for b in range(4)])
    np.testing.assert_array_equal(got, want)
    assert not fallbacks


def test_select_many_miscounts_are_caught(monkeypatch):
    """Counts far off in some rows: with the rounding allowance made so large that no value
    passes the quick check (it trusts counts to misplace only differences next to the
    pivots), every value is checked against its window's neighbours, and those that fail
    go to the slow exact selection: the results stay exact."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(3, 200)), rng.normal(size=(3, 300))
    xs, ys = np.sort(x, axis=1), np.sort(y, axis=1)
    ks = np.array([[1500, 30000, 30001, 58500]] * 3)
    real = hodges_lehmann._Counter.__call__

    def miscount(self, p, rows=None, strict=None):
        q = real(self, p, rows, strict)
        q[:, ::7] = np.minimum(q[:, ::7] + 5, 300)  # every 7th row of x miscounted
        return q

    fallbacks = []
    slow = hodges_lehmann._select

    def spy(*args):
        fallbacks.append(args[0].shape[0])
        return slow(*args)

    monkeypatch.setattr(hodges_lehmann, "_ROUNDING", 1.0)
    monkeypatch.setattr(hodges_lehmann._Counter, "__call__", miscount)
    monkeypatch.setattr(hodges_lehmann, "_select", spy)
    got = hodges_lehmann.select_many(xs, ys, np.full(3, 200), np.full(3, 300), ks)
    want = np.array([[_brute(x[b], y[b], k) for k in ks[b]] for b in range(3)])
    np.testing.assert_array_equal(got, want)
    assert fallbacks


def test_large_batch_matches_loop():
    """500 pairs of 300 vs 400 in blocks: equal to pair-by-pair calls (different blocks,
    different samples, different brackets: the same doubles)."""
    rng = np.random.default_rng(5)
    x = rng.lognormal(0, 0.5, size=(500, 300))
    y = rng.lognormal(0.05, 0.5, size=(500, 400))
    r = mann_whitney(x, y)
    low, high = r.confidence_interval()
    for i in rng.choice(500, size=5, replace=False):
        one = mann_whitney(x[i], y[i])
        assert (r.estimate[i], low[i], high[i]) == (one.estimate, *one.confidence_interval())


# --------------------------------------------------------------------------- threshold


def _thr(**kw):
    base = {"metric": "latency", "tolerance_type": "threshold", "tolerance": 1.2,
            "method": "ranks", "sample_size": 10, "confidence": 0.95}
    return Criterion(**{**base, **kw})


def _sample_obs(cand):
    samples = np.full((len(cand), 2, max(len(c) for c in cand)), np.nan)
    samples[:, 0, :20] = 1.0
    for i, c in enumerate(cand):
        samples[i, 1, : len(c)] = c
    count = np.count_nonzero(~np.isnan(samples), axis=-1).astype(float)
    return Observations(count=count, value=np.nanmean(samples, axis=-1), samples=samples)


def test_threshold_sign_test_against_scipy():
    rng = np.random.default_rng(0)
    cand = [rng.lognormal(np.log(1.5), 0.3, 50),  # median 1.5 > 1.2: FAIL
            rng.lognormal(np.log(0.8), 0.3, 50),  # median 0.8 < 1.2: PASS
            rng.lognormal(np.log(1.2), 0.3, 50),  # at the threshold: undecided
            rng.lognormal(0.0, 0.3, 5)]  # 5 < sample_size 10
    r = evaluate_criterion(_thr(stop_on_failure=True), _sample_obs(cand))
    assert r.verdict.tolist() == [Verdict.FAIL, Verdict.PASS, Verdict.INCONCLUSIVE,
                                  Verdict.INCONCLUSIVE]
    assert r.reason.tolist() == [Reason.OK, Reason.OK, Reason.NOT_YET_DECIDED,
                                 Reason.INSUFFICIENT_SAMPLE]
    assert r.abort.tolist() == [True, False, False, False]
    assert r.state.classification.tolist()[:3] == [MetricClass.HIGH, MetricClass.LOW,
                                                   MetricClass.PASS]
    for i, c in enumerate(cand):
        # scipy's exact binomial test of "P(X <= t) < 1/2" (the median above t)
        ref = stats.binomtest(int((c <= 1.2).sum()), c.size, 0.5, alternative="less").pvalue
        np.testing.assert_allclose(r.state.pvalue[i], ref, rtol=1e-10)
        assert r.state.estimate[i] == np.median(c)
    # the verdicts are the one-sided 95 % order-statistic bounds of the median
    assert r.state.ci_low[0] > 1.2
    assert r.state.ci_high[1] < 1.2
    assert r.state.ci_low[2] <= 1.2 <= r.state.ci_high[2]


def test_threshold_bounds_are_binomial_order_statistics():
    """Lower bound x_(l) with P(Bin(n, 1/2) <= l - 1) <= alpha < P(... <= l)."""
    c = np.arange(1.0, 31.0)  # n = 30
    r = evaluate_criterion(_thr(), _sample_obs([c]))
    l_rank = int(stats.binom.ppf(0.05, 30, 0.5))  # smallest j with cdf(j) >= 0.05
    if stats.binom.cdf(l_rank, 30, 0.5) > 0.05:
        l_rank -= 1
    assert r.state.ci_low[0] == c[l_rank]  # x_(l), l = l_rank + 1
    assert r.state.ci_high[0] == c[30 - l_rank - 1]


def test_threshold_higher_is_better_mirrors():
    rng = np.random.default_rng(2)
    cand = [rng.lognormal(np.log(1.5), 0.3, 50), rng.lognormal(np.log(0.8), 0.3, 50)]
    r = evaluate_criterion(_thr(direction="higher"), _sample_obs(cand))
    assert r.verdict.tolist() == [Verdict.PASS, Verdict.FAIL]


def test_threshold_on_buckets():
    """At a bucket bound the count is exact (binned == raw on bucketed data); between bounds
    each test uses its conservative end."""
    rng = np.random.default_rng(4)
    bounds = np.array([0.5, 1.0, 1.2, 1.5, 2.0, np.inf])
    raw = [rng.choice(bounds[:-1], 60, p=p) for p in
           ([0.05, 0.1, 0.1, 0.35, 0.4], [0.3, 0.4, 0.2, 0.05, 0.05], [0.1, 0.2, 0.2, 0.3, 0.2])]
    obs = _sample_obs(raw)
    # Prometheus buckets: x goes to the first bound with x <= le
    counts = np.stack([[np.bincount(np.searchsorted(bounds, s[~np.isnan(s)]), minlength=6)
                        for s in pair] for pair in obs.samples]).astype(float)
    bobs = Observations(count=obs.count, value=obs.value, buckets=counts, bucket_bounds=bounds)
    for t in (1.2, 1.5):  # thresholds at bounds: identical verdicts and p-values
        rs, rb = evaluate_criterion(_thr(tolerance=t), obs), evaluate_criterion(
            _thr(tolerance=t), bobs)
        assert rs.verdict.tolist() == rb.verdict.tolist()
        np.testing.assert_allclose(rs.state.pvalue, rb.state.pvalue, rtol=1e-12)
    # t = 1.3 lies inside (1.2, 1.5]: S is only known to lie in [#(x <= 1.2), #(x <= 1.5)]
    rs = evaluate_criterion(_thr(tolerance=1.3), obs)
    rb = evaluate_criterion(_thr(tolerance=1.3), bobs)
    for vs, vb in zip(rs.verdict.tolist(), rb.verdict.tolist(), strict=True):
        assert vb == vs or vb == Verdict.INCONCLUSIVE  # never a verdict the raw data refute


# --------------------------------------------------------------------------- options, data policy


def _delta(**kw):
    return Criterion(metric="latency", tolerance_type="delta", tolerance=0.1, sample_size=20,
                     method="ranks", confidence=0.95, **kw)


def _pair(base, cand):
    """One slice of raw samples (NaN-padded), with the count of each version's samples."""
    samples = np.full((1, 2, max(len(base), len(cand), 1)), np.nan)
    samples[0, 0, : len(base)] = base
    samples[0, 1, : len(cand)] = cand
    count = np.count_nonzero(~np.isnan(samples), axis=-1).astype(float)
    return Observations(count=count, value=np.full((1, 2), 0.2), samples=samples)


BASE = np.random.default_rng(8).lognormal(np.log(0.2), 0.3, 50)


def test_options_are_typed_and_validated():
    assert _delta().options == RanksOptions(estimate_tolerance=0.25, scale_check=False)
    assert _delta(options={"estimate_tolerance": 1}).options.estimate_tolerance == 1.0
    for bad in (-0.1, float("inf"), "wide", True):
        with pytest.raises(SpecError, match="`estimate_tolerance` must be a finite number >= 0"):
            _delta(options={"estimate_tolerance": bad})
    with pytest.raises(SpecError, match="`scale_check` must be true or false, got 'yes'"):
        _delta(options={"scale_check": "yes"})
    with pytest.raises(SpecError, match="unknown option 'band'"):
        _delta(options={"band": 0.5})
    with pytest.raises(SpecError, match="pass it in `options`"):
        _delta(extras={"estimate_tolerance": 0.5})


def test_estimate_tolerance_is_kayentas_band():
    """With a zero margin the delta FAILs exactly where classify_metric (band) says High."""
    rng = np.random.default_rng(11)
    base = rng.lognormal(0, 0.3, size=(40, 80))
    cand = base[::-1] * rng.uniform(0.9, 1.4, size=(40, 1))
    samples = np.stack([base, cand], axis=1)
    obs = Observations(count=np.full((40, 2), 80.0), value=samples.mean(axis=-1), samples=samples)
    fails = []
    for band in (0.0, 0.25, 1.0):
        c = attrs.evolve(_delta(), tolerance=0.0, options={"estimate_tolerance": band})
        r = evaluate_criterion(c, obs)
        ref = classify_metric(base, cand, tolerance=band, confidence_level=0.95)
        np.testing.assert_array_equal(r.verdict == Verdict.FAIL,
                                      ref.classification == MetricClass.HIGH)
        np.testing.assert_array_equal(r.state.estimate, ref.estimate)
        fails.append(int((r.verdict == Verdict.FAIL).sum()))
    assert fails[0] > fails[1] > fails[2], fails  # a wider band flags fewer shifts


def test_needs_buckets_or_for_the_scale_check_samples():
    method = get_method("ranks")
    for kind in ("mean", "rate", "counter"):
        assert method.needs(_delta(), kind) == {"count", "buckets"}
    assert method.needs(_delta(options={"scale_check": True}), "mean") == {"count", "samples"}
    assert not method.anytime_valid(_delta())


@pytest.mark.parametrize(
    ("base", "cand", "nonnegative", "match"),
    [
        (BASE, np.r_[BASE[:49], -1e6], True, "`samples` negative"),
        (np.full(50, 1e308), np.full(50, 1e308), True, "`samples` too large"),
        (np.full(50, -1e308), np.full(50, 1e308), True, "`samples` negative"),
        (np.full(50, -1e308), np.full(50, 1e308), False, "`samples` too large"),
    ],
    ids=["one-negative", "1e308", "-1e308-vs-1e308", "-1e308-vs-1e308-signed"],
)
def test_a_delta_on_bad_or_overflowing_samples_is_bad_data(base, cand, nonnegative, match):
    """These passed silently before the base: a negative latency, and means, effect or shift
    overflowing on samples near the float range."""
    with pytest.warns(InsufficientDataWarning, match=match):
        r = evaluate_criterion(_delta(nonnegative=nonnegative), _pair(base, cand))
    assert r.verdict.tolist() == [Verdict.INCONCLUSIVE]
    assert r.reason.tolist() == [Reason.BAD_DATA]
    assert r.state.classification.tolist() == [MetricClass.NODATA]
    assert np.isnan(r.state.estimate).all()
    assert np.isnan(r.state.effect).all()


def test_a_threshold_on_bad_or_huge_samples_is_bad_data():
    c = _thr(tolerance=0.3)
    with pytest.warns(InsufficientDataWarning, match="`samples` negative"):
        r = evaluate_criterion(c, _pair(BASE, np.r_[BASE[:49], -1e6]))  # was a PASS
    assert (r.verdict.tolist(), r.reason.tolist()) == ([Verdict.INCONCLUSIVE], [Reason.BAD_DATA])
    # samples of 1e308 are beyond the base's HUGE (their squares overflow): bad data
    with pytest.warns(InsufficientDataWarning, match="`samples` too large"):
        r = evaluate_criterion(c, _pair(BASE, np.full(50, 1e308)))
    assert (r.verdict.tolist(), r.reason.tolist()) == ([Verdict.INCONCLUSIVE], [Reason.BAD_DATA])


def test_a_version_without_samples_is_an_insufficient_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an idle version is expected: no warning
        for ss in (20.0, 0.0):
            c = attrs.evolve(_delta(), sample_size=ss)
            for base, cand in ((BASE, []), ([], BASE)):
                r = evaluate_criterion(c, _pair(base, cand))
                assert r.verdict.tolist() == [Verdict.INCONCLUSIVE]
                assert r.reason.tolist() == [Reason.INSUFFICIENT_SAMPLE]
                assert r.state.classification.tolist() == [MetricClass.NODATA]


def test_buckets_the_test_reads_decide_the_sample_and_a_missing_one_is_missing():
    bounds = np.array([0.1, 0.25, 0.5, np.inf])
    buckets = np.array([[[10.0, 20.0, 5.0, 0.0], [2.0, 3.0, 1.0, 0.0]]])
    # `count` says 35 requests each, the candidate's histogram holds 6: too few for the test
    obs = Observations(count=[[35.0, 35.0]], value=[[0.2, 0.2]], buckets=buckets,
                       bucket_bounds=bounds)
    r = evaluate_criterion(_delta(), obs)
    assert (r.verdict.tolist(), r.reason.tolist()) == ([Verdict.INCONCLUSIVE],
                                                       [Reason.INSUFFICIENT_SAMPLE])
    gap = buckets.copy()
    gap[0, 1, 2] = np.nan
    missing = Observations(count=[[35.0, 35.0]], value=[[0.2, 0.2]], buckets=gap,
                           bucket_bounds=bounds)
    with pytest.warns(InsufficientDataWarning, match="missing values"):
        r = evaluate_criterion(_delta(), missing)
    assert (r.verdict.tolist(), r.reason.tolist()) == ([Verdict.INCONCLUSIVE],
                                                       [Reason.MISSING_VALUE])


# --------------------------------------------------------------------------- replay


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        # Kayenta-style delta: rolled-back candidate (mean 0.35 s vs 0.1 s) FAILs,
        # the promoted one (0.12 s vs 0.1 s, inside the 25 % margin) PASSes
        (Criterion(metric="iter8_latency", tolerance_type="delta", tolerance=0.25,
                   sample_size=6, method="ranks"),
         {"promoted": ("promote", "PASS"), "rolled_back": ("rollback", "FAIL")}),
        # median against 0.25 s, a bucket bound: exact sign test on the buckets
        (Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.25,
                   sample_size=6, method="ranks"),
         {"promoted": ("promote", "PASS"), "rolled_back": ("rollback", "FAIL")}),
        # 0.2 s lies inside the (0.1, 0.25] bucket: only #(x <= 0.1) is known to be below,
        # so the promoted candidate (median about 0.107 s) is never shown below 0.2 s
        (Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                   sample_size=6, method="ranks"),
         {"promoted": ("rollback", "INCONCLUSIVE"), "rolled_back": ("rollback", "FAIL")}),
    ],
    ids=["delta", "threshold-at-bound", "threshold-between-bounds"],
)
def test_replay_bundled_rollouts_with_ranks(criterion, expected):
    """The bundled rollouts carry Istio's histogram buckets; the ranks method judges them."""
    spec = attrs.evolve(tutorial_spec(), criteria=(criterion,))
    for name, (outcome, last) in expected.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = replay(spec, data.load_rollout(name))
        verdicts = result.timeline["verdict"].tolist()
        assert result.outcome == outcome
        assert verdicts[0] == "INCONCLUSIVE"  # the first window has too few requests
        assert set(verdicts[1:]) == {last}


def test_muted_metrics_are_reported_but_do_not_count() -> None:
    from canarystats.stats.kayenta import MetricClass, ScoreClass, score_groups

    # two latency metrics and one error metric; the second latency metric is High (a failure)
    classes = [[MetricClass.PASS, MetricClass.HIGH, MetricClass.PASS]]
    groups = ["latency", "latency", "errors"]
    loud = score_groups(classes, groups, weights={"latency": 50, "errors": 50})
    # latency group: 1 of 2 passing = 50; errors 100; summary 0.5 * 50 + 0.5 * 100 = 75
    assert loud.group_scores.tolist() == [[50.0, 100.0]]
    assert loud.summary.tolist() == [75.0]
    quiet = score_groups(classes, groups, weights={"latency": 50, "errors": 50}, muted=[False, True, False])
    assert quiet.group_scores.tolist() == [[100.0, 100.0]]
    assert quiet.summary.tolist() == [100.0]
    assert quiet.verdict.tolist() == [ScoreClass.PASS]
    # a muted critical failure does not zero the score; an unmuted one does
    crit = [[False, True, False]]
    assert score_groups(classes, groups, critical=crit).summary.tolist() == [0.0]
    assert score_groups(classes, groups, critical=crit, muted=[False, True, False]).summary.tolist() == [100.0]
    # muted NoData metrics do not count towards the no-data rule
    nodata = [[MetricClass.NODATA, MetricClass.NODATA, MetricClass.PASS]]
    assert score_groups(nodata, groups).too_many_nodata.tolist() == [True]
    assert score_groups(nodata, groups, muted=[True, True, False]).too_many_nodata.tolist() == [False]
