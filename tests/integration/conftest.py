"""A real Prometheus server, backfilled with a known ground truth, for the integration tests.

Needs Debian's ``prometheus`` package (``prometheus`` and ``promtool`` on PATH). Without
it the tests skip, unless ``CANARYSTATS_REQUIRE_PROMETHEUS=1`` (set by ``.ci/run``): then
they fail. The server listens on 127.0.0.1 only, on a free port, with its own copy of the
backfilled blocks; every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import groundtruth  # noqa: E402

REQUIRE = "CANARYSTATS_REQUIRE_PROMETHEUS"
READY_TIMEOUT = 30.0
CONFIG = "global:\n  scrape_interval: 1h\nscrape_configs: []\n"


def _binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus and promtool:
        return prometheus, promtool
    reason = (
        "the integration tests need a Prometheus server: install Debian's `prometheus` "
        "package (apt-get install prometheus), which provides `prometheus` and `promtool`"
    )
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{REQUIRE}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One running ``prometheus`` process."""

    def __init__(self, binary: str, blocks: Path, workdir: Path) -> None:
        self.storage = workdir / "data"
        shutil.copytree(blocks, self.storage)
        config = workdir / "prometheus.yml"
        config.write_text(CONFIG, encoding="utf-8")
        self.log = workdir / "prometheus.log"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.storage}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Retention is measured back from the newest block; the backfilled blocks
                # are from 2020, so make it long enough that none is ever deleted.
                "--storage.tsdb.retention.time=100y",
                "--log.level=warn",
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        pytest.fail(f"prometheus did not become ready in {READY_TIMEOUT} s:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()


@pytest.fixture(scope="session")
def truth() -> dict:
    return groundtruth.counters()


@pytest.fixture(scope="session")
def blocks(tmp_path_factory: pytest.TempPathFactory, truth: dict) -> Path:
    """TSDB blocks backfilled from the ground truth's OpenMetrics text."""
    _, promtool = _binaries()
    root = tmp_path_factory.mktemp("backfill")
    source = root / "truth.om"
    groundtruth.write_openmetrics(truth, source)
    out = root / "blocks"
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode:
        pytest.fail(f"promtool failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return out


@pytest.fixture(scope="session")
def start_server(
    blocks: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Server]]:
    """Start a server on its own copy of the blocks; all are stopped at the end."""
    binary, _ = _binaries()
    started: list[Server] = []

    def start() -> Server:
        server = Server(binary, blocks, tmp_path_factory.mktemp("prometheus"))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(start_server: Callable[[], Server]) -> Server:
    """The shared server (read-only use)."""
    return start_server()
