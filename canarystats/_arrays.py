"""Shared array conventions of the package's value objects and results.

One rule each, used everywhere:

- :func:`readonly` / :func:`array_field`: array fields of frozen attrs objects
  are stored read-only and compare NaN equal to NaN (:func:`arrays_equal`);
  :func:`frozen_array` keeps an array that is read-only already (no copy), and
  :func:`freeze` freezes an array the caller has just made, in place;
- :func:`scalar_or_array`: a 0-d result comes back as a numpy scalar (scipy's
  rule), anything else as an array;
- :class:`TupleResult`: a result object with named fields that still unpacks
  like the tuple it replaced (``low, high = result``), as scipy's results do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import numpy as np

__all__ = [
    "ARRAY_EQ",
    "TupleResult",
    "array_field",
    "arrays_equal",
    "freeze",
    "frozen_array",
    "readonly",
    "result_field",
    "scalar_or_array",
]


def readonly(x: Any) -> Any:
    """A read-only copy of ``x`` as an array, keeping its dtype."""
    arr = np.array(x, dtype=np.asarray(x).dtype)
    arr.flags.writeable = False
    return arr


def frozen_array(value: Any) -> Any:
    """A read-only array; an array that is read-only already is kept, not copied."""
    arr = np.asarray(value)
    if arr.flags.writeable or arr is not value:
        arr = np.array(arr)
        arr.flags.writeable = False
    return arr


def freeze(value: Any) -> Any:
    """``value`` as a read-only array, frozen in place (for an array the caller has just made)."""
    arr = value if isinstance(value, np.ndarray) else np.array(value)
    arr.flags.writeable = False
    return arr


def arrays_equal(a: Any, b: Any) -> bool:
    """The equality of array fields: same shape and values, NaN equal to NaN, None only to None."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


#: The equality of every array field of the package's value objects and results.
ARRAY_EQ = attrs.cmp_using(eq=arrays_equal)


def result_field(**kwargs: Any) -> Any:
    """An attrs field of a result object: stored as given, compared with :func:`arrays_equal`."""
    return attrs.field(eq=ARRAY_EQ, **kwargs)


def array_field(**kwargs: Any) -> Any:
    """An attrs field stored as a read-only array, compared with :func:`arrays_equal`.

    A read-only array is stored as it is (no copy: nobody can change it); anything
    else is copied (:func:`frozen_array`).
    """
    return attrs.field(converter=frozen_array, eq=ARRAY_EQ, **kwargs)


def scalar_or_array(x: Any) -> Any:
    """``x`` as an array, or as a numpy scalar when it is 0-d."""
    arr = np.asarray(x)
    return arr[()] if arr.ndim == 0 else arr


class TupleResult:
    """Mixin for attrs result classes that unpack like a tuple of some of their fields.

    A subclass names the fields, in order, in ``_tuple_fields``; ``len``,
    iteration and indexing follow them, so ``low, high = f(...)`` keeps working
    where ``f`` used to return a bare tuple.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ()

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, name) for name in self._tuple_fields)

    def __len__(self) -> int:
        return len(self._tuple_fields)

    def __getitem__(self, index: int | slice) -> Any:
        return tuple(self)[index]
