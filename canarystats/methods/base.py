"""The criterion-method base: the data policy of every method, written once.

A criterion method judges one criterion over a batch of observations. Every
method subclasses :class:`Method` and supplies only its *evidence* from clean
data; the base owns everything else, in this order, for every method alike:

1. the configuration: two versions (baseline and one candidate), the
   missing-data policy the method supports, the method's own checks;
2. which versions a tolerance reads: the candidate for a threshold, both for
   a delta;
3. validation of every observation field the method reads
   (:meth:`Method.reads`), per version -- a NaN is missing; a count, sum or
   sample that is infinite, or negative for a non-negative metric
   (``Criterion.nonnegative``, True by default), is bad data, and so are
   values of :data:`HUGE` (about 1.3e154) or more, whose squares overflow, a
   ``sumsq`` whose product with ``count`` overflows,
   ``successes > count``, ``sumsq < sum**2 / count`` (beyond a relative
   ``1e-9``), infinite or negative bucket counts and raw samples whose number
   disagrees with ``count``;
4. sufficiency: the rounded sample size (Iter8's ``float('%.3f' % n)``) of
   every relevant version reaches ``sample_size`` (and the method's own
   minimum, :meth:`Method.minimum_count`); a field that is missing while the
   sample is insufficient is the expected state of an idle version, so it
   counts as insufficient, without a warning;
5. the method's evidence (:meth:`Method.evidence`), which may add bad data
   (e.g. cumulative totals that decrease), an insufficiency (e.g. a zero
   variance: never the basis of a PASS) and derived quantities that must be
   finite (an estimate overflowing on samples of 1e308 is bad data);
6. the verdict, reason and abort: a slice that is not valid this update is
   INCONCLUSIVE, whatever the method's state says (a group-sequential
   crossing stays final only while its data stay valid), with the reason of
   highest precedence: ``BAD_DATA`` over ``MISSING_VALUE`` over
   ``INSUFFICIENT_SAMPLE``; a FAIL aborts when ``stop_on_failure`` is set, and
   a counter that fails its threshold always aborts (Iter8's rule);
7. the report (:class:`DataReport`: kind, count and mask of what was found),
   from which the :class:`~canarystats.InsufficientDataWarning` are derived --
   one per kind and update -- so a caller that must not depend on the
   process-wide warnings filter (the HTTP service, threads) reads the same
   diagnostics from the result.

Under ``missing="iter8"`` (accepted only by methods that declare
``iter8_compatible``, i.e. the point method) values are compared literally as
Iter8 did: only an infinite sample size is bad data, and the method substitutes
absent values itself.

Examples
--------
>>> import numpy as np
>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="iter8_latency", tolerance_type="threshold",
...               tolerance=0.2, sample_size=6)
>>> obs = Observations(count=[[40.0, 12.0], [40.0, 3.0], [40.0, 12.0]],
...                    value=[[0.1, 0.19], [0.1, 0.19], [0.1, 0.25]])
>>> r = evaluate_criterion(c, obs)
>>> r.verdict.tolist(), r.reason.tolist(), r.abort.tolist()
([1, 0, -1], [0, 1, 0], [False, False, False])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import ARRAY_EQ, TupleResult, freeze
from canarystats.errors import InsufficientDataWarning, SpecError
from canarystats.methods.rounding import fetch_iter8
from canarystats.observations import Observations, Reason
from canarystats.registry import NoOptions, Options, get_method
from canarystats.spec import Criterion, batch_param

__all__ = [
    "BAD_DATA_MESSAGE",
    "FIELDS",
    "HUGE",
    "SUMSQ_RTOL",
    "CriterionResult",
    "DataReport",
    "Evidence",
    "Method",
    "evaluate_criterion",
    "relevant_versions",
]

#: Message of the warning for bad or missing data inside a batch (formatted with counts).
BAD_DATA_MESSAGE = (
    "{n} of {total} slices of criterion {metric!r} ({kind}) had {what}; "
    "they are INCONCLUSIVE"
)

#: The observation fields a method may read, in the order they are validated.
FIELDS: tuple[str, ...] = ("count", "value", "successes", "sum", "sumsq", "buckets", "samples")

#: Relative slack of the check ``sumsq >= sum**2 / count`` (rounding of the sums).
SUMSQ_RTOL = 1e-9

#: Values of this magnitude or more (about 1.3e154) are bad data: their squares, and so any
#: variance or product a method derives from them, overflow float64. No count, latency or sum
#: of a real rollout comes near it.
HUGE = float(np.sqrt(np.finfo(np.float64).max))

_B = NDArray[np.bool_]


_F = NDArray[np.float64]
_I8 = np.int8


# --------------------------------------------------------------------------- report


@attrs.frozen(kw_only=True)
class DataReport:
    """What the data policy found in one update, per slice of the batch.

    Attributes
    ----------
    insufficient, missing, bad : ndarray of bool, shape (*batch,)
        Slices judged INCONCLUSIVE for each reason (each slice has at most
        one: bad data takes precedence over missing over insufficient).
    missing_what, bad_what : str
        What was missing or bad, in words (the warnings' text).
    kind : str
        ``"bad data"``, or ``"iter8"`` under Iter8's policy (the warnings' kind).
    """

    insufficient: _B = attrs.field(converter=freeze, eq=ARRAY_EQ)
    missing: _B = attrs.field(converter=freeze, eq=ARRAY_EQ)
    bad: _B = attrs.field(converter=freeze, eq=ARRAY_EQ)
    missing_what: str = "missing values"
    bad_what: str = "infinite or negative values"
    kind: str = "bad data"

    @property
    def valid(self) -> _B:
        """Slices whose data are sufficient, present and valid."""
        out: _B = ~(self.insufficient | self.missing | self.bad)
        return out

    def messages(self, criterion: Criterion) -> list[str]:
        """The warnings of this report, one per kind found (empty when all is well)."""
        out = []
        for mask, kind, what in (
            (self.bad, self.kind, self.bad_what),
            (self.missing, "missing", self.missing_what),
        ):
            n = int(np.count_nonzero(mask))
            if n:
                out.append(
                    BAD_DATA_MESSAGE.format(
                        n=n, total=mask.size, metric=criterion.metric, kind=kind, what=what
                    )
                )
        return out


@attrs.frozen(kw_only=True, eq=False)
class Evidence:
    """What a method found on the data of one update (see :meth:`Method.evidence`).

    Attributes
    ----------
    state : object
        The method's new state.
    passed, failed : ndarray of bool, shape (*batch,)
        Where the evidence shows the criterion's hypothesis (PASS) or its
        negation (FAIL); the base keeps them only on valid slices.
    reason : ndarray of int8, optional
        The reason of each decided or undecided slice, when it is not the
        default (``OK`` where decided, ``NOT_YET_DECIDED`` elsewhere).
    bad, insufficient : ndarray of bool, optional
        Bad data (described by ``bad_what``) or an insufficiency (e.g. a zero
        variance) that only the method can see.
    derived : tuple of ndarray
        Quantities derived from the data that must be finite on valid slices
        (shape (*batch,)); a non-finite one makes its slice bad data.
    warnings : tuple of (warning class, message)
        Warnings of the method's own (e.g. a departure from a plan).
    """

    state: Any
    passed: _B
    failed: _B
    reason: NDArray[np.int8] | None = None
    bad: _B | None = None
    bad_what: str = "inconsistent values"
    insufficient: _B | None = None
    derived: tuple[Any, ...] = ()
    warnings: tuple[tuple[type[Warning], str], ...] = ()


@attrs.frozen(kw_only=True, eq=False)
class CriterionResult(TupleResult):
    """The judgement of one criterion over a batch.

    Unpacks like the method protocol's tuple: ``state, verdict, reason, abort
    = method.update(criterion, state, observations)``.

    Attributes
    ----------
    verdict : ndarray of int8, shape (*batch,)
        Codes of :class:`~canarystats.Verdict`.
    reason : ndarray of int8, shape (*batch,)
        Codes of :class:`~canarystats.Reason`.
    abort : ndarray of bool, shape (*batch,)
        Whether the criterion asks to abort the experiment.
    state : object
        The method state after this update (``repr=False``).
    report : DataReport
        What the data policy found (``repr=False``); ``report.messages(criterion)``
        are the warnings this update emitted.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("state", "verdict", "reason", "abort")

    verdict: NDArray[np.int8]
    reason: NDArray[np.int8]
    abort: _B
    state: Any = attrs.field(repr=False)
    report: DataReport = attrs.field(repr=False)


# --------------------------------------------------------------------------- screening


def relevant_versions(flags: _B, delta: bool) -> _B:
    """Per slice: the versions a tolerance reads (the candidate; for a delta both) flagged."""
    out: _B = flags[..., 0] | flags[..., 1] if delta else flags[..., 1]
    return out


def _field_flags(
    name: str, arr: NDArray[Any], obs: Observations, nonnegative: bool
) -> tuple[_B, list[tuple[str, _B]]]:
    """Per version (*batch, 2): where the field is missing, and where (and why) it is bad."""
    problems: list[tuple[str, _B]] = []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if name in ("buckets", "samples"):
            nan = np.isnan(arr)
            inf = np.isinf(arr).any(axis=-1)
            neg = (arr < 0).any(axis=-1) if (nonnegative or name == "buckets") else None
            # buckets: a NaN count is missing; samples are padded with NaN
            missing = nan.any(axis=-1) if name == "buckets" else np.zeros(inf.shape, bool)
            problems.append(("infinite", np.asarray(inf)))
            problems.append(("too large", np.asarray((np.abs(arr) >= HUGE).any(axis=-1))))
            if neg is not None:
                problems.append(("negative", np.asarray(neg)))
            if name == "samples":
                n = (~nan).sum(axis=-1)
                c = obs.count
                problems.append(
                    ("disagreeing with `count`", np.isfinite(c) & (np.abs(n - c) > 0.5))
                )
            return missing, problems
        missing = np.isnan(arr)
        problems.append(("infinite", np.isinf(arr)))
        if name != "sumsq":  # a sum of squares may reach HUGE**2
            problems.append(("too large", np.abs(arr) >= HUGE))
        if nonnegative or name in ("count", "successes", "sumsq"):
            problems.append(("negative", arr < 0))
        if name == "successes":
            problems.append(("above `count`", arr > obs.count))
        if name == "sumsq" and obs.sum is not None:
            floor = obs.sum * obs.sum / obs.count
            # sum**2 overflowing while sumsq is finite cannot be consistent either
            below = arr < floor - SUMSQ_RTOL * np.abs(floor)
            below |= np.isinf(floor) & np.isfinite(arr)
            problems.append(("below `sum`**2 / `count`", below))
        if name == "sumsq":
            # `count * sumsq` is a term of every variance computed from the sums
            problems.append(
                ("too large", ~np.isfinite(obs.count * arr) & np.isfinite(arr)
                 & np.isfinite(obs.count))
            )
    return missing, problems


def absent_field_words(absent: Sequence[str]) -> str:
    """The "missing" warning's words for fields the observations do not carry at all."""
    names = " and ".join(f"`{a}`" for a in absent)
    words = f"missing values (the observations have no {names}, which this method needs"
    if "sumsq" in absent:
        words += " for a mean; Istio records no sums of squares"
    return words + ")"


def screen(
    criterion: Criterion,
    observations: Observations,
    fields: Sequence[str],
    minimum: Any = 0.0,
) -> tuple[DataReport, _F]:
    """Apply the data policy to the fields a criterion reads; returns the report and ``n``.

    ``n`` is the rounded sample size per version, shape (*batch, 2) (under
    ``missing="iter8"`` a missing one is 0). ``minimum`` is the method's own
    minimum count (broadcasting against the batch), on top of ``sample_size``.
    """
    obs = observations
    batch = obs.batch_shape
    delta = criterion.tolerance_type == "delta"
    need = batch_param("sample_size", criterion.sample_size, batch)
    if np.any(minimum):
        need = np.maximum(need, minimum)
    n = fetch_iter8(criterion, obs).n  # shared with the point method and change detection
    if criterion.missing == "iter8":
        with np.errstate(invalid="ignore"):
            sufficient = n[..., 1] >= need
            if delta:
                sufficient &= n[..., 0] >= need
        bad = relevant_versions(np.isinf(n), delta)
        report = DataReport(
            insufficient=~sufficient & ~bad,
            missing=np.zeros(batch, dtype=bool),
            bad=bad,
            bad_what="infinite sample sizes",
            kind="iter8",
        )
        return report, n
    with np.errstate(invalid="ignore"):
        sufficient = n[..., 1] >= need
        if delta:
            sufficient &= n[..., 0] >= need
    missing_v = np.isnan(n)  # a missing count is missing whatever the sample size
    field_missing = np.zeros(n.shape, dtype=bool)
    bad_found: dict[str, list[str]] = {}
    bad_v = np.zeros(n.shape, dtype=bool)
    absent = [f for f in fields if getattr(obs, f) is None]
    nonneg = bool(criterion.nonnegative)
    for name in ("count", *fields):
        arr = getattr(obs, name)
        if arr is None:
            continue
        miss, problems = _field_flags(name, arr, obs, nonneg)
        if name != "count":
            field_missing |= miss
        for what, mask in problems:
            hit = relevant_versions(mask, delta)
            if hit.any():
                bad_found.setdefault(what, []).append(name)
                bad_v |= mask
    bad = relevant_versions(bad_v, delta)
    count_missing = relevant_versions(missing_v, delta) & ~bad
    missing = count_missing | (
        (relevant_versions(field_missing, delta) | bool(absent)) & sufficient & ~bad
    )
    insufficient = ~sufficient & ~bad & ~missing
    words = (
        "; ".join(
            f"{'/'.join(f'`{f}`' for f in names)} {what}" for what, names in bad_found.items()
        )
        if bad_found
        else ""
    )
    report = DataReport(
        insufficient=insufficient,
        missing=missing,
        bad=bad,
        missing_what=absent_field_words(absent) if absent else "missing values",
        bad_what=f"infinite, negative or inconsistent values ({words})"
        if words
        else "infinite, negative or inconsistent values",
    )
    return report, n


# --------------------------------------------------------------------------- the base


class Method:
    """Base of every criterion method: subclasses supply their evidence (see the module).

    Class attributes a method declares:

    ``name``
        Its name in ``Criterion(method=...)`` and in saved states.
    ``options_type``
        Its typed options (a subclass of :class:`Options`; :class:`NoOptions`
        by default), validated when the criterion is built.
    ``state_type``
        Its state (a frozen attrs class of batch-leading arrays), which
        persistence finds by the method's name.
    ``iter8_compatible``
        Whether it accepts ``missing="iter8"`` (only the point method does).

    Methods a subclass overrides: :meth:`evidence` and :meth:`initial_state`
    (required), :meth:`reads` (the fields read from given observations),
    :meth:`needs` (the fields a criterion needs, for the simulator and the
    adapters), :meth:`check` (configuration), :meth:`minimum_count` and
    :meth:`anytime_valid`. :meth:`init` and :meth:`update` are the protocol
    every caller uses and are not overridden.
    """

    name: ClassVar[str] = ""
    options_type: ClassVar[type[Options]] = NoOptions
    state_type: ClassVar[type] = object
    iter8_compatible: ClassVar[bool] = False

    # -- what a method declares

    def check(self, criterion: Criterion) -> None:
        """Configuration checks of the method's own (raise :class:`~canarystats.SpecError`)."""

    def anytime_valid(self, criterion: Criterion) -> bool:
        """Whether the criterion's PASS / FAIL stay valid at any stopping time (early stopping)."""
        return False

    def needs(self, criterion: Criterion, kind: str) -> frozenset[str]:
        """The observation fields the criterion needs on a metric of ``kind``.

        ``kind`` is ``"rate"`` (events out of requests), ``"mean"`` (per-request
        values, e.g. latencies) or ``"counter"``. The simulator draws them, and
        replay and the adapters fetch them.
        """
        return frozenset({"count", "value"})

    def reads(self, criterion: Criterion, observations: Observations) -> tuple[str, ...]:
        """The fields the method reads from these observations (validated by the base)."""
        return ("value",)

    def minimum_count(self, criterion: Criterion, observations: Observations) -> Any:
        """A minimum sample size of the method's own, on top of ``sample_size``."""
        return 0.0

    def initial_state(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> Any:
        """The method state before any observation."""
        raise NotImplementedError

    def evidence(
        self, criterion: Criterion, state: Any, observations: Observations, report: DataReport,
        n: _F,
    ) -> Evidence:
        """The method's evidence on the observations; ``report.valid`` marks the clean slices.

        ``n`` is the rounded sample size per version. Values in slices that are
        not valid may be anything (NaN, negative, infinite): a method computes
        under ``np.errstate(all="ignore")`` or substitutes harmless values there,
        and must not let them into its state.
        """
        raise NotImplementedError

    # -- the protocol (not overridden)

    def _configure(self, criterion: Criterion) -> None:
        if criterion.missing != "inconclusive" and not self.iter8_compatible:
            raise SpecError(
                f"`missing` must be 'inconclusive' for method {self.name!r} (criterion "
                f"{criterion.metric!r}), got {criterion.missing!r}: substituting Iter8's "
                "absent values has no meaning for a statistical method"
            )
        if not isinstance(criterion.options, self.options_type):
            raise SpecError(
                f"the options of criterion {criterion.metric!r} are "
                f"{type(criterion.options).__qualname__}, not {self.options_type.__qualname__} "
                f"of method {self.name!r}"
            )
        self.check(criterion)

    def init(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> Any:
        """The method state before any observation (after the configuration checks)."""
        self._configure(criterion)
        return self.initial_state(criterion, tuple(batch_shape))

    def update(
        self, criterion: Criterion, state: Any, observations: Observations
    ) -> CriterionResult:
        """Judge new observations; unpacks as ``(state, verdict, reason, abort)``."""
        if observations.n_versions != 2:
            raise SpecError(
                f"the {self.name} method compares a baseline and one candidate: observations "
                f"of {criterion.metric!r} must have 2 versions, got {observations.n_versions}"
            )
        self._configure(criterion)
        fields = self.reads(criterion, observations)
        minimum = self.minimum_count(criterion, observations)
        report, n = screen(criterion, observations, fields, minimum)
        with np.errstate(all="ignore"):
            ev = self.evidence(criterion, state, observations, report, n)
        return self._judge(criterion, ev, report)

    def _judge(self, criterion: Criterion, ev: Evidence, report: DataReport) -> CriterionResult:
        batch = report.bad.shape
        bad = report.bad
        bad_what = report.bad_what
        extra_bad = ev.bad
        for arr in ev.derived:
            with np.errstate(invalid="ignore"):
                nonfinite = ~np.isfinite(np.broadcast_to(np.asarray(arr, np.float64), batch))
            extra_bad = nonfinite if extra_bad is None else extra_bad | nonfinite
        if extra_bad is not None:
            extra_bad = extra_bad & report.valid
            if extra_bad.any():
                bad = bad | extra_bad
                bad_what = (
                    f"{bad_what}; {ev.bad_what}" if report.bad.any() else
                    f"infinite, negative or inconsistent values ({ev.bad_what})"
                )
        if bad is report.bad and ev.insufficient is None:
            final = report
        else:
            missing = report.missing & ~bad
            insufficient = report.insufficient & ~bad & ~missing
            if ev.insufficient is not None:
                insufficient = insufficient | (ev.insufficient & ~bad & ~missing)
            final = attrs.evolve(
                report, bad=bad, missing=missing, insufficient=insufficient, bad_what=bad_what
            )
        bad, missing, insufficient = final.bad, final.missing, final.insufficient
        # masks that are all False (the common case) cost nothing below
        any_bad, any_missing = bool(bad.any()), bool(missing.any())
        valid = final.valid if any_bad or any_missing else ~insufficient
        passed = ev.passed & valid
        failed = ev.failed & valid
        failed &= ~passed
        verdict = passed.astype(_I8)  # PASS = 1, FAIL = -1, else 0 (INCONCLUSIVE)
        verdict -= failed
        if ev.reason is not None:
            reason = np.array(np.broadcast_to(ev.reason, batch), dtype=_I8)
        else:
            reason = np.where(passed | failed, _I8(Reason.OK), _I8(Reason.NOT_YET_DECIDED))
        if insufficient.any():
            reason[insufficient] = Reason.INSUFFICIENT_SAMPLE
        if any_missing:
            reason[missing] = Reason.MISSING_VALUE
        if any_bad:
            reason[bad] = Reason.BAD_DATA
        counter_abort = criterion.is_counter and criterion.tolerance_type == "threshold"
        if criterion.stop_on_failure or counter_abort:
            abort = failed
        else:
            abort = np.zeros(batch, dtype=bool)
        for message in final.messages(criterion):
            warnings.warn(message, InsufficientDataWarning, stacklevel=3)
        for category, message in ev.warnings:
            warnings.warn(message, category, stacklevel=3)
        return CriterionResult(
            verdict=verdict, reason=reason, abort=np.asarray(abort, dtype=bool),
            state=ev.state, report=final,
        )


def evaluate_criterion(
    criterion: Criterion,
    observations: Observations,
    *,
    state: Any = None,
    confidence: float = 0.95,
) -> CriterionResult:
    """Judge one criterion over a batch of observations.

    Parameters
    ----------
    criterion : Criterion
        The criterion; its ``method`` chooses the judge.
    observations : Observations
        The observations of the criterion's metric, shape (*batch, 2).
    state : object, optional
        The method state of a previous call; a fresh one when None.
    confidence : float, default 0.95
        Used when the criterion's ``confidence`` is None.

    Returns
    -------
    CriterionResult
    """
    if criterion.confidence is None:
        criterion = attrs.evolve(criterion, confidence=confidence)
    method = get_method(criterion.method)
    if state is None:
        state = method.init(criterion, observations.batch_shape)
    result = method.update(criterion, state, observations)
    if not isinstance(result, CriterionResult):  # a method that implements the bare protocol
        new_state, verdict, reason, abort = result
        empty = np.zeros(np.shape(verdict), dtype=bool)
        result = CriterionResult(
            verdict=verdict, reason=reason, abort=abort, state=new_state,
            report=DataReport(insufficient=empty, missing=empty, bad=empty),
        )
    return result
