"""Anytime-valid statistics over looks: confidence sequences and p-value paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from canarystats.errors import SpecError
from canarystats.plot._common import as_float, one_axes
from canarystats.stats.levels import level_from

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_confidence_sequence", "plot_pvalue_paths"]


def plot_confidence_sequence(
    n: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    estimate: ArrayLike | None = None,
    naive_lower: ArrayLike | None = None,
    naive_upper: ArrayLike | None = None,
    reference: float | None = None,
    reference_label: str = "threshold",
    ylabel: str = "value",
    ax: Axes | None = None,
) -> Figure:
    """Draw a confidence sequence over the samples, against naive fixed-horizon intervals.

    Parameters
    ----------
    n : array_like of float, shape (n_looks,)
        The sample size at each look (the x axis).
    lower, upper : array_like of float, shape (n_looks,)
        The anytime-valid bounds at each look, e.g. from
        :func:`canarystats.bernoulli_cs` or :func:`canarystats.normal_mean_cs`
        (or their running intersection, as :class:`~canarystats.SequentialMethod`
        keeps). Drawn as a shaded band.
    estimate : array_like of float, shape (n_looks,), optional
        The point estimate at each look (a line).
    naive_lower, naive_upper : array_like of float, shape (n_looks,), optional
        Fixed-horizon intervals recomputed at every look (dashed lines): valid
        at one planned look only, so reading them at every look errs more
        often than their level says.
    reference : float, optional
        A horizontal line, e.g. the criterion's threshold or the true value.
    reference_label : str, optional
        The legend label of ``reference``.
    ylabel : str, optional
        The y axis' label (the quantity the sequence bounds).
    ax : Axes, optional
        Where to draw; by default a new Figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        When the arrays' shapes differ, or only one naive bound is given.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_confidence_sequence
    >>> n = np.arange(50.0, 2001.0, 50.0)
    >>> s = np.round(0.03 * n)
    >>> lo, hi = cs.bernoulli_cs(s, n, confidence_level=0.95)
    >>> fig = plot_confidence_sequence(n, lo, hi, estimate=s / n, reference=0.05)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['confidence sequence', 'estimate', 'threshold']
    """
    x = np.asarray(n, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    arrays = {"lower": lo, "upper": hi}
    if estimate is not None:
        arrays["estimate"] = np.asarray(estimate, dtype=np.float64)
    if (naive_lower is None) != (naive_upper is None):
        raise SpecError("`naive_lower` and `naive_upper` must be given together")
    if naive_lower is not None and naive_upper is not None:
        arrays["naive_lower"] = np.asarray(naive_lower, dtype=np.float64)
        arrays["naive_upper"] = np.asarray(naive_upper, dtype=np.float64)
    for name, arr in arrays.items():
        if arr.shape != x.shape or x.ndim != 1:
            raise SpecError(
                f"`{name}` must have the shape of `n`, one-dimensional {x.shape}, got {arr.shape}"
            )
    fig, ax = one_axes(ax)
    ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.25, label="confidence sequence")
    if "estimate" in arrays:
        ax.plot(x, arrays["estimate"], color="tab:blue", label="estimate")
    if "naive_lower" in arrays:
        ax.plot(x, arrays["naive_lower"], color="tab:orange", linestyle="--",
                label="fixed-horizon interval")
        ax.plot(x, arrays["naive_upper"], color="tab:orange", linestyle="--")
    if reference is not None:
        ax.axhline(reference, color="tab:red", linestyle=":", label=reference_label)
    ax.set_xlabel("samples")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize="small")
    return fig


#: The y scales :func:`plot_pvalue_paths` draws on.
YSCALES: tuple[str, ...] = ("log", "linear")

_FLOOR = 1e-12  # the log axis never reaches below this


def plot_pvalue_paths(
    n: ArrayLike,
    pvalue: ArrayLike,
    *,
    naive_pvalue: ArrayLike | None = None,
    confidence_level: float | None = None,
    label: str = "anytime-valid",
    naive_label: str = "fixed-horizon, every look",
    xlabel: str = "samples",
    yscale: str = "log",
    ax: Axes | None = None,
    alpha: float | None = None,
) -> Figure:
    """Draw p-value paths over the looks: anytime-valid against fixed-horizon, with α.

    An anytime-valid p-value (e.g. ``RateRatioResult.pvalue`` of
    :func:`canarystats.rate_ratio_test`, :func:`canarystats.multinomial_pvalue`,
    or ``exp(-running max of log e)`` from :func:`canarystats.msprt_normal_log_e`)
    may be read at every look: the chance that it *ever* falls to α is at most
    α. A fixed-horizon p-value (:func:`canarystats.rate_test`,
    :func:`canarystats.mean_test`, ...) recomputed at every look falls to α at
    some look far more often. Each path is a line; a cross marks the first look
    at which a path reaches α, and the legend counts the paths that do.

    Parameters
    ----------
    n : array_like of float, shape (n_looks,)
        The sample size (or the time) at each look: the x axis.
    pvalue : array_like of float, shape (n_looks,) or (n_paths, n_looks)
        Anytime-valid p-values, one row per path (a stream, a simulated
        experiment); NaN where a look has none.
    naive_pvalue : array_like of float, optional
        Fixed-horizon p-values of the same paths recomputed at every look,
        the shape of ``pvalue`` (dashed).
    confidence_level : float, default 0.95
        ``1 - α``, α the level: a horizontal line at α, and the crossings
        counted; in (0, 1).
    label, naive_label : str, optional
        The legend labels of the two kinds of path.
    xlabel : str, default "samples"
    yscale : {"log", "linear"}, default "log"
        A log axis shows how far below α a path goes; zeros are clipped to
        the bottom of the axis (at least 1e-12).
    ax : Axes, optional
        Where to draw; by default a new Figure.
    alpha : float, optional
        Deprecated alias: α itself, ``confidence_level = 1 - alpha``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        For shapes that do not match, p-values outside [0, 1], a
        ``confidence_level`` outside (0, 1) or an unknown ``yscale``.

    Examples
    --------
    Two streams of 5xx counts of an A/A test (both versions fail 5 % of
    requests), 200 requests per version a look:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_pvalue_paths
    >>> rng = np.random.default_rng(1)
    >>> requests = np.cumsum(np.full((2, 50, 2), 200.0), axis=1)
    >>> errors = np.cumsum(rng.binomial(200, 0.05, size=(2, 50, 2)), axis=1)
    >>> anytime = cs.rate_ratio_test(errors, requests).pvalue
    >>> naive = cs.rate_test(errors, requests, method="score").pvalue
    >>> fig = plot_pvalue_paths(requests[0, :, 1], anytime, naive_pvalue=naive)
    >>> for text in fig.axes[0].get_legend().get_texts():
    ...     print(text.get_text())
    anytime-valid
    fixed-horizon, every look
    α = 0.05
    anytime-valid: first p ≤ α (0 of 2)
    fixed-horizon, every look: first p ≤ α (1 of 2)
    """
    if yscale not in YSCALES:
        raise SpecError(f"`yscale` must be one of {list(YSCALES)}, got {yscale!r}")
    level = float(level_from(confidence_level, alpha, default=0.95))
    x = as_float("n", n)
    paths = {"pvalue": (as_float("pvalue", pvalue, ndim=(1, 2)), label)}
    if naive_pvalue is not None:
        paths["naive_pvalue"] = (as_float("naive_pvalue", naive_pvalue, ndim=(1, 2)), naive_label)
    for name, (p, _) in paths.items():
        if p.shape[-1] != x.shape[0]:
            raise SpecError(
                f"`{name}` must have one value per look ({x.shape[0]} looks in `n`), "
                f"got shape {p.shape}"
            )
        if name == "naive_pvalue" and p.shape != paths["pvalue"][0].shape:
            raise SpecError(
                f"`naive_pvalue` must have the shape of `pvalue` {paths['pvalue'][0].shape}, "
                f"got {p.shape}"
            )
        outside = p[~np.isnan(p) & ((p < 0.0) | (p > 1.0))]
        if outside.size:
            raise SpecError(f"`{name}` must hold p-values in [0, 1], got {float(outside[0])!r}")
    fig, ax = one_axes(ax)
    styles: dict[str, dict[str, Any]] = {
        "pvalue": {"color": "tab:blue", "linestyle": "-"},
        "naive_pvalue": {"color": "tab:orange", "linestyle": "--"},
    }
    crossings = []
    for name, (p, text) in paths.items():
        rows = np.atleast_2d(p)
        width = 1.5 if len(rows) == 1 else 0.8
        shade = 1.0 if len(rows) == 1 else max(0.25, min(0.8, 8.0 / len(rows)))
        for i, row in enumerate(rows):
            ax.plot(x, row, label=text if i == 0 else "_nolegend_", linewidth=width,
                    alpha=shade, **styles[name])
        with np.errstate(invalid="ignore"):
            hit = rows <= level
        first = np.argmax(hit, axis=1)
        crossed = hit.any(axis=1)
        crossings.append((name, text, x[first[crossed]], rows[crossed, first[crossed]],
                          int(crossed.sum()), len(rows)))
    ax.axhline(level, color="tab:red", linestyle=":", label=f"α = {level:g}")
    for name, text, xs, ys, hits, total in crossings:
        ax.scatter(xs, ys, marker="x", zorder=3, color=styles[name]["color"],
                   label=f"{text}: first p ≤ α ({hits} of {total})")
    if yscale == "log":
        ax.set_yscale("log", nonpositive="clip")
        values = np.concatenate([p.ravel() for p, _ in paths.values()])
        positive = values[values > 0]
        low = min(level / 10.0, float(positive.min()) if positive.size else level / 10.0)
        ax.set_ylim(max(low / 2.0, _FLOOR), 1.5)
    else:
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("p-value")
    ax.legend(loc="lower left", fontsize="small")
    return fig
