"""Install hints for the optional extras, in the form that works for this installation.

canarystats is installed from a checkout (``pip install .`` or ``pip install -e .``) or, once
published, from an index. The hint for a missing extra names what works for the installation at
hand: the checkout's path when pip recorded one (PEP 610's ``direct_url.json``), the package name
otherwise.

Examples
--------
>>> install_hint("plot").startswith("pip install '")
True
>>> install_hint("plot").endswith("[plot]'")
True
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from urllib.parse import unquote, urlparse

__all__ = ["install_hint", "installed_version"]


def _checkout() -> str | None:
    """The local directory canarystats was installed from, if pip recorded one."""
    try:
        text = importlib.metadata.distribution("canarystats").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        url = json.loads(text or "null")["url"]
    except (TypeError, ValueError, KeyError):
        return None
    parsed = urlparse(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return "." if relative == "." else (relative if not relative.startswith("..") else path)


def install_hint(extra: str) -> str:
    """The pip command that installs ``extra`` for this installation of canarystats."""
    where = _checkout()
    target = f"{where}[{extra}]" if where is not None else f"canarystats[{extra}]"
    return f"pip install '{target}'"


def installed_version() -> str:
    """The installed distribution's version (the package's ``__version__`` without one)."""
    try:
        return importlib.metadata.version("canarystats")
    except importlib.metadata.PackageNotFoundError:
        from canarystats import __version__

        return __version__
