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

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.adapters.frames import (
    COUNTER_COLUMNS,
    ISTIO_BUCKETS,
    bucket_column,
    iter8_observations,
)
from canarystats.adapters.prometheus import bucket_quantile
from canarystats.errors import SpecError
from canarystats.observations import Observations
from canarystats.simulate.needs import QUANTILE_METRICS, observation_needs
from canarystats.simulate.scenario import Scenario
from canarystats.spec import ExperimentSpec, batch_param
from canarystats.strategies import (
    final_split,
    initial_state,
    route,
    step,
    window_seconds,
)

__all__ = [
    "bucket_probabilities",
    "draw_latency",
    "histogram_bounds",
    "simulate_rollouts",
    "simulated_observations",
]


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


def draw_latency(
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


def bucket_probabilities(scenario: Scenario, bounds: NDArray[np.float64]) -> NDArray[np.float64]:
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


def histogram_bounds(buckets: bool | Sequence[float]) -> NDArray[np.float64] | None:
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


def simulated_observations(
    metric: str, increase: NDArray[np.float64], bounds: NDArray[np.float64] | None
) -> Observations:
    """A simulated metric's observations from counter increases (buckets after the counters)."""
    q = QUANTILE_METRICS.get(metric)
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
    bounds = histogram_bounds(buckets)
    need_buckets, _ = observation_needs(spec)
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
    pvals = None if bounds is None else bucket_probabilities(scenario, bounds)

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
        lat, _ = draw_latency(gen, scenario, requests, False)
        add = [requests, errors, lat, requests]
        if pvals is not None:
            counts = gen.multinomial(requests, pvals)
            add.extend(np.moveaxis(np.cumsum(counts, axis=-1), -1, 0))
        cum[e] = cum[e - 1] + np.stack(add, axis=-1)
        while k <= tc.max_iterations and assess_at[k] <= events[e]:
            j = int(np.searchsorted(events, window_ends[k]))
            increase = cum[j] - cum[0]
            obs: dict[str, Observations] = {
                c.metric: simulated_observations(c.metric, increase, bounds) for c in spec.criteria
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
