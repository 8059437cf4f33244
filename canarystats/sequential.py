"""Anytime-valid sequential criteria and the sample-ratio guard: names kept for old imports.

A canary rollout looks at its metrics at every assessment and acts on each
look. A fixed-horizon test consulted again and again passes bad candidates far
more often than its nominal level; the tests here keep their error
guarantees under such continuous monitoring ("anytime-valid"): for every
stopping rule, ``P(ever wrong) <= 1 - confidence``.

:class:`SequentialMethod` (``method="sequential"``), its options
(:class:`~canarystats.methods.sequential.SequentialOptions`) and its state
(:class:`SequentialState`) live in :mod:`canarystats.methods.sequential`; see
the method's docstring for what each kind of metric uses.
:class:`SampleRatioGuard` (state :class:`SampleRatioState`), which runs the
sample-ratio-mismatch test at every assessment and can abort, lives in
:mod:`canarystats.methods.sample_ratio`.

The kernels (all elementwise and broadcasting over any batch shape) live in
``canarystats.stats`` and are re-exported here:

- :mod:`canarystats.stats.mixtures`: Robbins' normal-mixture boundary
  (:func:`normal_mixture_log_e`, :func:`normal_mixture_bound`,
  :func:`normal_mixture_rho`; Howard, Ramdas, McAuliffe and Sekhon 2021),
  Johari et al.'s mixture SPRT (:func:`msprt_normal_log_e`,
  :func:`msprt_two_sample`), the Beta-mixture martingale of a rate
  (:func:`beta_binomial_log_e`) and Lindon and Malek's Dirichlet-multinomial
  Bayes factor (:func:`multinomial_log_e`).
- :mod:`canarystats.stats.confidence_sequences`: :func:`normal_mean_cs`,
  :func:`bernoulli_cs`, :func:`multinomial_cs` and :func:`multinomial_pvalue`.
- :mod:`canarystats.stats.rate_ratio`: Lindon and Malek's point-process test of
  a rate ratio with the allocation changing at every look
  (:func:`rate_ratio_test`, :class:`RateRatioResult`).
- :mod:`canarystats.stats.sample_ratio`: the sample-ratio-mismatch test
  against a changing intended split (:func:`srm_test`).
- :mod:`canarystats.stats.quantiles`: anytime-valid bounds on a quantile
  (:func:`quantile_ranks`, :func:`quantile_cs`, :func:`quantile_cs_buckets`,
  :func:`dkw_radius`, :data:`QUANTILE_BOUNDS`).

Examples
--------
>>> import numpy as np
>>> from canarystats import Criterion, Observations, evaluate_criterion
>>> c = Criterion(metric="iter8_error_rate", tolerance_type="threshold",
...               tolerance=0.05, method="sequential", confidence=0.95)
>>> obs = Observations(count=[[5000.0, 5000.0], [5000.0, 5000.0], [5000.0, 200.0]],
...                    value=[[0.01, 0.01], [0.01, 0.09], [0.01, 0.04]],
...                    successes=[[50.0, 50.0], [50.0, 450.0], [50.0, 8.0]])
>>> r = evaluate_criterion(c, obs)
>>> r.verdict.tolist(), r.reason.tolist()
([1, -1, 0], [0, 0, 4])
"""

from __future__ import annotations

from canarystats.methods.sample_ratio import SampleRatioGuard, SampleRatioState
from canarystats.methods.sequential import (
    SEQUENTIAL_TESTS,
    SequentialMethod,
    SequentialState,
)
from canarystats.stats.confidence_sequences import (
    bernoulli_cs,
    multinomial_cs,
    multinomial_pvalue,
    normal_mean_cs,
)
from canarystats.stats.mixtures import (
    beta_binomial_log_e,
    msprt_normal_log_e,
    msprt_two_sample,
    multinomial_log_e,
    normal_mixture_bound,
    normal_mixture_log_e,
    normal_mixture_rho,
)
from canarystats.stats.quantiles import (
    QUANTILE_BOUNDS,
    dkw_radius,
    quantile_cs,
    quantile_cs_buckets,
    quantile_ranks,
)
from canarystats.stats.rate_ratio import RateRatioResult, rate_ratio_test
from canarystats.stats.sample_ratio import srm_test

__all__ = [
    "QUANTILE_BOUNDS",
    "SEQUENTIAL_TESTS",
    "RateRatioResult",
    "SampleRatioGuard",
    "SampleRatioState",
    "SequentialMethod",
    "SequentialState",
    "bernoulli_cs",
    "beta_binomial_log_e",
    "dkw_radius",
    "msprt_normal_log_e",
    "msprt_two_sample",
    "multinomial_cs",
    "multinomial_log_e",
    "multinomial_pvalue",
    "normal_mean_cs",
    "normal_mixture_bound",
    "normal_mixture_log_e",
    "normal_mixture_rho",
    "quantile_cs",
    "quantile_cs_buckets",
    "quantile_ranks",
    "rate_ratio_test",
    "srm_test",
]
