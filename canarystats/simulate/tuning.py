"""Tuning an experiment: operating characteristics over a grid, and the Pareto front.

:func:`tune` runs :func:`canarystats.operating_characteristics` at every point
of a grid over an experiment's knobs -- ``tolerance``, ``sample_size`` and
``method`` (applied to every criterion), ``step_size``, ``interval`` and
``max_iterations`` (applied to the traffic control) -- and returns one tidy
row per grid point. :func:`pareto_front` keeps the rows no other row beats on
every objective at once.

Several scenarios run in one call (a mapping of names to scenarios, e.g. an
equal candidate and a regressed one): each grid point's row then holds every
scenario's figures, suffixed by its name, so that one frame gives the Pareto
front of false rollbacks (equal) against exposure to a bad candidate
(regressed) and time to promote (equal).

Random streams are keyed by (grid point, chunk):
``SeedSequence(seed, spawn_key=(point, chunk))``, chunks of
:data:`canarystats.simulate.CHUNK_SIZE` rollouts. Every scenario of a grid point
draws from the same streams (common random numbers). A grid point's figures
under a scenario do not depend on the backend (local or Dask), on the order
the chunks run in, on the other grid points or on the other scenarios (their
number, names or order) -- only on the seed and the point's index: a
scenario's columns equal the frame of a one-scenario run.

Examples
--------
>>> from canarystats.data.make_rollouts import tutorial_spec
>>> from canarystats.simulate import Scenario
>>> frame = tune(tutorial_spec(), Scenario(request_rate=1.0, mean_latency=(0.15, 0.225)),
...              {"sample_size": [6, 30]}, n=200, rng=1)
>>> frame["sample_size"].tolist(), frame["p_rollback"].tolist()
([6, 30], [0.905, 0.84])
>>> both = tune(tutorial_spec(),
...             {"equal": Scenario(request_rate=1.0, mean_latency=0.15),
...              "worse": Scenario(request_rate=1.0, mean_latency=(0.15, 0.225))},
...             {"sample_size": [6, 30]}, n=200, rng=1)
>>> both["p_rollback_worse"].tolist()   # common random numbers: as above
[0.905, 0.84]
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
from canarystats.extras import install_hint
from canarystats.simulate.operating import (
    CHUNK_SIZE,
    assessment_times,
    observation_setup,
    result_from_parts,
    seed_from_rng,
    simulate_chunk,
)
from canarystats.simulate.scenario import Scenario
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
    spec: ExperimentSpec,
    scenario: Scenario,
    size: int,
    seed: int,
    point: int,
    chunk: int,
    bounds: NDArray[np.float64] | None = None,
    sumsq: bool = False,
) -> _Chunk:
    """One chunk of one grid point, from the stream keyed by (point, chunk)."""
    stream = np.random.SeedSequence(seed, spawn_key=(point, chunk))
    return simulate_chunk(spec, scenario, size, np.random.default_rng(stream), bounds, sumsq)


def _scenarios(scenario: Any) -> list[tuple[str | None, Scenario]]:
    """``[(None, scenario)]`` for one Scenario, else the mapping's (name, scenario) pairs."""
    if isinstance(scenario, Scenario):
        return [(None, scenario)]
    if not isinstance(scenario, Mapping) or not scenario:
        raise SpecError(
            "`scenario` must be a Scenario or a non-empty mapping of names to Scenarios, "
            f"got {scenario!r}"
        )
    out: list[tuple[str | None, Scenario]] = []
    for name, value in scenario.items():
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"scenario names must be non-empty strings, got {name!r}")
        if not isinstance(value, Scenario):
            raise SpecError(
                f"scenario {name!r} must be a Scenario, got {type(value).__name__}"
            )
        out.append((name, value))
    return out


def _optional(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise SpecError(
            f"{what} needs {module.partition('.')[0]}: {install_hint('tune')}"
        ) from exc


def tune(
    spec: ExperimentSpec,
    scenario: Scenario | Mapping[str, Scenario],
    grid: Mapping[str, Sequence[Any]],
    *,
    n: int = 10000,
    rng: Any = None,
    progress: bool = False,
    backend: str = "local",
    client: Any = None,
    confidence_level: float = 0.95,
    buckets: bool | Sequence[float] | None = None,
    sums_of_squares: bool = False,
) -> pd.DataFrame:
    """Operating characteristics of ``spec`` at every point of ``grid``.

    Parameters
    ----------
    spec : ExperimentSpec
        The experiment to tune (scalar parameters).
    scenario : Scenario or mapping of str to Scenario
        Load, latency and errors of each version (the same at every point);
        a mapping runs every named scenario at every point (see Returns).
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
        draws from ``SeedSequence(seed, spawn_key=(i, c))``, under every
        scenario (common random numbers).
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
    buckets : None, bool or sequence of float, default None
        Histogram bounds of the simulated latencies, as in
        :func:`canarystats.operating_characteristics` (None: Istio's, when a
        criterion reads buckets).
    sums_of_squares : bool, default False
        Whether the simulated pipeline records sums of squared latencies, as
        in :func:`canarystats.operating_characteristics`: by default (as
        Istio) not, and a grid point whose criterion needs them is a
        :class:`SpecError`.

    Returns
    -------
    pandas.DataFrame
        One row per grid point, in grid order: the grid's columns, ``n``,
        then ``p_promote``, ``p_rollback``, ``p_abort`` (Wilson intervals),
        ``time_to_decision``, ``exposure`` (candidate requests) and
        ``bad_requests`` (candidate 5xx), the means with normal intervals,
        ``time_to_decision_median`` and ``time_to_decision_p90`` with
        order-statistic intervals, each followed by ``<name>_low`` and
        ``<name>_high``. With a mapping of scenarios, these columns (all but
        ``n``) come once per scenario, in the mapping's order, suffixed by
        ``_<scenario name>`` (``p_rollback_equal``, ``exposure_regressed``).

    Raises
    ------
    SpecError
        For an unknown grid key or backend, a grid value the spec rejects, a
        criterion the simulator cannot serve (see
        :func:`canarystats.operating_characteristics`), a bad scenario
        mapping, or a missing optional dependency.

    Notes
    -----
    Common random numbers: under every scenario, grid point ``i`` draws from
    the same streams, so a scenario's figures are those of
    ``tune(spec, that_scenario, grid, ...)`` with the same seed, whichever
    other scenarios run beside it. The figures of two scenarios at one point
    are therefore not independent of each other (each is still a valid
    estimate with a valid interval); the rows, drawn from different streams,
    are independent.

    Examples
    --------
    >>> from canarystats.data.make_rollouts import tutorial_spec
    >>> frame = tune(tutorial_spec(),
    ...              {"equal": Scenario(request_rate=1.0, mean_latency=0.15),
    ...               "worse": Scenario(request_rate=1.0, mean_latency=(0.15, 0.225))},
    ...              {"tolerance": [0.2, 0.25]}, n=500, rng=3)
    >>> frame[["tolerance", "p_rollback_equal", "p_promote_worse"]].to_numpy().tolist()
    [[0.2, 0.014, 0.104], [0.25, 0.0, 0.786]]
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SpecError(f"`n` must be an integer >= 1, got {n!r}")
    named = _scenarios(scenario)
    if backend not in BACKENDS:
        raise SpecError(f"`backend` must be one of {list(BACKENDS)}, got {backend!r}")
    if not 0.0 < confidence_level < 1.0:
        raise SpecError(f"`confidence_level` must lie in (0, 1), got {confidence_level!r}")
    keys, points = _grid_points(grid)
    specs = [_apply(spec, keys, values) for values in points]
    setups = [observation_setup(s, buckets, sums_of_squares) for s in specs]
    seed = seed_from_rng(rng)
    if seed is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)
        seed = entropy
    n = int(n)
    n_chunks = -(-n // CHUNK_SIZE)
    tasks = [
        _Task(point=p, scenario=s, chunk=c, size=min(CHUNK_SIZE, n - c * CHUNK_SIZE))
        for p in range(len(specs))
        for s in range(len(named))
        for c in range(n_chunks)
    ]
    bar: Any = None
    if progress:
        bar = _optional("tqdm", "`progress=True`").tqdm(
            total=len(tasks), desc="tune", unit="chunk"
        )
    tick: Callable[[], None] = (lambda: bar.update(1)) if bar is not None else (lambda: None)
    scenarios = [sc for _, sc in named]
    results: dict[tuple[int, int, int], _Chunk] = {}
    try:
        if backend == "dask":
            results = _run_dask(specs, scenarios, setups, seed, tasks, client, tick)
        else:
            for t in tasks:
                results[t.key] = _run_chunk(
                    specs[t.point], scenarios[t.scenario], t.size, seed, t.point, t.chunk,
                    *setups[t.point],
                )
                tick()
    finally:
        if bar is not None:
            bar.close()
    rows = []
    for p, values in enumerate(points):
        row: dict[str, Any] = dict(zip(keys, values, strict=True))
        times = assessment_times(specs[p])
        for s, (name, _) in enumerate(named):
            parts = [results[p, s, c] for c in range(n_chunks)]
            figures = result_from_parts(n, parts, times).to_dict(confidence_level)
            if name is None:
                row.update(figures)
            else:
                row["n"] = figures.pop("n")
                row.update({f"{k}_{name}": v for k, v in figures.items()})
        rows.append(row)
    return pd.DataFrame(rows)


@attrs.frozen
class _Task:
    """One unit of work: a chunk of rollouts of one grid point under one scenario."""

    point: int
    scenario: int
    chunk: int
    size: int

    @property
    def key(self) -> tuple[int, int, int]:
        return self.point, self.scenario, self.chunk


def _run_dask(
    specs: Sequence[ExperimentSpec],
    scenarios: Sequence[Scenario],
    setups: Sequence[tuple[NDArray[np.float64] | None, bool]],
    seed: int,
    tasks: Sequence[_Task],
    client: Any,
    tick: Callable[[], None],
) -> dict[tuple[int, int, int], _Chunk]:
    distributed = _optional("distributed", "`backend='dask'`")
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError as exc:
            raise SpecError("`backend='dask'` needs a `client` (no current Dask client)") from exc
    futures = {
        client.submit(
            _run_chunk, specs[t.point], scenarios[t.scenario], t.size, seed, t.point, t.chunk,
            *setups[t.point], pure=False,
        ): t.key
        for t in tasks
    }
    results: dict[tuple[int, int, int], _Chunk] = {}
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
        E.g. a :func:`tune` frame of several scenarios (an equal candidate's
        ``p_rollback_equal`` is the false-rollback rate, a regressed
        candidate's ``exposure_regressed`` the exposure to a bad candidate,
        an equal candidate's ``time_to_decision_equal`` the time to promote).
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
            # a frame of several scenarios has each figure once per scenario, suffixed
            suffixed = [str(c) for c in frame.columns if str(c).startswith(f"{name}_")
                        and not str(c).startswith((f"{name}_low", f"{name}_high"))]
            hint = f" (the frame has {suffixed}: name a scenario's column)" if suffixed else ""
            raise SpecError(f"objective {name!r} is not a column of the frame{hint}")
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
