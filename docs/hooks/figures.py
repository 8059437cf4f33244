"""An mkdocs hook: the figures of the pages, drawn by ``canarystats.plot`` at build time.

Every entry of :data:`FIGURES` is a function that returns a matplotlib Figure
drawn from the bundled data; the build saves it as ``figures/<name>`` in the
site, where a page shows it with ``![...](figures/<name>)`` (from a page in a
subdirectory, ``../figures/<name>``). The PNGs exist only in the built site,
never in the repository. A figure that fails to draw fails the build, and a page
that shows a figure missing from the list is a broken link, which fails the
strict build. To add a figure, add one decorated function below.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

FigureFunction = Callable[[], "Figure"]

#: (file name in ``figures/``, the function drawing it), in the order they are drawn.
FIGURES: list[tuple[str, FigureFunction]] = []

DPI = 110


def figure(name: str) -> Callable[[FigureFunction], FigureFunction]:
    """Register a figure function under its file name in ``figures/``."""

    def register(func: FigureFunction) -> FigureFunction:
        if any(name == known for known, _ in FIGURES):
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES.append((name, func))
        return func

    return register


def _tutorial_replay(rollout: str) -> tuple[Any, Any]:
    import canarystats as cs

    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    return spec, cs.replay(spec, cs.data.load_rollout(rollout))


@figure("timeline-rolled-back.png")
def timeline_rolled_back() -> Figure:
    """The bundled rollout the tutorial's criteria roll back."""
    from canarystats.plot import plot_timeline

    spec, result = _tutorial_replay("rolled_back")
    return plot_timeline(result, experiment=spec)


@figure("timeline-promoted.png")
def timeline_promoted() -> Figure:
    """The bundled rollout the tutorial's criteria promote."""
    from canarystats.plot import plot_timeline

    spec, result = _tutorial_replay("promoted")
    return plot_timeline(result, experiment=spec)


@figure("confidence-sequence.png")
def confidence_sequence() -> Figure:
    """An error rate's anytime-valid confidence sequence against naive 95 % intervals."""
    import numpy as np

    import canarystats as cs
    from canarystats.plot import plot_confidence_sequence

    n = np.arange(100.0, 5001.0, 100.0)
    successes = np.round(0.03 * n)
    lower, upper = cs.bernoulli_cs(successes, n, confidence_level=0.95)
    p = successes / n
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    return plot_confidence_sequence(
        n, lower, upper, estimate=p, naive_lower=p - half, naive_upper=p + half, reference=0.05,
        ylabel="error rate",
    )


@figure("pvalue-paths.png")
def pvalue_paths() -> Figure:
    """Twenty A/A streams: anytime-valid p-values against fixed-horizon ones read at every look."""
    import numpy as np

    import canarystats as cs
    from canarystats.plot import plot_pvalue_paths

    rng = np.random.default_rng(20240601)
    requests = np.cumsum(np.full((20, 50, 2), 200.0), axis=1)
    errors = np.cumsum(rng.binomial(200, 0.05, size=(20, 50, 2)), axis=1)
    anytime = cs.rate_ratio_test(errors, requests).pvalue
    naive = cs.rate_test(errors, requests, method="score").pvalue
    return plot_pvalue_paths(requests[0, :, 1], anytime, naive_pvalue=naive)


@figure("posteriors.png")
def posteriors() -> Figure:
    """The posteriors of an error-rate delta criterion at one assessment."""
    import canarystats as cs
    from canarystats.plot import plot_posteriors

    criterion = cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                             method="bayes", sample_size=100)
    observations = cs.Observations(count=[4000.0, 1000.0], value=[0.02, 0.015],
                                   successes=[80.0, 15.0])
    return plot_posteriors(criterion, observations)


@figure("posterior-probability.png")
def posterior_probability() -> Figure:
    """P(H | data) over the assessments of the promoted rollout, error-rate delta criterion."""
    import attrs

    import canarystats as cs
    from canarystats.plot import plot_posterior_probability

    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    errors = cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.2,
                          method="bayes", sample_size=100)
    spec = attrs.evolve(spec, criteria=(errors,))
    result = cs.replay(spec, cs.data.load_rollout("promoted"))
    return plot_posterior_probability(result, experiment=spec)


@figure("rank-summary.png")
def rank_summary() -> Figure:
    """Kayenta-class classification of two latency metrics and the canary score."""
    import numpy as np

    import canarystats as cs
    from canarystats.plot import plot_rank_summary

    rng = np.random.default_rng(7)
    baseline = rng.lognormal(np.log([[0.1], [0.02]]), 0.5, size=(2, 200))
    candidate = rng.lognormal(np.log([[0.1], [0.03]]), 0.5, size=(2, 200))
    classification = cs.classify_metric(baseline, candidate)
    score = cs.score_groups(classification.classification, ["latency", "latency"])
    return plot_rank_summary(classification, names=["p50 latency", "db latency"], score=score)


@figure("operating-characteristics.png")
def operating_characteristics() -> Figure:
    """The tutorial experiment at 1 request/s: P(promote) and P(rollback) against the regression."""
    import pandas as pd

    import canarystats as cs
    from canarystats.plot import plot_operating_characteristics

    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    rows = []
    for ratio in (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6):
        scenario = cs.Scenario(request_rate=1.0, mean_latency=(0.15, 0.15 * ratio))
        oc = cs.operating_characteristics(spec, scenario, n=4000, rng=2026)
        rows.append({"candidate / baseline mean latency": ratio, **oc.to_dict()})
    return plot_operating_characteristics(pd.DataFrame(rows), "candidate / baseline mean latency")


@figure("pareto-front.png")
def pareto_front() -> Figure:
    """A tolerance x step grid of the tutorial experiment, an equal and a +50 % candidate."""
    import canarystats as cs
    from canarystats.plot import plot_pareto_front

    spec = cs.load_experiment(cs.data.tutorial_experiment_path())
    scenarios = {
        "equal": cs.Scenario(request_rate=1.0, mean_latency=0.15),
        "worse": cs.Scenario(request_rate=1.0, mean_latency=(0.15, 0.225)),
    }
    grid = {"tolerance": [0.2, 0.225, 0.25], "step_size": [10, 20, 40]}
    frame = cs.tune(spec, scenarios, grid, n=4000, rng=2026)
    return plot_pareto_front(
        frame, "p_promote_worse", "exposure_worse", annotate=["tolerance", "step_size"]
    )


def render(func: FigureFunction) -> bytes:
    """A figure function's figure as PNG bytes."""
    fig = func()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    for name, func in FIGURES:
        try:
            content = render(func)
        except Exception as exc:  # any failure to draw is a failed build, named
            raise PluginError(f"figure {name!r} ({func.__name__}): {exc!r}") from exc
        files.append(File.generated(config, f"figures/{name}", content=content))
    return files
