"""The group-sequential criterion method (``method="group_sequential"``).

:class:`GroupSequentialMethod` judges a criterion at planned looks with
Lan-DeMets alpha spending, its options (:class:`GroupSequentialOptions`: the
planned number of looks and the spending function) and its state
(:class:`GroupSequentialState`); the boundaries come from
:mod:`canarystats.stats.group_sequential`. :class:`PlannedLooksWarning` says
when the assessments depart from the plan of looks.

Examples
--------
>>> import numpy as np
>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="iter8_error_rate", tolerance_type="threshold", tolerance=0.05,
...               method="group_sequential", options={"looks": 2})
>>> obs = Observations(count=[[1000.0, 1000.0]], value=[[0.04, 0.052]],
...                    successes=[[40.0, 52.0]])
>>> r = evaluate_criterion(c, obs)
>>> r.verdict.tolist(), r.state.look.tolist(), r.state.information.tolist()
([0], [1], [[0.5, nan]])
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import array_field
from canarystats.errors import CanaryStatsWarning, SpecError
from canarystats.methods.base import DataReport, Evidence
from canarystats.methods.fixed import ClassicalMethod, criterion_statistic
from canarystats.observations import Observations, Verdict
from canarystats.registry import Options, register_method
from canarystats.spec import Criterion, batch_param
from canarystats.stats.group_sequential import look_bounds

__all__ = [
    "PLANNED_LOOKS_MESSAGE",
    "GroupSequentialMethod",
    "GroupSequentialOptions",
    "GroupSequentialState",
    "PlannedLooksWarning",
    "effective_n",
]

#: Message of :class:`PlannedLooksWarning` (formatted with counts).
PLANNED_LOOKS_MESSAGE = (
    "criterion {metric!r} (group_sequential, {looks} planned looks): {what} in {n} of "
    "{total} slices"
)

_F = NDArray[np.float64]
_I8 = np.int8


class PlannedLooksWarning(CanaryStatsWarning):
    """A group-sequential criterion was assessed off its plan of looks."""


# --------------------------------------------------------------------------- options


def _to_looks(value: Any) -> Any:
    # integral numbers (YAML may give 5.0, numpy an int64) become int
    if isinstance(value, bool | np.bool_) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value


def _check_looks(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < 1
    ):
        raise SpecError(f"`looks` must be an integer >= 1 or None, got {value!r}")


def _check_spending(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    kind, _, arg = value.partition(":") if isinstance(value, str) else ("", "", "")
    ok = kind in ("obrien_fleming", "pocock") and not arg
    if kind == "power":
        try:
            ok = not arg or (math.isfinite(float(arg)) and float(arg) > 0)
        except ValueError:
            ok = False
    if not ok:
        raise SpecError(
            "`spending` must be one of 'obrien_fleming', 'pocock' or 'power:<rho>' "
            f"(rho > 0), got {value!r}"
        )


@attrs.frozen(kw_only=True)
class GroupSequentialOptions(Options):
    """The options of ``method="group_sequential"``.

    Parameters
    ----------
    looks : int
        The planned number of looks (>= 1; an integral float such as YAML's
        ``5.0`` is accepted). Required: a criterion without it is refused
        when its state is initialised.
    spending : str, default "obrien_fleming"
        The alpha-spending function: ``"obrien_fleming"`` (O'Brien-Fleming
        type), ``"pocock"`` (Pocock type) or ``"power:<rho>"`` (``alpha *
        t**rho``, rho > 0; ``"power"`` alone means rho = 3); see
        :func:`~canarystats.spending_function`.
    """

    looks: int | None = attrs.field(default=None, converter=_to_looks, validator=_check_looks)
    spending: str = attrs.field(default="obrien_fleming", validator=_check_spending)


# --------------------------------------------------------------------------- the method


@attrs.frozen(kw_only=True)
class GroupSequentialState:
    """State of the group-sequential method.

    Attributes
    ----------
    look : ndarray of int64, shape (*batch,)
        Looks taken so far (assessments with sufficient valid data; an
        assessment on invalid data is no look).
    verdict : ndarray of int8, shape (*batch,)
        The verdict once a boundary was crossed (final), else INCONCLUSIVE.
    information : ndarray of float, shape (*batch, looks)
        Information fractions of the looks taken (NaN after).
    unit : ndarray of float, shape (*batch,)
        The effective sample size of the first look; the plan's maximum
        information is ``looks * unit``.
    statistic, bound : ndarray of float, shape (*batch,)
        The z statistic (positive favours PASS) and the boundary of the last
        look.
    """

    look: NDArray[np.int64] = array_field()
    verdict: NDArray[np.int8] = array_field()
    information: _F = array_field()
    unit: _F = array_field()
    statistic: _F = array_field()
    bound: _F = array_field()


def effective_n(criterion: Criterion, count: _F) -> _F:
    """The effective sample size of a look: the candidate's count, or ``1 / (1/n_b + 1/n_c)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if criterion.tolerance_type == "delta":
            return np.asarray(1.0 / (1.0 / count[..., 0] + 1.0 / count[..., 1]))
        return np.asarray(count[..., 1])



@register_method
class GroupSequentialMethod(ClassicalMethod):
    """Planned looks with Lan-DeMets alpha spending (``method="group_sequential"``).

    The criterion's hypothesis H (see ``method="fixed"``) is judged by the z
    statistic ``Z`` of ``-D`` (positive favours the candidate: rates use the
    Farrington-Manning score z, means the z with plug-in variances) against
    symmetric two-sided boundaries of total level ``2 alpha``, ``alpha = 1 -
    confidence``, from the spending function ``options.spending`` over
    ``options.looks`` planned looks (:class:`GroupSequentialOptions`): PASS
    when ``Z >= b_k``, FAIL when ``Z <= -b_k``. With the truth on the margin,
    P(PASS at any planned look) equals ``alpha`` (and so does P(FAIL)); a
    crossing is final: later assessments repeat the verdict, as long as their
    data stay valid (see below).

    Looks and information. Look ``k`` is the ``k``-th assessment with
    sufficient valid data (``sample_size`` per version, and 2 samples of a
    mean). The plan's looks are equally spaced in information; the maximum
    information is ``looks`` times that of the first look, and each look's
    information fraction is taken from the observed counts, ``t_k = min(1,
    n_k / (looks * n_1))`` with ``n`` the candidate's count (threshold) or
    ``1 / (1/n_b + 1/n_c)`` (delta). When the counts grow as planned this is
    ``k / looks``. The look that reaches ``t = 1``, or the ``looks``-th, is
    the last: it spends what remains of ``alpha``. A
    :class:`PlannedLooksWarning` says when the assessments differ from the
    plan: the information was reached before the planned number of looks, or
    an assessment comes after the last look (then nothing is left to spend:
    an undecided slice stays INCONCLUSIVE with ``Reason.NOT_YET_DECIDED``).
    The guarantee holds at the planned looks; the counts must not depend on
    the statistic (traffic steps that follow other criteria's verdicts are a
    mild, documented departure).

    Invalid data. Insufficient, missing and bad data follow the library's
    data policy (:mod:`canarystats.methods.base`), and so does a zero
    standard error (INCONCLUSIVE with ``Reason.INSUFFICIENT_SAMPLE``). An assessment whose
    data are not valid is no look and leaves the state unchanged: it neither
    advances the looks nor moves the information, the statistic or the
    boundary, and it is INCONCLUSIVE with its reason for that update even
    after a crossing -- the crossing stays in the state, and the next
    assessment on valid data repeats it.

    Boundaries are computed by :func:`~canarystats.gs_bounds`' recursion once
    per distinct (confidence, information history) in the batch, so batches
    with planned (equal) information share one computation.
    """

    name = "group_sequential"
    options_type = GroupSequentialOptions
    state_type = GroupSequentialState

    def check(self, criterion: Criterion) -> None:
        super().check(criterion)
        if criterion.options.looks is None:
            raise SpecError(
                f"method 'group_sequential' needs `looks`, the planned number of looks "
                f"(criterion {criterion.metric!r})"
            )

    def initial_state(
        self, criterion: Criterion, batch_shape: tuple[int, ...]
    ) -> GroupSequentialState:
        k = int(criterion.options.looks)
        nan = np.full(batch_shape, np.nan)
        return GroupSequentialState(
            look=np.zeros(batch_shape, dtype=np.int64),
            verdict=np.zeros(batch_shape, dtype=_I8),
            information=np.full((*batch_shape, k), np.nan),
            unit=nan,
            statistic=nan,
            bound=nan,
        )

    def evidence(
        self, criterion: Criterion, state: GroupSequentialState, observations: Observations,
        report: DataReport, n: _F,
    ) -> Evidence:
        k_plan = int(state.information.shape[-1])
        batch = observations.batch_shape
        conf = np.asarray(batch_param("confidence", criterion.confidence, batch))
        level = np.broadcast_to(conf, batch)
        res = criterion_statistic(criterion, observations, report.valid, method="z")
        z = -res.statistic
        valid = res.valid  # only these slices may change the state
        open_ = state.verdict == Verdict.INCONCLUSIVE
        last_t = np.take_along_axis(
            state.information, np.maximum(state.look - 1, 0)[..., None], axis=-1
        )[..., 0]
        finished = (state.look > 0) & (last_t >= 1.0)
        looking = valid & open_ & ~finished
        beyond = valid & open_ & finished

        n_eff = effective_n(criterion, observations.count)
        unit = np.where(looking & (state.look == 0), n_eff, state.unit)
        t_obs = np.minimum(1.0, n_eff / (k_plan * unit))
        prev_t = np.where(state.look > 0, last_t, 0.0)
        # information never decreases; a look without new information is skipped
        looking &= t_obs > prev_t
        look = np.where(looking, state.look + 1, state.look)
        last = looking & ((look >= k_plan) | (t_obs >= 1.0))
        early = looking & (t_obs >= 1.0) & (look < k_plan)
        t_now = np.where(last, 1.0, t_obs)
        info = np.array(state.information)
        # boolean masks (not np.nonzero) so that a 0-d batch indexes like any other
        rows = info[looking]  # (m, K): the slices looking now
        rows[np.arange(rows.shape[0]), look[looking] - 1] = t_now[looking]
        info[looking] = rows

        bound = np.array(state.bound)
        if looking.any():
            bound[looking] = look_bounds(
                info[looking], look[looking], confidence_level=level[looking],
                spending=criterion.options.spending,
            )
        verdict = np.array(state.verdict)
        verdict[looking & (z >= bound)] = Verdict.PASS
        verdict[looking & (z <= -bound)] = Verdict.FAIL

        found = []
        for mask, what in (
            (early, "the planned information was reached before the last planned look; "
                    "this look spent the rest of alpha"),
            (beyond, "an assessment came after the last planned look; no alpha is left"),
        ):
            count = int(np.count_nonzero(mask))
            if count:
                found.append((
                    PlannedLooksWarning,
                    PLANNED_LOOKS_MESSAGE.format(
                        metric=criterion.metric, looks=k_plan, what=what, n=count,
                        total=mask.size,
                    ),
                ))
        new_state = GroupSequentialState(
            look=look,
            verdict=verdict,
            information=info,
            unit=unit,
            statistic=np.where(valid, z, state.statistic),
            bound=bound,
        )
        return Evidence(
            state=new_state,
            passed=verdict == Verdict.PASS,
            failed=verdict == Verdict.FAIL,
            insufficient=res.degenerate,
            warnings=tuple(found),
        )
