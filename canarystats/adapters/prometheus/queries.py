r"""PromQL for canary metrics: the metric catalogue, safe label matchers, query builders.

Iter8 v0.1 computed its standard metrics from Istio's request telemetry with
``increase()`` over a cumulative window since the experiment's start, summed
by the version's workload labels. This module builds those queries as text,
and lets users register their own metric definitions:

- :class:`CounterQuery`: the increase of a counter (a metric name and fixed
  label matchers), summed per version;
- :class:`MetricDefinition`: a counter metric (one query) or a ratio of two,
  with its sample size, direction and whether it is a counter;
- :class:`QuantileDefinition`: a latency percentile computed from histogram
  buckets with the interpolation of Prometheus' ``histogram_quantile``
  (:func:`canarystats.adapters.prometheus.bucket_quantile`).

:data:`ISTIO_METRICS` is the catalogue of Iter8's four standard metrics
(telemetry v1, seconds) and of p50/p95/p99 latency quantiles;
:func:`istio_metrics` builds it for telemetry v2 (milliseconds).

Escaping. A label value becomes a PromQL double-quoted string literal with
``\\`` ``"`` and control characters escaped (:func:`quote`), so no value --
quotes, backslashes, newlines, ``}`` -- can end the string or change the
query's meaning. Label and metric names are validated against Prometheus'
grammar (:data:`LABEL_NAME_RE`, :data:`METRIC_NAME_RE`); anything else raises
a :class:`~canarystats.SpecError`.

Examples
--------
>>> counter = CounterQuery(metric="requests_total", matchers={"code": "503"})
>>> print(counter.increase(120, by=["app"], extra=[Matcher(name="app", value='v2"}')]))
sum by (app) (increase(requests_total{code="503",app="v2\"}"}[120s]))
>>> print(quote('a"b\\c\n}'))
"a\"b\\c\n}"
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from canarystats.errors import SpecError

__all__ = [
    "ISTIO_METRICS",
    "LABEL_NAME_RE",
    "MATCH_OPS",
    "METRIC_NAME_RE",
    "TELEMETRY",
    "CounterQuery",
    "Matcher",
    "MetricDefinition",
    "QuantileDefinition",
    "format_window",
    "istio_counters",
    "istio_metrics",
    "quote",
    "version_selectors",
]

#: Prometheus' label names (2.x): letters, digits and ``_``, not starting with a digit.
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

#: Prometheus' metric names: as label names, plus ``:``.
METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

#: The label matcher operators of PromQL.
MATCH_OPS: tuple[str, ...] = ("=", "!=", "=~", "!~")

#: Istio telemetry versions and the base name of their request-duration histogram:
#: v1 in seconds (Iter8's tutorial setting), v2 in milliseconds.
TELEMETRY: Mapping[str, str] = MappingProxyType(
    {"v1": "istio_request_duration_seconds", "v2": "istio_request_duration_milliseconds"}
)

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f]')


def quote(value: str) -> str:
    """``value`` as a PromQL double-quoted string literal.

    Backslash, double quote, newline, carriage return and tab get their
    backslash escapes; other control characters (U+0000-U+001F, U+007F) get
    ``\\xNN``. Everything else, ``}`` and non-ASCII text included, stands as
    it is: inside a string literal it has no meaning to PromQL.

    Raises
    ------
    SpecError
        When ``value`` is not a string, or holds a lone surrogate (not
        encodable as UTF-8, so not a possible label value).

    Examples
    --------
    >>> print(quote('x"} or vector(1) or {a="'))
    "x\\"} or vector(1) or {a=\\""
    """
    if not isinstance(value, str):
        raise SpecError(f"a label value must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError(f"label value {value!r} is not valid UTF-8 text") from None
    body = _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m[0], f"\\x{ord(m[0]):02x}"), value)
    return f'"{body}"'


def _check_name(value: Any, what: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise SpecError(
            f"`{what}` must match {pattern.pattern!r} (Prometheus' naming rules), got {value!r}"
        )
    return value


def format_window(seconds: float) -> str:
    """A window as Iter8 wrote it: whole seconds, at least 1 s (``"120s"``).

    Iter8's controller passed ``str(int(seconds)) + "s"``; a window under 1 s
    (the first assessment, at the experiment's start) is clamped to ``1s``.

    Examples
    --------
    >>> format_window(0.2), format_window(90.9), format_window(3600)
    ('1s', '90s', '3600s')
    """
    s = float(seconds)
    if not math.isfinite(s) or s < 0:
        raise SpecError(f"`window` must be a finite number of seconds >= 0, got {seconds!r}")
    return f"{max(int(s), 1)}s"


def _format_offset(seconds: float) -> str:
    s = float(seconds)
    if not math.isfinite(s) or s < 0:
        raise SpecError(f"`offset` must be a finite number of seconds >= 0, got {seconds!r}")
    return f" offset {int(s)}s" if int(s) > 0 else ""


@attrs.frozen(kw_only=True)
class Matcher:
    """A label matcher ``name op "value"``; the value is escaped (:func:`quote`)."""

    name: str = attrs.field()
    value: str = attrs.field()
    op: str = attrs.field(default="=")

    @name.validator
    def _check_label(self, attribute: Any, value: Any) -> None:
        _check_name(value, "label name", LABEL_NAME_RE)

    @value.validator
    def _check_value(self, attribute: Any, value: Any) -> None:
        quote(value)

    @op.validator
    def _check_op(self, attribute: Any, value: Any) -> None:
        if value not in MATCH_OPS:
            raise SpecError(f"`op` must be one of {list(MATCH_OPS)}, got {value!r}")

    def promql(self) -> str:
        """The matcher as PromQL text."""
        return f"{self.name}{self.op}{quote(self.value)}"


def _to_matchers(value: Any) -> tuple[Matcher, ...]:
    if isinstance(value, Mapping):
        return tuple(Matcher(name=k, value=v) for k, v in value.items())
    return tuple(value)


@attrs.frozen(kw_only=True)
class CounterQuery:
    """The increase of a counter over a window, summed per version.

    Parameters
    ----------
    metric : str
        The counter's metric name, e.g. ``"istio_requests_total"``.
    matchers : tuple of Matcher, or dict of str to str
        Fixed label matchers (a dict means equality matchers).
    """

    metric: str = attrs.field()
    matchers: tuple[Matcher, ...] = attrs.field(default=(), converter=_to_matchers)

    @metric.validator
    def _check_metric(self, attribute: Any, value: Any) -> None:
        _check_name(value, "metric", METRIC_NAME_RE)

    def selector(self, extra: Sequence[Matcher] = ()) -> str:
        """The series selector, with ``extra`` matchers after the fixed ones."""
        inside = ",".join(m.promql() for m in (*self.matchers, *extra))
        return f"{self.metric}{{{inside}}}"

    def increase(
        self,
        window: float,
        *,
        by: Sequence[str],
        extra: Sequence[Matcher] = (),
        offset: float = 0.0,
    ) -> str:
        """``sum by (by) (increase(selector[window] offset)))`` as PromQL text."""
        labels = ", ".join(_check_name(b, "label name", LABEL_NAME_RE) for b in by)
        return (
            f"sum by ({labels}) (increase({self.selector(extra)}"
            f"[{format_window(window)}]{_format_offset(offset)}))"
        )


def version_selectors(
    versions: Mapping[str, Mapping[str, str]],
) -> tuple[list[str], list[list[Matcher]]]:
    """The group-by labels and each version's equality matchers.

    Every version must be identified by the same label names (Iter8 grouped
    by the keys of the versions' tags), with different values.
    """
    if not versions:
        raise SpecError("`versions` must name at least one version and its labels")
    keys: list[str] | None = None
    matchers: list[list[Matcher]] = []
    seen: dict[tuple[tuple[str, str], ...], str] = {}
    for name, labels in versions.items():
        if not labels:
            raise SpecError(f"version {name!r} has no labels to select its series by")
        these = sorted(labels)
        if keys is None:
            keys = these
        elif these != keys:
            raise SpecError(
                f"every version must be selected by the same labels: {keys} for the first, "
                f"{these} for {name!r}"
            )
        key = tuple(sorted(labels.items()))
        if key in seen:
            raise SpecError(f"versions {seen[key]!r} and {name!r} have the same labels {dict(key)}")
        seen[key] = name
        matchers.append([Matcher(name=k, value=labels[k]) for k in these])
    assert keys is not None
    return keys, matchers


def _per_version(
    counter: CounterQuery,
    window: float,
    versions: Mapping[str, Mapping[str, str]],
    offset: float,
    extra_by: Sequence[str] = (),
) -> str:
    keys, matchers = version_selectors(versions)
    parts = [
        counter.increase(window, by=[*keys, *extra_by], extra=m, offset=offset) for m in matchers
    ]
    return parts[0] if len(parts) == 1 else "\n or ".join(parts)


@attrs.frozen(kw_only=True)
class MetricDefinition:
    """A metric computed from counters: one counter's increase, or a ratio of two.

    Parameters
    ----------
    name : str
        The name criteria use (``Criterion.metric``).
    numerator : CounterQuery
        The metric's value is this counter's increase (``denominator`` None) ...
    denominator : CounterQuery, optional
        ... or ``numerator / denominator`` (NaN when the denominator is 0,
        as Prometheus' ``0/0``: missing, never a pass).
    sample_size : CounterQuery
        The sample size (``Observations.count``): by default Istio's requests.
    is_counter : bool, default False
        Whether the metric is a counter (Iter8: a counter over its threshold aborts).
    direction : {"lower", "higher"}, default "lower"
        Which values are better.
    absent_value : str, default "0.0"
        Iter8's substitute for a missing value (``"None"``: stays missing).
    """

    name: str = attrs.field()
    numerator: CounterQuery
    denominator: CounterQuery | None = None
    sample_size: CounterQuery = attrs.field(
        factory=lambda: CounterQuery(metric="istio_requests_total", matchers={"reporter": "source"})
    )
    is_counter: bool = False
    direction: str = attrs.field(default="lower")
    absent_value: str = "0.0"

    @name.validator
    def _check_nonempty(self, attribute: Any, value: Any) -> None:
        if not isinstance(value, str) or not value:
            raise SpecError(f"`name` must be a non-empty string, got {value!r}")

    @direction.validator
    def _check_direction(self, attribute: Any, value: Any) -> None:
        if value not in ("lower", "higher"):
            raise SpecError(f"`direction` must be one of ['lower', 'higher'], got {value!r}")

    def counters(self) -> tuple[CounterQuery, ...]:
        """The counters this metric needs: sample size, numerator, denominator."""
        found = [self.sample_size, self.numerator]
        if self.denominator is not None:
            found.append(self.denominator)
        return tuple(dict.fromkeys(found))

    def query(
        self, *, window: float, versions: Mapping[str, Mapping[str, str]], offset: float = 0.0
    ) -> str:
        """The metric's value as one PromQL query, in Iter8's form.

        ``versions`` maps each version's name to the labels that select it
        (e.g. ``{"reviews-v2": {"destination_workload": "reviews-v2"}}``);
        the result holds one series per version, labelled by those labels.
        """
        num = _per_version(self.numerator, window, versions, offset)
        if self.denominator is None:
            return num
        den = _per_version(self.denominator, window, versions, offset)
        return f"({num})\n/ ({den})"


@attrs.frozen(kw_only=True)
class QuantileDefinition:
    """A quantile of a classic histogram over the window (e.g. p95 latency).

    The value is computed from the increases of the ``<histogram>_bucket``
    counters with the interpolation of Prometheus' ``histogram_quantile``
    (:func:`canarystats.adapters.prometheus.bucket_quantile`); the
    observations also carry the per-bucket increases (``buckets``), for
    distribution-based methods.

    Parameters
    ----------
    name : str
    quantile : float
        In [0, 1].
    histogram : str
        The histogram's base name (``<histogram>_bucket`` holds the buckets).
    matchers : tuple of Matcher, or dict
        Fixed label matchers of the bucket series.
    sample_size : CounterQuery
        As for :class:`MetricDefinition`.
    direction : {"lower", "higher"}, default "lower"
    absent_value : str, default "None"
        A missing quantile stays missing under Iter8's policy.
    """

    name: str
    quantile: float = attrs.field(converter=float)
    histogram: str = attrs.field(default=TELEMETRY["v1"])
    matchers: tuple[Matcher, ...] = attrs.field(
        factory=lambda: (Matcher(name="reporter", value="source"),), converter=_to_matchers
    )
    sample_size: CounterQuery = attrs.field(
        factory=lambda: CounterQuery(metric="istio_requests_total", matchers={"reporter": "source"})
    )
    is_counter: bool = False
    direction: str = attrs.field(default="lower")
    absent_value: str = "None"

    @quantile.validator
    def _check_q(self, attribute: Any, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise SpecError(f"`quantile` must be in [0, 1], got {value!r}")

    @histogram.validator
    def _check_histogram(self, attribute: Any, value: Any) -> None:
        _check_name(value, "histogram", METRIC_NAME_RE)

    @property
    def buckets(self) -> CounterQuery:
        """The bucket counters (grouped by ``le`` as well when queried)."""
        return CounterQuery(metric=f"{self.histogram}_bucket", matchers=self.matchers)

    def counters(self) -> tuple[CounterQuery, ...]:
        """The plain counters this metric needs (the sample size)."""
        return (self.sample_size,)

    def query(
        self, *, window: float, versions: Mapping[str, Mapping[str, str]], offset: float = 0.0
    ) -> str:
        """The quantile as one PromQL query: ``histogram_quantile(q, sum by (..., le) (...))``."""
        inner = _per_version(self.buckets, window, versions, offset, extra_by=("le",))
        return f"histogram_quantile({self.quantile!r}, {inner})"


def istio_counters(telemetry: str = "v1") -> dict[str, CounterQuery]:
    """The Istio counters behind Iter8's metrics, keyed by the recorded-rollout columns.

    ``requests``, ``errors_5xx``, ``latency_sum``, ``latency_count``; request-level
    (``reporter="source"``). Telemetry ``"v1"`` has latencies in seconds,
    ``"v2"`` in milliseconds.
    """
    if telemetry not in TELEMETRY:
        raise SpecError(f"`telemetry` must be one of {list(TELEMETRY)}, got {telemetry!r}")
    source = {"reporter": "source"}
    base = TELEMETRY[telemetry]
    return {
        "requests": CounterQuery(metric="istio_requests_total", matchers=source),
        "errors_5xx": CounterQuery(
            metric="istio_requests_total",
            matchers=(
                Matcher(name="reporter", value="source"),
                Matcher(name="response_code", value="5..", op="=~"),
            ),
        ),
        "latency_sum": CounterQuery(metric=f"{base}_sum", matchers=source),
        "latency_count": CounterQuery(metric=f"{base}_count", matchers=source),
    }


def istio_metrics(telemetry: str = "v1") -> Mapping[str, MetricDefinition | QuantileDefinition]:
    """Iter8's standard metrics over Istio telemetry, and latency quantiles.

    ``iter8_sample_size`` (requests), ``iter8_latency`` (mean latency: duration
    sum / count; seconds with telemetry v1, milliseconds with v2; absent
    ``"None"``), ``iter8_error_count`` (5xx requests, a counter),
    ``iter8_error_rate`` (5xx / requests), and ``iter8_latency_p50``,
    ``_p95``, ``_p99`` (from the duration histogram's buckets).
    """
    c = istio_counters(telemetry)
    base = TELEMETRY[telemetry]
    metrics: dict[str, MetricDefinition | QuantileDefinition] = {
        "iter8_sample_size": MetricDefinition(
            name="iter8_sample_size", numerator=c["requests"], is_counter=False
        ),
        "iter8_latency": MetricDefinition(
            name="iter8_latency",
            numerator=c["latency_sum"],
            denominator=c["latency_count"],
            absent_value="None",
        ),
        "iter8_error_count": MetricDefinition(
            name="iter8_error_count", numerator=c["errors_5xx"], is_counter=True
        ),
        "iter8_error_rate": MetricDefinition(
            name="iter8_error_rate", numerator=c["errors_5xx"], denominator=c["requests"]
        ),
    }
    for q in (50, 95, 99):
        name = f"iter8_latency_p{q}"
        metrics[name] = QuantileDefinition(name=name, quantile=q / 100, histogram=base)
    return MappingProxyType(metrics)


#: Iter8's standard metrics over Istio telemetry v1 (seconds), and latency quantiles.
ISTIO_METRICS = istio_metrics("v1")
