"""The documentation site (mkdocs.yml, docs/): every page is in the navigation, every relative
link resolves on disk and in the site, the API reference covers every public module and name,
the command-line reference covers every option, and the pages' examples run.

The strict build itself (``mkdocs build --strict``, in .ci/run) checks the rest: cross-references
in docstrings, anchors, figures. These tests need no mkdocs.
"""

from __future__ import annotations

import doctest
import importlib.util
import pkgutil
import posixpath
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import canarystats

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
HOOKS = DOCS / "hooks"
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)


def _hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


outside_links = _hook("outside_links")
figures = _hook("figures")
cli_reference = _hook("cli_reference")
api_index = _hook("api_index")


def _nav_pages(items: Any) -> list[str]:
    pages: list[str] = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


CONFIG = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
NAV = _nav_pages(CONFIG["nav"])
MIRRORED = outside_links.mirrored_files()
# every Markdown page of the site: docs/ (without the build's hooks) and the mirrored pages
SITE_PAGES = sorted(
    [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if HOOKS not in p.parents]
    + [p for p in MIRRORED if p.endswith(".md")]
)


def _source(page: str) -> Path:
    return REPO / outside_links.page_repo_path(page)


def _links(page: str) -> list[str]:
    text = _source(page).read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)  # not in code
    return [t for t in LINK.findall(text) if outside_links.is_relative(t)]


def test_every_page_is_in_the_nav_once():
    assert sorted(NAV) == SITE_PAGES


def test_index_links_the_main_pages():
    linked = {t.partition("#")[0] for t in _links("index.md")}
    top = {p for p in NAV if "/" not in p and p != "index.md"}
    assert top - linked == set()
    assert "api/index.md" in linked


@pytest.mark.parametrize("page", SITE_PAGES)
def test_relative_links_resolve_on_disk(page):
    """Read in the repository (GitHub, an editor), every link works; figures exist in the site only."""
    here = _source(page).parent
    broken = [
        t for t in _links(page)
        if not (here / t.partition("#")[0]).exists()
        and posixpath.basename(t) not in {name for name, _ in figures.FIGURES}
    ]
    assert broken == []


@pytest.mark.parametrize("page", SITE_PAGES)
def test_relative_links_resolve_in_the_site(page):
    """Rewritten by the outside_links hook, every link points into the site."""
    site_files = set(SITE_PAGES) | set(MIRRORED) | {f"figures/{n}" for n, _ in figures.FIGURES}
    site_files |= {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*") if p.is_file()}
    broken = []
    for target in _links(page):
        path = outside_links.rewrite_link(target, page).partition("#")[0]
        if path and posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) not in site_files:
            broken.append(target)
    assert broken == []


def test_outside_links_rewritten():
    assert outside_links.rewrite_link("../README.md", "index.md") == "getting-started.md"
    assert outside_links.rewrite_link("../notebooks/README.md#x", "index.md") == (
        "notebooks/README.md#x"
    )
    # from the mirrored notebooks page back into docs/
    assert outside_links.rewrite_link("../docs/prometheus.md", "notebooks/README.md") == (
        "../prometheus.md"
    )
    assert outside_links.rewrite_link("https://example.org/a.md", "index.md") == (
        "https://example.org/a.md"
    )
    assert outside_links.rewrite_link("../pyproject.toml", "index.md") == "../pyproject.toml"


def _public_modules() -> set[str]:
    found = {"canarystats"}
    for info in pkgutil.walk_packages(canarystats.__path__, "canarystats."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.add(info.name)
    return found


def _documented_modules() -> set[str]:
    return {
        m for page in (DOCS / "api").glob("*.md")
        for m in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    }


def test_api_reference_covers_every_public_module():
    # the package itself is the API index's table of `__all__`
    assert _public_modules() - {"canarystats"} - _documented_modules() == set()
    assert _documented_modules() - _public_modules() == set()


def test_api_index_covers_every_public_name():
    entries = {e.name: e for e in api_index.entries()}
    assert set(canarystats.__all__) <= set(entries)
    documented = _documented_modules()
    for e in entries.values():
        module = e.path if e.kind == "module" else e.path.rpartition(".")[0]
        assert module in documented, e
        if e.kind == "function" or e.kind == "class":
            obj = getattr(canarystats, e.name)
            assert f"{obj.__module__}.{obj.__qualname__}" == e.path
    assert api_index.MARKER in (DOCS / api_index.PAGE).read_text(encoding="utf-8")


def test_cli_reference_covers_every_subcommand_and_option():
    parser = cli_reference.parser()
    text = cli_reference.reference(parser)
    subcommands = cli_reference.subcommands(parser)
    assert {name for name, _, _ in subcommands} >= {"replay", "assess", "plan", "tune", "serve"}
    for name, _, sub in subcommands:
        assert f"## `canarystats {name}`" in text
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}`" in text, (name, option)
    assert cli_reference.MARKER in (DOCS / cli_reference.PAGE).read_text(encoding="utf-8")


def test_cli_page_states_every_exit_status():
    from canarystats import cli

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    codes = {v for k, v in vars(cli).items() if k.startswith("EXIT_")}
    for code in codes:
        assert re.search(rf"^\| {code} \|", text, re.MULTILINE), code


@pytest.mark.parametrize("page", ["getting-started.md", "concepts.md"])
def test_page_examples_run(page):
    result = doctest.testfile(
        str(DOCS / page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 3
    assert result.failed == 0


def test_figures_are_shown_and_registered_once():
    names = [name for name, _ in figures.FIGURES]
    assert len(names) == len(set(names))
    shown = {
        posixpath.basename(t) for page in SITE_PAGES for t in _links(page) if "figures/" in t
    }
    assert shown <= set(names)


def test_ci_builds_the_docs_strictly():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet '.[docs]'" in ci
    assert "mkdocs build --strict" in ci


def test_sphinx_markup_becomes_markdown():
    roles = _hook("sphinx_roles")
    text = "The document::\n\n    {\"a\": 1}\n\nAfter."
    assert roles.literal_blocks(text) == 'The document:\n\n```\n{"a": 1}\n```\n\nAfter.'
    assert roles.literal_blocks("Example\n\n::\n\n    x = 1\n") == "Example\n\n```\nx = 1\n```\n"
    lines = ["#: The first line", "#: and the second.", "X = 1", "Y = 2  #: trailing"]
    assert roles.comment_docstring(lines, 3) == "The first line\nand the second."
    assert roles.comment_docstring(lines, 4) == "trailing"
    table = "=====  =====\nname   what\n=====  =====\n``a``  first,\n       wrapped\n``b``  second\n=====  ====="
    assert roles.simple_tables(table) == (
        "| name | what |\n|---|---|\n| ``a`` | first, wrapped |\n| ``b`` | second |"
    )
    terms = "Codes:\n\nOK\n    Decided.\nBAD\n    Bad\n    data.\n\nParameters\n----------\nx : int\n    An x."
    assert roles.definition_lists(terms) == (
        "Codes:\n\nOK\n:   Decided.\n\nBAD\n:   Bad\n    data.\n\n"
        "Parameters\n----------\nx : int\n    An x."
    )


def test_sphinx_roles_resolve_as_sphinx_would():
    import griffe

    roles = _hook("sphinx_roles")
    pkg = griffe.load("canarystats", search_paths=[str(REPO)])
    collection = pkg.modules_collection
    plot_timeline = collection["canarystats.plot.plot_timeline"]
    replay_module = collection["canarystats.replay"]

    def link(obj: Any, role: str, name: str) -> str | None:
        path: str | None = roles.resolve(obj, name, role, collection)
        return path

    # the module's own function, not the submodule of the same name
    assert link(replay_module, "func", "replay") == "canarystats.replay.replay"
    assert link(plot_timeline, "func", "canarystats.replay") == "canarystats.replay.replay"
    assert link(plot_timeline, "mod", "canarystats.replay") == "canarystats.replay"
    # a re-exported name resolves to where it is defined
    assert link(replay_module, "class", "canarystats.State") == "canarystats.strategies.base.State"
    assert link(replay_module, "func", "numpy.searchsorted") is None
    match = roles.ROLE.search(":func:`numpy.searchsorted`")
    assert roles.render_role(replay_module, match, collection) == "`numpy.searchsorted`"
    match = roles.ROLE.search(":class:`~canarystats.Verdict`")
    assert roles.render_role(replay_module, match, collection) == (
        "[`Verdict`][canarystats.observations.Verdict]"
    )
    # unresolvable inside the package: left for autorefs to report
    match = roles.ROLE.search(":func:`no_such_function`")
    assert roles.render_role(replay_module, match, collection) == (
        "[`no_such_function`][no_such_function]"
    )
