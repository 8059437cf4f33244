"""Play whole experiments the way Iter8 v0.1's controller did.

The controller assesses at once when the experiment starts and then every
``interval``: assessment ``k`` (``k = 0..max_iterations``) happens at
``t0 + k * interval`` over the cumulative window ``[t0, t_k]``; Iter8 passes
the window to Prometheus as whole seconds (``str(int(seconds)) + "s"``),
clamped to at least 1 s, so assessment 0 sees (almost) no data. After each
assessment the controller routes ``int()`` of the recommended candidate
percentage (only when it is ``<= max_traffic_percent``). An abort ends the
experiment at once with a rollback; the increment of that assessment is not
applied. Otherwise, after the last assessment, the experiment succeeds iff
all criteria passed in that last assessment: ``on_success`` sets the final
split; on failure all traffic returns to the baseline.

The runner is closed-loop: ``observe(k, window_seconds, routed)`` is given the
candidate percentage routed since the previous assessment, so simulated
counts can follow the decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats.observations import Observations
from canarystats.spec import ExperimentSpec, batch_param
from canarystats.strategies.base import Outcome, State, StepResult
from canarystats.strategies.dispatch import initial_state, step

__all__ = ["Observe", "RunResult", "final_split", "route", "run_experiment", "window_seconds"]

#: ``observe(k, window_seconds, routed_candidate_percent) -> {metric: Observations}``;
#: ``routed`` has the batch shape.
Observe = Callable[[int, float, NDArray[np.float64]], Mapping[str, Observations]]


def window_seconds(k: int, interval: float) -> float:
    """The metric window of assessment ``k``, in whole seconds, at least 1 s.

    Examples
    --------
    >>> window_seconds(0, 30.0), window_seconds(3, 30.0), window_seconds(1, 1.5)
    (1.0, 90.0, 1.0)
    """
    return float(max(int(k * interval), 1))


@attrs.frozen(kw_only=True)
class RunResult:
    """A whole experiment (or a batch of them), assessment by assessment.

    Attributes
    ----------
    times : ndarray of float, shape (n_assessments,)
        Seconds since the start of each assessment (``k * interval``).
    windows : ndarray of float, shape (n_assessments,)
        The metric window of each assessment, in seconds.
    steps : tuple of StepResult
        One per assessment; ``steps[k].active`` tells which slices it assessed.
    states : tuple of State
        The state after each assessment.
    observations : tuple of dict
        The observations of each assessment, by metric.
    routed : ndarray of float, shape (n_assessments + 1, *batch)
        The candidate percentage routed before each assessment and, last,
        after the experiment's final assessment (before the final split).
    outcome : ndarray of int8, shape (*batch,)
        Codes of :class:`~canarystats.Outcome`.
    final_traffic : ndarray of float, shape (*batch, 2)
        The split after the experiment ended (baseline, candidate).
    end_iteration : ndarray of int64, shape (*batch,)
        The iteration of each experiment's last assessment.
    """

    times: NDArray[np.float64]
    windows: NDArray[np.float64]
    steps: tuple[StepResult, ...]
    states: tuple[State, ...]
    observations: tuple[Mapping[str, Observations], ...]
    routed: NDArray[np.float64]
    outcome: NDArray[np.int8]
    final_traffic: NDArray[np.float64]
    end_iteration: NDArray[np.int64]

    @property
    def final_state(self) -> State:
        """The state after the last assessment."""
        return self.states[-1]


def route(
    result: StepResult, routed: NDArray[np.float64], max_traffic_percent: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The candidate percentage Iter8's controller routes after an assessment.

    ``int()`` of the recommended percentage, applied only when it is at most
    ``max_traffic_percent``, for the slices this step assessed, and never after
    an abort (the controller rolls back instead).
    """
    cand = result.traffic[..., 1]
    apply = result.active & ~result.abort & (cand <= max_traffic_percent)
    return np.where(apply, np.trunc(cand), routed)


def final_split(
    spec: ExperimentSpec, state: State, routed: NDArray[np.float64]
) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """The outcome and final split of experiments that are done.

    Parameters
    ----------
    spec : ExperimentSpec
    state : State
        The state after the last assessment.
    routed : ndarray of float, shape (*batch,)
        The candidate percentage routed at the end.

    Returns
    -------
    outcome : ndarray of int8, shape (*batch,)
    traffic : ndarray of float, shape (*batch, 2)
    """
    success = state.done & ~state.aborted & state.passed
    on_success = spec.traffic_control.on_success
    success_code = {
        "candidate": Outcome.PROMOTE,
        "baseline": Outcome.KEEP_BASELINE,
        "both": Outcome.KEEP_SPLIT,
    }[on_success]
    outcome = np.where(success, np.int8(success_code), np.int8(Outcome.ROLLBACK))
    outcome = np.where(state.done, outcome, np.int8(Outcome.RUNNING)).astype(np.int8)
    if on_success == "candidate":
        cand_success = np.full(routed.shape, 100.0)
    elif on_success == "baseline":
        cand_success = np.zeros(routed.shape)
    else:
        cand_success = np.asarray(routed, dtype=np.float64)
    candidate = np.where(success, cand_success, 0.0)
    candidate = np.where(state.done, candidate, routed)
    return outcome, np.stack([100.0 - candidate, candidate], axis=-1)


def run_experiment(
    spec: ExperimentSpec, observe: Observe, *, batch_shape: tuple[int, ...] = ()
) -> RunResult:
    """Run a batch of experiments from the first assessment to the end.

    Parameters
    ----------
    spec : ExperimentSpec
        The experiment; tunable parameters may be arrays over the batch.
    observe : callable
        ``observe(k, window_seconds, routed) -> {metric: Observations}`` gives
        the cumulative observations of assessment ``k``; ``routed`` is the
        candidate percentage routed since the previous assessment, shape
        ``batch_shape``.
    batch_shape : tuple of int, default ()

    Returns
    -------
    RunResult
    """
    tc = spec.traffic_control
    max_pct = batch_param("max_traffic_percent", tc.max_traffic_percent, batch_shape)
    state = initial_state(spec, batch_shape)
    routed = np.zeros(batch_shape)
    routed_hist = [routed]
    steps: list[StepResult] = []
    states: list[State] = []
    seen: list[Mapping[str, Observations]] = []
    times: list[float] = []
    windows: list[float] = []
    end_iteration = np.zeros(batch_shape, dtype=np.int64)
    for k in range(tc.max_iterations + 1):
        if state.done.all():
            break
        window = window_seconds(k, tc.interval)
        obs = observe(k, window, routed)
        state, result = step(spec, state, obs)
        routed = route(result, routed, max_pct)
        end_iteration = np.where(result.active, k, end_iteration)
        steps.append(result)
        states.append(state)
        seen.append(dict(obs))
        times.append(k * tc.interval)
        windows.append(window)
        routed_hist.append(routed)
    outcome, final_traffic = final_split(spec, state, routed)
    return RunResult(
        times=np.asarray(times),
        windows=np.asarray(windows),
        steps=tuple(steps),
        states=tuple(states),
        observations=tuple(seen),
        routed=np.stack(routed_hist),
        outcome=outcome,
        final_traffic=final_traffic,
        end_iteration=end_iteration,
    )
