"""Persistent strategy state: a :class:`~canarystats.State` as versioned JSON and back.

:func:`state_to_json` writes a state, with every method state inside it, as
JSON text; :func:`state_from_json` reads it back without loss: every array
keeps its dtype, its shape and its values exactly (float64 bit for bit,
including ``-0.0``, NaN and the infinities), arrays come back read-only, and
``State.info`` is stored batch-last in memory again, as
:func:`~canarystats.initial_state` lays it out. ``State.to_json()`` and
``State.from_json(text)`` are shortcuts.

Examples
--------
>>> from canarystats import Criterion, ExperimentSpec, Observations, initial_state, step
>>> spec = ExperimentSpec(name="e", target_service="s", baseline="b", candidate="c",
...     criteria=[Criterion(metric="m", tolerance_type="threshold", tolerance=0.2)])
>>> state, _ = step(spec, initial_state(spec, (2,)),
...     {"m": Observations(count=[[20.0, 12.0], [20.0, 3.0]], value=[[0.1, 0.15], [0.1, 0.3]])})
>>> text = state_to_json(state)
>>> state_from_json(text) == state
True
>>> from canarystats import State
>>> State.from_json(state.to_json()).info.flags.writeable
False

Notes
-----
The document (format version 2)::

    {"format": "canarystats.state", "version": 2, "type": NAME,
     "fields": {"traffic": ARRAY, "iteration": ARRAY, ..., "info": ARRAY,
                "method_states": {"kind": "tuple", "items": [VALUE, ...]},
                "sample_ratio": VALUE}}

Format 1 (canarystats before the methods layer) had no ``sample_ratio``: the
sample-ratio guard's state, when there was one, was the last item of
``method_states``, and the Bayes method's state named its Beta shapes ``alpha``
and ``beta`` (now ``a`` and ``b``). A format-1 document still reads, into the
new layout (``tests/reference/state_format1.json``, written by the last version
that wrote format 1, is read back by the tests).

``type`` is present only for a subclass of :class:`~canarystats.State` with
fields of its own, registered like a method state (``"bandit"``:
:class:`~canarystats.BanditState` with ``effective_iterations``;
``"routing"``: :class:`~canarystats.strategies.bandits.RoutingState` with its
random keys), and ``fields`` then holds the subclass's fields too. A document
without ``type`` is a plain State (so every earlier document reads as before);
an older reader refuses a typed document rather than drop its extra fields.

where an ``ARRAY`` is ``{"kind": "array", "dtype": "float64", "shape": [2, 2],
"data": [...]}`` (``data`` flat in C order; floats as JSON numbers, written
with Python's shortest round-tripping ``repr``, and ``"nan"``, ``"inf"``,
``"-inf"`` as strings, so the text is strict JSON), and a ``VALUE`` is an
``ARRAY``, ``{"kind": "scalar", ...}`` (a numpy scalar, written as a 0-d
array), ``{"kind": "float" | "int" | "bool" | "str" | "none", "value": ...}``,
``{"kind": "tuple", "items": [...]}`` or a method state ``{"kind": "state",
"type": NAME, "fields": {...}}``. A method state is found by the name of its
method in :mod:`canarystats.registry` (:class:`~canarystats.methods.point.PointState`
is ``"point"``), so methods added later -- plugins included -- plug in without
a new format; other state classes (the strategies' and the sample-ratio
guard's) are registered with :func:`register_state_type`.

Reading refuses, with a :class:`~canarystats.SpecError` saying why, text
that is not JSON, a document of another format, a version newer than this
library reads, a method-state type that is not registered, and any malformed
part (naming where it is).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats.errors import SpecError
from canarystats.registry import get_method, registered_methods
from canarystats.strategies.bandits import BanditState, RoutingState
from canarystats.strategies.base import State, set_state_codec
from canarystats.strategies.sample_ratio import SampleRatioState

__all__ = [
    "FORMAT",
    "VERSION",
    "register_state_type",
    "registered_state_types",
    "state_from_json",
    "state_to_json",
]

#: The ``format`` key of every state document.
FORMAT = "canarystats.state"
#: The newest format version this library writes and reads (1: the sample-ratio guard's
#: state rode at the end of ``method_states``; 2: it is ``State.sample_ratio``).
VERSION = 2

_NAME_OF: dict[type, str] = {}
_TYPE_OF: dict[str, type] = {}
_ARRAY_KINDS = "biuf"  # bool, signed and unsigned integers, floats
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def register_state_type(cls: type, name: str) -> None:
    """Register a method-state class under ``name`` so that states holding it persist.

    Parameters
    ----------
    cls : type
        A frozen attrs class whose fields (those set by ``__init__``) hold
        arrays, numbers, strings, None, tuples of them or registered states.
    name : str
        The name written in the JSON; it must never change once states are
        stored.

    Raises
    ------
    SpecError
        When ``cls`` is not an attrs class, or the name or the class is
        registered already for something else.
    """
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise SpecError(f"`cls` must be an attrs class, got {cls!r}")
    if not isinstance(name, str) or not name:
        raise SpecError(f"`name` must be a non-empty string, got {name!r}")
    taken = registered_state_types()
    if taken.get(name, cls) is not cls or (_name_of(cls) or name) != name:
        raise SpecError(
            f"cannot register {cls.__qualname__} as {name!r}: {name!r} is "
            f"{taken.get(name, cls).__qualname__} and {cls.__qualname__} is "
            f"{_name_of(cls) or name!r} already"
        )
    _TYPE_OF[name] = cls
    _NAME_OF[cls] = name


def registered_state_types() -> dict[str, type]:
    """The state classes this reader knows, by name: every registered method's, and the rest."""
    out = {name: m.state_type for name, m in registered_methods().items()}
    out.update(_TYPE_OF)
    return out


def _name_of(cls: type) -> str | None:
    name = _NAME_OF.get(cls)
    if name is None:
        for method_name, method in registered_methods().items():
            if method.state_type is cls:
                return method_name
    return name


def _type_of(name: Any) -> type | None:
    if not isinstance(name, str):
        return None
    found = _TYPE_OF.get(name)
    if found is None:
        try:  # a method state: the registry (and its plugins) know the method's state type
            found = get_method(name).state_type
        except SpecError:
            return None
    return found


register_state_type(SampleRatioState, "sample_ratio")
# strategy states with fields of their own: the document names them in `type`
register_state_type(BanditState, "bandit")
register_state_type(RoutingState, "routing")


# --------------------------------------------------------------------------- writing


def _encode_array(arr: NDArray[Any], where: str) -> dict[str, Any]:
    if arr.dtype.kind not in _ARRAY_KINDS:
        raise SpecError(
            f"`{where}` has dtype {arr.dtype}; a state holds bool, integer or float arrays"
        )
    data = np.ascontiguousarray(arr).ravel().tolist()
    if arr.dtype.kind == "f":
        data = [x if math.isfinite(x) else repr(x) for x in data]
    return {"kind": "array", "dtype": arr.dtype.name, "shape": list(arr.shape), "data": data}


def _encode(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, np.generic):
        return {**_encode_array(np.asarray(value), where), "kind": "scalar"}
    if value is None:
        return {"kind": "none"}
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, int):
        return {"kind": "int", "value": value}
    if isinstance(value, float):
        return {"kind": "float", "value": value if math.isfinite(value) else repr(value)}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if isinstance(value, tuple):
        return {
            "kind": "tuple",
            "items": [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)],
        }
    name = _name_of(type(value))
    if name is None:
        raise SpecError(
            f"`{where}` is a {type(value).__qualname__}, which is not a registered "
            f"method-state type (registered: {sorted(registered_state_types())}); "
            "register its method (canarystats.registry.register_method) first"
        )
    return {
        "kind": "state",
        "type": name,
        "fields": {
            f.name: _encode(getattr(value, f.name), f"{where}.{f.name}")
            for f in attrs.fields(type(value))
            if f.init
        },
    }


def state_to_json(state: State) -> str:
    """Write a :class:`~canarystats.State` as versioned JSON text.

    Raises
    ------
    SpecError
        When the state holds a method state whose type is not registered, or
        an array of a dtype other than bool, integer or float.
    """
    if not isinstance(state, State):
        raise SpecError(f"`state` must be a State, got {state!r}")
    cls = type(state)
    name = _NAME_OF.get(cls) if cls is not State else None
    if cls is not State and name is None:
        raise SpecError(
            f"`state` is a {cls.__qualname__}, a State subclass that is not registered "
            f"(registered: {sorted(_TYPE_OF)}); call "
            "canarystats.strategies.persist.register_state_type first"
        )
    fields = {
        f.name: _encode(getattr(state, f.name), f"state.{f.name}")
        for f in attrs.fields(cls)
        if f.init
    }
    document: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if name is not None:
        document["type"] = name
    document["fields"] = fields
    return json.dumps(document, allow_nan=False, separators=(",", ":"))


# --------------------------------------------------------------------------- reading


def _get(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping):
        raise SpecError(f"malformed state: `{where}` must be a JSON object, got {mapping!r}")
    if key not in mapping:
        raise SpecError(f"malformed state: `{where}.{key}` is missing")
    return mapping[key]


def _decode_float(x: Any, where: str) -> float:
    if isinstance(x, str) and x in _NON_FINITE:
        return _NON_FINITE[x]
    if isinstance(x, int | float) and not isinstance(x, bool):
        return float(x)
    raise SpecError(f"malformed state: `{where}` holds {x!r}, not a number")


def _decode_array(node: Mapping[str, Any], where: str) -> NDArray[Any]:
    name = _get(node, "dtype", where)
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in _ARRAY_KINDS or dtype.name != name:
        raise SpecError(
            f"malformed state: `{where}.dtype` must name a bool, integer or float dtype "
            f"such as 'float64', got {name!r}"
        )
    shape = _get(node, "shape", where)
    if not isinstance(shape, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise SpecError(f"malformed state: `{where}.shape` must be a list of sizes, got {shape!r}")
    data = _get(node, "data", where)
    size = math.prod(shape)
    if not isinstance(data, list) or len(data) != size:
        got = len(data) if isinstance(data, list) else repr(data)
        raise SpecError(f"malformed state: `{where}.data` must hold {size} values, got {got}")
    if dtype.kind == "f":
        values: list[Any] = [_decode_float(x, f"{where}.data[{i}]") for i, x in enumerate(data)]
    elif dtype.kind == "b":
        if not all(isinstance(x, bool) for x in data):
            raise SpecError(f"malformed state: `{where}.data` must hold true / false only")
        values = data
    else:
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in data):
            raise SpecError(f"malformed state: `{where}.data` must hold integers only")
        values = data
    try:
        arr = np.array(values, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as err:
        raise SpecError(f"malformed state: `{where}`: {err}") from None
    arr.flags.writeable = False
    return arr


def _decode(node: Any, where: str) -> Any:
    kind = _get(node, "kind", where)
    if kind == "array":
        return _decode_array(node, where)
    if kind == "scalar":
        return _decode_array(node, where)[()]
    if kind == "none":
        return None
    if kind in ("bool", "int", "float", "str"):
        value = _get(node, "value", where)
        expected: dict[str, Any] = {"bool": bool, "int": int, "float": float, "str": str}
        if kind == "float":
            return _decode_float(value, f"{where}.value")
        if not isinstance(value, expected[kind]) or (kind == "int" and isinstance(value, bool)):
            raise SpecError(f"malformed state: `{where}.value` must be a {kind}, got {value!r}")
        return value
    if kind == "tuple":
        items = _get(node, "items", where)
        if not isinstance(items, list):
            raise SpecError(f"malformed state: `{where}.items` must be a list, got {items!r}")
        return tuple(_decode(item, f"{where}[{i}]") for i, item in enumerate(items))
    if kind == "state":
        name = _get(node, "type", where)
        cls = _type_of(name)
        if cls is None:
            raise SpecError(
                f"unknown method-state type {name!r} at `{where}`: registered types are "
                f"{sorted(registered_state_types())} (a state written by a method this "
                "installation lacks? register it with canarystats.registry.register_method)"
            )
        fields = _get(node, "fields", where)
        if name == "bayes" and isinstance(fields, Mapping) and "alpha" in fields:
            # format 1 named the Beta posterior's shapes `alpha` and `beta`
            fields = {("a" if k == "alpha" else "b" if k == "beta" else k): v
                      for k, v in fields.items()}
        return _build(cls, fields, where)
    raise SpecError(f"malformed state: `{where}.kind` {kind!r} is not known")


def _build(cls: type, fields: Any, where: str) -> Any:
    if not isinstance(fields, Mapping):
        raise SpecError(f"malformed state: `{where}.fields` must be a JSON object")
    names = [f.name for f in attrs.fields(cls) if f.init]
    if set(fields) != set(names):
        raise SpecError(
            f"malformed state: `{where}.fields` of a {cls.__qualname__} must be "
            f"{sorted(names)}, got {sorted(fields)}"
        )
    kwargs = {name: _decode(fields[name], f"{where}.{name}") for name in names}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise SpecError(f"malformed state: `{where}`: {err}") from None


def _batch_last(info: NDArray[Any], batch_ndim: int) -> NDArray[Any]:
    """``info`` copied into the batch-last memory layout of ``initial_state``."""
    trailing = info.ndim - batch_ndim
    order = (*range(batch_ndim, info.ndim), *range(batch_ndim))
    base = np.empty(tuple(info.shape[i] for i in order), dtype=info.dtype)
    out = np.moveaxis(base, tuple(range(trailing)), tuple(range(-trailing, 0)))
    out[...] = info
    out.flags.writeable = False
    return out


def state_from_json(text: str | bytes) -> State:
    """Read a :class:`~canarystats.State` written by :func:`state_to_json`.

    Raises
    ------
    SpecError
        For text that is not JSON, a document whose ``format`` is not
        ``"canarystats.state"``, a ``version`` newer than :data:`VERSION` (or
        not a positive integer), a method-state type that is not registered,
        and any malformed part.
    """
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as err:
        raise SpecError(f"a canarystats state must be JSON text: {err}") from None
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        got = document.get("format") if isinstance(document, Mapping) else document
        raise SpecError(f"not a canarystats state: `format` must be {FORMAT!r}, got {got!r}")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SpecError(
            f"`version` of a canarystats state must be an integer >= 1, got {version!r}"
        )
    if version > VERSION:
        raise SpecError(
            f"this canarystats state has format version {version}, newer than the version "
            f"{VERSION} this canarystats reads: upgrade canarystats to read it"
        )
    cls: type = State
    if "type" in document:
        name = document["type"]
        found = _TYPE_OF.get(name) if isinstance(name, str) else None
        if found is None or not issubclass(found, State):
            known = sorted(n for n, t in _TYPE_OF.items() if issubclass(t, State))
            raise SpecError(
                f"unknown state type {name!r} at `type`: registered State types are {known} "
                "(a state written by a strategy this installation lacks?)"
            )
        cls = found
    fields = _get(document, "fields", "document")
    if version == 1 and isinstance(fields, Mapping) and "sample_ratio" not in fields:
        fields = {**fields, "sample_ratio": {"kind": "none"}}
    state = _build(cls, fields, "fields")
    assert isinstance(state, State)
    if version == 1 and state.method_states and isinstance(
        state.method_states[-1], SampleRatioState
    ):
        # format 1 kept the sample-ratio guard's state after the criteria's method states
        state = attrs.evolve(
            state, method_states=state.method_states[:-1], sample_ratio=state.method_states[-1]
        )
    info = state.info
    batch_ndim = len(state.batch_shape)
    if info.ndim == batch_ndim + 3:
        state = attrs.evolve(state, info=_batch_last(info, batch_ndim))
    return state


set_state_codec(state_to_json, state_from_json)
