"""Pictures of rollouts and of the statistics that decide them (the ``plot`` extra: matplotlib).

matplotlib is imported inside the functions, so ``import canarystats`` works
without it. Every function draws into the Axes it is given (or into a new
Figure, made without pyplot) and returns the matplotlib ``Figure``; bad input
raises :class:`~canarystats.SpecError`.

- :func:`plot_timeline` -- a replayed rollout: the traffic split over the
  assessments, each criterion's observed values against its threshold or the
  baseline's margin, the verdicts and aborts, and the final decision.
- :func:`plot_posteriors` -- the baseline's and the candidate's posteriors of
  a Bayesian criterion at one assessment, with the threshold or the margin.
- :func:`plot_posterior_probability` -- ``P(criterion holds | data)`` of each
  Bayesian criterion over the assessments of a replay, with the PASS and FAIL
  levels.
- :func:`plot_confidence_sequence` -- an anytime-valid confidence sequence over
  the samples, against naive fixed-horizon intervals recomputed at every look.
- :func:`plot_pvalue_paths` -- anytime-valid p-value paths against
  fixed-horizon p-values recomputed at every look, with the α line and the
  first crossings.
- :func:`plot_rank_summary` -- the rank judge's verdict per metric: the
  Hodges-Lehmann shift, its interval and the tolerance band, with the class,
  effect size and p-value, and the canary score.
- :func:`plot_operating_characteristics` -- P(promote) / P(rollback) with their
  Monte Carlo intervals against a varied parameter (a :func:`canarystats.tune`
  frame).
- :func:`plot_pareto_front` -- every grid point of a tuning frame on two
  objectives, with the Pareto front (:func:`canarystats.pareto_front`)
  highlighted.

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
"""

from canarystats.plot._bayes import plot_posterior_probability, plot_posteriors
from canarystats.plot._common import VERDICT_STYLES
from canarystats.plot._ranks import METRIC_CLASS_STYLES, plot_rank_summary
from canarystats.plot._sequential import YSCALES, plot_confidence_sequence, plot_pvalue_paths
from canarystats.plot._timeline import plot_timeline
from canarystats.plot._tuning import plot_operating_characteristics, plot_pareto_front

__all__ = [
    "METRIC_CLASS_STYLES",
    "VERDICT_STYLES",
    "YSCALES",
    "plot_confidence_sequence",
    "plot_operating_characteristics",
    "plot_pareto_front",
    "plot_posterior_probability",
    "plot_posteriors",
    "plot_pvalue_paths",
    "plot_rank_summary",
    "plot_timeline",
]
