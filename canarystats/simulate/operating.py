"""Operating characteristics: how often an experiment decides what, how fast, at what cost.

:func:`operating_characteristics` plays many closed-loop rollouts of an
experiment against a :class:`~canarystats.simulate.scenario.Scenario`, in
chunks of :data:`CHUNK_SIZE` (:func:`simulate_chunk`, each from its own random
stream), on sufficient statistics per assessment interval, and returns an
:class:`OperatingCharacteristicsResult`: P(promote), P(rollback), P(abort),
the time to decision and the cost, with their Monte Carlo intervals (Wilson
for a probability, normal for a mean, order statistics for a quantile).
:func:`observation_setup`, :func:`seed_from_rng` and
:func:`result_from_parts` are the steps :func:`canarystats.tune` shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from canarystats.adapters.frames import COUNTER_COLUMNS
from canarystats.errors import SpecError
from canarystats.observations import Observations
from canarystats.simulate.drawing import (
    bucket_probabilities,
    draw_latency,
    histogram_bounds,
    simulated_observations,
)
from canarystats.simulate.needs import observation_needs
from canarystats.simulate.scenario import Scenario
from canarystats.spec import ExperimentSpec
from canarystats.strategies import run_experiment

__all__ = [
    "CHUNK_SIZE",
    "DECISION_TIME_QUANTILES",
    "OperatingCharacteristicsResult",
    "assessment_times",
    "observation_setup",
    "operating_characteristics",
    "result_from_parts",
    "seed_from_rng",
    "simulate_chunk",
    "wilson_interval",
]

#: Rollouts per chunk of :func:`operating_characteristics`; each chunk draws from
#: its own random stream (``SeedSequence(seed).spawn``), so results do not depend
#: on how the work is split, only on the seed.
CHUNK_SIZE = 65536

#: The quantiles of the time to decision that :meth:`OperatingCharacteristicsResult.to_dict`
#: reports, by name.
DECISION_TIME_QUANTILES: dict[str, float] = {
    "time_to_decision_median": 0.5,
    "time_to_decision_p90": 0.9,
}


def _z(confidence_level: float) -> float:
    if not 0.0 < confidence_level < 1.0:
        raise SpecError(f"`confidence_level` must lie in (0, 1), got {confidence_level!r}")
    return float(special.ndtri(0.5 + confidence_level / 2.0))


def _wilson_arrays(
    successes: NDArray[np.float64], n: int, confidence_level: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score intervals of ``successes`` out of ``n`` (elementwise).

    The lower end ``(k + z²/2 - z sqrt(k (n - k) / n + z²/4)) / (n + z²)`` is
    computed in its rationalised form ``k² / (n (k + z²/2 + z sqrt(...)))``, which
    has no cancellation: exactly 0 at ``k = 0``; the upper end is ``1 -`` the
    lower end of the failures, exactly 1 at ``k = n``.
    """
    z = _z(confidence_level)
    z2 = z * z
    k = np.asarray(successes, dtype=np.float64)

    def lower(k: NDArray[np.float64]) -> NDArray[np.float64]:
        root = z * np.sqrt(k * (n - k) / n + z2 / 4)
        out: NDArray[np.float64] = k * k / (n * (k + z2 / 2 + root))
        return out

    return lower(k), 1.0 - lower(n - k)


def wilson_interval(successes: float, n: int, confidence_level: float) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``n`` (exact 0 and 1 at the ends)."""
    low, high = _wilson_arrays(np.asarray(successes, dtype=np.float64), n, confidence_level)
    return float(low), float(high)


def _quantile_interval(
    x: NDArray[np.float64], q: float, confidence_level: float
) -> tuple[float, float, float]:
    """The ``q``-quantile of ``x`` and its distribution-free order-statistic interval.

    The estimate is the order statistic ``x_(ceil(n q))`` (the inverse of the
    empirical distribution function, which suits discrete times). The
    interval is ``[x_(l), x_(u)]`` with ``l`` the ``alpha / 2`` quantile and
    ``u - 1`` the ``1 - alpha / 2`` quantile of Binomial(``n``, ``q``): its
    coverage is at least ``1 - alpha`` for any distribution, discrete or not
    (``-inf`` / ``+inf`` when ``l < 1`` / ``u > n``).
    """
    _z(confidence_level)
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = xs.size
    alpha = 1.0 - confidence_level
    est = float(xs[max(math.ceil(round(n * q, 9)), 1) - 1])  # 100 * 0.55 = 55.00000000000001
    lo_rank = int(stats.binom.ppf(alpha / 2.0, n, q))
    hi_rank = int(stats.binom.ppf(1.0 - alpha / 2.0, n, q)) + 1
    low = float(xs[lo_rank - 1]) if lo_rank >= 1 else -math.inf
    high = float(xs[hi_rank - 1]) if hi_rank <= n else math.inf
    return est, low, high


@attrs.frozen(kw_only=True)
class OperatingCharacteristicsResult:
    """How often an experiment decides what, how fast, and at what cost.

    Attributes
    ----------
    n : int
        Simulated rollouts.
    p_promote, p_rollback, p_abort : float
        Fractions of rollouts that succeeded (any ``on_success``), rolled
        back after the last assessment (or early, on an anytime-valid FAIL
        with ``early_stop``), and aborted (also a rollback, at once); they
        sum to 1.
    time_to_decision : float
        Mean seconds from the start to the deciding assessment.
    exposure : float
        Mean candidate requests served before the decision.
    bad_requests : float
        Mean candidate 5xx responses served before the decision.
    outcome : ndarray of int8, shape (n,)
        Per rollout: 1 promote, 0 rollback, -1 abort.
    decision_time, exposures, bad : ndarray of float, shape (n,)
        Per rollout, the quantities averaged above.
    assessment_times : ndarray of float, optional
        The times of the experiment's assessments (``k * interval``), the
        support of ``decision_time``; None when unknown (then
        :meth:`time_to_decision_distribution` lists the observed times).
    """

    n: int
    p_promote: float
    p_rollback: float
    p_abort: float
    time_to_decision: float
    exposure: float
    bad_requests: float
    outcome: NDArray[np.int8] = attrs.field(repr=False, eq=False)
    decision_time: NDArray[np.float64] = attrs.field(repr=False, eq=False)
    exposures: NDArray[np.float64] = attrs.field(repr=False, eq=False)
    bad: NDArray[np.float64] = attrs.field(repr=False, eq=False)
    assessment_times: NDArray[np.float64] | None = attrs.field(
        default=None, repr=False, eq=False
    )

    @property
    def time_to_decision_median(self) -> float:
        """The median time to decision (seconds): the ``ceil(n / 2)``-th smallest."""
        return _quantile_interval(self.decision_time, 0.5, 0.95)[0]

    @property
    def time_to_decision_p90(self) -> float:
        """The 90th percentile of the time to decision (the ``ceil(0.9 n)``-th smallest)."""
        return _quantile_interval(self.decision_time, 0.9, 0.95)[0]

    def confidence_interval(
        self, name: str, confidence_level: float = 0.95
    ) -> tuple[float, float]:
        """Monte Carlo interval of one figure.

        Wilson for a probability, normal for a mean, and for a quantile of
        the time to decision the distribution-free interval between two order
        statistics (binomial ranks: coverage at least ``confidence_level`` for
        any distribution of the decision time, discrete ones included).

        Parameters
        ----------
        name : {"p_promote", "p_rollback", "p_abort", "time_to_decision", "exposure", \
"bad_requests", "time_to_decision_median", "time_to_decision_p90"}
        confidence_level : float, default 0.95

        Examples
        --------
        >>> from canarystats.data.make_rollouts import tutorial_spec
        >>> oc = operating_characteristics(
        ...     tutorial_spec(), Scenario(request_rate=5.0, mean_latency=0.1), n=100, rng=1)
        >>> oc.confidence_interval("time_to_decision_median")
        (240.0, 240.0)
        """
        z = _z(confidence_level)
        probs = {"p_promote": 1, "p_rollback": 0, "p_abort": -1}
        if name in probs:
            hits = float(np.sum(self.outcome == probs[name]))
            return wilson_interval(hits, self.n, confidence_level)
        if name in DECISION_TIME_QUANTILES:
            q = DECISION_TIME_QUANTILES[name]
            return _quantile_interval(self.decision_time, q, confidence_level)[1:]
        samples = {
            "time_to_decision": self.decision_time,
            "exposure": self.exposures,
            "bad_requests": self.bad,
        }
        if name not in samples:
            raise SpecError(
                f"`name` must be one of {[*probs, *samples, *DECISION_TIME_QUANTILES]}, "
                f"got {name!r}"
            )
        x = samples[name]
        half = z * float(np.std(x, ddof=1)) / math.sqrt(self.n) if self.n > 1 else math.inf
        m = float(np.mean(x))
        return m - half, m + half

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        """The figures with their intervals (``<name>_low`` / ``<name>_high``).

        Keys: ``n``, then ``p_promote``, ``p_rollback``, ``p_abort``,
        ``time_to_decision`` (the mean), ``exposure``, ``bad_requests``,
        ``time_to_decision_median`` and ``time_to_decision_p90``, each but
        ``n`` followed by its interval (see :meth:`confidence_interval`).
        """
        out: dict[str, Any] = {"n": self.n}
        for name in (
            "p_promote", "p_rollback", "p_abort", "time_to_decision", "exposure", "bad_requests"
        ):
            low, high = self.confidence_interval(name, confidence_level)
            out[name] = getattr(self, name)
            out[f"{name}_low"], out[f"{name}_high"] = low, high
        for name, q in DECISION_TIME_QUANTILES.items():
            est, low, high = _quantile_interval(self.decision_time, q, confidence_level)
            out[name], out[f"{name}_low"], out[f"{name}_high"] = est, low, high
        return out

    def time_to_decision_distribution(self, confidence_level: float = 0.95) -> pd.DataFrame:
        """The distribution of the time to decision over the assessment times.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Of the Wilson intervals (each pointwise, for its own row).

        Returns
        -------
        pandas.DataFrame
            One row per assessment time (all of the experiment's, zero counts
            included, when :attr:`assessment_times` is known), increasing:
            ``time`` (seconds), ``count`` (rollouts decided then),
            ``fraction`` with ``fraction_low`` / ``fraction_high``,
            ``cumulative_fraction`` (decided by then) with ``cumulative_low``
            / ``cumulative_high``, and the counts by outcome, ``promote``,
            ``rollback`` and ``abort``.

        Examples
        --------
        >>> from canarystats.data.make_rollouts import tutorial_spec
        >>> oc = operating_characteristics(
        ...     tutorial_spec(), Scenario(request_rate=5.0, mean_latency=0.1), n=100, rng=1)
        >>> dist = oc.time_to_decision_distribution()
        >>> dist[["time", "count", "cumulative_fraction"]].tail(2).to_numpy().tolist()
        [[210.0, 0.0, 0.0], [240.0, 100.0, 1.0]]
        """
        _z(confidence_level)
        times = (
            np.unique(self.decision_time)
            if self.assessment_times is None
            else np.asarray(self.assessment_times, dtype=np.float64)
        )
        idx = np.searchsorted(times, self.decision_time)
        k = times.size
        count = np.bincount(idx, minlength=k).astype(np.float64)
        cumulative = np.cumsum(count)
        f_low, f_high = _wilson_arrays(count, self.n, confidence_level)
        c_low, c_high = _wilson_arrays(cumulative, self.n, confidence_level)
        by_outcome = {
            label: np.bincount(idx[self.outcome == code], minlength=k).astype(np.int64)
            for label, code in (("promote", 1), ("rollback", 0), ("abort", -1))
        }
        return pd.DataFrame(
            {
                "time": times,
                "count": count,
                "fraction": count / self.n,
                "fraction_low": f_low,
                "fraction_high": f_high,
                "cumulative_fraction": cumulative / self.n,
                "cumulative_low": c_low,
                "cumulative_high": c_high,
                **by_outcome,
            }
        )


def observation_setup(
    spec: ExperimentSpec, buckets: bool | Sequence[float] | None, sums_of_squares: bool = False
) -> tuple[NDArray[np.float64] | None, bool]:
    """The bucket bounds to draw (None: none) and whether to draw sums of squares."""
    bucket_reader, sumsq_reader = observation_needs(spec)
    if not isinstance(sums_of_squares, bool):
        raise SpecError(f"`sums_of_squares` must be True or False, got {sums_of_squares!r}")
    if sumsq_reader is not None and not sums_of_squares:
        raise SpecError(
            f"criterion {sumsq_reader} needs each version's sum of squared latencies, which "
            "Istio does not record (a replay of Istio data leaves it INCONCLUSIVE); pass "
            "`sums_of_squares=True` (`canarystats tune --sums-of-squares`) to simulate a pipeline "
            "that records them"
        )
    if buckets is None:
        bounds = histogram_bounds(True) if bucket_reader else None
    else:
        bounds = histogram_bounds(buckets)
        if bounds is None and bucket_reader:
            raise SpecError(
                f"criterion {bucket_reader} reads histogram buckets; `buckets=False` "
                "forbids them (leave `buckets` None, or give bounds)"
            )
    return bounds, sumsq_reader is not None


def simulate_chunk(
    spec: ExperimentSpec,
    scenario: Scenario,
    n: int,
    gen: np.random.Generator,
    bounds: NDArray[np.float64] | None = None,
    sumsq: bool = False,
) -> tuple[NDArray[np.int8], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """One chunk of closed-loop rollouts on sufficient statistics per interval."""
    tc = spec.traffic_control
    p_err = np.asarray(scenario.error_probability)
    n_counters = len(COUNTER_COLUMNS) + (0 if bounds is None else len(bounds))
    cum = np.zeros((n, 2, n_counters))
    cum_sq = np.zeros((n, 2)) if sumsq else None
    pvals = None if bounds is None else bucket_probabilities(scenario, bounds)
    history: list[NDArray[np.float64]] = []
    last_end = [0.0]

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> dict[str, Observations]:
        expected = scenario.expected_requests(last_end[0], window)
        last_end[0] = window
        share_cand = routed / 100.0
        share = np.stack([1.0 - share_cand, share_cand], axis=-1)
        requests = gen.poisson(expected * share)
        errors = gen.binomial(requests, p_err)
        lat, squares = draw_latency(gen, scenario, requests, sumsq)
        cum[..., : len(COUNTER_COLUMNS)] += np.stack([requests, errors, lat, requests], axis=-1)
        if pvals is not None:
            cum[..., len(COUNTER_COLUMNS) :] += np.cumsum(gen.multinomial(requests, pvals), -1)
        if cum_sq is not None and squares is not None:
            cum_sq[...] += squares
        history.append(cum[:, 1, :2].copy())
        obs = {c.metric: simulated_observations(c.metric, cum, bounds) for c in spec.criteria}
        if cum_sq is not None and "iter8_latency" in obs:
            obs["iter8_latency"] = attrs.evolve(obs["iter8_latency"], sumsq=cum_sq)
        return obs

    result = run_experiment(spec, observe, batch_shape=(n,))
    state = result.final_state
    outcome = np.where(
        state.aborted, np.int8(-1), np.where(state.passed, np.int8(1), np.int8(0))
    ).astype(np.int8)
    end = result.end_iteration
    cand = np.stack(history)[end, np.arange(n)]  # (n, 2): candidate requests, errors
    decided: NDArray[np.float64] = np.asarray(end * tc.interval, dtype=np.float64)
    return outcome, decided, cand[:, 0], cand[:, 1]


def operating_characteristics(
    spec: ExperimentSpec,
    scenario: Scenario,
    *,
    n: int = 10000,
    rng: Any = None,
    buckets: bool | Sequence[float] | None = None,
    sums_of_squares: bool = False,
) -> OperatingCharacteristicsResult:
    """P(promote), P(rollback), P(abort), time to decision and cost, by simulation.

    Plays ``n`` closed-loop rollouts of ``spec`` (its strategy runs in the
    loop through :func:`canarystats.run_experiment`, so traffic follows the
    decisions) against ``scenario``, drawing sufficient statistics per
    assessment interval and version -- never one draw per request -- as
    :func:`simulate_rollouts` does: requests ~ Poisson(integral of the rate *
    share), 5xx ~ Binomial(requests, p), latency sum ~ Gamma (exact for Gamma
    latencies, moment-matched for log-normal; per component for a tail
    regression, plus ``shift * requests`` for a shift), and, when a criterion
    needs them, histogram bucket counts and sums of squares (see Notes).

    Parameters
    ----------
    spec : ExperimentSpec
        Scalar parameters; criteria on ``iter8_latency``, ``iter8_error_rate``,
        ``iter8_error_count``, ``iter8_sample_size`` or the latency quantiles
        ``iter8_latency_p50``, ``_p95``, ``_p99`` (:data:`SIMULATED_METRICS`).
    scenario : Scenario
    n : int, default 10000
    rng : numpy.random.Generator or int, optional
        A seed gives reproducible results; rollouts are drawn in chunks of
        :data:`CHUNK_SIZE`, each from its own stream spawned from the seed.
    buckets : None, bool or sequence of float, default None
        Histogram bounds of ``iter8_latency``: None draws Istio's bounds
        (0.005 .. 10 s) only when a criterion reads buckets; True (Istio's)
        or finite upper bounds draw them always; False never (a criterion
        that reads them is then a :class:`SpecError`).
    sums_of_squares : bool, default False
        Whether the simulated pipeline records each version's sum of squared
        latencies, which ``method="fixed"``, ``"group_sequential"`` and
        ``"sequential"`` need on a mean. Istio records none, so by default a
        criterion that needs them is a :class:`SpecError` rather than figures
        for data the user's pipeline cannot give; True draws them for such
        criteria (see below).

    Returns
    -------
    OperatingCharacteristicsResult

    Raises
    ------
    SpecError
        For a criterion on a metric the simulator does not produce (naming
        it), a criterion that needs raw per-request samples (``ranks`` with
        ``scale_check``) or a distribution of a rate metric (``ranks``, the
        sequential ``quantile`` test), a criterion that needs sums of squares
        without ``sums_of_squares=True``, and bad arguments.

    Notes
    -----
    Windows follow :func:`canarystats.run_experiment`: assessment ``k`` sees
    ``[0, window_seconds(k)]`` with the candidate share routed since the
    previous assessment; assessment 0 sees 1 s of baseline-only traffic.
    Exposure and bad requests count the candidate's requests and 5xx up to
    the deciding assessment's window. With ``early_stop`` and sequential
    criteria the decision may come before ``max_iterations``: see
    :meth:`OperatingCharacteristicsResult.time_to_decision_distribution`.

    What ``iter8_latency``'s observations carry, by the criteria's needs:

    - always ``count``, ``value`` (the mean) and ``sum``, as Istio records;
    - ``buckets`` (counts per bucket ~ Multinomial(requests, the bucket
      probabilities of :meth:`Scenario.latency_cdf`), drawn independently of
      the sum) when a criterion reads a histogram: any criterion on a latency
      quantile (``iter8_latency_p95``: its ``value`` is Prometheus'
      ``histogram_quantile`` of the buckets, :func:`canarystats.bucket_quantile`,
      and its observations carry the buckets), ``method="ranks"``, the
      sequential ``quantile`` test, ``method="bayes"`` without ``scale`` (it
      estimates the spread from the histogram, as on Istio data) or with
      ``model="lognormal"``, and the posterior routing strategies;
    - ``sumsq``, with ``sums_of_squares=True``, when a method needs the
      sample variance and Istio has none to give: ``"fixed"``,
      ``"group_sequential"`` and ``"sequential"`` (confidence sequence or
      mSPRT on a mean). These figures describe a pipeline that records the
      sum of squares (Istio does not: a replay of Istio data leaves such
      criteria INCONCLUSIVE, which is why the switch is off by default). Given the sum
      ``S`` of ``n`` requests, ``sumsq = S**2 (1/n + (1 - 1/n) B)`` with
      ``B`` Beta-distributed to match the exact first two moments for Gamma
      latencies with the scenario's CV (exact for ``n = 2``, and in the
      normal limit; log-normal latencies get the Gamma's, as for the sum);
      per component for a tail, and ``sumsq + 2 shift S + n shift**2`` for a
      shift. ``method="bayes"`` uses ``sumsq`` when present (another
      criterion on ``iter8_latency`` asked for it) rather than the buckets.

    Rate metrics carry ``successes`` (the 5xx). No method needs anything else
    of them; a criterion that would (``ranks``, the ``quantile`` test) raises.

    Examples
    --------
    >>> from canarystats.data.make_rollouts import tutorial_spec
    >>> oc = operating_characteristics(
    ...     tutorial_spec(), Scenario(request_rate=5.0, mean_latency=(0.1, 0.3)), n=200, rng=1)
    >>> oc.p_rollback
    1.0
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SpecError(f"`n` must be an integer >= 1, got {n!r}")
    if not isinstance(scenario, Scenario):
        raise SpecError(f"`scenario` must be a Scenario, got {type(scenario).__name__}")
    bounds, sumsq = observation_setup(spec, buckets, sums_of_squares)
    seed = seed_from_rng(rng)
    n = int(n)
    n_chunks = -(-n // CHUNK_SIZE)
    streams = np.random.SeedSequence(seed).spawn(n_chunks)
    parts = []
    for i, stream in enumerate(streams):
        size = min(CHUNK_SIZE, n - i * CHUNK_SIZE)
        gen = np.random.default_rng(stream)
        parts.append(simulate_chunk(spec, scenario, size, gen, bounds, sumsq))
    return result_from_parts(n, parts, assessment_times(spec))


def assessment_times(spec: ExperimentSpec) -> NDArray[np.float64]:
    """The times (seconds since the start) of the experiment's assessments, ``k * interval``.

    Examples
    --------
    >>> from canarystats.data.make_rollouts import tutorial_spec
    >>> assessment_times(tutorial_spec()).tolist()
    [0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0]
    """
    tc = spec.traffic_control
    return np.arange(tc.max_iterations + 1, dtype=np.float64) * tc.interval


def seed_from_rng(rng: Any) -> int | None:
    """An int seed (or None) from ``rng``: a Generator gives one draw from it."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return None if rng is None else int(rng)
    raise SpecError(f"`rng` must be a numpy Generator, an int seed or None, got {rng!r}")


def result_from_parts(
    n: int,
    parts: Sequence[tuple[NDArray[Any], ...]],
    times: NDArray[np.float64] | None = None,
) -> OperatingCharacteristicsResult:
    """Concatenate the chunks' per-rollout arrays (in chunk order) into a result."""
    outcome, decision_time, exposure, bad = (np.concatenate(x) for x in zip(*parts, strict=True))
    return OperatingCharacteristicsResult(
        n=n,
        p_promote=float(np.mean(outcome == 1)),
        p_rollback=float(np.mean(outcome == 0)),
        p_abort=float(np.mean(outcome == -1)),
        time_to_decision=float(np.mean(decision_time)),
        exposure=float(np.mean(exposure)),
        bad_requests=float(np.mean(bad)),
        outcome=outcome,
        decision_time=decision_time,
        exposures=exposure,
        bad=bad,
        assessment_times=times,
    )
