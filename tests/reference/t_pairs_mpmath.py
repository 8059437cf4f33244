"""Reference values for P(X <= k * Y), X ~ t(df_x; loc_x, scale_x), Y ~ t(df_y; loc_y, scale_y).

Run from the repository root (about a minute; needs ``pip install mpmath``)::

    python tests/reference/t_pairs_mpmath.py > tests/reference/t_pairs.json

How each value is computed (independently of canarystats and of scipy), at 30 digits:

- the t CDF: ``F(t; nu) = 1 - I_{nu / (nu + t^2)}(nu / 2, 1 / 2) / 2`` for ``t >= 0`` and its
  mirror for ``t < 0`` (Abramowitz & Stegun 26.7.1), with ``mpmath.betainc(..., regularized=True)``
  (the parameters stay below 10^4 here, where mpmath converges); ``df = inf``: ``mpmath.ncdf``;
- ``P = integral over y of f_Y(y) * F_X((k y - loc_x) / scale_x)`` with ``f_Y`` the t density
  (``mpmath.gamma``), by ``mpmath.quad`` over the breakpoints ``loc_y + scale_y * j`` for
  ``j = 0, +-1/2, +-1, +-2, ..., +-2^12`` plus ``(loc_x + scale_x * j) / k`` for the same
  ``j`` (where X's CDF changes), and the two infinite tails;
- every entry carries the Python call that reproduces it:
  ``reference(loc_x, scale_x, df_x, loc_y, scale_y, df_y, k)`` (``df`` ``"inf"`` = normal).
"""

from __future__ import annotations

import json
import sys

import mpmath as mp

mp.mp.dps = 30


def t_cdf(t: mp.mpf, nu: mp.mpf | None) -> mp.mpf:
    if nu is None:
        return mp.ncdf(t)
    tail = mp.betainc(nu / 2, mp.mpf(1) / 2, 0, nu / (nu + t * t), regularized=True) / 2
    return 1 - tail if t >= 0 else tail


def t_pdf(t: mp.mpf, nu: mp.mpf | None) -> mp.mpf:
    if nu is None:
        return mp.npdf(t)
    c = mp.gamma((nu + 1) / 2) / (mp.sqrt(nu * mp.pi) * mp.gamma(nu / 2))
    return c * (1 + t * t / nu) ** (-(nu + 1) / 2)


def reference(loc_x: float, scale_x: float, df_x: float | str, loc_y: float, scale_y: float,
              df_y: float | str, k: float) -> mp.mpf:
    mx, sx, my, sy, kk = (mp.mpf(repr(v)) for v in (loc_x, scale_x, loc_y, scale_y, k))
    nx = None if df_x == "inf" else mp.mpf(repr(df_x))
    ny = None if df_y == "inf" else mp.mpf(repr(df_y))

    def integrand(y: mp.mpf) -> mp.mpf:
        return t_pdf((y - my) / sy, ny) / sy * t_cdf((kk * y - mx) / sx, nx)

    steps = [mp.mpf(0)] + [s * mp.mpf(2) ** e for e in range(-1, 13) for s in (1, -1)]
    points = {my + sy * j for j in steps} | {(mx + sx * j) / kk for j in steps}
    return mp.quad(integrand, [-mp.inf, *sorted(points), mp.inf])


CASES = [
    # (loc_x, scale_x, df_x, loc_y, scale_y, df_y, k)
    (0.21, 0.01, 9.0, 0.2, 0.01, 9.0, 1.0),
    (0.21, 0.01, 9.0, 0.2, 0.01, 9.0, 1.1),
    (0.21, 0.01, 9.0, 0.2, 0.02, 29.0, 1.05),
    (1.0, 0.3, 2.0, 1.2, 0.05, 49.0, 1.0),
    (1.0, 0.3, 2.0, 1.2, 0.05, 49.0, 0.9),
    (0.5, 0.001, 999.0, 0.49, 0.002, 499.0, 1.02),
    (3.0, 2.0, 1.5, 2.0, 0.5, 4.0, 1.0),
    (0.1, 0.02, 4.0, 0.1, 0.02, "inf", 1.1),
    (0.3, 0.1, 3.0, 0.25, 0.1, 3.0, 1.2),
    (100.0, 5.0, 19.0, 98.0, 1.0, 9999.0, 1.0),
    (0.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0),
    (0.02, 1e-4, 99.0, 0.02, 3e-4, 9.0, 1.001),
]


def main() -> None:
    cases = []
    for case in CASES:
        p = reference(*case)
        cases.append({
            "loc_x": case[0], "scale_x": case[1], "df_x": case[2], "loc_y": case[3],
            "scale_y": case[4], "df_y": case[5], "k": case[6],
            "p": mp.nstr(p, 25), "call": f"reference{case!r}",
        })
    json.dump({"about": __doc__.splitlines()[0], "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
