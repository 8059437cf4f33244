"""Group-sequential designs: Lan-DeMets alpha spending over planned looks.

A design looks at the data ``K`` times, at information fractions ``0 < t_1 <
... < t_K = 1``, and stops at the first look whose z statistic crosses a
boundary. Lan and DeMets (1983) choose the boundaries so that the probability
of crossing by look ``k`` under the null is a spending function
``alpha(t_k)``; the boundaries are found look by look by recursive numerical
integration of the z statistic's density on the continuation region
(Armitage, McPherson and Rowe 1969; Jennison and Turnbull 2000, chapter 19).

- :func:`spending_function`: O'Brien-Fleming-type ``2 - 2 Phi(z_{a/2} /
  sqrt(t))``, Pocock-type ``a log(1 + (e - 1) t)`` (Lan and DeMets 1983) and
  the power family ``a t**rho`` (Kim and DeMets 1987).
- :func:`gs_bounds`: efficacy boundaries, one- or two-sided (symmetric), and
  optional futility boundaries from a beta-spending function (one-sided,
  binding or not); batched over designs.
- :func:`gs_crossing_probabilities`: exit probabilities per look at any drift.
- :func:`repeated_confidence_intervals`: intervals valid simultaneously at
  every look (Jennison and Turnbull 2000, chapter 9).
- :func:`gs_design`: the drift (maximum information) reaching a power, and
  the inflation factor over the fixed design that multiplies its sample size
  (``sample_size_means(..., inflation=...)``).
- :func:`look_bounds`: the boundary of the current look of many designs at
  once, each computed once per distinct history (what
  ``method="group_sequential"`` needs at every assessment).

The criterion method is
:class:`canarystats.methods.group_sequential.GroupSequentialMethod`.

Examples
--------
O'Brien-Fleming-type boundaries for 5 equally spaced looks, two-sided 0.05:

>>> from canarystats import gs_bounds
>>> b = gs_bounds(5, confidence_level=0.95, spending="obrien_fleming")
>>> [round(float(x), 3) for x in b.upper]
[4.877, 3.357, 2.68, 2.29, 2.031]
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from canarystats._arrays import TupleResult, result_field, scalar_or_array
from canarystats.errors import SpecError
from canarystats.stats.confidence_interval import ConfidenceIntervalResult
from canarystats.stats.levels import level_from

__all__ = [
    "SPENDING_FUNCTIONS",
    "CrossingProbabilitiesResult",
    "GroupSequentialBounds",
    "GroupSequentialDesign",
    "SpendingResult",
    "gs_bounds",
    "gs_crossing_probabilities",
    "gs_design",
    "look_bounds",
    "parse_spending",
    "repeated_confidence_intervals",
    "spending_function",
]

#: The spending function families (``"power"`` takes ``rho``: ``"power:2"``).
SPENDING_FUNCTIONS = ("obrien_fleming", "pocock", "power")

_F = NDArray[np.float64]
_R = 24  # Jennison-Turnbull grid parameter: 12 r - 3 = 285 quadrature points per look
_CHUNK = 64  # designs per block of the density update (bounds memory to ~40 MB)


# --------------------------------------------------------------------------- spending


@attrs.frozen(kw_only=True)
class SpendingResult(TupleResult):
    """A parsed spending specification; unpacks like the tuple it replaced (``family, rho``).

    Attributes
    ----------
    family : str
        One of :data:`SPENDING_FUNCTIONS`.
    rho : float
        The power family's exponent (3 when not given; unused by the others).
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("family", "rho")

    family: str
    rho: float


def parse_spending(spending: str) -> SpendingResult:
    """Split a spending specification into its family and ``rho``.

    ``"obrien_fleming"``, ``"pocock"``, or ``"power:<rho>"`` with ``rho > 0``
    (``"power"`` alone means ``rho = 3``, close to O'Brien-Fleming-type).

    Examples
    --------
    >>> family, rho = parse_spending("power:1.5")
    >>> family, rho
    ('power', 1.5)
    """
    if not isinstance(spending, str):
        raise SpecError(f"`spending` must be a string such as 'obrien_fleming', got {spending!r}")
    kind, _, arg = spending.partition(":")
    if kind not in SPENDING_FUNCTIONS or (arg and kind != "power"):
        raise SpecError(
            f"`spending` must be one of 'obrien_fleming', 'pocock' or 'power:<rho>', "
            f"got {spending!r}"
        )
    rho = 3.0
    if arg:
        try:
            rho = float(arg)
        except ValueError:
            rho = math.nan
        if not (math.isfinite(rho) and rho > 0):
            raise SpecError(f"`spending` 'power:<rho>' needs a number rho > 0, got {spending!r}")
    return SpendingResult(family=kind, rho=rho)


def spending_function(
    t: ArrayLike,
    *,
    confidence_level: ArrayLike | None = None,
    spending: str = "obrien_fleming",
    alpha: ArrayLike | None = None,
) -> Any:
    """The cumulative error spent by information fraction ``t``.

    Parameters
    ----------
    t : array_like
        Information fractions in [0, 1] (values above 1 count as 1).
    confidence_level : array_like
        Required, keyword only, in (0, 1): the total error to spend is
        ``alpha = 1 - confidence_level`` (the two-sided total for a two-sided
        design).
    alpha : array_like, optional
        Deprecated alias: the total error to spend (keyword only).
    spending : str
        ``"obrien_fleming"``: ``2 - 2 Phi(Phi^-1(1 - alpha/2) / sqrt(t))``;
        ``"pocock"``: ``alpha log(1 + (e - 1) t)``; ``"power:rho"``:
        ``alpha t**rho``.

    Notes
    -----
    Lan, K. K. G. and DeMets, D. L. (1983). Discrete sequential boundaries
    for clinical trials. Biometrika 70, 659-663 (the first two). Kim, K. and
    DeMets, D. L. (1987). Design and analysis of group sequential tests
    based on the type I error spending rate function. Biometrika 74, 149-154.

    Examples
    --------
    >>> round(float(spending_function(0.5, confidence_level=0.95)), 6)
    0.005575
    """
    return _spend(t, level_from(confidence_level, alpha, default=None), spending)


def _spend(t: ArrayLike, alpha: ArrayLike, spending: str) -> Any:
    """:func:`spending_function` spending the total error ``alpha``."""
    kind, rho = parse_spending(spending)
    tt = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    a = np.asarray(alpha, dtype=np.float64)
    with np.errstate(divide="ignore"):
        if kind == "obrien_fleming":
            out = 2.0 - 2.0 * special.ndtr(special.ndtri(1.0 - a / 2.0) / np.sqrt(tt))
        elif kind == "pocock":
            out = a * np.log1p((math.e - 1.0) * tt)
        else:
            out = a * tt**rho
    out = np.where(tt >= 1.0, a, out)
    return scalar_or_array(out)


# --------------------------------------------------------------------------- recursion


def _grid(mu: _F, low: _F, high: _F) -> tuple[_F, _F]:
    """Jennison and Turnbull's (2000, section 19.2.1) grid on [low, high], with Simpson weights.

    The ``6 r - 1`` points concentrate around ``mu`` and reach ``mu -/+ (3 +
    4 log r)``; points outside ``[low, high]`` are moved onto the limits (which
    gives zero-width intervals), and composite Simpson's rule is applied
    interval by interval with the midpoints added: every row keeps
    ``12 r - 3`` nodes, so designs stack into one array.
    """
    r = _R
    i = np.arange(1, 6 * r, dtype=np.float64)
    base = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    x = np.clip(mu[:, None] + base, low[:, None], high[:, None])
    d = np.diff(x, axis=1)
    n = x.shape[1]
    z = np.empty((x.shape[0], 2 * n - 1))
    z[:, ::2] = x
    z[:, 1::2] = x[:, :-1] + d / 2.0
    w = np.zeros_like(z)
    w[:, 1::2] = 4.0 * d / 6.0
    w[:, :-1:2] += d / 6.0
    w[:, 2::2] += d / 6.0
    return z, w


@attrs.define
class _Recursion:
    """The sub-density of Z at the last look on a grid, for a batch of designs.

    ``g = weight * density`` at nodes ``z`` (shape ``(B, M)``); ``t`` the last
    look's information fraction (0 before the first look: a point mass at 0).
    """

    z: _F
    g: _F
    t: _F
    drift: _F

    @classmethod
    def start(cls, drift: _F) -> _Recursion:
        b = drift.shape[0]
        return cls(z=np.zeros((b, 1)), g=np.ones((b, 1)), t=np.zeros(b), drift=drift)

    def _moments(self, t_new: _F) -> tuple[_F, _F]:
        step = t_new - self.t
        mean = self.z * np.sqrt(self.t)[:, None] + (self.drift * step)[:, None]
        return mean, np.sqrt(step)[:, None]

    def exit_upper(self, t_new: _F, b: _F) -> _F:
        """P(Z at ``t_new`` >= b, having continued so far), per design."""
        mean, sd = self._moments(t_new)
        with np.errstate(invalid="ignore"):
            p = special.ndtr((mean - (b * np.sqrt(t_new))[:, None]) / sd)
        return np.asarray(np.sum(self.g * p, axis=1))

    def exit_lower(self, t_new: _F, a: _F) -> _F:
        """P(Z at ``t_new`` <= a, having continued so far), per design."""
        mean, sd = self._moments(t_new)
        with np.errstate(invalid="ignore"):
            p = special.ndtr(((a * np.sqrt(t_new))[:, None] - mean) / sd)
        return np.asarray(np.sum(self.g * p, axis=1))

    def advance(self, t_new: _F, low: _F, high: _F) -> _Recursion:
        """The sub-density at ``t_new`` on the continuation region (low, high)."""
        z_new, w_new = _grid(self.drift * np.sqrt(t_new), low, high)
        mean, sd = self._moments(t_new)
        scale = np.sqrt(t_new)[:, None] / sd
        g_new = np.empty_like(z_new)
        for s in range(0, z_new.shape[0], _CHUNK):
            blk = slice(s, s + _CHUNK)
            u = (
                z_new[blk, :, None] * np.sqrt(t_new[blk])[:, None, None] - mean[blk, None, :]
            ) / sd[blk, :, None]
            dens = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
            g_new[blk] = np.einsum("bji,bi->bj", dens, self.g[blk]) * scale[blk]
        return _Recursion(z=z_new, g=g_new * w_new, t=t_new, drift=self.drift)


def _solve(f: Any, target: _F, lo: float = -12.0, hi: float = 40.0) -> _F:
    """Vectorized bisection of a decreasing ``f(x) = target`` on [lo, hi] (clipped)."""
    a = np.full(target.shape, lo)
    b = np.full(target.shape, hi)
    for _ in range(60):
        mid = (a + b) / 2.0
        above = f(mid) > target
        a = np.where(above, mid, a)
        b = np.where(above, b, mid)
    return np.asarray((a + b) / 2.0, dtype=np.float64)


def _bounds(
    t: _F,
    alpha_cum: _F,
    *,
    two_sided: bool,
    beta_cum: _F | None = None,
    drift: _F | None = None,
    binding: bool = False,
    close: bool = True,
) -> tuple[_F, _F]:
    """Boundaries of a batch of designs: ``t``, ``alpha_cum`` (B, K) -> (upper, lower)."""
    n_b, k_max = t.shape
    null = _Recursion.start(np.zeros(n_b))
    alt = None if beta_cum is None or drift is None else _Recursion.start(drift)
    upper = np.empty((n_b, k_max))
    lower = np.empty((n_b, k_max))
    prev_a = np.zeros(n_b)
    prev_b = np.zeros(n_b)
    for k in range(k_max):
        tk = t[:, k]
        target = alpha_cum[:, k] - prev_a
        prev_a = alpha_cum[:, k]
        rec = null
        if two_sided:
            def f(b: _F, rec: _Recursion = rec, tk: _F = tk) -> _F:
                return rec.exit_upper(tk, b) + rec.exit_lower(tk, -b)
        else:
            def f(b: _F, rec: _Recursion = rec, tk: _F = tk) -> _F:
                return rec.exit_upper(tk, b)
        bk = np.where(target > 1e-15, _solve(f, target, lo=0.0 if two_sided else -12.0), np.inf)
        ak = -bk if two_sided else np.full(n_b, -np.inf)
        if alt is not None and beta_cum is not None:
            tgt_b = beta_cum[:, k] - prev_b
            prev_b = beta_cum[:, k]
            arec = alt

            def g(a: _F, arec: _Recursion = arec, tk: _F = tk) -> _F:
                return -arec.exit_lower(tk, a)

            ak = np.where(tgt_b > 1e-15, _solve(g, -tgt_b, lo=-40.0, hi=40.0), -np.inf)
            # the last look is closed (a = b), or left free for gs_design's search
            last = k == k_max - 1
            ak = (bk.copy() if close else ak) if last else np.minimum(ak, bk)
        upper[:, k] = bk
        lower[:, k] = ak
        if k < k_max - 1:
            null_low = ak if (two_sided or binding) else np.full(n_b, -np.inf)
            null = null.advance(tk, null_low, bk)
            if alt is not None:
                alt = alt.advance(tk, ak, bk)
    return upper, lower


def _crossing(t: _F, upper: _F, lower: _F, drift: _F) -> tuple[_F, _F]:
    """Per-look exit probabilities above ``upper`` and below ``lower`` at ``drift``."""
    n_b, k_max = t.shape
    rec = _Recursion.start(drift)
    pu = np.empty((n_b, k_max))
    pl = np.empty((n_b, k_max))
    for k in range(k_max):
        tk = t[:, k]
        pu[:, k] = np.where(np.isinf(upper[:, k]), 0.0, rec.exit_upper(tk, upper[:, k]))
        pl[:, k] = np.where(np.isinf(lower[:, k]), 0.0, rec.exit_lower(tk, lower[:, k]))
        if k < k_max - 1:
            rec = rec.advance(tk, lower[:, k], upper[:, k])
    return pu, pl


# --------------------------------------------------------------------------- public API


def _information(information: int | ArrayLike) -> _F:
    if isinstance(information, int | np.integer) and not isinstance(information, bool):
        if information < 1:
            raise SpecError(f"`information` (the number of looks) must be >= 1, got {information}")
        return np.arange(1, int(information) + 1, dtype=np.float64) / int(information)
    t = np.asarray(information, dtype=np.float64)
    ok = (
        t.ndim >= 1
        and t.shape[-1] >= 1
        and bool(np.all(t > 0))
        and bool(np.all(np.diff(t, axis=-1) > 0))
        and bool(np.all(t[..., -1] <= 1.0 + 1e-12))
    )
    if not ok:
        raise SpecError(
            "`information` must be a number of equally spaced looks or increasing fractions "
            f"in (0, 1] along the last axis, got {information!r}"
        )
    return t


def _cumulative(t: _F, alpha: Any, spending: str, two_sided: bool) -> _F:
    """Cumulative error by look: a two-sided design spends ``alpha / 2`` per side."""
    if two_sided:
        return 2.0 * np.asarray(_spend(t, np.asarray(alpha) / 2.0, spending))
    return np.asarray(_spend(t, alpha, spending), dtype=np.float64)


def _alternative_sides(alternative: str) -> bool:
    if alternative not in ("two-sided", "greater"):
        raise SpecError(
            f"`alternative` must be one of ['two-sided', 'greater'], got {alternative!r}"
        )
    return alternative == "two-sided"


@attrs.frozen(kw_only=True)
class GroupSequentialBounds:
    """Boundaries of a group-sequential design on the z scale.

    Attributes
    ----------
    information : ndarray, shape (..., K)
        Information fractions of the looks.
    upper, lower : ndarray, shape (..., K)
        Stop for efficacy when ``Z_k >= upper[k]``; for a two-sided design
        also when ``Z_k <= lower[k] = -upper[k]``; for a one-sided design
        ``lower`` is the futility boundary (``-inf`` without futility).
        ``+inf`` where a look spends nothing.
    alpha : float
        The total level (two-sided total, or one-sided).
    alternative : str
        ``"two-sided"`` or ``"greater"``.
    spending : str
        The efficacy spending function.
    """

    information: Any
    upper: Any
    lower: Any
    alpha: float
    alternative: str
    spending: str

    @property
    def cumulative_alpha(self) -> Any:
        """The error the spending function allots by each look (both sides)."""
        return _cumulative(
            np.asarray(self.information), self.alpha, self.spending,
            self.alternative == "two-sided",
        )


def gs_bounds(
    information: int | ArrayLike,
    *,
    confidence_level: float | None = None,
    spending: str = "obrien_fleming",
    alternative: str = "two-sided",
    futility: str | None = None,
    beta: float = 0.1,
    drift: float | None = None,
    binding: bool = False,
    alpha: float | None = None,
) -> GroupSequentialBounds:
    """Lan-DeMets boundaries by recursive numerical integration.

    Parameters
    ----------
    information : int or array_like, shape (..., K)
        The number of equally spaced looks, or the information fractions
        (increasing, the last one 1 for a full design; a batch along leading
        axes).
    confidence_level : float, default 0.95
        ``1 - alpha``, ``alpha`` the total level (stored as
        :attr:`GroupSequentialBounds.alpha`); two-sided designs spend
        ``alpha`` over both (symmetric) sides.
    spending : str, default "obrien_fleming"
        See :func:`spending_function`.
    alternative : {"two-sided", "greater"}
    futility : str, optional
        A beta-spending function for futility boundaries (one-sided designs
        only), spending ``beta`` under ``drift`` (the expected ``Z`` at full
        information); the last futility boundary equals the last efficacy
        boundary. :func:`gs_design` chooses ``drift`` so that they meet
        exactly.
    beta : float, default 0.1
    drift : float, optional
        Required with ``futility``.
    binding : bool, default False
        Whether the efficacy boundaries count on stopping at futility
        boundaries (binding: lower efficacy boundaries; non-binding: the
        efficacy boundaries of the design without futility, so the level
        holds whether or not futility stops are obeyed).
    alpha : float, optional
        Deprecated alias: the total level, ``confidence_level = 1 - alpha``.

    Returns
    -------
    GroupSequentialBounds

    Notes
    -----
    At look ``k`` the sub-density of ``Z_k`` on the continuation region is
    ``h_k(z) = int h_{k-1}(u) sqrt(t_k / D) phi((z sqrt(t_k) - u sqrt(t_{k-1})
    - theta D) / sqrt(D)) du`` with ``D = t_k - t_{k-1}`` (Jennison and
    Turnbull 2000, eq. 19.5), integrated by Simpson's rule on their grid
    (section 19.2.1, ``r = 24``); each boundary solves ``P(exit at k) =
    alpha(t_k) - alpha(t_{k-1})`` by bisection, vectorized over designs.
    Agreement with an independent Gauss-Legendre computation in base R is
    better than 1e-6 on the boundaries (see ``tests/test_group_sequential.py``).
    """
    _alternative_sides(alternative)
    a = float(level_from(confidence_level, alpha, default=0.95))
    return _gs_bounds(information, a, spending, alternative, futility, beta, drift, binding)


def _gs_bounds(
    information: int | ArrayLike,
    a: float,
    spending: str,
    alternative: str,
    futility: str | None,
    beta: float,
    drift: float | None,
    binding: bool,
) -> GroupSequentialBounds:
    """:func:`gs_bounds` at the total level ``a``."""
    two_sided = _alternative_sides(alternative)
    t = _information(information)
    shape = t.shape
    t2 = t.reshape(-1, shape[-1])
    acum = _cumulative(t2, a, spending, two_sided)
    if futility is not None:
        if two_sided:
            raise SpecError("`futility` boundaries are available for one-sided designs only")
        if drift is None:
            raise SpecError("`futility` needs `drift`, the expected Z at full information")
        bcum = np.asarray(_spend(t2, float(beta), futility)).reshape(t2.shape)
        up, lo = _bounds(
            t2, acum, two_sided=False, beta_cum=bcum,
            drift=np.full(t2.shape[0], float(drift)), binding=binding,
        )
    else:
        up, lo = _bounds(t2, acum, two_sided=two_sided)
    return GroupSequentialBounds(
        information=t.copy() if t.ndim > 1 else t,
        upper=up.reshape(shape),
        lower=lo.reshape(shape),
        alpha=a,
        alternative=alternative,
        spending=spending,
    )


@attrs.frozen(kw_only=True)
class CrossingProbabilitiesResult(TupleResult):
    """Per-look exit probabilities; unpacks like the tuple it replaced (``p_upper, p_lower``).

    Attributes
    ----------
    p_upper, p_lower : ndarray, shape (..., K)
        The probability of stopping at each look above the upper boundary,
        and below the lower one.
    """

    _tuple_fields: ClassVar[tuple[str, ...]] = ("p_upper", "p_lower")

    p_upper: Any = result_field()
    p_lower: Any = result_field()


def gs_crossing_probabilities(
    information: ArrayLike, upper: ArrayLike, lower: ArrayLike, drift: ArrayLike = 0.0
) -> CrossingProbabilitiesResult:
    """Per-look probabilities of stopping above ``upper`` and below ``lower``.

    ``drift`` is the expected ``Z`` at full information (``theta *
    sqrt(I_max)``); 0 is the null. Shapes ``(..., K)`` broadcast; returns
    ``(p_upper, p_lower)`` of the broadcast shape.

    Examples
    --------
    >>> b = gs_bounds(4, confidence_level=0.95, spending="pocock")
    >>> pu, pl = gs_crossing_probabilities(b.information, b.upper, b.lower)
    >>> round(float(pu.sum() + pl.sum()), 8)
    0.05
    """
    t, up, lo, d = np.broadcast_arrays(
        np.asarray(information, dtype=np.float64),
        np.asarray(upper, dtype=np.float64),
        np.asarray(lower, dtype=np.float64),
        np.asarray(drift, dtype=np.float64)[..., None],
    )
    shape = t.shape
    k = shape[-1]
    pu, pl = _crossing(
        t.reshape(-1, k), up.reshape(-1, k), lo.reshape(-1, k), d.reshape(-1, k)[:, 0].copy()
    )
    return CrossingProbabilitiesResult(p_upper=pu.reshape(shape), p_lower=pl.reshape(shape))


def repeated_confidence_intervals(
    estimate: ArrayLike,
    standard_error: ArrayLike,
    information: ArrayLike,
    *,
    confidence_level: float = 0.95,
    spending: str = "obrien_fleming",
    alternative: str = "two-sided",
) -> ConfidenceIntervalResult:
    """Repeated confidence intervals of a group-sequential design (Jennison and Turnbull ch. 9).

    At look ``k`` the interval is ``estimate_k -/+ c_k * standard_error_k``,
    ``c_k`` the boundary of the Lan-DeMets design of level ``alpha = 1 -
    confidence_level`` at the looks' information fractions. Whatever the true
    ``theta``, all the intervals of a design cover it simultaneously with
    probability ``confidence_level`` (at least, when fewer looks are taken),
    so they may be read at every look, and after a stop or when continuing
    past a boundary. An interval excludes ``theta_0`` exactly when the
    design's z statistic for ``theta_0`` crosses the boundary at that look.

    Parameters
    ----------
    estimate, standard_error : array_like, shape (..., k)
        The estimate of ``theta`` and its standard error at each look taken.
    information : array_like, shape (..., k)
        The looks' information fractions (increasing, of the planned maximum;
        the boundaries of looks ``1..k`` depend on ``t_1..t_k`` only).
    confidence_level : float, default 0.95
    spending : str, default "obrien_fleming"
        See :func:`spending_function`.
    alternative : {"two-sided", "less", "greater"}
        Two-sided intervals (``alpha / 2`` spent per side, the boundaries of
        :func:`gs_bounds` with ``alternative="two-sided"``), or one-sided
        ``(-inf, high)`` (``"less"``) and ``(low, inf)`` (``"greater"``) with
        the one-sided boundaries of level ``alpha``.

    Returns
    -------
    ConfidenceIntervalResult
        ``(low, high)``, arrays of shape ``(..., k)``.

    Notes
    -----
    Jennison, C. and Turnbull, B. W. (1989). Interim analyses: the repeated
    confidence interval approach. JRSS B 51, 305-361; Jennison and Turnbull
    (2000), chapter 9. The ``method="group_sequential"`` criterion (symmetric
    boundaries, ``alpha = 1 - confidence`` per side) PASSes at look ``k``
    exactly when the upper end of the two-sided repeated interval of level
    ``1 - 2 alpha`` for ``D`` is at most 0.

    Examples
    --------
    >>> low, high = repeated_confidence_intervals([0.5, 0.4], [0.2, 0.1], [0.5, 1.0])
    >>> [round(float(x), 4) for x in low], [round(float(x), 4) for x in high]
    ([-0.0925, 0.2031], [1.0925, 0.5969])
    """
    if alternative not in ("two-sided", "less", "greater"):
        raise SpecError(
            f"`alternative` must be one of ['two-sided', 'less', 'greater'], got {alternative!r}"
        )
    level = float(confidence_level)
    if not 0 < level < 1:
        raise SpecError(f"`confidence_level` must lie in (0, 1), got {confidence_level!r}")
    t = _information(np.asarray(information, dtype=np.float64))
    est, se, t = np.broadcast_arrays(
        np.asarray(estimate, dtype=np.float64), np.asarray(standard_error, dtype=np.float64), t
    )
    two_sided = alternative == "two-sided"
    k = t.shape[-1]
    rows, inverse = np.unique(t.reshape(-1, k), axis=0, return_inverse=True)
    acum = _cumulative(rows, 1.0 - level, spending, two_sided)
    up, _ = _bounds(rows, acum, two_sided=two_sided)
    c = up[np.reshape(inverse, -1)].reshape(t.shape)
    low = est - c * se if alternative != "less" else np.full(est.shape, -np.inf)
    high = est + c * se if alternative != "greater" else np.full(est.shape, np.inf)
    return ConfidenceIntervalResult(low=low, high=high)


@attrs.frozen(kw_only=True)
class GroupSequentialDesign:
    """A group-sequential design sized for a power.

    Attributes
    ----------
    bounds : GroupSequentialBounds
    drift : float
        Expected ``Z`` at full information under the alternative.
    inflation_factor : float
        Maximum information over the fixed design's: ``(drift / (z_{1-a} +
        z_{1-b}))**2`` (``z_{1-a/2}`` two-sided). Multiply a fixed sample
        size by it.
    power : float
        The probability of crossing the upper boundary under the alternative.
    expected_information : tuple of float
        Expected information at stopping, as a fraction of the maximum, under
        the null and under the alternative.
    """

    bounds: GroupSequentialBounds
    drift: float
    inflation_factor: float
    power: float
    expected_information: tuple[float, float]


def gs_design(
    information: int | ArrayLike,
    *,
    confidence_level: float | None = None,
    power: float = 0.9,
    spending: str = "obrien_fleming",
    alternative: str = "two-sided",
    futility: str | None = None,
    binding: bool = False,
    alpha: float | None = None,
) -> GroupSequentialDesign:
    """The drift and inflation factor giving ``power`` (Jennison and Turnbull 2000, ch. 7).

    Without ``futility`` the boundaries do not depend on the alternative and
    the drift solves ``P(cross upper) = power``; with ``futility`` (one-sided)
    the drift is the one at which the last futility and efficacy boundaries
    meet, ``beta = 1 - power`` being spent by the futility spending function.
    ``confidence_level`` (default 0.95) is ``1 - alpha`` of :func:`gs_bounds`;
    ``alpha`` is its deprecated alias.

    Examples
    --------
    >>> d = gs_design(5, confidence_level=0.95, power=0.9, spending="obrien_fleming")
    >>> round(float(d.inflation_factor), 4)
    1.0231
    """
    two_sided = _alternative_sides(alternative)
    a = float(level_from(confidence_level, alpha, default=0.95))
    t = _information(information)
    if t.ndim != 1:
        raise SpecError("`gs_design` sizes one design: `information` must be 1-d")
    if not 0 < power < 1:
        raise SpecError(f"`power` must lie in (0, 1), got {power!r}")
    beta = 1.0 - power
    z_fixed = special.ndtri(1.0 - a / (2.0 if two_sided else 1.0)) + special.ndtri(power)

    if futility is None:
        bounds = _gs_bounds(t, a, spending, alternative, None, 0.1, None, False)
        lo_eff = np.full(t.shape, -np.inf) if two_sided else bounds.lower

        def miss(d: float) -> float:
            pu, _ = gs_crossing_probabilities(t, bounds.upper, lo_eff, d)
            return float(pu.sum()) - power

        drift = float(optimize.brentq(miss, 0.0, 4.0 * z_fixed + 5.0, xtol=1e-12))
    else:
        if two_sided:
            raise SpecError("`futility` boundaries are available for one-sided designs only")
        tt = t[None, :]
        acum = _cumulative(tt, a, spending, False)
        bcum = np.asarray(_spend(tt, beta, futility))

        def gap(d: float) -> float:
            up, lo = _bounds(
                tt, acum, two_sided=False, beta_cum=bcum, drift=np.array([d]),
                binding=binding, close=False,
            )
            return float(lo[0, -1] - up[0, -1])

        drift = float(optimize.brentq(gap, 0.5 * z_fixed, 3.0 * z_fixed, xtol=1e-10))
        bounds = _gs_bounds(t, a, spending, alternative, futility, beta, drift, binding)
    pu, pl = gs_crossing_probabilities(t, bounds.upper, bounds.lower, drift)
    expected = []
    for d in (0.0, drift):
        qu, ql = gs_crossing_probabilities(t, bounds.upper, bounds.lower, d)
        stop = qu + ql
        stop[-1] = 1.0 - stop[:-1].sum()  # the last look ends the design
        expected.append(float(np.sum(stop * t)))
    return GroupSequentialDesign(
        bounds=bounds,
        drift=drift,
        inflation_factor=float((drift / z_fixed) ** 2),
        power=float(pu.sum()),
        expected_information=(expected[0], expected[1]),
    )


# --------------------------------------------------------------------------- current looks


def look_bounds(
    information: _F,
    look: NDArray[np.int64],
    *,
    confidence_level: ArrayLike | None = None,
    spending: str,
    alpha: ArrayLike | None = None,
) -> _F:
    """The two-sided boundary of each design's current look, once per distinct history.

    Parameters
    ----------
    information : ndarray of float, shape (m, K)
        Per design, the information fractions of the looks taken (the first
        ``look`` entries are read).
    look : ndarray of int, shape (m,)
        The current look of each design (1-based, at most ``K``).
    confidence_level : ndarray of float, shape (m,)
        Required, keyword only, in (0, 1): ``1 - alpha``, ``alpha`` the level
        spent per side (symmetric boundaries of total level ``2 alpha``).
    spending : str
        See :func:`spending_function`.
    alpha : ndarray of float, optional
        Deprecated alias: the level spent per side (keyword only).

    Returns
    -------
    ndarray of float, shape (m,)
        The boundary ``b`` of look ``look`` (``+inf`` where the look spends
        nothing); designs with equal histories share one recursion.
    """
    err = np.broadcast_to(level_from(confidence_level, alpha, default=None), look.shape)
    out = np.empty(look.shape[0])
    for k in np.unique(look):
        sel = np.flatnonzero(look == k)
        rows = np.concatenate([information[sel, :k], err[sel, None]], axis=1)
        uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
        t = uniq[:, :k]
        a = uniq[:, k]
        acum = _cumulative(t, a[:, None], spending, False) * 2.0  # alpha per side
        up, _ = _bounds(t, acum, two_sided=True)
        out[sel] = up[:, -1][np.reshape(inverse, -1)]
    return out
