"""Observations of one metric, and the verdict and reason codes criteria return.

An :class:`Observations` holds the sufficient statistics of one metric for a
batch of experiments: arrays whose leading axes are the batch and whose last
axis is the version (0 = baseline, 1 = candidate). Missing is NaN, never a
sentinel number. A criterion judges them into a :class:`Verdict` and a
:class:`Reason`, both int8 codes, so that whole batches of verdicts are plain
numpy arrays.

Examples
--------
>>> import numpy as np
>>> from canarystats import Observations
>>> obs = Observations(count=[[120.0, 30.0], [80.0, 20.0]],
...                    value=[[0.12, 0.15], [0.11, np.nan]])
>>> obs.batch_shape, obs.n_versions
((2,), 2)
>>> obs[1].value
array([0.11,  nan])
"""

from __future__ import annotations

import enum
import numbers
from typing import Any

import attrs
import numpy as np
from numpy.typing import ArrayLike, NDArray

from canarystats._arrays import ARRAY_EQ
from canarystats.errors import SpecError

__all__ = ["Observations", "Reason", "Verdict"]


class Verdict(enum.IntEnum):
    """A criterion's verdict, ordered: FAIL < INCONCLUSIVE < PASS.

    Stored as int8 in verdict arrays of shape ``(*batch, n_criteria)``.
    """

    FAIL = -1
    INCONCLUSIVE = 0
    PASS = 1


class Reason(enum.IntEnum):
    """Why a criterion gave its verdict. Stored as int8 beside the verdict.

    OK
        Decided on valid data (PASS or FAIL).
    INSUFFICIENT_SAMPLE
        A version's sample size is below the criterion's ``sample_size``.
    MISSING_VALUE
        The value (or the sample size) is missing (NaN). INCONCLUSIVE under
        ``missing="inconclusive"``; under ``missing="iter8"`` with an absent
        value that is not a number, FAIL, as Iter8 did.
    BAD_DATA
        Infinite or negative values or sample sizes: INCONCLUSIVE.
    NOT_YET_DECIDED
        A sequential method has not yet excluded either side.
    ABSENT_VALUE_USED
        Under ``missing="iter8"``, a missing value was replaced by the
        criterion's ``absent_value`` and the verdict was decided on it.
    SAMPLE_RATIO_MISMATCH
        ``TrafficControl(srm_check=True)``: the requests the versions received
        do not follow the routed split, so no comparison is judged; every
        criterion of the slice is INCONCLUSIVE with this reason, and the
        experiment aborts.
    """

    OK = 0
    INSUFFICIENT_SAMPLE = 1
    MISSING_VALUE = 2
    BAD_DATA = 3
    NOT_YET_DECIDED = 4
    ABSENT_VALUE_USED = 5
    SAMPLE_RATIO_MISMATCH = 6


def _numbers(value: ArrayLike | None, field: attrs.Attribute[Any]) -> NDArray[np.float64] | None:
    """A read-only float64 copy; anything that is not numbers (bool, int or float) is refused."""
    if value is None:
        return None
    raw = np.asarray(value)
    if raw.dtype.kind == "O" and all(
        x is None or isinstance(x, numbers.Real)
        for x in raw.flat
    ):
        raw = np.array(raw, dtype=np.float64)  # numbers with None (missing) in a list
    if raw.dtype.kind not in "biuf":
        raise SpecError(
            f"`{field.name}` must hold numbers (a batch has one numeric dtype), got an array "
            f"of dtype {raw.dtype}"
        )
    arr = np.array(raw, dtype=np.float64)
    arr.flags.writeable = False
    return arr


_readonly = attrs.Converter(_numbers, takes_field=True)


def _arr_eq() -> Any:
    return ARRAY_EQ


@attrs.frozen(kw_only=True)
class Observations:
    """Sufficient statistics of one metric for a batch of experiments.

    Parameters
    ----------
    count : array_like of float, shape (*batch, n_versions)
        The sample size of each version (requests in the window). Float,
        because Prometheus' ``increase()`` gives fractions; NaN when missing.
    value : array_like of float, shape (*batch, n_versions)
        The point aggregate Iter8 judged (mean latency, error count, error
        rate); NaN when missing.
    successes : array_like of float, shape (*batch, n_versions), optional
        For ratio metrics: the events counted out of ``count`` (e.g. 5xx).
    sum, sumsq : array_like of float, shape (*batch, n_versions), optional
        For mean metrics: the sum and the sum of squares of the samples.
    buckets : array_like of float, shape (*batch, n_versions, n_buckets), optional
        Histogram counts per bucket (not cumulative).
    bucket_bounds : array_like of float, shape (n_buckets,), optional
        The buckets' upper bounds, increasing and ending in ``+inf``.
    samples : array_like of float, shape (*batch, n_versions, n_max), optional
        Raw samples, padded with NaN.

    Raises
    ------
    SpecError
        When the shapes do not agree. Bad *values* (NaN, negative, infinite)
        are not errors: the criteria judge those slices INCONCLUSIVE.
    """

    count: NDArray[np.float64] = attrs.field(converter=_readonly, eq=_arr_eq())  # type: ignore[misc]
    value: NDArray[np.float64] = attrs.field(converter=_readonly, eq=_arr_eq())  # type: ignore[misc]
    successes: NDArray[np.float64] | None = attrs.field(
        default=None, converter=_readonly, eq=_arr_eq()  # type: ignore[misc]
    )
    sum: NDArray[np.float64] | None = attrs.field(default=None, converter=_readonly, eq=_arr_eq())  # type: ignore[misc]
    sumsq: NDArray[np.float64] | None = attrs.field(
        default=None, converter=_readonly, eq=_arr_eq()  # type: ignore[misc]
    )
    buckets: NDArray[np.float64] | None = attrs.field(
        default=None, converter=_readonly, eq=_arr_eq()  # type: ignore[misc]
    )
    bucket_bounds: NDArray[np.float64] | None = attrs.field(
        default=None, converter=_readonly, eq=_arr_eq()  # type: ignore[misc]
    )
    samples: NDArray[np.float64] | None = attrs.field(
        default=None, converter=_readonly, eq=_arr_eq()  # type: ignore[misc]
    )

    def __attrs_post_init__(self) -> None:
        shape = self.count.shape
        if self.count.ndim < 1:
            raise SpecError(
                "`count` must have a last axis of versions, shape (*batch, n_versions), "
                f"got shape {shape}"
            )
        for name in ("value", "successes", "sum", "sumsq"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != shape:
                raise SpecError(
                    f"`{name}` must have the shape of `count` {shape}, got shape {arr.shape}"
                )
        if (self.buckets is None) != (self.bucket_bounds is None):
            raise SpecError("`buckets` and `bucket_bounds` must be given together")
        if self.buckets is not None and self.bucket_bounds is not None:
            nb = self.bucket_bounds.shape
            if self.buckets.shape != (*shape, *nb) or len(nb) != 1:
                raise SpecError(
                    f"`buckets` must have shape (*batch, n_versions, n_buckets) = "
                    f"{(*shape, *nb)}, got shape {self.buckets.shape}"
                )
            if not (np.all(np.diff(self.bucket_bounds) > 0) and self.bucket_bounds[-1] == np.inf):
                raise SpecError(
                    "`bucket_bounds` must increase strictly and end in +inf, "
                    f"got {self.bucket_bounds.tolist()}"
                )
        if self.samples is not None and self.samples.shape[:-1] != shape:
            raise SpecError(
                f"`samples` must have shape (*batch, n_versions, n_max) with (*batch, "
                f"n_versions) = {shape}, got shape {self.samples.shape}"
            )

    @classmethod
    def point(cls, count: ArrayLike, value: ArrayLike) -> Observations:
        """Observations from a sample size and a point value, broadcast together.

        Examples
        --------
        >>> Observations.point([10.0, 12.0], 0.5).value
        array([0.5, 0.5])
        """
        c, v = np.broadcast_arrays(np.asarray(count, np.float64), np.asarray(value, np.float64))
        return cls(count=c, value=v)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading batch shape (all axes but the last)."""
        return tuple(self.count.shape[:-1])

    @property
    def n_versions(self) -> int:
        """The number of versions (the last axis)."""
        return int(self.count.shape[-1])

    def __getitem__(self, index: Any) -> Observations:
        """Select batch slices; the version axis (and bucket axis) are kept.

        ``obs[i]`` indexes the batch axes only, like ``count[i, ..., :]``.
        """
        idx = index if isinstance(index, tuple) else (index,)
        if any(i is Ellipsis for i in idx):
            raise SpecError("indexing Observations with `...` is not supported")

        def take(arr: NDArray[np.float64] | None, trailing: int) -> NDArray[np.float64] | None:
            if arr is None:
                return None
            return arr[(*idx, Ellipsis, *([slice(None)] * trailing))]

        return Observations(
            count=take(self.count, 1),
            value=take(self.value, 1),
            successes=take(self.successes, 1),
            sum=take(self.sum, 1),
            sumsq=take(self.sumsq, 1),
            buckets=take(self.buckets, 2),
            bucket_bounds=self.bucket_bounds,
            samples=take(self.samples, 2),
        )
