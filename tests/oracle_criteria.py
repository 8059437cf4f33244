"""canarystats criteria from the oracle's criterion dicts (``tests/oracle.py``'s shape).

Kept apart from the oracle, which is written from the rules and never imports canarystats.
"""

from __future__ import annotations

from typing import Any

from canarystats import Criterion


def criteria_from_oracle(crits: list[dict[str, Any]], missing: str = "iter8") -> list[Criterion]:
    """One :class:`canarystats.Criterion` per oracle criterion, with the given ``missing``."""
    return [
        Criterion(
            metric=c["metric"],
            tolerance_type=c["type"],
            tolerance=c["tolerance"],
            sample_size=c["sample_size"],
            stop_on_failure=c["stop_on_failure"],
            is_counter=c["is_counter"],
            absent_value=c["absent_value"],
            missing=missing,
        )
        for c in crits
    ]
