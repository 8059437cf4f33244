"""The rank judge: per-metric shifts, intervals and tolerance bands, and the canary score."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from canarystats.errors import SpecError
from canarystats.plot._common import axes_list, new_figure, root_figure
from canarystats.stats.kayenta import MetricClass, MetricClassification, ScoreClass, ScoreResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["METRIC_CLASS_STYLES", "plot_rank_summary"]

#: How each :class:`~canarystats.MetricClass` marks a metric's estimate: ``scatter`` keywords.
METRIC_CLASS_STYLES: dict[str, dict[str, Any]] = {
    "PASS": {"marker": "o", "color": "tab:green"},
    "HIGH": {"marker": "^", "color": "tab:red"},
    "LOW": {"marker": "v", "color": "tab:purple"},
    "NODATA": {"marker": "s", "color": "tab:gray"},
    "NODATA_FAIL": {"marker": "s", "color": "black"},
}

_FIELDS = ("classification", "estimate", "ci_low", "ci_high", "bound", "effect", "pvalue",
           "critical", "n_baseline", "n_candidate")


def _score_title(score: ScoreResult) -> str:
    summary = np.asarray(score.summary)
    if summary.shape != ():
        raise SpecError(f"`score` must score one canary (batch shape ()), got {summary.shape}")
    groups = ", ".join(
        f"{name} {'-' if math.isnan(g) else f'{g:g}'}"
        for name, g in zip(score.group_names, np.asarray(score.group_scores, float), strict=True)
    )
    why = ""
    if bool(score.critical_failure):
        why = " (critical failure)"
    elif bool(score.too_many_nodata):
        why = " (too many metrics without data)"
    verdict = ScoreClass(int(score.verdict)).name
    return f"canary score {float(summary):g}: {verdict}{why}; groups: {groups}"


def plot_rank_summary(
    classification: MetricClassification,
    *,
    names: Sequence[str] | None = None,
    score: ScoreResult | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Draw the rank judge's verdict on each metric, and the canary score.

    One panel per metric (metrics have their own units): the Hodges-Lehmann
    shift of the candidate over the baseline (a marker styled by its class,
    see :data:`METRIC_CLASS_STYLES`), its confidence interval (a line), the
    tolerance band ``± tolerance × |estimate|`` the interval must clear for
    a High or a Low (shaded) and zero (no shift). Each panel's title gives
    the class, the effect size, the p-value and the sample sizes; a critical
    failure is marked. An infinite interval end (a binned sample's overflow
    bucket, a one-sided interval) runs to the panel's edge.

    Parameters
    ----------
    classification : MetricClassification
        From :func:`canarystats.classify_metric`, batch shape ``()`` (one
        metric) or ``(n_metrics,)``.
    names : sequence of str, optional
        The metrics' names (panel labels); by default ``metric 0``, ...
    score : ScoreResult, optional
        From :func:`canarystats.score_groups` for these metrics (batch shape
        ``()``): its summary, verdict and group scores title the first panel.
    ax : Axes or sequence of Axes, optional
        ``n_metrics`` Axes to draw into; by default a new Figure, one row per
        metric.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        For a classification over a batch of more than one dimension, names
        or Axes of the wrong number, or a score over a batch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_rank_summary
    >>> rng = np.random.default_rng(7)
    >>> baseline = rng.lognormal(np.log([[0.1], [0.02]]), 0.5, size=(2, 200))
    >>> candidate = rng.lognormal(np.log([[0.1], [0.03]]), 0.5, size=(2, 200))
    >>> mc = cs.classify_metric(baseline, candidate)
    >>> score = cs.score_groups(mc.classification, ["latency", "latency"])
    >>> fig = plot_rank_summary(mc, names=["p50 latency", "db latency"], score=score)
    >>> print(fig.axes[0].get_title().strip())
    canary score 50: FAIL; groups: latency 50
    >>> [ax.get_title(loc="left").split(":")[0] for ax in fig.axes]
    ['PASS', 'HIGH']
    """
    if not isinstance(classification, MetricClassification):
        raise SpecError(
            "`classification` must be a MetricClassification (canarystats.classify_metric), "
            f"got {type(classification).__name__}"
        )
    fields = {f: np.atleast_1d(np.asarray(getattr(classification, f))) for f in _FIELDS}
    shape = np.shape(classification.classification)
    if len(shape) > 1:
        raise SpecError(
            "`classification` must classify one metric or a vector of metrics, got batch "
            f"shape {shape}"
        )
    n = fields["classification"].shape[0]
    labels = [f"metric {i}" for i in range(n)] if names is None else [str(s) for s in names]
    if len(labels) != n:
        raise SpecError(f"`names` must name the {n} metrics, got {len(labels)} names")
    title = _score_title(score) if score is not None else None
    axes = axes_list(ax, n, "one per metric")
    if axes is None:
        fig, axes = new_figure(n, height=1.2 + 1.5 * n, sharex=False)
    else:
        fig = root_figure(axes[0])

    for i, axm in enumerate(axes):
        cls = MetricClass(int(fields["classification"][i])).name
        est, lo, hi, bound = (float(fields[f][i]) for f in ("estimate", "ci_low", "ci_high",
                                                             "bound"))
        finite = [v for v in (est, lo, hi, bound, -bound, 0.0) if math.isfinite(v)]
        left, right = min(finite), max(finite)
        pad = 0.1 * (right - left) if right > left else 1.0
        left, right = left - pad, right + pad
        axm.axvline(0.0, color="black", linewidth=0.8)
        if math.isfinite(bound):
            axm.axvspan(-bound, bound, color="tab:gray", alpha=0.2, label="tolerance band")
        if not (math.isnan(lo) or math.isnan(hi)):
            ends = [min(max(lo, left), right), min(max(hi, left), right)]
            axm.plot(ends, [0.0, 0.0], color=METRIC_CLASS_STYLES[cls]["color"], linewidth=3,
                     solid_capstyle="butt", label="interval")
        if math.isfinite(est):
            axm.scatter([est], [0.0], s=80, zorder=3, label=f"estimate ({cls})",
                        **METRIC_CLASS_STYLES[cls])
        effect, pvalue = float(fields["effect"][i]), float(fields["pvalue"][i])
        sizes = f"n = {int(fields['n_baseline'][i])} / {int(fields['n_candidate'][i])}"
        critical = ", CRITICAL" if bool(fields["critical"][i]) else ""
        axm.set_title(
            f"{cls}{critical}: effect {effect:.3g}, p = {pvalue:.2g}, {sizes}",
            loc="left", fontsize="small",
        )
        axm.set_xlim(left, right)
        axm.set_ylim(-1.0, 1.0)
        axm.set_yticks([])
        axm.set_ylabel(labels[i], rotation=0, ha="right", va="center")
    # one legend, on the first panel that has something to explain (no data: nothing drawn)
    drawn = [a for a in axes if a.get_legend_handles_labels()[0]]
    if drawn:
        drawn[0].legend(loc="upper right", fontsize="x-small", ncols=3)
    if title is not None:  # a line above the first metric's own (left) title
        axes[0].set_title(f"{title}\n", fontsize="medium")
    axes[-1].set_xlabel("shift of the candidate over the baseline (Hodges-Lehmann)")
    return fig
