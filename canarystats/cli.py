"""The ``canarystats`` command.

``canarystats replay`` replays recorded rollouts under an Iter8 experiment and
prints, per rollout, the assessments and the final decision. Without
arguments it replays the two bundled rollouts under the bundled tutorial
experiment.

``canarystats replay --prometheus URL --experiment FILE --start T0 [--end T1]``
replays a past rollout read from Prometheus (see ``docs/prometheus.md``).

``canarystats replay --plot FILE.png`` also draws each rollout's timeline
(traffic, criteria, verdicts, decision) into an image (the ``plot`` extra).

``canarystats assess --request FILE [--observations FILE]`` answers one Iter8
``check_and_increment`` request (the JSON body Iter8's controller POSTed) given
the observed metric values, and prints Iter8's response as JSON; the
observations may instead sit in the request under ``observations``. With
``--exit-code`` it exits 0 when all criteria are met, 3 when not, 4 when the
experiment must abort.

``canarystats plan [--experiment FILE] [--rate RPS]`` prints an experiment's
best-case traffic schedule, its data budget and warnings for plans that
cannot work (the bundled tutorial experiment by default).

``canarystats tune [--experiment FILE] --scenario [NAME:]KEY=VALUE,... [--grid KEY=V1,V2 ...]``
simulates the experiment's operating characteristics at every point of a grid
and prints one row per point (the bundled tutorial experiment by default);
``--scenario`` may be repeated with named scenarios (``equal:...``,
``regressed:...``), whose figures come side by side, suffixed by name.

``canarystats serve [--prometheus URL]`` serves Iter8's analytics REST API
(the ``service`` extra; see ``docs/service.md``); with ``--prometheus`` it
queries Prometheus for requests that carry no observations.

Exit status: 0 on success; 2 for bad input (one line on stderr, no
traceback); with ``--exit-code``, 3 when any replayed rollout was rolled back
(``replay``), or 3 when not all criteria are met and 4 when the experiment must
abort (``assess``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs
import pandas as pd

from canarystats.errors import DataError, PrometheusError, SpecError
from canarystats.extras import install_hint, installed_version

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_ROLLED_BACK = 3
EXIT_NOT_MET = 3
EXIT_ABORT = 4

_TABLE_COLUMNS = {
    "iteration": "iter",
    "time": "time_s",
    "baseline_traffic": "base_%",
    "candidate_traffic": "cand_%",
    "routed_candidate": "routed_%",
    "metric": "metric",
    "baseline_sample_size": "base_n",
    "candidate_sample_size": "cand_n",
    "baseline_value": "base_value",
    "candidate_value": "cand_value",
    "verdict": "verdict",
    "reason": "reason",
    "abort": "abort",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canarystats",
        description="Statistics that decide canary releases (Iter8 v0.1 compatible).",
    )
    parser.add_argument(
        "--version", action="version", version=f"canarystats {installed_version()}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rp = sub.add_parser(
        "replay",
        help="replay recorded rollouts under an Iter8 experiment",
        description=(
            "Replay recorded rollouts (cumulative counters per version over time) under an "
            "Iter8 v0.1 experiment and print each assessment and the final decision. Without "
            "--experiment and --data, the bundled tutorial experiment and its two bundled "
            "rollouts are replayed."
        ),
    )
    rp.add_argument("--experiment", metavar="PATH", help="Iter8 v0.1 Experiment YAML file")
    rp.add_argument(
        "--data",
        metavar="PATH",
        action="append",
        help="recorded rollout table, CSV or Parquet (repeatable; a `rollout` column may "
        "hold several rollouts)",
    )
    rp.add_argument("--format", choices=("table", "json", "csv"), default="table",
                    help="how each rollout's timeline is printed (default: table)")
    rp.add_argument(
        "--compat",
        choices=("iter8",),
        default=None,
        help="reproduce Iter8 exactly, including its missing-data behaviour",
    )
    rp.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 3 when any rollout is rolled back (0 when all succeed)",
    )
    rp.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw each rollout's timeline (one column per rollout) into FILE, e.g. "
        "timeline.png (the `plot` extra: matplotlib)",
    )
    prom = rp.add_argument_group(
        "from Prometheus",
        "Replay a past rollout read from Prometheus instead of a table: at each assessment "
        "time, the increases of Istio's counters over the cumulative window (the `prometheus` "
        "extra; see docs/prometheus.md). A bearer token may be given in the environment "
        "variable CANARYSTATS_PROMETHEUS_TOKEN.",
    )
    prom.add_argument("--prometheus", metavar="URL", help="Prometheus base URL")
    prom.add_argument(
        "--start", metavar="T0", help="the experiment's start: ISO 8601 with offset, or Unix s"
    )
    prom.add_argument("--end", metavar="T1", help="the end of the data (default: last assessment)")
    prom.add_argument(
        "--namespace", help="the workloads' namespace (destination_workload_namespace)"
    )
    prom.add_argument(
        "--telemetry",
        choices=("v1", "v2"),
        default="v1",
        help="Istio telemetry: latency in seconds (v1) or milliseconds (v2)",
    )
    prom.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")
    prom.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    _add_serve_parser(sub)
    _add_assess_parser(sub)
    _add_plan_parser(sub)
    _add_tune_parser(sub)
    return parser


def _experiment_spec(args: argparse.Namespace) -> Any:
    """The `--experiment` file's spec, or the bundled tutorial experiment without one."""
    from canarystats import data as bundled
    from canarystats.adapters.iter8 import load_experiment

    path = Path(args.experiment) if args.experiment else bundled.tutorial_experiment_path()
    if not path.is_file():
        raise SpecError(f"`--experiment` file not found: {str(path)!r}")
    return load_experiment(path)


def _sources(args: argparse.Namespace) -> tuple[Any, list[tuple[str, Any]]]:
    from canarystats import data as bundled

    experiment: Any = Path(args.experiment) if args.experiment else None
    if experiment is not None and not experiment.is_file():
        raise SpecError(f"`--experiment` file not found: {str(experiment)!r}")
    if args.data:
        tables: list[tuple[str, Any]] = []
        for item in args.data:
            path = Path(item)
            if not path.is_file():
                raise DataError(f"`--data` file not found: {item!r}")
            tables.append((path.stem, path))
    else:
        tables = [(name, bundled.rollout_path(name)) for name in bundled.ROLLOUTS]
    if experiment is None:
        experiment = bundled.tutorial_experiment_path()
    return experiment, tables


def _time_arg(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _replay_prometheus(args: argparse.Namespace) -> list[tuple[str, Any]]:
    from canarystats.adapters.prometheus import PrometheusClient, replay_prometheus

    if args.data:
        raise SpecError("`--prometheus` and `--data` exclude each other: give one source")
    if not args.experiment or not args.start:
        raise SpecError("`--prometheus` needs `--experiment` and `--start`")
    spec = _experiment_spec(args)
    token = os.environ.get("CANARYSTATS_PROMETHEUS_TOKEN") or None
    with PrometheusClient(
        args.prometheus, timeout=args.timeout, bearer_token=token, verify=not args.insecure
    ) as client:
        result = replay_prometheus(
            client,
            spec,
            start=_time_arg(args.start),
            end=_time_arg(args.end),
            compat=args.compat,
            namespace=args.namespace,
            telemetry=args.telemetry,
        )
    return [("prometheus", result)]


def _replay(args: argparse.Namespace) -> list[tuple[str, Any]]:
    from canarystats.adapters.iter8 import load_experiment
    from canarystats.replay import replay_all

    if args.prometheus:
        return _replay_prometheus(args)
    if args.start or args.end:
        raise SpecError("`--start` and `--end` apply to `--prometheus` only")

    experiment_src, tables = _sources(args)
    spec = load_experiment(experiment_src)
    results: list[tuple[str, Any]] = []
    for label, path in tables:
        replayed = replay_all(spec, path, compat=args.compat)
        if len(replayed) == 1:
            results.append((label, next(iter(replayed.values()))))
        else:
            results.extend((f"{label}/{rid}", res) for rid, res in replayed.items())
    return results


def _fmt_num(x: Any) -> str:
    if isinstance(x, float):
        if x != x:  # NaN
            return "-"
        return f"{x:g}"
    return str(x)


def _print_table(results: list[tuple[str, Any]], out: TextIO) -> None:
    for i, (label, res) in enumerate(results):
        if i:
            print(file=out)
        print(f"rollout {label}", file=out)
        print(f"input: {res.input_report.summary()}", file=out)
        cols = [c for c in _TABLE_COLUMNS if c in res.timeline.columns]
        table = res.timeline[cols].rename(columns=_TABLE_COLUMNS)
        print(table.to_string(index=False, float_format=_fmt_num, na_rep="-"), file=out)
        base, cand = res.final_traffic
        how = f"aborted at iteration {res.end_iteration}" if res.aborted else (
            f"after iteration {res.end_iteration}"
        )
        print(
            f"decision: {res.outcome.upper()} ({how}); final traffic: baseline {base:g} %, "
            f"candidate {cand:g} %",
            file=out,
        )


def _print_json(results: list[tuple[str, Any]], out: TextIO) -> None:
    payload = [{**res.to_dict(), "rollout": label} for label, res in results]
    json.dump(payload, out, indent=2, default=_json_default)
    print(file=out)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _print_csv(results: list[tuple[str, Any]], out: TextIO) -> None:
    frames = []
    for label, res in results:
        frame = res.timeline.copy()
        frame.insert(0, "rollout", label)
        frame["outcome"] = res.outcome
        frames.append(frame)
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)


def _add_serve_parser(sub: Any) -> None:
    sp = sub.add_parser(
        "serve",
        help="serve Iter8's analytics REST API (needs the `service` extra)",
        description=(
            "Serve POST /api/v1/experiment/check_and_increment (and Iter8 v0.1's "
            "/api/v1/analytics/canary/check_and_increment) with uvicorn; see docs/service.md."
        ),
    )
    sp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    sp.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
    )
    prom = sp.add_argument_group(
        "metrics from Prometheus",
        "Answer requests that carry no `observations` by querying Prometheus as Iter8 did: "
        "each version selected by its `tags`, over [baseline.start_time, now] (the "
        "`prometheus` extra; see docs/prometheus.md). A bearer token may be given in the "
        "environment variable CANARYSTATS_PROMETHEUS_TOKEN.",
    )
    prom.add_argument("--prometheus", metavar="URL", help="Prometheus base URL")
    prom.add_argument(
        "--telemetry",
        choices=("v1", "v2"),
        default="v1",
        help="Istio telemetry: latency in seconds (v1) or milliseconds (v2)",
    )
    prom.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")
    prom.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from canarystats.adapters.service import create_app
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in {"fastapi", "starlette", "uvicorn"}:
            raise
        print(
            f"canarystats: error: `serve` needs the service extra: {install_hint('service')}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    client = None
    observe = None
    if args.prometheus:
        from canarystats.adapters.prometheus import PrometheusClient, service_observer

        try:
            client = PrometheusClient(
                args.prometheus,
                timeout=args.timeout,
                bearer_token=os.environ.get("CANARYSTATS_PROMETHEUS_TOKEN") or None,
                verify=not args.insecure,
            )
        except SpecError as exc:
            print(f"canarystats: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        observe = service_observer(client, telemetry=args.telemetry)
    try:
        uvicorn.run(
            create_app(observe=observe), host=args.host, port=args.port, log_level=args.log_level
        )
    finally:
        if client is not None:
            client.close()
    return EXIT_OK


def _add_assess_parser(sub: Any) -> None:
    ap = sub.add_parser(
        "assess",
        help="answer one Iter8 check_and_increment request (prints Iter8's response as JSON)",
        description=(
            "Answer one Iter8 v0.x check_and_increment request as Iter8's analytics service "
            "did, given the observed metric values, and print Iter8's response body as JSON. "
            "Chain calls by posting the response's `_last_state` in the next request."
        ),
    )
    ap.add_argument(
        "--request",
        metavar="FILE",
        required=True,
        help="the request body (JSON): baseline, candidate, traffic_control, _last_state",
    )
    ap.add_argument(
        "--observations",
        metavar="FILE",
        help='observations (JSON): {"baseline": [{"sample_size": n, "value": v}, ...], '
        '"candidate": [...]}, one entry per success criterion; when omitted, the '
        "request's `observations` key is read",
    )
    ap.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 0 when all criteria are met, 3 when not, 4 when the experiment must abort",
    )


def _read_json(path: str, option: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"`{option}` file not found: {path!r}")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpecError(f"`{option}` file {path!r} is not valid JSON: {exc}") from None


def _assess(args: argparse.Namespace) -> int:
    from canarystats.adapters.iter8_rest import assess

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            request = _read_json(args.request, "--request")
            observations = (
                _read_json(args.observations, "--observations") if args.observations else None
            )
            if observations is None and not isinstance(
                request.get("observations") if isinstance(request, dict) else None, list | dict
            ):
                raise SpecError(
                    "no observations: give `--observations FILE`, or put them in the request "
                    "under `observations` ({'baseline': [...], 'candidate': [...]})"
                )
            response = assess(request, observations)
        except (SpecError, DataError, OSError) as exc:
            print(f"canarystats: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    for w in caught:
        print(f"canarystats: warning: {w.message}", file=sys.stderr)
    json.dump(response, sys.stdout, indent=2)
    print()
    if args.exit_code:
        summary = response["assessment"]["summary"]
        if summary["abort_experiment"]:
            return EXIT_ABORT
        if not summary["all_success_criteria_met"]:
            return EXIT_NOT_MET
    return EXIT_OK


def _plot(args: argparse.Namespace, results: list[tuple[str, Any]]) -> int:
    """Draw every replayed rollout's timeline, side by side, into ``args.plot``."""
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        print(
            f"canarystats: error: `--plot` needs the plot extra: {install_hint('plot')}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from canarystats.plot import plot_timeline

    spec = _experiment_spec(args)
    rows = 1 + len(spec.criteria)
    fig = Figure(figsize=(7.0 * len(results), 2.2 + 2.4 * rows), layout="constrained")
    grid = fig.subplots(rows, len(results), sharex="col", squeeze=False)
    for j, (label, res) in enumerate(results):
        plot_timeline(res, experiment=spec, ax=list(grid[:, j]))
        title = grid[0, j].get_title().replace(f"rollout {res.rollout}", f"rollout {label}", 1)
        grid[0, j].set_title(title, fontsize="medium")
    try:
        fig.savefig(args.plot)
    except (OSError, ValueError) as exc:  # unwritable path, unknown format
        print(f"canarystats: error: `--plot` {args.plot!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _add_plan_parser(sub: Any) -> None:
    pp = sub.add_parser(
        "plan",
        help="print an experiment's best-case traffic schedule and its warnings",
        description=(
            "Print the best-case schedule of an Iter8 experiment (every assessment passes): "
            "time and traffic per assessment and, with --rate, the requests each version "
            "accumulates, when each criterion's sample size is reached and the candidate's "
            "exposure. Without --experiment, the bundled tutorial experiment."
        ),
    )
    pp.add_argument("--experiment", metavar="PATH", help="Iter8 v0.1 Experiment YAML file")
    pp.add_argument("--rate", type=float, help="requests per second to the service")
    pp.add_argument("--format", choices=("table", "json", "csv"), default="table",
                    help="how the schedule is printed (default: table)")


def _plan(args: argparse.Namespace) -> int:
    from canarystats.planner import plan_steps

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plan = plan_steps(_experiment_spec(args), request_rate=args.rate)
        except (SpecError, DataError, OSError) as exc:
            print(f"canarystats: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    for w in caught:
        print(f"canarystats: warning: {w.message}", file=sys.stderr)
    frame = plan.to_frame()
    summary = {
        "time_to_max_traffic": plan.time_to_max_traffic,
        "time_to_finish": plan.time_to_finish,
        "exposure": plan.exposure,
        "sample_size_reached": list(plan.sample_size_reached),
        "warnings": list(plan.warnings),
    }
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        payload = {"schedule": frame.to_dict(orient="records"), **summary}
        json.dump(payload, sys.stdout, indent=2, default=_json_default)
        print()
    else:
        print(frame.to_string(index=False, float_format=_fmt_num, na_rep="-"))
        print(
            f"max traffic after {_fmt_num(plan.time_to_max_traffic)} s; decision after "
            f"{_fmt_num(plan.time_to_finish)} s; candidate exposure "
            f"{_fmt_num(plan.exposure)} requests"
        )
        for crit, k in zip(plan.criteria, plan.sample_size_reached, strict=True):
            where = "never" if k is None else f"at assessment {k}"
            print(f"sample size {_fmt_num(float(crit.sample_size))} of {crit.metric}: {where}")
    return EXIT_OK


def _add_tune_parser(sub: Any) -> None:
    tp = sub.add_parser(
        "tune",
        help="simulate an experiment's operating characteristics over a grid of settings",
        description=(
            "Simulate closed-loop rollouts of an Iter8 experiment against a scenario and print, "
            "per grid point, P(promote), P(rollback), P(abort) with Wilson intervals, the mean "
            "time to decision, candidate exposure and bad requests. Without --experiment, the "
            "bundled tutorial experiment."
        ),
    )
    tp.add_argument("--experiment", metavar="PATH", help="Iter8 v0.1 Experiment YAML file")
    tp.add_argument(
        "--scenario",
        metavar="[NAME:]KEY=VALUE,...",
        action="append",
        required=True,
        help="the simulated service, e.g. request_rate=50,mean_latency=0.15:0.225,"
        "latency_cv=1 (a baseline:candidate pair or one value for both). Keys: the "
        "Scenario fields: request_rate, mean_latency, error_probability, latency_cv, "
        "latency_distribution, latency_shift, tail_probability, tail_factor, "
        "diurnal_amplitude, diurnal_period, diurnal_offset. Repeatable with a name "
        "before a colon, e.g. --scenario equal:request_rate=1,mean_latency=0.15 "
        "--scenario regressed:request_rate=1,mean_latency=0.15:0.225; each scenario's "
        "columns are then suffixed by its name",
    )
    tp.add_argument(
        "--grid",
        metavar="KEY=V1,V2",
        action="append",
        default=[],
        help="values to try (repeatable): tolerance, sample_size, method, step_size, "
        "interval, max_iterations",
    )
    tp.add_argument("-n", type=int, default=10000, help="rollouts per grid point (10000)")
    tp.add_argument("--seed", type=int, default=None, help="random seed (reproducible output)")
    tp.add_argument("--progress", action="store_true", help="progress bar on stderr (tqdm)")
    tp.add_argument(
        "--sums-of-squares", action="store_true",
        help="simulate a pipeline that records sums of squared latencies (Istio does not), "
        "which methods fixed, group_sequential and sequential need on iter8_latency",
    )
    tp.add_argument("--format", choices=("table", "json", "csv"), default="table",
                    help="how the operating characteristics are printed (default: table)")


def _cli_value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _key_values(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise SpecError(f"`{option}` expects KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _scenario_arg(text: str) -> tuple[str | None, Any]:
    """``[NAME:]KEY=VALUE,...`` as (name or None, Scenario)."""
    from canarystats.simulate import Scenario

    name: str | None = None
    head = text.partition("=")[0]
    if ":" in head:
        name, _, text = text.partition(":")
        name = name.strip()
        if not name:
            raise SpecError(f"`--scenario` has an empty name before ':': {text!r}")
    fields: dict[str, Any] = {}
    for item in text.split(","):
        key, value = _key_values(item, "--scenario")
        if key in fields:
            raise SpecError(f"`--scenario` gives {key!r} twice: {text!r}")
        parts = [_cli_value(v) for v in value.split(":")]
        fields[key] = parts[0] if len(parts) == 1 else parts
    known = {f.name: f for f in attrs.fields(Scenario) if f.init}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise SpecError(
            f"`--scenario` has no key {unknown[0]!r}; its keys are {sorted(known)}"
        )
    missing = [n for n, f in known.items() if f.default is attrs.NOTHING and n not in fields]
    if missing:
        raise SpecError(
            f"`--scenario` needs {', '.join(repr(m) for m in missing)} "
            f"(e.g. --scenario request_rate=20,mean_latency=0.15), got {text!r}"
        )
    return name, Scenario(**fields)


def _scenario_args(texts: Sequence[str]) -> Any:
    """One unnamed Scenario, or a dict of named ones (every one named)."""
    parsed = [_scenario_arg(t) for t in texts]
    if len(parsed) == 1 and parsed[0][0] is None:
        return parsed[0][1]
    named: dict[str, Any] = {}
    for name, scenario in parsed:
        if name is None:
            raise SpecError(
                "`--scenario`: give every scenario a name when there are several, e.g. "
                "equal:request_rate=1,mean_latency=0.15"
            )
        if name in named:
            raise SpecError(f"`--scenario`: the name {name!r} is given twice")
        named[name] = scenario
    return named


def _tune(args: argparse.Namespace) -> int:
    from canarystats.simulate.tuning import tune

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spec = _experiment_spec(args)
            scenario = _scenario_args(args.scenario)
            grid: dict[str, list[Any]] = {}
            for item in args.grid:  # a key given again adds its values
                key, value = _key_values(item, "--grid")
                for v in (_cli_value(v) for v in value.split(",")):
                    if v in grid.setdefault(key, []):
                        raise SpecError(f"`--grid` gives {key}={v} twice")
                    grid[key].append(v)
            if args.progress and importlib.util.find_spec("tqdm") is None:
                raise SpecError(f"`--progress` needs tqdm: {install_hint('tune')}")
            frame = tune(
                spec, scenario, grid, n=args.n, rng=args.seed,
                progress=args.progress, sums_of_squares=args.sums_of_squares,
            )
        except (SpecError, DataError, OSError) as exc:
            print(f"canarystats: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    for w in caught:
        print(f"canarystats: warning: {w.message}", file=sys.stderr)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        json.dump(frame.to_dict(orient="records"), sys.stdout, indent=2, default=_json_default)
        print()
    else:
        shown = ["p_promote", "p_promote_low", "p_promote_high", "p_rollback", "p_abort",
                 "time_to_decision", "time_to_decision_median", "exposure", "bad_requests"]
        names = [""] if not isinstance(scenario, dict) else [f"_{s}" for s in scenario]
        cols = [*grid, "n", *(f"{c}{suffix}" for suffix in names for c in shown)]
        print(frame[cols].to_string(index=False, float_format=_fmt_num))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "assess":
        return _assess(args)
    if args.command == "plan":
        return _plan(args)
    if args.command == "tune":
        return _tune(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            results = _replay(args)
        except (SpecError, DataError, PrometheusError, OSError) as exc:
            print(f"canarystats: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    for w in caught:
        print(f"canarystats: warning: {w.message}", file=sys.stderr)
    if args.plot:
        status = _plot(args, results)
        if status != EXIT_OK:
            return status
    printer = {"table": _print_table, "json": _print_json, "csv": _print_csv}[args.format]
    try:
        printer(results, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `canarystats replay | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if args.exit_code and any(res.outcome == "rollback" for _, res in results):
        return EXIT_ROLLED_BACK
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
