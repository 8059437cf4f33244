"""An mkdocs hook: pages in docs/ link to files outside it; the site carries or replaces them.

The pages are written to be read in the repository too, so they link to
``../notebooks/README.md`` or ``../README.md``. A site holds only what is under
``docs/``, so this hook

- adds the files of :data:`MIRRORED` (the notebooks and their README) to the
  site at their path relative to the repository (``notebooks/README.md`` is the
  site's page ``notebooks/``; the ``.ipynb`` files are downloadable), and
- rewrites every relative link of a page, resolved in the repository, to the
  site's path of its target: ``docs/x.md`` is ``x.md``, a mirrored file keeps its
  path, and the files of :data:`REPLACED` point to the site's page on the same
  subject (the README's install, quick start and example are the getting-started
  page).

A link to anything else outside docs/ is left alone, so ``mkdocs build --strict``
reports it. ``tests/test_docs.py`` checks every page's links with
:func:`site_target` without building.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

REPO = Path(__file__).resolve().parents[2]

#: Files outside docs/ (globs relative to the repository) that the site carries.
MIRRORED = ("notebooks/README.md", "notebooks/*.ipynb")

#: Files outside docs/ whose links point to a site page on the same subject instead.
REPLACED = {"README.md": "getting-started.md"}

# [text](target "title"); the target has no spaces or parentheses
LINK = re.compile(r"(?P<head>\]\()(?P<target>[^)\s]+)(?P<tail>(?:\s+\"[^\"]*\")?\))")
FENCE = re.compile(r"^\s*(```|~~~)")


def mirrored_files() -> list[str]:
    """The repository paths of the files the site carries from outside docs/."""
    found = {p.relative_to(REPO).as_posix() for pattern in MIRRORED for p in REPO.glob(pattern)}
    return sorted(found)


def page_repo_path(src_uri: str) -> str:
    """The repository path of the site file ``src_uri``."""
    return src_uri if src_uri in mirrored_files() else f"docs/{src_uri}"


def site_target(repo_target: str) -> str | None:
    """The site path (relative to docs/) of a repository path, or None when the site lacks it."""
    if repo_target.startswith("docs/"):
        return repo_target.removeprefix("docs/")
    if repo_target in REPLACED:
        return REPLACED[repo_target]
    if repo_target in mirrored_files():
        return repo_target
    return None


def is_relative(target: str) -> bool:
    """Whether a link target is a relative path (not a URL, an anchor or an absolute path)."""
    return not (
        "://" in target or target.startswith(("#", "/", "mailto:")) or target.startswith("data:")
    )


def rewrite_link(target: str, src_uri: str) -> str:
    """A relative link of the site page ``src_uri``, pointed at the site's copy of its target."""
    path, sep, fragment = target.partition("#")
    if not path or not is_relative(target):
        return target
    here = posixpath.dirname(page_repo_path(src_uri))
    repo_target = posixpath.normpath(posixpath.join(here, path))
    site = site_target(repo_target)
    if site is None:
        return target
    new = posixpath.relpath(site, posixpath.dirname(src_uri) or ".")
    return new + sep + fragment


def rewrite_links(markdown: str, src_uri: str) -> str:
    """Every relative link of a page's Markdown (outside fenced code) rewritten."""
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            line = LINK.sub(
                lambda m: m["head"] + rewrite_link(m["target"], src_uri) + m["tail"], line
            )
        out.append(line)
    return "\n".join(out)


def on_files(files: Files, config: MkDocsConfig, **kwargs: Any) -> Files:
    from mkdocs.structure.files import File

    for path in mirrored_files():
        files.append(File.generated(config, path, abs_src_path=str(REPO / path)))
    return files


def on_page_markdown(markdown: str, page: Page, **kwargs: Any) -> str:
    return rewrite_links(markdown, page.file.src_uri)
