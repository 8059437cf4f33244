"""Writes tests/reference/state_format1.json: a format-1 state document.

Run with the canarystats of commit 680f4ad (before the methods layer, the last version writing
format 1), e.g. ``git worktree add /tmp/old 680f4ad && PYTHONPATH=/tmp/old python
tests/reference/state_format1.py > tests/reference/state_format1.json``. It is not a test: it
uses the old API (``prior=`` on Criterion).
"""
import numpy as np

import canarystats as cs

spec = cs.ExperimentSpec(
    name="v1", target_service="s", baseline="b", candidate="c",
    traffic_control=cs.TrafficControl(step_size=20, max_traffic_percent=60, srm_check=True),
    criteria=[cs.Criterion(metric="iter8_error_rate", tolerance_type="delta", tolerance=0.5,
                           method="bayes", prior=(1.0, 1.0), sample_size=20),
              cs.Criterion(metric="iter8_latency", tolerance_type="threshold", tolerance=0.2,
                           sample_size=5)],
)
count = np.array([[400.0, 100.0], [400.0, 100.0]])
obs = {"iter8_error_rate": cs.Observations(count=count, value=np.array([[8, 1], [8, 6]]) / count,
                                           successes=np.array([[8.0, 1.0], [8.0, 6.0]])),
       "iter8_latency": cs.Observations(count=count, value=np.array([[0.1, 0.12], [0.1, 0.3]]))}
state = cs.initial_state(spec, (2,))
state, _ = cs.step(spec, state, obs)
print(state.to_json())
