"""An HTTP service answering as Iter8 v0.1's analytics service did.

The ``service`` extra (``pip install '.[service]'`` from a checkout) serves
:func:`canarystats.adapters.iter8.assess` over HTTP with FastAPI, at the paths
the Iter8 controller called, so that a controller written for Iter8 can point
at canarystats unchanged::

    canarystats serve --host 127.0.0.1 --port 8080

Endpoints (see ``docs/service.md`` for request and response examples):

``POST /api/v1/experiment/check_and_increment``
    Iter8 v0.2's path. The body is Iter8's check_and_increment request
    (``baseline``, ``candidate``, ``traffic_control``, ``_last_state``) plus
    the observed metric values under :data:`OBSERVATIONS_KEY`; the answer is
    Iter8's response body (``baseline``, ``candidate``, ``assessment``,
    ``_last_state``).
``POST /api/v1/analytics/canary/check_and_increment``
    Iter8 v0.1's path for the same operation; same body, same answer.
``GET /api/v1/health/health_check`` and ``GET /health``
    ``{"status": "OK"}``, as Iter8 answered.

Observations
------------
Iter8 queried Prometheus itself; so does this service when it is given a
backend (``canarystats serve --prometheus URL``, or ``create_app(observe=
service_observer(client))``). Otherwise the metric values travel in the
request body, under the key ``"observations"``: one ``{"sample_size": n,
"value": v}`` per success criterion and version, in the order of
``traffic_control.success_criteria``::

    "observations": {
        "baseline":  [{"sample_size": 21.763975, "value": 21.763975}],
        "candidate": [{"sample_size": 19.67701, "value": 19.67701}]
    }

:func:`create_app` also takes an ``observe`` callable (request body ->
observations) for a metrics backend; observations in the body take precedence.

Errors
------
A request that cannot be assessed gets HTTP 400 and ``{"message": ...,
"error": ...}``: the message names the field (in Iter8's spelling) and
``error`` the kind of problem (``"SpecError"`` for a bad field, ``"BadBody"``
for a body that is not a JSON object). A body larger than ``max_body_bytes``
gets 413; a failing ``observe`` backend gets 502. Bad input never gets a 500.

NaN in a response (Iter8's ``None``: a missing value) is written as ``null``;
an infinite number posted in a request (``1e999``, ``Infinity``) is echoed as
``Infinity`` as Iter8's Flask service did, since standard JSON cannot hold it.
Warnings raised while assessing (an unknown field, say) are returned in a
``"warnings"`` list, present only when there are some.
"""

import json
import logging
import math
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from canarystats.errors import SpecError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "CHECK_AND_INCREMENT_PATHS",
    "HEALTH_PATHS",
    "MAX_BODY_BYTES",
    "OBSERVATIONS_KEY",
    "check_and_increment",
    "create_app",
]

#: The body key holding the observed metric values.
OBSERVATIONS_KEY = "observations"

#: Iter8 v0.2's path first, then Iter8 v0.1's.
CHECK_AND_INCREMENT_PATHS = (
    "/api/v1/experiment/check_and_increment",
    "/api/v1/analytics/canary/check_and_increment",
)

#: Iter8's health path first, then a short one for probes.
HEALTH_PATHS = ("/api/v1/health/health_check", "/health")

#: Default limit on a request body, in bytes.
MAX_BODY_BYTES = 1 << 20

#: Exceptions that bad input could raise from deep inside an assessment.
#: They answer 400 too, but are logged with their traceback: the adapter should
#: have raised a SpecError naming the field instead.
_UNEXPECTED_BAD_INPUT = (
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)

_log = logging.getLogger("canarystats.service")

Observer = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class _Reply(Exception):
    """A finished answer, raised to leave the request handling early."""

    def __init__(self, status: int, message: str, error: str) -> None:
        super().__init__(message)
        self.status = status
        self.payload = {"message": message, "error": error}


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _parse_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 naming what is wrong."""
    if not raw.strip():
        raise _Reply(400, "the request body is empty; expected a JSON object", "BadBody")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Reply(400, f"the request body is not UTF-8 text: {exc}", "BadBody") from None
    try:
        body = json.loads(text)
    except RecursionError:
        raise _Reply(400, "the request body is nested too deeply", "BadBody") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
        raise _Reply(400, f"the request body is not valid JSON: {exc}", "BadBody") from None
    if not isinstance(body, dict):
        raise _Reply(
            400,
            f"the request body must be a JSON object, got a JSON {_json_type(body)}",
            "BadBody",
        )
    return body


def _jsonable(obj: Any) -> Any:
    """``obj`` with numpy values unwrapped, tuples as lists and NaN as None."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if callable(getattr(obj, "tolist", None)):
        return _jsonable(obj.tolist())  # a numpy array or scalar
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def _dumps(payload: Any) -> bytes:
    return json.dumps(_jsonable(payload), allow_nan=True).encode("utf-8")


def _observations(body: Mapping[str, Any], observe: Observer | None) -> Any:
    if OBSERVATIONS_KEY in body:
        return body[OBSERVATIONS_KEY]
    if observe is None:
        raise _Reply(
            400,
            f"`{OBSERVATIONS_KEY}` is required: post the observed metric values in the body as "
            '{"baseline": [{"sample_size": n, "value": v}, ...], "candidate": [...]}, one entry '
            "per success criterion (this service has no metrics backend configured)",
            "SpecError",
        )
    try:
        return observe(body)
    except SpecError as exc:  # the request lacks what the backend needs (e.g. `tags`)
        raise _Reply(400, str(exc), type(exc).__name__) from None
    except Exception as exc:
        _log.warning("observing metrics failed", exc_info=True)
        raise _Reply(502, f"fetching the observations failed: {exc}", type(exc).__name__) from None


def check_and_increment(
    raw: bytes, *, observe: Observer | None = None
) -> tuple[int, dict[str, Any]]:
    """Answer one check_and_increment request: ``(HTTP status, JSON payload)``.

    The framework-free core of the endpoint; it never raises for bad input.
    """
    try:
        body = _parse_body(raw)
        observations = _observations(body, observe)
        from canarystats.adapters.iter8 import assess

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                response = assess(body, observations)
            except ValueError as exc:  # SpecError and its kin: the message names the field
                raise _Reply(400, str(exc), type(exc).__name__) from None
            except _UNEXPECTED_BAD_INPUT as exc:
                _log.warning("assess raised %s on bad input", type(exc).__name__, exc_info=True)
                raise _Reply(
                    400, f"invalid request: {type(exc).__name__}: {exc}", type(exc).__name__
                ) from None
    except _Reply as reply:
        return reply.status, reply.payload
    payload = dict(response)
    if caught:
        payload["warnings"] = [str(w.message) for w in caught]
    return 200, payload


def create_app(
    *, observe: Observer | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> "FastAPI":
    """Build the FastAPI application serving Iter8's analytics endpoints.

    Parameters
    ----------
    observe : callable, optional
        ``observe(request_body) -> observations``, a metrics backend used when
        the body holds no ``"observations"``. Without it such a request gets 400.
    max_body_bytes : int
        Larger request bodies get HTTP 413.

    Returns
    -------
    fastapi.FastAPI

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> client = TestClient(create_app())
    >>> client.get("/api/v1/health/health_check").json()
    {'status': 'OK'}
    """
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    from canarystats import __version__

    app = FastAPI(
        title="canarystats",
        version=__version__,
        description="Iter8 v0.1 analytics (check_and_increment), answered by canarystats.",
    )

    async def _read(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise _Reply(413, f"the request body exceeds {max_body_bytes} bytes", "BadBody")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise _Reply(413, f"the request body exceeds {max_body_bytes} bytes", "BadBody")
            chunks.append(chunk)
        return b"".join(chunks)

    async def post_check_and_increment(request: Request) -> Response:
        """Assess the candidate and recommend the next traffic split (Iter8's contract)."""
        try:
            raw = await _read(request)
        except _Reply as reply:
            return JSONResponse(reply.payload, status_code=reply.status)
        # assess is synchronous and quick; running it on the event loop (not a worker
        # thread) keeps `warnings.catch_warnings`, which is process-global, race-free.
        status, payload = check_and_increment(raw, observe=observe)
        return Response(_dumps(payload), status_code=status, media_type="application/json")

    async def get_health() -> dict[str, str]:
        """Report that the service is up."""
        return {"status": "OK"}

    for path in CHECK_AND_INCREMENT_PATHS:
        app.add_api_route(
            path,
            post_check_and_increment,
            methods=["POST"],
            summary="check_and_increment",
            tags=["experiment"],
        )
    for path in HEALTH_PATHS:
        app.add_api_route(path, get_health, methods=["GET"], summary="health", tags=["health"])
    return app
