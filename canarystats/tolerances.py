"""Threshold and delta tolerances, vectorized, and the criterion-method protocol.

A criterion method judges one criterion over a batch of observations. Every
method follows one protocol (:class:`CriterionMethod`)::

    state = method.init(criterion, batch_shape)
    state, verdict, reason, abort = method.update(criterion, state, observations)

``state`` is a frozen attrs object of batch-leading arrays (the point method
keeps the values it judged; later methods keep running p-values, posterior
parameters or bucket counts); ``verdict`` and ``reason`` are int8 arrays of
the batch shape (codes of :class:`~canarystats.Verdict` and
:class:`~canarystats.Reason`), ``abort`` a bool array. Methods are found by
name in :data:`METHOD_REGISTRY`; the criterion passed to ``update`` has its
``confidence`` resolved (never None).

The point method (``method="point"``) reproduces Iter8 v0.1's
``simple_threshold`` and ``simple_delta`` exactly, including its rounding:

- value and sample size are rounded as Python's ``float('%.3f' % x)``;
- the rounded sample size decides sufficiency (``n >= sample_size``);
- threshold passes iff ``value <= tolerance``; delta iff
  ``candidate <= (1 + tolerance) * baseline`` (both inclusive);
- abort iff (``stop_on_failure`` and sufficient and not passed) or (a
  counter metric, sufficient, failing a threshold).

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
import weakref
from typing import Any, Protocol, cast

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats.errors import InsufficientDataWarning, SpecError
from canarystats.observations import Observations, Reason, Verdict
from canarystats.spec import Criterion, _add_method_name, check_param_shape

__all__ = [
    "METHOD_REGISTRY",
    "BAD_DATA_MESSAGE",
    "CriterionMethod",
    "CriterionResult",
    "Fetched",
    "PointMethod",
    "PointState",
    "evaluate_criterion",
    "fetch_iter8",
    "get_method",
    "register_method",
    "round3",
]

#: Message of the warning for bad data inside a batch (formatted with counts).
BAD_DATA_MESSAGE = (
    "{n} of {total} slices of criterion {metric!r} ({kind}) had {what}; "
    "they are INCONCLUSIVE"
)

_I8 = np.int8


# --------------------------------------------------------------------------- rounding


def round3(x: ArrayLike) -> NDArray[np.float64]:
    """Round to 3 decimals exactly as Python's ``float('%.3f' % x)``.

    ``'%.3f'`` rounds the exact binary value correctly (ties of the exact
    value go to even), so it differs from ``numpy.round`` on values such as
    0.2525 whose scaled product lands on a tie. Away from ties,
    ``rint(x * 1000) / 1000`` is the same double: while ``|x * 1000| < 2**52``
    every half-integer ``k + 0.5`` is a double and rounding is monotone, so the
    computed product stays on the same side of it as the exact one and rounds
    to the same integer ``k``; and ``k / 1000`` is the correctly rounded
    double of the decimal ``k/1000``, which ``float()`` parses. Values whose
    product lands within 1e-6 of a half-integer, and values whose product
    reaches 2**52, are formatted one by one.

    Examples
    --------
    >>> round3([0.2525, 21.763975, 9.9996]).tolist()
    [0.253, 21.764, 10.0]
    >>> float('%.3f' % 0.2525), float(np.round(0.2525, 3))
    (0.253, 0.252)
    """
    arr0 = np.asarray(x, dtype=np.float64)
    arr = arr0.reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = arr * 1000.0
        k = np.rint(scaled)
        # within a whisker of a tie of the scaled value; NaN and +-inf compare False
        dist = np.abs(np.subtract(scaled, k, out=scaled), out=scaled)
        slow = dist > 0.5 - 1e-6
        # fmax/fmin skip NaN; only look for huge values when the extremes say so
        if k.size and not (np.fmax.reduce(k, axis=None) < 2.0**52 > -np.fmin.reduce(k, axis=None)):
            slow |= (np.abs(k) >= 2.0**52) & np.isfinite(arr)
        out = np.divide(k, 1000.0, out=k)
    # NaN and +-inf format as 'nan' / 'inf' and parse back unchanged: rint keeps them.
    if slow.any():
        for i in np.flatnonzero(slow):
            out[i] = float("%.3f" % arr[i])  # noqa: UP031 -- Iter8's exact expression
    if arr0.ndim == 0:
        return np.float64(out[0])  # type: ignore[return-value]
    return out.reshape(arr0.shape)


# --------------------------------------------------------------------------- fetching


@attrs.frozen(kw_only=True)
class Fetched:
    """What Iter8 saw of one metric: rounded sample sizes and values.

    All arrays have shape ``(*batch, n_versions)``.

    Attributes
    ----------
    n : ndarray of float
        The rounded sample size; a missing one is 0 under ``missing="iter8"``
        and NaN otherwise.
    value : ndarray of float
        The rounded value after the missing-data policy: under
        ``missing="iter8"`` a missing value is replaced by ``absent_value``
        (NaN when that is not a number, Iter8's None).
    substituted : ndarray of bool
        Where ``absent_value`` replaced a missing value.
    """

    n: NDArray[np.float64]
    value: NDArray[np.float64]
    substituted: NDArray[np.bool_]


def fetch_iter8(criterion: Criterion, observations: Observations) -> Fetched:
    """Round and substitute as Iter8's metric queries did, for one criterion.

    The result for the last :class:`Observations` seen (immutable, with
    read-only arrays) is remembered, so a strategy and a method that both
    fetch the same observations in one step compute it once.
    """
    key = (criterion.missing, criterion.absent_value)
    ref, cached_key, cached = _LAST_FETCHED
    if ref is not None and ref() is observations and cached_key == key:
        return cast(Fetched, cached)
    n = round3(observations.count)
    value = round3(observations.value)
    substituted = np.isnan(value) if criterion.missing == "iter8" else None
    if substituted is not None and substituted.any():
        value = np.where(substituted, round3(criterion.absent), value)
    else:
        substituted = np.zeros(value.shape, dtype=bool)
    if criterion.missing == "iter8":
        missing_n = np.isnan(n)
        if missing_n.any():
            n = np.where(missing_n, 0.0, n)
    for arr in (n, value, substituted):
        arr.flags.writeable = False
    fetched = Fetched(n=n, value=value, substituted=substituted)
    _LAST_FETCHED[:] = [weakref.ref(observations), key, fetched]
    return fetched


_LAST_FETCHED: list[Any] = [None, None, None]


# --------------------------------------------------------------------------- protocol


class CriterionMethod(Protocol):
    """The protocol every criterion method follows (see the module docstring)."""

    name: str

    def init(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> Any:
        """The method state before any observation."""

    def update(
        self, criterion: Criterion, state: Any, observations: Observations
    ) -> tuple[Any, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        """Judge new observations: ``(state, verdict, reason, abort)``."""


@attrs.frozen(kw_only=True)
class CriterionResult:
    """The judgement of one criterion over a batch.

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
    """

    verdict: NDArray[np.int8]
    reason: NDArray[np.int8]
    abort: NDArray[np.bool_]
    state: Any = attrs.field(repr=False)


# --------------------------------------------------------------------------- point method


@attrs.frozen(kw_only=True)
class PointState:
    """State of the point method: what it judged at the last update.

    Attributes
    ----------
    n, value : ndarray of float, shape (*batch, n_versions)
        The rounded sample sizes and values (after the missing-data policy)
        of the last update; NaN before the first.
    """

    n: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    value: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))


def _missing_moments(observations: Observations) -> str:
    """The "missing" warning's words for a method that needs a mean's ``sum`` and ``sumsq``.

    Names the absent field when the observations of a mean carry no ``sumsq``
    (Istio records none), since their ``value`` alone looks complete.
    """
    if observations.successes is None and observations.sumsq is None:
        absent = "`sumsq`" if observations.sum is not None else "`sum` and `sumsq`"
        return (
            f"missing values (the observations have no {absent}, which this method needs "
            "for a mean; Istio records no sums of squares)"
        )
    return "missing values"


def _warn_bad(mask: NDArray[np.bool_], criterion: Criterion, kind: str, what: str) -> None:
    n = int(np.count_nonzero(mask))
    if n:
        warnings.warn(
            BAD_DATA_MESSAGE.format(
                n=n, total=mask.size, metric=criterion.metric, kind=kind, what=what
            ),
            InsufficientDataWarning,
            stacklevel=4,
        )


class PointMethod:
    """Iter8's point comparison (``method="point"``), vectorized over a batch.

    Missing-data policies:

    ``missing="inconclusive"`` (default)
        A slice whose relevant versions (the candidate for a threshold, both
        for a delta) have an infinite or negative sample size or value is
        INCONCLUSIVE with ``Reason.BAD_DATA``; a missing (NaN) sample size,
        or a missing value with a sufficient sample, is INCONCLUSIVE with
        ``Reason.MISSING_VALUE``. One warning per update counts such slices.
        An insufficient sample is INCONCLUSIVE with
        ``Reason.INSUFFICIENT_SAMPLE`` (no warning: a missing mean latency on
        an idle version is expected). INCONCLUSIVE never aborts.
    ``missing="iter8"``
        Iter8's behaviour: a missing sample size is 0, a missing value takes
        ``absent_value`` (``Reason.ABSENT_VALUE_USED``), and a value that is
        still missing (``"None"``) FAILs with ``Reason.MISSING_VALUE`` -- which
        aborts a counter. Infinite sample sizes (on which Iter8's ``int()``
        raised) are INCONCLUSIVE with ``Reason.BAD_DATA`` and a warning; other
        values are compared literally, as Iter8 did.
    """

    name = "point"

    def init(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> PointState:
        empty = np.full((*batch_shape, 2), np.nan)
        empty.flags.writeable = False
        return PointState(n=empty, value=empty)

    def update(
        self, criterion: Criterion, state: PointState, observations: Observations
    ) -> tuple[PointState, NDArray[np.int8], NDArray[np.int8], NDArray[np.bool_]]:
        if observations.n_versions != 2:
            raise SpecError(
                "the point method compares a baseline and one candidate: observations "
                f"of {criterion.metric!r} must have 2 versions, got {observations.n_versions}"
            )
        batch = observations.batch_shape
        tol = check_param_shape("tolerance", criterion.tolerance, batch)
        need = check_param_shape("sample_size", criterion.sample_size, batch)
        fetched = fetch_iter8(criterion, observations)
        n, v = fetched.n, fetched.value
        delta = criterion.tolerance_type == "delta"
        lower = criterion.direction == "lower"
        base_n, cand_n = n[..., 0], n[..., 1]
        base_v, cand_v = v[..., 0], v[..., 1]

        def relevant(flags: NDArray[np.bool_]) -> NDArray[np.bool_]:
            # the versions a criterion looks at: the candidate, and for a delta the baseline
            return flags[..., 0] | flags[..., 1] if delta else flags[..., 1]

        with np.errstate(invalid="ignore", over="ignore"):
            sufficient = cand_n >= need
            if delta:
                sufficient &= base_n >= need
                margin = (1 + tol) if lower else (1 - tol)
                bound = margin * base_v
            else:
                bound = tol
            # NaN compares False: a missing value never passes
            passed = (cand_v <= bound) if lower else (cand_v >= bound)
            value_missing = relevant(np.isnan(v))

        if criterion.missing == "iter8":
            reason = np.where(value_missing, _I8(Reason.MISSING_VALUE), _I8(Reason.OK))
            used = relevant(fetched.substituted)
            if used.any():
                reason[used & ~value_missing] = Reason.ABSENT_VALUE_USED
            bad = relevant(np.isinf(n))
            inconclusive = ~sufficient
            _warn_bad(bad, criterion, "iter8", "infinite sample sizes")
        else:
            with np.errstate(invalid="ignore"):
                bad = relevant(np.isinf(n) | (n < 0) | np.isinf(v) | (v < 0))
            n_missing = relevant(np.isnan(n))  # NaN >= need is False: also insufficient
            v_missing = value_missing & sufficient
            reason = np.where(v_missing, _I8(Reason.MISSING_VALUE), _I8(Reason.OK))
            inconclusive = ~sufficient | v_missing
            _warn_bad(bad, criterion, "bad data", "infinite or negative values")
            _warn_bad(n_missing | v_missing, criterion, "missing", "missing values")
        reason[~sufficient] = Reason.INSUFFICIENT_SAMPLE
        if criterion.missing != "iter8":
            reason[n_missing] = Reason.MISSING_VALUE
        inconclusive |= bad
        reason[bad] = Reason.BAD_DATA
        verdict = np.asarray(passed).astype(_I8)  # PASS = 1, FAIL = -1
        verdict *= 2
        verdict -= 1
        verdict[inconclusive] = Verdict.INCONCLUSIVE
        failed = ~inconclusive & ~passed
        counter_abort = criterion.is_counter and not delta
        abort = failed if (criterion.stop_on_failure or counter_abort) else np.zeros_like(failed)
        return PointState(n=n, value=v), verdict, reason, np.asarray(abort, dtype=bool)


#: The registered criterion methods by name (see :func:`register_method`).
METHOD_REGISTRY: dict[str, CriterionMethod] = {}


def register_method(name: str, method: CriterionMethod) -> None:
    """Make a criterion method available under ``name`` (one of ``spec.METHODS``).

    Each method module registers its method when it is imported; importing
    ``canarystats`` imports them all.
    """
    _add_method_name(name)
    METHOD_REGISTRY[name] = method


register_method("point", PointMethod())


def get_method(name: str) -> CriterionMethod:
    """The criterion method registered under ``name``."""
    try:
        return METHOD_REGISTRY[name]
    except KeyError:
        allowed = sorted(METHOD_REGISTRY)
        raise SpecError(f"`method` must be one of {allowed}, got {name!r}") from None


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
    new_state, verdict, reason, abort = method.update(criterion, state, observations)
    return CriterionResult(verdict=verdict, reason=reason, abort=abort, state=new_state)
