"""The sidedness of tests and confidence bounds, in scipy's vocabulary: one list, one check."""

from __future__ import annotations

from canarystats.errors import SpecError

__all__ = ["ALTERNATIVES", "check_alternative"]

#: The alternatives of every test and bound: ``"two-sided"``, ``"less"``, ``"greater"``.
ALTERNATIVES: tuple[str, ...] = ("two-sided", "less", "greater")


def check_alternative(alternative: str) -> str:
    """``alternative`` checked to be one of :data:`ALTERNATIVES`."""
    if alternative not in ALTERNATIVES:
        raise SpecError(f"`alternative` must be one of {list(ALTERNATIVES)}, got {alternative!r}")
    return alternative
