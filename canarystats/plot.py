"""Pictures of rollouts and of sequential statistics (the ``plot`` extra: matplotlib).

matplotlib is imported inside the functions, so ``import canarystats`` works
without it. Every function draws into the Axes it is given (or into a new
Figure) and returns the matplotlib ``Figure``.

- :func:`plot_timeline` — a replayed rollout: the traffic split over the
  assessments, each criterion's observed values against its threshold or the
  baseline's margin, the verdicts and aborts, and the final decision.
- :func:`plot_confidence_sequence` — an anytime-valid confidence sequence over
  the samples, against naive fixed-horizon intervals recomputed at every look.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import canarystats as cs
>>> from canarystats.plot import plot_timeline
>>> spec = cs.load_experiment(cs.data.tutorial_experiment_path())
>>> result = cs.replay(spec, cs.data.load_rollout("rolled_back"))
>>> fig = plot_timeline(result, experiment=spec)
>>> print(fig.axes[0].get_title())
rollout 0: ROLLBACK after iteration 8
final traffic: baseline 100 %, candidate 0 %
>>> import matplotlib.pyplot as plt
>>> plt.close(fig)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from canarystats.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from canarystats.replay import ReplayResult
    from canarystats.spec import ExperimentSpec

__all__ = ["VERDICT_STYLES", "plot_confidence_sequence", "plot_timeline"]

#: How each verdict (and an abort) is marked: matplotlib ``scatter`` keywords.
VERDICT_STYLES: dict[str, dict[str, Any]] = {
    "PASS": {"marker": "o", "color": "tab:green"},
    "FAIL": {"marker": "X", "color": "tab:red"},
    "INCONCLUSIVE": {"marker": "s", "color": "tab:gray"},
    "abort": {"marker": "v", "color": "black", "s": 120},
}


def _new_figure(n_rows: int) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    # a bare Figure (no pyplot): no global state, no backend needed to save it
    fig = Figure(figsize=(8.0, 2.2 + 2.4 * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _axes_list(ax: Any, n_rows: int) -> list[Axes] | None:
    if ax is None:
        return None
    axes = list(ax) if isinstance(ax, Sequence | np.ndarray) else [ax]
    if len(axes) != n_rows:
        raise SpecError(
            f"`ax` must be {n_rows} Axes (the traffic split, then one per criterion), "
            f"got {len(axes)}"
        )
    return axes


def _root_figure(ax: Axes) -> Figure:
    # a SubFigure's ``figure`` is its root Figure; a Figure's is itself (matplotlib >= 3.7)
    root: Figure = ax.figure.figure  # type: ignore[assignment,unused-ignore]
    return root


def _title(result: ReplayResult) -> str:
    how = (
        f"aborted at iteration {result.end_iteration}"
        if result.aborted
        else f"after iteration {result.end_iteration}"
    )
    base, cand = result.final_traffic
    return (
        f"rollout {result.rollout}: {result.outcome.upper()} {how}\n"
        f"final traffic: baseline {base:g} %, candidate {cand:g} %"
    )


def plot_timeline(
    result: ReplayResult,
    *,
    experiment: ExperimentSpec | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Draw a replayed rollout: traffic, each criterion's values and verdicts, the decision.

    The top panel shows the traffic split recommended at each assessment
    (baseline and candidate, in percent, as steps). Below it, one panel per
    criterion shows the candidate's and the baseline's observed values (the
    numbers Iter8's rules read: the rounded value of the window; for a
    non-point method, the same observed value, while the verdict is the
    method's), the criterion's threshold (a ``threshold`` tolerance) or the
    baseline's margin ``(1 ± tolerance) × baseline`` shaded (a ``delta``
    tolerance), and a marker per assessment for its verdict (PASS, FAIL,
    INCONCLUSIVE; see :data:`VERDICT_STYLES`) with an extra marker where the
    criterion asked to abort. The top panel's title states the decision.

    Parameters
    ----------
    result : ReplayResult
        A replay (:func:`canarystats.replay`).
    experiment : ExperimentSpec, optional
        The experiment replayed; its criteria give the thresholds and margins
        and the panels' labels. Without it only the observed values are drawn.
    ax : Axes or sequence of Axes, optional
        Where to draw: ``1 + n_criteria`` Axes (the traffic, then one per
        criterion; a single Axes for an experiment without criteria). By
        default a new Figure with one panel per row.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        For ``ax`` of the wrong length, or an ``experiment`` whose criteria do
        not match the timeline's.
    """
    tl = result.timeline
    per_k = tl.drop_duplicates("iteration")
    has_criteria = bool(tl["criterion"].notna().any())
    n_crit = int(tl["criterion"].max()) + 1 if has_criteria else 0
    crits = experiment.resolved_criteria() if experiment is not None else None
    if crits is not None and (
        len(crits) != n_crit
        or [c.metric for c in crits] != _metrics(tl, n_crit)
    ):
        raise SpecError(
            f"`experiment` has criteria on {[c.metric for c in crits]}, but the replay judged "
            f"{_metrics(tl, n_crit)}"
        )
    axes = _axes_list(ax, 1 + n_crit)
    if axes is None:
        fig, axes = _new_figure(1 + n_crit)
    else:
        fig = _root_figure(axes[0])

    k = per_k["iteration"].to_numpy(dtype=np.float64)
    top = axes[0]
    top.step(k, per_k["baseline_traffic"].to_numpy(float), where="post", label="baseline")
    top.step(k, per_k["candidate_traffic"].to_numpy(float), where="post", label="candidate")
    top.set_ylim(-5.0, 105.0)
    top.set_ylabel("traffic (%)")
    top.legend(loc="center right", fontsize="small")
    top.set_title(_title(result), fontsize="medium")
    if result.aborted:
        top.axvline(result.end_iteration, color="black", linestyle=":", label="abort")

    for i in range(n_crit):
        axc = axes[1 + i]
        rows = tl[tl["criterion"] == i]
        ki = rows["iteration"].to_numpy(dtype=np.float64)
        cand = rows["candidate_value"].to_numpy(dtype=np.float64)
        base = rows["baseline_value"].to_numpy(dtype=np.float64)
        axc.plot(ki, cand, color="tab:orange", label="candidate")
        axc.plot(ki, base, color="tab:blue", label="baseline")
        crit = crits[i] if crits is not None else None
        label = str(rows["metric"].iloc[0])
        if crit is not None:
            label = f"{crit.metric}\n{crit.tolerance_type} {crit.tolerance:g}, {crit.method}"
            if crit.tolerance_type == "threshold":
                axc.axhline(
                    float(crit.tolerance), color="tab:red", linestyle="--", label="threshold"
                )
            else:
                sign = 1.0 if crit.direction == "lower" else -1.0
                margin = (1.0 + sign * crit.tolerance) * base
                axc.plot(ki, margin, color="tab:red", linestyle="--", label="baseline margin")
                axc.fill_between(ki, base, margin, color="tab:blue", alpha=0.15)
        verdicts = rows["verdict"].to_numpy(dtype=object)
        for name in ("PASS", "FAIL", "INCONCLUSIVE"):
            hit = verdicts == name
            if hit.any():
                axc.scatter(ki[hit], cand[hit], label=name, zorder=3, **VERDICT_STYLES[name])
        aborts = rows["abort"].to_numpy(dtype=bool)
        if aborts.any():
            # an abort's verdict may have no value to sit on: place it at the bottom then
            y = np.where(np.isnan(cand[aborts]), np.nanmin(np.r_[cand, base, 0.0]), cand[aborts])
            axc.scatter(ki[aborts], y, label="abort", zorder=4, **VERDICT_STYLES["abort"])
        axc.set_ylabel(label)
        axc.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("assessment (iteration)")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    return fig


def _metrics(timeline: Any, n_crit: int) -> list[str]:
    """The metric of each criterion of a timeline, in criterion order."""
    first = timeline[timeline["iteration"] == timeline["iteration"].iloc[0]]
    return [str(m) for m in first["metric"].tolist()[:n_crit]]


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
    >>> import numpy as np
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_confidence_sequence
    >>> n = np.arange(50.0, 2001.0, 50.0)
    >>> s = np.round(0.03 * n)
    >>> lo, hi = cs.bernoulli_cs(s, n, 0.05)
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
    if ax is None:
        fig, (ax,) = _new_figure(1)
        fig.set_size_inches(8.0, 4.0)
    else:
        fig = _root_figure(ax)
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
    ax.set_ylabel("value")
    ax.legend(loc="best", fontsize="small")
    return fig
