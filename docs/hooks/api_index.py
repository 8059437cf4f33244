"""An mkdocs hook: the table of canarystats' public API, one row per name of ``__all__``.

``docs/api/index.md`` holds the marker :data:`MARKER`; the build replaces it with
every name the package exports, grouped by kind, each linked to where the API
reference documents it. The names are read from the source (``__all__`` of
``canarystats/__init__.py``, following each ``from ... import`` to the module that
defines the name), so nothing is imported. A name whose object the reference does
not render is a broken cross-reference, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

PAGE = "api/index.md"
MARKER = "<!-- public-api -->"
PACKAGE = "canarystats"
REPO = Path(__file__).resolve().parents[2]

KINDS = ("class", "function", "constant", "module")
HEADINGS = {"class": "Classes", "function": "Functions", "constant": "Constants",
            "module": "Modules"}


class Entry(NamedTuple):
    name: str
    kind: str
    path: str  # where the object is defined: the cross-reference's identifier
    summary: str


def module_file(module: str) -> Path | None:
    """The source file of a canarystats module, or None for a module of another project."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _tree(module: str) -> tuple[ast.Module, list[str]]:
    file = module_file(module)
    if file is None:
        raise LookupError(f"no source for {module}")
    text = file.read_text(encoding="utf-8")
    return ast.parse(text), text.splitlines()


def _comment_above(lines: list[str], lineno: int) -> str:
    block: list[str] = []
    i = lineno - 2
    while i >= 0 and (m := re.match(r"^\s*#:\s?(.*)$", lines[i])):
        block.insert(0, m.group(1))
        i -= 1
    return " ".join(block)


def _first_sentence(text: str | None) -> str:
    paragraph = (text or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def _plain(text: str) -> str:
    """Sphinx roles and reST literals as Markdown code (a table cell holds no link)."""
    def code(match: re.Match[str]) -> str:
        body = match.group(1)
        return f"`{body.rsplit('.', 1)[-1]}`" if body.startswith("~") else f"`{body}`"

    text = re.sub(r":(?:py:)?[a-z]+:`([^`]+)`", code, text)
    return text.replace("``", "`").replace("|", "\\|")


def _resolve_module(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module if module_file(module) == REPO.joinpath(*module.split("."), "__init__.py") \
        else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def definition(module: str, name: str) -> Entry:
    """Where ``module.name`` is defined, following imports, with its kind and summary."""
    tree, lines = _tree(module)
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name:
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            summary = _first_sentence(ast.get_docstring(node))
            return Entry(name, kind, f"{module}.{name}", summary)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            summary = _comment_above(lines, node.lineno)
            return Entry(name, "constant", f"{module}.{name}", summary)
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) != name:
                    continue
                source = _resolve_module(node, module)
                submodule = f"{source}.{alias.name}"
                if module_file(submodule) is not None:
                    tree_doc = ast.get_docstring(_tree(submodule)[0])
                    return Entry(name, "module", submodule, _first_sentence(tree_doc))
                return definition(source, alias.name)._replace(name=name)
    raise LookupError(f"{module}.{name} is neither defined nor imported there")


def public_names() -> list[str]:
    """``canarystats.__all__``, read from the source."""
    tree, _ = _tree(PACKAGE)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names: list[str] = ast.literal_eval(node.value)
            return names
    raise LookupError(f"{PACKAGE}/__init__.py has no __all__")


def entries() -> list[Entry]:
    """Every public name with where it is defined."""
    found = [definition(PACKAGE, name) for name in public_names()]
    if "data" not in public_names():  # `data` is a public subpackage, not in __all__
        found.append(definition(PACKAGE, "data"))
    return found


def table() -> str:
    """The Markdown tables of the public API, one per kind."""
    lines: list[str] = []
    by_kind = {kind: [e for e in entries() if e.kind == kind] for kind in KINDS}
    for kind, rows in by_kind.items():
        if not rows:
            continue
        lines += [f"## {HEADINGS[kind]}", "", "| name | defined in | what |", "|---|---|---|"]
        for e in sorted(rows, key=lambda e: e.name.lower()):
            module = e.path if kind == "module" else e.path.rpartition(".")[0]
            lines.append(
                f"| [`{e.name}`][{e.path}] | [`{module}`][{module}] | {_plain(e.summary)} |"
            )
        lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"docs/{PAGE} lost its marker {MARKER}")
    return markdown.replace(MARKER, table())
