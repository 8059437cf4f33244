"""Experiment specifications: criteria, traffic control and the experiment.

Frozen value objects. Converters normalise (a Go duration string becomes
seconds, a list of tolerances becomes a read-only float64 array); validators
check, and every error names the field, the value received and what is
allowed.

Parameters that tuning varies -- ``tolerance``, ``sample_size``,
``confidence``, ``step_size`` and ``max_traffic_percent`` -- accept arrays.
They broadcast against the batch shape of the observations, so one call
evaluates a whole grid of settings.

Examples
--------
>>> from canarystats import Criterion, ExperimentSpec, TrafficControl
>>> latency = Criterion(metric="iter8_latency", tolerance_type="threshold",
...                     tolerance=0.2, sample_size=6)
>>> latency.absent_value, latency.is_counter
('None', False)
>>> tc = TrafficControl(interval="30s", step_size=20, max_iterations=8,
...                     max_traffic_percent=80)
>>> tc.interval
30.0
>>> spec = ExperimentSpec(name="reviews-v3-rollout", target_service="reviews",
...                       baseline="reviews-v2", candidate="reviews-v3",
...                       traffic_control=tc, criteria=[latency])
>>> spec.criteria[0].metric
'iter8_latency'
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats.errors import SpecError
from canarystats.registry import Options, get_method, method_names

__all__ = [
    "COUNTER_METRICS",
    "METHODS",
    "Criterion",
    "ExperimentSpec",
    "TrafficControl",
    "available_methods",
    "batch_param",
    "check_param_shape",
    "format_duration",
    "parse_duration",
    "to_param",
]

#: A tunable parameter: a float, or a read-only float64 array that broadcasts
#: against the batch shape.
Param = float | NDArray[np.float64]

#: The criterion methods that come with canarystats (plugins may add more: see
#: :func:`available_methods` and :mod:`canarystats.registry`).
METHODS: tuple[str, ...] = ("point", "bayes", "sequential", "group_sequential", "fixed", "ranks")


def available_methods() -> tuple[str, ...]:
    """The criterion methods registered so far, in registration order."""
    return tuple(method_names())


#: Iter8's standard metrics that are counters (a counter over its threshold
#: aborts the experiment; a delta criterion on a counter is an error).
COUNTER_METRICS: frozenset[str] = frozenset({"iter8_error_count"})

#: Iter8's absent values for its standard metrics; any other metric uses "0.0".
_ABSENT_VALUES: Mapping[str, str] = {
    "iter8_sample_size": "0.0",
    "iter8_latency": "None",
    "iter8_error_count": "0.0",
    "iter8_error_rate": "0.0",
}

TOLERANCE_TYPES = ("threshold", "delta")
DIRECTIONS = ("lower", "higher")
MISSING_POLICIES = ("inconclusive", "iter8")
STRATEGIES = (
    "check_and_increment",
    "increment_without_check",
    "epsilon_t_greedy",
    "posterior_bayesian_routing",
    "optimistic_bayesian_routing",
    "top_k_routing",
)
ON_SUCCESS = ("candidate", "baseline", "both")


# --------------------------------------------------------------------------- durations

_UNIT_SECONDS: Mapping[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Exact unit values, so that a parsed duration is the correctly rounded float of the
# exact decimal (and parse_duration(format_duration(x)) == x for whole nanoseconds).
_UNIT_EXACT: Mapping[str, Fraction] = {u: Fraction(repr(v)) for u, v in _UNIT_SECONDS.items()}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Parse a duration in Go's ``time.ParseDuration`` syntax into seconds.

    A duration is an optionally signed sequence of decimal numbers, each with
    an optional fraction and a unit: ``ns``, ``us`` (or ``µs``), ``ms``,
    ``s``, ``m``, ``h``. ``"0"`` alone is allowed. There is no unit for days.

    Examples
    --------
    >>> parse_duration("30s"), parse_duration("1.5m"), parse_duration("1h2m")
    (30.0, 90.0, 3720.0)
    >>> parse_duration("300ms")
    0.3
    """
    if not isinstance(text, str):
        raise SpecError(f"a duration must be a string such as '30s', got {text!r}")
    body = text.strip()
    sign = 1.0
    if body[:1] in "+-" and body:
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    pos = 0
    total = Fraction(0)
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            break
        total += Fraction(match.group(1)) * _UNIT_EXACT[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise SpecError(
            f"invalid duration {text!r}: expected Go duration syntax such as "
            "'30s', '1m', '1.5m', '300ms' or '1h2m' (units ns, us, ms, s, m, h)"
        )
    return sign * float(total)


def format_duration(seconds: float) -> str:
    """Format seconds the way Go's ``time.Duration.String`` does.

    ``parse_duration(format_duration(x)) == x`` for durations that are whole
    nanoseconds.

    Examples
    --------
    >>> format_duration(30.0), format_duration(90.0), format_duration(3720.0)
    ('30s', '1m30s', '1h2m0s')
    >>> format_duration(0.3)
    '300ms'
    """
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns, 1_000)}us"
    if ns < 1_000_000_000:
        return f"{sign}{_trim(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + f"{_trim(rest, 10**9)}s"


def _trim(ns: int, unit: int) -> str:
    whole, frac = divmod(ns, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def _to_seconds(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        return value  # rejected by the validator
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return value


# --------------------------------------------------------------------------- parameters


def to_param(value: Any) -> Any:
    """A tunable parameter: a float or a read-only float64 array; the rest is left to validators."""
    if isinstance(value, bool | np.bool_) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return value
    if arr.ndim == 0:
        return float(arr)
    arr.flags.writeable = False
    return arr


def _param_eq(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def _param_field(default: Any = attrs.NOTHING, **kwargs: Any) -> Any:
    return attrs.field(
        default=default,
        converter=to_param,
        eq=attrs.cmp_using(eq=_param_eq),
        **kwargs,
    )


def _check_param(
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    optional: bool = False,
) -> Any:
    """Validator for a tunable parameter: finite, within bounds, scalar or array."""
    lo_sym = "(" if low_open else "["
    hi_sym = ")" if high_open else "]"
    if low is None and high is None:
        allowed = "a finite number, or an array of them"
    else:
        allowed = (
            f"a finite number in {lo_sym}{low if low is not None else '-inf'}, "
            f"{high if high is not None else 'inf'}{hi_sym}, or an array of them"
        )

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, float | np.ndarray):
            raise SpecError(f"`{attribute.name}` must be {allowed}, got {value!r}")
        arr = np.asarray(value)
        bad = ~np.isfinite(arr)
        if low is not None:
            bad |= (arr <= low) if low_open else (arr < low)
        if high is not None:
            bad |= (arr >= high) if high_open else (arr > high)
        if bad.any():
            first = arr[bad].flat[0] if arr.ndim else float(arr)
            shown = value if arr.ndim == 0 else f"an array holding {float(first)!r}"
            raise SpecError(f"`{attribute.name}` must be {allowed}, got {shown}")

    return check


def _one_of(options: tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in options:
            raise SpecError(f"`{attribute.name}` must be one of {list(options)}, got {value!r}")

    return check


def _is_bool(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"`{attribute.name}` must be true or false, got {value!r}")


def _non_empty_str(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise SpecError(f"`{attribute.name}` must be a non-empty string, got {value!r}")


def _to_bool(value: Any) -> Any:
    return bool(value) if isinstance(value, np.bool_) else value


def _to_extras(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _is_mapping(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise SpecError(f"`{attribute.name}` must be a mapping, got {value!r}")


def param_shape(value: Param | None) -> tuple[int, ...]:
    """The shape of a tunable parameter (``()`` for a scalar or None)."""
    return np.shape(value) if isinstance(value, np.ndarray) else ()


def check_param_shape(name: str, value: Any, batch_shape: tuple[int, ...]) -> Any:
    """Check that a tunable parameter broadcasts against a batch; return it unchanged.

    Raises
    ------
    SpecError
        Naming the parameter, its shape and the batch shape.
    """
    shape = param_shape(value)
    if shape:
        try:
            ok = np.broadcast_shapes(shape, batch_shape) == batch_shape
        except ValueError:
            ok = False
        if not ok:
            raise SpecError(
                f"`{name}` of shape {shape} does not broadcast against the batch shape "
                f"{batch_shape}"
            )
    return value


def batch_param(name: str, value: Any, batch_shape: tuple[int, ...]) -> NDArray[np.float64]:
    """A tunable parameter as a float64 array of the batch shape (a broadcast view).

    Raises
    ------
    SpecError
        When it does not broadcast against the batch shape.
    """
    check_param_shape(name, value, batch_shape)
    return np.broadcast_to(np.asarray(value, dtype=np.float64), batch_shape)


# --------------------------------------------------------------------------- Criterion


def _to_options(value: Any, self: Criterion) -> Any:
    """``options`` as the method's options type: from None (defaults), a mapping or an instance."""
    options_type = get_method(self.method).options_type
    if value is None:
        return options_type()
    if isinstance(value, options_type):
        return value
    if isinstance(value, Options) and value == type(value)():
        # default options of another method (e.g. ``attrs.evolve(c, method=...)``)
        return options_type()
    if isinstance(value, Mapping):
        return options_type.from_mapping(value, method=self.method)  # type: ignore[attr-defined]
    raise SpecError(
        f"`options` of a criterion with method {self.method!r} must be a mapping of option "
        f"names to values or a {options_type.__qualname__}, got {value!r}"
    )


def _default_is_counter(self: Criterion) -> bool:
    return self.metric in COUNTER_METRICS


def _default_absent_value(self: Criterion) -> str:
    return _ABSENT_VALUES.get(self.metric, "0.0")


@attrs.frozen(kw_only=True)
class Criterion:
    """A success criterion on one metric.

    Parameters
    ----------
    metric : str
        The metric's name, e.g. ``"iter8_latency"`` or ``"iter8_error_rate"``.
    tolerance_type : {"threshold", "delta"}
        ``threshold``: the candidate's value must be ``<= tolerance``.
        ``delta``: the candidate's value must be ``<= (1 + tolerance) *``
        the baseline's (a relative margin, one-sided).
    tolerance : float or array_like
        The threshold, or the relative margin of a delta (``>= 0``).
    sample_size : float or array_like, default 10
        The minimum sample size (requests) for a verdict: the candidate's for a
        threshold, both versions' for a delta.
    stop_on_failure : bool, default False
        Abort the experiment when this criterion fails on sufficient data.
    is_counter : bool, optional
        Whether the metric is a counter (a counter over its threshold always
        aborts; a delta on a counter is an error). Defaults to True for
        Iter8's ``iter8_error_count`` and False otherwise.
    direction : {"lower", "higher"}, default "lower"
        Whether lower or higher values are better. For ``"higher"`` the
        threshold is a minimum and a delta reads ``candidate >= (1 -
        tolerance) * baseline``.
    method : str, default "point"
        How the criterion is judged: one of ``available_methods()`` (the
        design's full list is ``canarystats.METHODS``).
    confidence : float or array_like, optional
        Confidence level of statistical methods; None inherits the traffic
        control's. The point method does not use it (as in Iter8).
    missing : {"inconclusive", "iter8"}, default "inconclusive"
        Missing-data policy: ``"inconclusive"`` judges a missing value
        INCONCLUSIVE; ``"iter8"`` substitutes ``absent_value`` as Iter8 did.
    absent_value : str, optional
        Iter8's substitute for a missing value, as a string; one that does not
        parse as a number (Iter8 used ``"None"``) leaves the value missing.
        Defaults to Iter8's value for its standard metrics (``"None"`` for
        ``iter8_latency``) and ``"0.0"`` otherwise.
    nonnegative : bool, default True
        Whether the metric's values (and so its sums and samples) are never
        negative, as latencies, counts and rates are: a negative one is then
        bad data (INCONCLUSIVE). False for a metric that may be negative.
    options : mapping or the method's options object, optional
        The options of the criterion's ``method`` (see each method's options
        class, e.g. :class:`canarystats.methods.bayes.BayesOptions`): a mapping
        such as ``{"prior": (1, 1)}`` is validated into the method's typed
        options; an unknown name is a :class:`SpecError` naming the allowed
        ones. None gives the method's defaults.
    extras : dict, optional
        Keys of the Iter8 success criterion that canarystats does not
        interpret, kept so that nothing is dropped.

    Raises
    ------
    SpecError
        For any field outside what is allowed, and for a delta criterion on
        a counter metric.
    """

    metric: str = attrs.field(validator=_non_empty_str)
    tolerance_type: str = attrs.field(validator=_one_of(TOLERANCE_TYPES))
    tolerance: Param = _param_field(validator=_check_param())
    sample_size: Param = _param_field(10.0, validator=_check_param(low=0.0))
    stop_on_failure: bool = attrs.field(default=False, converter=_to_bool, validator=_is_bool)
    is_counter: bool = attrs.field(
        default=attrs.Factory(_default_is_counter, takes_self=True),
        converter=_to_bool,
        validator=_is_bool,
    )
    direction: str = attrs.field(default="lower", validator=_one_of(DIRECTIONS))
    method: str = attrs.field(default="point")
    confidence: Param | None = _param_field(
        None,
        validator=_check_param(low=0.0, high=1.0, low_open=True, high_open=True, optional=True),
    )
    missing: str = attrs.field(default="inconclusive", validator=_one_of(MISSING_POLICIES))
    absent_value: str = attrs.field(
        default=attrs.Factory(_default_absent_value, takes_self=True)
    )
    nonnegative: bool = attrs.field(default=True, converter=_to_bool, validator=_is_bool)
    options: Any = attrs.field(
        default=None,
        converter=attrs.Converter(_to_options, takes_self=True),  # type: ignore[misc,call-overload]
    )
    extras: dict[str, Any] = attrs.field(factory=dict, converter=_to_extras, validator=_is_mapping)

    @method.validator
    def _check_method(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        get_method(value)

    @absent_value.validator
    def _check_absent_value(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            raise SpecError(
                f"`absent_value` must be a string such as '0.0' or 'None' (as in Iter8), "
                f"got {value!r}"
            )

    def __attrs_post_init__(self) -> None:
        options = [f.name for f in attrs.fields(type(self.options)) if f.init]
        shadowed = sorted(k for k in self.extras if k in options)
        if shadowed:
            raise SpecError(
                f"`extras` holds {shadowed[0]!r}, an option of method {self.method!r}: pass it "
                f"in `options` (e.g. options={{{shadowed[0]!r}: ...}}); extras are not read"
            )
        for key in self.extras:
            close = difflib.get_close_matches(str(key), options, n=1, cutoff=0.8)
            if close:  # a misspelt option would otherwise be kept and silently not read
                raise SpecError(
                    f"`extras` holds {key!r}, which is not an option of method {self.method!r}: "
                    f"did you mean the option {close[0]!r}? Options go in `options`; its "
                    f"options are {options}"
                )
        if self.tolerance_type == "delta":
            if self.is_counter:
                raise SpecError(
                    f"`tolerance_type` 'delta' is not allowed on the counter metric "
                    f"{self.metric!r}: use 'threshold' (Iter8 rejects delta on counters)"
                )
            arr = np.asarray(self.tolerance)
            hi = 1.0 if self.direction == "higher" else np.inf
            if (arr < 0).any() or (arr > hi).any():
                allowed = "[0, 1]" if self.direction == "higher" else "[0, inf)"
                raise SpecError(
                    f"`tolerance` of a delta criterion is a relative margin in {allowed}, "
                    f"got {self.tolerance!r}"
                )

    @property
    def absent(self) -> float:
        """``absent_value`` as a number; NaN when it does not parse (missing)."""
        try:
            return float(self.absent_value)
        except ValueError:
            return math.nan


# --------------------------------------------------------------------------- TrafficControl


@attrs.frozen(kw_only=True)
class TrafficControl:
    """How traffic moves to the candidate and how long the experiment runs.

    Parameters
    ----------
    strategy : str, default "check_and_increment"
        One of ``STRATEGIES``. ``check_and_increment`` moves traffic when all
        criteria pass; ``increment_without_check`` moves it every interval
        regardless (Iter8 uses it for experiments without success criteria);
        ``epsilon_t_greedy`` is Iter8's decaying epsilon-greedy routing (the
        CRD's ``epsilon_greedy``); ``posterior_bayesian_routing``,
        ``optimistic_bayesian_routing`` and ``top_k_routing`` route by
        posterior draws (see ``canarystats.strategies.bandits``).
    interval : str, float or timedelta, default "1m"
        Time between assessments: a Go duration string (``"30s"``), seconds,
        or a ``datetime.timedelta``. Stored in seconds.
    step_size : float or array_like, default 2
        Percentage points added to the candidate per increment, in (0, 100].
    max_iterations : int, default 100
        Assessments happen at iterations ``0..max_iterations``.
    max_traffic_percent : float or array_like, default 50
        The candidate's traffic never exceeds this, in [0, 100].
    on_success : {"candidate", "baseline", "both"}, default "candidate"
        The final split after success: all to the candidate, all to the
        baseline, or keep the last split.
    confidence : float or array_like, default 0.95
        The confidence level criteria inherit, in (0, 1).
    early_stop : bool, default False
        canarystats' extension (Iter8 key ``earlyStop``): ``check_and_increment``
        ends the experiment at once -- promoting when every criterion has an
        anytime-valid PASS (all criteria use ``method="sequential"``), rolling
        back when any sequential criterion FAILs -- instead of running to
        ``max_iterations``. Point and other non-anytime-valid verdicts never
        stop early. False reproduces Iter8.
    srm_check : bool, default False
        canarystats' extension (Iter8 key ``srmCheck``): at every assessment
        ``check_and_increment`` (and ``increment_without_check``) tests the
        requests each version received since the previous assessment (the
        first criterion's ``count``) against the split routed in that interval
        (``int()`` of the last recommended candidate percentage, as Iter8's
        controller applies it), with the anytime-valid sample-ratio-mismatch
        test at confidence 0.999; a mismatch aborts (rolls back) with
        ``Reason.SAMPLE_RATIO_MISMATCH``. Other strategies ignore it. False
        reproduces Iter8.
    """

    strategy: str = attrs.field(default="check_and_increment", validator=_one_of(STRATEGIES))
    interval: float = attrs.field(default=60.0, converter=_to_seconds)
    step_size: Param = _param_field(2.0, validator=_check_param(low=0.0, high=100.0, low_open=True))
    max_iterations: int = attrs.field(default=100)
    max_traffic_percent: Param = _param_field(50.0, validator=_check_param(low=0.0, high=100.0))
    on_success: str = attrs.field(default="candidate", validator=_one_of(ON_SUCCESS))
    confidence: Param = _param_field(
        0.95, validator=_check_param(low=0.0, high=1.0, low_open=True, high_open=True)
    )
    early_stop: bool = attrs.field(default=False, converter=_to_bool, validator=_is_bool)
    srm_check: bool = attrs.field(default=False, converter=_to_bool, validator=_is_bool)

    @interval.validator
    def _check_interval(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, float) or not (
            math.isfinite(value) and value > 0
        ):
            raise SpecError(
                f"`interval` must be a positive duration such as '30s' or '1m', got {value!r}"
            )

    @max_iterations.validator
    def _check_max_iterations(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise SpecError(f"`max_iterations` must be an integer >= 0, got {value!r}")


# --------------------------------------------------------------------------- ExperimentSpec


def _to_criteria(value: Any) -> Any:
    if isinstance(value, Criterion):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True)
class ExperimentSpec:
    """A canary experiment: the versions compared, its criteria and traffic control.

    Parameters
    ----------
    name : str
        The experiment's name.
    target_service : str
        The service whose versions are compared.
    baseline, candidate : str
        The names of the baseline and candidate versions.
    traffic_control : TrafficControl
        Strategy, interval, steps and limits.
    criteria : sequence of Criterion
        The success criteria; all must pass for the candidate to gain traffic.
    extras : dict, optional
        Fields of an Iter8 document that canarystats does not interpret, keyed
        by their dotted path (``"spec.analysis.analyticsService"``), so that
        nothing is dropped and ``to_iter8`` gives them back.
    """

    name: str = attrs.field(validator=_non_empty_str)
    target_service: str = attrs.field(validator=_non_empty_str)
    baseline: str = attrs.field(validator=_non_empty_str)
    candidate: str = attrs.field(validator=_non_empty_str)
    traffic_control: TrafficControl = attrs.field(factory=TrafficControl)
    criteria: tuple[Criterion, ...] = attrs.field(factory=tuple, converter=_to_criteria)
    extras: dict[str, Any] = attrs.field(factory=dict, converter=_to_extras, validator=_is_mapping)

    @traffic_control.validator
    def _check_tc(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, TrafficControl):
            raise SpecError(f"`traffic_control` must be a TrafficControl, got {value!r}")

    @criteria.validator
    def _check_criteria(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple) or not all(isinstance(c, Criterion) for c in value):
            raise SpecError(f"`criteria` must be a sequence of Criterion, got {value!r}")

    @property
    def effective_strategy(self) -> str:
        """The strategy that runs: without criteria, always ``increment_without_check``."""
        return self.traffic_control.strategy if self.criteria else "increment_without_check"

    def resolved_criteria(self) -> tuple[Criterion, ...]:
        """The criteria with ``confidence=None`` replaced by the traffic control's."""
        conf = self.traffic_control.confidence
        return tuple(
            c if c.confidence is not None else attrs.evolve(c, confidence=conf)
            for c in self.criteria
        )
