"""Helpers shared by the Iter8 adapters: spec errors that name a document's field path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from canarystats.errors import SpecError

__all__ = ["construct"]

_ATTR_IN_MESSAGE = re.compile(r"`(\w+)`")


def construct(cls: Any, kwargs: dict[str, Any], paths: Mapping[str, str]) -> Any:
    """Build a spec object; a SpecError is re-raised naming the document's field path.

    ``paths`` maps the spec's attribute names to the dotted paths of the
    document the values came from, so "`step_size` must be ..." reads
    "`spec.trafficControl.trafficStepSize` must be ...". A document holds one
    value, never an array, so the message drops "or an array of them".
    """
    try:
        return cls(**kwargs)
    except SpecError as err:
        message = str(err).replace(", or an array of them", "")
        match = _ATTR_IN_MESSAGE.search(message)
        if match and match.group(1) in paths:
            message = (
                message[: match.start()] + f"`{paths[match.group(1)]}`" + message[match.end() :]
            )
        raise SpecError(message) from None
