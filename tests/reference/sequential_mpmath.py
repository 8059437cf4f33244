"""Independent reference values for canarystats.sequential, computed with mpmath (50 digits).

Run: ``python tests/reference/sequential_mpmath.py``. Each value is computed from the defining
integral (never from canarystats, and not from the closed forms canarystats uses) and pasted
into tests/test_sequential.py next to the command that produced it.
"""

from mpmath import beta, exp, findroot, inf, log, mp, mpf, quad, sqrt

mp.dps = 50
HALF = mpf(1) / 2


def msprt(mean, n, sigma2, tau2):
    """Johari et al. (2022) eq. (11), by integrating the N(0, tau2) mixture over theta."""
    mean, n, sigma2, tau2 = map(mpf, (mean, n, sigma2, tau2))

    def f(th):
        lr = exp(n * th * mean / sigma2 - n * th**2 / (2 * sigma2))
        return lr * exp(-(th**2) / (2 * tau2)) / sqrt(2 * mp.pi * tau2)

    return log(quad(f, [-inf, 0, inf]))


def beta_mixture(s, n, p, a=HALF, b=HALF):
    """log of the integral over q of (q/p)^s ((1-q)/(1-p))^(n-s) times the Beta(a, b) density."""
    s, n, p = map(mpf, (s, n, p))

    def f(q):
        lr = (q / p) ** s * ((1 - q) / (1 - p)) ** (n - s)
        return lr * q ** (a - 1) * (1 - q) ** (b - 1) / beta(a, b)

    return log(quad(f, [0, s / n, 1]))


def bernoulli_cs_ends(s, n, alpha):
    """The two roots of beta_mixture(s, n, p) = log(1/alpha)."""

    def g(p):
        return beta_mixture(s, n, p) - log(1 / mpf(alpha))

    lo = findroot(g, (mpf("0.1"), mpf("0.3")), solver="anderson")
    hi = findroot(g, (mpf("0.3"), mpf("0.6")), solver="anderson")
    return lo, hi


if __name__ == "__main__":
    print("msprt(0.3, 100, 1, 0.1) =", mp.nstr(msprt(0.3, 100, 1, 0.1), 15))
    print("msprt(-0.05, 2500, 2, 0.01) =", mp.nstr(msprt(-0.05, 2500, 2, 0.01), 15))
    print("beta_mixture(30, 100, 0.5) =", mp.nstr(beta_mixture(30, 100, 0.5), 15))
    print("beta_mixture(3, 1000, 0.01) =", mp.nstr(beta_mixture(3, 1000, 0.01), 15))
    lo, hi = bernoulli_cs_ends(30, 100, 0.05)
    print("bernoulli_cs(30, 100, 0.05) =", mp.nstr(lo, 15), mp.nstr(hi, 15))
