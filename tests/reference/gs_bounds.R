# Independent reference for canarystats.group_sequential: Lan-DeMets boundaries and
# inflation factors by recursive Gauss-Legendre quadrature (Golub-Welsch nodes), base R only.
# Run:  Rscript tests/reference/gs_bounds.R
# Two-sided symmetric designs spend alpha/2 per side (gsDesign/rpact convention):
#   OBF-type  a*(t) = 2 (2 - 2 pnorm(qnorm(1 - a/4) / sqrt(t)))  (both sides, a = 0.05)
#   Pocock    a*(t) = a log(1 + (e - 1) t)
options(digits = 15)
gl <- function(n) {                       # Gauss-Legendre nodes/weights on [-1, 1]
  k <- seq_len(n - 1); b <- k / sqrt(4 * k^2 - 1)
  J <- matrix(0, n, n); J[cbind(k, k + 1)] <- b; J[cbind(k + 1, k)] <- b
  e <- eigen(J, symmetric = TRUE)
  list(x = e$values, w = 2 * e$vectors[1, ]^2)
}
G <- gl(40)
nodes <- function(lo, hi, pieces = 60) {  # composite GL on [lo, hi]
  br <- seq(lo, hi, length.out = pieces + 1)
  x <- c(); w <- c()
  for (i in seq_len(pieces)) {
    h <- (br[i + 1] - br[i]) / 2; m <- (br[i + 1] + br[i]) / 2
    x <- c(x, m + h * G$x); w <- c(w, h * G$w)
  }
  list(x = x, w = w)
}
spend <- function(t, a, type) if (type == "OF") 2 * (2 - 2 * pnorm(qnorm(1 - a / 4) / sqrt(t))) else
  a * log(1 + (exp(1) - 1) * t)
# exit probability above b (and below lo_b if two) at look k given the previous sub-density
exitp <- function(prev, tk, b, drift, two) {
  if (is.null(prev)) {
    up <- pnorm(b - drift * sqrt(tk), lower.tail = FALSE)
    return(if (two) up + pnorm(-b - drift * sqrt(tk)) else up)
  }
  d <- tk - prev$t; m <- prev$x * sqrt(prev$t) + drift * d
  up <- sum(prev$g * pnorm((b * sqrt(tk) - m) / sqrt(d), lower.tail = FALSE))
  if (two) up + sum(prev$g * pnorm((-b * sqrt(tk) - m) / sqrt(d))) else up
}
advance <- function(prev, tk, lo, hi, drift) {
  q <- nodes(lo, hi)
  if (is.null(prev)) g <- dnorm(q$x - drift * sqrt(tk)) else {
    d <- tk - prev$t
    g <- sapply(q$x, function(z) sum(prev$g * dnorm((z * sqrt(tk) - prev$x * sqrt(prev$t) -
      drift * d) / sqrt(d)))) * sqrt(tk / d)
  }
  list(x = q$x, g = g * q$w, t = tk)
}
bounds <- function(t, a, type) {
  prev <- NULL; b <- numeric(length(t)); spent <- 0
  for (k in seq_along(t)) {
    target <- spend(t[k], a, type) - spent; spent <- spend(t[k], a, type)
    b[k] <- uniroot(function(x) exitp(prev, t[k], x, 0, TRUE) - target, c(0.5, 15),
                    tol = 1e-14)$root
    prev <- advance(prev, t[k], -b[k], b[k], 0)
  }
  b
}
power_upper <- function(t, b, drift) {    # P(cross upper), lower boundary ignored
  prev <- NULL; p <- 0
  for (k in seq_along(t)) {
    p <- p + exitp(prev, t[k], b[k], drift, FALSE)
    prev <- advance(prev, t[k], drift * sqrt(t[k]) - 12, b[k], drift)
  }
  p
}
for (K in c(4, 5)) for (type in c("OF", "Pocock")) {
  t <- seq_len(K) / K; b <- bounds(t, 0.05, type)
  cat(sprintf("K=%d %s bounds: %s\n", K, type, paste(sprintf("%.8f", b), collapse = ", ")))
  if (type == "OF") for (pw in c(0.8, 0.9)) {
    zf <- qnorm(0.975) + qnorm(pw)
    dr <- uniroot(function(d) power_upper(t, b, d) - pw, c(zf, zf * 1.5), tol = 1e-12)$root
    cat(sprintf("  power %.1f: drift %.8f inflation %.8f\n", pw, dr, (dr / zf)^2))
  }
}
