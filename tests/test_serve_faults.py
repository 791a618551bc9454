"""A real ``feeds serve`` on a loopback port, fed what breaks servers that run for months.

Whatever a rebuild or the file watcher raises, ``/healthz`` answers 503 ``stale`` with the error,
the last good bytes stay served, and the fix is picked up, with one process and with several.
Last-Modified never goes back for a path, across restarts too, and a request head of 100 MB is
refused with memory flat.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import EXAMPLES, record_text
from tests.live import LiveServer, live_server

SETTINGS = """\
title: {title}
records: records
output: output
custom_feeds:
  - title: Recent AI
    slug: recent-ai
    topics: [AI]
    since: {since}
"""
# A custom feed's `since` that YAML's timestamp resolver turns into a date that cannot exist.
IMPOSSIBLE_DATE = SETTINGS.format(title="Broken News", since="2024-02-30")
# Deeper than Python's recursion limit: YAML's composer recurses once a level.
DEEP_NESTING = "title: Deep News\nrecords: records\nnested: " + "[" * 10_000 + "]" * 10_000 + "\n"
FIXED = SETTINGS.format(title="Fixed News", since="2024-01-01")
MODES = [pytest.param(1, id="one-process"), pytest.param(3, id="3-workers")]
Answer = tuple[int, dict[str, str], bytes]
Report = tuple[int, dict[str, Any]]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "records")
    (tmp_path / "settings.yaml").write_text(SETTINGS.format(title="Good News", since="2024-01-01"))
    return tmp_path


@pytest.fixture
def serve(site: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start ``feeds serve`` on the site with these options; stopped after the test."""
    servers: list[Any] = []

    def start(*args: str, port: int | None = None) -> LiveServer:
        context = live_server(site / "settings.yaml", *args, port=port)
        servers.append(context)
        return context.__enter__()

    yield start
    for context in reversed(servers):
        context.__exit__(None, None, None)


def get(server: LiveServer, path: str, **headers: str) -> Answer:
    """One request on a new connection, so that any worker may take it."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "identity", **headers})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def settle(
    server: LiveServer, workers: int, condition: Callable[[Report], bool], timeout: float = 30
) -> list[Report]:
    """Ask /healthz until each of the ``workers`` processes (by pid) last answered with a
    report that satisfies ``condition``; return the last report of each."""
    latest: dict[int, Report] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, body = get(server, "/healthz")
        health = json.loads(body)
        latest[health["pid"]] = (status, health)
        if len(latest) == workers and all(condition(r) for r in latest.values()):
            return list(latest.values())
        time.sleep(0.02)
    raise AssertionError(f"not reached in {timeout} s: {latest}\n{server.log.read_text()}")


def stale(report: Report) -> bool:
    status, health = report
    return status == 503 and health["status"] == "stale" and bool(health["last_error"])


def healthy(report: Report) -> bool:
    status, health = report
    return status == 200 and health["status"] == "ok" and health["last_error"] is None


def served(server: LiveServer, paths: list[str], tries: int) -> set[tuple[str, int, bytes, str]]:
    """The distinct answers to ``paths``, each asked ``tries`` times on fresh connections."""
    seen = set()
    for path in paths:
        for _ in range(tries):
            status, headers, body = get(server, path)
            seen.add((path, status, body, headers["etag"]))
    return seen


def add_record(folder: Path, name: str, title: str) -> None:
    # Written beside and moved in: one event for the watcher, never a partial file.
    draft = folder.parent / f"{name}.draft"
    draft.write_text(record_text(title=title, webUrl=f"https://fresh.example/{name}"))
    os.replace(draft, folder / name)


PATHS = ["/all.atom", "/all.rss", "/custom/recent-ai.json", "/"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", MODES)
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(IMPOSSIBLE_DATE, id="impossible-date"),
        pytest.param(DEEP_NESTING, id="deep-nesting"),
    ],
)
def test_healthz_stale_after_bad_settings_then_fix_is_picked_up(
    site: Path, serve: Callable[..., LiveServer], workers: int, bad: str
) -> None:
    server = serve("--workers", str(workers))
    settle(server, workers, healthy)
    before = served(server, PATHS, workers)
    assert {status for _, status, _, _ in before} == {200}

    (site / "settings.yaml").write_text(bad)
    reports = settle(server, workers, stale)
    assert len({health["last_error"] for _, health in reports}) == 1
    assert served(server, PATHS, workers) == before
    assert "ERROR:" in server.log.read_text()

    (site / "settings.yaml").write_text(FIXED)
    settle(server, workers, healthy)
    _, _, atom = get(server, "/all.atom")
    assert b">Fixed News</title>" in atom
    # Watching goes on after the fix: a new record appears too.
    add_record(site / "records", "after-the-fix.txt", "Written after the fix")
    settle(server, workers, lambda r: healthy(r) and r[1]["records"] == 15)
    assert b"Written after the fix" in get(server, "/all.atom")[2]


@pytest.mark.slow
@pytest.mark.parametrize("workers", MODES)
def test_a_record_name_that_is_not_utf8_never_stops_the_rebuilds(
    site: Path, serve: Callable[..., LiveServer], workers: int
) -> None:
    server = serve("--workers", str(workers))
    (_, first), *_ = settle(server, workers, healthy)
    before = served(server, PATHS, workers)

    bad = os.fsencode(site / "records") + b"/r\xff.txt"
    descriptor = os.open(bad, os.O_CREAT | os.O_WRONLY)
    os.write(descriptor, record_text(title="Undecodable name").encode())
    os.close(descriptor)
    # Either the rebuild fails (stale, with the error) or the record is rejected; not silence.
    settle(server, workers, lambda r: stale(r) or r[1]["rejected"] > first["rejected"])
    assert served(server, PATHS, workers) == before

    os.unlink(bad)
    add_record(site / "records", "after-the-fix.txt", "Written after the fix")
    settle(server, workers, lambda r: healthy(r) and r[1]["records"] == 15)
    assert b"Written after the fix" in get(server, "/all.atom")[2]


@pytest.mark.slow
@pytest.mark.parametrize("workers", MODES)
def test_healthz_stale_while_the_watcher_cannot_start_then_recovers(
    site: Path, serve: Callable[..., LiveServer], workers: int
) -> None:
    # watchfiles cannot watch a tree holding a name that is not UTF-8: it raises its own
    # internal error at every start, whatever feeds makes of the records.
    server = serve("--workers", str(workers))
    settle(server, workers, healthy)
    before = served(server, PATHS, workers)
    records = os.fsencode(site / "records")
    os.mkdir(records + b"/d\xff")
    reports = settle(server, workers, stale)
    assert all("watch" in health["last_error"] for _, health in reports)
    assert served(server, PATHS, workers) == before

    os.rename(records + b"/d\xff", records + b"/d")
    add_record(site / "records" / "d", "after-the-fix.txt", "Written after the fix")
    settle(server, workers, lambda r: healthy(r) and r[1]["records"] == 15)
    assert b"Written after the fix" in get(server, "/all.atom")[2]
    add_record(site / "records", "watched-again.txt", "Seen by the restarted watcher")
    settle(server, workers, lambda r: healthy(r) and r[1]["records"] == 16)
    assert b"Seen by the restarted watcher" in get(server, "/all.atom")[2]


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def server_pids(server: LiveServer) -> list[int]:
    """The server process and its children (uvicorn's worker processes)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def send_head(server: LiveServer, name: bytes, line: bytes, total: int) -> tuple[int, bytes]:
    """Send a request head of ``name`` then ``line`` repeated up to ``total`` bytes, never
    ending it; return how many bytes the server took before it stopped reading, and what it
    answered."""
    parts = urlsplit(server.url)
    sent = 0
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as s:
        chunk = line * ((1 << 20) // len(line))
        try:
            s.sendall(b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\n" + name)
            while sent < total:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # closed, or no longer read: what the server holds is bounded either way
        try:
            answer = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    return sent, answer


@pytest.mark.slow
@pytest.mark.parametrize("workers", MODES)
@pytest.mark.parametrize(
    ("name", "line"),
    [
        pytest.param(b"X-Big: ", b"a" * 1024, id="one-endless-header"),
        pytest.param(b"", b"X-A: b\r\n", id="endless-headers"),
    ],
)
def test_a_100_mb_request_head_is_refused_with_memory_flat(
    serve: Callable[..., LiveServer], workers: int, name: bytes, line: bytes
) -> None:
    server = serve("--workers", str(workers), "--no-access-log")
    settle(server, workers, healthy)
    pids = server_pids(server)
    before = rss_kib(pids)
    sent, answer = send_head(server, name, line, 100 << 20)
    grown = rss_kib(pids) - before
    assert sent < 50 << 20, "the server read the whole head"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer
    assert grown < 30 << 10, f"RSS grew by {grown} KiB"
    assert get(server, "/all.rss")[0] == 200
    settle(server, workers, healthy)
