"""Robust replay input: each defect of a recorded rollout gets its documented repair or error.

The rules are in ``docs/recorded-rollouts.md`` ("Validation and repairs") and in
``canarystats.adapters.frames.load_rollouts``. Every test builds a small table by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from canarystats import (
    Criterion,
    DataError,
    ExperimentSpec,
    InputReport,
    InsufficientDataWarning,
    SpecError,
    TrafficControl,
    UnusedRowsWarning,
    data,
    replay,
    replay_all,
)
from canarystats.adapters.frames import GAP_FACTOR, CounterReset, ScrapeGap, load_rollouts

COUNTERS = ["requests", "errors_5xx", "latency_sum", "latency_count", "bucket_le_0.1",
            "bucket_le_inf"]  # fmt: skip
START = pd.Timestamp("2020-06-01T12:00:00Z")


def _spec() -> ExperimentSpec:
    return ExperimentSpec(
        name="input",
        target_service="svc",
        baseline="v1",
        candidate="v2",
        traffic_control=TrafficControl(
            interval="10s", step_size=10, max_iterations=6, max_traffic_percent=50
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


SPEC = _spec()


def _table() -> pd.DataFrame:
    """Scrapes of v1 and v2 every 10 s from 0 to 60 s (k = 0..6), numeric seconds.

    v1: requests 1000 + 100k, errors 10 + k, latency sum 100 + 10.5k, le_0.1 500 + 60k;
    v2: requests 40k, errors 2k, latency sum 4.5k, le_0.1 24k (values exact in binary).
    """
    k = np.arange(7)
    v1 = pd.DataFrame({"timestamp": 10.0 * k, "version": "v1", "requests": 1000 + 100 * k,
                       "errors_5xx": 10 + k, "latency_sum": 100 + 10.5 * k,
                       "latency_count": 1000 + 100 * k, "bucket_le_0.1": 500 + 60 * k,
                       "bucket_le_inf": 1000 + 100 * k})  # fmt: skip
    v2 = pd.DataFrame({"timestamp": 10.0 * k, "version": "v2", "requests": 40 * k,
                       "errors_5xx": 2 * k, "latency_sum": 4.5 * k, "latency_count": 40 * k,
                       "bucket_le_0.1": 24 * k, "bucket_le_inf": 40 * k})  # fmt: skip
    table = pd.concat([v1, v2], ignore_index=True)
    table[COUNTERS] = table[COUNTERS].astype(np.float64)
    return table


def _timeline(table: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    return replay(SPEC, table, **kwargs).timeline  # type: ignore[arg-type]


def _with_datetimes(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(timestamp=START + pd.to_timedelta(table["timestamp"], unit="s"))


def test_a_clean_table_has_a_clean_report() -> None:
    result = replay(SPEC, _table())
    report = result.input_report
    assert report == InputReport(rows_read=14, rows_used=14)
    assert report.clean
    assert str(report) == report.summary() == "14 rows read, 14 used"
    assert result.outcome == "promote"
    assert load_rollouts(_table(), "v1", "v2").report == report


# --------------------------------------------------------------------------- order, duplicates


def test_unsorted_rows_are_sorted_and_counted() -> None:
    table = _table()
    reference = _timeline(table)
    # Reversed: in each of the two series of 7 scrapes, every row after the first read comes
    # before one read earlier: 6 + 6 rows out of order.
    reversed_ = table.iloc[::-1].reset_index(drop=True)
    result = replay(SPEC, reversed_)
    pd.testing.assert_frame_equal(result.timeline, reference)
    assert result.input_report.rows_out_of_order == 12
    # One swap of v1's scrapes at 20 s and 30 s: one row out of order.
    swapped = table.iloc[[0, 1, 3, 2, 4, 5, 6, *range(7, 14)]].reset_index(drop=True)
    result = replay(SPEC, swapped)
    pd.testing.assert_frame_equal(result.timeline, reference)
    assert result.input_report.rows_out_of_order == 1
    assert "1 out of order (sorted)" in str(result.input_report)
    # Interleaving the versions is not disorder.
    interleaved = table.iloc[np.argsort(np.r_[np.arange(7), np.arange(7)], kind="stable")]
    assert replay(SPEC, interleaved).input_report.rows_out_of_order == 0


def test_an_exact_duplicate_is_dropped_and_counted() -> None:
    table = _table()
    doubled = pd.concat([table, table.iloc[[3, 10]]], ignore_index=True)
    result = replay(SPEC, doubled)
    pd.testing.assert_frame_equal(result.timeline, _timeline(table))
    report = result.input_report
    assert (report.rows_read, report.rows_used, report.duplicates_dropped) == (16, 14, 2)
    assert str(report) == "16 rows read, 14 used; 2 exact duplicates dropped"


def test_a_duplicate_at_the_same_instant_in_another_offset_is_exact() -> None:
    table = _with_datetimes(_table())
    strings = table.assign(timestamp=table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    again = strings.iloc[[4]].assign(timestamp="2020-06-01T14:00:40+02:00")  # = 12:00:40Z
    report = replay(SPEC, pd.concat([strings, again], ignore_index=True)).input_report
    assert report.duplicates_dropped == 1


def test_a_conflicting_duplicate_errors() -> None:
    table = _table()
    conflicting = table.iloc[[10]].assign(errors_5xx=99.0)
    with pytest.raises(
        DataError,
        match=r"conflicting duplicate rows for rollout '0', version 'v2', timestamp 30.0 "
        r"\(rows 10 and 14\): `errors_5xx` is 6.0 in one and 99.0 in the other",
    ):
        replay(SPEC, pd.concat([table, conflicting], ignore_index=True))


# --------------------------------------------------------------------------- counter resets


def _restart(table: pd.DataFrame, version: str, at: float) -> pd.DataFrame:
    """The table as if ``version``'s process restarted just after its scrape at ``at`` s.

    From then on its counters count from 0: each later value loses the value at ``at``.
    """
    out = table.copy()
    rows = out["version"] == version
    base = out.loc[rows & (out["timestamp"] == at), COUNTERS].to_numpy()[0]
    later = rows & (out["timestamp"] > at)
    out.loc[later, COUNTERS] = out.loc[later, COUNTERS].to_numpy() - base
    return out


def test_a_reset_of_all_counters_is_repaired_as_increase_does() -> None:
    table = _table()
    reset = _restart(table, "v2", at=30.0)
    # v2's requests at 0..60 s: 0, 40, 80, 120, then 40, 80, 120 (restart after 30 s).
    assert reset.loc[reset["version"] == "v2", "requests"].tolist() == [0, 40, 80, 120, 40, 80, 120]
    # increase() takes the drop 120 -> 40 as a reset: the increase across it is 40 (not -80),
    # so 120 is added from 40 s on: 160, 200, 240 -- the counters without the restart. The
    # assessment at 50 s sees an increase of 120 + 80 = 200 requests and 20 s of latency sum
    # 13.5 + 9.0 = 22.5 s; e.g. the v2 latency there is 22.5 / 200 = 0.1125 -> 0.113 (rounded).
    result = replay(SPEC, reset)
    pd.testing.assert_frame_equal(result.timeline, _timeline(table))
    tl = result.timeline.set_index(["iteration", "metric"])
    assert tl.loc[(5, "iter8_sample_size"), "candidate_value"] == 200.0
    assert tl.loc[(5, "iter8_latency"), "candidate_value"] == 0.113
    report = result.input_report
    assert report.resets == (
        CounterReset(
            rollout="0",
            version="v2",
            timestamp=40.0,
            columns=tuple(COUNTERS),
            before=(120.0, 6.0, 13.5, 120.0, 72.0, 120.0),
            after=(40.0, 2.0, 4.5, 40.0, 24.0, 40.0),
        ),
    )
    assert report.rows_used == 14
    assert "1 counter reset repaired: v2 at 40.0 (rollout 0)" in str(report)
    series = load_rollouts(reset, "v1", "v2")
    assert (np.diff(series.counters, axis=2) >= 0).all()  # monotone again


def test_several_resets_and_a_counter_that_stays_at_zero() -> None:
    # v2 never errs: at a reset its error counter stays at 0 ("at or below" the previous).
    table = _table()
    table.loc[table["version"] == "v2", "errors_5xx"] = 0.0
    twice = _restart(_restart(table, "v2", at=20.0), "v2", at=40.0)
    twice = _restart(twice, "v1", at=50.0)
    result = replay(SPEC, twice)
    pd.testing.assert_frame_equal(result.timeline, _timeline(table))
    resets = result.input_report.resets
    assert [(r.version, r.timestamp) for r in resets] == [("v1", 60.0), ("v2", 30.0), ("v2", 50.0)]
    assert "errors_5xx" not in resets[1].columns
    assert resets[1].columns == ("requests", "latency_sum", "latency_count", "bucket_le_0.1",
                                 "bucket_le_inf")  # fmt: skip


def test_a_reset_with_a_nan_counter_at_the_reset_scrape() -> None:
    # The NaN is skipped over: errors restart at their next value, which gets the offset too.
    table = _table()
    at_40 = (table["version"] == "v2") & (table["timestamp"] == 40.0)
    reset = _restart(table, "v2", at=30.0)
    reset.loc[at_40, "errors_5xx"] = np.nan
    expected = table.copy()
    expected.loc[at_40, "errors_5xx"] = np.nan
    with pytest.warns(InsufficientDataWarning, match="missing values"):
        result = replay(SPEC, reset)
    with pytest.warns(InsufficientDataWarning, match="missing values"):
        pd.testing.assert_frame_equal(result.timeline, _timeline(expected))
    assert "errors_5xx" not in result.input_report.resets[0].columns


def test_a_single_decreasing_counter_errors() -> None:
    table = _table()
    # v2's latency sum drops from 13.5 to 1.0 at 40 s while its requests grow 120 -> 160.
    table.loc[(table["version"] == "v2") & (table["timestamp"] == 40.0), "latency_sum"] = 1.0
    with pytest.raises(
        DataError,
        match=r"column `latency_sum` of version 'v2' decreases at timestamp 40.0 \(rollout '0'\): "
        r"1.0 after 13.5, while `requests` does not drop",
    ):
        replay(SPEC, table)
    # Also with invalid="drop": which of the rows is wrong cannot be told.
    with pytest.raises(DataError, match="decreases"):
        replay(SPEC, table, invalid="drop")


def test_requests_dropping_while_another_counter_rises_errors() -> None:
    table = _table()
    table.loc[(table["version"] == "v1") & (table["timestamp"] == 20.0), "requests"] = 5.0
    with pytest.raises(
        DataError,
        match=r"`requests` of version 'v1' decreases at timestamp 20.0 \(rollout '0'\): 5.0 after "
        r"1100.0, but `errors_5xx` rises \(12.0 after 11.0\), so it is not a counter reset",
    ):
        replay(SPEC, table)


def test_negative_counts_error() -> None:
    table = _table()
    table.loc[9, "errors_5xx"] = -3.0
    with pytest.raises(
        DataError,
        match=r"column `errors_5xx` holds -3.0 for version 'v2' at timestamp 20.0 "
        r"\(rollout '0'\); cumulative counters are finite and >= 0",
    ):
        replay(SPEC, table)


# --------------------------------------------------------------------------- gaps


def test_a_gap_is_reported_not_repaired() -> None:
    table = _table()
    # v1 misses its scrapes at 20, 30, 40 s: intervals 10, 10, 40, 10, 10 s, median 10 s;
    # 40 s > 3 x 10 s is a gap. The replay interpolates across it.
    holed = table[~((table["version"] == "v1") & table["timestamp"].isin([20.0, 30.0, 40.0]))]
    result = replay(SPEC, holed)
    assert result.input_report.gaps == (
        ScrapeGap(rollout="0", version="v1", start=10.0, end=50.0, seconds=40.0, typical=10.0),
    )
    assert "1 gap (not repaired): v1 40 s from 10.0 (rollout 0, typical 10 s)" in str(
        result.input_report
    )
    # The counters are linear, so interpolating across the gap gives the same replay.
    pd.testing.assert_frame_equal(result.timeline, _timeline(table))
    # Exactly 3 x the median is not a gap; a larger factor reports none.
    assert GAP_FACTOR == 3.0
    three = table[~((table["version"] == "v1") & table["timestamp"].isin([20.0, 30.0]))]
    assert replay(SPEC, three).input_report.gaps == ()
    assert load_rollouts(holed, "v1", "v2", gap_factor=5).report.gaps == ()
    assert load_rollouts(holed, "v1", "v2", gap_factor=float("inf")).report.gaps == ()


def test_gaps_in_datetime_tables_name_utc_times() -> None:
    table = _with_datetimes(_table())
    holed = table[~((table["version"] == "v2") & (table["timestamp"] > START)
                    & (table["timestamp"] < START + pd.Timedelta(seconds=60)))]  # fmt: skip
    # v2 keeps 0 s and 60 s only: one interval, its own median -- no gap.
    assert replay(SPEC, holed).input_report.gaps == ()
    holed = table[~((table["version"] == "v2") & table["timestamp"].isin(
        [START + pd.Timedelta(seconds=s) for s in (20, 30, 40)]))]  # fmt: skip
    (gap,) = replay(SPEC, holed).input_report.gaps
    assert (gap.start, gap.end) == ("2020-06-01T12:00:10+00:00", "2020-06-01T12:00:50+00:00")


# --------------------------------------------------------------------------- time zones


def test_naive_timestamps_error() -> None:
    table = _with_datetimes(_table())
    naive_strings = table.assign(timestamp=table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    with pytest.raises(
        DataError,
        match=r"column `timestamp` holds a timestamp without a UTC offset '2020-06-01T12:00:00' "
        r"\(row 0\): a naive time is ambiguous; add an offset such as '\+02:00', or 'Z' for UTC",
    ):
        replay(SPEC, naive_strings)
    naive_datetimes = table.assign(timestamp=table["timestamp"].dt.tz_localize(None))
    with pytest.raises(DataError, match=r"holds naive datetimes .*tz_localize\('UTC'\)"):
        replay(SPEC, naive_datetimes)
    # One naive row among aware ones, and a date without a time, are naive too.
    one = table.assign(timestamp=table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    one.loc[5, "timestamp"] = "2020-06-01 12:00:50"
    with pytest.raises(DataError, match=r"without a UTC offset '2020-06-01 12:00:50' \(row 5\)"):
        replay(SPEC, one)
    one.loc[5, "timestamp"] = "2020-06-01"
    with pytest.raises(DataError, match=r"without a UTC offset '2020-06-01' \(row 5\)"):
        replay(SPEC, one)
    # A naive start is rejected like naive data.
    with pytest.raises(DataError, match=r"`start` has no UTC offset: '2020-06-01T12:00:00'"):
        replay(SPEC, table, start="2020-06-01T12:00:00")


def test_mixed_offsets_equal_the_utc_table() -> None:
    table = _with_datetimes(_table())
    utc = table.assign(timestamp=table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    reference = _timeline(utc)
    plus_two = table["timestamp"].dt.tz_convert("+02:00").dt.strftime("%Y-%m-%dT%H:%M:%S+02:00")
    minus_five = table["timestamp"].dt.tz_convert("-05:00").dt.strftime("%Y-%m-%dT%H:%M:%S-0500")
    mixed = utc.copy()
    mixed.loc[::3, "timestamp"] = plus_two[::3]
    mixed.loc[1::3, "timestamp"] = minus_five[1::3]
    assert mixed.loc[0, "timestamp"] == "2020-06-01T14:00:00+02:00"
    assert mixed.loc[1, "timestamp"] == "2020-06-01T07:00:10-0500"
    pd.testing.assert_frame_equal(_timeline(mixed), reference)
    # Aware datetimes in mixed zones (an object column) too.
    objects = pd.Series(
        [t.tz_convert("Asia/Kolkata") if i % 2 else t for i, t in enumerate(table["timestamp"])],
        dtype=object,
    )
    pd.testing.assert_frame_equal(_timeline(table.assign(timestamp=objects)), reference)
    # And a start with an offset.
    shifted = replay(SPEC, mixed, start="2020-06-01T14:00:00+02:00").timeline
    pd.testing.assert_frame_equal(shifted, reference)


def test_epoch_seconds_work() -> None:
    table = _table()
    epoch = START.timestamp()  # 1590998400.0
    seconds = table.assign(timestamp=table["timestamp"] + epoch)
    aware = _timeline(_with_datetimes(table))
    tl = _timeline(seconds)
    pd.testing.assert_frame_equal(tl.drop(columns="timestamp"), aware.drop(columns="timestamp"))
    assert tl["timestamp"].tolist() == (epoch + tl["time"]).tolist()


def test_bundled_data_and_simulator_timestamps_are_aware() -> None:
    assert str(data.load_rollout("promoted")["timestamp"].dt.tz) == "UTC"
    assert pd.read_csv(data.rollout_path("promoted"))["timestamp"].str.endswith("Z").all()
    report = replay(data.tutorial_experiment_path(), data.rollout_path("promoted")).input_report
    assert report.clean
    assert report.rows_read == report.rows_used == 98


# --------------------------------------------------------------------------- other findings


def test_unknown_versions_are_counted_and_warned() -> None:
    table = _table()
    other = pd.concat([table, table.iloc[:7].assign(version="v0"),
                       table.iloc[:2].assign(version="v3")], ignore_index=True)  # fmt: skip
    with pytest.warns(UnusedRowsWarning, match=r"9 rows of version\(s\) \['v0', 'v3'\]"):
        result = replay(SPEC, other)
    pd.testing.assert_frame_equal(result.timeline, _timeline(table))
    report = result.input_report
    assert report.rows_not_compared == {"v0": 7, "v3": 2}
    assert str(report) == "23 rows read, 14 used; 9 of versions not compared (v0: 7, v3: 2)"


def test_nan_counters_are_kept_and_counted() -> None:
    table = _table()
    table.loc[13, "latency_sum"] = np.nan  # v2 at 60 s: the last assessment's latency
    table.loc[12, ["latency_sum", "bucket_le_0.1"]] = np.nan
    with pytest.warns(InsufficientDataWarning, match="missing values"):
        result = replay(SPEC, table)
    report = result.input_report
    assert report.rows_used == 14
    assert report.rows_with_nan == 2
    assert report.nan_counters == {"latency_sum": 2, "bucket_le_0.1": 1}
    assert "2 rows with NaN counters kept (latency_sum: 2, bucket_le_0.1: 1)" in str(report)
    last = result.timeline[result.timeline["iteration"] == 6].set_index("metric")
    assert last.loc["iter8_latency", "verdict"] == "INCONCLUSIVE"


def _messy() -> pd.DataFrame:
    """Every defect at once (with invalid rows that ``invalid="drop"`` rejects)."""
    table = _with_datetimes(_restart(_table(), "v2", at=30.0))
    table["timestamp"] = table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    table.loc[13, "latency_sum"] = np.nan
    extra = pd.concat(
        [
            table.iloc[[2]],  # an exact duplicate
            table.iloc[:3].assign(version="v0"),  # a version not compared
            table.iloc[[4]].assign(timestamp="2020-06-01T12:01:30"),  # naive
            table.iloc[[4]].assign(timestamp="soon"),  # unparseable
            table.iloc[[5]].assign(timestamp="2020-06-01T12:01:40Z", requests=-1.0),  # negative
            table.iloc[[5]].assign(version=None),  # no version
            table.iloc[[8]].assign(requests=1e9),  # conflicts with row 8: both rejected
        ],
        ignore_index=True,
    )
    table = pd.concat([table, extra], ignore_index=True)
    return table.iloc[::-1].reset_index(drop=True)


def test_invalid_rows_are_rejected_and_counted_with_drop() -> None:
    table = _messy()
    with pytest.raises(DataError):
        replay(SPEC, table)
    with (
        pytest.warns(UnusedRowsWarning, match=r"3 rows of version\(s\) \['v0'\]"),
        pytest.warns(UnusedRowsWarning, match=r"6 invalid rows are not used"),
        pytest.warns(InsufficientDataWarning),
    ):
        result = replay(SPEC, table, invalid="drop")
    report = result.input_report
    # 14 rows, a duplicate, 3 of v0 and 5 invalid ones (the 6th rejected row is v2 at 10 s).
    assert report.rows_read == 14 + 1 + 3 + 5 == 23
    assert report.rows_not_compared == {"v0": 3}
    assert report.duplicates_dropped == 1
    assert report.rows_rejected == {
        "missing version": 1,
        "unparseable timestamp": 1,
        "timestamp without UTC offset": 1,
        "negative counter": 1,
        "conflicting duplicate": 2,
    }
    assert report.rows_used == 13  # v2's scrape at 10 s (row 8) went with its conflict
    # The counts add up: every row read is in exactly one place.
    assert report.rows_read == (
        report.rows_used
        + sum(report.rows_not_compared.values())
        + report.duplicates_dropped
        + sum(report.rows_rejected.values())
    )
    # Read in reverse, the duplicate of v1's 20 s scrape comes first and is kept; then
    # v1 60, 50, 40, 30, 10, 0 s are 5 rows out of order, and so are v2's 60, 50, 40, 30, 20, 0
    # (its 10 s scrape went with the conflict).
    assert report.rows_out_of_order == 10
    assert [(r.version, r.timestamp) for r in report.resets] == [
        ("v2", "2020-06-01T12:00:40+00:00")
    ]
    assert report.rows_with_nan == 1
    assert report.gaps == ()  # v2's 20 s interval around the rejected scrape is only 2 x 10 s
    # JSON, plain: no NaN, no numpy types; the replay's dicts carry it.
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert json.loads(text) == report.to_dict()
    assert result.to_dict()["input_report"] == report.to_dict()
    assert result.summary()["input_report"] == report.to_dict()
    line = str(report)
    assert line.startswith("23 rows read, 13 used; 3 of versions not compared (v0: 3); ")
    assert "\n" not in line
    assert "6 rejected (missing version: 1, unparseable timestamp: 1" in line


def test_the_report_checks_its_accounting() -> None:
    with pytest.raises(ValueError, match=r"`rows_read` \(10\) must equal .* \(9\)"):
        InputReport(rows_read=10, rows_used=9)
    report = InputReport(rows_read=10, rows_used=9, rows_rejected={"negative counter": 1})
    assert report.to_dict()["rows_rejected"] == {"negative counter": 1}
    assert json.dumps(InputReport(rows_read=0, rows_used=0, gap_factor=np.inf).to_dict())


def test_replay_all_results_share_the_tables_report() -> None:
    table = pd.concat([_table().assign(rollout="a"), _table().assign(rollout="b").iloc[::-1]],
                      ignore_index=True)  # fmt: skip
    results = replay_all(SPEC, table)
    assert results["a"].input_report is results["b"].input_report
    assert results["a"].input_report.rows_read == 28
    assert results["a"].input_report.rows_out_of_order == 12


def test_bad_options() -> None:
    with pytest.raises(SpecError, match=r"`invalid` must be one of \['raise', 'drop'\], got 'x'"):
        replay(SPEC, _table(), invalid="x")
    with pytest.raises(SpecError, match=r"`gap_factor` must be a number > 1, got 0.5"):
        load_rollouts(_table(), "v1", "v2", gap_factor=0.5)


def test_all_rows_rejected() -> None:
    table = _table().assign(timestamp="later")
    with (
        pytest.warns(UnusedRowsWarning, match="14 invalid rows"),
        pytest.raises(DataError, match=r"no row .* can be used: rejected \{'unparseable"),
    ):
        replay(SPEC, table, invalid="drop")


def test_a_missing_rollout_id() -> None:
    table = pd.concat([_table().assign(rollout="a"), _table().assign(rollout="b")],
                      ignore_index=True)  # fmt: skip
    table.loc[17, "rollout"] = None  # b, v1 at 30 s
    with pytest.raises(DataError, match=r"column `rollout` holds a missing id nan \(row 17\)"):
        replay_all(SPEC, table)
    with pytest.warns(UnusedRowsWarning, match=r"\{'missing rollout id': 1\}"):
        results = replay_all(SPEC, table, invalid="drop")
    assert list(results) == ["a", "b"]
    assert results["b"].input_report.rows_rejected == {"missing rollout id": 1}
