"""Student-t pairs against mpmath; credible intervals of each version and of the relative difference.

Reference values: ``tests/reference/t_pairs.json``, P(X <= k Y) for t pairs at 30 digits, each
with the call of ``tests/reference/t_pairs_mpmath.py`` that produced it (mpmath.betainc for the
t CDF, mpmath.quad over breakpoints); the interval ends are checked through their defining
equation, P(X / Y - 1 <= end) = (1 -+ c) / 2, with the quadrature that the mpmath tests cover.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import t as student_t

from canarystats.stats.beta import beta_relative_difference_interval, prob_beta_le
from canarystats.stats.t_posterior import (
    prob_t_le,
    t_credible_interval,
    t_relative_difference_interval,
)

HERE = Path(__file__).parent
T_PAIRS = json.loads((HERE / "reference" / "t_pairs.json").read_text())["cases"]


def _df(v: float | str) -> float:
    return np.inf if v == "inf" else float(v)


@pytest.mark.parametrize("case", T_PAIRS, ids=lambda c: c["call"])
def test_t_pairs_against_mpmath(case: dict) -> None:
    # each value: python tests/reference/t_pairs_mpmath.py, entry "call" (30-digit mpmath)
    got = prob_t_le(case["loc_x"], case["scale_x"], _df(case["df_x"]), case["loc_y"],
                    case["scale_y"], _df(case["df_y"]), case["k"])
    assert abs(got - float(case["p"])) <= 1e-10


def test_t_credible_interval_is_scipys() -> None:
    low, high = t_credible_interval([0.2, 1.0], [0.01, 2.0], [9.0, np.inf], 0.9)
    want = student_t.interval(0.9, 9.0, loc=0.2, scale=0.01)
    assert low[0] == pytest.approx(want[0], abs=1e-14)
    assert high[0] == pytest.approx(want[1], abs=1e-14)
    assert high[1] == pytest.approx(1.0 + 2.0 * 1.6448536269514722, abs=1e-12)


def test_relative_difference_ends_solve_their_equation() -> None:
    # trials 1 .. 10^7 (successes, trials) per version, Jeffreys prior
    pairs = [(0, 1, 1, 1), (3, 40, 1, 35), (20, 1000, 20, 1000), (2e5, 1e7, 2.1e5, 1e7)]
    ax, bx, ay, by = (np.array(v) for v in zip(*[(sx + 0.5, nx - sx + 0.5, sy + 0.5,
                                                   ny - sy + 0.5) for sy, ny, sx, nx in pairs], strict=True))
    low, high = beta_relative_difference_interval(ax, bx, ay, by, 0.95)
    assert np.all(low < high)
    np.testing.assert_allclose(prob_beta_le(ax, bx, ay, by, 1 + low), 0.025, atol=1e-9)
    np.testing.assert_allclose(prob_beta_le(ax, bx, ay, by, 1 + high), 0.975, atol=1e-9)
    tl, th = t_relative_difference_interval([0.11, 0.5], [0.002, 0.01], [np.inf, 30.0],
                                            [0.1, 0.45], [0.002, 0.02], [np.inf, 60.0], 0.9)
    np.testing.assert_allclose(prob_t_le([0.11, 0.5], [0.002, 0.01], [np.inf, 30.0],
                                         [0.1, 0.45], [0.002, 0.02], [np.inf, 60.0], 1 + tl),
                               0.05, atol=1e-9)
    np.testing.assert_allclose(prob_t_le([0.11, 0.5], [0.002, 0.01], [np.inf, 30.0],
                                         [0.1, 0.45], [0.002, 0.02], [np.inf, 60.0], 1 + th),
                               0.95, atol=1e-9)
    # a posterior with mass at or below 0: the ratio is undefined
    assert np.isnan(t_relative_difference_interval(0.1, 0.1, 3.0, 0.2, 0.01, 10.0)[0])
    assert np.isnan(beta_relative_difference_interval(-1.0, 1.0, 1.0, 1.0)[1])


@settings(max_examples=15)
@given(st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 10**5),
                          st.floats(0.0, 0.2), st.floats(0.0, 0.2)), min_size=1, max_size=3),
       st.sampled_from([0.8, 0.95]))
def test_relative_interval_vectorized_equals_loop(rows: list, conf: float) -> None:
    args = np.array([[np.floor(r1 * n1) + 0.5, n1 - np.floor(r1 * n1) + 0.5,
                      np.floor(r2 * n2) + 0.5, n2 - np.floor(r2 * n2) + 0.5]
                     for n1, n2, r1, r2 in rows]).T
    low, high = beta_relative_difference_interval(*args, conf)
    for j in range(args.shape[1]):
        lj, hj = beta_relative_difference_interval(*args[:, j], conf)
        assert lj == low[j]
        assert hj == high[j]
    assert np.all(low >= -1.0)
    assert np.all(low <= high)
