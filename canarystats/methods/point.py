"""Iter8's point comparison (``method="point"``) and Iter8's fetching of values.

The point method reproduces Iter8 v0.1's ``simple_threshold`` and
``simple_delta`` exactly, including its rounding:

- value and sample size are rounded as Python's ``float('%.3f' % x)``;
- the rounded sample size decides sufficiency (``n >= sample_size``);
- threshold passes iff ``value <= tolerance``; delta iff
  ``candidate <= (1 + tolerance) * baseline`` (both inclusive);
- abort iff (``stop_on_failure`` and sufficient and not passed) or (a
  counter metric, sufficient, failing a threshold).
"""

from __future__ import annotations

import attrs
import numpy as np
from numpy.typing import NDArray

from canarystats._arrays import array_field
from canarystats.methods.base import DataReport, Evidence, Method
from canarystats.methods.rounding import Fetched, fetch_iter8
from canarystats.observations import Observations, Reason
from canarystats.registry import register_method
from canarystats.spec import Criterion, batch_param

__all__ = ["Fetched", "PointMethod", "PointState", "fetch_iter8"]

_I8 = np.int8


@attrs.frozen(kw_only=True)
class PointState:
    """State of the point method: what it judged at the last update.

    Attributes
    ----------
    n, value : ndarray of float, shape (*batch, n_versions)
        The rounded sample sizes and values (after the missing-data policy)
        of the last update; NaN before the first.
    """

    n: NDArray[np.float64] = array_field()
    value: NDArray[np.float64] = array_field()


@register_method
class PointMethod(Method):
    """Iter8's point comparison (``method="point"``), vectorized over a batch.

    Missing-data policies:

    ``missing="inconclusive"`` (default)
        The library's data policy (:mod:`canarystats.methods.base`): a slice
        whose relevant versions (the candidate for a threshold, both for a
        delta) have an infinite or negative sample size or value is
        INCONCLUSIVE with ``Reason.BAD_DATA``; a missing (NaN) sample size,
        or a missing value with a sufficient sample, is INCONCLUSIVE with
        ``Reason.MISSING_VALUE``. One warning per update counts such slices.
        An insufficient sample is INCONCLUSIVE with
        ``Reason.INSUFFICIENT_SAMPLE`` (no warning: a missing mean latency on
        an idle version is expected). INCONCLUSIVE never aborts.
    ``missing="iter8"``
        Iter8's behaviour: a missing sample size is 0, a missing value takes
        ``absent_value`` (``Reason.ABSENT_VALUE_USED``), and a value that is
        still missing (``"None"``) FAILs with ``Reason.MISSING_VALUE`` -- which
        aborts a counter. Infinite sample sizes (on which Iter8's ``int()``
        raised) are INCONCLUSIVE with ``Reason.BAD_DATA`` and a warning; other
        values are compared literally, as Iter8 did.
    """

    name = "point"
    state_type = PointState
    iter8_compatible = True

    def initial_state(self, criterion: Criterion, batch_shape: tuple[int, ...]) -> PointState:
        empty = np.full((*batch_shape, 2), np.nan)
        return PointState(n=empty, value=empty)

    def evidence(
        self, criterion: Criterion, state: PointState, observations: Observations,
        report: DataReport, n: NDArray[np.float64],
    ) -> Evidence:
        batch = observations.batch_shape
        tol = batch_param("tolerance", criterion.tolerance, batch)
        fetched = fetch_iter8(criterion, observations)
        v = fetched.value
        delta = criterion.tolerance_type == "delta"
        lower = criterion.direction == "lower"
        cand_v = v[..., 1]
        if delta:
            margin = (1 + tol) if lower else (1 - tol)
            bound = margin * v[..., 0]
        else:
            bound = tol
        # NaN compares False: a missing value never passes
        passed = np.asarray((cand_v <= bound) if lower else (cand_v >= bound))
        reason = None
        if criterion.missing == "iter8":
            value_missing = np.isnan(v)
            used = fetched.substituted
            if delta:
                value_missing = value_missing[..., 0] | value_missing[..., 1]
                used = used[..., 0] | used[..., 1]
            else:
                value_missing, used = value_missing[..., 1], used[..., 1]
            reason = np.where(value_missing, _I8(Reason.MISSING_VALUE), _I8(Reason.OK))
            reason[used & ~value_missing] = Reason.ABSENT_VALUE_USED
        # the margin times a huge baseline overflows: a bound of inf is no basis for a PASS
        # (Iter8's policy compares literally, as Iter8 did)
        derived = (bound,) if delta and criterion.missing != "iter8" else ()
        return Evidence(
            state=PointState(n=fetched.n, value=v),
            passed=passed,
            failed=~passed,
            reason=reason,
            derived=derived,
            bad_what="a delta's bound overflowing",
        )
