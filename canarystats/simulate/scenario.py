"""The simulated service: :class:`Scenario` (load, latency and errors of each version).

A scenario says what the service does during a simulated rollout: its request
rate (constant or diurnal), each version's error probability, and the
per-request latency distribution of each version, with the candidate's
regression as a scale, a shift or a slow tail. It also gives the exact mean
number of requests in an interval (:meth:`Scenario.expected_requests`) and the
per-request latency CDF (:meth:`Scenario.latency_cdf`) that the draws of
:mod:`canarystats.simulate.drawing` use; the validators of its fields live here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray
from scipy import special

from canarystats.errors import SpecError

__all__ = ["LATENCY_DISTRIBUTIONS", "Scenario"]

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
