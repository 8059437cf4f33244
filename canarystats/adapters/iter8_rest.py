"""Iter8 v0.x analytics REST compatibility: ``check_and_increment`` as a function.

:func:`assess` answers one ``POST /api/v1/analytics/canary/check_and_increment``
(also served as ``/api/v1/experiment/check_and_increment``) exactly as Iter8's
analytics service (v0.2.1) did, given the metric values its Prometheus queries
would have returned. It is built on the core: the request's success criteria
become :class:`~canarystats.Criterion` objects with ``method="point"`` and
``missing="iter8"``, ``_last_state`` becomes a :class:`~canarystats.State`
(:func:`state_from_iter8`), and one :func:`canarystats.step` decides.
Chaining the returned ``_last_state`` through successive calls behaves as Iter8
did. Only the ``check_and_increment`` strategy is served; Iter8's
``epsilon_t_greedy`` endpoint and its bandit cousins are not.

Examples
--------
>>> from canarystats.adapters.iter8 import assess
>>> request = {
...     "baseline": {"start_time": "2019-04-24T19:40:32.017Z", "tags": {"app": "v1"}},
...     "candidate": {"start_time": "2019-04-24T19:40:32.017Z", "tags": {"app": "v3"}},
...     "traffic_control": {"success_criteria": [
...         {"metric_name": "iter8_error_rate", "is_counter": False,
...          "absent_value": "0.0", "type": "delta", "value": 0.02, "sample_size": 0}]},
...     "_last_state": {
...         "baseline": {"traffic_percentage": 75, "success_criterion_information": [[0, 0]]},
...         "candidate": {"traffic_percentage": 25, "success_criterion_information": [[0, 0]]}},
... }
>>> observations = {"baseline": [{"sample_size": 21.763975, "value": 21.763975}],
...                 "candidate": [{"sample_size": 19.67701, "value": 19.67701}]}
>>> response = assess(request, observations)
>>> response["baseline"]["traffic_percentage"], response["candidate"]["traffic_percentage"]
(73.0, 27.0)
>>> response["_last_state"]["candidate"]["success_criterion_information"]
[[19, 19.677]]
>>> response["assessment"]["summary"]["all_success_criteria_met"]
True

Notes
-----
**Request** (Iter8's ``check_and_increment_parameters``; JSON):

``baseline``, ``candidate``
    ``{"start_time": ISO 8601, "end_time": ISO 8601, "tags": {...}}``: how Iter8
    queried each version. canarystats is given the observations instead, so
    these are optional; when present they must be mappings (their content is
    not used).
``traffic_control`` (required)
    ``step_size`` (default 2), ``max_traffic_percent`` (default 50) and
    ``success_criteria`` (required, a list). Other keys (``warmup_request_count``,
    ``confidence``) are ignored, as Iter8's ``check_and_increment`` ignored them.
``traffic_control.success_criteria[i]``
    ``metric_name`` (required string), ``is_counter`` (required boolean),
    ``type`` (required, ``"threshold"`` or ``"delta"``), ``value`` (required
    number: the threshold, or the delta's relative margin), ``sample_size``
    (default 10), ``stop_on_failure`` (default false), ``absent_value`` (a
    string, default ``"0.0"``; one that does not parse as a number, such as
    ``"None"``, leaves a missing value missing, which fails the criterion).
    ``metric_query_template`` and ``metric_sample_size_query_template`` (how
    Iter8 fetched the data), ``confidence`` (never used by Iter8's
    ``check_and_increment``) and any other key are accepted and ignored. A
    ``delta`` criterion on a counter raises ``SpecError`` (a ``ValueError``)
    whatever the data, as Iter8 raised ``ValueError``.
``_last_state``
    ``{}`` (or null, or absent) on the first call; afterwards the
    ``_last_state`` of the previous response: ``{"baseline":
    {"traffic_percentage": number, "success_criterion_information": [[n,
    value-or-null], ...]}, "candidate": {...}}``.
``observations`` (canarystats' key, optional)
    The observations, when they are not passed as the second argument (the
    HTTP service uses this convention).

**Observations**: ``{"baseline": [{"sample_size": n, "value": v}, ...],
"candidate": [...]}``, one entry per success criterion, in order: what the
criterion's sample-size and value queries returned for each version. Both
keys of an entry are required; ``null`` (or NaN) means the query found
nothing. As in Iter8, a missing sample size reads as 0 and a missing value
takes the criterion's ``absent_value``. Numbers are rounded as Iter8 rounded
them (``float('%.3f' % x)``).

**Response** (Iter8's ``default_response`` without ``metric_backend_url``):

``baseline``, ``candidate``
    ``traffic_percentage`` (float; the baseline's is ``100.0 - candidate``) and
    ``metrics``: one ``{"metric_name", "is_counter", "absent_value",
    "statistics": {"sample_size", "value"}}`` per criterion, the numbers as
    Iter8 fetched them (rounded; ``value`` null when missing).
``assessment.summary``
    ``all_success_criteria_met``, ``abort_experiment``, ``sample_size_sufficient``
    (all criteria had enough data) and ``conclusions`` (sentences).
``assessment.success_criteria[i]``
    ``metric_name``, ``success_criterion_met``, ``abort_experiment``,
    ``sample_size_sufficient`` and ``conclusions``.
``_last_state``
    The state to post with the next call (see :func:`state_to_iter8`).

**Differences from Iter8.** Decisions, traffic and ``_last_state`` are
Iter8's, including where Iter8 was wrong (a missing value passes as
``absent_value: "0.0"``; the first assessment increments traffic even when a
criterion aborts; unchanged data holds traffic whatever the verdicts). The
differences concern requests, not answers:

- fields Iter8 required only to query Prometheus (``start_time``, ``tags``,
  the query templates) are optional, because the data is given;
- conclusions are canarystats' own sentences; Iter8's clock-dependent "end
  time is more than 30 mins ago" is not produced (:func:`assess` is pure);
- a request Iter8 accepted but the core refuses raises ``SpecError``: a
  negative ``sample_size``, a negative delta ``value``,
  ``max_traffic_percent`` above 100 or ``step_size`` above 100 (Iter8 would
  have computed with them); an infinite sample size raises too (Iter8's
  ``int()`` failed on it and the call returned HTTP 400).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from canarystats.adapters._fields import construct
from canarystats.errors import SpecError
from canarystats.methods.rounding import fetch_iter8
from canarystats.observations import Observations, Reason, Verdict
from canarystats.registry import get_method
from canarystats.spec import TOLERANCE_TYPES, Criterion, ExperimentSpec, TrafficControl
from canarystats.strategies.base import State
from canarystats.strategies.check_and_increment import empty_change_record, initial_state, step

__all__ = ["VERSIONS", "assess", "spec_from_request", "state_from_iter8", "state_to_iter8"]

#: The two versions of an Iter8 canary, in the order of canarystats' version axis.
VERSIONS = ("baseline", "candidate")

_SCI = "success_criterion_information"
_TP = "traffic_percentage"

# Iter8's defaults for absent request fields (iter8_analytics/api/analytics/iter8experiment.py,
# request_parameters.py of v0.2.1).
_DEFAULT_STEP_SIZE = 2.0
_DEFAULT_MAX_TRAFFIC_PERCENT = 50.0
_DEFAULT_SAMPLE_SIZE = 10.0
_DEFAULT_ABSENT_VALUE = "0.0"


# --------------------------------------------------------------------------- validation


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"`{path}` must be a mapping, got {value!r}")
    return value


def _required(container: Mapping[str, Any], key: str, path: str, allowed: str) -> Any:
    if key not in container:
        raise SpecError(f"`{path}` is required: {allowed}, but it is missing")
    return container[key]


def _number(value: Any, path: str, allowed: str = "a number") -> float:
    if not _is_number(value):
        raise SpecError(f"`{path}` must be {allowed}, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise SpecError(f"`{path}` must be {allowed}, got {value!r}") from None


def _optional_number(value: Any, path: str) -> float:
    """A number, or NaN for None / NaN (Iter8's "the query found nothing")."""
    if value is None:
        return math.nan
    return _number(value, path, "a number or null")


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise SpecError(f"`{path}` must be true or false, got {value!r}")
    return bool(value)


def _list(value: Any, path: str, what: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise SpecError(f"`{path}` must be a list of {what}, got {value!r}")
    return value




# --------------------------------------------------------------------------- the request


def _parse_criterion(item: Any, i: int, key: str) -> Criterion:
    prefix = f"traffic_control.success_criteria[{i}]"
    entry = _mapping(item, prefix)
    name = _required(entry, "metric_name", f"{prefix}.metric_name", "a non-empty string")
    if not isinstance(name, str) or not name:
        raise SpecError(f"`{prefix}.metric_name` must be a non-empty string, got {name!r}")
    is_counter = _bool(
        _required(entry, "is_counter", f"{prefix}.is_counter", "true or false"),
        f"{prefix}.is_counter",
    )
    kind = _required(entry, "type", f"{prefix}.type", f"one of {list(TOLERANCE_TYPES)}")
    if kind not in TOLERANCE_TYPES:
        raise SpecError(f"`{prefix}.type` must be one of {list(TOLERANCE_TYPES)}, got {kind!r}")
    value = _number(_required(entry, "value", f"{prefix}.value", "a number"), f"{prefix}.value")
    sample_size = _DEFAULT_SAMPLE_SIZE
    if "sample_size" in entry:
        sample_size = _number(entry["sample_size"], f"{prefix}.sample_size", "a number >= 0")
    stop = False
    if "stop_on_failure" in entry:
        stop = _bool(entry["stop_on_failure"], f"{prefix}.stop_on_failure")
    absent = entry.get("absent_value", _DEFAULT_ABSENT_VALUE)
    if not isinstance(absent, str):
        raise SpecError(
            f"`{prefix}.absent_value` must be a string such as '0.0' or 'None', got {absent!r}"
        )
    if "confidence" in entry and entry["confidence"] is not None:
        _number(entry["confidence"], f"{prefix}.confidence")
    paths = {
        "metric": f"{prefix}.metric_name",
        "tolerance_type": f"{prefix}.type",
        "tolerance": f"{prefix}.value",
        "sample_size": f"{prefix}.sample_size",
        "stop_on_failure": f"{prefix}.stop_on_failure",
        "is_counter": f"{prefix}.is_counter",
        "absent_value": f"{prefix}.absent_value",
    }
    criterion: Criterion = construct(
        Criterion,
        {
            "metric": key,
            "tolerance_type": kind,
            "tolerance": value,
            "sample_size": sample_size,
            "stop_on_failure": stop,
            "is_counter": is_counter,
            "absent_value": absent,
            "missing": "iter8",
            "extras": {"metric_name": name},
        },
        paths,
    )
    return criterion


def _metric_keys(names: list[str]) -> list[str]:
    """The keys observations are stored under: the metric names, made unique."""
    if len(set(names)) == len(names):
        return names
    return [f"{name}#{i}" for i, name in enumerate(names)]


def spec_from_request(request: Mapping[str, Any]) -> ExperimentSpec:
    """The :class:`~canarystats.ExperimentSpec` of an Iter8 ``check_and_increment`` request.

    Criteria use ``method="point"`` and ``missing="iter8"``; a criterion's
    ``metric`` is its ``metric_name`` (suffixed ``#i`` when two criteria share a
    name, so that each has its own observations); ``max_iterations`` is
    unbounded in practice (Iter8's analytics did not count iterations).

    Raises
    ------
    SpecError
        Naming the request's field path.
    """
    request = _mapping(request, "request")
    for version in VERSIONS:
        if version in request and request[version] is not None:
            _mapping(request[version], version)
    tc = _mapping(
        _required(request, "traffic_control", "traffic_control", "a mapping"), "traffic_control"
    )
    items = _list(
        _required(tc, "success_criteria", "traffic_control.success_criteria", "a list of criteria"),
        "traffic_control.success_criteria",
        "success criteria",
    )
    names = []
    for i, item in enumerate(items):
        entry = _mapping(item, f"traffic_control.success_criteria[{i}]")
        name = entry.get("metric_name")
        names.append(name if isinstance(name, str) else "")
    keys = _metric_keys(names)
    criteria = [_parse_criterion(item, i, keys[i] or "?") for i, item in enumerate(items)]
    kwargs: dict[str, Any] = {"max_iterations": 2**62}
    step_size = tc.get("step_size", _DEFAULT_STEP_SIZE)
    kwargs["step_size"] = _number(step_size, "traffic_control.step_size", "a number in (0, 100]")
    max_pct = tc.get("max_traffic_percent", _DEFAULT_MAX_TRAFFIC_PERCENT)
    kwargs["max_traffic_percent"] = _number(
        max_pct, "traffic_control.max_traffic_percent", "a number in [0, 100]"
    )
    traffic_control = construct(
        TrafficControl,
        kwargs,
        {
            "step_size": "traffic_control.step_size",
            "max_traffic_percent": "traffic_control.max_traffic_percent",
        },
    )
    return ExperimentSpec(
        name="iter8-rest",
        target_service="service",
        baseline="baseline",
        candidate="candidate",
        traffic_control=traffic_control,
        criteria=criteria,
    )


def _parse_observations(observations: Any, n_criteria: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """``(count, value)``, each of shape (n_criteria, 2), NaN where missing."""
    obs = _mapping(observations, "observations")
    count = np.full((n_criteria, 2), np.nan)
    value = np.full((n_criteria, 2), np.nan)
    for v, version in enumerate(VERSIONS):
        path = f"observations.{version}"
        items = _list(
            _required(obs, version, path, f"a list of {n_criteria} observation(s)"),
            path,
            "observations, one per success criterion",
        )
        if len(items) != n_criteria:
            raise SpecError(
                f"`{path}` must hold one observation per success criterion ({n_criteria}), "
                f"got {len(items)}"
            )
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            entry = _mapping(item, where)
            n = _optional_number(
                _required(entry, "sample_size", f"{where}.sample_size", "a number or null"),
                f"{where}.sample_size",
            )
            if math.isinf(n):
                raise SpecError(
                    f"`{where}.sample_size` must be finite, got {n!r} (Iter8's int() failed on it)"
                )
            count[i, v] = n
            value[i, v] = _optional_number(
                _required(entry, "value", f"{where}.value", "a number or null"), f"{where}.value"
            )
    return count, value


# --------------------------------------------------------------------------- _last_state


def _parse_info(raw: Any, path: str) -> list[tuple[float, float]]:
    entries = _list(raw, path, "[sample size, value] pairs")
    out = []
    for j, pair in enumerate(entries):
        where = f"{path}[{j}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise SpecError(f"`{where}` must be a pair [sample size, value], got {pair!r}")
        n = _number(pair[0], f"{where}[0]", "a number (the stored int(sample size))")
        if not math.isfinite(n):
            raise SpecError(f"`{where}[0]` must be a finite number, got {pair[0]!r}")
        out.append((n, _optional_number(pair[1], f"{where}[1]")))
    return out


def _parse_last_state(
    last_state: Any,
) -> tuple[tuple[float, float], tuple[list[tuple[float, float]], ...]] | None:
    """``((baseline %, candidate %), (baseline info, candidate info))``, or None when empty."""
    if not last_state and (last_state is None or isinstance(last_state, Mapping)):
        return None
    last = _mapping(last_state, "_last_state")
    traffic = []
    infos = []
    for version in VERSIONS:
        path = f"_last_state.{version}"
        entry = _mapping(_required(last, version, path, "a mapping"), path)
        tp = _number(
            _required(entry, _TP, f"{path}.{_TP}", "a number"), f"{path}.{_TP}", "a number"
        )
        if not math.isfinite(tp):
            raise SpecError(f"`{path}.{_TP}` must be a finite number, got {tp!r}")
        traffic.append(tp)
        infos.append(
            _parse_info(
                _required(entry, _SCI, f"{path}.{_SCI}", "a list of [sample size, value] pairs"),
                f"{path}.{_SCI}",
            )
        )
    return (traffic[0], traffic[1]), (infos[0], infos[1])


def state_from_iter8(last_state: Mapping[str, Any] | None, spec: ExperimentSpec) -> State:
    """A 0-d-batch :class:`~canarystats.State` from Iter8's ``_last_state``.

    An empty (or None) ``_last_state`` is Iter8's first call:
    ``initial_state(spec, ())`` (iteration 0, traffic 100 / 0). Otherwise the
    state is at iteration 1 with the posted traffic and, in ``State.info``, the
    posted ``success_criterion_information`` pairs (NaN sample size where a
    criterion has no entry yet; a null value is NaN, Iter8's None).

    Lossy where Iter8 holds less than canarystats: the iteration number is not
    known (1 stands for "not the first"), ``done``, ``aborted`` and ``passed``
    are False, and the method states start afresh (the point method does not
    carry anything between assessments). Entries beyond the spec's criteria
    are ignored.

    Parameters
    ----------
    last_state : mapping or None
        Iter8's ``_last_state``.
    spec : ExperimentSpec
        The experiment (its criteria decide the shape of ``State.info``).

    Raises
    ------
    SpecError
        For a malformed ``_last_state``, naming the field's path.

    Examples
    --------
    >>> from canarystats import Criterion, ExperimentSpec
    >>> spec = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c",
    ...     criteria=[Criterion(metric="m", tolerance_type="threshold", tolerance=1.0)])
    >>> state = state_from_iter8({
    ...     "baseline": {"traffic_percentage": 98.0, "success_criterion_information": [[12, 0.5]]},
    ...     "candidate": {"traffic_percentage": 2, "success_criterion_information": [[3, None]]},
    ... }, spec)
    >>> state.traffic.tolist(), state.info.tolist()
    ([98.0, 2.0], [[[12.0, 0.5], [3.0, nan]]])
    >>> state_to_iter8(state)["candidate"]
    {'traffic_percentage': 2.0, 'success_criterion_information': [[3, None]]}
    """
    if not isinstance(spec, ExperimentSpec):
        raise SpecError(f"`spec` must be an ExperimentSpec, got {spec!r}")
    parsed = _parse_last_state(last_state)
    if parsed is None:
        return initial_state(spec, ())
    (base_tp, cand_tp), infos = parsed
    criteria = spec.resolved_criteria()
    info = empty_change_record((), len(criteria))
    for v, entries in enumerate(infos):
        for i, (n, value) in enumerate(entries[: len(criteria)]):
            info[i, v, 0] = n
            info[i, v, 1] = value
    info.flags.writeable = False
    return State(
        traffic=np.array([base_tp, cand_tp]),
        iteration=np.int64(1),
        done=np.False_,
        aborted=np.False_,
        passed=np.False_,
        info=info,
        method_states=tuple(get_method(c.method).init(c, ()) for c in criteria),
    )


def _plain_value(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def state_to_iter8(state: State) -> dict[str, Any]:
    """Iter8's ``_last_state`` of a 0-d-batch :class:`~canarystats.State`.

    A state before the first assessment (iteration 0) gives ``{}``, which is
    what Iter8's controller posted on its first call. Otherwise::

        {"baseline": {"traffic_percentage": float,
                      "success_criterion_information": [[int(n), value-or-None], ...]},
         "candidate": {...}}

    Lossy: Iter8's state holds only the traffic split and the change-detection
    record; the iteration number, ``done`` / ``aborted`` / ``passed`` and the
    method states are not written (:func:`state_from_iter8` restores what it
    can). Criteria without an entry yet (NaN sample size) end the list, as
    Iter8's lists only grow at their end.

    Raises
    ------
    SpecError
        When the batch is not 0-d, or when the record cannot be written as
        Iter8's lists (an entry after a missing one, an infinite sample size).
    """
    if not isinstance(state, State):
        raise SpecError(f"`state` must be a State, got {state!r}")
    if state.batch_shape != ():
        raise SpecError(
            "Iter8's `_last_state` holds one experiment: the state must have a 0-d batch, "
            f"got batch shape {state.batch_shape}; convert one slice at a time"
        )
    if int(state.iteration) == 0:
        return {}
    info = np.asarray(state.info)
    traffic = np.asarray(state.traffic, dtype=np.float64)
    out: dict[str, Any] = {}
    for v, version in enumerate(VERSIONS):
        entries: list[list[Any]] = []
        ended = False
        for i in range(info.shape[0]):
            n, value = float(info[i, v, 0]), float(info[i, v, 1])
            if math.isnan(n):
                ended = True
                continue
            if ended or math.isinf(n):
                raise SpecError(
                    f"`state.info` of criterion {i} ({version}) cannot be written as Iter8's "
                    f"success_criterion_information: "
                    + ("it follows a criterion without an entry" if ended else f"n = {n!r}")
                )
            entries.append([int(n) if n.is_integer() else n, _plain_value(value)])
        out[version] = {_TP: float(traffic[v]), _SCI: entries}
    return out


# --------------------------------------------------------------------------- assess


def _criterion_conclusions(
    criterion: Criterion, name: str, met: bool, sufficient: bool, abort: bool, reason: int
) -> list[str]:
    tol = float(criterion.tolerance)
    if not sufficient:
        return [
            f"Not enough data for {name}: fewer than {float(criterion.sample_size):g} "
            "requests observed; the criterion is not met yet."
        ]
    verb = "meets" if met else "does not meet"
    if criterion.tolerance_type == "threshold":
        sentence = f"The candidate's {name} {verb} the threshold {tol:g}."
    else:
        sentence = (
            f"The candidate's {name} {verb} the delta criterion: at most {1 + tol:g} times "
            "the baseline's."
        )
    out = [sentence]
    if reason == Reason.ABSENT_VALUE_USED:
        out.append(
            f"A missing value of {name} was replaced by its absent_value "
            f"{criterion.absent_value!r}, as Iter8 did."
        )
    elif reason == Reason.MISSING_VALUE:
        out.append(f"The value of {name} is missing (absent_value {criterion.absent_value!r}).")
    if abort:
        if criterion.is_counter and criterion.tolerance_type == "threshold":
            out.append(f"The counter {name} exceeds its threshold: abort the experiment.")
        else:
            out.append("The criterion has stop_on_failure set and failed: abort the experiment.")
    return out


def _baseline_fails(criteria: Sequence[Criterion], n: NDArray[Any], value: NDArray[Any]) -> bool:
    """Iter8's extra check: the baseline has enough data and fails some threshold."""
    sufficient = all(n[i, 0] >= float(c.sample_size) for i, c in enumerate(criteria))
    passes = all(
        c.tolerance_type == "delta" or bool(value[i, 0] <= float(c.tolerance))
        for i, c in enumerate(criteria)
    )
    return sufficient and not passes


def _plain_info(entries: Sequence[tuple[float, float]]) -> list[list[Any]]:
    return [[int(n) if float(n).is_integer() else n, _plain_value(v)] for n, v in entries]


def _assess_without_criteria(
    parsed: tuple[tuple[float, float], tuple[list[tuple[float, float]], ...]] | None,
) -> dict[str, Any]:
    # With no success criteria Iter8's analytics never observed a change, so it held
    # traffic (its controller ran increment_without_check itself instead of calling).
    candidate = 0.0 if parsed is None else parsed[0][1]
    infos: tuple[list[tuple[float, float]], ...] = ([], []) if parsed is None else parsed[1]
    traffic = {"baseline": 100.0 - candidate, "candidate": candidate}
    conclusions = ["Experiment started."] if parsed is None else ["All success criteria are met."]
    conclusions.append("No change observed since the last assessment: traffic is held.")
    return {
        **{v: {"metrics": [], _TP: traffic[v]} for v in VERSIONS},
        "assessment": {
            "summary": {
                "all_success_criteria_met": True,
                "abort_experiment": False,
                "sample_size_sufficient": True,
                "conclusions": conclusions,
            },
            "success_criteria": [],
        },
        "_last_state": {
            v: {_TP: traffic[v], _SCI: _plain_info(infos[k])} for k, v in enumerate(VERSIONS)
        },
    }


def assess(
    request: Mapping[str, Any], observations: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Answer an Iter8 ``check_and_increment`` request as Iter8's analytics did.

    Parameters
    ----------
    request : mapping
        The JSON body Iter8's controller POSTed (see the module's notes).
    observations : mapping, optional
        ``{"baseline": [{"sample_size": n, "value": v}, ...], "candidate":
        [...]}``, one entry per success criterion. When None, the request's
        ``observations`` key is read.

    Returns
    -------
    dict
        Iter8's response body: ``baseline`` / ``candidate`` (``traffic_percentage``,
        ``metrics``), ``assessment`` (``summary``, ``success_criteria``) and
        ``_last_state``. Plain Python values, ready for ``json.dumps``.

    Raises
    ------
    SpecError
        For a malformed request or observations (the message names the field
        path, e.g. ``traffic_control.success_criteria[0].type``), observations
        missing from both places, and a delta criterion on a counter.

    Examples
    --------
    The first call (``_last_state`` empty) increments even when it aborts:

    >>> request = {"traffic_control": {"step_size": 20, "success_criteria": [
    ...     {"metric_name": "iter8_error_count", "is_counter": True, "type": "threshold",
    ...      "value": 2, "sample_size": 5}]}, "_last_state": {},
    ...     "observations": {"baseline": [{"sample_size": 40, "value": 0}],
    ...                      "candidate": [{"sample_size": 12, "value": 3}]}}
    >>> response = assess(request)
    >>> response["candidate"]["traffic_percentage"]
    20.0
    >>> response["assessment"]["summary"]["abort_experiment"]
    True
    """
    request = _mapping(request, "request")
    if observations is None:
        if "observations" not in request or request["observations"] is None:
            raise SpecError(
                "no observations: pass `observations` to assess(), or put them in the request "
                "body under `observations` ({'baseline': [...], 'candidate': [...]})"
            )
        observations = request["observations"]
    spec = spec_from_request(request)
    criteria = spec.resolved_criteria()
    parsed_last = _parse_last_state(request.get("_last_state"))
    if not criteria:
        _parse_observations(observations, 0)
        return _assess_without_criteria(parsed_last)
    count, value = _parse_observations(observations, len(criteria))
    state = state_from_iter8(request.get("_last_state"), spec)
    first = int(state.iteration) == 0
    obs = {c.metric: Observations(count=count[i], value=value[i]) for i, c in enumerate(criteria)}
    new_state, result = step(spec, state, obs)

    names = [str(c.extras["metric_name"]) for c in criteria]
    fetched = [fetch_iter8(c, obs[c.metric]) for c in criteria]
    fetched_n = np.stack([f.n for f in fetched])
    fetched_v = np.stack([f.value for f in fetched])
    verdicts = result.verdicts.tolist()
    reasons = result.reasons.tolist()
    aborts = result.aborts.tolist()
    per_criterion = []
    for i, c in enumerate(criteria):
        met = verdicts[i] == Verdict.PASS
        sufficient = reasons[i] != Reason.INSUFFICIENT_SAMPLE
        per_criterion.append(
            {
                "metric_name": names[i],
                "success_criterion_met": bool(met),
                "abort_experiment": bool(aborts[i]),
                "sample_size_sufficient": bool(sufficient),
                "conclusions": _criterion_conclusions(
                    c, names[i], met, sufficient, bool(aborts[i]), reasons[i]
                ),
            }
        )
    all_met = bool(result.all_passed)
    abort = bool(result.abort)
    changed = bool(result.changed)
    sufficient_all = all(p["sample_size_sufficient"] for p in per_criterion)
    conclusions = []
    if first:
        conclusions.append("Experiment started.")
    if abort:
        conclusions.append("The experiment must be aborted.")
    if not first:
        conclusions.append(
            "All success criteria are met." if all_met else "Not all success criteria are met."
        )
    if not changed:
        conclusions.append("No change observed since the last assessment: traffic is held.")
    elif (
        not first
        and not all_met
        and sufficient_all
        and _baseline_fails(criteria, fetched_n, fetched_v)
    ):
        conclusions.append("The baseline does not meet the success criteria either.")

    traffic = result.traffic.tolist()
    last_state = state_to_iter8(new_state)
    if parsed_last is not None:
        # Iter8 kept entries beyond its criteria and gave them back unchanged.
        for k, version in enumerate(VERSIONS):
            extra = parsed_last[1][k][len(criteria) :]
            last_state[version][_SCI].extend(_plain_info(extra))
    response: dict[str, Any] = {}
    for v, version in enumerate(VERSIONS):
        response[version] = {
            "metrics": [
                {
                    "metric_name": names[i],
                    "is_counter": bool(c.is_counter),
                    "absent_value": c.absent_value,
                    "statistics": {
                        "sample_size": float(fetched_n[i, v]),
                        "value": _plain_value(float(fetched_v[i, v])),
                    },
                }
                for i, c in enumerate(criteria)
            ],
            _TP: float(traffic[v]),
        }
    response["assessment"] = {
        "summary": {
            "all_success_criteria_met": all_met,
            "abort_experiment": abort,
            "sample_size_sufficient": sufficient_all,
            "conclusions": conclusions,
        },
        "success_criteria": per_criterion,
    }
    response["_last_state"] = last_state
    return response
