"""A real ``feeds serve`` (uvicorn) on a free loopback port, started and stopped by a test."""

from __future__ import annotations

import http.client
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
from urllib.parse import urlsplit

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
        return self.healthz()[1]

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and the report of ``/healthz``, which answers 503 when stale."""
        try:
            with urllib.request.urlopen(self.url + "healthz", timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.load(e)

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


def request(
    server: LiveServer, method: str, path: str, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection (so that any worker may take it), undecoded: the status,
    the headers (lower-case names) and the body."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@contextmanager
def live_server(
    settings_file: Path, *args: str, port: int | None = None, base_url: bool = True
) -> Iterator[LiveServer]:
    """``feeds serve`` with these options on ``port`` (default: a free one), which is also its
    ``--base-url`` (unless not ``base_url``): a restart on the same port serves the same
    bytes."""
    port = port or free_port()
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
                *(["--base-url", url] if base_url else []),
                *args,
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = LiveServer(url=url, log=log, process=process)
    try:
        wait_until_up(process, server.health, log)
        yield server
    finally:
        stop(process)


def wait_until_up(
    process: subprocess.Popen[bytes], probe: Callable[[], object], log: Path, timeout: float = 30
) -> None:
    """Wait until ``probe`` gets an answer from the server ``process`` started; fail with its
    ``log`` if it exits or takes longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except OSError as e:  # URLError, ConnectionError and TimeoutError included
            if process.poll() is not None or time.monotonic() > deadline:
                text = log.read_text() if log.exists() else ""
                raise AssertionError(f"server did not start: {e}\n{text}") from e
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started by a test: SIGTERM, then SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
