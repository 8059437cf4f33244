"""Traffic-step plans: the best-case schedule of a rollout and what it costs.

:func:`plan_steps` answers, before a rollout starts, how long it takes and how
much data it gathers *if every assessment passes* (the best case: traffic
never holds). From an Iter8 :class:`~canarystats.TrafficControl` (or an
explicit list of candidate weights, Flagger's ``stepWeights`` or Argo
Rollouts' ``setWeight`` steps) it gives, per assessment, the time, the
traffic, and -- with a request rate -- the requests each version has
accumulated, the first assessment at which each criterion's ``sample_size``
is reached, the candidate's exposure and the power of each criterion's
fixed-sample test against a stated :class:`Regression`. Plans that cannot
work raise a :class:`PlanWarning` naming the numbers.

Timing follows :func:`canarystats.run_experiment` and
:func:`canarystats.simulate.simulate_rollouts`: assessment ``k`` happens at
``k * interval`` over the cumulative window ``[0, window_seconds(k)]``; the
candidate percentage recommended by assessment ``k`` is routed (``int()`` of
it) from then on; before assessment 0 (its window is clamped to 1 s) all
traffic goes to the baseline.

Examples
--------
The Tekton tutorial's experiment (step 20, max 80, 8 iterations, 30 s) at 50
requests per second:

>>> from canarystats import TrafficControl, plan_steps
>>> plan = plan_steps(TrafficControl(interval="30s", step_size=20, max_iterations=8,
...                                  max_traffic_percent=80), request_rate=50.0)
>>> plan.candidate_traffic.tolist()
[20.0, 40.0, 60.0, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0]
>>> float(plan.time_to_max_traffic), float(plan.time_to_finish)
(90.0, 240.0)
>>> plan.candidate_requests[:4].round(6).tolist()
[0.0, 290.0, 890.0, 1790.0]
>>> round(float(plan.exposure), 6)
7790.0
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from canarystats._arrays import ARRAY_EQ, readonly
from canarystats.errors import CanaryStatsWarning, SpecError
from canarystats.spec import Criterion, ExperimentSpec, TrafficControl, parse_duration
from canarystats.stats.sample_size import power_means
from canarystats.strategies.runner import window_seconds

__all__ = ["PlanResult", "PlanWarning", "Regression", "plan_steps"]

_F = NDArray[np.float64]

#: Metrics whose criteria judge a mean of per-request values (power via :func:`power_means`).
_MEAN_METRICS = frozenset({"iter8_latency"})
#: Metrics whose criteria judge a proportion of requests.
_RATE_METRICS = frozenset({"iter8_error_rate"})


class PlanWarning(CanaryStatsWarning):
    """A traffic plan that cannot work as stated (the message names the numbers)."""


def _arr() -> Any:
    return attrs.field(converter=readonly, eq=ARRAY_EQ)


@attrs.frozen(kw_only=True)
class Regression:
    """A stated truth for the candidate, to compute power against.

    Parameters
    ----------
    metric : str
        ``"iter8_latency"`` (a mean per request) or ``"iter8_error_rate"``
        (a proportion of requests).
    baseline : float
        The baseline's true mean (seconds) or rate.
    candidate : float
        The candidate's true mean or rate (e.g. ``1.2 * baseline`` for +20 %
        mean latency, ``baseline + 0.01`` for +1 point of error rate).
    sd : float, optional
        Standard deviation of one request's value (means only; required
        there). Both versions are assumed to share it.

    Examples
    --------
    >>> Regression(metric="iter8_latency", baseline=0.15, candidate=0.225, sd=0.15).candidate
    0.225
    """

    metric: str = attrs.field()
    baseline: float = attrs.field(converter=float)
    candidate: float = attrs.field(converter=float)
    sd: float | None = attrs.field(default=None)

    @metric.validator
    def _check_metric(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        allowed = sorted(_MEAN_METRICS | _RATE_METRICS)
        if value not in allowed:
            raise SpecError(f"`metric` must be one of {allowed}, got {value!r}")

    @sd.validator
    def _check_sd(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if self.metric in _MEAN_METRICS and (
            value is None or not (math.isfinite(float(value)) and float(value) > 0)
        ):
            raise SpecError(f"`sd` must be a number > 0 for {self.metric!r}, got {value!r}")
        if self.metric in _RATE_METRICS:
            for name in ("baseline", "candidate"):
                p = getattr(self, name)
                if not 0.0 < p < 1.0:
                    raise SpecError(f"`{name}` must be a rate in (0, 1), got {p!r}")


@attrs.frozen(kw_only=True)
class PlanResult:
    """The best-case schedule of a rollout (every assessment passes).

    Attributes
    ----------
    iteration : ndarray of int64, shape (n_assessments,)
        ``0..n_assessments - 1``.
    time : ndarray of float
        Seconds from the start to each assessment (``k * interval``).
    window : ndarray of float
        Each assessment's cumulative metric window, in seconds.
    routed_candidate : ndarray of float
        The candidate percentage routed while the assessment's window
        accumulated (since the previous assessment).
    candidate_traffic, baseline_traffic : ndarray of float
        The split recommended by the assessment (routed until the next).
    baseline_requests, candidate_requests : ndarray of float
        Expected cumulative requests of each version in the window (NaN
        without a request rate).
    time_to_max_traffic : float
        Seconds until the candidate first gets its largest share (NaN when
        it never does within the plan).
    time_to_finish : float
        Seconds until the last assessment, which decides.
    exposure : float
        Expected candidate requests before the decision (at the last
        assessment; NaN without a rate).
    sample_size_reached : tuple of int or None
        Per criterion, the first assessment whose window holds its
        ``sample_size`` (candidate for threshold, both versions for delta);
        None when never (or without a rate).
    power : ndarray of float, shape (n_criteria, n_assessments)
        Per criterion and assessment, the power of the criterion's one-sided
        fixed-sample test at the expected counts against the
        :class:`Regression` on its metric (NaN when none is stated or the
        metric has no power model).
    criteria : tuple of Criterion
    request_rate : float or None
    warnings : tuple of str
        The messages of the :class:`PlanWarning` raised.
    """

    iteration: NDArray[np.int64] = _arr()
    time: _F = _arr()
    window: _F = _arr()
    routed_candidate: _F = _arr()
    candidate_traffic: _F = _arr()
    baseline_traffic: _F = _arr()
    baseline_requests: _F = _arr()
    candidate_requests: _F = _arr()
    time_to_max_traffic: float
    time_to_finish: float
    exposure: float
    sample_size_reached: tuple[int | None, ...]
    power: _F = _arr()
    criteria: tuple[Criterion, ...] = ()
    request_rate: float | None = None
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> Any:
        """The schedule as a pandas DataFrame, one row per assessment."""
        import pandas as pd

        columns: dict[str, Any] = {
            "iteration": self.iteration,
            "time": self.time,
            "window": self.window,
            "routed_candidate": self.routed_candidate,
            "baseline_traffic": self.baseline_traffic,
            "candidate_traffic": self.candidate_traffic,
            "baseline_requests": self.baseline_requests,
            "candidate_requests": self.candidate_requests,
        }
        for i, c in enumerate(self.criteria):
            if np.isfinite(self.power[i]).any():
                columns[f"power_{i}_{c.metric}"] = self.power[i]
        return pd.DataFrame(columns)


def _scalar(name: str, value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 0:
        raise SpecError(f"`{name}` must be a scalar to plan, got an array of shape {arr.shape}")
    return float(arr)


def _weights(steps: Sequence[float]) -> _F:
    w = np.asarray([float(s) for s in steps], dtype=np.float64)
    if w.size == 0 or not np.all(np.isfinite(w)) or np.any((w <= 0) | (w > 100)):
        raise SpecError(f"`steps` must be weights in (0, 100], got {list(steps)!r}")
    if np.any(np.diff(w) < 0):
        raise SpecError(f"`steps` must not decrease, got {list(steps)!r}")
    return w


def _traffic_control_weights(tc: TrafficControl, messages: list[str]) -> _F:
    """Recommended candidate % after assessments 0..max_iterations (best case)."""
    step = _scalar("step_size", tc.step_size)
    top = _scalar("max_traffic_percent", tc.max_traffic_percent)
    k = np.arange(tc.max_iterations + 1, dtype=np.float64)
    raw = (k + 1.0) * step
    if tc.strategy == "increment_without_check":
        reachable = math.floor(top / step + 1e-9) * step
        w = np.minimum(raw, reachable)
        if reachable < top:
            messages.append(
                f"step {step:g} % overshoots max traffic {top:g} %: increment_without_check "
                f"skips the step, so the candidate stops at {reachable:g} %"
            )
    else:
        w = np.minimum(raw, top)
        n_full = math.floor(top / step + 1e-9)
        if n_full * step < top and n_full < tc.max_iterations:
            messages.append(
                f"step {step:g} % overshoots max traffic {top:g} %: the increment at "
                f"iteration {n_full} is capped at {top:g} % (+{top - n_full * step:g} %)"
            )
    return np.asarray(w, dtype=np.float64)


def _cumulative(switch: _F, share: _F, at: _F) -> _F:
    """Integral over [0, at] of a step function: ``share[j]`` on [switch[j], switch[j+1])."""
    edges = np.append(switch, np.inf)
    lo = np.clip(at[:, None], edges[None, :-1], edges[None, 1:])
    hi = np.clip(np.zeros_like(at)[:, None], edges[None, :-1], edges[None, 1:])
    out: _F = ((lo - hi) * share[None, :]).sum(axis=1)
    return out


def _power(
    c: Criterion, reg: Regression, n_b: _F, n_c: _F, conf: float
) -> _F:
    """The criterion's one-sided fixed-sample power at counts (n_b, n_c), level ``1 - conf``."""
    alpha = 1.0 - conf
    tol = _scalar("tolerance", c.tolerance)
    out = np.full(n_b.shape, np.nan)
    ok = n_c > 0
    if c.tolerance_type == "delta":
        ok &= n_b > 0
    if not ok.any():
        return out
    nb, nc = n_b[ok], n_c[ok]
    za = special.ndtri(1.0 - alpha)
    if reg.metric in _MEAN_METRICS:
        sd = float(reg.sd)  # type: ignore[arg-type]
        if c.tolerance_type == "threshold":
            gap = reg.candidate - tol
            out[ok] = special.ndtr(abs(gap) * np.sqrt(nc) / sd - za) if gap else np.nan
        else:
            ratio = 1.0 + tol if c.direction == "lower" else 1.0 - tol
            if reg.candidate == ratio * reg.baseline:
                return out
            out[ok] = power_means(
                nb, reg.baseline, reg.candidate, sd, ratio=ratio, confidence_level=conf,
                allocation=nc / nb,
            )
    else:
        pb, pc = reg.baseline, reg.candidate
        if c.tolerance_type == "threshold":
            if pc == tol or not 0 < tol < 1:
                return out
            z = (abs(pc - tol) * np.sqrt(nc) - za * math.sqrt(tol * (1 - tol))) / math.sqrt(
                pc * (1 - pc)
            )
        else:
            ratio = 1.0 + tol if c.direction == "lower" else 1.0 - tol
            gap = abs(pc - ratio * pb)
            if gap == 0:
                return out
            se = np.sqrt(pc * (1 - pc) / nc + ratio**2 * pb * (1 - pb) / nb)
            z = gap / se - za
        out[ok] = special.ndtr(z)
    return out


def plan_steps(
    plan: TrafficControl | ExperimentSpec | Sequence[float],
    *,
    request_rate: float | None = None,
    criteria: Sequence[Criterion] | None = None,
    interval: str | float | None = None,
    regressions: Sequence[Regression] = (),
) -> PlanResult:
    """The best-case schedule of a rollout plan, its data budget and its power.

    Parameters
    ----------
    plan : TrafficControl, ExperimentSpec or sequence of float
        An Iter8 traffic control (``check_and_increment``: the candidate
        gets ``min((k + 1) * step_size, max_traffic_percent)`` after
        assessment ``k``; ``increment_without_check`` skips a step that would
        overshoot), an experiment (its traffic control and criteria), or an
        explicit list of candidate weights, one per assessment -- Flagger's
        ``stepWeights`` or Argo Rollouts' ``setWeight`` steps -- followed by
        one final assessment that decides.
    request_rate : float, optional
        Requests per second to the service (both versions together).
    criteria : sequence of Criterion, optional
        Criteria whose ``sample_size`` to check (default: the experiment's).
    interval : str or float, optional
        Time between assessments for a weight list (default ``"1m"``); not
        allowed with a traffic control, which has its own.
    regressions : sequence of Regression, default ()
        Stated truths; each criterion on a regression's metric gets the
        power of its fixed-sample test at every assessment (alpha = 1 -
        the criterion's confidence, default 0.95).

    Returns
    -------
    PlanResult

    Warns
    -----
    PlanWarning
        When the candidate never reaches the plan's largest share before the
        decision, a step overshoots the max, or a criterion's sample size is
        never reached by the last assessment at the given rate.

    Examples
    --------
    Argo Rollouts' ``setWeight`` 10, 50 every 5 minutes at 2 requests/s:

    >>> plan = plan_steps([10, 50], interval="5m", request_rate=2.0)
    >>> plan.time.tolist(), plan.candidate_traffic.tolist()
    ([0.0, 300.0, 600.0], [10.0, 50.0, 50.0])
    >>> plan.candidate_requests.round(6).tolist()
    [0.0, 59.8, 359.8]
    """
    messages: list[str] = []
    confidence = 0.95
    if isinstance(plan, ExperimentSpec):
        if criteria is None:
            criteria = plan.criteria
        plan = plan.traffic_control
    crits = tuple(criteria or ())
    if isinstance(plan, TrafficControl):
        if interval is not None:
            raise SpecError("`interval` applies to a weight list only; a TrafficControl has one")
        every = plan.interval
        rec = _traffic_control_weights(plan, messages)
        confidence = _scalar("confidence", plan.confidence)
        top = _scalar("max_traffic_percent", plan.max_traffic_percent)
        if plan.strategy == "increment_without_check":
            top = float(min(top, rec.max()))
    elif isinstance(plan, Sequence | np.ndarray) and not isinstance(plan, str):
        w = _weights(plan)
        every = parse_duration(interval) if isinstance(interval, str) else float(
            60.0 if interval is None else interval
        )
        if not (math.isfinite(every) and every > 0):
            raise SpecError(f"`interval` must be a positive duration, got {interval!r}")
        rec = np.append(w, w[-1])
        top = float(w.max())
    else:
        raise SpecError(
            "`plan` must be a TrafficControl, an ExperimentSpec or a list of weights, "
            f"got {type(plan).__name__}"
        )
    if request_rate is not None and not (
        math.isfinite(float(request_rate)) and float(request_rate) > 0
    ):
        raise SpecError(f"`request_rate` must be a number > 0, got {request_rate!r}")

    n = rec.size
    k = np.arange(n)
    times: _F = np.asarray(k * every, dtype=np.float64)
    windows = np.array([window_seconds(int(i), every) for i in k])
    routed_after = np.trunc(rec)
    routed_before = np.concatenate([[0.0], routed_after[:-1]])
    # the candidate share routed from each switch time on (0 before assessment 0's 1 s)
    switch = np.concatenate([[0.0], np.maximum(times, windows)])
    share = np.concatenate([[0.0], routed_after]) / 100.0
    last = n - 1
    reached_max = np.flatnonzero(rec >= top)
    if reached_max.size == 0 or reached_max[0] >= last:
        t_max = math.nan
        messages.append(
            f"the candidate never reaches max traffic {top:g} % before the decision: "
            f"it has {rec[last - 1]:g} % after {last} increments"
            if n > 1
            else f"the plan has a single assessment: the candidate never reaches {top:g} %"
        )
    else:
        t_max = float(times[reached_max[0]])

    if request_rate is not None:
        rate = float(request_rate)
        cand = rate * _cumulative(switch, share, windows)
        base = rate * windows - cand
    else:
        cand = np.full(n, np.nan)
        base = np.full(n, np.nan)

    reached: list[int | None] = []
    power = np.full((len(crits), n), np.nan)
    for i, c in enumerate(crits):
        need = _scalar("sample_size", c.sample_size)
        have = np.minimum(base, cand) if c.tolerance_type == "delta" else cand
        hit = np.flatnonzero(have >= need)
        reached.append(int(hit[0]) if hit.size else None)
        if request_rate is not None and not hit.size:
            who = "each version" if c.tolerance_type == "delta" else "the candidate"
            messages.append(
                f"criterion {i} ({c.metric}) needs sample size {need:g} but {who} has only "
                f"{have[-1]:.6g} requests by the last assessment (iteration {last}, "
                f"{times[-1]:g} s) at {float(request_rate):g} requests/s"
            )
        conf = confidence if c.confidence is None else _scalar("confidence", c.confidence)
        for reg in regressions:
            if reg.metric == c.metric and request_rate is not None:
                power[i] = _power(c, reg, base, cand, conf)

    for msg in messages:
        warnings.warn(msg, PlanWarning, stacklevel=2)
    return PlanResult(
        iteration=k.astype(np.int64),
        time=times,
        window=windows,
        routed_candidate=routed_before,
        candidate_traffic=rec,
        baseline_traffic=100.0 - rec,
        baseline_requests=base,
        candidate_requests=cand,
        time_to_max_traffic=t_max,
        time_to_finish=float(times[-1]),
        exposure=float(cand[-1]),
        sample_size_reached=tuple(reached),
        power=power,
        criteria=crits,
        request_rate=None if request_rate is None else float(request_rate),
        warnings=tuple(messages),
    )
