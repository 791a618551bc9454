"""A real ``feeds serve`` (uvicorn) on a free loopback port, started and stopped by a test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "healthz", timeout=5) as response:
            data: dict[str, Any] = json.load(response)
            return data

    def wait_for_build(self, after: int, timeout: float = 20) -> dict[str, Any]:
        """Wait until the server has finished more than ``after`` builds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if health["builds"] > after:
                return health
            time.sleep(0.1)
        raise AssertionError(f"no rebuild within {timeout} s; log:\n{self.log.read_text()}")

    def wait_until(
        self, condition: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        """Wait until the health report satisfies ``condition``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if condition(health):
                return health
            time.sleep(0.1)
        raise AssertionError(f"condition not met within {timeout} s; log:\n{self.log.read_text()}")

    def access_log(self) -> list[str]:
        return [
            line
            for line in self.log.read_text().splitlines()
            if '"GET ' in line or '"HEAD ' in line
        ]


@contextmanager
def live_server(settings_file: Path, *args: str) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = settings_file.parent / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "feeds",
                "serve",
                "--settings",
                str(settings_file),
                "--port",
                str(port),
                "--base-url",
                url,
                *args,
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = LiveServer(url=url, log=log, process=process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.health()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {e}\n{log.read_text()}") from e
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
