"""Independent reference values for canarystats.methods.sequential, computed with mpmath (50 digits).

Run: ``python tests/reference/sequential_mpmath.py``. Each value is computed from the defining
integral (never from canarystats, and not from the closed forms canarystats uses) and pasted
into tests/test_sequential.py next to the command that produced it.
"""

from mpmath import beta, binomial, exp, findroot, inf, log, mp, mpf, quad, sqrt

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


def msprt_two_sample(theta_hat, v, tau2):
    """log of the N(0, tau2) mixture of N(theta_hat; theta, v) / N(theta_hat; 0, v), by quadrature."""
    theta_hat, v, tau2 = map(mpf, (theta_hat, v, tau2))

    def f(th):
        lr = exp((2 * theta_hat * th - th**2) / (2 * v))
        return lr * exp(-(th**2) / (2 * tau2)) / sqrt(2 * mp.pi * tau2)

    return log(quad(f, [-inf, 0, theta_hat, inf]))


def point_process(intervals, ratio, k=100):
    """The point-process e-value as a sum over the intervals' predictive ratios.

    intervals: (baseline events, candidate events, candidate share of exposure) per interval.
    Each predictive is the beta-binomial integral over the share, computed by quadrature
    (not by Beta functions), with the Beta moved between allocations by the log-odds match.
    """
    ratio, k = mpf(ratio), mpf(k)
    a = b = alloc = None
    total = mpf(0)
    for y, x, w in intervals:
        y, x, w = mpf(y), mpf(x), mpf(w)
        pi0 = w * ratio / (1 - w + w * ratio)
        if a is None:
            a, b, alloc = k * pi0, k * (1 - pi0), w
        c = log(w / (1 - w)) - log(alloc / (1 - alloc))
        s = a / b * exp(c)
        v = 1 / a + 1 / b
        a, b = (1 + s) / v, (1 + 1 / s) / v
        m = x + y

        def dens(q, a=a, b=b, x=x, y=y):
            return q ** (a - 1) * (1 - q) ** (b - 1) / beta(a, b) * q**x * (1 - q) ** y

        pred = binomial(m, x) * quad(dens, [0, x / m if m else mpf(1) / 2, 1])
        total += log(pred) - log(binomial(m, x) * pi0**x * (1 - pi0) ** y)
        a, b, alloc = a + x, b + y, w
    return total


# baseline errors, candidate errors, candidate share of the interval's requests
PP_CASE = [(20, 1, 0.02), (18, 3, 0.1), (15, 9, 0.3), (9, 14, 0.5), (11, 13, 0.5)]


if __name__ == "__main__":
    print("msprt_two_sample(0.3, 0.02, 0.1) =", mp.nstr(msprt_two_sample(0.3, 0.02, 0.1), 15))
    print("msprt_two_sample(-0.01, 3e-5, 1e-4) =",
          mp.nstr(msprt_two_sample(-0.01, "3e-5", "1e-4"), 15))
    print("point_process(PP_CASE, 1.2) =", mp.nstr(point_process(PP_CASE, 1.2), 15))
    print("msprt(0.3, 100, 1, 0.1) =", mp.nstr(msprt(0.3, 100, 1, 0.1), 15))
    print("msprt(-0.05, 2500, 2, 0.01) =", mp.nstr(msprt(-0.05, 2500, 2, 0.01), 15))
    print("beta_mixture(30, 100, 0.5) =", mp.nstr(beta_mixture(30, 100, 0.5), 15))
    print("beta_mixture(3, 1000, 0.01) =", mp.nstr(beta_mixture(3, 1000, 0.01), 15))
    lo, hi = bernoulli_cs_ends(30, 100, 0.05)
    print("bernoulli_cs(30, 100, 0.05) =", mp.nstr(lo, 15), mp.nstr(hi, 15))
