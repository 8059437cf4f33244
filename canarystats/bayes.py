"""Posteriors and posterior decisions: Beta-Binomial rates, Student-t / Normal / log-normal means.

``method="bayes"`` judges a criterion by the posterior probability that it
holds: PASS when ``P(H | data) >= confidence``, FAIL when ``P(not H | data) >=
confidence``, INCONCLUSIVE otherwise (``Reason.NOT_YET_DECIDED``). ``H`` is the
criterion's hypothesis: ``metric <= tolerance`` (threshold) or ``candidate <=
(1 + tolerance) * baseline`` (delta), mirrored for higher-is-better metrics.

This module gathers the public names of the Bayesian method, kept here for
old imports: the method, its options and state live in
:mod:`canarystats.methods.bayes`; the posteriors and their probabilities are
pure kernels in :mod:`canarystats.stats.beta` (Beta pairs, by fixed-order
composite Gauss-Legendre quadrature in logit coordinates),
:mod:`canarystats.stats.t_posterior` (Student-t pairs, in ``asinh``
coordinates) and :mod:`canarystats.stats.lognormal`. Everything is vectorized
over any batch shape and deterministic; no Monte Carlo. See ``docs/bayes.md``
for the priors, the formulas and the measured accuracy.

Examples
--------
The ``beta_binomial`` reference case (Evan Miller, "Formulas for Bayesian A/B
testing"): A has 16 successes out of 200, B 36 out of 204, prior Beta(1, 1):

>>> from canarystats.bayes import beta_posterior, expected_loss_beta, prob_beta_le
>>> a_A, b_A = beta_posterior(16, 200, prior=(1, 1))
>>> a_B, b_B = beta_posterior(36, 204, prior=(1, 1))
>>> round(float(prob_beta_le(a_A, b_A, a_B, b_B)), 6)   # P(p_A <= p_B) = P(p_B > p_A)
0.998124
>>> round(float(expected_loss_beta(a_A, b_A, a_B, b_B)), 6)  # E[max(p_B - p_A, 0)]
0.095472
"""

from __future__ import annotations

from canarystats.methods.bayes import BayesMethod, BayesState, posterior_prob
from canarystats.stats.beta import (
    DEFAULT_RATE_PRIOR,
    beta_credible_interval,
    beta_posterior,
    beta_relative_difference_interval,
    expected_loss_beta,
    prob_beta_le,
)
from canarystats.stats.lognormal import (
    histogram_log_moments,
    prob_lognormal_mean_le,
    prob_lognormal_ratio_le,
)
from canarystats.stats.t_posterior import (
    prob_t_le,
    t_credible_interval,
    t_posterior,
    t_relative_difference_interval,
)

__all__ = [
    "DEFAULT_RATE_PRIOR",
    "BayesMethod",
    "BayesState",
    "beta_credible_interval",
    "beta_posterior",
    "beta_relative_difference_interval",
    "expected_loss_beta",
    "histogram_log_moments",
    "posterior_prob",
    "prob_beta_le",
    "prob_lognormal_mean_le",
    "prob_lognormal_ratio_le",
    "prob_t_le",
    "t_credible_interval",
    "t_posterior",
    "t_relative_difference_interval",
]
