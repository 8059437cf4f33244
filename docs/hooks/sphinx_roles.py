"""A griffe extension: the docstrings' Sphinx markup, rendered by mkdocstrings.

canarystats' docstrings are numpydoc with Sphinx roles (``:func:`replay```,
``:class:`~canarystats.Reason```, ``:data:`METHOD_REGISTRY```) and reST literal
blocks (``text::`` followed by an indented block). mkdocstrings renders
Markdown, so before the docstrings are parsed this extension rewrites

- each role as an autorefs cross-reference, ``[`replay`][canarystats.replay.replay]``,
  with the name resolved as Sphinx would: in the scope of the documented object
  (its class, its module, the parent packages), then as an absolute path. Inside
  canarystats a reference that resolves nowhere stays a cross-reference to the name
  as written, so autorefs reports it and ``mkdocs build --strict`` fails. Names
  outside canarystats (``numpy.searchsorted``) become plain code: the build reaches
  no external inventory;
- each literal block as a fenced code block (``text::`` becomes ``text:``);
- each simple table (``=====  =====`` borders) as a Markdown table;
- each definition list (a term line, its definition indented below it) in the
  free text and the Notes as a Markdown definition list (the ``def_list``
  extension), leaving the numpydoc sections (Parameters, Returns, ...) to griffe.

It also gives an attribute documented by Sphinx's ``#:`` comments (above the
assignment, or after it on the same line) that comment as its docstring, and an
attrs class the ``__init__`` attrs generates (read from the class at run time),
so its signature and the Parameters of its docstring match. A Returns entry
naming several values (``lower, upper : ndarray``), which griffe reads as one
type, gets the names and the type apart. A reference to an
attribute that has no docstring of its own (a field listed in its class's
Attributes section) links to the class. A name a module re-exports from another
public module of the package is documented there only: the module's ``__all__``
as mkdocstrings sees it keeps the names it defines or takes from private modules.

Configured in ``mkdocs.yml`` under the python handler's ``extensions``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from typing import Any

import griffe

PACKAGE = "canarystats"

# :func:`name`, :py:class:`~a.b.C`, :meth:`title <target>`
ROLE = re.compile(
    r":(?:py:)?(?P<role>func|meth|class|exc|data|attr|const|obj|mod):"
    r"`(?P<body>[^`]+)`"
)
_EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")
_NOT_MODULES = {"func", "meth", "class", "exc", "data", "attr", "const"}


def _lookup(collection: Any, path: str) -> Any:
    try:
        return collection[path]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def resolve(obj: griffe.Object, name: str, role: str, collection: Any) -> str | None:
    """The documented path of ``name`` as seen from ``obj``'s docstring, or None."""
    scope: Any = obj if (obj.is_class or obj.is_module) else obj.parent
    candidates = []
    while scope is not None:
        candidates.append(f"{scope.path}.{name}")
        scope = scope.parent
    candidates.append(name)
    for path in candidates:
        found = _lookup(collection, path)
        if found is None:
            continue
        if role in _NOT_MODULES and found.is_module and found.parent is not None:
            # `canarystats.replay` is the function the package imports, not the
            # submodule griffe files under that name
            imported = found.parent.imports.get(found.name)
            if imported and imported != found.path:
                found = _lookup(collection, imported) or found
        return _documented_path(found)
    return None


def _documented_path(obj: Any) -> str | None:
    """Where the site documents ``obj``: itself, or its class for an undocumented field."""
    try:
        target = obj.final_target if obj.is_alias else obj
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    if target.is_attribute and target.docstring is None and target.parent.is_class:
        target = target.parent
    path: str = target.path
    return path


def render_role(obj: griffe.Object, match: re.Match[str], collection: Any) -> str:
    """One role as Markdown: a cross-reference, or plain code outside the package."""
    role, body = match["role"], match["body"].strip()
    explicit = _EXPLICIT.match(body)
    if explicit:
        title, name = explicit["title"], explicit["target"].strip()
    else:
        name = body.lstrip("~").lstrip(".")
        title = name.rsplit(".", 1)[-1] if body.startswith("~") else name
    path = resolve(obj, name, role, collection)
    if path is None:
        if name.split(".", 1)[0] != PACKAGE and "." in name:
            return f"`{title}`"  # another project's object: no inventory to link to
        path = name  # unresolved: autorefs reports it, --strict fails
    elif path.split(".", 1)[0] != PACKAGE:
        return f"`{title}`"
    return f"[`{title}`][{path}]"


def literal_blocks(text: str) -> str:
    """reST literal blocks (``para::`` + indented block) as fenced code blocks."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.rstrip()
        if not stripped.endswith("::") or stripped.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        block: list[str] = []
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            block.append(lines[j])
            j += 1
        while block and not block[-1].strip():
            block.pop()
            j -= 1
        if not block:
            out.append(line)
            i += 1
            continue
        head = stripped[:-2]
        if head.strip():
            # "text::" -> "text:"; "text ::" -> "text"
            out.append(head.rstrip() if head.endswith(" ") else head + ":")
            out.append("")
        pad = " " * indent
        code = textwrap.dedent("\n".join(block)).split("\n")
        out.extend([pad + "```", *[(pad + c).rstrip() for c in code], pad + "```"])
        i = j
    return "\n".join(out)


_BORDER = re.compile(r"^(?P<pad>\s*)=+(?:\s+=+)+\s*$")


def _table_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def simple_tables(text: str) -> str:
    """reST simple tables (a header between two ``=`` borders, a closing border) in Markdown."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        border = _BORDER.match(lines[i])
        ends = [j for j in range(i + 1, len(lines)) if lines[j] == lines[i]][:2]
        if not border or len(ends) < 2:
            out.append(lines[i])
            i += 1
            continue
        starts = [m.start() for m in re.finditer(r"=+", lines[i])]

        def cells(line: str, starts: list[int] = starts) -> list[str]:
            bounds = [*starts[1:], None]
            return [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]

        header = [cells(line) for line in lines[i + 1:ends[0]] if line.strip()]
        rows: list[list[str]] = []
        for line in lines[ends[0] + 1:ends[1]]:
            if not line.strip():
                continue
            row = cells(line)
            if rows and not row[0]:  # a continuation line of the row above
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], row, strict=True)]
            else:
                rows.append(row)
        pad = border["pad"]
        titles = [" ".join(col).strip() for col in zip(*header, strict=True)] or [""] * len(starts)
        out.append(pad + _table_row(titles))
        out.append(pad + "|" + "---|" * len(starts))
        out.extend(pad + _table_row(row) for row in rows)
        i = ends[1] + 1
    return "\n".join(out)


_SECTION = re.compile(
    r"^(Parameters|Returns|Yields|Receives|Other Parameters|Raises|Warns|Warnings|See Also|"
    r"Notes|References|Examples|Attributes|Methods)\s*$"
)
_PROSE_SECTIONS = {None, "Notes"}


def definition_lists(text: str) -> str:
    """reST definition lists of the free text and the Notes as Markdown definition lists."""
    lines = text.split("\n")
    out: list[str] = []
    section: str | None = None
    fenced = False
    in_item = False
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif _SECTION.match(line) and re.match(r"^-{3,}\s*$", nxt):
            section = line.strip()
        is_term = (
            not fenced and section in _PROSE_SECTIONS and line.strip()
            and not line[0].isspace() and nxt.strip() and nxt[0].isspace()
            and not line.startswith((">>>", "...", "- ", "* ", "|", "```"))
            and (i == 0 or not lines[i - 1].strip() or in_item)
        )
        if not is_term:
            in_item = False
            out.append(line)
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() and lines[j][0].isspace():
            j += 1
        body = textwrap.dedent("\n".join(lines[i + 1:j])).split("\n")
        if out and out[-1].strip():
            out.append("")
        out.append(line)
        out.append(":   " + body[0])
        out.extend(("    " + b).rstrip() for b in body[1:])
        out.append("")
        in_item = True
        i = j
        while i < len(lines) and not lines[i].strip():
            i += 1  # the item above ends with a blank line
    return "\n".join(out)


def convert(obj: griffe.Object, text: str, collection: Any) -> str:
    """A docstring's Sphinx markup as Markdown for mkdocstrings."""
    text = definition_lists(simple_tables(literal_blocks(text)))
    return ROLE.sub(lambda m: render_role(obj, m, collection), text)


_DOC_COMMENT = re.compile(r"^\s*#:\s?(?P<text>.*)$")
_TRAILING_DOC_COMMENT = re.compile(r"#:\s?(?P<text>.*)$")


def comment_docstring(lines: list[str], lineno: int) -> str | None:
    """The ``#:`` comment documenting the assignment at line ``lineno`` (1-based), if any."""
    block: list[str] = []
    i = lineno - 2
    while i >= 0 and (m := _DOC_COMMENT.match(lines[i])):
        block.insert(0, m["text"])
        i -= 1
    if block:
        return "\n".join(block)
    trailing = _TRAILING_DOC_COMMENT.search(lines[lineno - 1]) if lineno <= len(lines) else None
    return trailing["text"] if trailing else None


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _runtime(obj: griffe.Object) -> Any:
    """The object ``obj`` describes, imported (None when that fails)."""
    try:
        found: Any = importlib.import_module(obj.module.path)
        for part in obj.path.removeprefix(obj.module.path + ".").split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found


def _default(field: Any) -> str | None:
    import attrs

    if field is None or field.default is attrs.NOTHING:
        return None
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        factory = field.default.factory
        name = getattr(factory, "__qualname__", "<lambda>")
        return "..." if field.default.takes_self or "<" in name else f"{name}()"
    return repr(field.default)


def attrs_init(cls: griffe.Class) -> None:
    """Give an attrs class (without an ``__init__`` of its own) the one attrs generates."""
    if "__init__" in cls.members:
        return
    runtime = _runtime(cls)
    try:
        import attrs

        if not (isinstance(runtime, type) and attrs.has(runtime)):
            return
        fields = {f.alias: f for f in attrs.fields(runtime)}
        signature = inspect.signature(runtime)
    except (ImportError, TypeError, ValueError):
        return
    parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
    for p in signature.parameters.values():
        default = None
        if p.default is not inspect.Parameter.empty:
            default = _default(fields.get(p.name)) or repr(p.default)
        kind = griffe.ParameterKind(p.kind.description)
        parameters.append(griffe.Parameter(p.name, kind=kind, default=default))
    init = griffe.Function(
        "__init__", parameters=griffe.Parameters(*parameters), returns="None", lineno=cls.lineno,
        endlineno=cls.lineno,
    )
    cls.set_member("__init__", init)


def _is_public_module_path(path: str) -> bool:
    return not any(part.startswith("_") for part in path.split("."))


def prune_reexports(module: griffe.Module) -> None:
    """Drop from ``module.exports`` the names documented in another public module."""
    if module.exports is None:
        return
    kept: list[Any] = []
    for export in module.exports:
        member = module.members.get(str(export))
        if member is not None and member.is_alias:
            try:
                home = member.final_target.module.path  # type: ignore[union-attr]
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                home = None
            if home and home != module.path and home.split(".", 1)[0] == PACKAGE and (
                _is_public_module_path(home)
            ):
                continue
        kept.append(export)
    module.exports = kept


_MULTI_RETURN = re.compile(r"^(?P<names>[\w.]+(?:\s*,\s*[\w.]+)+)\s*:\s*(?P<type>.+)$")


def split_multi_returns(docstring: griffe.Docstring) -> None:
    """``a, b : T`` in a Returns or Yields section: the names ``a, b`` and the type ``T``."""
    if not re.search(r"^[\w.]+(?:\s*,\s*[\w.]+)+\s*:", docstring.value, re.MULTILINE):
        return
    for section in docstring.parsed:
        if section.kind not in (griffe.DocstringSectionKind.returns,
                                griffe.DocstringSectionKind.yields):
            continue
        for item in section.value:
            match = _MULTI_RETURN.match(str(item.annotation or ""))
            if not item.name and match:
                item.name = ", ".join(n.strip() for n in match["names"].split(","))
                item.annotation = match["type"].replace("`", "")


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of the loaded package before mkdocstrings parses it."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        collection = loader.modules_collection
        objects = list(_walk(pkg))
        for obj in objects:
            if obj.is_module:
                prune_reexports(obj)
            if obj.is_class:
                attrs_init(obj)
            if obj.is_attribute and obj.docstring is None and obj.lineno is not None:
                text = comment_docstring(list(obj.lines_collection[obj.filepath]), obj.lineno)
                if text:
                    obj.docstring = griffe.Docstring(
                        text,
                        lineno=obj.lineno,
                        endlineno=obj.lineno,
                        parent=obj,
                        parser=loader.docstring_parser,
                        parser_options=loader.docstring_options,
                    )
        for obj in objects:  # roles last: they see which attributes have docstrings
            if obj.docstring is not None:
                obj.docstring.value = convert(obj, obj.docstring.value, collection)
                split_multi_returns(obj.docstring)
