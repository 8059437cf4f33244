"""Reference values for P(X <= k * Y), X ~ Beta(a_x, b_x), Y ~ Beta(a_y, b_y), with mpmath.

Run from the repository root (takes a few minutes; needs ``pip install mpmath``)::

    python tests/reference/beta_pairs_mpmath.py > tests/reference/beta_pairs.json

How each value is computed (independently of canarystats and of scipy):

- ``I_x(a, b)`` by the continued fraction of DLMF 8.17.22 (modified Lentz), evaluated in
  mpmath at 30 significant digits, with the symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)`` when
  ``x > (a + 1) / (a + b + 2)`` (mpmath's own ``betainc`` raises ``NoConvergence`` for
  parameters near 10^6 and more);
- ``P = integral over t of g_Y(t) * I_{min(k expit(t), 1)}(a_x, b_x) dt`` where ``g_Y`` is the
  density of ``logit(Y)``, ``exp(a_y log expit(t) + b_y log expit(-t)) / B(a_y, b_y)``, by
  ``mpmath.quad`` over the subintervals between the logit-mode +- j * sd_logit (j = 0..60,
  ``sd_logit = sqrt(psi'(a) + psi'(b))``) and the kink at ``logit(1 / k)`` when ``k > 1``
  (without that breakpoint mpmath's tanh-sinh misses it by up to 7e-7), after dropping outer subintervals whose tail mass
  of Y is below 1e-30 (measured with the same continued fraction);
- every entry carries the Python call that reproduces it: ``reference(a_x, b_x, a_y, b_y, k)``.

``scipy.integrate.quad`` over [0, 1] is not used: for posteriors of a million trials it
returns 0 without a warning.
"""

from __future__ import annotations

import json
import sys

import mpmath as mp

mp.mp.dps = 30


def betainc_cf(a: mp.mpf, b: mp.mpf, x: mp.mpf) -> mp.mpf:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (DLMF 8.17.22)."""
    if x <= 0:
        return mp.mpf(0)
    if x >= 1:
        return mp.mpf(1)
    if x > (a + 1) / (a + b + 2):
        return 1 - betainc_cf(b, a, 1 - x)
    front = mp.exp(a * mp.log(x) + b * mp.log1p(-x) - mp.log(a) - mp.log(mp.beta(a, b)))
    tiny = mp.mpf(10) ** (-300)
    eps = mp.mpf(10) ** (-28)
    c, d = mp.mpf(1), 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    f = d
    m = 1
    while True:
        m2 = 2 * m
        num = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
        d = 1 + num * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + num / c
        c = c if abs(c) > tiny else tiny
        f *= d * c
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
        d = 1 + num * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + num / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        f *= delta
        if abs(delta - 1) < eps:
            return front * f
        m += 1
        if m > 10**6:
            raise RuntimeError("continued fraction did not converge")


def reference(a_x: float, b_x: float, a_y: float, b_y: float, k: float) -> mp.mpf:
    """P(X <= k Y) at 30 digits."""
    ax, bx, ay, by, kk = (mp.mpf(v) for v in (a_x, b_x, a_y, b_y, k))
    lby = mp.log(mp.beta(ay, by))

    def integrand(t: mp.mpf) -> mp.mpf:
        y = 1 / (1 + mp.exp(-t))
        log_y = -mp.log1p(mp.exp(-t))
        log_1my = -mp.log1p(mp.exp(t))
        dens = mp.exp(ay * log_y + by * log_1my - lby)
        return dens * betainc_cf(ax, bx, min(kk * y, mp.mpf(1)))

    center = mp.digamma(ay) - mp.digamma(by)
    sd = mp.sqrt(mp.psi(1, ay) + mp.psi(1, by))
    points = [center + j * sd for j in range(-60, 61)]
    if kk > 1:  # the integrand has a kink where k * y reaches 1: make it a breakpoint
        kink = -mp.log(kk - 1)  # logit(1 / k)
        points = sorted([*points, kink])

    def cdf_y(t: mp.mpf) -> mp.mpf:
        return betainc_cf(ay, by, 1 / (1 + mp.exp(-t)))

    lo, hi = 0, len(points) - 1
    while lo < hi - 1 and cdf_y(points[lo + 1]) < mp.mpf(10) ** -30:
        lo += 1
    while hi > lo + 1 and 1 - cdf_y(points[hi - 1]) < mp.mpf(10) ** -30:
        hi -= 1
    return mp.quad(integrand, points[lo : hi + 1])


# (a_x, b_x, a_y, b_y, k): posteriors of successes out of trials under the priors noted.
def _post(s: float, n: float, prior: tuple[float, float]) -> tuple[float, float]:
    return (prior[0] + s, prior[1] + n - s)


def cases() -> list[tuple[float, float, float, float, float]]:
    out = []
    jeff, flat = (0.5, 0.5), (1.0, 1.0)
    grid = [
        # (s_x, n_x, s_y, n_y): candidate X, baseline Y
        (0, 1, 0, 1),
        (1, 1, 0, 1),
        (1, 3, 2, 7),
        (3, 10, 1, 10),
        (16, 200, 36, 204),
        (12, 1000, 10, 1000),
        (130, 10_000, 100, 10_000),
        (1_050, 100_000, 1_000, 100_000),
        (10_020, 1_000_000, 10_000, 1_000_000),
        (100_300, 10_000_000, 100_000, 10_000_000),
        (0, 10_000_000, 0, 10_000_000),
        (5_000_000, 10_000_000, 4_999_000, 10_000_000),
        (2, 1_000, 2_000, 1_000_000),
        (1_100, 10_000_000, 1, 1_000),
        (0, 5, 50_000, 1_000_000),
    ]
    for s_x, n_x, s_y, n_y in grid:
        for prior in (jeff, flat):
            ax, bx = _post(s_x, n_x, prior)
            ay, by = _post(s_y, n_y, prior)
            for k in (1.0, 1.1, 0.9):
                out.append((ax, bx, ay, by, k))
    return out


def main() -> None:
    rows = []
    for a_x, b_x, a_y, b_y, k in cases():
        value = reference(a_x, b_x, a_y, b_y, k)
        rows.append(
            {
                "a_x": a_x,
                "b_x": b_x,
                "a_y": a_y,
                "b_y": b_y,
                "k": k,
                "p": mp.nstr(value, 25),
                "call": f"reference({a_x!r}, {b_x!r}, {a_y!r}, {b_y!r}, {k!r})",
            }
        )
        print(rows[-1]["call"], rows[-1]["p"], file=sys.stderr)
    json.dump(
        {
            "about": "P(X <= k*Y) for Beta posteriors, by tests/reference/beta_pairs_mpmath.py "
            "(mpmath 30 digits); X = candidate, Y = baseline",
            "cases": rows,
        },
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()
