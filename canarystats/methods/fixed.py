"""The classical one-shot criterion method (``method="fixed"``) and the criterion's statistic.

:class:`FixedMethod` judges a criterion once, at a planned sample size, with
the fixed-horizon tests of :mod:`canarystats.stats.classical`.
:func:`criterion_statistic` reduces a criterion and its (screened)
observations to the test's statistic; ``method="group_sequential``
(:mod:`canarystats.methods.group_sequential`) uses it too, as it does
the declarations of :class:`ClassicalMethod` (the fields read and needed, the
minimum count) and :func:`check_classical_criterion`.

Examples
--------
>>> import numpy as np
>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.1,
...               method="fixed", confidence=0.95)
>>> obs = Observations(count=[[20000.0, 20000.0]], value=[[0.05, 0.045]],
...                    successes=[[1000.0, 900.0]])
>>> r = evaluate_criterion(c, obs)
>>> r.verdict.tolist(), r.reason.tolist()
([1], [0])
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import ARRAY_EQ, array_field
from canarystats.errors import SpecError
from canarystats.methods.base import DataReport, Evidence, Method
from canarystats.observations import Observations
from canarystats.registry import NoOptions, register_method
from canarystats.spec import Criterion, batch_param
from canarystats.stats.classical import (
    FixedTestResult,
    mean_test,
    mean_threshold_test,
    rate_test,
    rate_threshold_test,
    t_or_z_pvalue,
)

__all__ = [
    "ClassicalMethod",
    "CriterionStatisticResult",
    "FixedMethod",
    "FixedState",
    "check_classical_criterion",
    "criterion_statistic",
]

_F = NDArray[np.float64]
_B = NDArray[np.bool_]


# --------------------------------------------------------------------------- the statistic


@attrs.frozen(kw_only=True, eq=False)
class CriterionStatisticResult:
    """The test statistic of a criterion on screened observations.

    Attributes
    ----------
    statistic : ndarray of float, shape (*batch,)
        The z or t statistic of the estimand ``D`` oriented so that ``D < 0``
        is the criterion's hypothesis H; NaN where not ``valid``.
    df : ndarray of float, shape (*batch,)
        Degrees of freedom of its t reference distribution (``inf``: z).
    degenerate : ndarray of bool, shape (*batch,)
        Clean slices whose standard error is zero (all samples equal, or no
        events at all): they decide nothing (an insufficient sample).
    valid : ndarray of bool, shape (*batch,)
        Slices whose statistic is the basis of a verdict: valid data (the
        base's screening, which also refuses sums too large for a variance) that
        are not degenerate.
    """

    statistic: _F = attrs.field(eq=ARRAY_EQ)
    df: _F = attrs.field(eq=ARRAY_EQ)
    degenerate: _B = attrs.field(eq=ARRAY_EQ)
    valid: _B = attrs.field(eq=ARRAY_EQ)




def criterion_statistic(
    criterion: Criterion, observations: Observations, valid: _B, *, method: str | None = None
) -> CriterionStatisticResult:
    """The test of a criterion's hypothesis on cumulative observations.

    ``valid`` marks the slices whose data passed the base's screening
    (:attr:`DataReport.valid`); elsewhere the data may be anything and the
    statistic is NaN. The z or t statistic is that of the estimand ``D``
    oriented so that ``D < 0`` is the criterion's hypothesis H (the candidate
    is good). Rates (observations with ``successes``) use the score statistic
    on ``successes`` and ``count`` rounded to integers, means Welch's t on
    ``count``, ``sum`` and ``sumsq`` (``df`` finite) unless ``method="z"``.
    """
    batch = observations.batch_shape
    tol = np.asarray(batch_param("tolerance", criterion.tolerance, batch), dtype=np.float64)
    delta = criterion.tolerance_type == "delta"
    sign = 1.0 if criterion.direction == "lower" else -1.0
    ratio = 1.0 + sign * tol  # a delta's null ratio
    n = observations.count
    ok = np.asarray(valid, dtype=bool)
    res: FixedTestResult
    with np.errstate(all="ignore"):
        if observations.successes is not None:
            keep = ok[..., None]
            xs = np.where(keep, np.rint(observations.successes), 0.0)
            ns = np.where(keep, np.rint(n), 1.0)
            if delta:
                res = rate_test(xs, ns, ratio=ratio, method="score", alternative="less")
            else:
                res = rate_threshold_test(xs[..., 1], ns[..., 1], tol, alternative="less")
        else:
            s, ss = observations.sum, observations.sumsq
            if s is None or ss is None:  # the base reports the absent field
                s = ss = np.full(n.shape, np.nan)
            m = "z" if method == "z" else "welch"
            if delta:
                res = mean_test(n, s, ss, ratio=ratio, method=m)
            else:
                res = mean_threshold_test(n[..., 1], s[..., 1], ss[..., 1], tol, method=m)
        stat = np.broadcast_to(np.asarray(res.statistic, dtype=np.float64) * sign, batch)
        df = np.broadcast_to(np.asarray(res.df, dtype=np.float64), batch)
    # a zero standard error (all samples equal, or no events at all) decides nothing
    degenerate = ok & ~np.isfinite(stat)
    good = ok & ~degenerate
    return CriterionStatisticResult(
        statistic=np.where(good, stat, np.nan),
        df=np.array(df),
        degenerate=degenerate,
        valid=good,
    )


# --------------------------------------------------------------------------- shared declarations


def check_classical_criterion(name: str, criterion: Criterion) -> None:
    """Reject criteria a classical method cannot judge: counters."""
    if criterion.is_counter:
        raise SpecError(
            f"method {name!r} judges rates and means; {criterion.metric!r} is a counter "
            "(a cumulative count against a threshold): use method 'point'"
        )


class ClassicalMethod(Method):
    """What the classical methods (``fixed``, ``group_sequential``) share: their declarations.

    They judge rates (``successes`` of ``count``) and means (``sum`` and
    ``sumsq``), never counters; a mean needs two samples per version for a
    variance.
    """

    def check(self, criterion: Criterion) -> None:
        check_classical_criterion(self.name, criterion)

    def needs(self, criterion: Criterion, kind: str) -> frozenset[str]:
        if kind == "rate":
            return frozenset({"count", "successes"})
        if kind == "mean":
            return frozenset({"count", "sum", "sumsq"})
        return frozenset({"count", "value"})  # a counter: refused by `check`

    def reads(self, criterion: Criterion, observations: Observations) -> tuple[str, ...]:
        if observations.successes is not None:
            return ("successes",)
        return ("sum", "sumsq")

    def minimum_count(self, criterion: Criterion, observations: Observations) -> Any:
        return 0.0 if observations.successes is not None else 2.0


# --------------------------------------------------------------------------- the method


@attrs.frozen(kw_only=True)
class FixedState:
    """State of the fixed method: the test of the last update.

    Attributes
    ----------
    statistic, pvalue : ndarray of float, shape (*batch,)
        The z or t statistic ``D / se`` (negative favours the candidate) and
        the one-sided p-value of ``H0: the candidate is not good`` (small
        means PASS); NaN before the first update and where undecidable.
    """

    statistic: _F = array_field()
    pvalue: _F = array_field()


@register_method
class FixedMethod(ClassicalMethod):
    """The classical one-shot test (``method="fixed"``), vectorized over a batch.

    With ``alpha = 1 - confidence`` and ``D`` the estimand oriented so that
    ``D < 0`` is the criterion's hypothesis H (threshold: ``mu_c - tolerance``;
    delta: ``mu_c - (1 + tolerance) mu_b``; mirrored for higher-is-better),
    the verdict is PASS when the one-sided level-``alpha`` test rejects
    ``D >= 0``, FAIL when the one on the other side rejects ``D <= 0``, and
    else INCONCLUSIVE with ``Reason.NOT_YET_DECIDED``. Each error rate is at
    most ``alpha`` **when the criterion is consulted once**, at a sample size
    fixed in advance (see :func:`~canarystats.sample_size_means`,
    :func:`~canarystats.sample_size_rates`); consulted at every assessment it
    is not (use ``"group_sequential"`` or ``"sequential"``). The method has
    no options.

    Rates use the score tests (:func:`~canarystats.rate_test` with
    ``method="score"``, the Farrington-Manning test for a delta;
    :func:`~canarystats.rate_threshold_test`) on ``successes`` and ``count``
    rounded to integers; means Welch's t (:func:`~canarystats.mean_test`,
    :func:`~canarystats.mean_threshold_test`) on ``sum``, ``sumsq`` and
    ``count`` (``sumsq`` is required, and a mean needs at least 2 samples per
    version read). Insufficient samples, bad data and missing data follow the
    library's data policy (:mod:`canarystats.methods.base`); a zero standard
    error (e.g. no events at all) is INCONCLUSIVE with
    ``Reason.INSUFFICIENT_SAMPLE``, and sums so large that the variance
    overflows are bad data. A FAIL aborts when ``stop_on_failure``.
    Counters are refused.
    """

    name = "fixed"
    options_type = NoOptions
    state_type = FixedState

    def initial_state(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> FixedState:
        empty = np.full(batch_shape, np.nan)
        return FixedState(statistic=empty, pvalue=empty)

    def evidence(
        self, criterion: Criterion, state: FixedState, observations: Observations,
        report: DataReport, n: _F,
    ) -> Evidence:
        batch = observations.batch_shape
        conf = np.asarray(batch_param("confidence", criterion.confidence, batch))
        alpha = np.broadcast_to(1.0 - conf, batch)
        res = criterion_statistic(criterion, observations, report.valid)
        stat, valid = res.statistic, res.valid
        p_less = t_or_z_pvalue(stat, res.df, "less")  # small: D < 0 shown (PASS)
        p_greater = t_or_z_pvalue(stat, res.df, "greater")  # small: D > 0 shown (FAIL)
        passed = valid & (p_less < alpha)
        failed = valid & (p_greater < alpha)
        return Evidence(
            state=FixedState(statistic=stat, pvalue=np.where(valid, p_less, np.nan)),
            passed=passed,
            failed=failed,
            insufficient=res.degenerate,
        )
