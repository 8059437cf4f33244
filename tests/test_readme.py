"""The README's library example is a doctest: it must run as written."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run() -> None:
    result = doctest.testfile(
        str(README),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 5
    assert result.failed == 0


def test_readme_quick_start_has_the_two_commands() -> None:
    text = README.read_text()
    assert "pip install . && canarystats replay" in text
    assert "pip install '.[test]' && python -m pytest" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install --quiet '.[test]' && python -m pytest" in ci


@pytest.mark.parametrize(
    "module",
    [
        "canarystats.spec",
        "canarystats.observations",
        "canarystats.methods.base",
        "canarystats.strategies.check_and_increment",
        "canarystats.strategies.runner",
    ],
)
def test_module_doctests(module: str) -> None:
    import importlib

    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_the_library_example_keeps_prose_outside_its_code_blocks() -> None:
    text = README.read_text()
    section = text.split("## Library example", 1)[1].split("\n## ", 1)[0]
    parts = section.split("```")
    code = [p for i, p in enumerate(parts) if i % 2 == 1]
    prose = [p for i, p in enumerate(parts) if i % 2 == 0]
    assert len(code) >= 3
    for block in code:
        lines = [ln for ln in block.splitlines()[1:] if ln.strip()]
        assert block.startswith("pycon")
        assert lines[0].startswith(">>> ")
        # a session: prompts, continuations and their outputs; no sentence of prose
        assert not any(ln.rstrip().endswith((".", ":")) and not ln.startswith((">>>", "..."))
                       for ln in lines)
    assert not any(">>>" in p for p in prose)
    assert any("One assessment for a batch" in p for p in prose)
