"""Replay of recorded rollouts: bundled data, metric arithmetic, batches, validation."""

from __future__ import annotations

import doctest
import importlib
import json
import re
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest

import canarystats
from canarystats import (
    Criterion,
    DataError,
    ExperimentSpec,
    InsufficientDataWarning,
    SpecError,
    TrafficControl,
    UnusedRowsWarning,
    data,
    replay,
    replay_all,
)
from canarystats.data.make_rollouts import tutorial_spec, write_rollouts
from canarystats.simulate import Scenario, simulate_rollouts

TUTORIAL = tutorial_spec()


def _candidate_path(result: canarystats.ReplayResult) -> list[float]:
    return result.timeline.groupby("iteration")["candidate_traffic"].first().tolist()


def _routed_path(result: canarystats.ReplayResult) -> list[float]:
    return result.timeline.groupby("iteration")["routed_candidate"].first().tolist()


# --------------------------------------------------------------------------- bundled data


@pytest.mark.parametrize("compat", [None, "iter8"])
def test_bundled_promoted_rollout_is_promoted(compat: str | None) -> None:
    result = replay(data.tutorial_experiment_path(), data.rollout_path("promoted"), compat=compat)
    assert result.outcome == "promote"
    assert result.final_traffic == (0.0, 100.0)
    assert not result.aborted
    assert result.end_iteration == 8
    # 0 -> 20 (first assessment, data insufficient) -> 40 -> 60 -> 80, then held at 80.
    assert _candidate_path(result) == [20.0, 40.0, 60.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0]
    assert _routed_path(result) == [20.0, 40.0, 60.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0]
    verdicts = result.timeline["verdict"].tolist()
    assert verdicts == ["INCONCLUSIVE"] + ["PASS"] * 8
    assert result.timeline["reason"].iloc[0] == "INSUFFICIENT_SAMPLE"


@pytest.mark.parametrize("compat", [None, "iter8"])
def test_bundled_rolled_back_rollout_is_rolled_back(compat: str | None) -> None:
    result = replay(TUTORIAL, data.load_rollout("rolled_back"), compat=compat)
    assert result.outcome == "rollback"
    assert result.final_traffic == (100.0, 0.0)
    assert not result.aborted  # latency is not a counter and stopOnFailure is false
    assert result.end_iteration == 8
    # The first assessment increments to 20 although the data are insufficient; then it holds.
    assert _candidate_path(result) == [20.0] * 9
    tl = result.timeline
    assert tl["verdict"].tolist() == ["INCONCLUSIVE"] + ["FAIL"] * 8
    assert (tl["candidate_value"].iloc[1:] > 0.2).all()
    assert (tl["candidate_sample_size"].iloc[1:] >= 6).all()


def test_bundled_files_replay_without_warnings() -> None:
    # filterwarnings = error: any warning would fail this test.
    for name in data.ROLLOUTS:
        for compat in (None, "iter8"):
            replay(TUTORIAL, data.rollout_path(name), compat=compat)


def test_tutorial_experiment_loads_as_the_spec_of_make_rollouts() -> None:
    loaded = canarystats.load_experiment(data.tutorial_experiment_path())
    assert loaded.baseline == TUTORIAL.baseline
    assert loaded.candidate == TUTORIAL.candidate
    assert loaded.traffic_control == TUTORIAL.traffic_control
    assert loaded.criteria == TUTORIAL.criteria


def test_regenerating_the_bundled_rollouts_is_byte_identical(tmp_path: Path) -> None:
    paths = write_rollouts(tmp_path)
    assert [p.name for p in paths] == [data.rollout_path(n).name for n in data.ROLLOUTS]
    for name in data.ROLLOUTS:
        bundled = data.rollout_path(name)
        assert (tmp_path / bundled.name).read_bytes() == bundled.read_bytes()


def test_data_package() -> None:
    assert data.ROLLOUTS == ("rolled_back", "promoted")
    assert data.tutorial_experiment_path().name == "tutorial-experiment.yaml"
    assert data.tutorial_experiment_path().is_file()
    table = data.load_rollout("promoted")
    assert len(table) == 98  # 49 scrapes (0..240 s every 5 s) x 2 versions
    assert isinstance(table["timestamp"].dtype, pd.DatetimeTZDtype)
    with pytest.raises(SpecError, match=r"`name` must be one of \['rolled_back', 'promoted'\]"):
        data.rollout_path("nope")
    with pytest.raises(SpecError, match="rolled_back"):
        data.load_rollout("rolled-back")


def test_result_summary_and_to_dict_are_json() -> None:
    result = replay(TUTORIAL, data.rollout_path("promoted"))
    summary = result.summary()
    assert summary["outcome"] == "promote"
    assert [it["candidate_traffic"] for it in summary["iterations"]][:4] == [20, 40, 60, 80]
    assert summary["iterations"][1]["verdicts"] == ["PASS"]
    full = json.loads(json.dumps(result.to_dict()))
    assert len(full["timeline"]) == 9
    assert full["timeline"][0]["timestamp"] == "2020-06-01T12:00:00+00:00"
    assert "run" not in repr(result)


def test_experiment_as_yaml_text() -> None:
    text = data.tutorial_experiment_path().read_text()
    result = replay(text, data.rollout_path("promoted"))
    assert result.outcome == "promote"


def test_module_doctests() -> None:
    # `canarystats.replay` is the function; the module is found by its full name.
    modules = ["canarystats.replay", "canarystats.simulate", "canarystats.adapters.frames",
               "canarystats.adapters.rollout_series", "canarystats.data"]  # fmt: skip
    for module in map(importlib.import_module, modules):
        failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert attempted > 0, module.__name__
        assert failed == 0, module.__name__


# --------------------------------------------------------------------------- arithmetic


def _hand_spec(max_iterations: int = 2) -> ExperimentSpec:
    return ExperimentSpec(
        name="hand",
        target_service="svc",
        baseline="v1",
        candidate="v2",
        traffic_control=TrafficControl(
            interval="10s", step_size=10, max_iterations=max_iterations, max_traffic_percent=50
        ),
        criteria=[
            Criterion(metric=m, tolerance_type="threshold", tolerance=t, sample_size=5)
            for m, t in [
                ("iter8_sample_size", 1e6),
                ("iter8_latency", 0.2),
                ("iter8_error_count", 100.0),
                ("iter8_error_rate", 0.5),
            ]
        ],
    )


def _hand_table() -> pd.DataFrame:
    # Scrapes at 0, 4, 12 and 20 s (numeric seconds); assessments at 0, 10, 20 s with
    # windows 1 s (clamped), 10 s and 20 s.
    rows = [
        # t, version, requests, errors_5xx, latency_sum, latency_count, le_0.1, le_inf
        (0.0, "v1", 1000, 10, 100.0, 1000, 500, 1000),
        (4.0, "v1", 1040, 10, 104.0, 1040, 520, 1040),
        (12.0, "v1", 1120, 12, 112.8, 1120, 560, 1120),
        (20.0, "v1", 1200, 14, 121.6, 1200, 600, 1200),
        (0.0, "v2", 0, 0, 0.0, 0, 0, 0),
        (4.0, "v2", 0, 0, 0.0, 0, 0, 0),
        (12.0, "v2", 16, 1, 2.4, 16, 4, 16),
        (20.0, "v2", 32, 2, 4.0, 32, 8, 32),
    ]
    cols = ["timestamp", "version", "requests", "errors_5xx", "latency_sum", "latency_count"]
    return pd.DataFrame(rows, columns=[*cols, "bucket_le_0.1", "bucket_le_inf"])


def test_metric_arithmetic_on_a_hand_built_table() -> None:
    result = replay(_hand_spec(), _hand_table())
    tl = result.timeline.set_index(["iteration", "metric"])
    nan = float("nan")
    # Assessment 0, window [0, 1]: 1 s is 1/4 of the way from the 0 s to the 4 s scrape.
    #   v1: requests 1000 + 40/4 = 1010 -> increase 10; errors +0; latency sum +1.0, count +10
    #       -> latency 1.0 / 10 = 0.1, error rate 0 / 10 = 0.
    #   v2: nothing yet -> sample size 0, latency 0/0 = NaN, error rate 0/0 = NaN.
    # Assessment 1, window [0, 10]: 10 s is 6/8 = 0.75 of the way from 4 s to 12 s.
    #   v1: requests 1040 + 0.75 * 80 = 1100 -> +100; errors 10 + 0.75 * 2 = 11.5 -> +1.5;
    #       latency sum 104 + 0.75 * 8.8 = 110.6 -> +10.6 -> latency 10.6 / 100 = 0.106;
    #       error rate 1.5 / 100 = 0.015.
    #   v2: requests 0.75 * 16 = 12; errors 0.75; latency sum 0.75 * 2.4 = 1.8 -> 0.15;
    #       error rate 0.75 / 12 = 0.0625, which '%.3f' rounds to 0.062 (exact tie, to even).
    # Assessment 2, window [0, 20]: exactly the last scrape.
    #   v1: +200 requests, +4 errors, latency 21.6 / 200 = 0.108, error rate 0.02.
    #   v2: +32 requests, +2 errors, latency 4.0 / 32 = 0.125, error rate 0.0625 -> 0.062.
    expected = {
        # iteration: (sample size v1, v2; latency v1, v2; errors v1, v2; rate v1, v2)
        0: (10.0, 0.0, 0.1, nan, 0.0, 0.0, 0.0, nan),
        1: (100.0, 12.0, 0.106, 0.15, 1.5, 0.75, 0.015, 0.062),
        2: (200.0, 32.0, 0.108, 0.125, 4.0, 2.0, 0.02, 0.062),
    }
    for k, (n1, n2, l1, l2, e1, e2, r1, r2) in expected.items():
        for metric, (b, c) in {
            "iter8_sample_size": (n1, n2),
            "iter8_latency": (l1, l2),
            "iter8_error_count": (e1, e2),
            "iter8_error_rate": (r1, r2),
        }.items():
            row = tl.loc[(k, metric)]
            np.testing.assert_equal(
                [row["baseline_value"], row["candidate_value"]], [b, c], err_msg=f"{k} {metric}"
            )
            assert row["baseline_sample_size"] == n1
            assert row["candidate_sample_size"] == n2
    assert result.timeline["window"].unique().tolist() == [1.0, 10.0, 20.0]
    assert result.timeline["time"].unique().tolist() == [0.0, 10.0, 20.0]
    # Assessment 0: the candidate's 0 requests are insufficient (5 needed): INCONCLUSIVE.
    assert set(tl.loc[0]["verdict"]) == {"INCONCLUSIVE"}
    assert set(tl.loc[1]["verdict"]) == set(tl.loc[2]["verdict"]) == {"PASS"}
    assert _candidate_path(result) == [10.0, 20.0, 30.0]
    assert result.outcome == "promote"

    # The unrounded observations: sums, successes and per-bucket increases.
    obs = result.run.observations[1]
    np.testing.assert_allclose(obs["iter8_latency"].sum, [10.6, 1.8])
    np.testing.assert_allclose(obs["iter8_error_rate"].successes, [1.5, 0.75])
    last = result.run.observations[2]["iter8_latency"]
    # Cumulative bucket increases v1 [100, 200], v2 [8, 32] -> per bucket [100, 100], [8, 24].
    np.testing.assert_array_equal(last.buckets, [[100.0, 100.0], [8.0, 24.0]])
    np.testing.assert_array_equal(last.bucket_bounds, [0.1, np.inf])


def test_no_criteria_gives_one_row_per_assessment() -> None:
    spec = attrs.evolve(_hand_spec(), criteria=())
    result = replay(spec, _hand_table())
    tl = result.timeline
    assert len(tl) == 3
    assert tl["criterion"].isna().all()
    assert tl["verdict"].isna().all()
    assert tl["candidate_traffic"].tolist() == [10.0, 20.0, 30.0]
    assert result.outcome == "promote"
    json.dumps(result.to_dict())


def test_timeline_columns() -> None:
    result = replay(_hand_spec(), _hand_table())
    assert list(result.timeline.columns) == [
        "iteration", "time", "timestamp", "window", "baseline_traffic", "candidate_traffic",
        "routed_candidate", "criterion", "metric", "tolerance_type", "baseline_value",
        "candidate_value", "baseline_sample_size", "candidate_sample_size", "verdict",
        "reason", "abort", "all_passed", "changed",
    ]  # fmt: skip
    assert len(result.timeline) == 3 * 4
    assert result.timeline["criterion"].tolist() == [0, 1, 2, 3] * 3
    assert result.timeline["timestamp"].tolist()[::4] == [0.0, 10.0, 20.0]


def test_start_moves_the_origin() -> None:
    table = _hand_table()
    assert replay(_hand_spec(), table, start=0.0).timeline.equals(
        replay(_hand_spec(), table).timeline
    )
    spec = _hand_spec(max_iterations=1)
    # From 4 s: window 10 s ends at 14 s, 2/8 of the way from 12 s to 20 s.
    # v2 requests: 16 + 0.25 * 16 = 20 at 14 s, 0 at 4 s -> 20.
    tl = replay(spec, table, start=4.0).timeline
    row = tl[(tl["iteration"] == 1) & (tl["metric"] == "iter8_sample_size")].iloc[0]
    assert row["candidate_value"] == 20.0
    assert row["time"] == 10.0
    assert row["timestamp"] == 14.0


def test_assessment_past_the_data_is_inconclusive_and_warns() -> None:
    table = _hand_table()
    table = table[table["timestamp"] <= 12.0]  # the last assessment's window ends at 20 s
    # One warning from the replay, and the criteria's own warnings about missing values.
    with pytest.warns(InsufficientDataWarning) as record:
        result = replay(_hand_spec(), table)
    messages = [str(w.message) for w in record]
    assert any(re.search(r"assessments \[2\].*after the last scrape", m) for m in messages)
    assert any("had missing values" in m for m in messages)
    last = result.timeline[result.timeline["iteration"] == 2]
    assert set(last["verdict"]) == {"INCONCLUSIVE"}
    assert set(last["reason"]) == {"MISSING_VALUE"}
    assert last["candidate_sample_size"].isna().all()
    assert result.outcome == "rollback"  # an inconclusive last assessment rolls back


def test_assessment_past_the_data_never_passes_in_iter8_compat() -> None:
    table = _hand_table()
    table = table[table["timestamp"] <= 12.0]
    with pytest.warns(InsufficientDataWarning, match="after the last scrape"):
        result = replay(_hand_spec(), table, compat="iter8")  # iter8 compat: no other warning
    last = result.timeline[result.timeline["iteration"] == 2]
    assert "PASS" not in set(last["verdict"])
    assert result.outcome == "rollback"


def test_nan_counters_stay_nan() -> None:
    table = data.load_rollout("promoted")
    last = table["timestamp"] == table["timestamp"].max()
    table.loc[last & (table["version"] == "reviews-v3"), "latency_sum"] = np.nan
    with pytest.warns(InsufficientDataWarning, match="missing values"):
        result = replay(TUTORIAL, table)
    row = result.timeline.iloc[-1]
    assert row["verdict"] == "INCONCLUSIVE"
    assert row["reason"] == "MISSING_VALUE"
    assert np.isnan(row["candidate_value"])
    assert result.outcome == "rollback"


# --------------------------------------------------------------------------- batches


def _several_rollouts() -> pd.DataFrame:
    good = Scenario(request_rate=4.0, mean_latency=(0.1, 0.12), latency_cv=0.5)
    bad = Scenario(request_rate=4.0, mean_latency=(0.1, 0.3), latency_cv=0.5)
    a = simulate_rollouts(TUTORIAL, good, n_rollouts=2, rng=1)
    a["rollout"] = a["rollout"].astype(str)
    # Other scrape times and lengths: every 7 s through 245 s, from another start.
    b = simulate_rollouts(
        TUTORIAL, bad, n_rollouts=2, scrape_interval=7.0, start="2021-03-04T05:06:07Z", rng=2
    )
    b["rollout"] = b["rollout"].map({0: "slow-0", 1: "slow-1"})
    # A third kind: a longer run (to 300 s) with scrapes every 10 s.
    long_spec = attrs.evolve(
        TUTORIAL, traffic_control=attrs.evolve(TUTORIAL.traffic_control, max_iterations=10)
    )
    c = simulate_rollouts(long_spec, good, n_rollouts=1, scrape_interval=10.0, rng=3)
    c["rollout"] = "long"
    return pd.concat([a, b, c], ignore_index=True)


@pytest.mark.parametrize("compat", [None, "iter8"])
def test_replay_all_equals_replaying_each(compat: str | None) -> None:
    table = _several_rollouts()
    results = replay_all(TUTORIAL, table, compat=compat)
    assert list(results) == ["0", "1", "slow-0", "slow-1", "long"]
    outcomes = {k: r.outcome for k, r in results.items()}
    assert outcomes == {
        "0": "promote", "1": "promote", "slow-0": "rollback", "slow-1": "rollback",
        "long": "promote",
    }  # fmt: skip
    for rid, batched in results.items():
        alone = replay(TUTORIAL, table[table["rollout"] == rid], compat=compat)
        pd.testing.assert_frame_equal(batched.timeline, alone.timeline)
        assert batched == alone  # rollout, outcome, final traffic, aborted, end iteration
        np.testing.assert_array_equal(batched.run.routed, alone.run.routed)
        assert batched.run.steps[-1].traffic.shape == (2,)


def test_replay_of_several_rollouts_raises() -> None:
    with pytest.raises(DataError, match=r"holds 5 rollouts .*use replay_all\(\)"):
        replay(TUTORIAL, _several_rollouts())


def test_csv_and_parquet_give_the_same_result(tmp_path: Path) -> None:
    table = _several_rollouts()
    csv, parquet = tmp_path / "r.csv", tmp_path / "r.parquet"
    table.to_csv(csv, index=False)
    table.to_parquet(parquet)
    from_csv = replay_all(TUTORIAL, csv)
    from_parquet = replay_all(TUTORIAL, parquet)
    from_frame = replay_all(TUTORIAL, table)
    for rid in from_frame:
        pd.testing.assert_frame_equal(from_csv[rid].timeline, from_frame[rid].timeline)
        pd.testing.assert_frame_equal(from_parquet[rid].timeline, from_frame[rid].timeline)


def test_timestamp_kinds_agree() -> None:
    table = data.load_rollout("promoted")
    reference = replay(TUTORIAL, table).timeline
    other_tz = table.assign(timestamp=table["timestamp"].dt.tz_convert("Europe/Paris"))
    strings = pd.read_csv(data.rollout_path("promoted"))
    seconds = table.assign(
        timestamp=(table["timestamp"] - table["timestamp"].min()).dt.total_seconds()
    )
    # Naive datetimes are rejected (tests/test_replay_input.py).
    for variant in (other_tz, strings):
        pd.testing.assert_frame_equal(replay(TUTORIAL, variant).timeline, reference)
    numeric = replay(TUTORIAL, seconds).timeline
    pd.testing.assert_frame_equal(
        numeric.drop(columns="timestamp"), reference.drop(columns="timestamp")
    )


# --------------------------------------------------------------------------- validation


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.read_csv(data.rollout_path("promoted"))


def test_missing_column(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"missing required column\(s\) \['latency_sum'\]"):
        replay(TUTORIAL, table.drop(columns="latency_sum"))


def test_unparseable_timestamp(table: pd.DataFrame) -> None:
    table.loc[3, "timestamp"] = "yesterday noon"
    with pytest.raises(DataError, match=r"unparseable timestamp 'yesterday noon' \(row 3\)"):
        replay(TUTORIAL, table)


def test_version_absent(table: pd.DataFrame) -> None:
    spec = attrs.evolve(TUTORIAL, candidate="reviews-v9")
    with pytest.raises(
        DataError, match=r"'reviews-v9' \(candidate of the experiment\) has no rows"
    ):
        replay(spec, table)


def test_version_absent_in_one_rollout() -> None:
    table = _several_rollouts()
    table = table[~((table["rollout"] == "long") & (table["version"] == "reviews-v2"))]
    with pytest.raises(DataError, match="rollout 'long' has no rows of version 'reviews-v2'"):
        replay_all(TUTORIAL, table)


def test_negative_counter(table: pd.DataFrame) -> None:
    table.loc[5, "errors_5xx"] = -1
    with pytest.raises(
        DataError, match=r"`errors_5xx` holds -1.0 for version 'reviews-v3' at timestamp '2020"
    ):
        replay(TUTORIAL, table)


def test_decreasing_counter(table: pd.DataFrame) -> None:
    table.loc[table["timestamp"] == "2020-06-01T12:01:00Z", "requests"] = 1
    with pytest.raises(
        DataError,
        match=r"`requests` of version 'reviews-v2' decreases at timestamp "
        r"'2020-06-01T12:01:00Z'",
    ):
        replay(TUTORIAL, table)


def test_non_numeric_counter(table: pd.DataFrame) -> None:
    table["latency_count"] = table["latency_count"].astype(object)
    table.loc[7, "latency_count"] = "many"
    with pytest.raises(DataError, match=r"`latency_count` holds a non-numeric value 'many'"):
        replay(TUTORIAL, table)


def test_duplicate_rows(table: pd.DataFrame) -> None:
    # An exact duplicate is dropped and counted (tests/test_replay_input.py); a conflicting
    # one is an error.
    doubled = pd.concat([table, table.iloc[[10]].assign(requests=1e6)], ignore_index=True)
    with pytest.raises(
        DataError,
        match=r"conflicting duplicate rows for rollout '0', version 'reviews-v2', "
        r"timestamp '2020-06-01T12:00:25Z'",
    ):
        replay(TUTORIAL, doubled)


def test_unknown_metric(table: pd.DataFrame) -> None:
    spec = attrs.evolve(
        TUTORIAL,
        criteria=[Criterion(metric="iter8_throughput", tolerance_type="threshold", tolerance=1)],
    )
    with pytest.raises(DataError, match=r"'iter8_throughput'.*known metrics: \['iter8_error"):
        replay(spec, table)


def test_bad_compat(table: pd.DataFrame) -> None:
    with pytest.raises(SpecError, match=r"`compat` must be one of \[None, 'iter8'\], got 'istio'"):
        replay(TUTORIAL, table, compat="istio")


def test_bad_bucket_columns(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="must end with 'bucket_le_inf'"):
        replay(TUTORIAL, table.drop(columns="bucket_le_inf"))
    with pytest.raises(DataError, match="'bucket_le_big' is not a bucket column"):
        replay(TUTORIAL, table.rename(columns={"bucket_le_10": "bucket_le_big"}))


def test_unknown_file_kind(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot tell the format of .*r\.json"):
        replay(TUTORIAL, tmp_path / "r.json")


def test_other_versions_warn_and_are_not_used(table: pd.DataFrame) -> None:
    other = table[table["version"] == "reviews-v2"].assign(version="reviews-v1")
    with pytest.warns(UnusedRowsWarning, match=r"49 rows of version\(s\) \['reviews-v1'\]"):
        result = replay(TUTORIAL, pd.concat([table, other], ignore_index=True))
    pd.testing.assert_frame_equal(result.timeline, replay(TUTORIAL, table).timeline)
    assert issubclass(UnusedRowsWarning, canarystats.CanaryStatsWarning)


def test_recorded_rollouts_doc_examples_run() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "recorded-rollouts.md"
    result = doctest.testfile(str(doc), module_relative=False)
    assert result.attempted > 0
    assert result.failed == 0
