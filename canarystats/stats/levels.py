"""Confidence levels: the one vocabulary of the kernels' levels, and the deprecated ``alpha``.

Every public kernel takes its level as ``confidence_level`` (scipy's name,
``1 - alpha`` of the same statement) and computes with the error level
``alpha = 1.0 - confidence_level``. :func:`level_from` is the one place that
reads the level, validates it and accepts the old ``alpha=`` keyword as a
deprecated alias.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats.errors import SpecError

__all__ = ["level_from"]


def _checked(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"`{name}` must lie in (0, 1), got {value!r}") from None
    if not np.all((arr > 0) & (arr < 1)):
        raise SpecError(f"`{name}` must lie in (0, 1), got {value!r}")
    return arr


def level_from(
    confidence_level: ArrayLike | None, alpha: ArrayLike | None, *, default: float | None
) -> Any:
    """The error level ``alpha`` a kernel computes with, from ``confidence_level`` or ``alpha``.

    Parameters
    ----------
    confidence_level : array_like of float or None
        The level given (``None``: not given); each value in (0, 1).
    alpha : array_like of float or None
        The deprecated alias (``None``: not given): the error level itself,
        returned as given (a ``DeprecationWarning`` names both).
    default : float or None
        The confidence level when neither is given; ``None`` if the level is
        required.

    Returns
    -------
    ndarray of float
        ``1.0 - confidence_level`` (computed once), or ``alpha`` as given.

    Raises
    ------
    SpecError
        If both are given, or a level is outside (0, 1).
    TypeError
        If neither is given and there is no default.

    Examples
    --------
    >>> float(level_from(0.95, None, default=None)) == 1.0 - 0.95
    True
    """
    if alpha is not None:
        if confidence_level is not None:
            raise SpecError(
                "give `confidence_level` or its deprecated alias `alpha` (= 1 - confidence_level), "
                "not both"
            )
        warnings.warn(
            "`alpha` is deprecated: give `confidence_level` (= 1 - alpha) instead",
            DeprecationWarning,
            stacklevel=3,
        )
        return _checked("alpha", alpha)
    if confidence_level is None:
        if default is None:
            raise TypeError("missing required keyword-only argument: 'confidence_level'")
        confidence_level = default
    return 1.0 - _checked("confidence_level", confidence_level)
