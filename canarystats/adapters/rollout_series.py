"""Recorded rollouts as arrays: the schema, the input report, the series and their kernels.

A *recorded rollout* is a tidy table with one row per (timestamp, version)
scrape of Prometheus-style cumulative counters; see
``docs/recorded-rollouts.md`` and :mod:`canarystats.replay` for the schema.
This module holds what every source of such data shares, with no table
reading: the column names (:data:`COUNTER_COLUMNS`, :func:`bucket_column`),
:class:`RolloutSeries` (the counters of one or more rollouts as padded numpy
arrays) with its :class:`InputReport`, and the kernels on the arrays:
:func:`counters_at` interpolates the counters of every rollout at once, and
:func:`iter8_observations` turns counter increases into Iter8's metrics.
:mod:`canarystats.adapters.frames` reads, validates and repairs tables into a
:class:`RolloutSeries` (and re-exports every name here);
:mod:`canarystats.adapters.prometheus` builds one from range queries, and
:mod:`canarystats.simulate` writes tables with these columns.

Examples
--------
>>> series = RolloutSeries(
...     ids=("0",), times=np.array([[[0.0, 10.0], [0.0, 10.0]]]),
...     counters=np.array([[[[0, 0, 0, 0], [20, 1, 2.0, 20]],
...                         [[0, 0, 0, 0], [10, 0, 1.5, 10]]]], dtype=float),
...     n_scrapes=np.array([[2, 2]]), t0=(0.0,), is_datetime=False,
...     report=InputReport(rows_read=4, rows_used=4))
>>> increase = counters_at(series, np.array([10.0])) - counters_at(series, np.array([0.0]))
>>> obs = iter8_observations("iter8_error_rate", increase)
>>> obs.count.tolist(), obs.value.tolist()
([[20.0, 10.0]], [[0.05, 0.0]])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.errors import DataError
from canarystats.observations import Observations

__all__ = [
    "BUCKET_PREFIX",
    "COUNTER_COLUMNS",
    "ISTIO_BUCKETS",
    "KNOWN_METRICS",
    "REQUESTS_INDEX",
    "REQUIRED_COLUMNS",
    "CounterReset",
    "InputReport",
    "RolloutSeries",
    "ScrapeGap",
    "bucket_column",
    "counters_at",
    "iter8_observations",
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

#: The position of the ``requests`` counter on the last axis of the counters.
REQUESTS_INDEX = COUNTER_COLUMNS.index("requests")
_ERR, _LSUM, _LCOUNT = range(1, 4)


def bucket_column(bound: float) -> str:
    """The column name of the cumulative bucket with upper bound ``bound``.

    Examples
    --------
    >>> bucket_column(0.005), bucket_column(10.0), bucket_column(float("inf"))
    ('bucket_le_0.005', 'bucket_le_10', 'bucket_le_inf')
    """
    return BUCKET_PREFIX + ("inf" if math.isinf(bound) else f"{bound:g}")


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
    """What :func:`~canarystats.adapters.frames.load_rollouts` found, repaired and rejected.

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


# --------------------------------------------------------------------------- the series


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
    requests = increase[..., REQUESTS_INDEX]
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
