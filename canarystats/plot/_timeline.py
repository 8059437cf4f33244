"""The rollout timeline: traffic, criteria, verdicts and the decision of a replay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from canarystats.errors import SpecError
from canarystats.plot._common import VERDICT_STYLES, axes_list, new_figure, root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from canarystats.replay import ReplayResult
    from canarystats.spec import ExperimentSpec

__all__ = ["plot_timeline"]


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

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_timeline
    >>> spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    >>> fig = plot_timeline(cs.replay(spec, cs.data.load_rollout("promoted")), experiment=spec)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['traffic (%)', 'iter8_latency\\nthreshold 0.2, point']
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
    axes = axes_list(ax, 1 + n_crit, "the traffic split, then one per criterion")
    if axes is None:
        fig, axes = new_figure(1 + n_crit)
    else:
        fig = root_figure(axes[0])

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
