"""The data policy of the methods base, per method and per field it reads.

Hypothesis corrupts one field of one version of one slice of a clean batch (NaN, +-inf, a
negative value, successes above the count, a sum of squares below sum**2 / count, a huge value,
raw samples whose number disagrees with the count) and checks, for every criterion method and
every field it reads:

- the corrupted slice is INCONCLUSIVE with reason BAD_DATA or MISSING_VALUE;
- an InsufficientDataWarning says so, and the result's report carries the same message;
- the other slices are judged exactly as without the corruption;
- corrupting a version the tolerance does not read (the baseline of a threshold) changes nothing;
- a method state built on valid data (e.g. a group-sequential crossing) does not carry a PASS
  through an update with bad data.

The expected fields of each configuration are written here, independently of the methods'
``reads``: a corruption of any of them must be seen.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canarystats import Criterion, InsufficientDataWarning, Observations, Reason, Verdict
from canarystats.methods.base import evaluate_criterion
from canarystats.registry import get_method

sys.path.insert(0, str(Path(__file__).parent / "plugin"))
import canarystats_test_plugin  # noqa: E402,F401  (registers the test-only method)

B = 3  # slices per batch
BOUNDS = np.array([0.05, 0.1, 0.2, 0.5, np.inf])


def _rate(n: float = 5000.0) -> dict[str, Any]:
    count = np.full((B, 2), n)
    successes = np.tile([50.0, 40.0], (B, 1))
    return {"count": count, "value": successes / count, "successes": successes}


def _mean(n: float = 5000.0, sd: float = 0.02) -> dict[str, Any]:
    count = np.full((B, 2), n)
    m = np.tile([0.1, 0.1], (B, 1))
    return {"count": count, "value": m, "sum": count * m, "sumsq": count * (m * m + sd * sd)}


def _buckets() -> dict[str, Any]:
    per = np.array([1000.0, 2000.0, 1500.0, 500.0, 0.0])
    buckets = np.tile(per, (B, 2, 1))
    count = buckets.sum(axis=-1)
    return {"count": count, "value": np.full((B, 2), 0.15), "buckets": buckets,
            "bucket_bounds": BOUNDS}


def _samples(n: int = 200) -> dict[str, Any]:
    rng = np.random.default_rng(2026)
    samples = rng.lognormal(np.log(0.1), 0.3, size=(B, 2, n))
    return {"count": np.full((B, 2), float(n)), "value": samples.mean(axis=-1),
            "samples": samples}


def _crit(metric: str, kind: str, tol: float, method: str, **kw: Any) -> Criterion:
    return Criterion(metric=metric, tolerance_type=kind, tolerance=tol, method=method,
                     sample_size=kw.pop("sample_size", 100), **kw)


# (id, criterion, clean data, fields the criterion reads)
CONFIGS: list[tuple[str, Criterion, dict[str, Any], tuple[str, ...]]] = [
    ("point-threshold", _crit("iter8_latency", "threshold", 0.2, "point"), _mean(),
     ("count", "value")),
    ("point-delta", _crit("iter8_latency", "delta", 0.2, "point"), _mean(), ("count", "value")),
    ("bayes-rate-threshold", _crit("iter8_error_rate", "threshold", 0.05, "bayes"), _rate(),
     ("count", "successes")),
    ("bayes-rate-delta", _crit("iter8_error_rate", "delta", 0.5, "bayes"), _rate(),
     ("count", "successes")),
    ("bayes-mean-threshold", _crit("iter8_latency", "threshold", 0.2, "bayes"), _mean(),
     ("count", "sum", "sumsq")),
    ("bayes-mean-delta", _crit("iter8_latency", "delta", 0.2, "bayes"), _mean(),
     ("count", "sum", "sumsq")),
    ("bayes-buckets", _crit("iter8_latency", "threshold", 0.3, "bayes"), _buckets(),
     ("count", "value", "buckets")),
    ("sequential-rate-threshold", _crit("iter8_error_rate", "threshold", 0.05, "sequential"),
     _rate(), ("count", "successes")),
    ("sequential-rate-delta", _crit("iter8_error_rate", "delta", 2.0, "sequential"), _rate(),
     ("count", "successes")),
    ("sequential-mean-threshold", _crit("iter8_latency", "threshold", 0.2, "sequential"),
     _mean(), ("count", "sum", "sumsq")),
    ("sequential-mean-delta", _crit("iter8_latency", "delta", 0.2, "sequential"), _mean(),
     ("count", "sum", "sumsq")),
    ("sequential-quantile", _crit("iter8_latency", "threshold", 0.5, "sequential",
                                  options={"sequential_test": "quantile", "quantile": 0.9}),
     _samples(), ("count", "samples")),
    ("fixed-rate-threshold", _crit("iter8_error_rate", "threshold", 0.05, "fixed"), _rate(),
     ("count", "successes")),
    ("fixed-rate-delta", _crit("iter8_error_rate", "delta", 0.5, "fixed"), _rate(),
     ("count", "successes")),
    ("fixed-mean-threshold", _crit("iter8_latency", "threshold", 0.2, "fixed"), _mean(),
     ("count", "sum", "sumsq")),
    ("fixed-mean-delta", _crit("iter8_latency", "delta", 0.2, "fixed"), _mean(),
     ("count", "sum", "sumsq")),
    ("group-sequential-rate", _crit("iter8_error_rate", "threshold", 0.05, "group_sequential",
                                    options={"looks": 2}), _rate(), ("count", "successes")),
    ("group-sequential-mean-delta", _crit("iter8_latency", "delta", 0.2, "group_sequential",
                                          options={"looks": 2}), _mean(),
     ("count", "sum", "sumsq")),
    ("ranks-samples-delta", _crit("iter8_latency", "delta", 0.2, "ranks"), _samples(),
     ("count", "samples")),
    ("ranks-samples-threshold", _crit("iter8_latency", "threshold", 0.5, "ranks"), _samples(),
     ("count", "samples")),
    ("ranks-buckets-delta", _crit("iter8_latency", "delta", 0.2, "ranks"), _buckets(),
     ("count", "buckets")),
    # the test-only method registered from outside the library (tests/plugin)
    ("plugin-threshold", _crit("iter8_latency", "threshold", 0.2, "test_mean_bound"), _mean(),
     ("count", "sum")),
    ("plugin-delta", _crit("iter8_latency", "delta", 0.2, "test_mean_bound"), _mean(),
     ("count", "sum")),
]

KINDS = ("nan", "inf", "-inf", "negative", "huge", "above_count", "below_sum2",
         "sample_count")


def _applies(field: str, kind: str) -> bool:
    if kind == "above_count":
        return field == "successes"
    if kind == "below_sum2":
        return field == "sumsq"
    if kind == "sample_count":
        return field == "samples"
    if kind == "huge":
        return field in ("value", "sum", "sumsq", "samples", "buckets")
    return True


def corrupt(data: dict[str, Any], field: str, kind: str, i: int, v: int) -> dict[str, Any]:
    """A copy of ``data`` with ``field`` of slice ``i``, version ``v`` corrupted."""
    out = {k: (np.array(a, dtype=float) if isinstance(a, np.ndarray) else a)
           for k, a in data.items()}
    arr = out[field]
    if field in ("buckets", "samples"):
        target = arr[i, v]
        if kind == "nan":
            target[1] = np.nan  # a bucket count missing; for samples: one fewer than `count`
        elif kind == "inf":
            target[0] = np.inf
        elif kind == "-inf":
            target[0] = -np.inf
        elif kind == "negative":
            target[0] = -1e6 if field == "samples" else -3.0
        elif kind == "huge":
            target[:] = 1.7e308 if field == "samples" else target + 1.7e308
        elif kind == "sample_count":
            out["count"] = np.array(out["count"])
            out["count"][i, v] += 7.0
        return out
    value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 1.7e308}.get(kind)
    if kind == "negative":
        value = -abs(arr[i, v]) - 1.0
    elif kind == "above_count":
        value = out["count"][i, v] + 5.0
    elif kind == "below_sum2":
        value = 0.5 * out["sum"][i, v] ** 2 / out["count"][i, v]
    arr[i, v] = value
    return out


def _judge(criterion: Criterion, data: dict[str, Any], state: Any = None) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_criterion(criterion, Observations(**data), state=state)
    messages = [str(w.message) for w in caught if issubclass(w.category, InsufficientDataWarning)]
    return result, messages


def test_clean_batches_are_decided() -> None:
    # the corruption tests are only meaningful where the clean slices are decided (mostly PASS)
    for name, criterion, data, _ in CONFIGS:
        result, messages = _judge(criterion, data)
        assert not messages, name
        assert (result.reason == Reason.OK).all() or name.startswith("group-sequential"), (
            name, result.reason)
        assert (result.verdict != Verdict.FAIL).all(), name


@st.composite
def corruptions(draw: Any) -> tuple[Any, ...]:
    name, criterion, data, fields = draw(st.sampled_from(CONFIGS))
    field = draw(st.sampled_from(fields))
    kind = draw(st.sampled_from([k for k in KINDS if _applies(field, k)]))
    delta = criterion.tolerance_type == "delta"
    v = draw(st.sampled_from([0, 1] if delta else [1]))
    i = draw(st.integers(0, B - 1))
    warm = draw(st.booleans())
    return name, criterion, data, field, kind, v, i, warm


@settings(max_examples=600)
@given(corruptions())
def test_a_corrupted_slice_never_passes(case: tuple[Any, ...]) -> None:
    name, criterion, data, field, kind, v, i, warm = case
    state = _judge(criterion, data)[0].state if warm else None
    clean, _ = _judge(criterion, data, state)
    bad, messages = _judge(criterion, corrupt(data, field, kind, i, v), state)
    where = (name, field, kind, v, warm)
    assert bad.verdict[i] != Verdict.PASS, where
    # values of 1.7e308 are bad data: their squares overflow, and so does a sum of squares
    # times the count (a term of every variance computed from the sums)
    assert bad.verdict[i] == Verdict.INCONCLUSIVE, where
    assert bad.reason[i] in (Reason.BAD_DATA, Reason.MISSING_VALUE), (where, bad.reason[i])
    assert messages, where
    assert messages == bad.report.messages(attrs.evolve(criterion, confidence=0.95)), where
    others = np.arange(B) != i
    np.testing.assert_array_equal(bad.verdict[others], clean.verdict[others], err_msg=str(where))
    np.testing.assert_array_equal(bad.reason[others], clean.reason[others], err_msg=str(where))


@given(st.sampled_from([c for c in CONFIGS if c[1].tolerance_type == "threshold"]),
       st.sampled_from(("nan", "inf", "negative")), st.integers(0, B - 1))
def test_a_threshold_does_not_read_the_baseline(config: Any, kind: str, i: int) -> None:
    name, criterion, data, fields = config
    clean, _ = _judge(criterion, data)
    for field in fields:
        if field == "samples" and kind == "nan":
            continue
        other, _ = _judge(criterion, corrupt(data, field, kind, i, 0))
        np.testing.assert_array_equal(other.verdict, clean.verdict, err_msg=f"{name} {field}")
        np.testing.assert_array_equal(other.reason, clean.reason, err_msg=f"{name} {field}")


@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_all_missing_after_a_decision_is_not_a_pass(config: Any) -> None:
    name, criterion, data, fields = config
    state = _judge(criterion, data)[0].state
    gone = dict(data)
    for field in fields:
        if field == "count":
            continue
        gone[field] = np.full_like(np.asarray(data[field], dtype=float), np.nan)
    gone["count"] = np.full_like(data["count"], np.nan)
    result, messages = _judge(criterion, gone, state)
    assert (result.verdict == Verdict.INCONCLUSIVE).all(), name
    assert (result.reason == Reason.MISSING_VALUE).all(), (name, result.reason)
    assert messages, name


def test_every_method_is_covered() -> None:
    covered = {c[1].method for c in CONFIGS}
    assert covered == {"point", "bayes", "sequential", "fixed", "group_sequential", "ranks",
                       "test_mean_bound"}
    for method in covered:
        assert get_method(method).name == method


def test_the_issue_examples() -> None:
    # a negative mean latency, and a sum of squares below sum**2 / n: never a PASS
    n = np.array([5000.0, 5000.0])
    m = np.array([0.1, -0.09])
    neg = Observations(count=n, value=m, sum=n * m, sumsq=n * (m**2 + 0.02**2))
    m2 = np.array([0.1, 0.09])
    low = Observations(count=n, value=m2, sum=n * m2, sumsq=0.5 * n * m2**2)
    for method in ("bayes", "sequential", "fixed", "point"):
        c = Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                      method=method)
        for obs in (neg, low):
            if method == "point" and obs is low:
                continue  # the point method reads no sum of squares
            with pytest.warns(InsufficientDataWarning, match="bad data"):
                r = evaluate_criterion(c, obs)
            assert int(r.verdict) == Verdict.INCONCLUSIVE, method
            assert int(r.reason) == Reason.BAD_DATA, method
    gs = Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                   method="group_sequential", options={"looks": 3})
    with pytest.warns(InsufficientDataWarning, match="bad data"):
        r = evaluate_criterion(gs, neg)
    assert int(r.reason) == Reason.BAD_DATA


def test_a_non_numeric_dtype_is_a_spec_error() -> None:
    from canarystats import SpecError

    with pytest.raises(SpecError, match="`count` must hold numbers"):
        Observations(count=np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
                     value=[0.1, 0.2])
    with pytest.raises(SpecError, match="`value` must hold numbers"):
        Observations(count=[1.0, 2.0], value=["a", "b"])


def test_misspelt_options_are_errors_not_silent_extras() -> None:
    from canarystats import SpecError, load_experiment

    with pytest.raises(SpecError, match=r"unknown option 'sequentail_test'; its options are"):
        Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                  method="sequential", options={"sequentail_test": "msprt"})
    with pytest.raises(SpecError, match=r"did you mean the option 'sequential_test'"):
        Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                  method="sequential", extras={"sequentail_test": "msprt"})
    with pytest.raises(SpecError, match=r"an option of method 'sequential': pass it in `options`"):
        Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                  method="sequential", extras={"sequential_test": "msprt"})
    doc = """
apiVersion: iter8.tools/v1alpha1
kind: Experiment
metadata: {name: e}
spec:
  targetService: {name: s, baseline: b, candidate: c}
  analysis:
    successCriteria:
      - {metricName: iter8_error_rate, toleranceType: delta, tolerance: 0.2,
         method: sequential, options: {sequential_test: msprt, burn_in: -1}}
"""
    with pytest.raises(SpecError, match=r"successCriteria\[0\]\.options\.burn_in"):
        load_experiment(doc)
    flat = doc.replace("options: {sequential_test: msprt, burn_in: -1}", "sequential_test: msprt")
    assert load_experiment(flat).criteria[0].options.sequential_test == "msprt"
    typo = doc.replace("options: {sequential_test: msprt, burn_in: -1}", "options: {sequentail: 1}")
    with pytest.raises(SpecError, match=r"options.*unknown option 'sequentail'"):
        load_experiment(typo)


@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_states_compare_nan_equal(config: Any) -> None:
    # a fresh state equals itself (NaN equals NaN), and so does a state after an update
    name, criterion, data, _ = config
    c = attrs.evolve(criterion, confidence=0.95)
    method = get_method(c.method)
    assert method.init(c, (B,)) == method.init(c, (B,)), name
    first, _ = _judge(criterion, data)
    second, _ = _judge(criterion, data)
    assert first.state == second.state, name


def test_every_corruption_of_every_field_exhaustively() -> None:
    # the Hypothesis test above samples this finite space; here every case runs once
    # (configuration x field x kind x version x slice x fresh or warm state)
    failures = []
    cases = 0
    for name, criterion, data, fields in CONFIGS:
        for field in fields:
            for kind in (k for k in KINDS if _applies(field, k)):
                for v in ([0, 1] if criterion.tolerance_type == "delta" else [1]):
                    for i in range(B):
                        for warm in (False, True):
                            cases += 1
                            case = (name, criterion, data, field, kind, v, i, warm)
                            try:
                                test_a_corrupted_slice_never_passes.hypothesis.inner_test(case)
                            except AssertionError as err:
                                failures.append((name, field, kind, v, i, warm, str(err)[:120]))
    assert cases > 2000
    assert failures == []


def test_step_results_carry_the_reports_of_the_warnings() -> None:
    # a service or a thread reads the diagnostics from the result, not from the warnings filter
    from canarystats import ExperimentSpec, TrafficControl, initial_state, step

    c = _crit("iter8_error_rate", "delta", 0.5, "bayes")
    spec = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c",
                          traffic_control=TrafficControl(), criteria=[c])
    data = corrupt(_rate(), "successes", "above_count", 1, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, result = step(spec, initial_state(spec, (B,)), {c.metric: Observations(**data)})
    (report,) = result.reports
    assert report.bad.tolist() == [False, True, False]
    emitted = [str(w.message) for w in caught if issubclass(w.category, InsufficientDataWarning)]
    assert emitted == report.messages(c)
    assert "above `count`" in emitted[0]
