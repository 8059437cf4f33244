"""Monte Carlo rollouts: closed-loop simulation of recorded rollouts.

:func:`simulate_rollouts` plays ``n_rollouts`` canary experiments at once.
Traffic follows the strategy's decisions and the counts follow traffic: the
service receives requests at a constant rate, split between the versions by
the candidate percentage routed at the time; each request fails (5xx) with
its version's probability and takes a random time. The counters are scraped
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
from scipy import special

from canarystats.adapters.frames import (
    COUNTER_COLUMNS,
    ISTIO_BUCKETS,
    bucket_column,
    iter8_observations,
)
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
    "LATENCY_DISTRIBUTIONS",
    "OperatingCharacteristicsResult",
    "Scenario",
    "operating_characteristics",
    "simulate_rollouts",
]

#: Per-request latency distributions a :class:`Scenario` can use.
LATENCY_DISTRIBUTIONS: tuple[str, ...] = ("gamma", "lognormal")


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
        Requests per second to the whole service (both versions together).
    mean_latency : float or (float, float)
        Mean latency per request in seconds (Istio telemetry v1 units), of
        the baseline and the candidate (one number: both).
    error_probability : float or (float, float), default 0
        Probability that a request of each version returns a 5xx.
    latency_cv : float, default 1
        Coefficient of variation (standard deviation / mean) of one request's
        latency, the same for both versions.
    latency_distribution : {"lognormal", "gamma"}, default "lognormal"
        The distribution of one request's latency, with the given mean and
        coefficient of variation. See :func:`simulate_rollouts` for how the
        sum of many latencies is drawn.

    Raises
    ------
    SpecError
        For a value outside what is allowed.
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

    @latency_distribution.validator
    def _check_distribution(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in LATENCY_DISTRIBUTIONS:
            raise SpecError(
                f"`latency_distribution` must be one of {list(LATENCY_DISTRIBUTIONS)}, "
                f"got {value!r}"
            )

    def latency_cdf(self, bounds: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(one request's latency <= bound), shape (2, len(bounds)) (baseline, candidate)."""
        mean = np.asarray(self.mean_latency)[:, None]
        b = np.asarray(bounds, dtype=np.float64)[None, :]
        cv2 = self.latency_cv**2
        with np.errstate(divide="ignore"):
            if self.latency_distribution == "gamma":
                cdf = special.gammainc(1.0 / cv2, b / (mean * cv2))
            else:
                sigma = math.sqrt(math.log1p(cv2))
                mu = np.log(mean) - sigma**2 / 2
                cdf = special.ndtr((np.log(b) - mu) / sigma)
        out: NDArray[np.float64] = np.asarray(cdf, dtype=np.float64)
        return out


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

    Between consecutive event times (scrapes, assessments, window ends) of
    length ``dt``, with candidate share ``s``:

    - requests of each version ~ Poisson(``request_rate * dt * share``),
      ``share`` = ``1 - s`` for the baseline and ``s`` for the candidate;
    - 5xx errors ~ Binomial(requests, ``error_probability``);
    - the latency sum of ``n`` requests ~ Gamma(shape ``n / cv**2``, scale
      ``mean * cv**2``). This is *exact* for ``latency_distribution="gamma"``
      (a sum of ``n`` iid Gamma variables is Gamma) and, for
      ``"lognormal"``, a moment-matched approximation of the sum of ``n``
      log-normals: mean ``n * mean`` and variance ``n * (cv * mean)**2`` are
      exact, the shape is Gamma (skewed and positive, unlike a normal
      approximation, which fails for small ``n``);
    - bucket counts ~ Multinomial(requests, probabilities of the buckets
      under the per-request latency distribution), exact in their marginal
      distribution but drawn independently of the latency sum.

    ``latency_count`` equals ``requests`` (every request is timed).

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
    rate = scenario.request_rate
    mean = np.asarray(scenario.mean_latency)
    p_err = np.asarray(scenario.error_probability)
    cv2 = scenario.latency_cv**2
    if bounds is not None:
        cdf = scenario.latency_cdf(bounds)
        pvals = np.clip(np.diff(cdf, axis=-1, prepend=0.0), 0.0, 1.0)
        pvals /= pvals.sum(axis=-1, keepdims=True)

    state = initial_state(spec, batch)
    routed = np.zeros(batch)
    k = 0
    for e in range(1, len(events)):
        dt = events[e] - events[e - 1]
        _, final = final_split(spec, state, routed)
        share_cand = np.where(state.done, final[..., 1], routed) / 100.0
        share = np.stack([1.0 - share_cand, share_cand], axis=-1)
        requests = gen.poisson(rate * dt * share)
        errors = gen.binomial(requests, p_err)
        lat = np.where(requests > 0, gen.gamma(np.maximum(requests / cv2, 1e-300), mean * cv2), 0.0)
        add = [requests, errors, lat, requests]
        if bounds is not None:
            counts = gen.multinomial(requests, pvals)
            add.extend(np.moveaxis(np.cumsum(counts, axis=-1), -1, 0))
        cum[e] = cum[e - 1] + np.stack(add, axis=-1)
        while k <= tc.max_iterations and assess_at[k] <= events[e]:
            j = int(np.searchsorted(events, window_ends[k]))
            increase = cum[j] - cum[0]
            obs: dict[str, Observations] = {
                c.metric: iter8_observations(c.metric, increase, bounds) for c in spec.criteria
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


def _wilson(successes: float, n: int, confidence_level: float) -> tuple[float, float]:
    z = float(special.ndtri(0.5 + confidence_level / 2.0))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


@attrs.frozen(kw_only=True)
class OperatingCharacteristicsResult:
    """How often an experiment decides what, how fast, and at what cost.

    Attributes
    ----------
    n : int
        Simulated rollouts.
    p_promote, p_rollback, p_abort : float
        Fractions of rollouts that succeeded (any ``on_success``), rolled
        back after the last assessment, and aborted (also a rollback, at
        once); they sum to 1.
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

    def confidence_interval(
        self, name: str, confidence_level: float = 0.95
    ) -> tuple[float, float]:
        """Monte Carlo interval of one figure: Wilson for a probability, normal for a mean.

        Parameters
        ----------
        name : {"p_promote", "p_rollback", "p_abort", "time_to_decision", "exposure", \
"bad_requests"}
        confidence_level : float, default 0.95
        """
        if not 0.0 < confidence_level < 1.0:
            raise SpecError(f"`confidence_level` must lie in (0, 1), got {confidence_level!r}")
        probs = {"p_promote": 1, "p_rollback": 0, "p_abort": -1}
        if name in probs:
            return _wilson(float(np.sum(self.outcome == probs[name])), self.n, confidence_level)
        samples = {
            "time_to_decision": self.decision_time,
            "exposure": self.exposures,
            "bad_requests": self.bad,
        }
        if name not in samples:
            raise SpecError(f"`name` must be one of {[*probs, *samples]}, got {name!r}")
        x = samples[name]
        z = float(special.ndtri(0.5 + confidence_level / 2.0))
        half = z * float(np.std(x, ddof=1)) / math.sqrt(self.n) if self.n > 1 else math.inf
        m = float(np.mean(x))
        return m - half, m + half

    def to_dict(self, confidence_level: float = 0.95) -> dict[str, Any]:
        """The figures with their intervals (``<name>_low`` / ``<name>_high``)."""
        out: dict[str, Any] = {"n": self.n}
        for name in (
            "p_promote", "p_rollback", "p_abort", "time_to_decision", "exposure", "bad_requests"
        ):
            low, high = self.confidence_interval(name, confidence_level)
            out[name] = getattr(self, name)
            out[f"{name}_low"], out[f"{name}_high"] = low, high
        return out


def _simulate_chunk(
    spec: ExperimentSpec, scenario: Scenario, n: int, gen: np.random.Generator
) -> tuple[NDArray[np.int8], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """One chunk of closed-loop rollouts on sufficient statistics per interval."""
    tc = spec.traffic_control
    rate = scenario.request_rate
    mean = np.asarray(scenario.mean_latency)
    p_err = np.asarray(scenario.error_probability)
    cv2 = scenario.latency_cv**2
    cum = np.zeros((n, 2, len(COUNTER_COLUMNS)))
    history: list[NDArray[np.float64]] = []
    last_end = [0.0]

    def observe(k: int, window: float, routed: NDArray[np.float64]) -> dict[str, Observations]:
        dt = window - last_end[0]
        last_end[0] = window
        share_cand = routed / 100.0
        share = np.stack([1.0 - share_cand, share_cand], axis=-1)
        requests = gen.poisson(rate * dt * share).astype(np.float64)
        errors = gen.binomial(requests.astype(np.int64), p_err).astype(np.float64)
        lat = np.where(
            requests > 0, gen.gamma(np.maximum(requests / cv2, 1e-300), mean * cv2), 0.0
        )
        cum[...] += np.stack([requests, errors, lat, requests], axis=-1)
        history.append(cum[:, 1, :2].copy())
        return {c.metric: iter8_observations(c.metric, cum) for c in spec.criteria}

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
) -> OperatingCharacteristicsResult:
    """P(promote), P(rollback), P(abort), time to decision and cost, by simulation.

    Plays ``n`` closed-loop rollouts of ``spec`` (its strategy runs in the
    loop through :func:`canarystats.run_experiment`, so traffic follows the
    decisions) against ``scenario``, drawing sufficient statistics per
    assessment interval and version -- never one draw per request -- as
    :func:`simulate_rollouts` does: requests ~ Poisson(rate * dt * share),
    5xx ~ Binomial(requests, p), latency sum ~ Gamma (exact for Gamma
    latencies, moment-matched for log-normal).

    Parameters
    ----------
    spec : ExperimentSpec
        Scalar parameters; criteria on ``iter8_latency``, ``iter8_error_rate``,
        ``iter8_error_count`` or ``iter8_sample_size``.
    scenario : Scenario
    n : int, default 10000
    rng : numpy.random.Generator or int, optional
        A seed gives reproducible results; rollouts are drawn in chunks of
        :data:`CHUNK_SIZE`, each from its own stream spawned from the seed.

    Returns
    -------
    OperatingCharacteristicsResult

    Notes
    -----
    Windows follow :func:`canarystats.run_experiment`: assessment ``k`` sees
    ``[0, window_seconds(k)]`` with the candidate share routed since the
    previous assessment; assessment 0 sees 1 s of baseline-only traffic.
    Exposure and bad requests count the candidate's requests and 5xx up to
    the deciding assessment's window. With ``early_stop`` and a
    sequential criterion the decision may come before ``max_iterations``.

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
    seed = _seed(rng)
    n = int(n)
    n_chunks = -(-n // CHUNK_SIZE)
    streams = np.random.SeedSequence(seed).spawn(n_chunks)
    parts = []
    for i, stream in enumerate(streams):
        size = min(CHUNK_SIZE, n - i * CHUNK_SIZE)
        parts.append(_simulate_chunk(spec, scenario, size, np.random.default_rng(stream)))
    return _result_from_parts(n, parts)


def _seed(rng: Any) -> int | None:
    """An int seed (or None) from ``rng``: a Generator gives one draw from it."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return None if rng is None else int(rng)
    raise SpecError(f"`rng` must be a numpy Generator, an int seed or None, got {rng!r}")


def _result_from_parts(
    n: int, parts: Sequence[tuple[NDArray[Any], ...]]
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
    )
