"""Benchmark: parsing a range-query response into arrays and a long DataFrame.

Workload: one ``/api/v1/query_range`` response body (``resultType: matrix``) of 1,000 series
x 1,000 points = 1,000,000 samples, with Istio-like labels and values given as strings
(integers, decimals, exponents, a few "NaN"). Both sides start from the raw response
bytes, so JSON decoding counts on both:

- canarystats: ``parse_response(body)`` (arrays per series), then ``.to_frame()`` (one
  long DataFrame: a categorical column per label, ``timestamp``, ``value``);
- peer: ``json.loads(body)["data"]["result"]`` then prometheus-api-client's
  ``MetricRangeDataFrame`` (its long DataFrame of the same samples).

Target (issue 4): canarystats at least 3x faster than MetricRangeDataFrame.

    python benchmarks/bench_prometheus_parse.py            # 1,000 x 1,000
    python benchmarks/bench_prometheus_parse.py --quick    # 100 x 100, a smoke run

prometheus-api-client is a benchmark-only dependency (``pip install prometheus-api-client``);
without it the peer is skipped, and the output says so.
"""

from __future__ import annotations

import argparse
import json
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


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 series x 100 points")
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs (3)")
    args = parser.parse_args(argv)
    n_series, n_points = (100, 100) if args.quick else (1000, 1000)
    body = make_body(n_series, n_points)
    n = n_series * n_points
    print(f"range-query body: {n_series:,} series x {n_points:,} points = {n:,} samples, "
          f"{len(body) / 1e6:.1f} MB")  # fmt: skip

    t_arrays, parsed = best_of(lambda: parse_response(body), args.repeats)
    t_frame, frame = best_of(lambda: parse_response(body).to_frame(), args.repeats)
    t_json, _ = best_of(lambda: json.loads(body), args.repeats)
    assert len(frame) == n
    print(f"canarystats parse_response (bytes -> arrays):         {t_arrays:8.3f} s")
    print(f"canarystats parse_response + to_frame (-> DataFrame): {t_frame:8.3f} s")
    print(f"  of which json.loads of the body alone:              {t_json:8.3f} s")
    figures = {"samples": float(n), "arrays": t_arrays, "frame": t_frame, "json": t_json}
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

    t_peer, theirs = best_of(peer, args.repeats)
    assert len(theirs) == n
    ours_sum = float(np.nansum(frame["value"].to_numpy()))
    theirs_sum = float(np.nansum(theirs["value"].to_numpy(dtype=float)))
    agree = bool(np.isclose(ours_sum, theirs_sum, rtol=1e-12))
    print(f"prometheus-api-client MetricRangeDataFrame (-> DataFrame): {t_peer:8.3f} s")
    print(f"ratio (MetricRangeDataFrame / canarystats to DataFrame): {t_peer / t_frame:.1f}x")
    print(f"ratio (MetricRangeDataFrame / canarystats to arrays):    {t_peer / t_arrays:.1f}x")
    print(f"same samples (sum of values): {'yes' if agree else 'NO'}")
    figures.update(peer=t_peer, ratio=t_peer / t_frame, ratio_arrays=t_peer / t_arrays,
                   agree=float(agree))  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
