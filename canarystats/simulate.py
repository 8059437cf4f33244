"""Monte Carlo rollouts: closed-loop simulation of recorded rollouts.

:func:`simulate_rollouts` plays ``n_rollouts`` canary experiments at once.
Traffic follows the strategy's decisions and the counts follow traffic: the
service receives requests at a constant or a diurnal rate, split between the
versions by the candidate percentage routed at the time; each request fails
(5xx) with its version's probability and takes a random time (the candidate's
may be scaled, shifted or given a slow tail: see :class:`Scenario`). The counters are scraped
every ``scrape_interval`` seconds and come back as a recorded rollout (the
tidy table that :func:`canarystats.replay` reads; see
``docs/recorded-rollouts.md``).

Vectorized over rollouts: the only Python loop runs over the scrape and
assessment times.

Examples
--------
>>> from canarystats import Criterion, ExperimentSpec, TrafficControl
>>> from canarystats.simulate import Scenario, simulate_rollouts
>>> spec = ExperimentSpec(
...     name="demo", target_service="reviews", baseline="v2", candidate="v3",
...     traffic_control=TrafficControl(interval="30s", step_size=20, max_iterations=8,
...                                    max_traffic_percent=80),
...     criteria=[Criterion(metric="iter8_latency", tolerance_type="threshold",
...                         tolerance=0.2, sample_size=6)])
>>> scenario = Scenario(request_rate=4.0, mean_latency=(0.1, 0.12))
>>> table = simulate_rollouts(spec, scenario, n_rollouts=3, rng=42)
>>> table.shape, list(table.columns)
((294, 7), ['rollout', 'timestamp', 'version', 'requests', 'errors_5xx', 'latency_sum', \
'latency_count'])
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

from canarystats.adapters.frames import (
    COUNTER_COLUMNS,
    ISTIO_BUCKETS,
    KNOWN_METRICS,
    bucket_column,
    iter8_observations,
)
from canarystats.adapters.prometheus import bucket_quantile
from canarystats.adapters.promql import ISTIO_METRICS, QuantileDefinition
from canarystats.errors import SpecError
from canarystats.observations import Observations
from canarystats.spec import ExperimentSpec, batch_param
from canarystats.strategies import (
    final_split,
    initial_state,
    route,
    run_experiment,
    step,
    window_seconds,
)

__all__ = [
    "CHUNK_SIZE",
    "DECISION_TIME_QUANTILES",
    "LATENCY_DISTRIBUTIONS",
    "SIMULATED_METRICS",
    "OperatingCharacteristicsResult",
    "Scenario",
    "assessment_times",
    "operating_characteristics",
    "simulate_rollouts",
]

#: Per-request latency distributions a :class:`Scenario` can use.
LATENCY_DISTRIBUTIONS: tuple[str, ...] = ("gamma", "lognormal")

#: Latency quantile metrics (``iter8_latency_p50``, ``_p95``, ``_p99``, telemetry v1 seconds)
#: and their quantiles: read from the histogram buckets as Prometheus' ``histogram_quantile``.
_QUANTILE_METRICS: dict[str, float] = {
    name: d.quantile for name, d in ISTIO_METRICS.items() if isinstance(d, QuantileDefinition)
}

#: The metrics the simulators produce: Iter8's standard metrics over Istio telemetry and the
#: latency quantiles of :data:`canarystats.ISTIO_METRICS`.
SIMULATED_METRICS: tuple[str, ...] = (*KNOWN_METRICS, *_QUANTILE_METRICS)


def _pair(value: Any) -> Any:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return (float(value), float(value))
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        return tuple(float(v) for v in value)
    return value


def _check_pair(*, low: float, high: float = math.inf, low_open: bool = False) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        ok = isinstance(value, tuple) and len(value) == 2
        ok = ok and all(
            math.isfinite(v) and (v > low if low_open else v >= low) and v <= high for v in value
        )
        if not ok:
            side = "(" if low_open else "["
            raise SpecError(
                f"`{attribute.name}` must be a number or a (baseline, candidate) pair in "
                f"{side}{low}, {high}], got {value!r}"
            )

    return check


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise SpecError(f"`{attribute.name}` must be a finite number > 0, got {value!r}")


def _in_range(*, low: float, high: float = math.inf, high_open: bool = False) -> Any:
    """A validator of a finite number in ``[low, high]`` (``[low, high)`` when ``high_open``)."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        ok = isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and low <= value and (value < high if high_open else value <= high)
        if not ok:
            side = ")" if high_open else "]"
            raise SpecError(
                f"`{attribute.name}` must be a finite number in [{low:g}, {high:g}{side}, "
                f"got {value!r}"
            )

    return check


def _finite(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        raise SpecError(f"`{attribute.name}` must be a finite number, got {value!r}")


def _to_float(value: Any) -> Any:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    return value


@attrs.frozen(kw_only=True)
class Scenario:
    """What the simulated service does: load, latency and errors of each version.

    Parameters
    ----------
    request_rate : float
        Requests per second to the whole service (both versions together);
        with a diurnal cycle, the mean rate over a period.
    mean_latency : float or (float, float)
        Mean latency per request in seconds (Istio telemetry v1 units), of
        the baseline and the candidate (one number: both). A candidate mean
        above the baseline's is a *scale* regression: every candidate request
        is slower by the same factor.
    error_probability : float or (float, float), default 0
        Probability that a request of each version returns a 5xx (a
        candidate probability above the baseline's is an error-rate
        regression).
    latency_cv : float, default 1
        Coefficient of variation (standard deviation / mean) of one request's
        latency, the same for both versions.
    latency_distribution : {"lognormal", "gamma"}, default "lognormal"
        The distribution of one request's latency, with the given mean and
        coefficient of variation. See :func:`simulate_rollouts` for how the
        sum of many latencies is drawn.
    latency_shift : float, default 0
        A *shift* regression: every candidate request takes this many seconds
        more (after any tail factor), >= 0.
    tail_probability : float, default 0
        A *tail* regression: the fraction of candidate requests, in [0, 1],
        served by a slower component whose latency is ``tail_factor`` times
        the candidate's ``mean_latency`` distribution (same coefficient of
        variation).
    tail_factor : float, default 1
        How much slower the tail component is, >= 1.
    diurnal_amplitude : float, default 0
        A diurnal cycle of the request rate, in [0, 1): at ``t`` seconds
        after the experiment's start the rate is ``request_rate * (1 +
        diurnal_amplitude * sin(2 pi (t + diurnal_offset) / diurnal_period))``.
    diurnal_period : float, default 86400
        Seconds per cycle, > 0.
    diurnal_offset : float, default 0
        Where in the cycle the experiment starts, in seconds: 0 starts where
        the rate rises through its mean, ``diurnal_period / 4`` at the peak,
        ``3 * diurnal_period / 4`` at the trough.

    Raises
    ------
    SpecError
        For a value outside what is allowed, naming the field and the value.

    Notes
    -----
    One candidate request's latency is ``Y = F X + latency_shift`` with ``X``
    drawn from ``latency_distribution`` (mean ``mean_latency[1]``, coefficient
    of variation ``latency_cv``) and ``F = tail_factor`` with probability
    ``tail_probability``, else 1. Its mean is
    ``mean_latency[1] * (1 + tail_probability * (tail_factor - 1)) +
    latency_shift`` (:attr:`candidate_mean_latency`). The baseline's latency
    is ``X`` with mean ``mean_latency[0]``.

    Examples
    --------
    >>> s = Scenario(request_rate=10.0, mean_latency=0.1, tail_probability=0.05,
    ...              tail_factor=10.0, latency_shift=0.01)
    >>> round(s.candidate_mean_latency, 6)
    0.155
    >>> day = Scenario(request_rate=10.0, mean_latency=0.1, diurnal_amplitude=0.5)
    >>> round(float(day.expected_requests(0.0, 86400.0)), 6)  # a whole cycle: the mean rate
    864000.0
    >>> round(float(day.expected_requests(0.0, 43200.0)), 1)  # busy half: 10 (43200 + 43200 / pi)
    569509.9
    """

    request_rate: float = attrs.field(converter=_to_float, validator=_positive)
    mean_latency: tuple[float, float] = attrs.field(
        converter=_pair, validator=_check_pair(low=0.0, low_open=True)
    )
    error_probability: tuple[float, float] = attrs.field(
        default=(0.0, 0.0), converter=_pair, validator=_check_pair(low=0.0, high=1.0)
    )
    latency_cv: float = attrs.field(default=1.0, converter=_to_float, validator=_positive)
    latency_distribution: str = attrs.field(default="lognormal")
    latency_shift: float = attrs.field(
        default=0.0, converter=_to_float, validator=_in_range(low=0.0)
    )
    tail_probability: float = attrs.field(
        default=0.0, converter=_to_float, validator=_in_range(low=0.0, high=1.0)
    )
    tail_factor: float = attrs.field(
        default=1.0, converter=_to_float, validator=_in_range(low=1.0)
    )
    diurnal_amplitude: float = attrs.field(
        default=0.0, converter=_to_float, validator=_in_range(low=0.0, high=1.0, high_open=True)
    )
    diurnal_period: float = attrs.field(default=86400.0, converter=_to_float, validator=_positive)
    diurnal_offset: float = attrs.field(default=0.0, converter=_to_float, validator=_finite)

    @latency_distribution.validator
    def _check_distribution(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in LATENCY_DISTRIBUTIONS:
            raise SpecError(
                f"`latency_distribution` must be one of {list(LATENCY_DISTRIBUTIONS)}, "
                f"got {value!r}"
            )

    @property
    def has_tail(self) -> bool:
        """Whether some candidate requests come from a slower component."""
        return self.tail_probability > 0.0 and self.tail_factor != 1.0

    @property
    def candidate_mean_latency(self) -> float:
        """The candidate's mean latency per request, with its tail and shift (seconds)."""
        m = self.mean_latency[1] * (1.0 + self.tail_probability * (self.tail_factor - 1.0))
        return m + self.latency_shift

    def rate_at(self, t: Any) -> NDArray[np.float64]:
        """The request rate (per second) at ``t`` seconds after the start (array_like).

        Examples
        --------
        >>> s = Scenario(request_rate=10.0, mean_latency=0.1, diurnal_amplitude=0.5)
        >>> s.rate_at([0.0, 21600.0, 64800.0]).round(9).tolist()   # mean, peak, trough
        [10.0, 15.0, 5.0]
        """
        t = np.asarray(t, dtype=np.float64)
        phase = 2.0 * np.pi * (t + self.diurnal_offset) / self.diurnal_period
        out: NDArray[np.float64] = self.request_rate * (
            1.0 + self.diurnal_amplitude * np.sin(phase)
        )
        return out

    def expected_requests(self, t0: Any, t1: Any) -> Any:
        """The mean number of requests in ``[t0, t1]``: the exact integral of the rate.

        ``request_rate * (t1 - t0)`` without a diurnal cycle; with one,
        ``request_rate * ((t1 - t0) + A P / pi * sin(pi (t0 + t1 + 2 o) / P) *
        sin(pi (t1 - t0) / P))`` (``A`` the amplitude, ``P`` the period, ``o``
        the offset), the integral of the sine written without cancellation.
        Broadcasts ``t0`` and ``t1`` (seconds since the start).

        Examples
        --------
        >>> s = Scenario(request_rate=10.0, mean_latency=0.1, diurnal_amplitude=0.5,
        ...              diurnal_period=100.0)
        >>> round(float(s.expected_requests(0.0, 50.0)), 6)   # 10 (50 + 0.5 * 100 / pi * 2)
        659.154943
        >>> Scenario(request_rate=10.0, mean_latency=0.1).expected_requests(1.0, [10.0, 20.0])
        array([ 90., 190.])
        """
        dt = np.asarray(t1, dtype=np.float64) - np.asarray(t0, dtype=np.float64)
        if self.diurnal_amplitude == 0.0:
            return self.request_rate * dt
        p = self.diurnal_period
        mid = np.asarray(t0, dtype=np.float64) + np.asarray(t1, dtype=np.float64)
        wave = (
            self.diurnal_amplitude * p / np.pi
            * np.sin(np.pi * (mid + 2.0 * self.diurnal_offset) / p)
            * np.sin(np.pi * dt / p)
        )
        return self.request_rate * (dt + wave)

    def latency_cdf(self, bounds: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(one request's latency <= bound), shape (2, len(bounds)) (baseline, candidate).

        The candidate's is the mixture ``(1 - p) G(b - shift) + p G((b - shift)
        / factor)`` of its tail regression, ``G`` the distribution of
        ``mean_latency[1]``'s requests.

        Examples
        --------
        Gamma latencies with CV 1 are exponential: P(X <= mean) = 1 - exp(-1).

        >>> s = Scenario(request_rate=1.0, mean_latency=0.1, latency_distribution="gamma",
        ...              latency_shift=0.1)
        >>> s.latency_cdf([0.1, 0.2]).round(6).tolist()   # the candidate is 0.1 s later
        [[0.632121, 0.864665], [0.0, 0.632121]]
        """
        b = np.asarray(bounds, dtype=np.float64)
        base = self._cdf(self.mean_latency[0], b)
        x = b - self.latency_shift
        cand = self._cdf(self.mean_latency[1], x)
        if self.has_tail:
            slow = self._cdf(self.mean_latency[1] * self.tail_factor, x)
            cand = (1.0 - self.tail_probability) * cand + self.tail_probability * slow
        return np.stack([base, cand])

    def _cdf(self, mean: float, b: NDArray[np.float64]) -> NDArray[np.float64]:
        cv2 = self.latency_cv**2
        pos = np.where(b > 0, b, 1.0)
        with np.errstate(divide="ignore"):
            if self.latency_distribution == "gamma":
                cdf = special.gammainc(1.0 / cv2, pos / (mean * cv2))
            else:
                sigma = math.sqrt(math.log1p(cv2))
                mu = np.log(mean) - sigma**2 / 2
                cdf = special.ndtr((np.log(pos) - mu) / sigma)
        out: NDArray[np.float64] = np.where(b > 0, cdf, 0.0)
        return out


def _sum_of_squares(
    gen: np.random.Generator, n: NDArray[Any], total: NDArray[np.float64], k: float
) -> NDArray[np.float64]:
    """Sums of squares of ``n`` Gamma(``k``) latencies given their sum ``total``.

    For i.i.d. Gamma latencies the proportions ``D = X / total`` are
    Dirichlet(k, ..., k) and independent of ``total``, so ``sumsq = total**2 *
    Q`` with ``Q = sum(D**2) = 1/n + (1 - 1/n) B``, ``B`` in [0, 1]. ``B`` is
    drawn from the Beta distribution with its exact mean ``1 / (n k + 1)`` and
    variance (from the Dirichlet's fourth moments): Beta(a, n k a) with ``a =
    (k n (n - 1) + 4 n - 6) / (2 n (k + 1))``. Exact for ``n = 2`` (``(2 D_1 -
    1)**2 ~ Beta(1/2, k)``) and as ``k`` grows (the normal case, where ``(n -
    1) s**2 / sigma**2`` is chi-squared); otherwise the first two moments of
    ``sumsq`` given ``total`` are exact, so are its mean, variance and
    covariance with ``total``, and ``total**2 / n <= sumsq <= total**2`` holds.
    """
    nn = np.maximum(n, 2).astype(np.float64)
    a = (k * nn * (nn - 1.0) + 4.0 * nn - 6.0) / (2.0 * nn * (k + 1.0))
    share = gen.beta(a, nn * k * a)
    square = total * total
    out: NDArray[np.float64] = np.where(
        n >= 2, square * (1.0 / nn + (1.0 - 1.0 / nn) * share), np.where(n == 1, square, 0.0)
    )
    return out


def _draw_latency(
    gen: np.random.Generator, scenario: Scenario, requests: NDArray[Any], sumsq: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Latency sums (and sums of squares) of ``requests`` of each version, shape (..., 2)."""
    mean = np.asarray(scenario.mean_latency)
    cv2 = scenario.latency_cv**2
    if scenario.has_tail:
        slow = gen.binomial(requests, np.array([0.0, scenario.tail_probability]))
        parts = [
            (requests - slow, mean * cv2),
            (slow, mean * np.array([1.0, scenario.tail_factor]) * cv2),
        ]
    else:
        parts = [(requests, mean * cv2)]
    sums = [
        np.where(count > 0, gen.gamma(np.maximum(count / cv2, 1e-300), scale), 0.0)
        for count, scale in parts
    ]
    total: NDArray[np.float64] = sums[0] if len(sums) == 1 else sums[0] + sums[1]
    squares: NDArray[np.float64] | None = None
    if sumsq:
        squares = _sum_of_squares(gen, parts[0][0], sums[0], 1.0 / cv2)
        if len(parts) == 2:
            squares = squares + _sum_of_squares(gen, parts[1][0], sums[1], 1.0 / cv2)
    if scenario.latency_shift:
        shift = np.array([0.0, scenario.latency_shift])
        if squares is not None:
            squares = squares + 2.0 * shift * total + requests * shift * shift
        total = total + requests * shift
    return total, squares


def _bucket_probabilities(scenario: Scenario, bounds: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-bucket probabilities of each version, shape (2, n_buckets), each row summing to 1."""
    cdf = scenario.latency_cdf(bounds)
    pvals = np.clip(np.diff(cdf, axis=-1, prepend=0.0), 0.0, 1.0)
    pvals /= pvals.sum(axis=-1, keepdims=True)
    return pvals


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise SpecError(f"`rng` must be a numpy Generator, an int seed or None, got {rng!r}")


def _bounds(buckets: bool | Sequence[float]) -> NDArray[np.float64] | None:
    if buckets is False:
        return None
    if buckets is True:
        finite: tuple[float, ...] = ISTIO_BUCKETS
    else:
        finite = tuple(float(b) for b in buckets)
    arr = np.array([b for b in finite if not math.isinf(b)], dtype=np.float64)
    if arr.size == 0 or not (np.all(np.diff(arr) > 0) and arr[0] > 0):
        raise SpecError(
            f"`buckets` must be True (Istio's bounds) or increasing bounds > 0, got {buckets!r}"
        )
    return np.append(arr, np.inf)


def _observations(
    metric: str, increase: NDArray[np.float64], bounds: NDArray[np.float64] | None
) -> Observations:
    """A simulated metric's observations from counter increases (buckets after the counters)."""
    q = _QUANTILE_METRICS.get(metric)
    if q is None:
        return iter8_observations(metric, increase, bounds)
    assert bounds is not None
    cumulative = increase[..., len(COUNTER_COLUMNS) :]
    return Observations(
        count=increase[..., 0],
        value=np.asarray(bucket_quantile(q, bounds, cumulative), dtype=np.float64),
        buckets=np.diff(cumulative, axis=-1, prepend=0.0),
        bucket_bounds=bounds,
    )


#: Routing strategies that draw every criterion's posterior (a mean's needs a spread).
_ROUTING_STRATEGIES = frozenset(
    {"posterior_bayesian_routing", "optimistic_bayesian_routing", "top_k_routing"}
)


def _observation_needs(spec: ExperimentSpec) -> tuple[str | None, str | None]:
    """Which criterion reads histogram buckets, and which a sum of squares (None: none).

    Raises a :class:`SpecError` naming the metric for a criterion whose
    observations the simulators cannot produce: a metric outside
    :data:`SIMULATED_METRICS`, per-request values of a rate, or raw samples.
    """
    buckets: str | None = None
    sumsq: str | None = None
    routing = spec.effective_strategy in _ROUTING_STRATEGIES
    for c in spec.criteria:
        what = f"{c.metric!r} (method {c.method!r})"
        if c.metric not in SIMULATED_METRICS:
            raise SpecError(
                f"criterion metric {c.metric!r} cannot be simulated: the simulator produces "
                f"{list(SIMULATED_METRICS)}"
            )
        quantile = c.metric in _QUANTILE_METRICS
        latency = c.metric == "iter8_latency"
        test = c.extras.get("sequential_test") if c.method == "sequential" else None
        reads_values = c.method == "ranks" or test == "quantile"
        if quantile:
            buckets = buckets or what  # the value is read from the histogram
        if reads_values and not (latency or quantile):
            raise SpecError(
                f"criterion on {what} reads a distribution of per-request values (histogram "
                f"buckets or samples); the simulator draws histograms of latencies only, none "
                f"of {c.metric!r}"
            )
        if c.method == "ranks" and c.extras.get("scale_check"):
            raise SpecError(
                f"criterion on {what} with `scale_check` needs raw samples of {c.metric!r}; "
                "the simulator draws sufficient statistics, never per-request samples"
            )
        if not latency:
            continue
        if reads_values or (c.method == "bayes" and (c.model == "lognormal" or c.scale is None)):
            buckets = buckets or what
        elif c.method in ("fixed", "group_sequential", "sequential"):
            sumsq = sumsq or what
        if routing and c.scale is None and not c.is_counter:
            buckets = buckets or f"{c.metric!r} (strategy {spec.effective_strategy!r})"
    return buckets, sumsq


def simulate_rollouts(
    spec: ExperimentSpec,
    scenario: Scenario,
    *,
    n_rollouts: int = 1,
    scrape_interval: float = 5.0,
    start: Any = "2020-06-01T12:00:00Z",
    buckets: bool | Sequence[float] = False,
    rng: Any = None,
) -> pd.DataFrame:
    """Simulate recorded rollouts in closed loop: traffic follows the strategy.

    Parameters
    ----------
    spec : ExperimentSpec
        The experiment (scalar parameters; the batch is the rollouts).
    scenario : Scenario
        Load, latency and errors of each version.
    n_rollouts : int, default 1
        Independent rollouts simulated at once.
    scrape_interval : float, default 5
        Seconds between scrapes. Scrapes run from 0 through the last
        assessment (``max_iterations * interval``), so the last scrape is at
        or after it.
    start : str, datetime or float, default "2020-06-01T12:00:00Z"
        The timestamp of the first scrape (the experiment's start). A number
        gives numeric timestamps (seconds); anything else is parsed as a UTC
        timestamp.
    buckets : bool or sequence of float, default False
        Add cumulative histogram bucket columns ``bucket_le_<bound>`` (last
        ``bucket_le_inf``): True for Istio's default bounds (0.005 .. 10 s),
        or the finite upper bounds to use.
    rng : numpy.random.Generator or int, optional
        The source of randomness (a seed makes the table reproducible).

    Returns
    -------
    pandas.DataFrame
        A recorded rollout (see ``docs/recorded-rollouts.md``), one row per
        (rollout, scrape, version), sorted in that order, with columns
        ``rollout`` (int 0..n_rollouts-1, always present), ``timestamp``
        (UTC datetimes, or floats when ``start`` is a number), ``version``
        (the spec's baseline and candidate names), ``requests``,
        ``errors_5xx`` and ``latency_count`` (int64), ``latency_sum``
        (float, seconds), then the bucket columns (int64) when asked.

    Notes
    -----
    The experiment starts at time 0 with all traffic on the baseline.
    Assessment ``k`` happens at ``k * interval`` over the cumulative window
    ``[0, window_seconds(k, interval)]`` and sees the exact counters at the
    window's end -- except that assessment 0 (window clamped to 1 s) is made
    at 1 s, once its window has passed, so the first second is all baseline.
    After each assessment, ``int()`` of the recommended candidate percentage
    is routed (as :func:`canarystats.run_experiment` does); once an experiment
    is over, its final split is routed (all to the baseline after a rollback,
    all to the candidate after a promotion).

    Between consecutive event times ``t0 < t1`` (scrapes, assessments,
    window ends), with candidate share ``s``:

    - requests of each version ~ Poisson(``Lambda * share``), ``share`` =
      ``1 - s`` for the baseline and ``s`` for the candidate, ``Lambda`` =
      :meth:`Scenario.expected_requests` ``(t0, t1)``, the exact integral of
      the (constant or diurnal) rate over the interval;
    - 5xx errors ~ Binomial(requests, ``error_probability``);
    - the latency sum of ``n`` requests ~ Gamma(shape ``n / cv**2``, scale
      ``mean * cv**2``). This is *exact* for ``latency_distribution="gamma"``
      (a sum of ``n`` iid Gamma variables is Gamma) and, for
      ``"lognormal"``, a moment-matched approximation of the sum of ``n``
      log-normals: mean ``n * mean`` and variance ``n * (cv * mean)**2`` are
      exact, the shape is Gamma (skewed and positive, unlike a normal
      approximation, which fails for small ``n``);
    - a candidate tail regression: the slow requests ~ Binomial(``n``,
      ``tail_probability``), and each component's sum is drawn on its own as
      above (the slow one with mean ``tail_factor * mean``); a shift adds
      exactly ``latency_shift * n`` to the candidate's sum;
    - bucket counts ~ Multinomial(requests, probabilities of the buckets
      under the per-request latency distribution -- for the candidate the
      mixture CDF of its tail and shift, :meth:`Scenario.latency_cdf`), exact
      in their marginal distribution but drawn independently of the latency
      sum.

    ``latency_count`` equals ``requests`` (every request is timed). Istio
    records no sum of squares, so the table has none: a criterion whose
    method needs one (``"fixed"``, ``"group_sequential"``, ``"sequential"``
    on a mean) sees it missing, in the closed loop as in a replay of the
    table; :func:`operating_characteristics` draws it when asked
    (``sums_of_squares=True``).

    A criterion that reads histogram buckets (see
    :func:`operating_characteristics`) needs ``buckets``; its absence, or a
    metric the simulator does not produce, raises a :class:`SpecError`.

    A replay of the table interpolates the counters between scrapes; it
    sees what the simulated strategy saw whenever the window ends fall on
    scrapes (``interval`` a multiple of ``scrape_interval``), except at
    assessment 0, where the replay spreads the first scrape's counts evenly.
    """
    if (
        isinstance(n_rollouts, bool)
        or not isinstance(n_rollouts, int | np.integer)
        or (n_rollouts < 1)
    ):
        raise SpecError(f"`n_rollouts` must be an integer >= 1, got {n_rollouts!r}")
    if not (isinstance(scrape_interval, int | float) and scrape_interval > 0) or isinstance(
        scrape_interval, bool
    ):
        raise SpecError(
            f"`scrape_interval` must be a number of seconds > 0, got {scrape_interval!r}"
        )
    if not isinstance(scenario, Scenario):
        raise SpecError(f"`scenario` must be a Scenario, got {type(scenario).__name__}")
    gen = _rng(rng)
    bounds = _bounds(buckets)
    need_buckets, _ = _observation_needs(spec)
    if need_buckets and bounds is None:
        raise SpecError(
            f"criterion {need_buckets} reads histogram buckets: pass `buckets=True` (Istio's "
            "bounds) or the bounds to use"
        )
    n = int(n_rollouts)
    batch = (n,)
    tc = spec.traffic_control
    max_pct = batch_param("max_traffic_percent", tc.max_traffic_percent, batch)

    # The event grid: scrapes, assessments and window ends.
    end = tc.max_iterations * tc.interval
    n_scrapes = max(math.ceil(end / scrape_interval - 1e-9), 0) + 1
    scrape_times = np.arange(n_scrapes) * float(scrape_interval)
    ks = np.arange(tc.max_iterations + 1)
    window_ends = np.array([window_seconds(int(k), tc.interval) for k in ks])
    assess_at = np.maximum(ks * tc.interval, window_ends)
    events = np.unique(np.concatenate([scrape_times, assess_at, window_ends]))
    is_scrape = np.isin(events, scrape_times)

    n_counters = len(COUNTER_COLUMNS) + (0 if bounds is None else len(bounds))
    cum = np.zeros((len(events), n, 2, n_counters))
    p_err = np.asarray(scenario.error_probability)
    pvals = None if bounds is None else _bucket_probabilities(scenario, bounds)

    state = initial_state(spec, batch)
    routed = np.zeros(batch)
    k = 0
    for e in range(1, len(events)):
        expected = scenario.expected_requests(events[e - 1], events[e])
        _, final = final_split(spec, state, routed)
        share_cand = np.where(state.done, final[..., 1], routed) / 100.0
        share = np.stack([1.0 - share_cand, share_cand], axis=-1)
        requests = gen.poisson(expected * share)
        errors = gen.binomial(requests, p_err)
        lat, _ = _draw_latency(gen, scenario, requests, False)
        add = [requests, errors, lat, requests]
        if pvals is not None:
            counts = gen.multinomial(requests, pvals)
            add.extend(np.moveaxis(np.cumsum(counts, axis=-1), -1, 0))
        cum[e] = cum[e - 1] + np.stack(add, axis=-1)
        while k <= tc.max_iterations and assess_at[k] <= events[e]:
            j = int(np.searchsorted(events, window_ends[k]))
            increase = cum[j] - cum[0]
            obs: dict[str, Observations] = {
                c.metric: _observations(c.metric, increase, bounds) for c in spec.criteria
            }
            state, result = step(spec, state, obs)
            routed = route(result, routed, max_pct)
            k += 1

    return _to_frame(spec, cum[is_scrape], events[is_scrape], start, bounds)


def _to_frame(
    spec: ExperimentSpec,
    cum: NDArray[np.float64],
    times: NDArray[np.float64],
    start: Any,
    bounds: NDArray[np.float64] | None,
) -> pd.DataFrame:
    """Rows ordered by (rollout, scrape, version) from counters (scrapes, n, 2, K)."""
    n_t, n, _, _ = cum.shape
    flat = np.transpose(cum, (1, 0, 2, 3)).reshape(n * n_t * 2, -1)
    rollout = np.repeat(np.arange(n), n_t * 2)
    secs = np.tile(np.repeat(times, 2), n)
    if isinstance(start, int | float | np.number) and not isinstance(start, bool):
        stamps: Any = float(start) + secs
    else:
        t0 = pd.Timestamp(start)
        t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
        stamps = t0.as_unit("ns") + pd.to_timedelta(secs, unit="s")
    columns: dict[str, Any] = {
        "rollout": rollout,
        "timestamp": stamps,
        "version": np.tile(np.array([spec.baseline, spec.candidate], dtype=object), n * n_t),
        "requests": np.rint(flat[:, 0]).astype(np.int64),
        "errors_5xx": np.rint(flat[:, 1]).astype(np.int64),
        "latency_sum": flat[:, 2],
        "latency_count": np.rint(flat[:, 3]).astype(np.int64),
    }
    if bounds is not None:
        for i, b in enumerate(bounds):
            columns[bucket_column(float(b))] = np.rint(flat[:, 4 + i]).astype(np.int64)
    return pd.DataFrame(columns)


# ------------------------------------------------------------------ operating characteristics

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
    """Wilson score intervals of ``successes`` out of ``n`` (elementwise)."""
    z = _z(confidence_level)
    p = np.asarray(successes, dtype=np.float64) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.maximum(centre - half, 0.0), np.minimum(centre + half, 1.0)


def _wilson(successes: float, n: int, confidence_level: float) -> tuple[float, float]:
    low, high = _wilson_arrays(np.asarray(successes), n, confidence_level)
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
            return _wilson(float(np.sum(self.outcome == probs[name])), self.n, confidence_level)
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


def _observation_setup(
    spec: ExperimentSpec, buckets: bool | Sequence[float] | None, sums_of_squares: bool = False
) -> tuple[NDArray[np.float64] | None, bool]:
    """The bucket bounds to draw (None: none) and whether to draw sums of squares."""
    bucket_reader, sumsq_reader = _observation_needs(spec)
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
        bounds = _bounds(True) if bucket_reader else None
    else:
        bounds = _bounds(buckets)
        if bounds is None and bucket_reader:
            raise SpecError(
                f"criterion {bucket_reader} reads histogram buckets; `buckets=False` "
                "forbids them (leave `buckets` None, or give bounds)"
            )
    return bounds, sumsq_reader is not None


def _simulate_chunk(
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
    pvals = None if bounds is None else _bucket_probabilities(scenario, bounds)
    history: list[NDArray[np.float64]] = []
    last_end = [0.0]

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> dict[str, Observations]:
        expected = scenario.expected_requests(last_end[0], window)
        last_end[0] = window
        share_cand = routed / 100.0
        share = np.stack([1.0 - share_cand, share_cand], axis=-1)
        requests = gen.poisson(expected * share)
        errors = gen.binomial(requests, p_err)
        lat, squares = _draw_latency(gen, scenario, requests, sumsq)
        cum[..., : len(COUNTER_COLUMNS)] += np.stack([requests, errors, lat, requests], axis=-1)
        if pvals is not None:
            cum[..., len(COUNTER_COLUMNS) :] += np.cumsum(gen.multinomial(requests, pvals), -1)
        if cum_sq is not None and squares is not None:
            cum_sq[...] += squares
        history.append(cum[:, 1, :2].copy())
        obs = {c.metric: _observations(c.metric, cum, bounds) for c in spec.criteria}
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
    bounds, sumsq = _observation_setup(spec, buckets, sums_of_squares)
    seed = _seed(rng)
    n = int(n)
    n_chunks = -(-n // CHUNK_SIZE)
    streams = np.random.SeedSequence(seed).spawn(n_chunks)
    parts = []
    for i, stream in enumerate(streams):
        size = min(CHUNK_SIZE, n - i * CHUNK_SIZE)
        gen = np.random.default_rng(stream)
        parts.append(_simulate_chunk(spec, scenario, size, gen, bounds, sumsq))
    return _result_from_parts(n, parts, assessment_times(spec))


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


def _seed(rng: Any) -> int | None:
    """An int seed (or None) from ``rng``: a Generator gives one draw from it."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return None if rng is None else int(rng)
    raise SpecError(f"`rng` must be a numpy Generator, an int seed or None, got {rng!r}")


def _result_from_parts(
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
