"""Tuning an experiment: operating characteristics over a grid, and the Pareto front.

:func:`tune` runs :func:`canarystats.operating_characteristics` at every point
of a grid over an experiment's knobs -- ``tolerance``, ``sample_size`` and
``method`` (applied to every criterion), ``step_size``, ``interval`` and
``max_iterations`` (applied to the traffic control) -- and returns one tidy
row per grid point. :func:`pareto_front` keeps the rows no other row beats on
every objective at once.

Random streams are keyed by (grid point, chunk):
``SeedSequence(seed, spawn_key=(point, chunk))``, chunks of
:data:`canarystats.simulate.CHUNK_SIZE` rollouts. A grid point's figures do not
depend on the backend (local or Dask), on the order the chunks run in, or on
the other grid points -- only on the seed and the point's index.

Examples
--------
>>> from canarystats.data.make_rollouts import tutorial_spec
>>> from canarystats.simulate import Scenario
>>> frame = tune(tutorial_spec(), Scenario(request_rate=1.0, mean_latency=(0.15, 0.225)),
...              {"sample_size": [6, 30]}, n=200, rng=1)
>>> frame["sample_size"].tolist(), frame["p_rollback"].tolist()
([6, 30], [0.905, 0.84])
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from canarystats.errors import SpecError
from canarystats.simulate import (
    CHUNK_SIZE,
    Scenario,
    _result_from_parts,
    _seed,
    _simulate_chunk,
)
from canarystats.spec import ExperimentSpec

__all__ = ["BACKENDS", "CRITERION_PARAMETERS", "TRAFFIC_PARAMETERS", "pareto_front", "tune"]

#: Grid keys applied (with ``attrs.evolve``) to every criterion of the spec.
CRITERION_PARAMETERS: tuple[str, ...] = ("tolerance", "sample_size", "method")
#: Grid keys applied to the spec's traffic control.
TRAFFIC_PARAMETERS: tuple[str, ...] = ("step_size", "interval", "max_iterations")
#: Where :func:`tune` runs the simulations.
BACKENDS: tuple[str, ...] = ("local", "dask")

_Chunk = tuple[NDArray[Any], ...]


def _grid_points(grid: Mapping[str, Sequence[Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    if not isinstance(grid, Mapping):
        raise SpecError(f"`grid` must be a mapping of parameter name to values, got {grid!r}")
    keys = list(grid)
    allowed = (*CRITERION_PARAMETERS, *TRAFFIC_PARAMETERS)
    for key in keys:
        if key not in allowed:
            raise SpecError(f"grid key {key!r} is not one of {list(allowed)}")
        values = grid[key]
        if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
            raise SpecError(f"grid values of {key!r} must be a non-empty list, got {values!r}")
    return keys, list(itertools.product(*(list(grid[k]) for k in keys)))


def _apply(spec: ExperimentSpec, keys: Sequence[str], values: Sequence[Any]) -> ExperimentSpec:
    """The spec with one grid point's values (validated by the attrs classes)."""
    crit = {k: v for k, v in zip(keys, values, strict=True) if k in CRITERION_PARAMETERS}
    traffic = {k: v for k, v in zip(keys, values, strict=True) if k in TRAFFIC_PARAMETERS}
    tc = attrs.evolve(spec.traffic_control, **traffic) if traffic else spec.traffic_control
    criteria = [attrs.evolve(c, **crit) for c in spec.criteria] if crit else spec.criteria
    return attrs.evolve(spec, traffic_control=tc, criteria=criteria)


def _run_chunk(
    spec: ExperimentSpec, scenario: Scenario, size: int, seed: int, point: int, chunk: int
) -> _Chunk:
    """One chunk of one grid point, from the stream keyed by (point, chunk)."""
    stream = np.random.SeedSequence(seed, spawn_key=(point, chunk))
    return _simulate_chunk(spec, scenario, size, np.random.default_rng(stream))


def _optional(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise SpecError(
            f"{what} needs {module.partition('.')[0]}: pip install 'canarystats[tune]'"
        ) from exc


def tune(
    spec: ExperimentSpec,
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    *,
    n: int = 10000,
    rng: Any = None,
    progress: bool = False,
    backend: str = "local",
    client: Any = None,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Operating characteristics of ``spec`` at every point of ``grid``.

    Parameters
    ----------
    spec : ExperimentSpec
        The experiment to tune (scalar parameters).
    scenario : Scenario
        Load, latency and errors of each version (the same at every point).
    grid : mapping of str to list
        Parameter name to the values to try; the grid is the Cartesian
        product, in the mapping's order (the last key varies fastest).
        Keys: ``tolerance``, ``sample_size``, ``method`` (set on every
        criterion), ``step_size``, ``interval``, ``max_iterations`` (set on
        the traffic control). An empty mapping is one point: the spec as is.
    n : int, default 10000
        Simulated rollouts per grid point.
    rng : numpy.random.Generator or int, optional
        A seed makes the frame reproducible; grid point ``i``'s chunk ``c``
        draws from ``SeedSequence(seed, spawn_key=(i, c))``.
    progress : bool, default False
        Show a tqdm progress bar on stderr, one tick per chunk (the ``tune``
        extra).
    backend : {"local", "dask"}, default "local"
        ``"dask"`` submits every (grid point, chunk) to a
        ``dask.distributed`` client (the ``tune`` extra); the frame is the
        same as the local one for the same seed.
    client : distributed.Client, optional
        The Dask client; by default the current one (``get_client()``).
    confidence_level : float, default 0.95
        Of the Monte Carlo intervals.

    Returns
    -------
    pandas.DataFrame
        One row per grid point, in grid order: the grid's columns, ``n``,
        then ``p_promote``, ``p_rollback``, ``p_abort`` (Wilson intervals),
        ``time_to_decision``, ``exposure`` (candidate requests) and
        ``bad_requests`` (candidate 5xx), the means with normal intervals,
        each followed by ``<name>_low`` and ``<name>_high``.

    Raises
    ------
    SpecError
        For an unknown grid key or backend, a grid value the spec rejects,
        or a missing optional dependency.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SpecError(f"`n` must be an integer >= 1, got {n!r}")
    if not isinstance(scenario, Scenario):
        raise SpecError(f"`scenario` must be a Scenario, got {type(scenario).__name__}")
    if backend not in BACKENDS:
        raise SpecError(f"`backend` must be one of {list(BACKENDS)}, got {backend!r}")
    if not 0.0 < confidence_level < 1.0:
        raise SpecError(f"`confidence_level` must lie in (0, 1), got {confidence_level!r}")
    keys, points = _grid_points(grid)
    specs = [_apply(spec, keys, values) for values in points]
    seed = _seed(rng)
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)
        seed = entropy
    n = int(n)
    n_chunks = -(-n // CHUNK_SIZE)
    tasks = [
        (p, c, min(CHUNK_SIZE, n - c * CHUNK_SIZE))
        for p in range(len(specs))
        for c in range(n_chunks)
    ]
    bar: Any = None
    if progress:
        bar = _optional("tqdm", "`progress=True`").tqdm(
            total=len(tasks), desc="tune", unit="chunk"
        )
    tick: Callable[[], None] = (lambda: bar.update(1)) if bar is not None else (lambda: None)
    results: dict[tuple[int, int], _Chunk] = {}
    try:
        if backend == "dask":
            results = _run_dask(specs, scenario, seed, tasks, client, tick)
        else:
            for p, c, size in tasks:
                results[p, c] = _run_chunk(specs[p], scenario, size, seed, p, c)
                tick()
    finally:
        if bar is not None:
            bar.close()
    rows = []
    for p, values in enumerate(points):
        oc = _result_from_parts(n, [results[p, c] for c in range(n_chunks)])
        rows.append({**dict(zip(keys, values, strict=True)), **oc.to_dict(confidence_level)})
    return pd.DataFrame(rows)


def _run_dask(
    specs: Sequence[ExperimentSpec],
    scenario: Scenario,
    seed: int,
    tasks: Sequence[tuple[int, int, int]],
    client: Any,
    tick: Callable[[], None],
) -> dict[tuple[int, int], _Chunk]:
    distributed = _optional("distributed", "`backend='dask'`")
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError as exc:
            raise SpecError("`backend='dask'` needs a `client` (no current Dask client)") from exc
    futures = {
        client.submit(_run_chunk, specs[p], scenario, size, seed, p, c, pure=False): (p, c)
        for p, c, size in tasks
    }
    results: dict[tuple[int, int], _Chunk] = {}
    for future, value in distributed.as_completed(list(futures), with_results=True):
        results[futures[future]] = value
        tick()
    return results


def pareto_front(
    frame: pd.DataFrame,
    objectives: Sequence[str] = ("p_rollback", "exposure", "time_to_decision"),
    senses: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows of ``frame`` that no other row dominates on ``objectives``.

    Row ``a`` dominates row ``b`` when ``a`` is at least as good on every
    objective and strictly better on one. Rows with equal objectives do not
    dominate each other, so both stay.

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. a :func:`tune` frame, or two of them merged on the grid columns
        (an equal candidate's ``p_rollback`` is the false-rollback rate, a
        regressed candidate's ``exposure`` the exposure to a bad candidate,
        an equal candidate's ``time_to_decision`` the time to promote).
    objectives : sequence of str, default ("p_rollback", "exposure", "time_to_decision")
        Numeric columns.
    senses : sequence of {"min", "max"}, optional
        Per objective; by default all ``"min"``.

    Returns
    -------
    pandas.DataFrame
        The non-dominated rows, in their order in ``frame``, index kept.

    Examples
    --------
    >>> frame = pd.DataFrame({"risk": [0.1, 0.2, 0.1, 0.3], "cost": [5.0, 1.0, 6.0, 1.0]})
    >>> pareto_front(frame, ["risk", "cost"]).index.tolist()
    [0, 1]
    """
    objectives = list(objectives)
    senses = ["min"] * len(objectives) if senses is None else list(senses)
    if not objectives or len(senses) != len(objectives):
        raise SpecError(
            f"`senses` must give one of 'min'/'max' per objective ({len(objectives)}), "
            f"got {senses!r}"
        )
    for name, sense in zip(objectives, senses, strict=True):
        if name not in frame.columns:
            raise SpecError(f"objective {name!r} is not a column of the frame")
        if sense not in ("min", "max"):
            raise SpecError(f"sense of {name!r} must be 'min' or 'max', got {sense!r}")
    sign = np.array([1.0 if s == "min" else -1.0 for s in senses])
    values = frame[objectives].to_numpy(dtype=np.float64) * sign  # lower is better
    if np.isnan(values).any():
        raise SpecError(f"objectives {objectives} hold NaN")
    no_worse = np.all(values[:, None, :] <= values[None, :, :], axis=-1)  # [j, i]: j <= i
    better = np.any(values[:, None, :] < values[None, :, :], axis=-1)
    dominated = np.any(no_worse & better, axis=0)
    front: pd.DataFrame = frame.loc[~dominated]
    return front
