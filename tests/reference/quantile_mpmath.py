"""Independent references for the quantile confidence sequences (mpmath, 50 digits).

Run: ``python tests/reference/quantile_mpmath.py``. Nothing here calls canarystats, and the
one-sided Beta mixture is integrated by quadrature rather than through the regularized
incomplete beta function canarystats uses. Each printed value is pasted into
tests/test_sequential_quantiles.py next to this command.

- ``dkw_C(alpha)``: the smallest ``C`` for which Howard and Ramdas' time-uniform DKW error
  bound ``4 exp(-g C) (1 + 1 / ((g - 1) log eta))``, ``g = (2 / eta) (A - sqrt(2 (eta - 1)
  / C))**2``, minimised over ``eta``, equals ``alpha`` (A = 0.85), as confseq's
  ``EmpiricalProcessLILBound`` solves it; printed beside the closed form ``0.8 log(1612 /
  alpha)`` canarystats uses, which must not be smaller.
- ``s_max(t, p, alpha)``: the largest ``s`` with ``int_p^1 (q/p)^s ((1-q)/(1-p))^(t-s)
  dBeta(1/2, 1/2)(q) / P(q >= p) < 1/alpha``, by quadrature and a linear scan.
"""

from mpmath import asin, exp, findroot, log, mp, mpf, quad, sqrt

mp.dps = 50
A = mpf("0.85")


def dkw_error(C, eta):
    g = 2 / eta * (A - sqrt(2 * (eta - 1) / C)) ** 2
    if g <= 1:
        return mpf("inf")
    return 4 * exp(-g * C) * (1 + 1 / ((g - 1) * log(eta)))


def best_error(C):
    # eta ranges over (1, eta_max) where A - sqrt(2 (eta - 1) / C) stays above sqrt(eta / 2)
    eta_max = findroot(lambda e: sqrt(e / 2) + sqrt(2 * (e - 1) / C) - A, (mpf("1.0001"), 2 * A * A),
                       solver="anderson")
    lo, hi = mpf(1) + mpf(10) ** -30, eta_max
    for _ in range(200):  # golden-section search: the error is unimodal in eta here
        m1, m2 = lo + (hi - lo) * mpf("0.382"), lo + (hi - lo) * mpf("0.618")
        if dkw_error(C, m1) < dkw_error(C, m2):
            hi = m2
        else:
            lo = m1
    return dkw_error(C, (lo + hi) / 2)


def dkw_C(alpha):
    alpha = mpf(alpha)
    lo, hi = mpf(2), mpf(60)
    for _ in range(120):  # bisection: the error decreases in C
        mid = (lo + hi) / 2
        if best_error(mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def dkw_radius_solved(t, alpha, t_min):
    t = mpf(t)
    return A * sqrt((log(1 + log(t / t_min)) + dkw_C(alpha)) / t)


def log_upper_mixture(s, t, p):
    s, t, p = mpf(s), mpf(t), mpf(p)

    # substitute q = sin(u)^2: dBeta(1/2, 1/2) = (2 / pi) du, no endpoint singularities
    def f(u):
        q = mp.sin(u) ** 2
        return exp(s * log(q / p) + (t - s) * log((1 - q) / (1 - p)))

    u0 = asin(sqrt(p))
    top = mp.pi / 2
    peak = asin(sqrt(min(max(s / t, p), mpf(1))))
    pts = sorted({u0, peak, top})
    num = quad(f, pts)
    return log(num / (top - u0))


def s_max(t, p, alpha):
    target = log(1 / mpf(alpha))
    s = int(mp.floor(mpf(t) * mpf(p)))
    while s + 1 <= t and log_upper_mixture(s + 1, t, p) < target:
        s += 1
    return s


if __name__ == "__main__":
    for a in ("1e-8", "1e-4", "0.001", "0.01", "0.05", "0.1", "0.2", "0.5"):
        c = dkw_C(a)
        closed = mpf("0.8") * log(1612 / mpf(a))
        print(f"dkw_C({a}) = {mp.nstr(c, 12)}  closed form {mp.nstr(closed, 12)}  ok={closed >= c}")
    print("dkw_radius_solved(1000, 0.05, 100) =", mp.nstr(dkw_radius_solved(1000, "0.05", 100), 12))
    for t, p, a in ((1000, "0.95", "0.05"), (1000, "0.05", "0.05"), (100, "0.5", "0.1"),
                    (5000, "0.99", "0.01")):
        print(f"s_max({t}, {p}, {a}) = {s_max(t, p, a)}")
