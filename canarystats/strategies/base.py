"""The strategy contract: State, StepResult, Outcome.

A strategy is a pure function ``step(spec, state, observations) -> (state,
StepResult)``: no I/O, no clock, no globals. ``observations`` maps each
metric name to its :class:`~canarystats.Observations` of shape
``(*batch, 2)``. Slices of the batch that are already done are left as they
are, so experiments that end at different assessments can be stepped
together.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import ARRAY_EQ, frozen_array

__all__ = [
    "STRATEGY_REGISTRY",
    "Outcome",
    "State",
    "StepResult",
    "register_strategy",
    "set_state_codec",
    "state_field",
    "where_batch",
]




def state_field() -> Any:
    """An array field of a strategy state: stored read-only, compared with NaN equal to NaN."""
    return attrs.field(converter=frozen_array, eq=ARRAY_EQ)


#: ``(state_to_json, state_from_json)``, set by :mod:`canarystats.strategies.persist`
#: when it is imported (so that this contract does not import persistence).
_CODEC: list[Any] = []


def set_state_codec(dump: Any, load: Any) -> None:
    """Install the functions behind :meth:`State.to_json` and :meth:`State.from_json`."""
    _CODEC[:] = [dump, load]


class Outcome(enum.IntEnum):
    """How an experiment ended (int8 codes in outcome arrays).

    ROLLBACK
        A criterion aborted, or the last assessment did not pass all
        criteria: 100 % to the baseline.
    PROMOTE
        Success with ``on_success="candidate"``: 100 % to the candidate.
    KEEP_BASELINE
        Success with ``on_success="baseline"``: 100 % to the baseline.
    KEEP_SPLIT
        Success with ``on_success="both"``: the last split stays.
    RUNNING
        Not done yet.
    """

    ROLLBACK = 0
    PROMOTE = 1
    KEEP_BASELINE = 2
    KEEP_SPLIT = 3
    RUNNING = -1


@attrs.frozen(kw_only=True)
class State:
    """The state of a strategy over a batch of experiments.

    Attributes
    ----------
    traffic : ndarray of float, shape (*batch, 2)
        The last recommended split in percent (baseline, candidate), kept as
        floats as Iter8's analytics state did. Starts at (100, 0).
    iteration : ndarray of int64, shape (*batch,)
        The number of assessments made so far (0 before the first).
    done : ndarray of bool, shape (*batch,)
        The experiment has ended (after its last assessment, or an abort).
    aborted : ndarray of bool, shape (*batch,)
        A criterion aborted the experiment.
    passed : ndarray of bool, shape (*batch,)
        All criteria passed in the last assessment.
    info : ndarray of float, shape (*batch, n_criteria, 2, 2)
        Iter8's change-detection record (``success_criterion_information``):
        per criterion and version, the stored ``[int(sample size), value]``;
        NaN sample size = no entry yet, NaN value = Iter8's None.
    method_states : tuple
        One method state per criterion (see :mod:`canarystats.methods`).
    sample_ratio : SampleRatioState or None
        The sample-ratio guard's state with ``TrafficControl(srm_check=True)``,
        else None.
    """

    traffic: NDArray[np.float64] = attrs.field(converter=frozen_array, eq=ARRAY_EQ)
    iteration: NDArray[np.int64] = attrs.field(converter=frozen_array, eq=ARRAY_EQ)
    done: NDArray[np.bool_] = attrs.field(converter=frozen_array, eq=ARRAY_EQ)
    aborted: NDArray[np.bool_] = attrs.field(converter=frozen_array, eq=ARRAY_EQ)
    passed: NDArray[np.bool_] = attrs.field(converter=frozen_array, eq=ARRAY_EQ)
    info: NDArray[np.float64] = attrs.field(converter=frozen_array, eq=ARRAY_EQ)
    method_states: tuple[Any, ...] = attrs.field(converter=tuple)
    sample_ratio: Any = None

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The batch shape."""
        return tuple(self.done.shape)

    def to_json(self) -> str:
        """This state as versioned JSON text (see :mod:`canarystats.strategies.persist`)."""
        return str(_CODEC[0](self))

    @classmethod
    def from_json(cls, text: str | bytes) -> State:
        """A state read from :meth:`to_json`'s text (see :mod:`canarystats.strategies.persist`)."""
        state = _CODEC[1](text)
        assert isinstance(state, State)
        return state


@attrs.frozen(kw_only=True)
class StepResult:
    """What one assessment decided, over a batch.

    Attributes
    ----------
    verdicts, reasons : ndarray of int8, shape (*batch, n_criteria)
        Codes of :class:`~canarystats.Verdict` and :class:`~canarystats.Reason`.
    aborts : ndarray of bool, shape (*batch, n_criteria)
        Each criterion's abort flag.
    all_passed : ndarray of bool, shape (*batch,)
        All criteria passed (Iter8's ``all_success_criteria_met``).
    abort : ndarray of bool, shape (*batch,)
        Some criterion aborted (Iter8's ``abort_experiment``).
    changed : ndarray of bool, shape (*batch,)
        Iter8's change detection saw a change; without one, traffic holds.
    traffic : ndarray of float, shape (*batch, 2)
        The recommended split (baseline, candidate) in percent, as Iter8's
        analytics returned it (the first assessment increments even when it
        aborts; the controller does not apply the split of an abort).
    active : ndarray of bool, shape (*batch,)
        The slices this step assessed (those not done before it).
    reports : tuple of DataReport
        Per criterion, what the data policy found (kind, count and mask of bad,
        missing and insufficient slices, and the warnings' text:
        ``reports[i].messages(criterion)``), so that a caller that must not
        depend on the process-wide warnings filter (a service, a thread) has
        the same diagnostics as the warnings.
    """

    verdicts: NDArray[np.int8]
    reasons: NDArray[np.int8]
    aborts: NDArray[np.bool_]
    all_passed: NDArray[np.bool_]
    abort: NDArray[np.bool_]
    changed: NDArray[np.bool_]
    traffic: NDArray[np.float64]
    active: NDArray[np.bool_]
    reports: tuple[Any, ...] = attrs.field(default=(), eq=False)


def where_batch(mask: NDArray[np.bool_], new: Any, old: Any) -> Any:
    """Take ``new`` where ``mask`` and ``old`` elsewhere, for arrays or attrs states.

    Arrays (and array fields of attrs objects, and tuples of them) whose
    leading axes are the batch shape of ``mask`` are merged; other fields are
    taken from ``new``. Merged arrays are new read-only arrays.
    """
    mask = np.asarray(mask, dtype=bool)
    keep_old = np.nonzero(~mask) if mask.ndim else ~mask
    return _merge(mask.shape, keep_old, new, old)


def _merge(shape: tuple[int, ...], keep_old: Any, new: Any, old: Any) -> Any:
    if isinstance(new, np.ndarray):
        if new.shape[: len(shape)] != shape:
            return new
        out = np.array(new)
        out[keep_old] = np.asarray(old)[keep_old]
        out.flags.writeable = False
        return out
    if attrs.has(type(new)):
        changes = {
            f.name: _merge(shape, keep_old, getattr(new, f.name), getattr(old, f.name))
            for f in attrs.fields(type(new))
            if f.init
        }
        return attrs.evolve(new, **changes)
    if isinstance(new, tuple):
        return tuple(_merge(shape, keep_old, a, b) for a, b in zip(new, old, strict=True))
    return new


# --------------------------------------------------------------------------- strategy registry

#: ``strategy name -> (initial_state(spec, batch_shape), step(spec, state, observations))``
#: for strategies other than ``check_and_increment`` and ``increment_without_check``;
#: ``canarystats.step`` and ``canarystats.initial_state`` dispatch on
#: ``spec.effective_strategy`` through it, so they stay the one entry point.
STRATEGY_REGISTRY: dict[str, tuple[Any, Any]] = {}


def register_strategy(name: str, initial_state: Any, step: Any) -> None:
    """Make a strategy (one of ``spec.STRATEGIES``) steppable through ``canarystats.step``."""
    STRATEGY_REGISTRY[name] = (initial_state, step)
