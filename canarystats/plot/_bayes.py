"""Bayesian criteria: posterior densities at an assessment, P(criterion holds) over a run."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats.errors import SpecError
from canarystats.methods.bayes import BayesMethod, BayesState, bayes_options
from canarystats.observations import Observations, Reason, Verdict
from canarystats.plot._common import VERDICT_STYLES, check_level, one_axes
from canarystats.spec import Criterion, TrafficControl
from canarystats.stats.lognormal import prob_lognormal_mean_le

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from canarystats.replay import ReplayResult
    from canarystats.spec import ExperimentSpec
    from canarystats.strategies import RunResult

__all__ = ["plot_posterior_probability", "plot_posteriors"]

_F = NDArray[np.float64]
_TAIL = 1e-4  # each density is drawn between its 1e-4 and 1 - 1e-4 quantiles
_POINTS = 400  # grid points per density
_Cdf = Callable[[_F], _F]


def _scalar(criterion: Criterion, name: str) -> float:
    value = np.asarray(getattr(criterion, name), dtype=np.float64)
    if value.size != 1:
        raise SpecError(
            f"`criterion` must have a scalar `{name}` to be drawn, got an array of shape "
            f"{value.shape}"
        )
    return float(value.reshape(()))


class _Posterior:
    """A posterior: its CDF, its density if known in closed form, and the range drawn."""

    def __init__(self, cdf: _Cdf, low: float, high: float, pdf: _Cdf | None = None) -> None:
        self.cdf, self.pdf, self.low, self.high = cdf, pdf, low, high

    def density(self, x: _F) -> _F:
        """The density on the grid ``x``: closed form, or the CDF's central differences."""
        if self.pdf is not None:
            return np.asarray(self.pdf(x), dtype=np.float64)
        return np.asarray(np.gradient(self.cdf(x), x), dtype=np.float64)

    def scaled(self, ratio: float) -> _Posterior:
        """The posterior of ``ratio`` times this quantity (``ratio > 0``)."""
        cdf, pdf = self.cdf, self.pdf
        return _Posterior(
            lambda x: cdf(x / ratio),
            ratio * self.low,
            ratio * self.high,
            None if pdf is None else (lambda x: pdf(x / ratio) / ratio),
        )


def _frozen(dist: Any) -> _Posterior:
    """A scipy distribution between its 1e-4 and 1 - 1e-4 quantiles."""
    return _Posterior(dist.cdf, float(dist.ppf(_TAIL)), float(dist.ppf(1.0 - _TAIL)), dist.pdf)


def _lognormal_mean(n: float, m: float, s2: float) -> _Posterior:
    """The posterior of ``exp(mu + sigma^2 / 2)``: CDF by quadrature, range by bisection."""

    def cdf(x: _F) -> _F:
        return np.asarray(prob_lognormal_mean_le(n, m, s2, x), dtype=np.float64)

    high = 2.0 * math.exp(m + s2 / 2.0)
    while cdf(np.array([high]))[0] < 1.0 - _TAIL:
        high *= 2.0
    ends = []
    for target in (_TAIL, 1.0 - _TAIL):
        a, b = 0.0, high
        for _ in range(60):
            mid = 0.5 * (a + b)
            a, b = (mid, b) if cdf(np.array([mid]))[0] < target else (a, mid)
        ends.append(0.5 * (a + b))
    return _Posterior(cdf, ends[0], ends[1])


def _posteriors(state: BayesState, criterion: Criterion) -> list[_Posterior | float | None]:
    """Per version, the posterior of the judged quantity (a float: a point mass)."""
    from scipy import stats

    out: list[_Posterior | float | None] = []
    for v in range(2):
        a, b = float(state.a[..., v]), float(state.b[..., v])
        loc, scale, df = (float(x[..., v]) for x in (state.loc, state.scale, state.df))
        if math.isfinite(a) and math.isfinite(b):
            out.append(_frozen(stats.beta(a, b)))
        elif not (math.isfinite(loc) and scale >= 0.0 and df > 0.0):
            out.append(None)  # no posterior (no data, one sample, bad data)
        elif bayes_options(criterion).model == "lognormal":
            if scale == 0.0:
                out.append(math.exp(loc))
            else:
                out.append(_lognormal_mean(df + 1.0, loc, scale**2))
        elif scale == 0.0:
            out.append(loc)
        else:
            dist = stats.norm(loc, scale) if math.isinf(df) else stats.t(df, loc, scale)
            out.append(_frozen(dist))
    return out


def _hypothesis(criterion: Criterion, tol: float) -> str:
    le = "≤" if criterion.direction == "lower" else "≥"
    if criterion.tolerance_type == "threshold":
        return f"H: candidate {le} {tol:g}"
    ratio = 1.0 + tol if criterion.direction == "lower" else 1.0 - tol
    return f"H: candidate {le} {ratio:g} × baseline"


def plot_posteriors(
    criterion: Criterion,
    observations: Observations,
    *,
    labels: Sequence[str] = ("baseline", "candidate"),
    ax: Axes | None = None,
) -> Figure:
    """Draw the posteriors a Bayesian criterion judges at one assessment.

    The baseline's and the candidate's posterior densities of the metric
    (Beta for a rate, location-scale t or normal for a mean, the posterior of
    the log-normal mean ``exp(mu + sigma^2 / 2)`` for ``model="lognormal"``),
    computed by :class:`canarystats.BayesMethod` from the observations, with
    what the criterion compares the candidate to: its threshold (a vertical
    line) or, for a delta, the margin -- the posterior of ``(1 + tolerance)
    × baseline`` (``1 - tolerance`` when higher is better), dashed. The title
    gives ``P(H | data)``, the verdict and the hypothesis.

    Densities are closed forms for Beta, t and normal posteriors; for the
    log-normal mean, the derivative (central differences on the grid) of its
    CDF, the deterministic quadrature of
    :func:`canarystats.stats.lognormal.prob_lognormal_mean_le`. Each is drawn between
    its 1e-4 and 1 - 1e-4 quantiles. A posterior that is a point mass (zero spread) is a
    vertical line; a version without a posterior (no data, a single sample)
    is left out.

    Parameters
    ----------
    criterion : Criterion
        The criterion with scalar parameters, judged as ``method="bayes"``
        whatever its ``method``; a ``confidence`` of None takes the traffic
        control's default (0.95). Use ``spec.resolved_criteria()[i]`` for a
        criterion of an experiment.
    observations : Observations
        One assessment's observations of the criterion's metric: batch shape
        ``()``, two versions (e.g. ``result.run.observations[k][metric]`` of
        a replay).
    labels : (str, str), default ("baseline", "candidate")
        The legend labels of the two versions.
    ax : Axes, optional
        Where to draw; by default a new Figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        For observations that are not one slice of two versions, a criterion
        with array parameters, and whatever :class:`~canarystats.BayesMethod`
        rejects (a counter metric, ``missing="iter8"``, a mean without a
        spread).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_posteriors
    >>> c = cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
    ...                  method="bayes", sample_size=100)
    >>> obs = cs.Observations(count=[4000.0, 1000.0], value=[0.02, 0.015],
    ...                       successes=[80.0, 15.0])
    >>> fig = plot_posteriors(c, obs)
    >>> print(fig.axes[0].get_title())
    iter8_error_rate: P(H | data) = 0.9602 → PASS
    H: candidate ≤ 1.2 × baseline, confidence 0.95
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['baseline', 'candidate', 'margin 1.2 × baseline']
    """
    if not isinstance(criterion, Criterion):
        raise SpecError(f"`criterion` must be a Criterion, got {type(criterion).__name__}")
    if not isinstance(observations, Observations):
        raise SpecError(
            f"`observations` must be an Observations, got {type(observations).__name__}"
        )
    if observations.batch_shape != () or observations.n_versions != 2:
        raise SpecError(
            "`observations` must be one assessment of a baseline and a candidate (batch shape "
            f"(), 2 versions), got batch shape {observations.batch_shape} and "
            f"{observations.n_versions} versions"
        )
    if len(labels) != 2:
        raise SpecError(f"`labels` must name the two versions, got {labels!r}")
    if criterion.confidence is None:
        default = attrs.fields(TrafficControl).confidence.default
        criterion = attrs.evolve(criterion, confidence=default)
    tol = _scalar(criterion, "tolerance")
    confidence = _scalar(criterion, "confidence")
    _scalar(criterion, "sample_size")
    if criterion.method != "bayes":  # judged as the Bayesian criterion it would be
        criterion = attrs.evolve(criterion, method="bayes")
    method = BayesMethod()
    state, verdict, reason, _ = method.update(
        criterion, method.init(criterion, ()), observations
    )
    posts = _posteriors(state, criterion)
    delta = criterion.tolerance_type == "delta"
    ratio = (1.0 + tol) if criterion.direction == "lower" else (1.0 - tol)

    curves: list[tuple[str, _Posterior | float, dict[str, Any]]] = []
    for post, label, color in zip(posts, labels, ("tab:blue", "tab:orange"), strict=True):
        if post is not None:
            curves.append((label, post, {"color": color}))
    base = posts[0]
    if delta and base is not None and ratio > 0:
        margin = ratio * base if isinstance(base, float) else base.scaled(ratio)
        curves.append((f"margin {ratio:g} × {labels[0]}", margin,
                       {"color": "tab:red", "linestyle": "--"}))

    # one grid: every density's own range densely, plus the span of them all
    spans = [(p, p) if isinstance(p, float) else (p.low, p.high) for _, p, _ in curves]
    if not delta:
        spans.append((tol, tol))
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(lo), 1.0)
    lo, hi = lo - pad, hi + pad
    if bayes_options(criterion).model == "lognormal" or math.isfinite(float(state.a[..., 1])):
        lo = max(lo, 0.0)  # a rate or a log-normal mean is positive
    if math.isfinite(float(state.a[..., 1])) and not delta:
        hi = min(hi, 1.0)  # a rate; the margin of a delta may exceed 1
    pieces = [np.linspace(p.low, p.high, _POINTS) for _, p, _ in curves
              if not isinstance(p, float)]
    x = np.unique(np.concatenate([np.linspace(lo, hi, _POINTS), *pieces]))
    x = x[(x >= lo) & (x <= hi)]

    fig, ax = one_axes(ax)
    for label, post, style in curves:
        if isinstance(post, float):
            ax.axvline(post, label=label, **style)
        else:
            ax.plot(x, post.density(x), label=label, **style)
    if not delta:
        ax.axvline(tol, color="tab:red", linestyle="--", label=f"threshold {tol:g}")
    prob = float(state.prob)
    name = Verdict(int(verdict)).name
    if np.isnan(prob):
        head = f"{criterion.metric}: P(H | data) undefined ({Reason(int(reason)).name}) → {name}"
    else:
        head = f"{criterion.metric}: P(H | data) = {prob:.4g} → {name}"
    ax.set_title(f"{head}\n{_hypothesis(criterion, tol)}, confidence {confidence:g}",
                 fontsize="medium")
    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(criterion.metric)
    ax.set_ylabel("posterior density")
    ax.legend(loc="best", fontsize="small")
    return fig


def _run_of(result: Any) -> tuple[RunResult, list[str] | None]:
    """The RunResult of a replay (or a run) and the criteria's metrics, when known."""
    from canarystats.replay import ReplayResult
    from canarystats.strategies import RunResult

    if isinstance(result, ReplayResult):
        tl = result.timeline
        first = tl[tl["iteration"] == tl["iteration"].iloc[0]]
        known = first["criterion"].notna().all()
        return result.run, [str(m) for m in first["metric"].tolist()] if known else []
    if isinstance(result, RunResult):
        return result, None
    raise SpecError(f"`result` must be a ReplayResult or a RunResult, got {type(result).__name__}")


def plot_posterior_probability(
    result: ReplayResult | RunResult,
    *,
    experiment: ExperimentSpec | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw, over the assessments, the probability that each Bayesian criterion holds.

    For every criterion judged by ``method="bayes"``, ``P(H | data)`` at each
    assessment -- the ``prob`` its :class:`~canarystats.BayesState` keeps --
    as a line with a marker per assessment for its verdict (see
    :data:`VERDICT_STYLES`); assessments without a probability (too few
    samples, missing or bad data) leave a gap. With ``experiment``, dotted
    lines mark each criterion's PASS level (``confidence``) and FAIL level
    (``1 - confidence``).

    The probability is recomputed from the cumulative window at every
    assessment; acting on it at every look is not anytime-valid (see
    docs/bayes.md, "Repeated looks are not controlled").

    Parameters
    ----------
    result : ReplayResult or RunResult
        A replay (:func:`canarystats.replay`) or a run of batch shape ``()``
        (:func:`canarystats.run_experiment`).
    experiment : ExperimentSpec, optional
        The experiment run: its criteria label the lines and give the levels.
    ax : Axes, optional
        Where to draw; by default a new Figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        When no criterion of the run is judged by ``method="bayes"``, for a
        run over a batch, or for an ``experiment`` with other criteria.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import attrs
    >>> import canarystats as cs
    >>> from canarystats.plot import plot_posterior_probability
    >>> spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    >>> errors = cs.Criterion(metric="iter8_error_rate", tolerance_type="delta",
    ...                       tolerance=0.2, method="bayes", sample_size=100)
    >>> spec = attrs.evolve(spec, criteria=(errors,))
    >>> result = cs.replay(spec, cs.data.load_rollout("promoted"))
    >>> fig = plot_posterior_probability(result, experiment=spec)
    >>> line = fig.axes[0].get_lines()[0]
    >>> line.get_label(), [round(float(p), 3) for p in line.get_ydata()[3:]]
    ('iter8_error_rate (delta 0.2)', [0.429, 0.442, 0.737, 0.583, 0.632, 0.688])
    """
    run, metrics = _run_of(result)
    n_crit = len(run.states[0].method_states) if run.states else 0
    crits = experiment.resolved_criteria() if experiment is not None else None
    if crits is not None and (
        len(crits) != n_crit or metrics is not None and [c.metric for c in crits] != metrics
    ):
        raise SpecError(
            f"`experiment` has criteria on {[c.metric for c in crits]}, but the run judged "
            f"{metrics if metrics is not None else f'{n_crit} criteria'}"
        )
    bayes = [i for i in range(n_crit) if isinstance(run.states[0].method_states[i], BayesState)]
    if not bayes:
        raise SpecError(
            "`result` has no criterion judged by method 'bayes': no posterior probability "
            "to draw"
        )
    shape = np.shape(run.states[0].method_states[bayes[0]].prob)
    if shape != ():
        raise SpecError(f"`result` must be a single run (batch shape ()), got batch shape {shape}")

    fig, ax = one_axes(ax)
    k = np.arange(len(run.states), dtype=np.float64)
    levels: set[float] = set()
    marked: set[str] = set()
    for i in bayes:
        prob = np.array([float(s.method_states[i].prob) for s in run.states])
        verdicts = np.array([int(np.asarray(s.verdicts)[i]) for s in run.steps])
        if crits is not None:
            c = crits[i]
            label = f"{c.metric} ({c.tolerance_type} {_scalar(c, 'tolerance'):g})"
            levels.add(_scalar(c, "confidence"))
        else:
            label = metrics[i] if metrics else f"criterion {i}"
        ax.plot(k, prob, label=label)
        for code in (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE):
            hit = (verdicts == code) & np.isfinite(prob)
            if hit.any():
                name = code.name if code.name not in marked else f"_{code.name}"
                marked.add(code.name)
                ax.scatter(k[hit], prob[hit], zorder=3, label=name, **VERDICT_STYLES[code.name])
    for level in sorted(levels):
        check_level("confidence", level)
        ax.axhline(level, color="tab:green", linestyle=":", label=f"PASS at P ≥ {level:g}")
        ax.axhline(1.0 - level, color="tab:red", linestyle=":",
                   label=f"FAIL at P ≤ {1.0 - level:g}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("assessment (iteration)")
    ax.set_ylabel("P(criterion holds | data)")
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    ax.legend(loc="best", fontsize="small")
    return fig
