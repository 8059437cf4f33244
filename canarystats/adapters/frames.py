"""Recorded rollouts as tidy tables: the schema, reading, validation, counters.

A *recorded rollout* is a tidy table with one row per (timestamp, version)
scrape of Prometheus-style cumulative counters; see
``docs/recorded-rollouts.md`` and :mod:`canarystats.replay` for the schema.
This module is the one home of that schema: :mod:`canarystats.simulate`
writes it and :mod:`canarystats.replay` reads it.

It reads a table (a DataFrame, or a CSV or Parquet file), validates it at the
edge -- every problem raises a :class:`~canarystats.DataError` with a one-line
message naming the column and the value -- and turns it into padded numpy
arrays (:class:`RolloutSeries`). From there on no pandas is used:
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
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.errors import DataError, UnusedRowsWarning
from canarystats.observations import Observations

__all__ = [
    "BUCKET_PREFIX",
    "COUNTER_COLUMNS",
    "ISTIO_BUCKETS",
    "KNOWN_METRICS",
    "REQUIRED_COLUMNS",
    "RolloutSeries",
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
        The cumulative counters at each scrape; NaN pads (and NaN counters of
        the data stay NaN).
    n_scrapes : ndarray of int, shape (R, 2)
        The number of scrapes of each version.
    t0 : tuple
        Each rollout's origin: a UTC ``pandas.Timestamp`` when the timestamps
        are datetimes, else a float of the timestamps' numeric scale.
    is_datetime : bool
        Whether the timestamps are datetimes (else numeric seconds).
    bucket_bounds : ndarray of float, shape (n_buckets,), optional
        The upper bounds of the histogram buckets, ending in ``+inf``.
    """

    ids: tuple[str, ...]
    times: NDArray[np.float64] = attrs.field(eq=False)
    counters: NDArray[np.float64] = attrs.field(eq=False)
    n_scrapes: NDArray[np.int64] = attrs.field(eq=False)
    t0: tuple[Any, ...]
    is_datetime: bool
    bucket_bounds: NDArray[np.float64] | None = attrs.field(default=None, eq=False)

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


def _fail_value(column: str, value: Any, row: Any, what: str) -> DataError:
    return DataError(f"column `{column}` holds {what} {value!r} (row {row})")


def _parse_times(column: pd.Series[Any]) -> tuple[NDArray[np.int64] | NDArray[np.float64], bool]:
    """Timestamps as int64 UTC nanoseconds (datetimes) or float seconds (numeric)."""
    if pd.api.types.is_bool_dtype(column):
        raise DataError("column `timestamp` holds booleans; expected ISO-8601 times or seconds")
    if pd.api.types.is_numeric_dtype(column):
        secs = column.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(secs)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail_value("timestamp", column.iloc[i], column.index[i], "an unusable time")
        return secs, False
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        parsed = column.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(column):
        parsed = column.dt.tz_localize("UTC")
    else:
        parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column `timestamp` holds an unparseable timestamp {column.iloc[i]!r} "
            f"(row {column.index[i]}); expected ISO-8601 (e.g. '2020-06-01T12:00:05Z'), "
            "datetimes, or numeric seconds"
        )
    ns = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return ns, True


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
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts
    if isinstance(start, bool) or not isinstance(start, int | float | np.number):
        raise DataError(
            f"`start` must be a number of seconds like the data's numeric timestamps, got {start!r}"
        )
    return float(start)


def _counter_array(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        raise DataError(f"column `{column}` holds booleans; expected cumulative counts")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    unparsed = np.isnan(values) & raw.notna().to_numpy()
    if unparsed.any():
        i = int(np.flatnonzero(unparsed)[0])
        raise _fail_value(column, raw.iloc[i], raw.index[i], "a non-numeric value")
    return values


def load_rollouts(
    data: pd.DataFrame | str | os.PathLike[str],
    baseline: str,
    candidate: str,
    *,
    start: Any = None,
) -> RolloutSeries:
    """Read and validate a recorded-rollout table into padded arrays.

    Parameters
    ----------
    data : DataFrame or path
        The table, or a CSV or Parquet file holding it.
    baseline, candidate : str
        The version names of the experiment; rows of other versions are not
        used (an :class:`UnusedRowsWarning` names them).
    start : timestamp or float, optional
        The origin ``t0`` of every rollout; by default each rollout's earliest
        timestamp.

    Returns
    -------
    RolloutSeries

    Raises
    ------
    DataError
        Missing required columns, unparseable timestamps, non-numeric,
        negative, infinite or decreasing counters, duplicate (rollout,
        timestamp, version) rows, or a version of the spec without rows (in
        the table or in one rollout).
    """
    frame = read_table(data)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"the recorded rollout is missing required column(s) {missing}; "
            f"required: {list(REQUIRED_COLUMNS)}"
        )
    bucket_names, bounds = _bucket_columns(list(frame.columns))

    version = frame["version"].astype(str).to_numpy()
    if "rollout" in frame.columns:
        if frame["rollout"].isna().any():
            i = int(np.flatnonzero(frame["rollout"].isna().to_numpy())[0])
            raise _fail_value("rollout", frame["rollout"].iloc[i], frame.index[i], "a missing id")
        rollout = frame["rollout"].astype(str).to_numpy()
    else:
        rollout = np.full(len(frame), "0", dtype=object)

    for role, name in (("baseline", baseline), ("candidate", candidate)):
        if not (version == name).any():
            present = sorted(set(version.tolist()))
            raise DataError(
                f"version {name!r} ({role} of the experiment) has no rows in the recorded "
                f"rollout; versions in the data: {present}"
            )
    used = (version == baseline) | (version == candidate)
    if not used.all():
        others = sorted(set(version[~used].tolist()))
        warnings.warn(
            f"{int((~used).sum())} rows of version(s) {others} are neither the baseline "
            f"{baseline!r} nor the candidate {candidate!r}; they are not used",
            UnusedRowsWarning,
            stacklevel=3,
        )

    frame = frame.loc[used]
    version, rollout = version[used], rollout[used]
    stamps = frame["timestamp"]
    times, is_datetime = _parse_times(stamps)
    codes, uniques = pd.factorize(pd.Series(rollout, dtype=object))
    ids = tuple(str(u) for u in uniques)
    n_roll = len(ids)
    vcode = (version == candidate).astype(np.int64)

    counters = np.stack(
        [_counter_array(frame, c) for c in (*COUNTER_COLUMNS, *bucket_names)], axis=-1
    )
    columns = (*COUNTER_COLUMNS, *bucket_names)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(counters) | (counters < 0)
    if bad.any():
        i, j = (int(a[0]) for a in np.nonzero(bad))
        raise DataError(
            f"column `{columns[j]}` holds {float(counters[i, j])!r} for version {version[i]!r} at "
            f"timestamp {stamps.iloc[i]!r}; cumulative counters are finite and >= 0"
        )

    key = pd.DataFrame({"r": codes, "t": times, "v": vcode})
    dup = key.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(
            f"duplicate rows for rollout {rollout[i]!r}, timestamp {stamps.iloc[i]!r}, "
            f"version {version[i]!r}: one row per (rollout, timestamp, version)"
        )

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

    # Pad into (R, 2, S) arrays: one series per (rollout, version), sorted by time.
    order = np.lexsort((rel, vcode, codes))
    series = (codes * 2 + vcode)[order]
    first = np.searchsorted(series, series, side="left")
    pos = np.arange(len(series)) - first
    n_scrapes = np.bincount(series, minlength=2 * n_roll).reshape(n_roll, 2)
    empty = np.argwhere(n_scrapes == 0)
    if len(empty):
        r, v = (int(a) for a in empty[0])
        name, role = (candidate, "candidate") if v else (baseline, "baseline")
        raise DataError(f"rollout {ids[r]!r} has no rows of version {name!r} ({role})")
    n_max = int(n_scrapes.max())
    t_pad = np.full((n_roll, 2, n_max), np.nan)
    c_pad = np.full((n_roll, 2, n_max, counters.shape[-1]), np.nan)
    row_pad = np.full((n_roll, 2, n_max), -1, dtype=np.int64)
    rs, vs = codes[order], vcode[order]
    t_pad[rs, vs, pos] = rel[order]
    c_pad[rs, vs, pos] = counters[order]
    row_pad[rs, vs, pos] = order

    # Cumulative counters never decrease (NaNs are skipped over).
    running = np.fmax.accumulate(c_pad, axis=2)
    with np.errstate(invalid="ignore"):
        down = c_pad[:, :, 1:] < running[:, :, :-1]
    if down.any():
        r, v, s, j = (int(a[0]) for a in np.nonzero(down))
        i = int(row_pad[r, v, s + 1])
        raise DataError(
            f"column `{columns[j]}` of version {version[i]!r} decreases at timestamp "
            f"{stamps.iloc[i]!r} (rollout {ids[r]!r}): {float(c_pad[r, v, s + 1, j])!r} after "
            f"{float(running[r, v, s, j])!r}; cumulative counters never decrease (a counter reset?)"
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
