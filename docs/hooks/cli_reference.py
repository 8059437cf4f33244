"""An mkdocs hook: the command-line reference, written from the command's own parser.

``docs/cli.md`` holds the prose and the marker :data:`MARKER`; the build replaces
the marker with every subcommand's usage, description and options, read from
the argparse parser of ``canarystats.cli``, so the page cannot drift from the
command. ``tests/test_docs.py`` renders it without building.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

PAGE = "cli.md"
MARKER = "<!-- cli-reference -->"
WIDTH = 96
DOCS = Path(__file__).resolve().parents[1]


def parser() -> argparse.ArgumentParser:
    """The ``canarystats`` command's parser."""
    from canarystats import cli

    return cli._parser()


def subcommands(root: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in the parser's order."""
    found = []
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                found.append((name, helps.get(name, ""), sub))
    return found


def usage(p: argparse.ArgumentParser) -> str:
    """The usage line, wrapped at a fixed width (independent of the terminal)."""
    formatter = argparse.HelpFormatter(p.prog, width=WIDTH)
    formatter.add_usage(p.usage, p._actions, p._mutually_exclusive_groups)
    return formatter.format_help().strip()


def link_pages(text: str) -> str:
    """``docs/x.md`` in a help text as a link to the page, when the page exists."""

    def link(match: re.Match[str]) -> str:
        page = match.group(1)
        return f"[{page}]({page})" if (DOCS / page).is_file() else match.group(0)

    return re.sub(r"\bdocs/([\w-]+\.md)\b", link, text)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`"


def option_row(action: argparse.Action) -> str:
    """One table row: the option's spellings and value, its default, what it does."""
    names = ", ".join(_code(s) for s in action.option_strings) or _code(action.dest)
    takes_value = action.nargs != 0
    if action.choices is not None and takes_value:
        value = " \\| ".join(_code(str(c)) for c in action.choices)
    elif takes_value:
        metavar = action.metavar or action.dest.upper()
        value = _code(metavar if isinstance(metavar, str) else " ".join(metavar))
    else:
        value = "(flag)"
    if action.required:
        default = "required"
    elif not takes_value or action.default in (None, [], argparse.SUPPRESS):
        default = ""
    else:
        default = _code(str(action.default))
    text = (action.help or "") % dict(vars(action), prog="canarystats")  # as argparse does
    if isinstance(action, argparse._AppendAction) and "repeatable" not in text.lower():
        text += " (repeatable)"
    return f"| {names} | {value} | {default} | {_cell(link_pages(text))} |"


def reference(root: argparse.ArgumentParser | None = None) -> str:
    """The Markdown of every subcommand: usage, description, options by group."""
    root = root or parser()
    lines: list[str] = []
    for name, summary, sub in subcommands(root):
        lines += [f"## `{root.prog} {name}`", "", f"{summary[:1].upper()}{summary[1:]}.", ""]
        lines += ["```text", usage(sub), "```", ""]
        if sub.description:
            lines += [link_pages(" ".join(sub.description.split())), ""]
        for group in sub._action_groups:
            actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
            if not actions:
                continue
            title = group.title or "options"
            about = link_pages(" ".join((group.description or "").split()))
            lines += [f"**{title[:1].upper()}{title[1:]}.** {about}".rstrip(), ""]
            lines += ["| option | value | default | what |", "|---|---|---|---|"]
            lines += [option_row(a) for a in actions]
            lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"docs/{PAGE} lost its marker {MARKER}")
    return markdown.replace(MARKER, reference())
