"""Replay recorded rollouts: what would the experiment have decided on this data?

A *recorded rollout* is a tidy table, one row per (timestamp, version) scrape
of Prometheus-style cumulative counters (the full description, with examples,
is in ``docs/recorded-rollouts.md``):

=================  ==========================================================
column             meaning
=================  ==========================================================
``timestamp``      when the counters were scraped: ISO 8601 strings with a
                   UTC offset or ``Z``, tz-aware datetimes, or numeric
                   (epoch) seconds; naive times are rejected
``version``        the version's name: the experiment's baseline or candidate
``requests``       cumulative requests (``istio_requests_total``)
``errors_5xx``     cumulative requests answered with a 5xx code
``latency_sum``    cumulative request duration in seconds (Istio telemetry v1,
                   ``istio_request_duration_seconds_sum``)
``latency_count``  cumulative number of timed requests (``..._count``)
``rollout``        optional: an id, for a table holding several rollouts
``bucket_le_<b>``  optional: cumulative histogram counts of requests at most
                   ``b`` seconds, Prometheus-style; the last is
                   ``bucket_le_inf``
=================  ==========================================================

Other columns are ignored. Rows of versions that are neither the baseline nor
the candidate are not used, with an
:class:`~canarystats.UnusedRowsWarning`. The table is validated and repaired
at the edge (:func:`canarystats.adapters.frames.load_rollouts`: rows sorted,
exact duplicates dropped, counter resets repaired as Prometheus'
``increase()`` does, gaps reported), and every row is accounted for in the
result's ``input_report``.

How the replay computes Iter8's metrics. Assessment ``k`` happens at
``t0 + k * interval`` over the cumulative window ``[t0, t0 + w_k]``, ``w_k =
window_seconds(k, interval)`` (at least 1 s); ``t0`` is ``start`` or the
rollout's earliest timestamp. Counters are linearly interpolated between
scrapes (Prometheus' ``increase()`` also spreads counts evenly), held at
their first value before a version's first scrape, and missing (NaN) after
its last scrape. With ``Δ`` the increase over the window:

- every metric's sample size (``count``) is ``Δrequests``;
- ``iter8_sample_size`` = ``Δrequests``;
- ``iter8_latency`` = ``Δlatency_sum / Δlatency_count`` (NaN when
  ``Δlatency_count`` is 0), ``sum`` = ``Δlatency_sum``, and with bucket
  columns the per-bucket increases (``buckets``, ``bucket_bounds``);
- ``iter8_error_count`` = ``Δerrors_5xx``;
- ``iter8_error_rate`` = ``Δerrors_5xx / Δrequests`` (NaN when 0),
  ``successes`` = ``Δerrors_5xx``.

An assessment whose window ends after a version's last scrape has no data:
its observations are NaN and the criteria judge INCONCLUSIVE (never PASS),
with an :class:`~canarystats.InsufficientDataWarning`.

Examples
--------
>>> from canarystats import data, replay
>>> result = replay(data.tutorial_experiment_path(), data.load_rollout("promoted"))
>>> result.outcome, result.final_traffic
('promote', (0.0, 100.0))
>>> result.timeline.groupby("iteration")["candidate_traffic"].first().tolist()
[20.0, 40.0, 60.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0]
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.adapters.frames import (
    KNOWN_METRICS,
    InputReport,
    RolloutSeries,
    counters_at,
    iter8_observations,
    load_rollouts,
)
from canarystats.errors import DataError, InsufficientDataWarning, SpecError
from canarystats.methods.rounding import fetch_iter8
from canarystats.observations import Observations, Reason, Verdict
from canarystats.spec import ExperimentSpec
from canarystats.strategies import Outcome, RunResult, run_experiment

__all__ = ["COMPAT_MODES", "ReplayResult", "replay", "replay_all"]

#: The values ``compat`` accepts.
COMPAT_MODES: tuple[str | None, ...] = (None, "iter8")

#: Message of the warning for assessments past the end of the data.
PAST_DATA_MESSAGE = (
    "rollout {rollout!r}: assessments {ks} have windows ending after the last scrape of "
    "{versions} ({last} s after the start); their observations are missing (NaN) and "
    "the criteria are INCONCLUSIVE"
)

_VERDICT_NAMES = np.array([Verdict(v).name for v in (-1, 0, 1)], dtype=object)
_REASON_NAMES = np.array([r.name for r in sorted(Reason)], dtype=object)

TIMELINE_COLUMNS: tuple[str, ...] = (
    "iteration",
    "time",
    "timestamp",
    "window",
    "baseline_traffic",
    "candidate_traffic",
    "routed_candidate",
    "criterion",
    "metric",
    "tolerance_type",
    "baseline_value",
    "candidate_value",
    "baseline_sample_size",
    "candidate_sample_size",
    "verdict",
    "reason",
    "abort",
    "all_passed",
    "changed",
)


def _json(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@attrs.frozen(kw_only=True)
class ReplayResult:
    """What an experiment decided over one recorded rollout.

    Attributes
    ----------
    rollout : str
        The rollout's id (``"0"`` for a table without a ``rollout`` column).
    timeline : pandas.DataFrame
        One row per assessment and criterion (one row per assessment, with
        empty criterion columns, when the experiment has no criteria):
        ``iteration``; ``time`` (seconds since the start); ``timestamp``;
        ``window`` (seconds); ``baseline_traffic`` and ``candidate_traffic``
        (the split recommended at that assessment); ``routed_candidate`` (the
        ``int()`` percentage routed after it); ``criterion`` (index);
        ``metric``; ``tolerance_type``; ``baseline_value``,
        ``candidate_value``, ``baseline_sample_size``,
        ``candidate_sample_size`` (the rounded numbers the criterion judged,
        after the missing-data policy); ``verdict`` (``PASS``, ``FAIL``,
        ``INCONCLUSIVE``); ``reason`` (a :class:`~canarystats.Reason` name);
        ``abort`` (the criterion asked to abort); ``all_passed`` and
        ``changed`` (of the assessment).
    outcome : str
        ``"promote"``, ``"rollback"``, ``"keep_baseline"`` or ``"keep_split"``.
    final_traffic : tuple of float
        The split after the experiment (baseline, candidate), in percent.
    aborted : bool
        A criterion aborted the experiment.
    end_iteration : int
        The iteration of the last assessment.
    run : RunResult
        The run behind the timeline, with batch shape ``()``.
    input_report : InputReport
        What loading the table found, repaired and rejected (rows used, not
        compared, duplicates, resets, gaps, ...): the report of the whole
        table given to :func:`replay` or :func:`replay_all` (shared by every
        rollout of a :func:`replay_all`). Not part of equality.
    """

    rollout: str
    timeline: pd.DataFrame = attrs.field(eq=False)
    outcome: str
    final_traffic: tuple[float, float]
    aborted: bool
    end_iteration: int
    run: RunResult = attrs.field(repr=False, eq=False)
    input_report: InputReport = attrs.field(repr=False, eq=False)

    def summary(self) -> dict[str, Any]:
        """A compact, JSON-ready account: outcome, each assessment's decision, input report."""
        tl = self.timeline
        iterations = []
        for row in tl.drop_duplicates("iteration").to_dict(orient="records"):
            rows = tl[tl["iteration"] == row["iteration"]]
            iterations.append(
                {
                    "iteration": int(row["iteration"]),
                    "time": float(row["time"]),
                    "candidate_traffic": float(row["candidate_traffic"]),
                    "routed_candidate": float(row["routed_candidate"]),
                    "all_passed": bool(row["all_passed"]),
                    "verdicts": [v for v in rows["verdict"].tolist() if isinstance(v, str)],
                }
            )
        return {
            "rollout": self.rollout,
            "outcome": self.outcome,
            "final_traffic": list(self.final_traffic),
            "aborted": self.aborted,
            "end_iteration": self.end_iteration,
            "iterations": iterations,
            "input_report": self.input_report.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON types: the summary's fields and the timeline's rows.

        NaN and missing values become None, timestamps ISO-8601 strings.
        """
        records = [
            {key: _json(value) for key, value in row.items()}
            for row in self.timeline.to_dict(orient="records")
        ]
        out = self.summary()
        del out["iterations"]
        out["timeline"] = records
        return out


# --------------------------------------------------------------------------- helpers


def _as_spec(experiment: ExperimentSpec | str | os.PathLike[str]) -> ExperimentSpec:
    if isinstance(experiment, ExperimentSpec):
        return experiment
    if isinstance(experiment, str | os.PathLike):
        from canarystats.adapters.iter8 import load_experiment

        return load_experiment(experiment)
    raise SpecError(
        "`experiment` must be an ExperimentSpec, or a path to (or the YAML text of) an "
        f"Iter8 experiment, got {type(experiment).__name__}"
    )


def _apply_compat(spec: ExperimentSpec, compat: str | None) -> ExperimentSpec:
    if compat not in COMPAT_MODES:
        raise SpecError(f"`compat` must be one of {list(COMPAT_MODES)}, got {compat!r}")
    if compat == "iter8":
        criteria = tuple(attrs.evolve(c, missing="iter8") for c in spec.criteria)
        return attrs.evolve(spec, criteria=criteria)
    return spec


def _check_metrics(spec: ExperimentSpec) -> None:
    for c in spec.criteria:
        if c.metric not in KNOWN_METRICS:
            raise DataError(
                f"a replay cannot compute the metric {c.metric!r} of the experiment's "
                f"criteria; known metrics: {list(KNOWN_METRICS)}"
            )


def _run(spec: ExperimentSpec, series: RolloutSeries) -> RunResult:
    n_roll = len(series.ids)
    base = counters_at(series, np.zeros(n_roll))
    metrics = sorted({c.metric for c in spec.criteria})

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> dict[str, Observations]:
        increase = counters_at(series, np.full(n_roll, window)) - base
        return {m: iter8_observations(m, increase, series.bucket_bounds) for m in metrics}

    return run_experiment(spec, observe, batch_shape=(n_roll,))


def _warn_past_data(series: RolloutSeries, run: RunResult, spec: ExperimentSpec) -> None:
    last = series.last_time  # (R, 2)
    for r, rid in enumerate(series.ids):
        ks = np.arange(int(run.end_iteration[r]) + 1)
        past = run.windows[ks][:, None] > last[r][None, :]
        if past.any():
            hit = np.flatnonzero(past.any(axis=1))
            versions = [(spec.baseline, spec.candidate)[v] for v in np.flatnonzero(past.any(0))]
            warnings.warn(
                PAST_DATA_MESSAGE.format(
                    rollout=rid,
                    ks=hit.tolist(),
                    versions=versions,
                    last=float(np.min(last[r])),
                ),
                InsufficientDataWarning,
                stacklevel=4,
            )


def _take(obj: Any, i: int) -> Any:
    """Batch slice ``i`` of arrays, attrs states and results, dicts and tuples."""
    if isinstance(obj, Observations):
        return obj[i]
    if isinstance(obj, np.ndarray):
        return obj[i] if obj.ndim else obj
    if attrs.has(type(obj)):
        fields = attrs.fields(type(obj))
        return attrs.evolve(
            obj, **{f.name: _take(getattr(obj, f.name), i) for f in fields if f.init}
        )
    if isinstance(obj, tuple):
        return tuple(_take(o, i) for o in obj)
    if isinstance(obj, Mapping):
        return {key: _take(value, i) for key, value in obj.items()}
    return obj


def _slice_run(run: RunResult, i: int) -> RunResult:
    n = int(run.end_iteration[i]) + 1
    return RunResult(
        times=run.times[:n],
        windows=run.windows[:n],
        steps=tuple(_take(s, i) for s in run.steps[:n]),
        states=tuple(_take(s, i) for s in run.states[:n]),
        observations=tuple(_take(o, i) for o in run.observations[:n]),
        routed=run.routed[: n + 1, i],
        outcome=run.outcome[i],
        final_traffic=run.final_traffic[i],
        end_iteration=run.end_iteration[i],
    )


def _fetched(
    spec: ExperimentSpec, run: RunResult
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The rounded sample sizes and values each criterion judged, shape (K, R, C, 2)."""
    crits = spec.resolved_criteria()
    n_k, batch = len(run.steps), run.outcome.shape
    n = np.full((n_k, *batch, len(crits), 2), np.nan)
    v = np.full((n_k, *batch, len(crits), 2), np.nan)
    for k, obs in enumerate(run.observations):
        for i, c in enumerate(crits):
            f = fetch_iter8(c, obs[c.metric])
            n[k, ..., i, :], v[k, ..., i, :] = f.n, f.value
    return n, v


def _timeline(
    spec: ExperimentSpec,
    run: RunResult,
    series: RolloutSeries,
    r: int,
    fetched: tuple[NDArray[np.float64], NDArray[np.float64]],
) -> pd.DataFrame:
    """The tidy timeline of rollout ``r`` of a batch run."""
    n_k = int(run.end_iteration[r]) + 1
    crits = spec.resolved_criteria()
    n_c = max(len(crits), 1)
    steps = run.steps[:n_k]

    def per_k(values: list[Any]) -> NDArray[Any]:
        return np.repeat(np.asarray(values), n_c)

    times = run.times[:n_k]
    columns: dict[str, Any] = {
        "iteration": per_k(list(range(n_k))),
        "time": per_k(list(times)),
        "timestamp": np.repeat(np.asarray(series.timestamp(r, times)), n_c),
        "window": per_k(list(run.windows[:n_k])),
        "baseline_traffic": per_k([s.traffic[r, 0] for s in steps]),
        "candidate_traffic": per_k([s.traffic[r, 1] for s in steps]),
        "routed_candidate": per_k(list(run.routed[1 : n_k + 1, r])),
    }
    if crits:
        n = fetched[0][:n_k, r].reshape(-1, 2)
        v = fetched[1][:n_k, r].reshape(-1, 2)
        verdicts = np.array([s.verdicts[r] for s in steps]).reshape(-1)
        reasons = np.array([s.reasons[r] for s in steps]).reshape(-1)
        columns.update(
            criterion=np.tile(np.arange(n_c), n_k),
            metric=np.tile(np.array([c.metric for c in crits], dtype=object), n_k),
            tolerance_type=np.tile(np.array([c.tolerance_type for c in crits], dtype=object), n_k),
            baseline_value=v[:, 0],
            candidate_value=v[:, 1],
            baseline_sample_size=n[:, 0],
            candidate_sample_size=n[:, 1],
            verdict=_VERDICT_NAMES[verdicts.astype(np.int64) + 1],
            reason=_REASON_NAMES[reasons.astype(np.int64)],
            abort=np.array([s.aborts[r] for s in steps]).reshape(-1),
        )
    else:
        none = np.full(n_k, None, dtype=object)
        columns.update(
            criterion=pd.array([pd.NA] * n_k, dtype="Int64"),
            metric=none,
            tolerance_type=none,
            baseline_value=np.full(n_k, np.nan),
            candidate_value=np.full(n_k, np.nan),
            baseline_sample_size=np.full(n_k, np.nan),
            candidate_sample_size=np.full(n_k, np.nan),
            verdict=none,
            reason=none,
            abort=np.zeros(n_k, dtype=bool),
        )
    columns["all_passed"] = per_k([bool(s.all_passed[r]) for s in steps])
    columns["changed"] = per_k([bool(s.changed[r]) for s in steps])
    return pd.DataFrame({name: columns[name] for name in TIMELINE_COLUMNS})


def _results(spec: ExperimentSpec, series: RolloutSeries) -> dict[str, ReplayResult]:
    run = _run(spec, series)
    _warn_past_data(series, run, spec)
    fetched = _fetched(spec, run)
    out: dict[str, ReplayResult] = {}
    for r, rid in enumerate(series.ids):
        code = Outcome(int(run.outcome[r]))
        final = run.final_traffic[r]
        out[rid] = ReplayResult(
            rollout=rid,
            timeline=_timeline(spec, run, series, r, fetched),
            outcome=code.name.lower(),
            final_traffic=(float(final[0]), float(final[1])),
            aborted=bool(run.states[-1].aborted[r]),
            end_iteration=int(run.end_iteration[r]),
            run=_slice_run(run, r),
            input_report=series.report,
        )
    return out


# --------------------------------------------------------------------------- public API


def replay(
    experiment: ExperimentSpec | str | os.PathLike[str],
    data: pd.DataFrame | str | os.PathLike[str] | RolloutSeries,
    *,
    compat: str | None = None,
    start: Any = None,
    invalid: str = "raise",
) -> ReplayResult:
    """Replay an experiment over one recorded rollout.

    Parameters
    ----------
    experiment : ExperimentSpec, path or str
        The experiment, or an Iter8 experiment file (read with
        ``canarystats.load_experiment``).
    data : DataFrame or path
        The recorded rollout (see the module docstring), or a CSV or Parquet
        file holding it. It must hold one rollout; use :func:`replay_all` for
        several. Or a ready :class:`~canarystats.adapters.frames.RolloutSeries`
        (e.g. from :func:`canarystats.adapters.prometheus.fetch_rollout`);
        ``start`` and ``invalid`` then do not apply.
    compat : {None, "iter8"}, optional
        ``"iter8"`` replays with Iter8's missing-data policy (every criterion
        with ``missing="iter8"``); None uses the experiment as it is.
    start : timestamp or float, optional
        The experiment's start ``t0`` (a timestamp, or seconds for numeric
        timestamps); by default the earliest timestamp of the rollout.
    invalid : {"raise", "drop"}, optional
        What an invalid row does: raise a ``DataError`` (the default), or be
        dropped and counted in the result's ``input_report`` (see
        :func:`canarystats.adapters.frames.load_rollouts`).

    Returns
    -------
    ReplayResult

    Raises
    ------
    SpecError
        For a ``compat`` other than None or ``"iter8"``.
    DataError
        For a table that cannot be used (see
        :func:`canarystats.adapters.frames.load_rollouts`), a table with
        several rollouts, or a criterion on a metric the replay cannot
        compute.

    Warns
    -----
    UnusedRowsWarning
        For rows of versions that are neither the baseline nor the candidate,
        and for invalid rows dropped with ``invalid="drop"``.
    InsufficientDataWarning
        For assessments whose windows end after the data.
    """
    spec = _apply_compat(_as_spec(experiment), compat)
    _check_metrics(spec)
    if isinstance(data, RolloutSeries):
        series = data
    else:
        series = load_rollouts(data, spec.baseline, spec.candidate, start=start, invalid=invalid)
    if len(series.ids) > 1:
        shown = list(series.ids[:5]) + (["..."] if len(series.ids) > 5 else [])
        raise DataError(
            f"the table holds {len(series.ids)} rollouts (column `rollout`: {shown}); "
            "replay() takes one rollout: use replay_all() for several"
        )
    return next(iter(_results(spec, series).values()))


def replay_all(
    experiment: ExperimentSpec | str | os.PathLike[str],
    data: pd.DataFrame | str | os.PathLike[str] | RolloutSeries,
    *,
    compat: str | None = None,
    invalid: str = "raise",
) -> dict[str, ReplayResult]:
    """Replay an experiment over every rollout of a table, as one batch.

    The rollouts may have different scrape times and lengths; each starts at
    its own earliest timestamp. All are stepped together (batch shape
    ``(n_rollouts,)``), with the counters interpolated over all rollouts at
    once, and each result equals :func:`replay` of that rollout alone.

    Parameters
    ----------
    experiment, data, compat, invalid
        As for :func:`replay`.

    Returns
    -------
    dict of str to ReplayResult
        Keyed by rollout id (as a string), in order of first appearance.
        Every result carries the input report of the whole table.

    Raises
    ------
    SpecError, DataError
        As for :func:`replay`.
    """
    spec = _apply_compat(_as_spec(experiment), compat)
    _check_metrics(spec)
    if isinstance(data, RolloutSeries):
        series = data
    else:
        series = load_rollouts(data, spec.baseline, spec.candidate, invalid=invalid)
    return _results(spec, series)
