"""The one registry of criterion methods.

Every criterion method registers one object here, under its name, and
everything that needs to know about methods reads it from here:

- :class:`~canarystats.Criterion` validates ``method`` and converts its
  ``options`` to the method's options type (``options_type``);
- the strategies initialise and update method states (``init`` / ``update``)
  and ask whether a criterion's verdicts are anytime-valid
  (``anytime_valid(criterion)``) before stopping early;
- persistence finds a method state's class by the method's name
  (``state_type``), so a saved state names the method that wrote it;
- the simulator, replay and the Prometheus adapter ask which observation
  fields a criterion reads (``needs(criterion)``).

A method written outside the package registers itself the same way
(:func:`register_method`), either when its module is imported or through the
``canarystats.methods`` entry-point group of an installed distribution: a name
that is not registered yet is looked up there before it is refused, so a
fresh process (the command line, :meth:`~canarystats.State.from_json`) finds
the plugin without importing it first. See docs/contracts.md.

This module sits on the lowest floor (it imports only :mod:`canarystats.errors`),
and holds the base of every method's typed options (:class:`Options`),
so that the specs can read it; the methods live in :mod:`canarystats.methods`.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import attrs
import numpy as np

from canarystats.errors import SpecError

__all__ = [
    "ENTRY_POINT_GROUP",
    "NoOptions",
    "Options",
    "RegisteredMethod",
    "get_method",
    "method_names",
    "register_method",
    "registered_methods",
]

#: The entry-point group in which installed distributions declare criterion methods.
#: An entry point's object is a registered method (or a module that registers one on import).
ENTRY_POINT_GROUP = "canarystats.methods"


@attrs.frozen(kw_only=True)
class Options:
    """Base of the typed options of a criterion method (frozen attrs classes).

    A method's options class declares its parameters as attrs fields with
    their validators; :meth:`from_mapping` builds it from a mapping (Python
    or YAML) and refuses a key it does not declare, naming the allowed ones.
    """

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, method: str) -> Options:
        """The options from a mapping of field names to values.

        Raises
        ------
        SpecError
            For a key that is not an option of the method (naming the allowed
            names) and for any value the option's validator refuses.
        """
        if not isinstance(mapping, Mapping):
            raise SpecError(
                f"the options of method {method!r} must be a mapping of option names to "
                f"values, got {mapping!r}"
            )
        allowed = [f.name for f in attrs.fields(cls) if f.init]
        unknown = [str(k) for k in mapping if k not in allowed]
        if unknown:
            names = allowed if allowed else "none"
            raise SpecError(
                f"`options` of method {method!r}: unknown option {unknown[0]!r}; its options "
                f"are {names}"
            )
        return cls(**{str(k): v for k, v in mapping.items()})

    def to_mapping(self) -> dict[str, Any]:
        """The options that differ from their defaults, by name (what a spec file writes)."""
        out: dict[str, Any] = {}
        for f in attrs.fields(type(self)):
            value = getattr(self, f.name)
            default = f.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type,unused-ignore]
                default = default.factory()  # type: ignore[union-attr,unused-ignore]
            same = value is default or (
                not isinstance(value, np.ndarray) and value == default
            )
            if not same:
                out[f.name] = value
        return out


@attrs.frozen(kw_only=True)
class NoOptions(Options):
    """The options of a method that has none."""


class RegisteredMethod(Protocol):
    """What the registry knows of a criterion method.

    See :class:`canarystats.methods.base.Method`, the base every built-in method subclasses.
    """

    name: ClassVar[str]
    options_type: ClassVar[type]
    state_type: ClassVar[type]

    def anytime_valid(self, criterion: Any) -> bool:
        """Whether the criterion's PASS / FAIL stay valid at any stopping time."""

    def needs(self, criterion: Any, kind: str) -> frozenset[str]:
        """The observation fields the criterion needs on a metric of ``kind`` ("rate", "mean",
        "counter"): names of ``Observations`` fields."""

    def init(self, criterion: Any, batch_shape: tuple[int, ...]) -> Any:
        """The method state before any observation."""

    def update(self, criterion: Any, state: Any, observations: Any) -> Any:
        """Judge new observations: ``(state, verdict, reason, abort)``."""


_METHODS: dict[str, RegisteredMethod] = {}
_PLUGINS_LOADED: list[bool] = [False]


def register_method(method: Any) -> Any:
    """Register a criterion method (a class, instantiated, or an instance) under its ``name``.

    Returns what it was given, so it serves as a class decorator.

    Registering the same object again does nothing; another object under a
    name that is taken is refused, as is a state type that another method
    uses, since saved states find their class by the method's name.

    Raises
    ------
    SpecError
        For a name that is not a non-empty identifier, a name already taken,
        or a missing ``options_type`` / ``state_type``.
    """
    registered = method
    if isinstance(method, type):
        method = method()
    name = getattr(method, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise SpecError(f"a criterion method's `name` must be an identifier, got {name!r}")
    for attr in ("options_type", "state_type"):
        if not isinstance(getattr(method, attr, None), type):
            raise SpecError(f"criterion method {name!r} must declare `{attr}` (a class)")
    taken = _METHODS.get(name)
    if taken is method or type(taken) is type(method):
        return registered
    if taken is not None:
        raise SpecError(
            f"criterion method {name!r} is registered already ({type(taken).__qualname__})"
        )
    for other in _METHODS.values():
        if other.state_type is method.state_type:
            raise SpecError(
                f"criterion method {name!r} uses the state type "
                f"{method.state_type.__qualname__} of method {other.name!r}: each method "
                "needs a state type of its own"
            )
    _METHODS[name] = method
    return registered


def _load_plugins() -> None:
    """Import the methods declared in the ``canarystats.methods`` entry-point group, once."""
    if _PLUGINS_LOADED[0]:
        return
    _PLUGINS_LOADED[0] = True
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as err:  # a broken plugin must not break the library
            raise SpecError(
                f"the criterion method plugin {entry.name!r} ({entry.value}) failed to load: "
                f"{type(err).__name__}: {err}"
            ) from None
        if not isinstance(loaded, type(importlib)) and hasattr(loaded, "name"):
            register_method(loaded)


def get_method(name: str) -> RegisteredMethod:
    """The criterion method registered under ``name``.

    Raises
    ------
    SpecError
        When no method is registered under ``name`` (after looking at the
        installed plugins), naming the registered ones.
    """
    method = _METHODS.get(name) if isinstance(name, str) else None
    if method is None and isinstance(name, str):
        _load_plugins()
        method = _METHODS.get(name)
    if method is None:
        raise SpecError(f"`method` must be one of {method_names()}, got {name!r}")
    return method


def method_names() -> list[str]:
    """The names of the registered criterion methods, in registration order."""
    return list(_METHODS)


def registered_methods() -> dict[str, RegisteredMethod]:
    """The registered criterion methods by name (a copy)."""
    return dict(_METHODS)
