"""Error control across criteria and candidates.

A canary passes only when **all** its criteria pass. Each criterion's PASS
rejects the null "this metric is bad"; promoting rejects the union of those
nulls. That is an intersection-union test (Berger 1982): if each criterion's
false-PASS rate is at most ``alpha``, the false-promotion rate is at most
``alpha`` -- without any correction (:func:`intersection_union_pvalue`: the
p-value of "all good" is the largest of the criteria's p-values). The price
is on the other side: the chance that a good candidate passes all ``m``
criteria is at most the smallest per-criterion power, and a good candidate is
rolled back when any criterion FAILs, so the false-rollback rate can grow up
to ``m * alpha``. Adjust when that side matters, and when several candidates
are compared with one baseline (a union of nulls to control family-wise):
:func:`adjust_pvalues` (Bonferroni, Holm, Hochberg) and
:func:`adjusted_confidence_level` (Bonferroni or Sidak simultaneous intervals).

Examples
--------
>>> from canarystats import adjust_pvalues, intersection_union_pvalue
>>> adjust_pvalues([0.01, 0.04, 0.03, 0.005, 0.2], method="holm").tolist()
[0.04, 0.09, 0.09, 0.025, 0.2]
>>> float(intersection_union_pvalue([0.01, 0.04, 0.03]))
0.04
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from canarystats._arrays import scalar_or_array
from canarystats.errors import SpecError

__all__ = [
    "ADJUSTMENTS",
    "adjust_pvalues",
    "adjusted_confidence_level",
    "intersection_union_pvalue",
]

#: The p-value adjustments of :func:`adjust_pvalues`.
ADJUSTMENTS = ("bonferroni", "holm", "hochberg")


def intersection_union_pvalue(pvalues: ArrayLike, *, axis: int = -1) -> Any:
    """The p-value of the intersection-union test "every criterion is good".

    Parameters
    ----------
    pvalues : array_like
        Per criterion, a valid p-value of its null "this criterion is bad"
        (small favours PASS), along ``axis``.
    axis : int, default -1

    Returns
    -------
    float or ndarray
        ``max(pvalues)`` along ``axis``: rejecting when it is below ``alpha``
        (every criterion passes at level ``alpha``) keeps the false-promotion
        rate at most ``alpha`` whatever the dependence between criteria.

    Notes
    -----
    Berger, R. L. (1982). Multiparameter hypothesis testing and acceptance
    sampling. Technometrics 24, 295-300 (Theorem 1). NaN (an undecidable
    criterion) propagates: nothing is promoted on missing evidence.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    return scalar_or_array(np.max(p, axis=axis))


def adjust_pvalues(pvalues: ArrayLike, *, method: str = "holm", axis: int = -1) -> Any:
    """Family-wise adjusted p-values, vectorized over the other axes.

    Parameters
    ----------
    pvalues : array_like
        P-values of the family along ``axis`` (criteria, or candidates).
    method : {"bonferroni", "holm", "hochberg"}
        Bonferroni (1936); Holm's step-down (1979), valid under any
        dependence; Hochberg's step-up (1988), more powerful but valid under
        independence or positive dependence (Sarkar 1998).
    axis : int, default -1

    Returns
    -------
    ndarray
        Adjusted p-values (capped at 1), the same shape as ``pvalues``; they
        equal R's ``p.adjust``. Reject where the adjusted p-value is at most
        the family-wise level.

    Raises
    ------
    SpecError
        For an unknown ``method`` or p-values outside [0, 1].
    """
    if method not in ADJUSTMENTS:
        raise SpecError(f"`method` must be one of {list(ADJUSTMENTS)}, got {method!r}")
    p = np.moveaxis(np.asarray(pvalues, dtype=np.float64), axis, -1)
    if np.any((p < 0) | (p > 1)):
        raise SpecError(f"`pvalues` must lie in [0, 1], got {pvalues!r}")
    m = p.shape[-1]
    if m == 0 or method == "bonferroni":
        out = np.minimum(p * m, 1.0)
        return np.moveaxis(out, -1, axis)
    order = np.argsort(p, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1)
    if method == "holm":
        factor = m - np.arange(m)  # m, m-1, ..., 1
        adj = np.maximum.accumulate(np.minimum(ps * factor, 1.0), axis=-1)
    else:  # hochberg: step-up, running minimum from the largest p-value down
        factor = m - np.arange(m)
        adj = np.minimum.accumulate((ps * factor)[..., ::-1], axis=-1)[..., ::-1]
        adj = np.minimum(adj, 1.0)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    return np.moveaxis(out, -1, axis)


def adjusted_confidence_level(
    confidence_level: ArrayLike, m: int, *, method: str = "bonferroni"
) -> Any:
    """The per-interval level that makes ``m`` intervals simultaneous.

    ``method="bonferroni"``: ``1 - (1 - level) / m`` (any dependence);
    ``"sidak"``: ``level ** (1 / m)`` (independent intervals, or the
    positively dependent normal case; Sidak 1967). Holm and Hochberg have no
    simple simultaneous intervals; report Bonferroni intervals beside their
    adjusted p-values.

    Examples
    --------
    >>> float(adjusted_confidence_level(0.95, 5))
    0.99
    """
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
        raise SpecError(f"`m` must be an integer >= 1, got {m!r}")
    level = np.asarray(confidence_level, dtype=np.float64)
    if not np.all((level > 0) & (level < 1)):
        raise SpecError(f"`confidence_level` must lie in (0, 1), got {confidence_level!r}")
    if method == "bonferroni":
        return scalar_or_array(1.0 - (1.0 - level) / m)
    if method == "sidak":
        return scalar_or_array(level ** (1.0 / m))
    raise SpecError(f"`method` must be one of ['bonferroni', 'sidak'], got {method!r}")
