"""docs/: every page is linked from docs/index.md, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_index_links_every_page():
    linked = set(LINK.findall((DOCS / "index.md").read_text(encoding="utf-8")))
    missing = [p.name for p in PAGES if p.name != "index.md" and p.name not in linked]
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_relative_links_resolve(page):
    targets = LINK.findall(page.read_text(encoding="utf-8"))
    broken = [
        t for t in targets
        if "://" not in t and not t.startswith("mailto:") and not (page.parent / t).exists()
    ]
    assert broken == []
