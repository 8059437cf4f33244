"""Benchmark: parsing a range-query response into arrays and a long DataFrame.

Workload: one ``/api/v1/query_range`` response body (``resultType: matrix``) of 1,000 series
x 1,000 points = 1,000,000 samples, with Istio-like labels and values given as strings
(integers, decimals, exponents, a few "NaN"). Both sides start from the raw response
bytes, so JSON decoding counts on both:

- canarystats: ``parse_response(body)`` (arrays per series), then ``.to_frame()`` (one
  long DataFrame: a categorical column per label, ``timestamp``, ``value``);
- peer: ``json.loads(body)["data"]["result"]`` then prometheus-api-client's
  ``MetricRangeDataFrame`` (its long DataFrame of the same samples).

Target (issue 4): canarystats at least 3x faster than MetricRangeDataFrame. Each side runs
``--repeats`` times (5); the ratios are of the medians. The run first checks that the bulk
matrix path gives the arrays of the json.loads path bit for bit.

    python benchmarks/bench_prometheus_parse.py            # 1,000 x 1,000
    python benchmarks/bench_prometheus_parse.py --quick    # 100 x 100, a smoke run

prometheus-api-client is a benchmark-only dependency (``pip install prometheus-api-client``);
without it the peer is skipped, and the output says so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from canarystats.adapters.prometheus import parse_response


def make_body(n_series: int, n_points: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    t0 = 1591012800.0
    result = []
    for i in range(n_series):
        base = rng.integers(0, 10**6)
        steps = np.cumsum(rng.poisson(4.0, n_points)) + base
        values = [str(int(v)) for v in steps]
        if i % 3 == 1:
            values = [repr(float(v) * 0.001) for v in steps]  # decimals and exponents
        if i % 10 == 0:
            values[::97] = ["NaN"] * len(values[::97])
        result.append(
            {
                "metric": {
                    "__name__": "istio_requests_total",
                    "destination_workload": f"reviews-v{i % 7}",
                    "destination_workload_namespace": "bookinfo",
                    "response_code": ("200", "404", "503")[i % 3],
                    "pod": f"reviews-{i}",
                },
                "values": [[t0 + 15 * k, v] for k, v in enumerate(values)],
            }
        )
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}},
                      separators=(",", ":")).encode()  # fmt: skip


def timings(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 series x 100 points")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each side (5)")
    args = parser.parse_args(argv)
    n_series, n_points = (100, 100) if args.quick else (1000, 1000)
    body = make_body(n_series, n_points)
    n = n_series * n_points
    print(f"range-query body: {n_series:,} series x {n_points:,} points = {n:,} samples, "
          f"{len(body) / 1e6:.1f} MB; median (min) of {args.repeats} runs")  # fmt: skip

    # The bulk path must give the per-sample path's arrays, bit for bit (NaN aside).
    fast, slow = parse_response(body), parse_response(json.loads(body))
    ts = [np.concatenate([s.timestamps for s in r.series]) for r in (fast, slow)]
    vs = [np.concatenate([s.samples for s in r.series]) for r in (fast, slow)]
    nan = np.isnan(vs[0])
    same = bool(
        np.array_equal(ts[0].view(np.uint64), ts[1].view(np.uint64))
        and np.array_equal(nan, np.isnan(vs[1]))
        and np.array_equal(vs[0][~nan].view(np.uint64), vs[1][~nan].view(np.uint64))
        and [s.labels for s in fast.series] == [s.labels for s in slow.series]
    )
    print(f"bulk matrix path == json.loads path (labels, times, values): {'yes' if same else 'NO'}")

    figures: dict[str, float] = {"samples": float(n), "same_as_json": float(same)}
    rows = {
        "arrays": ("canarystats parse_response (bytes -> arrays)", lambda: parse_response(body)),
        "frame": ("canarystats parse_response + to_frame (-> DataFrame)",
                  lambda: parse_response(body).to_frame()),
        "json": ("  for scale: json.loads of the body alone", lambda: json.loads(body)),
    }  # fmt: skip
    outputs: dict[str, Any] = {}
    for key, (label, fn) in rows.items():
        times, outputs[key] = timings(fn, args.repeats)
        figures[key] = statistics.median(times)
        print(f"{label:<58} {figures[key]:7.3f} s ({min(times):.3f})")
    assert len(outputs["frame"]) == n
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from prometheus_api_client import MetricRangeDataFrame
    except ImportError:
        print("peer skipped: prometheus-api-client is not installed "
              "(pip install prometheus-api-client); no ratio")  # fmt: skip
        return figures

    def peer() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MetricRangeDataFrame(json.loads(body)["data"]["result"])

    times, theirs = timings(peer, args.repeats)
    figures["peer"] = statistics.median(times)
    print(f"{'prometheus-api-client MetricRangeDataFrame (-> DataFrame)':<58} "
          f"{figures['peer']:7.3f} s ({min(times):.3f})")  # fmt: skip
    assert len(theirs) == n
    ours_sum = float(np.nansum(outputs["frame"]["value"].to_numpy()))
    theirs_sum = float(np.nansum(theirs["value"].to_numpy(dtype=float)))
    agree = bool(np.isclose(ours_sum, theirs_sum, rtol=1e-12))
    figures["ratio"] = figures["peer"] / figures["frame"]
    figures["ratio_arrays"] = figures["peer"] / figures["arrays"]
    figures["agree"] = float(agree)
    print(f"ratio (MetricRangeDataFrame / canarystats to DataFrame): {figures['ratio']:.1f}x "
          "(of the medians; target >= 3x)")  # fmt: skip
    print(f"ratio (MetricRangeDataFrame / canarystats to arrays):    "
          f"{figures['ratio_arrays']:.1f}x")  # fmt: skip
    print(f"same samples as MetricRangeDataFrame (sum of values): {'yes' if agree else 'NO'}")
    return figures


if __name__ == "__main__":
    main()
