"""Recorded rollouts as tidy tables: the schema, reading, validation, counters.

A *recorded rollout* is a tidy table with one row per (timestamp, version)
scrape of Prometheus-style cumulative counters; see
``docs/recorded-rollouts.md`` and :mod:`canarystats.replay` for the schema.
This module is the one home of that schema: :mod:`canarystats.simulate`
writes it and :mod:`canarystats.replay` reads it.

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

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.errors import DataError, SpecError, UnusedRowsWarning
from canarystats.observations import Observations

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

#: The cumulative counters of a recorded rollout, in the order of the last
#: axis of :attr:`RolloutSeries.counters` (bucket counts follow them).
COUNTER_COLUMNS: tuple[str, ...] = ("requests", "errors_5xx", "latency_sum", "latency_count")

#: The columns every recorded rollout must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "version", *COUNTER_COLUMNS)

#: The prefix of histogram bucket columns: ``bucket_le_0.005`` ... ``bucket_le_inf``.
BUCKET_PREFIX = "bucket_le_"

#: Istio's default bucket bounds (seconds) of ``istio_request_duration_seconds``
#: (telemetry v1), without the final ``+Inf``.
ISTIO_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: The metrics a replay computes from the counters.
KNOWN_METRICS: tuple[str, ...] = (
    "iter8_error_count",
    "iter8_error_rate",
    "iter8_latency",
    "iter8_sample_size",
)

_REQ, _ERR, _LSUM, _LCOUNT = range(4)


def bucket_column(bound: float) -> str:
    """The column name of the cumulative bucket with upper bound ``bound``.

    Examples
    --------
    >>> bucket_column(0.005), bucket_column(10.0), bucket_column(float("inf"))
    ('bucket_le_0.005', 'bucket_le_10', 'bucket_le_inf')
    """
    return BUCKET_PREFIX + ("inf" if math.isinf(bound) else f"{bound:g}")


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


# --------------------------------------------------------------------------- the input report


def _json_number(x: float) -> float | None:
    return x if math.isfinite(x) else None


@attrs.frozen(kw_only=True)
class CounterReset:
    """A counter reset found in a recorded rollout, and repaired.

    Attributes
    ----------
    rollout, version : str
        The series whose process restarted.
    timestamp : str or float
        The first scrape after the restart: ISO 8601 in UTC for datetime
        timestamps, else seconds.
    columns : tuple of str
        The counters that dropped at that scrape (``requests`` always; the
        others stayed equal or were NaN).
    before, after : tuple of float
        Their values at the previous scrape and at this one (as recorded,
        before the repair).
    """

    rollout: str
    version: str
    timestamp: str | float
    columns: tuple[str, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``columns`` maps each counter to ``[before, after]``."""
        return {
            "rollout": self.rollout,
            "version": self.version,
            "timestamp": self.timestamp,
            "columns": {
                c: [b, a] for c, b, a in zip(self.columns, self.before, self.after, strict=True)
            },
        }


@attrs.frozen(kw_only=True)
class ScrapeGap:
    """An interval between two scrapes much longer than the series' typical one.

    Attributes
    ----------
    rollout, version : str
        The series.
    start, end : str or float
        The scrapes around the gap (ISO 8601 in UTC, or seconds).
    seconds : float
        The gap's length.
    typical : float
        The median interval between the series' scrapes.
    """

    rollout: str
    version: str
    start: str | float
    end: str | float
    seconds: float
    typical: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return attrs.asdict(self)


def _check_accounting(instance: InputReport, attribute: Any, value: int) -> None:
    total = (
        instance.rows_used
        + sum(instance.rows_not_compared.values())
        + instance.duplicates_dropped
        + sum(instance.rows_rejected.values())
    )
    if value != total:
        raise ValueError(
            f"`rows_read` ({value}) must equal rows used + not compared + duplicates dropped "
            f"+ rejected ({total})"
        )


def _listed(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


@attrs.frozen(kw_only=True)
class InputReport:
    """What :func:`load_rollouts` found, repaired and rejected in a recorded rollout.

    Every row read is accounted for exactly once: ``rows_read == rows_used +
    sum(rows_not_compared.values()) + duplicates_dropped +
    sum(rows_rejected.values())`` (checked at construction). The other
    fields describe repairs and findings on the rows used. The mappings are
    plain dicts; treat them as read-only.

    Attributes
    ----------
    rows_read : int
        Rows in the table.
    rows_used : int
        Rows that enter the replay (rows with NaN counters included).
    rows_not_compared : dict of str to int
        Rows of versions that are neither the baseline nor the candidate, by
        version (an :class:`~canarystats.UnusedRowsWarning` names them).
    duplicates_dropped : int
        Exact duplicates dropped: rows equal to an earlier row in rollout,
        version, timestamp (after conversion to UTC) and every counter.
    rows_rejected : dict of str to int
        Rows rejected, by reason (only with ``invalid="drop"``; by default
        such a row raises a :class:`~canarystats.DataError`).
    rows_out_of_order : int
        Rows used that came after a later scrape of the same rollout and
        version; the rows are sorted by time (a repair that changes nothing
        else).
    resets : tuple of CounterReset
        Counter resets, repaired as Prometheus' ``increase()`` does.
    gaps : tuple of ScrapeGap
        Intervals between scrapes longer than ``gap_factor`` times the median
        interval of their series: reported, not repaired (the replay
        interpolates linearly across them).
    rows_with_nan : int
        Rows used with at least one NaN counter (kept as NaN).
    nan_counters : dict of str to int
        The number of NaN values kept, by counter (counters without NaN are
        left out).
    gap_factor : float
        The threshold the gaps were found with.

    Examples
    --------
    >>> report = InputReport(rows_read=10, rows_used=9, duplicates_dropped=1)
    >>> print(report)
    10 rows read, 9 used; 1 exact duplicate dropped
    """

    rows_read: int = attrs.field(validator=_check_accounting)
    rows_used: int
    rows_not_compared: dict[str, int] = attrs.field(factory=dict, hash=False)
    duplicates_dropped: int = 0
    rows_rejected: dict[str, int] = attrs.field(factory=dict, hash=False)
    rows_out_of_order: int = 0
    resets: tuple[CounterReset, ...] = ()
    gaps: tuple[ScrapeGap, ...] = ()
    rows_with_nan: int = 0
    nan_counters: dict[str, int] = attrs.field(factory=dict, hash=False)
    gap_factor: float = attrs.field(default=3.0, converter=float)

    @property
    def clean(self) -> bool:
        """Whether every row was used as it was: nothing dropped, repaired or found."""
        return self.rows_used == self.rows_read and not (
            self.rows_out_of_order or self.resets or self.gaps or self.rows_with_nan
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON types (an infinite ``gap_factor`` becomes None)."""
        return {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_not_compared": dict(self.rows_not_compared),
            "duplicates_dropped": self.duplicates_dropped,
            "rows_rejected": dict(self.rows_rejected),
            "rows_out_of_order": self.rows_out_of_order,
            "resets": [r.to_dict() for r in self.resets],
            "gaps": [g.to_dict() for g in self.gaps],
            "rows_with_nan": self.rows_with_nan,
            "nan_counters": dict(self.nan_counters),
            "gap_factor": _json_number(self.gap_factor),
        }

    def summary(self) -> str:
        """One readable line: the counts, and only the findings that occurred."""
        parts = [f"{self.rows_read} rows read, {self.rows_used} used"]
        if self.rows_not_compared:
            n = sum(self.rows_not_compared.values())
            by = ", ".join(f"{v}: {k}" for v, k in self.rows_not_compared.items())
            parts.append(f"{n} of versions not compared ({by})")
        if self.duplicates_dropped:
            s = "" if self.duplicates_dropped == 1 else "s"
            parts.append(f"{self.duplicates_dropped} exact duplicate{s} dropped")
        if self.rows_rejected:
            n = sum(self.rows_rejected.values())
            by = ", ".join(f"{why}: {k}" for why, k in self.rows_rejected.items())
            parts.append(f"{n} rejected ({by})")
        if self.rows_out_of_order:
            parts.append(f"{self.rows_out_of_order} out of order (sorted)")
        if self.resets:
            where = [f"{r.version} at {r.timestamp} (rollout {r.rollout})" for r in self.resets]
            s = "" if len(self.resets) == 1 else "s"
            parts.append(f"{len(self.resets)} counter reset{s} repaired: {_listed(where)}")
        if self.gaps:
            where = [
                f"{g.version} {g.seconds:g} s from {g.start} (rollout {g.rollout}, "
                f"typical {g.typical:g} s)"
                for g in self.gaps
            ]
            s = "" if len(self.gaps) == 1 else "s"
            parts.append(f"{len(self.gaps)} gap{s} (not repaired): {_listed(where)}")
        if self.rows_with_nan:
            s = "" if self.rows_with_nan == 1 else "s"
            cols = ", ".join(f"{c}: {k}" for c, k in self.nan_counters.items())
            parts.append(f"{self.rows_with_nan} row{s} with NaN counters kept ({cols})")
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- validation


@attrs.frozen(kw_only=True)
class RolloutSeries:
    """The counters of one or more recorded rollouts as padded arrays.

    Shapes use ``R`` rollouts, 2 versions (baseline, candidate), ``S`` the
    largest number of scrapes of one version in one rollout, and ``K``
    counters (:data:`COUNTER_COLUMNS`, then the bucket counts).

    Attributes
    ----------
    ids : tuple of str
        The rollout ids, in order of first appearance (``"0"`` for a table
        without a ``rollout`` column).
    times : ndarray of float, shape (R, 2, S)
        Scrape times in seconds since each rollout's origin ``t0``, increasing;
        NaN pads.
    counters : ndarray of float, shape (R, 2, S, K)
        The cumulative counters at each scrape, with counter resets repaired
        (never decreasing); NaN pads (and NaN counters of the data stay NaN).
    n_scrapes : ndarray of int, shape (R, 2)
        The number of scrapes of each version.
    t0 : tuple
        Each rollout's origin: a UTC ``pandas.Timestamp`` when the timestamps
        are datetimes, else a float of the timestamps' numeric scale.
    is_datetime : bool
        Whether the timestamps are datetimes (else numeric seconds).
    bucket_bounds : ndarray of float, shape (n_buckets,), optional
        The upper bounds of the histogram buckets, ending in ``+inf``.
    report : InputReport
        What was found, repaired and rejected in the whole table.
    """

    ids: tuple[str, ...]
    times: NDArray[np.float64] = attrs.field(eq=False)
    counters: NDArray[np.float64] = attrs.field(eq=False)
    n_scrapes: NDArray[np.int64] = attrs.field(eq=False)
    t0: tuple[Any, ...]
    is_datetime: bool
    bucket_bounds: NDArray[np.float64] | None = attrs.field(default=None, eq=False)
    report: InputReport = attrs.field(eq=False)

    @property
    def last_time(self) -> NDArray[np.float64]:
        """Seconds since ``t0`` of each version's last scrape, shape (R, 2)."""
        idx = (self.n_scrapes - 1)[..., None]
        out: NDArray[np.float64] = np.take_along_axis(self.times, idx, axis=-1)[..., 0]
        return out

    def timestamp(self, rollout: int, seconds: NDArray[np.float64]) -> Any:
        """Timestamps ``t0 + seconds`` of one rollout, in the data's kind."""
        if self.is_datetime:
            return self.t0[rollout] + pd.to_timedelta(seconds, unit="s")
        return float(self.t0[rollout]) + seconds


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
    reset = down[..., _REQ] & ~up.any(axis=-1)  # (R, 2, S)
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
        if j == _REQ:
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


# --------------------------------------------------------------------------- kernels


def counters_at(series: RolloutSeries, seconds: NDArray[np.float64]) -> NDArray[np.float64]:
    """The counters of every rollout at a time, interpolated linearly between scrapes.

    Parameters
    ----------
    series : RolloutSeries
    seconds : ndarray of float, shape (R,)
        For each rollout, seconds since its origin.

    Returns
    -------
    ndarray of float, shape (R, 2, K)
        At a scrape, its counters; between two scrapes, the straight line
        between them (as Prometheus' ``increase()`` spreads counts evenly);
        before a version's first scrape, its first counters (nothing was
        counted before the series appeared); after its last scrape, NaN (no
        data).
    """
    times, counters = series.times, series.counters
    q = np.asarray(seconds, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore"):
        at_or_before = (times <= q[..., None]).sum(axis=-1)
    last = series.n_scrapes - 1
    lo = np.clip(at_or_before - 1, 0, None)
    hi = np.minimum(at_or_before, last)
    t_lo = np.take_along_axis(times, lo[..., None], axis=-1)[..., 0]
    t_hi = np.take_along_axis(times, hi[..., None], axis=-1)[..., 0]
    c_lo = np.take_along_axis(counters, lo[..., None, None], axis=2)[:, :, 0]
    c_hi = np.take_along_axis(counters, hi[..., None, None], axis=2)[:, :, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(t_hi > t_lo, (q - t_lo) / (t_hi - t_lo), 0.0)
        frac = np.clip(frac, 0.0, 1.0)[..., None]
        value = np.where(frac == 0.0, c_lo, c_lo + frac * (c_hi - c_lo))
    after = q > np.take_along_axis(times, last[..., None], axis=-1)[..., 0]
    out: NDArray[np.float64] = np.where(after[..., None], np.nan, value)
    return out


def iter8_observations(
    metric: str,
    increase: NDArray[np.float64],
    bucket_bounds: NDArray[np.float64] | None = None,
) -> Observations:
    """Iter8's metric from counter increases over a window.

    Parameters
    ----------
    metric : str
        One of :data:`KNOWN_METRICS`.
    increase : ndarray of float, shape (*batch, 2, K)
        Increases of :data:`COUNTER_COLUMNS` (then the buckets) over the window.
    bucket_bounds : ndarray of float, shape (n_buckets,), optional
        When given, ``iter8_latency`` carries the per-bucket increases.

    Returns
    -------
    Observations
        ``count`` = increase of requests for every metric; ``value``:
        ``iter8_sample_size`` the requests, ``iter8_latency`` latency sum /
        latency count (NaN when the count is 0; ``sum`` = latency sum),
        ``iter8_error_count`` the 5xx errors, ``iter8_error_rate`` errors /
        requests (NaN when 0; ``successes`` = errors).

    Raises
    ------
    DataError
        For an unknown metric, naming the known ones.
    """
    requests = increase[..., _REQ]
    errors = increase[..., _ERR]
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "iter8_sample_size":
            return Observations(count=requests, value=requests)
        if metric == "iter8_error_count":
            return Observations(count=requests, value=errors)
        if metric == "iter8_error_rate":
            rate = np.where(requests > 0, errors / requests, np.nan)
            rate = np.where(np.isnan(requests) | np.isnan(errors), np.nan, rate)
            return Observations(count=requests, value=rate, successes=errors)
        if metric == "iter8_latency":
            lsum, lcount = increase[..., _LSUM], increase[..., _LCOUNT]
            mean = np.where(lcount > 0, lsum / lcount, np.nan)
            mean = np.where(np.isnan(lsum) | np.isnan(lcount), np.nan, mean)
            if bucket_bounds is None:
                return Observations(count=requests, value=mean, sum=lsum)
            cumulative = increase[..., len(COUNTER_COLUMNS) :]
            buckets = np.diff(cumulative, axis=-1, prepend=0.0)
            return Observations(
                count=requests, value=mean, sum=lsum, buckets=buckets, bucket_bounds=bucket_bounds
            )
    raise DataError(
        f"a replay cannot compute the metric {metric!r}; known metrics: {list(KNOWN_METRICS)}"
    )
