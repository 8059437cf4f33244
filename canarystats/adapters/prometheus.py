"""Read canary metrics from Prometheus: parse, fetch, observe, replay.

A thin, strict adapter between Prometheus' HTTP API and canarystats'
observations (see ``docs/prometheus.md``):

- :func:`parse_response` turns a response body of ``/api/v1/query`` or
  ``/api/v1/query_range`` into a :class:`QueryResult` (every result type:
  ``vector``, ``matrix``, ``scalar``, ``string``; values given as strings,
  ``"NaN"``, ``"+Inf"``, ``"-Inf"`` and exponents included; native histograms).
  Error envelopes raise :class:`~canarystats.PrometheusError`; ``warnings``
  and ``infos`` are kept on the result and, by the client, emitted as
  :class:`~canarystats.PrometheusWarning`.
- :class:`PrometheusClient` fetches over HTTP (the ``prometheus`` extra:
  httpx, imported only when a client is made): instant and range queries,
  GET or POST for long queries, bounded retries with exponential backoff on
  connection errors, timeouts and 502/503/504, never on other statuses.
- :func:`observe` returns the observations one assessment needs;
  :func:`fetch_rollout` fetches a past rollout at every assessment time, and
  :func:`replay_prometheus` replays an experiment over it, as
  :func:`canarystats.replay` does over a file.
- :func:`bucket_quantile` computes quantiles from classic histogram buckets
  with the interpolation of Prometheus' ``histogram_quantile``.

Examples
--------
>>> body = b'''{"status": "success", "data": {"resultType": "vector", "result": [
...   {"metric": {"destination_workload": "reviews-v2"}, "value": [1591012800, "1.5e2"]},
...   {"metric": {"destination_workload": "reviews-v3"}, "value": [1591012800, "NaN"]}]}}'''
>>> result = parse_response(body)
>>> result.result_type, len(result.series)
('vector', 2)
>>> result.select({"destination_workload": "reviews-v2"}).samples
array([150.])
>>> result.value_of({"destination_workload": "reviews-v3"})
nan
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import operator
import os
import re
import time as _time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from canarystats.adapters.frames import (
    COUNTER_COLUMNS,
    KNOWN_METRICS,
    InputReport,
    RolloutSeries,
    iter8_observations,
)
from canarystats.adapters.promql import (
    CounterQuery,
    MetricDefinition,
    QuantileDefinition,
    istio_counters,
    istio_metrics,
    version_selectors,
)
from canarystats.errors import DataError, PrometheusError, PrometheusWarning, SpecError
from canarystats.observations import Observations
from canarystats.spec import ExperimentSpec

if TYPE_CHECKING:
    from canarystats.replay import ReplayResult

__all__ = [
    "RESULT_TYPES",
    "RETRY_STATUSES",
    "NativeHistogram",
    "PrometheusClient",
    "QueryResult",
    "Series",
    "bucket_quantile",
    "classic_buckets",
    "fetch_rollout",
    "observe",
    "parse_response",
    "replay_prometheus",
    "result_from_frame",
    "service_observer",
    "version_labels",
]

#: The ``resultType`` values of Prometheus' query API.
RESULT_TYPES: tuple[str, ...] = ("vector", "matrix", "scalar", "string")

#: HTTP statuses retried (with backoff): Prometheus' 503 (overloaded, or a
#: query timeout) and the gateway errors of a proxy in front of it.
RETRY_STATUSES: frozenset[int] = frozenset({502, 503, 504})

#: Native histogram bucket boundary rules: which bucket ends are inclusive.
BOUNDARY_RULES: Mapping[int, str] = {
    0: "open left (left exclusive, right inclusive)",
    1: "open right (left inclusive, right exclusive)",
    2: "open both",
    3: "closed both",
}

_log = logging.getLogger("canarystats.prometheus")

MetricDef = MetricDefinition | QuantileDefinition


# --------------------------------------------------------------------------- parsing


def _bad(message: str, query: str | None, status: int | None = None) -> PrometheusError:
    return PrometheusError("bad_response", message, status=status, query=query)


def _floats(values: Sequence[Any], what: str, query: str | None) -> NDArray[np.float64]:
    """Sample values (strings: ``"1.5"``, ``"NaN"``, ``"+Inf"``, ``"-2e-3"``) as floats."""
    if not values:
        return np.empty(0)
    try:
        if not all(map(_is_str, values)):
            raise TypeError("sample values must be JSON strings")
        # Python's float() parses Go's FormatFloat output ("NaN", "+Inf", "-Inf", "1e+06").
        out = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    except (TypeError, ValueError) as exc:
        bad = next((v for v in values if not _is_float_text(v)), values[0])
        raise _bad(f"{what}: sample value {bad!r} is not a number ({exc})", query) from None
    return out


def _is_float_text(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


@attrs.frozen(kw_only=True)
class NativeHistogram:
    """One native histogram sample.

    Attributes
    ----------
    count, sum : float
        The count and sum of observations.
    boundary_rule : ndarray of int8, shape (n_buckets,)
        Per bucket: 0 open left (left exclusive, right inclusive), 1 open
        right, 2 open both, 3 closed both (:data:`BOUNDARY_RULES`).
    lower, upper : ndarray of float, shape (n_buckets,)
        Bucket boundaries.
    counts : ndarray of float, shape (n_buckets,)
        Observations in each bucket (not cumulative).
    """

    count: float
    sum: float
    boundary_rule: NDArray[np.int8] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    lower: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    upper: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    counts: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))

    @classmethod
    def from_json(cls, obj: Any, query: str | None = None) -> NativeHistogram:
        """Parse ``{"count": "..", "sum": "..", "buckets": [[rule, "l", "r", "n"], ...]}``."""
        if not isinstance(obj, Mapping) or "count" not in obj or "sum" not in obj:
            raise _bad(f"a native histogram must hold `count` and `sum`, got {obj!r}", query)
        buckets = obj.get("buckets") or []
        if not isinstance(buckets, list) or not all(
            isinstance(b, list) and len(b) == 4 for b in buckets
        ):
            raise _bad(
                f"native histogram buckets must be [rule, left, right, count], got {buckets!r}",
                query,
            )
        rules = np.array([b[0] for b in buckets], dtype=np.int64)
        if len(rules) and (
            not all(type(b[0]) is int for b in buckets) or rules.min() < 0 or rules.max() > 3
        ):
            raise _bad(
                f"a native histogram bucket's boundary rule must be 0..3, got "
                f"{[b[0] for b in buckets]}",
                query,
            )
        count, total = _floats([obj["count"], obj["sum"]], "native histogram", query)
        lower = _floats([b[1] for b in buckets], "native histogram bucket", query)
        upper = _floats([b[2] for b in buckets], "native histogram bucket", query)
        counts = _floats([b[3] for b in buckets], "native histogram bucket", query)
        if np.any(lower > upper):
            raise _bad("a native histogram bucket has left boundary > right boundary", query)
        return cls(
            count=float(count),
            sum=float(total),
            boundary_rule=rules.astype(np.int8),
            lower=lower,
            upper=upper,
            counts=counts,
        )


@attrs.frozen(kw_only=True)
class Series:
    """One series of a result: its labels and its samples.

    Attributes
    ----------
    labels : dict of str to str
        The series' labels (``__name__`` included when Prometheus returns it).
    timestamps, samples : ndarray of float, shape (n,)
        Float samples: their Unix seconds and values (one for a vector).
    histogram_timestamps : ndarray of float, shape (m,)
        Times of the native histogram samples.
    histograms : tuple of NativeHistogram
        Native histogram samples (``histogram`` / ``histograms`` fields).
    """

    labels: Mapping[str, str]
    timestamps: NDArray[np.float64] = attrs.field(eq=attrs.cmp_using(eq=np.array_equal))
    samples: NDArray[np.float64] = attrs.field(
        eq=attrs.cmp_using(eq=lambda a, b: np.array_equal(a, b, equal_nan=True))
    )
    histogram_timestamps: NDArray[np.float64] = attrs.field(
        factory=lambda: np.empty(0), eq=attrs.cmp_using(eq=np.array_equal)
    )
    histograms: tuple[NativeHistogram, ...] = ()


@attrs.frozen(kw_only=True)
class QueryResult:
    """A parsed query response.

    Attributes
    ----------
    result_type : {"vector", "matrix", "scalar", "string"}
    series : tuple of Series
        The series of a vector or matrix (empty for scalar and string).
    scalar : float or None
        The value of a ``scalar`` result.
    string : str or None
        The value of a ``string`` result.
    time : float or None
        The evaluation time of a scalar or string result.
    warnings, infos : tuple of str
        What Prometheus returned beside the result.
    query : str or None
        The query, when known.
    """

    result_type: str
    series: tuple[Series, ...] = ()
    scalar: float | None = None
    string: str | None = None
    time: float | None = None
    warnings: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()
    query: str | None = None

    def select(self, labels: Mapping[str, str]) -> Series | None:
        """The one series whose labels include every ``labels`` pair exactly.

        Returns None when no series matches.

        Raises
        ------
        DataError
            When two series match: which one is meant cannot be told, and
            none is silently picked.
        """
        found = [s for s in self.series if all(s.labels.get(k) == v for k, v in labels.items())]
        if len(found) > 1:
            raise DataError(
                f"{len(found)} series match the labels {dict(labels)} (e.g. "
                f"{dict(found[0].labels)} and {dict(found[1].labels)}); select a version by "
                f"labels that identify one series (query: {self.query!r})"
            )
        return found[0] if found else None

    def value_of(self, labels: Mapping[str, str]) -> float:
        """The last float sample of :meth:`select`'s series; NaN when there is none."""
        s = self.select(labels)
        if s is None or not len(s.samples):
            return math.nan
        return float(s.samples[-1])

    def to_frame(self) -> pd.DataFrame:
        """A long DataFrame: one row per float sample.

        Columns: one per label name (categorical; missing labels are NaN),
        ``timestamp`` (UTC datetimes, millisecond precision) and ``value``.
        A scalar result gives one row with ``timestamp`` and ``value``.
        """
        if self.result_type == "scalar":
            ts = np.array([self.time if self.time is not None else math.nan])
            return _long_frame([], [], ts, np.array([self.scalar], dtype=np.float64), [1])
        if self.result_type == "string":
            raise DataError("a `string` result has no samples to put into a frame")
        lengths = [len(s.samples) for s in self.series]
        ts = np.concatenate([s.timestamps for s in self.series]) if self.series else np.empty(0)
        vs = np.concatenate([s.samples for s in self.series]) if self.series else np.empty(0)
        return _long_frame([s.labels for s in self.series], [], ts, vs, lengths)


def _long_frame(
    labels: Sequence[Mapping[str, str]],
    _unused: Sequence[str],
    timestamps: NDArray[np.float64],
    values: NDArray[np.float64],
    lengths: Sequence[int],
) -> pd.DataFrame:
    names: dict[str, None] = {}
    for lab in labels:
        names.update(dict.fromkeys(lab))
    columns: dict[str, Any] = {}
    reps = np.asarray(lengths, dtype=np.int64)
    for name in names:
        codes, cats = pd.factorize(pd.Series([lab.get(name) for lab in labels], dtype=object))
        columns[name] = pd.Categorical.from_codes(np.repeat(codes, reps), categories=cats)
    ms = np.round(timestamps * 1e3)
    try:
        stamps = pd.to_datetime(ms, unit="ms", utc=True)
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        bad = timestamps[~((ms >= -9.2e15) & (ms <= 9.2e15))][:1].tolist()
        raise DataError(
            f"a timestamp is outside the datetimes a DataFrame can hold (e.g. {bad} s)"
        ) from None
    columns["timestamp"] = stamps
    columns["value"] = values
    return pd.DataFrame(columns)


def _strings(obj: Any, key: str, query: str | None) -> tuple[str, ...]:
    items = obj.get(key) or []
    if not isinstance(items, list):
        raise _bad(f"`{key}` must be a list of strings, got {items!r}", query)
    return tuple(str(w) for w in items)


def _point(sample: Any, what: str, query: str | None) -> tuple[float, Any]:
    if not isinstance(sample, list) or len(sample) != 2:
        raise _bad(f"{what} must be [time, value], got {sample!r}", query)
    t = sample[0]
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise _bad(f"{what}: the time must be a number, got {t!r}", query)
    try:
        return float(t), sample[1]
    except OverflowError:
        raise _bad(f"{what}: the time {t} is out of range", query) from None


def _labels(item: Any, query: str | None) -> dict[str, str]:
    metric = item.get("metric", {}) if isinstance(item, Mapping) else None
    if not isinstance(metric, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
    ):
        raise _bad(f"a series' `metric` must map label names to strings, got {item!r}", query)
    return dict(metric)


def _histograms(
    pairs: Sequence[Any], query: str | None
) -> tuple[NDArray[np.float64], tuple[NativeHistogram, ...]]:
    times, hists = [], []
    for pair in pairs:
        t, h = _point(pair, "a native histogram sample", query)
        times.append(t)
        hists.append(NativeHistogram.from_json(h, query))
    return np.array(times, dtype=np.float64), tuple(hists)


def _parse_vector(result: list[Any], query: str | None) -> tuple[Series, ...]:
    out = []
    for item in result:
        labels = _labels(item, query)
        if "value" in item:
            t, v = _point(item["value"], "a vector sample", query)
            ts, vs = np.array([t]), _floats([v], "a vector sample", query)
        else:
            ts, vs = np.empty(0), np.empty(0)
        hts, hists = (
            _histograms([item["histogram"]], query) if "histogram" in item else (np.empty(0), ())
        )
        if not len(ts) and not hists:
            raise _bad(f"a vector sample needs `value` or `histogram`, got {item!r}", query)
        out.append(
            Series(
                labels=labels, timestamps=ts, samples=vs, histogram_timestamps=hts, histograms=hists
            )
        )
    return tuple(out)


def _parse_matrix(
    result: list[Any], query: str | None, decoded: _Decoded | None = None
) -> tuple[Series, ...]:
    labels = [_labels(item, query) for item in result]
    if decoded is not None:
        ts, vs, lengths = decoded
    else:
        ts, vs, lengths = _matrix_points(result, query)
    bounds = np.cumsum([0, *lengths])
    out = []
    for i, item in enumerate(result):
        lo, hi = bounds[i], bounds[i + 1]
        hts, hists = _histograms(item.get("histograms") or [], query)
        out.append(
            Series(
                labels=labels[i],
                timestamps=ts[lo:hi],
                samples=vs[lo:hi],
                histogram_timestamps=hts,
                histograms=hists,
            )
        )
    return tuple(out)


#: Timestamps, values (all series concatenated) and the number of samples per series.
_Decoded = tuple[NDArray[np.float64], NDArray[np.float64], list[int]]


def _matrix_points(result: list[Any], query: str | None) -> _Decoded:
    """The float samples of decoded matrix series (the reference path of :func:`_fast_matrix`)."""
    point_lists = [item.get("values") or [] for item in result]
    lengths = [len(p) for p in point_lists]
    points = list(itertools.chain.from_iterable(point_lists))
    n = len(points)
    try:
        ts = np.fromiter(map(_first, points), dtype=np.float64, count=n)
        raw = list(map(_second, points))
        if not all(map(_is_pair, points)):
            raise ValueError("a sample is not a [time, value] pair")
    except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
        bad = next((p for p in points if not _good_point(p)), None)
        raise _bad(f"a matrix sample must be [time, value], got {bad!r} ({exc})", query) from None
    return ts, _floats(raw, "a matrix sample", query), lengths


_first, _second = operator.itemgetter(0), operator.itemgetter(1)


def _is_str(v: Any) -> bool:
    return type(v) is str


def _is_pair(p: Any) -> bool:
    return type(p) is list and len(p) == 2


def _good_point(p: Any) -> bool:
    return (
        isinstance(p, list)
        and len(p) == 2
        and isinstance(p[0], int | float)
        and not isinstance(p[0], bool)
    )


# ---------------------------------------------------------------- matrix bodies in bulk
#
# A range query's body is almost all samples: `"values":[[1591012800,"1.5"],...]` per series.
# Decoding it with json.loads builds three Python objects per sample, which dominates the
# parse. The fast path below finds each series' `"values"` array in the raw bytes, replaces
# it by the series' index, decodes the small remaining skeleton (envelope, labels, native
# histograms) with json.loads, and converts the samples of all series at once with numpy,
# after checking their layout byte by byte. It accepts only what it can check exactly --
# Prometheus' compact layout `[T,"V"]`, T a JSON number starting with a digit, V a
# non-empty string of `0-9 . + - e E N a I n f` -- and on anything else (whitespace,
# escapes, other keys, malformed or unusual bodies) gives up and leaves the body to
# json.loads and the per-sample checks, which raise the precise error. Both paths give the
# same arrays: numpy reads these tokens as Python's float() does (the tests compare them).

_VALUES_KEY = re.compile(rb'"values":\[')
_OPEN, _CLOSE, _QUOTE, _COMMA, _DOT, _ZERO = (ord(c) for c in '[]",.0')
_SAMPLE_BYTES = b'0123456789.+-eENaInf[]",'
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True


def _fast_matrix(body: bytes) -> tuple[Any, _Decoded] | None:
    """The decoded skeleton of a matrix body and its float samples; None to use json.loads."""
    starts = [m.end() for m in _VALUES_KEY.finditer(body)]
    if not starts:
        return None
    pieces: list[bytes] = []
    spans: list[bytes] = []
    pos = 0
    for i, start in enumerate(starts):
        if start < pos:
            return None
        if body[start : start + 1] == b"]":
            end, span = start, b""
        else:
            end = body.find(b"]]", start) + 1
            if end <= 0:
                return None
            span = body[start:end]
        pieces += [body[pos : start - 1], b"%d" % i]
        spans.append(span)
        pos = end + 1
    pieces.append(body[pos:])
    try:
        obj = json.loads(b"".join(pieces))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, dict):
        return None
    result = data.get("result")
    if (
        not isinstance(result, list)
        or obj.get("status") != "success"
        or data.get("resultType") != "matrix"
        or not all(isinstance(item, dict) for item in result)
    ):
        return None
    found = [item["values"] for item in result if "values" in item]
    if found != list(range(len(starts))) or not all(type(i) is int for i in found):
        return None
    decoded = _bulk_samples([s for s in spans if s])
    if decoded is None:
        return None
    ts, vs, per_span = decoded
    nonempty = iter(per_span)
    by_span = [next(nonempty) if s else 0 for s in spans]
    lengths = [by_span[item["values"]] if "values" in item else 0 for item in result]
    return obj, (ts, vs, lengths)


def _bulk_samples(spans: list[bytes]) -> _Decoded | None:
    """Samples of the `[T,"V"],...` spans (one per series), or None where unsure."""
    if not spans:
        return np.empty(0), np.empty(0), []
    blob = b",".join(spans)
    if blob.translate(None, _SAMPLE_BYTES):  # a byte no sample of the fast layout holds
        return None
    a = np.frombuffer(blob, dtype=np.uint8)
    opens = np.flatnonzero(a == _OPEN)
    closes = np.flatnonzero(a == _CLOSE)
    quotes = np.flatnonzero(a == _QUOTE)
    n = opens.size
    if n == 0 or closes.size != n or quotes.size != 2 * n or blob.count(b",") != 2 * n - 1:
        return None
    q1, q2 = quotes[0::2], quotes[1::2]
    # Layout: `[` T `,"` V `"]`, pairs separated by `,`; T and V not empty. With the counts
    # above, this places every bracket, quote and comma: none is inside a T or a V.
    if not (
        opens[0] == 0
        and closes[-1] == len(a) - 1
        and np.array_equal(closes, q2 + 1)
        and np.array_equal(opens[1:], closes[:-1] + 2)
        and (a[closes[:-1] + 1] == _COMMA).all()
        and (a[q1 - 1] == _COMMA).all()
        and (q1 - opens >= 3).all()
        and (q2 - q1 >= 2).all()
    ):
        return None
    # T is a JSON number: a digit first, no leading zero; a `.` between two digits (Go never
    # writes "1." or ".5"; such values, valid for float(), are left to the slow path).
    first = a[opens + 1]
    dots = np.flatnonzero(a == _DOT)
    if not (
        _DIGIT[first].all()
        and not ((first == _ZERO) & _DIGIT[a[opens + 2]]).any()
        and _DIGIT[a[dots - 1]].all()
        and _DIGIT[a[dots + 1]].all()
    ):
        return None
    try:
        flat = np.fromstring(blob.translate(None, b'[]"'), sep=",")
    except ValueError:  # a token numpy cannot read to its end, e.g. "1e" or "Infn"
        return None
    if flat.size != 2 * n:
        return None
    # Samples per span: the pairs between the spans' starts in the joined blob.
    offsets = np.cumsum([0, *(len(s) + 1 for s in spans)])[:-1]
    first_pair = np.searchsorted(opens, offsets)
    per_span = np.diff(np.append(first_pair, n)).tolist()
    return flat[0::2].copy(), flat[1::2].copy(), per_span


def parse_response(
    body: bytes | str | Mapping[str, Any],
    *,
    status: int | None = None,
    query: str | None = None,
) -> QueryResult:
    """Parse a Prometheus query API response body.

    Parameters
    ----------
    body : bytes, str or dict
        The raw body (JSON) or its decoded form.
    status : int, optional
        The HTTP status the body came with.
    query : str, optional
        The query, for error messages.

    Returns
    -------
    QueryResult

    Raises
    ------
    PrometheusError
        For an error envelope (``status: "error"``: its ``errorType`` and
        ``error``), an HTTP error status without an envelope (``"http"``), or
        a body that is not a well-formed envelope (``"bad_response"``).

    Examples
    --------
    >>> scalar = '{"status":"success","data":{"resultType":"scalar","result":[1.5,"+Inf"]}}'
    >>> parse_response(scalar).scalar
    inf
    >>> parse_response('{"status":"error","errorType":"bad_data","error":"parse error"}',
    ...                status=400, query="sum(")
    Traceback (most recent call last):
    ...
    canarystats.errors.PrometheusError: Prometheus bad_data (HTTP 400): parse error; query: 'sum('
    """
    failed = status is not None and status >= 400
    fast = None
    if isinstance(body, bytes | bytearray) and not failed:
        fast = _fast_matrix(bytes(body))
    decoded: _Decoded | None = None
    if fast is not None:
        obj, decoded = fast
    elif isinstance(body, Mapping):
        obj = body
    else:
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            snippet = text[:200].strip()
            if failed:
                raise PrometheusError(
                    "http",
                    f"HTTP error without Prometheus' JSON envelope: {snippet!r}",
                    status=status,
                    query=query,
                ) from None
            raise _bad(f"the body is not JSON ({exc}): {snippet!r}", query, status) from None
    if not isinstance(obj, Mapping) or obj.get("status") not in ("success", "error"):
        if failed:
            raise PrometheusError(
                "http", "HTTP error without Prometheus' JSON envelope", status=status, query=query
            )
        raise _bad("the body is not Prometheus' envelope (no `status`)", query, status)
    if obj["status"] == "error":
        raise PrometheusError(
            str(obj.get("errorType") or "unknown"),
            str(obj.get("error") or "(no message)"),
            status=status,
            query=query,
        )
    warns, infos = _strings(obj, "warnings", query), _strings(obj, "infos", query)
    data = obj.get("data")
    if not isinstance(data, Mapping) or data.get("resultType") not in RESULT_TYPES:
        raise _bad(
            f"`data.resultType` must be one of {list(RESULT_TYPES)}, got {data!r}"[:300],
            query,
            status,
        )
    try:
        return _parse_data(data, warns, infos, query, decoded)
    except PrometheusError as exc:
        exc.status = status
        raise


def _parse_data(
    data: Mapping[str, Any],
    warns: tuple[str, ...],
    infos: tuple[str, ...],
    query: str | None,
    decoded: _Decoded | None = None,
) -> QueryResult:
    status = None
    rtype, result = data["resultType"], data.get("result")
    common: dict[str, Any] = {
        "result_type": rtype,
        "warnings": warns,
        "infos": infos,
        "query": query,
    }
    if rtype in ("scalar", "string"):
        t, v = _point(result, f"a {rtype} result", query)
        if rtype == "string":
            if not isinstance(v, str):
                raise _bad(f"a string result's value must be a string, got {v!r}", query)
            return QueryResult(string=v, time=t, **common)
        return QueryResult(
            scalar=float(_floats([v], "a scalar result", query)[0]), time=t, **common
        )
    if not isinstance(result, list) or not all(isinstance(r, Mapping) for r in result):
        raise _bad(f"a {rtype} result must be a list of series", query, status)
    if rtype == "vector":
        return QueryResult(series=_parse_vector(result, query), **common)
    return QueryResult(series=_parse_matrix(result, query, decoded), **common)


def result_from_frame(frame: pd.DataFrame, *, query: str | None = None) -> QueryResult:
    """A ``matrix`` result from a long DataFrame (``prometheus-api-client``'s
    ``MetricRangeDataFrame``, or :meth:`QueryResult.to_frame`'s output).

    The frame has a ``timestamp`` (column or index: datetimes, taken as UTC
    when naive as ``MetricRangeDataFrame`` makes them, or Unix seconds), a
    ``value`` column, and one column per label; each distinct combination of
    labels is one series.
    """
    df = frame.reset_index() if "timestamp" not in frame.columns else frame
    missing = [c for c in ("timestamp", "value") if c not in df.columns]
    if missing:
        raise DataError(f"the frame needs columns (or index) {missing}; got {list(df.columns)}")
    stamps = df["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(stamps):
        s = pd.to_datetime(stamps)
        if s.dt.tz is None:
            s = s.dt.tz_localize("UTC")
        seconds = (s.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        ts: NDArray[np.float64] = np.asarray(seconds, dtype=np.float64)
    else:
        ts = np.asarray(pd.to_numeric(stamps), dtype=np.float64)
    vs = pd.to_numeric(df["value"]).to_numpy(dtype=np.float64)
    label_cols = [c for c in df.columns if c not in ("timestamp", "value", "index")]
    if label_cols:
        keys = df[label_cols].astype(object).where(df[label_cols].notna(), None)
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    else:
        codes, uniques = np.zeros(len(df), dtype=np.int64), pd.Index([()], tupleize_cols=False)
    series = []
    for i, key in enumerate(uniques):
        rows = np.flatnonzero(codes == i)
        order = rows[np.argsort(ts[rows], kind="stable")]
        values = key if isinstance(key, tuple) else (key,)
        labels = {c: str(v) for c, v in zip(label_cols, values, strict=True) if v is not None}
        series.append(Series(labels=labels, timestamps=ts[order], samples=vs[order]))
    return QueryResult(result_type="matrix", series=tuple(series), query=query)


def classic_buckets(
    result: QueryResult, labels: Mapping[str, str]
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """The classic histogram buckets of one version in a vector result grouped by ``le``.

    Returns ``(bounds, cumulative)``: upper bounds sorted increasing (ending in
    ``+inf`` when the ``+Inf`` bucket is there) and the cumulative counts;
    None when the version has no bucket series.

    Raises
    ------
    DataError
        For an ``le`` that is not a number, or two series with the same ``le``.
    """
    found: dict[float, float] = {}
    for s in result.series:
        if not all(s.labels.get(k) == v for k, v in labels.items()):
            continue
        le = s.labels.get("le")
        try:
            bound = float(le) if le is not None else math.nan
        except ValueError:
            bound = math.nan
        if math.isnan(bound):
            raise DataError(f"a bucket series has no numeric `le` label: {dict(s.labels)}")
        if bound in found:
            raise DataError(f"two bucket series with le={le!r} match {dict(labels)}")
        found[bound] = float(s.samples[-1]) if len(s.samples) else math.nan
    if not found:
        return None
    bounds = np.array(sorted(found))
    return bounds, np.array([found[b] for b in bounds])


def bucket_quantile(
    q: float, bounds: ArrayLike, cumulative: ArrayLike
) -> NDArray[np.float64] | np.float64:
    """The ``q`` quantile from classic histogram buckets, as ``histogram_quantile`` computes it.

    Prometheus' rules (``promql/quantile.go``, ``bucketQuantile``, in 2.42):
    NaN for a NaN ``q``, ``-inf`` for ``q < 0``, ``+inf`` for ``q > 1``; NaN
    without a ``+Inf`` bucket, with fewer than two buckets, or with no
    observations; bucket counts are made monotone (each at least the one
    before); the quantile's rank ``q * total`` falls in the first bucket whose
    cumulative count reaches it, and is interpolated linearly inside it
    (from 0 for the first bucket, unless its upper bound is <= 0: then that
    bound); in the ``+Inf`` bucket the answer is the largest finite bound.

    Parameters
    ----------
    q : float
    bounds : array_like of float, shape (n_buckets,)
        Upper bounds, increasing.
    cumulative : array_like of float, shape (..., n_buckets)
        Cumulative counts (e.g. increases of the ``_bucket`` counters).

    Returns
    -------
    ndarray of float, shape (...)

    Examples
    --------
    >>> float(bucket_quantile(0.5, [0.1, 0.25, float("inf")], [10.0, 30.0, 40.0]))
    0.175
    >>> float(bucket_quantile(0.99, [0.1, 0.25, float("inf")], [10.0, 30.0, 40.0]))
    0.25
    """
    b = np.asarray(bounds, dtype=np.float64)
    c = np.asarray(cumulative, dtype=np.float64)
    batch = c.shape[:-1]
    if math.isnan(q):
        return _scalar_or(np.full(batch, np.nan))
    if q < 0:
        return _scalar_or(np.full(batch, -np.inf))
    if q > 1:
        return _scalar_or(np.full(batch, np.inf))
    n = b.shape[0]
    if c.shape[-1] != n:
        raise DataError(f"`cumulative` has {c.shape[-1]} buckets, `bounds` {n}")
    if n < 2 or not np.isposinf(b[-1]):
        return _scalar_or(np.full(batch, np.nan))
    c = np.fmax.accumulate(c, axis=-1)  # ensureMonotonic (NaN counts skipped)
    total = c[..., -1]
    rank = q * total
    # sort.Search over the first n-1 buckets: the first whose count reaches the rank.
    reach = c[..., : n - 1] >= rank[..., None]
    idx = np.where(reach.any(axis=-1), reach.argmax(axis=-1), n - 1)
    end = b[np.minimum(idx, n - 1)]
    start = np.where(idx > 0, b[np.maximum(idx - 1, 0)], 0.0)
    below = np.where(
        idx > 0, np.take_along_axis(c, np.maximum(idx - 1, 0)[..., None], -1)[..., 0], 0.0
    )
    count = np.take_along_axis(c, idx[..., None], -1)[..., 0] - below
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = start + (end - start) * ((rank - below) / count)
    out = np.where(idx == n - 1, b[n - 2], inside)
    out = np.where((idx == 0) & (b[0] <= 0), b[0], out)
    out = np.where((total == 0) | np.isnan(total), np.nan, out)
    return _scalar_or(out)


def _scalar_or(a: NDArray[np.float64]) -> NDArray[np.float64] | np.float64:
    return a[()] if a.ndim == 0 else a


# --------------------------------------------------------------------------- the client


def _epoch(value: Any, name: str) -> float:
    """Unix seconds from a number, a tz-aware datetime or an ISO 8601 string with offset."""
    if isinstance(value, bool):
        raise SpecError(f"`{name}` must be a time, got {value!r}")
    if isinstance(value, int | float | np.integer | np.floating):
        out = float(value)
    else:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise SpecError(
                f"`{name}` must be Unix seconds, a tz-aware datetime or an ISO 8601 time with "
                f"an offset (e.g. 2020-06-01T12:00:00Z), got {value!r}"
            ) from None
        if stamp.tzinfo is None:
            raise SpecError(
                f"`{name}` {value!r} has no UTC offset: add one such as +02:00, or Z for UTC"
            )
        out = stamp.timestamp()
    if not math.isfinite(out):
        raise SpecError(f"`{name}` must be finite, got {value!r}")
    return out


def _redact_url(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(
            f"`url` must be an http(s) URL such as http://127.0.0.1:9090, got a "
            f"{parts.scheme or 'scheme-less'} URL"
        )
    userinfo = None
    if parts.username is not None or parts.password is not None:
        userinfo = (parts.username or "", parts.password or "")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), userinfo


class PrometheusClient:
    """A client of Prometheus' HTTP query API.

    Parameters
    ----------
    url : str
        The server's base URL, e.g. ``"http://127.0.0.1:9090"`` (user
        information in it, ``https://user:pass@host``, is used as basic auth
        and removed from everything shown).
    timeout : float, default 10
        Seconds allowed for each attempt (connect, write, read). It is also
        passed to Prometheus as the query's ``timeout``.
    headers : dict, optional
        Extra headers (e.g. ``{"X-Scope-OrgID": "team"}``). Their values are
        treated as secrets: never shown.
    auth : (str, str), optional
        Basic auth user and password.
    bearer_token : str, optional
        Sent as ``Authorization: Bearer <token>``.
    verify : bool or str, default True
        TLS certificate verification: on unless turned off (False), or a path
        to a CA bundle.
    retries : int, default 2
        Retries after the first attempt on connection errors, timeouts and
        HTTP 502/503/504 (never on other statuses, e.g. 4xx).
    backoff : float, default 0.5
        Seconds before the first retry; doubled each time, at most 8 s.
    max_get_length : int, default 2000
        Queries whose encoded parameters are longer are POSTed (form-encoded).
    transport : httpx.BaseTransport, optional
        For tests (``httpx.MockTransport``).

    Notes
    -----
    httpx is imported when a client is made (the ``prometheus`` extra), so
    ``import canarystats`` does not need it.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        bearer_token: str | None = None,
        verify: bool | str = True,
        retries: int = 2,
        backoff: float = 0.5,
        max_get_length: int = 2000,
        transport: Any = None,
    ) -> None:
        try:
            import httpx
        except ModuleNotFoundError:  # pragma: no cover - depends on the environment
            raise ModuleNotFoundError(
                "PrometheusClient needs httpx: pip install 'canarystats[prometheus]'"
            ) from None
        if not (isinstance(timeout, int | float) and timeout > 0 and math.isfinite(timeout)):
            raise SpecError(f"`timeout` must be a positive number of seconds, got {timeout!r}")
        if not (isinstance(retries, int) and 0 <= retries <= 10):
            raise SpecError(f"`retries` must be an integer in [0, 10], got {retries!r}")
        if not (isinstance(backoff, int | float) and backoff >= 0):
            raise SpecError(f"`backoff` must be a number of seconds >= 0, got {backoff!r}")
        self.url, userinfo = _redact_url(url)
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.verify = verify
        self.max_get_length = int(max_get_length)
        if auth is not None and bearer_token is not None:
            raise SpecError("give `auth` or `bearer_token`, not both")
        if auth is None and bearer_token is None:
            auth = userinfo
        send = {str(k): str(v) for k, v in (headers or {}).items()}
        if bearer_token is not None:
            send["Authorization"] = f"Bearer {bearer_token}"
        self._secrets = tuple(
            s for s in (*send.values(), *(auth or ()), bearer_token or "") if len(s) >= 3
        )
        self._has_credentials = bool(send) or auth is not None
        self._httpx = httpx
        self._client = httpx.Client(
            base_url=self.url,
            headers=send,
            auth=httpx.BasicAuth(*auth) if auth is not None else None,
            verify=verify,
            timeout=httpx.Timeout(self.timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        creds = ", credentials=<hidden>" if self._has_credentials else ""
        return (
            f"PrometheusClient({self.url!r}, timeout={self.timeout!r}, retries={self.retries!r}, "
            f"verify={self.verify!r}{creds})"
        )

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<hidden>")
        return text

    def _request(self, path: str, params: dict[str, str], query: str) -> QueryResult:
        httpx = self._httpx
        attempts = self.retries + 1
        use_post = len(urlencode(params)) > self.max_get_length
        failure: tuple[str, str, int | None] = ("connection", "", None)
        status: int | None
        for attempt in range(attempts):
            if attempt:
                _time.sleep(min(self.backoff * 2 ** (attempt - 1), 8.0))
            try:
                if use_post:
                    response = self._client.post(path, data=params)
                else:
                    response = self._client.get(path, params=params)
            except httpx.TimeoutException as exc:
                failure = (
                    "timeout",
                    f"no answer within {self.timeout:g} s ({type(exc).__name__})",
                    None,
                )
            except httpx.TransportError as exc:
                failure = ("connection", f"{type(exc).__name__}: {self._scrub(str(exc))}", None)
            else:
                status = response.status_code
                if status in RETRY_STATUSES and attempt < attempts - 1:
                    failure = ("http", f"HTTP {status}", status)
                    _log.info("Prometheus answered %d to %r; retrying", status, query)
                    continue
                try:
                    return parse_response(response.content, status=status, query=query)
                except PrometheusError as exc:
                    if status in RETRY_STATUSES and attempts > 1:
                        exc.message += f" (after {attempts} attempts to {self.url})"
                    raise
            _log.info(
                "Prometheus request failed (%s); attempt %d of %d",
                failure[0],
                attempt + 1,
                attempts,
            )
        kind, message, status = failure
        raise PrometheusError(
            kind,
            f"{message} (after {attempts} attempt{'s' if attempts > 1 else ''} to {self.url})",
            status=status,
            query=query,
        )

    def _emit(self, result: QueryResult) -> QueryResult:
        for text in result.warnings:
            warnings.warn(
                f"Prometheus warning: {text} (query: {result.query!r})",
                PrometheusWarning,
                stacklevel=3,
            )
        for text in result.infos:
            warnings.warn(
                f"Prometheus info: {text} (query: {result.query!r})",
                PrometheusWarning,
                stacklevel=3,
            )
        return result

    def query(self, query: str, *, time: Any = None) -> QueryResult:
        """Evaluate an instant query (``/api/v1/query``) at ``time`` (default: the server's now).

        Raises
        ------
        PrometheusError
            When Prometheus rejects the query, errs, times out or cannot be reached.

        Warns
        -----
        PrometheusWarning
            For each of the response's ``warnings`` and ``infos``.
        """
        params = {"query": query, "timeout": f"{self.timeout:g}"}
        if time is not None:
            params["time"] = f"{_epoch(time, 'time'):.3f}"
        return self._emit(self._request("/api/v1/query", params, query))

    def query_range(self, query: str, *, start: Any, end: Any, step: float) -> QueryResult:
        """Evaluate a range query (``/api/v1/query_range``), every ``step`` seconds."""
        if not (isinstance(step, int | float) and step > 0):
            raise SpecError(f"`step` must be a positive number of seconds, got {step!r}")
        params = {
            "query": query,
            "start": f"{_epoch(start, 'start'):.3f}",
            "end": f"{_epoch(end, 'end'):.3f}",
            "step": f"{float(step):g}",
            "timeout": f"{self.timeout:g}",
        }
        return self._emit(self._request("/api/v1/query_range", params, query))


# --------------------------------------------------------------------------- into the library


def version_labels(
    spec: ExperimentSpec, *, namespace: str | None = None
) -> dict[str, dict[str, str]]:
    """The labels that select each version's series: Istio's workload labels.

    ``{"destination_workload": name}`` (and ``destination_workload_namespace``
    when ``namespace`` is given), for the baseline and the candidate.
    """
    out = {}
    for name in (spec.baseline, spec.candidate):
        labels = {"destination_workload": name}
        if namespace is not None:
            labels["destination_workload_namespace"] = namespace
        out[name] = labels
    return out


def _as_spec(experiment: ExperimentSpec | str | os.PathLike[str]) -> ExperimentSpec:
    if isinstance(experiment, ExperimentSpec):
        return experiment
    from canarystats.adapters.iter8 import load_experiment

    return load_experiment(experiment)


class _Fetcher:
    """Runs the per-counter queries of one assessment time and caches them."""

    def __init__(
        self,
        client: PrometheusClient,
        versions: Mapping[str, Mapping[str, str]],
        at: float,
        window: float,
    ) -> None:
        self.client, self.versions, self.at, self.window = client, versions, at, window
        self.keys, _ = version_selectors(versions)
        self._cache: dict[str, Any] = {}

    def counter(self, cq: CounterQuery) -> NDArray[np.float64]:
        """The counter's increase per version, shape (n_versions,); NaN where absent."""
        text = _version_query(cq, self.window, self.versions, self.keys, ())
        if text not in self._cache:
            result = self.client.query(text, time=self.at)
            if result.result_type != "vector":
                raise _bad(f"expected a vector, got a {result.result_type}", text)
            self._cache[text] = np.array([result.value_of(lab) for lab in self.versions.values()])
        out: NDArray[np.float64] = self._cache[text]
        return out

    def buckets(self, cq: CounterQuery) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """Bucket bounds and cumulative increases per version, (n_versions, n_buckets)."""
        text = _version_query(cq, self.window, self.versions, self.keys, ("le",))
        if text not in self._cache:
            result = self.client.query(text, time=self.at)
            per = [classic_buckets(result, lab) for lab in self.versions.values()]
            known = [p for p in per if p is not None]
            if not known:
                self._cache[text] = None
            else:
                bounds = known[0][0]
                for p in known[1:]:
                    if not np.array_equal(p[0], bounds):
                        raise DataError(
                            f"the versions' histograms have different buckets: {bounds.tolist()} "
                            f"and {p[0].tolist()} (query: {text!r})"
                        )
                rows = [p[1] if p is not None else np.full(len(bounds), np.nan) for p in per]
                self._cache[text] = (bounds, np.stack(rows))
        cached: tuple[NDArray[np.float64], NDArray[np.float64]] | None = self._cache[text]
        return cached


def _version_query(
    cq: CounterQuery,
    window: float,
    versions: Mapping[str, Mapping[str, str]],
    keys: Sequence[str],
    extra_by: Sequence[str],
) -> str:
    _, matchers = version_selectors(versions)
    parts = [cq.increase(window, by=[*keys, *extra_by], extra=m) for m in matchers]
    return " or ".join(parts)


def _observations(
    fetch: _Fetcher,
    metrics: Mapping[str, MetricDef],
    names: Iterable[str],
    telemetry: str,
) -> dict[str, Observations]:
    standard = istio_metrics(telemetry)
    counters = istio_counters(telemetry)
    out: dict[str, Observations] = {}
    for name in names:
        if name not in metrics:
            raise DataError(
                f"no definition of the metric {name!r}; known metrics: {sorted(metrics)} "
                "(register a MetricDefinition or QuantileDefinition under its name)"
            )
        defn = metrics[name]
        if name in KNOWN_METRICS and standard.get(name) == defn:
            increase = np.stack([fetch.counter(counters[c]) for c in COUNTER_COLUMNS], axis=-1)
            out[name] = iter8_observations(name, increase)
        elif isinstance(defn, QuantileDefinition):
            count = fetch.counter(defn.sample_size)
            found = fetch.buckets(defn.buckets)
            if found is None:
                out[name] = Observations(count=count, value=np.full(count.shape, np.nan))
            else:
                bounds, cum = found
                value = bucket_quantile(defn.quantile, bounds, cum)
                if not np.isposinf(bounds[-1]):
                    out[name] = Observations(count=count, value=np.asarray(value))
                else:
                    per_bucket = np.diff(cum, axis=-1, prepend=0.0)
                    out[name] = Observations(
                        count=count,
                        value=np.asarray(value),
                        buckets=per_bucket,
                        bucket_bounds=bounds,
                    )
        else:
            count = fetch.counter(defn.sample_size)
            num = fetch.counter(defn.numerator)
            if defn.denominator is None:
                value = num
            else:
                den = fetch.counter(defn.denominator)
                with np.errstate(invalid="ignore", divide="ignore"):
                    value = np.where(den > 0, num / den, np.nan)
                value = np.where(np.isnan(num) | np.isnan(den), np.nan, value)
            out[name] = Observations(count=count, value=value)
    return out


def observe(
    client: PrometheusClient,
    experiment: ExperimentSpec | str | os.PathLike[str],
    *,
    start: Any,
    at: Any = None,
    metrics: Mapping[str, MetricDef] | None = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    namespace: str | None = None,
    telemetry: str = "v1",
) -> dict[str, Observations]:
    """The observations one assessment of an experiment needs, read from Prometheus.

    Every criterion's metric is computed from ``increase()`` over the
    cumulative window ``[start, at]`` (whole seconds, at least 1 s, as Iter8
    clamped the first assessment's window), summed per version; Iter8's
    four standard metrics from the same four Istio counters a recorded
    rollout holds, with the same arithmetic as a replay from a file
    (:func:`canarystats.adapters.frames.iter8_observations`).

    Parameters
    ----------
    client : PrometheusClient
    experiment : ExperimentSpec or path
    start : time
        The experiment's start: Unix seconds, a tz-aware datetime or an ISO
        8601 string with an offset.
    at : time, optional
        The assessment's time (the query's evaluation time); default now.
    metrics : dict, optional
        Metric definitions by name; default :func:`istio_metrics` of
        ``telemetry``. Register a metric by adding it:
        ``{**istio_metrics(), "my_metric": MetricDefinition(...)}``.
    versions : dict, optional
        The labels selecting each version; default :func:`version_labels`.
    namespace : str, optional
        The workloads' namespace (for the default version labels).
    telemetry : {"v1", "v2"}, default "v1"
        Istio telemetry: latency in seconds (v1) or milliseconds (v2).

    Returns
    -------
    dict of str to Observations
        One per metric of the criteria, shape ``(2,)`` (baseline, candidate).
        An absent series (e.g. an idle candidate) or ``0/0`` gives NaN:
        missing, which the criteria judge INCONCLUSIVE (or Iter8's absent
        value under ``missing="iter8"``) -- never a pass.

    Raises
    ------
    PrometheusError
        When Prometheus fails (see :class:`PrometheusClient`).
    DataError
        For a metric without definition, or two series for one version.
    """
    spec = _as_spec(experiment)
    t0 = _epoch(start, "start")
    t = _epoch(at, "at") if at is not None else _time.time()
    labels = versions if versions is not None else version_labels(spec, namespace=namespace)
    _check_versions(spec, labels)
    ordered = {v: labels[v] for v in (spec.baseline, spec.candidate)}
    catalogue = metrics if metrics is not None else istio_metrics(telemetry)
    fetch = _Fetcher(client, ordered, t, max(t - t0, 0.0))
    names = sorted({c.metric for c in spec.criteria})
    return _observations(fetch, catalogue, names, telemetry)


def _check_versions(spec: ExperimentSpec, labels: Mapping[str, Mapping[str, str]]) -> None:
    for v in (spec.baseline, spec.candidate):
        if v not in labels:
            raise SpecError(f"`versions` has no labels for version {v!r}; got {sorted(labels)}")


def fetch_rollout(
    client: PrometheusClient,
    experiment: ExperimentSpec | str | os.PathLike[str],
    *,
    start: Any,
    end: Any = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    namespace: str | None = None,
    telemetry: str = "v1",
    histogram: bool = True,
) -> RolloutSeries:
    """A past rollout's cumulative counters at each assessment time, for ``replay``.

    For each assessment ``k`` whose time ``start + w_k`` (``w_k =
    window_seconds(k, interval)``) is at most ``end``, the increases of the
    four Istio counters (and, with ``histogram``, of the duration buckets)
    over ``[start, start + w_k]``, evaluated at ``start + w_k`` -- the
    windows a replay from a file uses. The result is a
    :class:`~canarystats.adapters.frames.RolloutSeries` whose "scrapes" are
    those increases (0 at the start), so ``replay(experiment, series)``
    judges exactly the numbers Prometheus returned.

    Parameters
    ----------
    client, experiment, versions, namespace, telemetry
        As for :func:`observe`.
    start, end : time
        The experiment's start, and the end of the data (default: the last
        assessment's time).
    histogram : bool, default True
        Also fetch the latency histogram's buckets (skipped when absent).

    Returns
    -------
    RolloutSeries
        One rollout, id ``"prometheus"``.
    """
    from canarystats.strategies.runner import window_seconds

    spec = _as_spec(experiment)
    t0 = _epoch(start, "start")
    interval = float(spec.traffic_control.interval)
    n_assessments = spec.traffic_control.max_iterations + 1
    windows = sorted({window_seconds(k, interval) for k in range(n_assessments)})
    t_end = _epoch(end, "end") if end is not None else t0 + windows[-1]
    windows = [w for w in windows if t0 + w <= t_end]
    if not windows:
        raise DataError(
            f"`end` ({t_end}) leaves no assessment: the first is 1 s after `start` ({t0})"
        )
    labels = versions if versions is not None else version_labels(spec, namespace=namespace)
    _check_versions(spec, labels)
    ordered = {v: labels[v] for v in (spec.baseline, spec.candidate)}
    counters = istio_counters(telemetry)
    bucket_query = CounterQuery(
        metric=f"{istio_metrics(telemetry)['iter8_latency_p50'].histogram}_bucket",  # type: ignore[union-attr]
        matchers={"reporter": "source"},
    )
    rows: list[NDArray[np.float64]] = []
    bounds: NDArray[np.float64] | None = None
    for w in windows:
        fetch = _Fetcher(client, ordered, t0 + w, w)
        inc = np.stack([fetch.counter(counters[c]) for c in COUNTER_COLUMNS], axis=-1)
        if histogram:
            found = fetch.buckets(bucket_query)
            if found is not None and np.isposinf(found[0][-1]):
                if bounds is None and not rows:
                    bounds = found[0]
                if bounds is None or not np.array_equal(found[0], bounds):
                    raise DataError(
                        "the latency histogram's buckets change during the rollout "
                        f"(at {w:g} s after the start); replay them with histogram=False"
                    )
                inc = np.concatenate([inc, found[1]], axis=-1)
            elif bounds is not None:
                inc = np.concatenate([inc, np.full((2, len(bounds)), np.nan)], axis=-1)
        rows.append(inc)
    if bounds is None:
        rows = [r[:, : len(COUNTER_COLUMNS)] for r in rows]
    n_k = len(rows[0][0])
    times = np.array([0.0, *windows])
    counters_arr = np.concatenate([np.zeros((1, 2, n_k)), np.stack(rows)])  # (S, 2, K)
    n_s = len(times)
    nan = np.isnan(counters_arr)
    columns = list(COUNTER_COLUMNS)
    if bounds is not None:
        columns += [f"bucket_le_{b:g}" for b in bounds]
    report = InputReport(
        rows_read=2 * n_s,
        rows_used=2 * n_s,
        rows_with_nan=int(nan.any(axis=-1).sum()),
        nan_counters={c: int(k) for c, k in zip(columns, nan.sum(axis=(0, 1)), strict=True) if k},
    )
    t_pad = np.broadcast_to(times, (1, 2, n_s)).copy()
    c_pad = counters_arr.transpose(1, 0, 2)[None].copy()
    t_pad.flags.writeable = False
    c_pad.flags.writeable = False
    return RolloutSeries(
        ids=("prometheus",),
        times=t_pad,
        counters=c_pad,
        n_scrapes=np.full((1, 2), n_s, dtype=np.int64),
        t0=(pd.Timestamp(t0, unit="s", tz="UTC"),),
        is_datetime=True,
        bucket_bounds=bounds,
        report=report,
    )


def replay_prometheus(
    client: PrometheusClient,
    experiment: ExperimentSpec | str | os.PathLike[str],
    *,
    start: Any,
    end: Any = None,
    compat: str | None = None,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    namespace: str | None = None,
    telemetry: str = "v1",
) -> ReplayResult:
    """Replay an experiment over a rollout read from Prometheus (see :func:`fetch_rollout`).

    Its criteria must use Iter8's standard metrics (``KNOWN_METRICS``): a replay
    computes them from the four Istio counters, as from a recorded file. Quantile
    (``iter8_latency_p95``) and custom metrics raise a :class:`DataError`
    before any query; :func:`observe` computes them for one assessment.

    Examples
    --------
    ::

        with PrometheusClient("http://127.0.0.1:9090") as client:
            result = replay_prometheus(client, "experiment.yaml",
                                       start="2020-06-01T12:00:00Z")
        result.outcome, result.timeline
    """
    from canarystats.replay import replay

    spec = _as_spec(experiment)
    other = sorted({c.metric for c in spec.criteria} - set(KNOWN_METRICS))
    if other:
        raise DataError(
            f"a replay from Prometheus computes Iter8's standard metrics {list(KNOWN_METRICS)} "
            f"only, not {other}: for quantile and custom metrics, call observe() at each "
            "assessment time and feed canarystats.step (see docs/prometheus.md)"
        )
    series = fetch_rollout(
        client,
        spec,
        start=start,
        end=end,
        versions=versions,
        namespace=namespace,
        telemetry=telemetry,
    )
    return replay(spec, series, compat=compat)


def service_observer(
    client: PrometheusClient,
    *,
    telemetry: str = "v1",
    now: Callable[[], float] = _time.time,
) -> Callable[[Mapping[str, Any]], dict[str, list[dict[str, float | None]]]]:
    """An ``observe`` hook for :func:`canarystats.adapters.service.create_app`.

    For an Iter8 check_and_increment request it queries Prometheus as Iter8's
    analytics did: each version selected by its ``tags`` (label equality),
    over ``[baseline.start_time, now]``, every success criterion's
    ``metric_name`` from the catalogue of ``telemetry``; it returns the
    request's observations (``{"baseline": [{"sample_size", "value"}, ...],
    "candidate": [...]}``, None for missing).
    """
    catalogue = istio_metrics(telemetry)

    def hook(body: Mapping[str, Any]) -> dict[str, list[dict[str, float | None]]]:
        try:
            base, cand = body["baseline"], body["candidate"]
            tags = {"baseline": dict(base["tags"]), "candidate": dict(cand["tags"])}
            start = _epoch(str(base["start_time"]), "baseline.start_time")
            names = [c["metric_name"] for c in body["traffic_control"]["success_criteria"]]
        except (KeyError, TypeError) as exc:
            raise SpecError(
                "querying Prometheus needs `baseline` and `candidate` with `start_time` and "
                f"`tags`, and `traffic_control.success_criteria[].metric_name` ({exc!r})"
            ) from None
        t = now()
        fetch = _Fetcher(client, tags, t, max(t - start, 0.0))
        obs = _observations(fetch, catalogue, dict.fromkeys(names), telemetry)
        out: dict[str, list[dict[str, float | None]]] = {"baseline": [], "candidate": []}
        for name in names:
            for v, role in enumerate(("baseline", "candidate")):
                n, x = float(obs[name].count[v]), float(obs[name].value[v])
                out[role].append(
                    {
                        "sample_size": None if math.isnan(n) else n,
                        "value": None if math.isnan(x) else x,
                    }
                )
        return out

    return hook
