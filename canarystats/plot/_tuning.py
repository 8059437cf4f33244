"""Tuning: operating-characteristic curves and the Pareto front of a tuning grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from canarystats.errors import SpecError
from canarystats.plot._common import check_columns, one_axes
from canarystats.simulate.tuning import pareto_front

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_operating_characteristics", "plot_pareto_front"]

_OUTCOME_NAMES = {
    "p_promote": "P(promote)",
    "p_rollback": "P(rollback)",
    "p_abort": "P(abort)",
}
_OUTCOME_STYLES = {
    "p_promote": {"color": "tab:green", "marker": "o"},
    "p_rollback": {"color": "tab:red", "marker": "s"},
    "p_abort": {"color": "black", "marker": "v"},
}
_LINESTYLES = ("-", "--", ":", "-.")


def _interval_columns(frame: pd.DataFrame, column: str) -> tuple[str, str]:
    """The Monte Carlo interval's columns of ``column``.

    ``<column>_low`` / ``<column>_high`` (a :func:`tune` frame), or, in a frame
    merged with suffixes, ``<name>_low<suffix>`` / ``<name>_high<suffix>``
    (``p_rollback_low_equal`` for ``p_rollback_equal``).
    """
    cuts = [len(column)] + [i for i in range(len(column) - 1, 0, -1) if column[i] == "_"]
    for i in cuts:
        low, high = (f"{column[:i]}_{end}{column[i:]}" for end in ("low", "high"))
        if low in frame.columns and high in frame.columns:
            return low, high
    raise SpecError(
        f"`frame` has no Monte Carlo interval of {column!r} (columns {column + '_low'!r} and "
        f"{column + '_high'!r}, or with a merge's suffix after `_low` / `_high`); pass "
        "`intervals=False` to draw without"
    )


def _outcome(column: str) -> tuple[str, dict[str, Any]]:
    """The legend label and style of an outcome column (``p_rollback_equal``: suffixed)."""
    if column in _OUTCOME_NAMES:
        return _OUTCOME_NAMES[column], dict(_OUTCOME_STYLES[column])
    for base, name in _OUTCOME_NAMES.items():
        if column.startswith(base + "_"):
            return f"{name}, {column[len(base) + 1:]}", dict(_OUTCOME_STYLES[base])
    return column, {"marker": "o"}


def _positions(values: pd.Series) -> tuple[np.ndarray, list[Any] | None]:
    """Numeric x values, or positions 0, 1, ... (and their labels) for categories."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64), None
    cats = list(dict.fromkeys(values.tolist()))
    index = {c: i for i, c in enumerate(cats)}
    return np.array([index[v] for v in values.tolist()], dtype=np.float64), cats


def plot_operating_characteristics(
    frame: pd.DataFrame,
    x: str,
    *,
    outcomes: Sequence[str] = ("p_promote", "p_rollback"),
    by: str | None = None,
    intervals: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Draw operating-characteristic curves: P(promote), P(rollback) against a parameter.

    Each outcome column is a line over ``x`` (sorted), with its Monte Carlo
    interval shaded from the ``<outcome>_low`` / ``<outcome>_high`` columns
    that :func:`canarystats.tune` and
    :meth:`~canarystats.OperatingCharacteristicsResult.to_dict` give. With
    ``by``, one line per value of that column (e.g. the criterion ``method``
    of a tuning grid, or the scenario), told apart by colour, the outcomes by
    line style.

    ``x`` is a grid column (``tolerance``, ``sample_size``, ``step_size``,
    ...) or any column added to the frame, such as the regression size of
    the scenario each row was simulated under; a non-numeric column is
    placed at evenly spaced positions in order of appearance.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per simulated setting, e.g. a :func:`canarystats.tune` frame
        (one scenario or several), several concatenated, or rows of
        ``{"regression": r, **operating_characteristics(...).to_dict()}``.
    x : str
        The column on the x axis.
    outcomes : sequence of str, default ("p_promote", "p_rollback")
        Probability columns to draw: ``p_abort`` too, or the suffixed columns
        of a multi-scenario :func:`canarystats.tune` (or of frames merged with
        suffixes) such as ``p_rollback_equal``, labelled "P(rollback), equal".
    by : str, optional
        A column whose values each get their own curves.
    intervals : bool, default True
        Shade the Monte Carlo intervals: the columns ``<outcome>_low`` and
        ``<outcome>_high``, or in a frame merged with suffixes
        ``<name>_low<suffix>`` and ``<name>_high<suffix>``.
    ax : Axes, optional
        Where to draw; by default a new Figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        For a column that is not in the frame, an empty frame or no outcome.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> import canarystats as cs
    >>> from canarystats.data.make_rollouts import tutorial_spec
    >>> from canarystats.plot import plot_operating_characteristics
    >>> rows = []
    >>> for worse in (1.0, 1.25, 1.5):
    ...     scenario = cs.Scenario(request_rate=1.0, mean_latency=(0.15, 0.15 * worse))
    ...     oc = cs.operating_characteristics(tutorial_spec(), scenario, n=500, rng=1)
    ...     rows.append({"latency ratio": worse, **oc.to_dict()})
    >>> fig = plot_operating_characteristics(pd.DataFrame(rows), "latency ratio")
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['P(promote)', 'P(rollback)']
    >>> fig.axes[0].get_lines()[1].get_ydata().tolist()
    [0.002, 0.274, 0.9]
    """
    outcomes = list(outcomes)
    if not outcomes:
        raise SpecError("`outcomes` must name at least one column, got none")
    check_columns(frame, [x, *outcomes, *([by] if by is not None else [])])
    bands = {o: _interval_columns(frame, o) for o in outcomes} if intervals else {}
    if len(frame) == 0:
        raise SpecError("`frame` has no rows")
    fig, ax = one_axes(ax)
    groups: list[tuple[Any, pd.DataFrame]] = (
        [(None, frame)] if by is None else list(frame.groupby(by, sort=False))
    )
    xs_all, cats = _positions(frame[x])
    named = [_outcome(o) for o in outcomes]
    if len({style.get("color") for _, style in named}) < len(named):
        for j, (_, style) in enumerate(named):  # two outcomes would share a colour
            style["color"] = f"C{j % 10}"
    for g, (value, part) in enumerate(groups):
        xs = xs_all[frame.index.get_indexer(part.index)]
        order = np.argsort(xs, kind="stable")
        xs = xs[order]
        for j, outcome in enumerate(outcomes):
            name, style = named[j][0], dict(named[j][1])
            if by is not None:
                style["color"] = f"C{g % 10}"
                style["linestyle"] = _LINESTYLES[j % len(_LINESTYLES)]
                name = f"{name}, {by}={value}"
            y = part[outcome].to_numpy(dtype=np.float64)[order]
            line = ax.plot(xs, y, label=name, **style)[0]
            if intervals:
                low = part[bands[outcome][0]].to_numpy(dtype=np.float64)[order]
                high = part[bands[outcome][1]].to_numpy(dtype=np.float64)[order]
                ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if cats is not None:
        ax.set_xticks(np.arange(len(cats)), [str(c) for c in cats])
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(x)
    ax.set_ylabel("probability")
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_pareto_front(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    objectives: Sequence[str] | None = None,
    senses: Sequence[str] | None = None,
    annotate: Sequence[str] | None = None,
    intervals: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Draw a tuning grid's points on two objectives, with the Pareto front highlighted.

    Every row of ``frame`` is a grey point at ``(x, y)``; the rows of
    :func:`canarystats.pareto_front` (those no other row beats on every
    objective at once) are drawn larger; when the objectives are ``x`` and
    ``y`` alone, the front is joined as a line in order of ``x``.

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. a :func:`canarystats.tune` frame; with several scenarios (or two
        frames merged on the grid columns) objectives of different scenarios
        face each other, ``p_rollback_equal`` against ``p_promote_worse``.
    x, y : str
        The objective columns on the axes.
    objectives : sequence of str, optional
        The objectives that define the front; by default ``(x, y)``. With
        more than two, the front is drawn in the projection on ``x`` and ``y``
        (a front point may then look dominated there).
    senses : sequence of {"min", "max"}, optional
        Per objective (default all ``"min"``), as :func:`canarystats.pareto_front`.
    annotate : sequence of str, optional
        Columns whose values label each front point (e.g. the grid's keys).
    intervals : bool, default False
        Error bars from the Monte Carlo intervals of :func:`canarystats.tune`:
        the ``<x>_low`` / ``<x>_high`` and ``<y>_low`` / ``<y>_high``
        columns, or with a merge's suffix after ``_low`` / ``_high``
        (``p_rollback_low_equal`` for ``p_rollback_equal``).
    ax : Axes, optional
        Where to draw; by default a new Figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        For a column that is not in the frame, and whatever
        :func:`canarystats.pareto_front` rejects.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from canarystats.plot import plot_pareto_front
    >>> frame = pd.DataFrame({"tolerance": [0.2, 0.2, 0.25, 0.25], "step_size": [20, 40, 20, 40],
    ...                       "p_rollback": [0.006, 0.001, 0.0, 0.0],
    ...                       "exposure": [85.0, 138.0, 124.0, 168.0]})
    >>> fig = plot_pareto_front(frame, "p_rollback", "exposure",
    ...                         annotate=["tolerance", "step_size"])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['grid points (4)', 'Pareto front (2)']
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['tolerance=0.2, step_size=20', 'tolerance=0.25, step_size=20']
    """
    objectives = [x, y] if objectives is None else list(objectives)
    check_columns(frame, [x, y, *objectives, *(annotate or [])])
    bands = [_interval_columns(frame, c) for c in (x, y)] if intervals else []
    front = pareto_front(frame, objectives, senses)
    fig, ax = one_axes(ax)
    fx, fy = frame[x].to_numpy(dtype=np.float64), frame[y].to_numpy(dtype=np.float64)
    if intervals:
        xerr = np.abs(frame[list(bands[0])].to_numpy(dtype=np.float64).T - fx)
        yerr = np.abs(frame[list(bands[1])].to_numpy(dtype=np.float64).T - fy)
        ax.errorbar(fx, fy, xerr=xerr, yerr=yerr, fmt="none", ecolor="tab:gray", alpha=0.6,
                    label="_nolegend_")
    ax.scatter(fx, fy, color="tab:gray", s=25, label=f"grid points ({len(frame)})")
    px, py = front[x].to_numpy(dtype=np.float64), front[y].to_numpy(dtype=np.float64)
    if set(objectives) == {x, y}:
        # a front in the plotted plane is a staircase; a front in more objectives is not a
        # curve in this plane, so its points are not joined
        order = np.lexsort((py, px))
        ax.plot(px[order], py[order], color="tab:red", linestyle="--", linewidth=1,
                label="_nolegend_")
    ax.scatter(px, py, color="tab:red", s=70, zorder=3, label=f"Pareto front ({len(front)})")
    for (_, row), xi, yi in zip(front.iterrows(), px, py, strict=True):
        if annotate:
            text = ", ".join(f"{c}={row[c]:g}" if isinstance(row[c], float | int | np.number)
                             else f"{c}={row[c]}" for c in annotate)
            ax.annotate(text, (xi, yi), xytext=(5, 5), textcoords="offset points",
                        fontsize="x-small")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(loc="best", fontsize="small")
    return fig
