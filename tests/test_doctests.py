"""Every module's docstring examples run and pass (the examples are part of the documentation)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import canarystats

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(canarystats.__path__, "canarystats.")
)


def test_the_package_has_examples() -> None:
    # most modules open with a runnable example; this guards the list below against emptiness
    with_examples = [m for m in MODULES if doctest.DocTestFinder().find(importlib.import_module(m))
                     and any(t.examples for t in doctest.DocTestFinder().find(
                         importlib.import_module(m)))]
    assert len(with_examples) >= 30


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
