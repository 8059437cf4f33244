"""Plots (canarystats.plot) and `canarystats replay --plot`: figures, artists, files."""

from __future__ import annotations

import subprocess
import sys

import attrs
import matplotlib  # the test extra installs it: never skipped
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import canarystats as cs  # noqa: E402
from canarystats.cli import main  # noqa: E402
from canarystats.plot import plot_confidence_sequence, plot_timeline  # noqa: E402


@pytest.fixture(scope="module")
def spec() -> cs.ExperimentSpec:
    return cs.load_experiment(cs.data.tutorial_experiment_path())


@pytest.fixture(scope="module")
def promoted(spec):
    return cs.replay(spec, cs.data.load_rollout("promoted"))


def _markers(ax) -> dict[str, int]:
    """Scatter label -> number of points."""
    return {c.get_label(): len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)}


def test_import_does_not_need_matplotlib():
    code = "import sys, canarystats, canarystats.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_timeline_promoted(spec, promoted):
    fig = plot_timeline(promoted, experiment=spec)
    assert isinstance(fig, Figure)
    top, crit = fig.axes
    assert top.get_title() == (
        "rollout 0: PROMOTE after iteration 8\nfinal traffic: baseline 0 %, candidate 100 %"
    )
    assert [line.get_label() for line in top.get_lines()] == ["baseline", "candidate"]
    np.testing.assert_array_equal(
        top.get_lines()[1].get_ydata(), [20, 40, 60, 80, 80, 80, 80, 80, 80]
    )
    assert top.get_ylabel() == "traffic (%)"
    assert [line.get_label() for line in crit.get_lines()] == ["candidate", "baseline", "threshold"]
    assert crit.get_lines()[2].get_ydata()[0] == pytest.approx(0.2)
    assert _markers(crit) == {"PASS": 8, "INCONCLUSIVE": 1}
    assert crit.get_ylabel() == "iter8_latency\nthreshold 0.2, point"
    assert crit.get_xlabel() == "assessment (iteration)"


def test_timeline_delta_abort(spec):
    crit = attrs.evolve(spec.criteria[0], tolerance_type="delta", tolerance=0.2, stop_on_failure=True)
    spec2 = attrs.evolve(spec, criteria=(crit,))
    res = cs.replay(spec2, cs.data.load_rollout("rolled_back"))
    assert res.aborted
    fig = plot_timeline(res, experiment=spec2)
    top, ax = fig.axes
    assert "ROLLBACK aborted at iteration 1" in top.get_title()
    assert [line.get_label() for line in top.get_lines()] == ["baseline", "candidate", "abort"]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["candidate", "baseline", "baseline margin"]
    np.testing.assert_allclose(ax.get_lines()[2].get_ydata(), 1.2 * ax.get_lines()[1].get_ydata())
    assert _markers(ax) == {"FAIL": 1, "INCONCLUSIVE": 1, "abort": 1}
    assert len(ax.collections) == 4  # the shaded margin and three marker sets


def test_timeline_without_experiment_and_into_given_axes(promoted):
    fig = Figure()
    axes = fig.subplots(2, 1)
    assert plot_timeline(promoted, ax=list(axes)) is fig
    assert [line.get_label() for line in axes[1].get_lines()] == ["candidate", "baseline"]
    assert axes[1].get_ylabel() == "iter8_latency"
    with pytest.raises(cs.SpecError, match=r"`ax` must be 2 Axes .* got 1"):
        plot_timeline(promoted, ax=axes[0])


def test_timeline_rejects_other_experiment(spec, promoted):
    other = attrs.evolve(spec, criteria=(*spec.criteria, spec.criteria[0]))
    with pytest.raises(cs.SpecError, match="`experiment` has criteria on"):
        plot_timeline(promoted, experiment=other)


def test_confidence_sequence():
    n = np.arange(100.0, 2001.0, 100.0)
    s = np.round(0.04 * n)
    lo, hi = cs.bernoulli_cs(s, n, confidence_level=0.95)
    p = s / n
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    fig = plot_confidence_sequence(
        n, lo, hi, estimate=p, naive_lower=p - half, naive_upper=p + half, reference=0.05
    )
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert len(labels) == 4
    assert labels[:2] == ["estimate", "fixed-horizon interval"]
    assert labels[2].startswith("_")  # the second naive bound stays out of the legend
    assert len(ax.collections) == 1  # the band
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("samples", "value")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["confidence sequence", "estimate", "fixed-horizon interval", "threshold"]
    # the anytime-valid band is wider than the fixed-horizon interval at every look
    assert np.all(hi - lo > 2 * half)
    np.testing.assert_allclose(ax.collections[0].get_paths()[0].vertices[1:21, 1], lo)


def test_confidence_sequence_ylabel_and_infinite_bound():
    # an unbounded end (e.g. a rate ratio before any baseline event) leaves the band open
    fig = plot_confidence_sequence([1.0, 2.0, 3.0], [0.0, 0.1, 0.2], [np.inf, 2.0, 1.0],
                                   ylabel="error-rate ratio")
    (ax,) = fig.axes
    assert ax.get_ylabel() == "error-rate ratio"
    assert np.isfinite(ax.get_ylim()).all()


def test_confidence_sequence_errors():
    with pytest.raises(cs.SpecError, match="`upper` must have the shape of `n`"):
        plot_confidence_sequence([1.0, 2.0], [0.0, 0.0], [1.0])
    with pytest.raises(cs.SpecError, match="`naive_lower` and `naive_upper` must be given together"):
        plot_confidence_sequence([1.0], [0.0], [1.0], naive_lower=[0.0])


def test_cli_plot_writes_png(tmp_path, capsys):
    out = tmp_path / "timeline.png"
    assert main(["replay", "--plot", str(out)]) == 0
    assert "decision: PROMOTE" in capsys.readouterr().out
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 10_000


def test_cli_plot_bad_path(tmp_path, capsys):
    assert main(["replay", "--plot", str(tmp_path / "missing" / "x.png")]) == 2
    assert "`--plot`" in capsys.readouterr().err


@pytest.mark.parametrize(
    "module", ["", "._timeline", "._bayes", "._sequential", "._ranks", "._tuning"]
)
def test_module_doctests(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"canarystats.plot{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5
    assert result.failed == 0


def test_public_names_import_from_the_package():
    import canarystats.plot

    assert sorted(canarystats.plot.__all__) == canarystats.plot.__all__
    for name in canarystats.plot.__all__:
        assert getattr(canarystats.plot, name) is not None
        if name.startswith("plot_"):
            assert f":func:`{name}`" in canarystats.plot.__doc__


def test_docs_snippets_run(tmp_path, monkeypatch):
    """Every Python snippet of docs/plots.md runs and writes its figure."""
    import re
    from pathlib import Path

    page = Path(__file__).parents[1] / "docs" / "plots.md"
    snippets = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    assert len(snippets) == 8
    monkeypatch.chdir(tmp_path)
    for i, code in enumerate(snippets):
        exec(compile(code, f"docs/plots.md snippet {i}", "exec"), {})
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(re.findall(r'savefig\("([^"]+)"\)', "".join(snippets)))
    assert all((tmp_path / name).stat().st_size > 10_000 for name in written)
