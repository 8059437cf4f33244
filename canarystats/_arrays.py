"""Read-only array fields for the frozen attrs states of the criterion methods."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

__all__ = ["array_field", "readonly"]


def readonly(x: Any) -> Any:
    """A read-only copy of ``x`` as an array, keeping its dtype."""
    arr = np.array(x, dtype=np.asarray(x).dtype)
    arr.flags.writeable = False
    return arr


def array_field(**kwargs: Any) -> Any:
    """An attrs field stored as a read-only array, compared with NaN equal to NaN."""
    return attrs.field(
        converter=readonly,
        eq=attrs.cmp_using(eq=lambda a, b: np.array_equal(a, b, equal_nan=True)),
        **kwargs,
    )
