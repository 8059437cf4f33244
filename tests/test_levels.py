"""Every level is ``confidence_level``; the old ``alpha=`` keyword is a deprecated alias.

For each renamed function: the new keyword gives exactly the result of the old one
(``alpha = 1.0 - confidence_level``, so that both name the same error level bit for bit),
the alias warns, giving both is a SpecError, an out-of-range level is a SpecError naming
``confidence_level``, and a positional level (the old calling convention) is a TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pytest

import canarystats as cs
from canarystats.errors import SpecError
from canarystats.plot import plot_pvalue_paths
from canarystats.stats.confidence_sequences import normal_mean_radius
from canarystats.stats.group_sequential import look_bounds
from canarystats.stats.levels import level_from

matplotlib.use("Agg")

LEVEL = 0.95
ALPHA = 1.0 - LEVEL  # the error level the new keyword computes with, exactly

_RHO = float(cs.normal_mixture_rho(100.0, confidence_level=LEVEL))
_SAMPLES = np.arange(1.0, 201.0)
_BOUNDS = [0.1, 0.2, 0.5, 1.0, np.inf]
_INFO = np.array([[0.5, 1.0]])
_LOOK = np.array([2])

# name -> (call with level keywords, old positional call); None: the level was keyword-only
CASES: dict[str, tuple[Callable[..., Any], Callable[[], Any] | None]] = {
    "normal_mixture_rho": (
        lambda **kw: cs.normal_mixture_rho(100.0, alternative="greater", **kw),
        lambda: cs.normal_mixture_rho(100.0, 0.05),
    ),
    "normal_mixture_bound": (
        lambda **kw: cs.normal_mixture_bound(100.0, _RHO, **kw),
        lambda: cs.normal_mixture_bound(100.0, 0.05, _RHO),
    ),
    "msprt_two_sample": (
        lambda **kw: tuple(cs.msprt_two_sample(0.3, 0.02, 0.1, **kw)),
        lambda: cs.msprt_two_sample(0.3, 0.02, 0.1, 0.05),
    ),
    "normal_mean_radius": (
        lambda **kw: normal_mean_radius(100.0, 1.0, n_opt=100.0, **kw),
        lambda: normal_mean_radius(100.0, 1.0, 0.05),
    ),
    "normal_mean_cs": (
        lambda **kw: tuple(cs.normal_mean_cs(10.0, 100.0, 1.0, alternative="less", **kw)),
        lambda: cs.normal_mean_cs(10.0, 100.0, 1.0, 0.05),
    ),
    "bernoulli_cs": (
        lambda **kw: tuple(cs.bernoulli_cs(30, 100, **kw)),
        lambda: cs.bernoulli_cs(30, 100, 0.05),
    ),
    "multinomial_cs": (
        lambda **kw: tuple(cs.multinomial_cs([40, 129, 233], [0.1, 0.4, 0.5], **kw)),
        lambda: cs.multinomial_cs([40, 129, 233], [0.1, 0.4, 0.5], 0.05),
    ),
    "dkw_radius": (
        lambda **kw: cs.dkw_radius(1000.0, **kw),
        lambda: cs.dkw_radius(1000.0, 0.05),
    ),
    "quantile_ranks": (
        lambda **kw: tuple(cs.quantile_ranks(1000, 0.95, **kw)),
        lambda: cs.quantile_ranks(1000, 0.95, 0.05),
    ),
    "quantile_cs": (
        lambda **kw: tuple(cs.quantile_cs(_SAMPLES, 0.9, bound="dkw", **kw)),
        lambda: cs.quantile_cs(_SAMPLES, 0.9, 0.05),
    ),
    "quantile_cs_buckets": (
        lambda **kw: tuple(cs.quantile_cs_buckets([500, 300, 150, 40, 10], _BOUNDS, 0.95, **kw)),
        lambda: cs.quantile_cs_buckets([500, 300, 150, 40, 10], _BOUNDS, 0.95, 0.05),
    ),
    "spending_function": (
        lambda **kw: cs.spending_function(0.5, spending="pocock", **kw),
        lambda: cs.spending_function(0.5, 0.05),
    ),
    "look_bounds": (
        lambda **kw: tuple(look_bounds(_INFO, _LOOK, spending="obrien_fleming", **kw)),
        lambda: look_bounds(_INFO, _LOOK, np.array([0.05]), "obrien_fleming"),
    ),
    "gs_bounds": (
        lambda **kw: tuple(cs.gs_bounds(3, **kw).upper),
        lambda: cs.gs_bounds(3, 0.05),
    ),
    "gs_design": (
        lambda **kw: cs.gs_design(3, power=0.8, **kw).inflation_factor,
        lambda: cs.gs_design(3, 0.05),
    ),
    "sample_size_means": (
        lambda **kw: cs.sample_size_means(10.0, 11.0, 2.0, test="t", **kw).baseline,
        None,
    ),
    "power_means": (
        lambda **kw: cs.power_means(85, 10.0, 11.0, 2.0, alternative="two-sided", **kw),
        None,
    ),
    "sample_size_rates": (
        lambda **kw: cs.sample_size_rates(0.65, 0.85, alternative="two-sided", **kw).baseline,
        None,
    ),
    "power_rates": (
        lambda **kw: cs.power_rates(70, 0.65, 0.85, **kw),
        None,
    ),
    "plot_pvalue_paths": (
        lambda **kw: [t.get_text() for t in plot_pvalue_paths(
            [1, 2, 3], [1.0, 0.04, 0.01], **kw).axes[0].get_legend().get_texts()],
        None,
    ),
}


def _same(a: Any, b: Any) -> None:
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, str):
        assert a == b
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", sorted(CASES))
def test_new_keyword_gives_the_old_result(name: str) -> None:
    call, _ = CASES[name]
    new = call(confidence_level=LEVEL)
    with pytest.warns(DeprecationWarning, match="`alpha` is deprecated.*`confidence_level`"):
        old = call(alpha=ALPHA)
    _same(new, old)


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_levels_is_a_spec_error(name: str) -> None:
    call, _ = CASES[name]
    with pytest.raises(SpecError, match="`confidence_level` or its deprecated alias `alpha`"):
        call(confidence_level=LEVEL, alpha=ALPHA)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.05, float("nan")])
def test_out_of_range_level_names_confidence_level(name: str, level: float) -> None:
    call, _ = CASES[name]
    with pytest.raises(SpecError, match=r"`confidence_level` must lie in \(0, 1\)"):
        call(confidence_level=level)


@pytest.mark.parametrize("name", sorted(n for n, (_, old) in CASES.items() if old is not None))
def test_positional_old_call_is_a_type_error(name: str) -> None:
    _, old = CASES[name]
    assert old is not None
    with pytest.raises(TypeError):
        old()


def test_level_arrays_and_defaults() -> None:
    """Arrays of levels where alpha arrays were; the defaults are 0.95."""
    levels = np.array([0.9, 0.95, 0.99])
    batch = cs.normal_mixture_rho(100.0, confidence_level=levels)
    single = [cs.normal_mixture_rho(100.0, confidence_level=c) for c in levels]
    np.testing.assert_array_equal(batch, single)
    with pytest.raises(SpecError, match="`confidence_level`"):
        cs.bernoulli_cs(30, 100, confidence_level=np.array([0.9, 1.0]))
    assert cs.normal_mixture_rho(100.0) == cs.normal_mixture_rho(100.0, confidence_level=0.95)
    assert cs.gs_design(3).inflation_factor == cs.gs_design(3, confidence_level=0.95).inflation_factor
    with pytest.raises(TypeError, match="confidence_level"):
        cs.bernoulli_cs(30, 100)


def test_level_from() -> None:
    assert level_from(0.9, None, default=None) == 1.0 - 0.9
    assert level_from(None, None, default=0.95) == 1.0 - 0.95
    with pytest.warns(DeprecationWarning, match="`alpha` is deprecated"):
        assert level_from(None, 0.05, default=0.95) == 0.05
    with (
        pytest.raises(SpecError, match="`alpha` must lie in"),
        pytest.warns(DeprecationWarning, match="`alpha` is deprecated"),
    ):
        level_from(None, 2.0, default=0.95)
    with pytest.raises(SpecError, match="`confidence_level` must lie in"):
        level_from("high", None, default=0.95)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5])
def test_rate_ratio_confidence_sequence_checks_its_level(level: float) -> None:
    r = cs.rate_ratio_test([[0.0, 0.0], [5.0, 9.0]], [[0.0, 0.0], [100.0, 100.0]])
    lo, hi = r.confidence_sequence(confidence_level=0.95)
    with pytest.raises(SpecError, match=r"`confidence_level` must lie in \(0, 1\)"):
        r.confidence_sequence(confidence_level=level)
