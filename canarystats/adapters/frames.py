"""Recorded rollouts as tidy tables: reading, validation and repairs.

A *recorded rollout* is a tidy table with one row per (timestamp, version)
scrape of Prometheus-style cumulative counters; see
``docs/recorded-rollouts.md`` and :mod:`canarystats.replay` for the schema.
:mod:`canarystats.replay` reads tables through this module; the schema's
column names, :class:`RolloutSeries`, its :class:`InputReport` and the
kernels on the arrays live in :mod:`canarystats.adapters.rollout_series`,
and every name of that module is importable from here too.

It reads a table (a DataFrame, or a CSV or Parquet file), validates and
repairs it at the edge, and turns it into padded numpy arrays
(:class:`RolloutSeries`). An invalid row raises a
:class:`~canarystats.DataError` with a one-line message naming the column and
the value (or, with ``invalid="drop"``, is dropped and counted); rows are
sorted, exact duplicates dropped, counter resets repaired as Prometheus'
``increase()`` does, and gaps found; every row read is accounted for in an
:class:`InputReport` (``RolloutSeries.report``). Timestamps are epoch seconds
or carry a UTC offset: naive ones are rejected. The rules are in
:func:`load_rollouts` and ``docs/recorded-rollouts.md``. From there on no
pandas is used:
:func:`counters_at` interpolates the counters of every rollout at once, and
:func:`iter8_observations` turns counter increases into Iter8's metrics.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({
...     "timestamp": [0.0, 0.0, 10.0, 10.0], "version": ["v1", "v2"] * 2,
...     "requests": [0, 0, 20, 10], "errors_5xx": [0, 0, 1, 0],
...     "latency_sum": [0.0, 0.0, 2.0, 1.5], "latency_count": [0, 0, 20, 10]})
>>> series = load_rollouts(table, "v1", "v2")
>>> series.ids, series.times.shape, series.counters.shape
(('0',), (1, 2, 2), (1, 2, 2, 4))
>>> counters_at(series, np.array([5.0]))[0, :, 0].tolist()   # requests at t = 5 s
[10.0, 5.0]
>>> print(series.report)
4 rows read, 4 used
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.adapters.rollout_series import (
    BUCKET_PREFIX,
    COUNTER_COLUMNS,
    ISTIO_BUCKETS,
    KNOWN_METRICS,
    REQUESTS_INDEX,
    REQUIRED_COLUMNS,
    CounterReset,
    InputReport,
    RolloutSeries,
    ScrapeGap,
    bucket_column,
    counters_at,
    iter8_observations,
)
from canarystats.errors import DataError, SpecError, UnusedRowsWarning

__all__ = [
    "BUCKET_PREFIX",
    "COUNTER_COLUMNS",
    "GAP_FACTOR",
    "INVALID_MODES",
    "ISTIO_BUCKETS",
    "KNOWN_METRICS",
    "REQUIRED_COLUMNS",
    "CounterReset",
    "InputReport",
    "RolloutSeries",
    "ScrapeGap",
    "UnusedRowsWarning",
    "bucket_column",
    "counters_at",
    "iter8_observations",
    "load_rollouts",
    "read_table",
]


def _bucket_columns(columns: Sequence[Any]) -> tuple[list[str], NDArray[np.float64] | None]:
    """The bucket columns of a table, sorted by bound, and their bounds."""
    found: list[tuple[float, str]] = []
    for name in columns:
        if isinstance(name, str) and name.startswith(BUCKET_PREFIX):
            text = name[len(BUCKET_PREFIX) :]
            try:
                bound = float(text)
            except ValueError:
                raise DataError(
                    f"column {name!r} is not a bucket column: expected "
                    f"'{BUCKET_PREFIX}<upper bound>' such as 'bucket_le_0.25' or 'bucket_le_inf'"
                ) from None
            found.append((bound, name))
    if not found:
        return [], None
    found.sort()
    bounds = np.array([b for b, _ in found])
    if bounds[-1] != np.inf:
        raise DataError(
            f"bucket columns must end with '{BUCKET_PREFIX}inf' (Prometheus' +Inf bucket); "
            f"got {[n for _, n in found]}"
        )
    if not np.all(np.diff(bounds) > 0):
        raise DataError(f"bucket columns have repeated bounds: {[n for _, n in found]}")
    return [n for _, n in found], bounds


# --------------------------------------------------------------------------- reading


def read_table(data: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """A recorded rollout as a DataFrame: given, or read from CSV or Parquet.

    Parameters
    ----------
    data : DataFrame or path
        A path ending in ``.csv`` (optionally compressed, e.g. ``.csv.gz``) or
        ``.parquet`` / ``.pq``.

    Raises
    ------
    DataError
        For a path of another kind, or an object that is neither.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, str | os.PathLike):
        raise DataError(
            f"`data` must be a pandas DataFrame or a path to a CSV or Parquet file, "
            f"got {type(data).__name__}"
        )
    path = Path(data)
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        return pd.read_csv(path)
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return pd.read_parquet(path)
    raise DataError(
        f"cannot tell the format of {str(path)!r}: expected a name ending in .csv "
        "(optionally compressed, e.g. .csv.gz), .parquet or .pq"
    )


# --------------------------------------------------------------------------- validation


def _shown(value: Any) -> Any:
    """A value for a message: numpy scalars as Python ones (``20.0``, not ``np.float64(20.0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _fail_value(column: str, value: Any, row: Any, what: str) -> DataError:
    return DataError(f"column `{column}` holds {what} {_shown(value)!r} (row {row})")


# Problems of one timestamp (codes returned by _parse_times).
_T_OK, _T_UNPARSEABLE, _T_NAIVE, _T_NONFINITE = range(4)

# An ISO 8601 time of day followed by a UTC offset ('Z', '+02:00', '-0500', '+02').
_OFFSET_PATTERN = r"\d[Tt ]\d{2}.*(?:[Zz]|[+-]\d{2}(?::?\d{2}){0,2})\s*$"

_TIME_HELP = (
    "expected ISO 8601 with a UTC offset (e.g. '2020-06-01T12:00:05Z' or "
    "'2020-06-01T14:00:05+02:00'), tz-aware datetimes, or epoch seconds"
)


def _parse_times(
    column: pd.Series[Any],
) -> tuple[NDArray[np.int64] | NDArray[np.float64], bool, NDArray[np.int64]]:
    """Timestamps as int64 UTC nanoseconds (datetimes) or float seconds (numeric).

    Also returns a problem code per row (``_T_*``); the values of rows with a
    problem are meaningless.
    """
    if pd.api.types.is_bool_dtype(column):
        raise DataError(f"column `timestamp` holds booleans; {_TIME_HELP}")
    if pd.api.types.is_numeric_dtype(column):
        secs = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return secs, False, np.where(np.isfinite(secs), _T_OK, _T_NONFINITE)
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        parsed = column.dt.tz_convert("UTC")
        naive = np.zeros(len(column), dtype=bool)
    elif pd.api.types.is_datetime64_dtype(column):
        parsed = column.dt.tz_localize("UTC")
        naive = np.ones(len(column), dtype=bool)
    else:
        # Strings, or objects (datetimes, Timestamps) whose text shows any offset.
        text = column.astype(str)
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        offset = text.str.contains(_OFFSET_PATTERN, regex=True, na=False)
        naive = ~offset.to_numpy(dtype=bool)
    bad = parsed.isna().to_numpy()
    problem = np.where(bad, _T_UNPARSEABLE, np.where(naive, _T_NAIVE, _T_OK))
    ns = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return ns, True, problem


def _time_message(code: int, value: Any, row: Any, naive_dtype: bool) -> str:
    if code == _T_NONFINITE:
        return f"column `timestamp` holds an unusable time {value!r} (row {row}); {_TIME_HELP}"
    if code == _T_UNPARSEABLE:
        return (
            f"column `timestamp` holds an unparseable timestamp {value!r} (row {row}); {_TIME_HELP}"
        )
    if naive_dtype:
        return (
            f"column `timestamp` holds naive datetimes (no time zone), e.g. {value!r} (row "
            f"{row}): a time without a UTC offset is ambiguous; localize them, e.g. "
            "`table['timestamp'].dt.tz_localize('UTC')`"
        )
    return (
        f"column `timestamp` holds a timestamp without a UTC offset {value!r} (row {row}): "
        "a naive time is ambiguous; add an offset such as '+02:00', or 'Z' for UTC "
        "(e.g. '2020-06-01T12:00:05Z')"
    )


def _parse_start(start: Any, is_datetime: bool) -> Any:
    """The origin given by the user, in the kind of the data's timestamps."""
    if is_datetime:
        if isinstance(start, int | float | np.number) and not isinstance(start, bool):
            raise DataError(
                f"`start` must be a timestamp like the data's (ISO-8601 or datetime), got {start!r}"
            )
        try:
            ts = pd.Timestamp(start)
        except (TypeError, ValueError):
            raise DataError(f"`start` is not a timestamp: {start!r}") from None
        if ts.tzinfo is None:
            raise DataError(
                f"`start` has no UTC offset: {start!r}; add an offset such as '+02:00', or 'Z' "
                "for UTC (e.g. '2020-06-01T12:00:05Z')"
            )
        return ts.tz_convert("UTC")
    if isinstance(start, bool) or not isinstance(start, int | float | np.number):
        raise DataError(
            f"`start` must be a number of seconds like the data's numeric timestamps, got {start!r}"
        )
    return float(start)


def _names(column: pd.Series[Any]) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Names (version, rollout id) as strings ("" where missing), and where they are missing."""
    missing = column.isna().to_numpy()
    if missing.any():
        column = column.astype(object).where(~missing, "")
    return column.astype(str).to_numpy(dtype=object), missing


def _counter_array(frame: pd.DataFrame, column: str) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """A counter column as floats, and where it held something non-numeric."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        raise DataError(f"column `{column}` holds booleans; expected cumulative counts")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    unparsed = np.isnan(values) & raw.notna().to_numpy()
    return values, unparsed


#: Scrape intervals longer than this many times the median interval of their
#: (rollout, version) series are reported as gaps.
GAP_FACTOR = 3.0

#: The values ``invalid`` accepts: raise a DataError at the first invalid row,
#: or drop invalid rows and count them in the report.
INVALID_MODES: tuple[str, ...] = ("raise", "drop")

# Row status while loading.
_USED, _OTHER, _DUPLICATE, _REJECTED = range(4)


def _plain(raw: Any, is_datetime: bool) -> str | float:
    """A timestamp (int ns or float s) as ISO 8601 in UTC or seconds."""
    if is_datetime:
        return str(pd.Timestamp(int(raw), unit="ns", tz="UTC").isoformat())
    return float(raw)


def load_rollouts(
    data: pd.DataFrame | str | os.PathLike[str],
    baseline: str,
    candidate: str,
    *,
    start: Any = None,
    invalid: str = "raise",
    gap_factor: float = GAP_FACTOR,
) -> RolloutSeries:
    """Read, validate and repair a recorded-rollout table into padded arrays.

    Every row read ends up in exactly one place of the returned
    :class:`InputReport` (``series.report``): used, of a version not
    compared, an exact duplicate dropped, or rejected (with
    ``invalid="drop"``; by default an invalid row raises).

    Parameters
    ----------
    data : DataFrame or path
        The table, or a CSV or Parquet file holding it.
    baseline, candidate : str
        The version names of the experiment; rows of other versions are not
        used (an :class:`UnusedRowsWarning` names them).
    start : timestamp or float, optional
        The origin ``t0`` of every rollout; by default each rollout's earliest
        timestamp. A timestamp needs a UTC offset, like the data's.
    invalid : {"raise", "drop"}, optional
        What an invalid row does: raise a :class:`~canarystats.DataError`
        naming it (the default), or be dropped and counted by reason in the
        report's ``rows_rejected`` (with an :class:`UnusedRowsWarning`).
        Invalid rows: a missing rollout id or version, a missing, unparseable
        or naive timestamp, a non-numeric, negative or infinite counter, and
        conflicting duplicates (all rows of the group). A counter that
        decreases without a reset raises in both modes: which of the rows is
        wrong cannot be told.
    gap_factor : float, optional
        Intervals between scrapes longer than ``gap_factor`` times the
        median interval of their series are reported as gaps (default
        :data:`GAP_FACTOR`, 3); ``inf`` reports none.

    Returns
    -------
    RolloutSeries

    Raises
    ------
    SpecError
        For an ``invalid`` or ``gap_factor`` that is not allowed.
    DataError
        Missing required columns; with ``invalid="raise"``, an invalid row
        (see ``invalid``); a counter that decreases without a counter reset
        (naming rollout, version, column, timestamp and values); a version of
        the spec without rows (in the table or in one rollout).

    Notes
    -----
    Repairs, each counted in the report:

    - rows are sorted by time within each (rollout, version);
    - exact duplicates (same rollout, version, UTC time and counters) are
      dropped, keeping the first;
    - counter resets are repaired as Prometheus' ``increase()`` does. A
      *reset* is a scrape at which ``requests`` drops and no other counter
      rises (each is at or below its previous value, or NaN): the version's
      process restarted and all its counters restarted from 0. The increase
      across the reset is the new value, so the previous value is added to
      that scrape and every later one, which makes the series monotone. Any
      other drop (one counter decreasing while ``requests`` does not, or
      ``requests`` dropping while another counter rises) is bad data and
      raises.

    Timestamps: numeric ones are seconds (epoch seconds, or any origin);
    strings are ISO 8601 with a UTC offset or ``Z``; datetimes must be
    tz-aware. Mixed offsets are converted to UTC. Naive times are invalid.
    """
    if invalid not in INVALID_MODES:
        raise SpecError(f"`invalid` must be one of {list(INVALID_MODES)}, got {invalid!r}")
    if isinstance(gap_factor, bool) or not isinstance(gap_factor, int | float | np.number):
        raise SpecError(f"`gap_factor` must be a number > 1, got {gap_factor!r}")
    gap_factor = float(gap_factor)
    if not gap_factor > 1:
        raise SpecError(f"`gap_factor` must be a number > 1, got {gap_factor!r}")
    frame = read_table(data)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"the recorded rollout is missing required column(s) {missing}; "
            f"required: {list(REQUIRED_COLUMNS)}"
        )
    bucket_names, bounds = _bucket_columns(list(frame.columns))
    columns = (*COUNTER_COLUMNS, *bucket_names)
    n_read = len(frame)
    labels = frame.index
    stamps = frame["timestamp"]

    version, no_version = _names(frame["version"])
    if "rollout" in frame.columns:
        rollout, no_rollout = _names(frame["rollout"])
    else:
        no_rollout = np.zeros(n_read, dtype=bool)
        rollout = np.full(n_read, "0", dtype=object)
    # Integer codes of the rollout ids, for keys.
    rcode = pd.factorize(rollout)[0]

    for role, name in (("baseline", baseline), ("candidate", candidate)):
        if not (version == name).any():
            present = sorted(set(version[~no_version].tolist()))
            raise DataError(
                f"version {name!r} ({role} of the experiment) has no rows in the recorded "
                f"rollout; versions in the data: {present}"
            )

    status = np.full(n_read, _USED, dtype=np.int8)
    rejected: dict[str, int] = {}

    def reject(mask: Any, reason: str, message: Callable[[int], str]) -> None:
        hit = np.asarray(mask, dtype=bool) & (status == _USED)
        if not hit.any():
            return
        if invalid == "raise":
            raise DataError(message(int(np.flatnonzero(hit)[0])))
        status[hit] = _REJECTED
        rejected[reason] = rejected.get(reason, 0) + int(hit.sum())

    reject(
        no_rollout,
        "missing rollout id",
        lambda i: str(_fail_value("rollout", frame["rollout"].iloc[i], labels[i], "a missing id")),
    )
    reject(
        no_version,
        "missing version",
        lambda i: str(
            _fail_value("version", frame["version"].iloc[i], labels[i], "a missing name")
        ),
    )

    other = (status == _USED) & (version != baseline) & (version != candidate)
    not_compared: dict[str, int] = {}
    if other.any():
        names, counts = np.unique(version[other].astype(str), return_counts=True)
        not_compared = {str(v): int(k) for v, k in zip(names, counts, strict=True)}
        status[other] = _OTHER
        warnings.warn(
            f"{int(other.sum())} rows of version(s) {sorted(not_compared)} are neither the "
            f"baseline {baseline!r} nor the candidate {candidate!r}; they are not used",
            UnusedRowsWarning,
            stacklevel=3,
        )

    # Timestamps: epoch seconds, or times with a UTC offset.
    times, is_datetime, problem = _parse_times(stamps)
    naive_dtype = pd.api.types.is_datetime64_dtype(stamps) and not isinstance(
        stamps.dtype, pd.DatetimeTZDtype
    )

    def time_message(code: int) -> Callable[[int], str]:
        return lambda i: _time_message(code, _shown(stamps.iloc[i]), labels[i], naive_dtype)

    for code, reason in (
        (_T_NONFINITE, "missing or infinite timestamp"),
        (_T_UNPARSEABLE, "unparseable timestamp"),
        (_T_NAIVE, "timestamp without UTC offset"),
    ):
        reject(problem == code, reason, time_message(code))

    # Counters: numeric, finite, >= 0 (NaN is kept as missing).
    parsed = [_counter_array(frame, c) for c in columns]
    counters = np.stack([values for values, _ in parsed], axis=-1)
    unparsed = np.stack([u for _, u in parsed], axis=-1)

    def value_message(mask: NDArray[np.bool_], what: str) -> Callable[[int], str]:
        def message(i: int) -> str:
            j = int(np.flatnonzero(mask[i])[0])
            if what == "non-numeric":
                return str(_fail_value(columns[j], frame[columns[j]].iloc[i], labels[i],
                                       "a non-numeric value"))  # fmt: skip
            return (
                f"column `{columns[j]}` holds {float(counters[i, j])!r} for version "
                f"{version[i]!r} at timestamp {_shown(stamps.iloc[i])!r} (rollout {rollout[i]!r}); "
                "cumulative counters are finite and >= 0"
            )

        return message

    with np.errstate(invalid="ignore"):
        negative = counters < 0
    infinite = np.isinf(counters) & ~negative
    reject(unparsed.any(axis=1), "non-numeric counter", value_message(unparsed, "non-numeric"))
    reject(negative.any(axis=1), "negative counter", value_message(negative, "negative"))
    reject(infinite.any(axis=1), "infinite counter", value_message(infinite, "infinite"))

    # Duplicates: exact ones are dropped, conflicting ones are invalid.
    vcode = (version == candidate).astype(np.int64)
    live = np.flatnonzero(status == _USED)
    keys = pd.DataFrame({"r": rcode[live], "v": vcode[live], "t": times[live]})
    values = pd.DataFrame(counters[live], columns=[f"c{j}" for j in range(len(columns))])
    exact = pd.concat([keys, values], axis=1).duplicated().to_numpy()
    status[live[exact]] = _DUPLICATE
    n_duplicates = int(exact.sum())
    conflicting = np.zeros(n_read, dtype=bool)
    conflicting[live[~exact]] = keys[~exact].duplicated(keep=False).to_numpy()

    def conflict_message(i: int) -> str:
        same = np.flatnonzero(
            conflicting & (rcode == rcode[i]) & (vcode == vcode[i]) & (times == times[i])
        )
        k = int(same[same != i][0])
        differ = ~((counters[i] == counters[k]) | (np.isnan(counters[i]) & np.isnan(counters[k])))
        j = int(np.flatnonzero(differ)[0])
        return (
            f"conflicting duplicate rows for rollout {rollout[i]!r}, version {version[i]!r}, "
            f"timestamp {_shown(stamps.iloc[i])!r} (rows {labels[i]} and {labels[k]}): "
            f"`{columns[j]}` is {float(counters[i, j])!r} in one and "
            f"{float(counters[k, j])!r} in the other; one row per (rollout, version, timestamp)"
        )

    reject(conflicting, "conflicting duplicate", conflict_message)

    if rejected:
        warnings.warn(
            f"{sum(rejected.values())} invalid rows are not used ({rejected}); "
            "see the input report",
            UnusedRowsWarning,
            stacklevel=3,
        )
    kept = np.flatnonzero(status == _USED)
    if not len(kept):
        raise DataError(f"no row of the recorded rollout can be used: rejected {rejected}")
    times, version, vcode = times[kept], version[kept], vcode[kept]
    counters = counters[kept]
    codes = pd.factorize(rcode[kept])[0]  # in order of first appearance among kept rows
    first = np.unique(codes, return_index=True)[1]
    ids = tuple(str(r) for r in rollout[kept][first])
    n_roll = len(ids)

    # The origin of each rollout, and times in seconds since it.
    if start is not None:
        origin_value = _parse_start(start, is_datetime)
        if is_datetime:
            origin_raw = np.full(n_roll, origin_value.as_unit("ns").value, dtype=np.int64)
        else:
            origin_raw = np.full(n_roll, origin_value)
    else:
        origin_raw = np.full(n_roll, np.iinfo(np.int64).max if is_datetime else np.inf)
        np.minimum.at(origin_raw, codes, times)
    if is_datetime:
        rel = (times - origin_raw[codes]).astype(np.float64) / 1e9
        t0: tuple[Any, ...] = tuple(pd.Timestamp(int(o), unit="ns", tz="UTC") for o in origin_raw)
    else:
        rel = np.asarray(times - origin_raw[codes], dtype=np.float64)
        t0 = tuple(float(o) for o in origin_raw)

    # Rows out of order: earlier than a scrape of the same series read before them.
    series = codes * 2 + vcode
    by_series = pd.Series(rel).groupby(series)
    previous_max = by_series.cummax().groupby(series).shift(1)
    out_of_order = int((pd.Series(rel) < previous_max).sum())

    # Pad into (R, 2, S) arrays: one series per (rollout, version), sorted by time.
    order = np.lexsort((rel, vcode, codes))
    series = series[order]
    first = np.searchsorted(series, series, side="left")
    pos = np.arange(len(series)) - first
    n_scrapes = np.bincount(series, minlength=2 * n_roll).reshape(n_roll, 2)
    empty = np.argwhere(n_scrapes == 0)
    if len(empty):
        r, v = (int(a) for a in empty[0])
        name, role = (candidate, "candidate") if v else (baseline, "baseline")
        after = f" (after rejecting rows: {rejected})" if rejected else ""
        raise DataError(f"rollout {ids[r]!r} has no rows of version {name!r} ({role}){after}")
    n_max = int(n_scrapes.max())
    t_pad = np.full((n_roll, 2, n_max), np.nan)
    c_pad = np.full((n_roll, 2, n_max, counters.shape[-1]), np.nan)
    row_pad = np.full((n_roll, 2, n_max), -1, dtype=np.int64)
    rs, vs = codes[order], vcode[order]
    t_pad[rs, vs, pos] = rel[order]
    c_pad[rs, vs, pos] = counters[order]
    row_pad[rs, vs, pos] = order

    c_pad, resets = _repair_resets(c_pad, row_pad, ids, columns, (baseline, candidate),
                                   lambda i: _plain(times[i], is_datetime),
                                   lambda i: _shown(stamps.iloc[kept[i]]))  # fmt: skip
    gaps = _find_gaps(t_pad, row_pad, ids, (baseline, candidate), gap_factor,
                      lambda i: _plain(times[i], is_datetime))  # fmt: skip

    nan = np.isnan(counters)
    report = InputReport(
        rows_read=n_read,
        rows_used=len(kept),
        rows_not_compared=not_compared,
        duplicates_dropped=n_duplicates,
        rows_rejected=rejected,
        rows_out_of_order=out_of_order,
        resets=resets,
        gaps=gaps,
        rows_with_nan=int(nan.any(axis=1).sum()),
        nan_counters={c: int(k) for c, k in zip(columns, nan.sum(axis=0), strict=True) if k},
        gap_factor=gap_factor,
    )
    t_pad.flags.writeable = False
    c_pad.flags.writeable = False
    return RolloutSeries(
        ids=ids,
        times=t_pad,
        counters=c_pad,
        n_scrapes=n_scrapes,
        t0=t0,
        is_datetime=is_datetime,
        bucket_bounds=bounds,
        report=report,
    )


def _repair_resets(
    c_pad: NDArray[np.float64],
    row_pad: NDArray[np.int64],
    ids: tuple[str, ...],
    columns: tuple[str, ...],
    versions: tuple[str, str],
    plain: Callable[[int], str | float],
    raw_stamp: Callable[[int], Any],
) -> tuple[NDArray[np.float64], tuple[CounterReset, ...]]:
    """Find counter resets, repair them as ``increase()`` does, and raise on other drops.

    ``c_pad`` is (R, 2, S, K), sorted by time, NaN-padded; NaN values are
    skipped over (each counter is compared with its last non-NaN value).
    """
    n_s = c_pad.shape[2]
    steps = np.arange(n_s)[None, None, :, None]
    last_valid = np.maximum.accumulate(np.where(np.isnan(c_pad), -1, steps), axis=2)
    prev_idx = np.concatenate([np.full_like(last_valid[:, :, :1], -1), last_valid[:, :, :-1]], 2)
    prev = np.take_along_axis(c_pad, np.maximum(prev_idx, 0), axis=2)
    prev = np.where(prev_idx >= 0, prev, np.nan)
    with np.errstate(invalid="ignore"):
        down = c_pad < prev
        up = c_pad > prev
    reset = down[..., REQUESTS_INDEX] & ~up.any(axis=-1)  # (R, 2, S)
    # The last reset at or before each scrape; a counter is compared only with a value
    # read since then (a counter NaN at the reset scrape restarts at its next value).
    last_reset = np.maximum.accumulate(np.where(reset, np.arange(n_s), -1), axis=2)
    compared = prev_idx >= last_reset[..., None]
    bad = down & compared & ~reset[..., None]
    if bad.any():
        r, v, s, j = (int(a[0]) for a in np.nonzero(bad))
        i = int(row_pad[r, v, s])
        old, new = float(prev[r, v, s, j]), float(c_pad[r, v, s, j])
        head = (
            f"column `{columns[j]}` of version {versions[v]!r} decreases at timestamp "
            f"{raw_stamp(i)!r} (rollout {ids[r]!r}): {new!r} after {old!r}"
        )
        if j == REQUESTS_INDEX:
            k = int(np.flatnonzero(up[r, v, s])[0])
            why = (
                f", but `{columns[k]}` rises ({float(c_pad[r, v, s, k])!r} after "
                f"{float(prev[r, v, s, k])!r}), so it is not a counter reset (at a reset "
                "all of a version's counters restart together: none rises)"
            )
        else:
            why = (
                ", while `requests` does not drop, so it is not a counter reset (at a reset "
                "all of a version's counters restart together); cumulative counters never "
                "decrease otherwise"
            )
        raise DataError(head + why)
    if not reset.any():
        return c_pad, ()
    added = np.where(reset[..., None] & ~np.isnan(prev), prev, 0.0)
    repaired = c_pad + np.cumsum(added, axis=2)
    found = []
    for r, v, s in np.argwhere(reset):
        dropped = np.flatnonzero(down[r, v, s])
        found.append(
            CounterReset(
                rollout=ids[r],
                version=versions[v],
                timestamp=plain(int(row_pad[r, v, s])),
                columns=tuple(columns[j] for j in dropped),
                before=tuple(float(x) for x in prev[r, v, s, dropped]),
                after=tuple(float(x) for x in c_pad[r, v, s, dropped]),
            )
        )
    return repaired, tuple(found)


def _find_gaps(
    t_pad: NDArray[np.float64],
    row_pad: NDArray[np.int64],
    ids: tuple[str, ...],
    versions: tuple[str, str],
    gap_factor: float,
    plain: Callable[[int], str | float],
) -> tuple[ScrapeGap, ...]:
    """Intervals longer than ``gap_factor`` times their series' median interval."""
    if t_pad.shape[2] < 2 or math.isinf(gap_factor):
        return ()
    step = np.diff(t_pad, axis=2)  # NaN after a series' last scrape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: a series of one scrape
        typical = np.nanmedian(step, axis=2)
    with np.errstate(invalid="ignore"):
        gap = step > gap_factor * typical[..., None]
    return tuple(
        ScrapeGap(
            rollout=ids[r],
            version=versions[v],
            start=plain(int(row_pad[r, v, s])),
            end=plain(int(row_pad[r, v, s + 1])),
            seconds=float(step[r, v, s]),
            typical=float(typical[r, v]),
        )
        for r, v, s in np.argwhere(gap)
    )
