"""A plain-Python oracle of Iter8 v0.1's ``check_and_increment`` analytics.

This module is written from the rules (``DESIGN.md``, "Iter8 v0.1 semantics" and its fine
print, as read from the Iter8 analytics v0.2.1 sources), not from canarystats' implementation.
It works on Python floats, dicts and lists, one experiment at a time, the way Iter8's
analytics service handled one REST call, so that tests and benchmarks can check the vectorized
library slice by slice.

Shapes of the inputs (all plain Python):

criterion
    ``{"metric": str, "type": "threshold" | "delta", "tolerance": float,
    "sample_size": float, "stop_on_failure": bool, "is_counter": bool,
    "absent_value": str}`` (missing keys take Iter8's defaults: sample size 10, no stop on
    failure, not a counter, absent value ``"0.0"``).
traffic_control
    ``{"step_size": float, "max_traffic_percent": float}`` (defaults 2 and 50).
last_state
    ``None`` for the first iteration, else ``{"baseline": {"traffic_percentage": float,
    "info": [[int(n), value], ...]}, "candidate": {...}}``; ``info`` holds one pair per
    criterion (it may be shorter than the list of criteria: a missing entry is "no entry").
observed
    one item per criterion: ``{"baseline": (n, value) | None, "candidate": (n, value) | None}``;
    ``None`` (or NaN) for a whole pair, a sample size or a value means "missing".

Only the Iter8 semantics (canarystats' ``missing="iter8"``) are modelled here.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

VERSIONS = ("baseline", "candidate")

DEFAULT_CRITERION = {
    "type": "threshold",
    "sample_size": 10,
    "stop_on_failure": False,
    "is_counter": False,
    "absent_value": "0.0",
}
DEFAULT_TRAFFIC_CONTROL = {"step_size": 2.0, "max_traffic_percent": 50.0}


def round3(x: float) -> float:
    """Iter8's rounding of every fetched number: ``float('%.3f' % x)``."""
    return float("%.3f" % x)  # noqa: UP031 -- Iter8's exact expression


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def parse_absent_value(absent_value: str | float | None) -> float | None:
    """``float(absent_value)``, or ``None`` when it does not parse (e.g. ``"None"``)."""
    if absent_value is None:
        return None
    try:
        return float(absent_value)
    except (TypeError, ValueError):
        return None


def fetch(pair: Sequence[Any] | None, absent_value: str | None) -> tuple[float, float | None]:
    """What Iter8's metric queries hand to the criteria: rounded ``(n, value)``.

    A missing sample size is 0; a missing value takes the parsed ``absent_value``.
    """
    n_raw, v_raw = (None, None) if pair is None else pair
    n = 0.0 if _is_missing(n_raw) else round3(float(n_raw))
    v = parse_absent_value(absent_value) if _is_missing(v_raw) else round3(float(v_raw))
    return n, v


def _criterion(c: dict[str, Any]) -> dict[str, Any]:
    out = {**DEFAULT_CRITERION, **c}
    if out["type"] not in ("threshold", "delta"):
        raise ValueError(f"unknown criterion type {out['type']!r}")
    if out["type"] == "delta" and out["is_counter"]:
        raise ValueError("Delta criterion cannot be used with counter metric.")
    return out


def threshold_test(c: dict[str, Any], candidate: tuple[float, float | None]) -> dict[str, bool]:
    """Iter8's ThresholdCriterion.test on fetched (rounded) statistics."""
    n, value = candidate
    if n < c["sample_size"]:
        return {"success": False, "sample_size_sufficient": False}
    if value is None:
        return {"success": False, "sample_size_sufficient": True}
    return {"success": value <= c["tolerance"], "sample_size_sufficient": True}


def delta_test(
    c: dict[str, Any],
    baseline: tuple[float, float | None],
    candidate: tuple[float, float | None],
) -> dict[str, bool]:
    """Iter8's DeltaCriterion.test on fetched (rounded) statistics."""
    if c["is_counter"]:
        raise ValueError("Delta criterion cannot be used with counter metric.")
    (nb, vb), (nc, vc) = baseline, candidate
    if nc < c["sample_size"] or nb < c["sample_size"]:
        return {"success": False, "sample_size_sufficient": False}
    if vb is None or vc is None:
        return {"success": False, "sample_size_sufficient": True}
    return {"success": vc <= (1 + c["tolerance"]) * vb, "sample_size_sufficient": True}


def abort_rule(c: dict[str, Any], success: bool, sufficient: bool) -> bool:
    """Iter8's SuccessCriterion.post_process_test_result abort flag."""
    return bool(
        (c["stop_on_failure"] and sufficient and not success)
        or (c["is_counter"] and sufficient and c["type"] == "threshold" and not success)
    )


def check_and_increment(
    criteria: Sequence[dict[str, Any]],
    traffic_control: dict[str, Any] | None,
    last_state: dict[str, Any] | None,
    observed: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """One REST call of Iter8's ``/analytics/canary/check_and_increment``.

    Returns a dict with ``baseline_traffic``, ``candidate_traffic``, ``info`` (per version,
    the new list of ``[int(n), value]`` pairs), ``met``, ``sufficient``, ``abort`` (per
    criterion), ``all_met``, ``abort_experiment``, ``changed`` and ``state`` (the new
    ``last_state``).
    """
    crits = [_criterion(c) for c in criteria]
    tc = {**DEFAULT_TRAFFIC_CONTROL, **(traffic_control or {})}
    if len(observed) != len(crits):
        raise ValueError("one observation per criterion")

    met: list[bool] = []
    sufficient: list[bool] = []
    aborts: list[bool] = []
    fetched: list[dict[str, tuple[float, float | None]]] = []
    for c, obs in zip(crits, observed, strict=True):
        f = {ver: fetch(obs.get(ver), c["absent_value"]) for ver in VERSIONS}
        fetched.append(f)
        if c["type"] == "threshold":
            r = threshold_test(c, f["candidate"])
        else:
            r = delta_test(c, f["baseline"], f["candidate"])
        met.append(bool(r["success"]))
        sufficient.append(bool(r["sample_size_sufficient"]))
        aborts.append(abort_rule(c, r["success"], r["sample_size_sufficient"]))
    all_met = all(met)
    abort_experiment = any(aborts)

    first = not last_state
    if first:
        info: dict[str, list[list[Any]]] = {ver: [] for ver in VERSIONS}
        last_candidate = 0.0
    else:
        assert last_state is not None
        info = {ver: copy.deepcopy(list(last_state[ver]["info"])) for ver in VERSIONS}
        last_candidate = last_state["candidate"]["traffic_percentage"]

    changed = False
    for i, f in enumerate(fetched):
        for ver in VERSIONS:
            n, value = f[ver]
            entries = info[ver]
            if len(entries) <= i:
                entries.append([int(n), value])
                changed = True
            elif int(n) > entries[i][0] or value != entries[i][1]:
                entries[i] = [int(n), value]
                changed = True

    if not changed:
        candidate = last_candidate
    elif first or all_met:
        candidate = min(last_candidate + tc["step_size"], tc["max_traffic_percent"])
    else:
        candidate = last_candidate
    baseline = 100.0 - candidate

    state = {
        "baseline": {"traffic_percentage": baseline, "info": info["baseline"]},
        "candidate": {"traffic_percentage": candidate, "info": info["candidate"]},
    }
    return {
        "baseline_traffic": baseline,
        "candidate_traffic": candidate,
        "info": info,
        "met": met,
        "sufficient": sufficient,
        "abort": aborts,
        "all_met": all_met,
        "abort_experiment": abort_experiment,
        "changed": changed,
        "state": state,
    }


def run(
    criteria: Sequence[dict[str, Any]],
    traffic_control: dict[str, Any] | None,
    observations: Sequence[Sequence[dict[str, Any]]],
    *,
    max_iterations: int,
    on_success: str = "candidate",
) -> dict[str, Any]:
    """A whole Iter8 v0.1 experiment: assessments at iterations ``0..max_iterations``.

    ``observations[k]`` is the per-criterion observation of assessment ``k`` (cumulative
    windows). An abort ends at once with rollback and without applying that assessment's
    increment; otherwise the final verdict is the last assessment's ``all_met``. Returns
    ``outcome`` ("success", "failure" or "aborted"), ``passed``, ``aborted``,
    ``end_iteration`` (index of the last assessment made), the final ``split``
    ``(baseline, candidate)`` in routed (integer) percent, the last analytics ``state`` and the
    per-iteration ``history`` of results.
    """
    if on_success not in ("candidate", "baseline", "both"):
        raise ValueError(f"unknown on_success {on_success!r}")
    if len(observations) < max_iterations + 1:
        raise ValueError("need one observation per assessment (max_iterations + 1)")
    last_state: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    for k in range(max_iterations + 1):
        result = check_and_increment(criteria, traffic_control, last_state, observations[k])
        history.append(result)
        if result["abort_experiment"]:
            return {
                "outcome": "aborted",
                "passed": False,
                "aborted": True,
                "end_iteration": k,
                "split": (100, 0),
                "state": last_state,
                "history": history,
            }
        last_state = result["state"]
    assert result is not None
    assert last_state is not None
    passed = bool(result["all_met"])
    if passed:
        routed = int(last_state["candidate"]["traffic_percentage"])
        split = {"candidate": (0, 100), "baseline": (100, 0), "both": (100 - routed, routed)}[
            on_success
        ]
    else:
        split = (100, 0)
    return {
        "outcome": "success" if passed else "failure",
        "passed": passed,
        "aborted": False,
        "end_iteration": max_iterations,
        "split": split,
        "state": last_state,
        "history": history,
    }


def info_lists(info: Any) -> dict[str, list[list[Any]]]:
    """A change-detection record of shape (n_criteria, 2, 2) as Iter8's per-version lists.

    ``info[i, v]`` holds ``[int(n), value]`` of criterion ``i`` and version ``v``; a NaN
    sample size means "no entry" (the list stops there), a NaN value is Iter8's None.
    """
    out: dict[str, list[list[Any]]] = {}
    for v, ver in enumerate(VERSIONS):
        pairs = []
        for n, value in info[:, v, :].tolist():
            if math.isnan(n):
                break
            pairs.append([int(n), None if math.isnan(value) else value])
        out[ver] = pairs
    return out
