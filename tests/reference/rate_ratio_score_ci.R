# Independent reference for canarystats.rate_ratio_interval: the confidence interval for
# p_c / p_b obtained by inverting the Farrington-Manning score test, base R only.
# Run:  Rscript tests/reference/rate_ratio_score_ci.R
# The null-restricted MLE is found by uniroot on the score equation of the null likelihood
# (not by the closed-form quadratic canarystats uses), the interval ends by uniroot on log r.
options(digits = 15)
restricted <- function(x0, n0, x1, n1, r) {   # p0 maximising the likelihood under p1 = r p0
  top <- min(1, 1 / r)
  if (x0 + x1 == 0) return(0)
  if (x0 == n0 && x1 == n1) return(top)
  score <- function(q) (x0 + x1) / q - (n0 - x0) / (1 - q) - r * (n1 - x1) / (1 - r * q)
  edge <- top * (1 - 1e-15)
  if (score(edge) >= 0) return(top)            # the maximum is on the boundary
  uniroot(score, c(1e-300, edge), tol = 1e-300, maxiter = 10000)$root
}
z <- function(x0, n0, x1, n1, r) {             # the score z of p1 - r p0
  q0 <- restricted(x0, n0, x1, n1, r); q1 <- r * q0
  (x1 / n1 - r * x0 / n0) / sqrt(q1 * (1 - q1) / n1 + r^2 * q0 * (1 - q0) / n0)
}
ci <- function(x0, n0, x1, n1, level = 0.95) {
  q <- qnorm(1 - (1 - level) / 2)
  f <- function(u, target) z(x0, n0, x1, n1, exp(u)) - target
  lo <- if (x1 == 0) 0 else exp(uniroot(f, c(-30, 30), target = q, tol = 1e-13)$root)
  hi <- if (x0 == 0) Inf else exp(uniroot(f, c(-30, 30), target = -q, tol = 1e-13)$root)
  c(lo, hi)
}
cases <- list(c(50, 100, 40, 100), c(1000, 20000, 1100, 20000), c(3, 40, 9, 35),
              c(12, 150, 0, 160), c(0, 80, 4, 90), c(30, 30, 25, 40), c(7, 1000000, 15, 900000))
for (cs in cases) {
  r <- ci(cs[1], cs[2], cs[3], cs[4])
  cat(sprintf("%g/%g vs %g/%g: %.12g %.12g\n", cs[1], cs[2], cs[3], cs[4], r[1], r[2]))
}
r90 <- ci(50, 100, 40, 100, 0.9)
cat(sprintf("level 0.90, 50/100 vs 40/100: %.12g %.12g\n", r90[1], r90[2]))
