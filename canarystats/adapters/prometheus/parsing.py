"""Parse Prometheus' query API responses into result objects.

:func:`parse_response` turns a response body of ``/api/v1/query`` or
``/api/v1/query_range`` into a :class:`QueryResult` (every result type:
``vector``, ``matrix``, ``scalar``, ``string``; values given as strings,
``"NaN"``, ``"+Inf"``, ``"-Inf"`` and exponents included; native histograms:
:class:`NativeHistogram`), each series a :class:`Series`. Error envelopes
raise :class:`~canarystats.PrometheusError`. A matrix body in Prometheus'
compact layout takes a bulk path that converts all samples at once with
numpy. :func:`result_from_frame` builds a ``matrix`` result from a long
DataFrame.

Examples
--------
>>> body = b'''{"status": "success", "data": {"resultType": "vector", "result": [
...   {"metric": {"destination_workload": "reviews-v2"}, "value": [1591012800, "1.5e2"]}]}}'''
>>> parse_response(body).value_of({"destination_workload": "reviews-v2"})
150.0
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats._arrays import ARRAY_EQ
from canarystats.errors import DataError, PrometheusError

__all__ = [
    "BOUNDARY_RULES",
    "RESULT_TYPES",
    "NativeHistogram",
    "QueryResult",
    "Series",
    "bad_response",
    "parse_response",
    "result_from_frame",
]

#: The ``resultType`` values of Prometheus' query API.
RESULT_TYPES: tuple[str, ...] = ("vector", "matrix", "scalar", "string")

#: Native histogram bucket boundary rules: which bucket ends are inclusive.
BOUNDARY_RULES: Mapping[int, str] = {
    0: "open left (left exclusive, right inclusive)",
    1: "open right (left inclusive, right exclusive)",
    2: "open both",
    3: "closed both",
}


def bad_response(message: str, query: str | None, status: int | None = None) -> PrometheusError:
    """A ``bad_response`` PrometheusError: a body that is not what Prometheus sends."""
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
        raise bad_response(f"{what}: sample value {bad!r} is not a number ({exc})", query) from None
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
    boundary_rule: NDArray[np.int8] = attrs.field(eq=ARRAY_EQ)
    lower: NDArray[np.float64] = attrs.field(eq=ARRAY_EQ)
    upper: NDArray[np.float64] = attrs.field(eq=ARRAY_EQ)
    counts: NDArray[np.float64] = attrs.field(eq=ARRAY_EQ)

    @classmethod
    def from_json(cls, obj: Any, query: str | None = None) -> NativeHistogram:
        """Parse ``{"count": "..", "sum": "..", "buckets": [[rule, "l", "r", "n"], ...]}``."""
        if not isinstance(obj, Mapping) or "count" not in obj or "sum" not in obj:
            raise bad_response(
                f"a native histogram must hold `count` and `sum`, got {obj!r}", query
            )
        buckets = obj.get("buckets") or []
        if not isinstance(buckets, list) or not all(
            isinstance(b, list) and len(b) == 4 for b in buckets
        ):
            raise bad_response(
                f"native histogram buckets must be [rule, left, right, count], got {buckets!r}",
                query,
            )
        rules = np.array([b[0] for b in buckets], dtype=np.int64)
        if len(rules) and (
            not all(type(b[0]) is int for b in buckets) or rules.min() < 0 or rules.max() > 3
        ):
            raise bad_response(
                f"a native histogram bucket's boundary rule must be 0..3, got "
                f"{[b[0] for b in buckets]}",
                query,
            )
        count, total = _floats([obj["count"], obj["sum"]], "native histogram", query)
        lower = _floats([b[1] for b in buckets], "native histogram bucket", query)
        upper = _floats([b[2] for b in buckets], "native histogram bucket", query)
        counts = _floats([b[3] for b in buckets], "native histogram bucket", query)
        if np.any(lower > upper):
            raise bad_response(
                "a native histogram bucket has left boundary > right boundary", query
            )
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
    timestamps: NDArray[np.float64] = attrs.field(eq=ARRAY_EQ)
    samples: NDArray[np.float64] = attrs.field(
        eq=ARRAY_EQ
    )
    histogram_timestamps: NDArray[np.float64] = attrs.field(
        factory=lambda: np.empty(0), eq=ARRAY_EQ
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
        raise bad_response(f"`{key}` must be a list of strings, got {items!r}", query)
    return tuple(str(w) for w in items)


def _point(sample: Any, what: str, query: str | None) -> tuple[float, Any]:
    if not isinstance(sample, list) or len(sample) != 2:
        raise bad_response(f"{what} must be [time, value], got {sample!r}", query)
    t = sample[0]
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise bad_response(f"{what}: the time must be a number, got {t!r}", query)
    try:
        return float(t), sample[1]
    except OverflowError:
        raise bad_response(f"{what}: the time {t} is out of range", query) from None


def _labels(item: Any, query: str | None) -> dict[str, str]:
    metric = item.get("metric", {}) if isinstance(item, Mapping) else None
    if not isinstance(metric, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
    ):
        raise bad_response(
            f"a series' `metric` must map label names to strings, got {item!r}", query
        )
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
            raise bad_response(f"a vector sample needs `value` or `histogram`, got {item!r}", query)
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
        raise bad_response(
            f"a matrix sample must be [time, value], got {bad!r} ({exc})", query
        ) from None
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
            raise bad_response(
                f"the body is not JSON ({exc}): {snippet!r}", query, status
            ) from None
    if not isinstance(obj, Mapping) or obj.get("status") not in ("success", "error"):
        if failed:
            raise PrometheusError(
                "http", "HTTP error without Prometheus' JSON envelope", status=status, query=query
            )
        raise bad_response("the body is not Prometheus' envelope (no `status`)", query, status)
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
        raise bad_response(
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
                raise bad_response(f"a string result's value must be a string, got {v!r}", query)
            return QueryResult(string=v, time=t, **common)
        return QueryResult(
            scalar=float(_floats([v], "a scalar result", query)[0]), time=t, **common
        )
    if not isinstance(result, list) or not all(isinstance(r, Mapping) for r in result):
        raise bad_response(f"a {rtype} result must be a list of series", query, status)
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
