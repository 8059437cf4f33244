"""What the plot functions share: new figures, Axes, validation, verdict styles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: How each verdict (and an abort) is marked: matplotlib ``scatter`` keywords.
VERDICT_STYLES: dict[str, dict[str, Any]] = {
    "PASS": {"marker": "o", "color": "tab:green"},
    "FAIL": {"marker": "X", "color": "tab:red"},
    "INCONCLUSIVE": {"marker": "s", "color": "tab:gray"},
    "abort": {"marker": "v", "color": "black", "s": 120},
}

_F = NDArray[np.float64]


def new_figure(
    n_rows: int, *, height: float | None = None, sharex: bool = True
) -> tuple[Figure, list[Axes]]:
    """A bare Figure (no pyplot: no global state, no backend needed to save it)."""
    from matplotlib.figure import Figure

    tall = 2.2 + 2.4 * n_rows if height is None else height
    fig = Figure(figsize=(8.0, tall), layout="constrained")
    axes = fig.subplots(n_rows, 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, list(axes)


def axes_list(ax: Any, n_rows: int, what: str) -> list[Axes] | None:
    """``ax`` as a list of ``n_rows`` Axes (None: make a Figure)."""
    if ax is None:
        return None
    axes = list(ax) if isinstance(ax, Sequence | np.ndarray) else [ax]
    if len(axes) != n_rows:
        raise SpecError(f"`ax` must be {n_rows} Axes ({what}), got {len(axes)}")
    return axes


def root_figure(ax: Axes) -> Figure:
    """The Figure an Axes belongs to (the root one for an Axes in a SubFigure)."""
    # a SubFigure's ``figure`` is its root Figure; a Figure's is itself (matplotlib >= 3.7)
    root: Figure = ax.figure.figure  # type: ignore[assignment,unused-ignore]
    return root


def one_axes(ax: Axes | None, height: float = 4.0) -> tuple[Figure, Axes]:
    """The Figure and Axes to draw a single panel into."""
    if ax is None:
        fig, (new,) = new_figure(1, height=height)
        return fig, new
    return root_figure(ax), ax


def check_level(name: str, value: Any) -> float:
    """A probability strictly between 0 and 1 (``alpha``, ``confidence``)."""
    try:
        level = float(value)
    except (TypeError, ValueError):
        level = float("nan")
    if not 0.0 < level < 1.0:
        raise SpecError(f"`{name}` must be a number in (0, 1), got {value!r}")
    return level


def as_float(name: str, value: ArrayLike, *, ndim: tuple[int, ...] = (1,)) -> _F:
    """``value`` as a float64 array of an allowed number of dimensions."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"`{name}` must be numeric, got {value!r}") from exc
    if arr.ndim not in ndim:
        dims = " or ".join(str(d) for d in ndim)
        raise SpecError(f"`{name}` must be {dims}-dimensional, got shape {arr.shape}")
    return arr


def check_columns(frame: Any, names: Sequence[str], what: str = "`frame`") -> None:
    """Every name is a column of the DataFrame ``frame``."""
    columns = getattr(frame, "columns", None)
    if columns is None:
        raise SpecError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [n for n in names if n not in columns]
    if missing:
        raise SpecError(f"{what} has no column {missing[0]!r}; its columns: {list(columns)}")
