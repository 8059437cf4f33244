"""canarystats: statistics that decide canary releases.

The public API, re-exported flat. See the README for a tour.
"""

from canarystats import data as data
from canarystats.adapters.frames import InputReport
from canarystats.adapters.iter8 import assess, load_experiment, spec_from_iter8, spec_to_iter8
from canarystats.adapters.prometheus import (
    PrometheusClient,
    QueryResult,
    bucket_quantile,
    fetch_rollout,
    observe,
    parse_response,
    replay_prometheus,
)
from canarystats.adapters.prometheus.queries import (
    ISTIO_METRICS,
    CounterQuery,
    Matcher,
    MetricDefinition,
    QuantileDefinition,
    istio_metrics,
)
from canarystats.errors import (
    CanaryStatsWarning,
    DataError,
    InsufficientDataWarning,
    PrometheusError,
    PrometheusWarning,
    SpecError,
    UnknownFieldWarning,
    UnusedRowsWarning,
)
from canarystats.methods.base import CriterionResult, evaluate_criterion
from canarystats.methods.bayes import BayesMethod, BayesState, posterior_prob
from canarystats.methods.fixed import FixedMethod, FixedState
from canarystats.methods.group_sequential import (
    GroupSequentialMethod,
    GroupSequentialState,
    PlannedLooksWarning,
)
from canarystats.methods.ranks import RanksMethod, RanksState
from canarystats.methods.rounding import round3
from canarystats.methods.sequential import SEQUENTIAL_TESTS, SequentialMethod, SequentialState
from canarystats.observations import Observations, Reason, Verdict
from canarystats.planner import PlanResult, PlanWarning, Regression, plan_steps
from canarystats.replay import ReplayResult, replay, replay_all
from canarystats.simulate import (
    OperatingCharacteristicsResult,
    Scenario,
    operating_characteristics,
    simulate_rollouts,
)
from canarystats.simulate.tuning import pareto_front, tune
from canarystats.spec import (
    METHODS,
    Criterion,
    ExperimentSpec,
    TrafficControl,
    available_methods,
    format_duration,
    parse_duration,
)
from canarystats.stats.alternatives import ALTERNATIVES
from canarystats.stats.beta import (
    DEFAULT_RATE_PRIOR,
    beta_credible_interval,
    beta_posterior,
    beta_relative_difference_interval,
    expected_loss_beta,
    prob_beta_le,
)
from canarystats.stats.classical import (
    FixedTestResult,
    mean_test,
    mean_threshold_test,
    rate_ratio_interval,
    rate_test,
    rate_threshold_test,
)
from canarystats.stats.confidence_sequences import (
    bernoulli_cs,
    multinomial_cs,
    multinomial_pvalue,
    normal_mean_cs,
)
from canarystats.stats.group_sequential import (
    SPENDING_FUNCTIONS,
    GroupSequentialBounds,
    GroupSequentialDesign,
    gs_bounds,
    gs_crossing_probabilities,
    gs_design,
    parse_spending,
    repeated_confidence_intervals,
    spending_function,
)
from canarystats.stats.kayenta import (
    MetricClass,
    MetricClassification,
    ScoreClass,
    ScoreResult,
    classify_metric,
    score_groups,
)
from canarystats.stats.mann_whitney import MannWhitneyResult, mann_whitney, mann_whitney_binned
from canarystats.stats.mixtures import (
    beta_binomial_log_e,
    msprt_normal_log_e,
    msprt_two_sample,
    multinomial_log_e,
    normal_mixture_bound,
    normal_mixture_log_e,
    normal_mixture_rho,
)
from canarystats.stats.multiplicity import (
    ADJUSTMENTS,
    adjust_pvalues,
    adjusted_confidence_level,
    intersection_union_pvalue,
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
from canarystats.stats.sample_size import (
    SampleSizeResult,
    power_means,
    power_rates,
    sample_size_means,
    sample_size_rates,
)
from canarystats.stats.t_posterior import (
    prob_t_le,
    t_credible_interval,
    t_posterior,
    t_relative_difference_interval,
)
from canarystats.strategies import (
    BanditState,
    Outcome,
    RunResult,
    State,
    StepResult,
    initial_state,
    run_experiment,
    step,
)
from canarystats.strategies.bandits import RoutingState
from canarystats.strategies.persist import state_from_json, state_to_json
from canarystats.strategies.sample_ratio import SampleRatioGuard, SampleRatioState

__version__ = "0.1.0"

__all__ = [
    "ADJUSTMENTS",
    "ALTERNATIVES",
    "DEFAULT_RATE_PRIOR",
    "ISTIO_METRICS",
    "METHODS",
    "QUANTILE_BOUNDS",
    "SEQUENTIAL_TESTS",
    "SPENDING_FUNCTIONS",
    "BanditState",
    "BayesMethod",
    "BayesState",
    "CanaryStatsWarning",
    "CounterQuery",
    "Criterion",
    "CriterionResult",
    "DataError",
    "ExperimentSpec",
    "FixedMethod",
    "FixedState",
    "FixedTestResult",
    "GroupSequentialBounds",
    "GroupSequentialDesign",
    "GroupSequentialMethod",
    "GroupSequentialState",
    "InputReport",
    "InsufficientDataWarning",
    "MannWhitneyResult",
    "Matcher",
    "MetricClass",
    "MetricClassification",
    "MetricDefinition",
    "Observations",
    "OperatingCharacteristicsResult",
    "Outcome",
    "PlanResult",
    "PlanWarning",
    "PlannedLooksWarning",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusWarning",
    "QuantileDefinition",
    "QueryResult",
    "RanksMethod",
    "RanksState",
    "RateRatioResult",
    "Reason",
    "Regression",
    "ReplayResult",
    "RoutingState",
    "RunResult",
    "SampleRatioGuard",
    "SampleRatioState",
    "SampleSizeResult",
    "Scenario",
    "ScoreClass",
    "ScoreResult",
    "SequentialMethod",
    "SequentialState",
    "SpecError",
    "State",
    "StepResult",
    "TrafficControl",
    "UnknownFieldWarning",
    "UnusedRowsWarning",
    "Verdict",
    "adjust_pvalues",
    "adjusted_confidence_level",
    "assess",
    "available_methods",
    "bernoulli_cs",
    "beta_binomial_log_e",
    "beta_credible_interval",
    "beta_posterior",
    "beta_relative_difference_interval",
    "bucket_quantile",
    "classify_metric",
    "dkw_radius",
    "evaluate_criterion",
    "expected_loss_beta",
    "fetch_rollout",
    "format_duration",
    "gs_bounds",
    "gs_crossing_probabilities",
    "gs_design",
    "initial_state",
    "intersection_union_pvalue",
    "istio_metrics",
    "load_experiment",
    "mann_whitney",
    "mann_whitney_binned",
    "mean_test",
    "mean_threshold_test",
    "msprt_normal_log_e",
    "msprt_two_sample",
    "multinomial_cs",
    "multinomial_log_e",
    "multinomial_pvalue",
    "normal_mean_cs",
    "normal_mixture_bound",
    "normal_mixture_log_e",
    "normal_mixture_rho",
    "observe",
    "operating_characteristics",
    "pareto_front",
    "parse_duration",
    "parse_response",
    "parse_spending",
    "plan_steps",
    "posterior_prob",
    "power_means",
    "power_rates",
    "prob_beta_le",
    "prob_t_le",
    "quantile_cs",
    "quantile_cs_buckets",
    "quantile_ranks",
    "rate_ratio_interval",
    "rate_ratio_test",
    "rate_test",
    "rate_threshold_test",
    "repeated_confidence_intervals",
    "replay",
    "replay_all",
    "replay_prometheus",
    "round3",
    "run_experiment",
    "sample_size_means",
    "sample_size_rates",
    "score_groups",
    "simulate_rollouts",
    "spec_from_iter8",
    "spec_to_iter8",
    "spending_function",
    "srm_test",
    "state_from_json",
    "state_to_json",
    "step",
    "t_credible_interval",
    "t_posterior",
    "t_relative_difference_interval",
    "tune",
]
