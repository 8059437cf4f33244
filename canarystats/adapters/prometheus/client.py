"""The HTTP client of Prometheus' query API, and the times it accepts.

:class:`PrometheusClient` fetches over HTTP (the ``prometheus`` extra:
httpx, imported only when a client is made): instant and range queries,
GET or POST for long queries, bounded retries with exponential backoff on
connection errors, timeouts and 502/503/504, never on other statuses; the
response's ``warnings`` and ``infos`` are emitted as
:class:`~canarystats.PrometheusWarning`. User information in the URL and
header values are secrets, never shown. :func:`epoch_seconds` reads the
times queries take (Unix seconds, tz-aware datetimes, ISO 8601 with offset).
"""

from __future__ import annotations

import logging
import math
import time as _time
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from canarystats.adapters.prometheus.parsing import QueryResult, parse_response
from canarystats.errors import PrometheusError, PrometheusWarning, SpecError
from canarystats.extras import install_hint

__all__ = ["RETRY_STATUSES", "PrometheusClient", "epoch_seconds"]

#: HTTP statuses retried (with backoff): Prometheus' 503 (overloaded, or a
#: query timeout) and the gateway errors of a proxy in front of it.
RETRY_STATUSES: frozenset[int] = frozenset({502, 503, 504})

_log = logging.getLogger("canarystats.prometheus")


def epoch_seconds(value: Any, name: str) -> float:
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
                f"PrometheusClient needs httpx: {install_hint('prometheus')}"
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
            params["time"] = f"{epoch_seconds(time, 'time'):.3f}"
        return self._emit(self._request("/api/v1/query", params, query))

    def query_range(self, query: str, *, start: Any, end: Any, step: float) -> QueryResult:
        """Evaluate a range query (``/api/v1/query_range``), every ``step`` seconds."""
        if not (isinstance(step, int | float) and step > 0):
            raise SpecError(f"`step` must be a positive number of seconds, got {step!r}")
        params = {
            "query": query,
            "start": f"{epoch_seconds(start, 'start'):.3f}",
            "end": f"{epoch_seconds(end, 'end'):.3f}",
            "step": f"{float(step):g}",
            "timeout": f"{self.timeout:g}",
        }
        return self._emit(self._request("/api/v1/query_range", params, query))
