"""Shared test configuration: Hypothesis profiles.

``CI`` set in the environment loads the deterministic ``ci`` profile (derandomized, so a CI
run is reproducible); otherwise the ``default`` profile runs with random seeds. Neither has a
deadline: a vectorized step's first call pays numpy's warm-up.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("default", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "default")
