"""A real ``feeds serve`` on a loopback port, fed what breaks servers that run for months.

Whatever a rebuild or the file watcher raises, and a build process killed at seeded instants,
``/healthz`` answers 503 ``stale`` with the error, the last good bytes stay served, and the fix
is picked up, with one process and with several.
Last-Modified never goes back for a path, across restarts too, and a request head of 100 MB is
refused with memory flat.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from feeds.serve.history import load_history, save_history
from feeds.serve.http import SECOND, http_date, make_document, not_modified
from feeds.serve.http import last_modified as stamp
from feeds.writing import TEMP_MARK
from tests.conftest import example_site, record_text
from tests.live import LiveServer, live_server, request

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
    example_site(tmp_path, SETTINGS.format(title="Good News", since="2024-01-01"))
    return tmp_path


@pytest.fixture
def serve(site: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start ``feeds serve`` on the site with these options; stopped after the test."""
    with contextlib.ExitStack() as servers:

        def start(*args: str, port: int | None = None) -> LiveServer:
            return servers.enter_context(live_server(site / "settings.yaml", *args, port=port))

        yield start


def get(server: LiveServer, path: str, **headers: str) -> Answer:
    """A GET of the identity encoding unless ``headers`` say otherwise."""
    return request(server, "GET", path, **{"Accept-Encoding": "identity", **headers})


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
    assert all("watching" in health["last_error"] for _, health in reports)
    lines = server.log.read_text().splitlines()
    assert any(line.startswith("ERROR:") and "watching" in line for line in lines)
    assert served(server, PATHS, workers) == before

    os.rename(records + b"/d\xff", records + b"/d")
    add_record(site / "records" / "d", "after-the-fix.txt", "Written after the fix")
    settle(server, workers, lambda r: healthy(r) and r[1]["records"] == 15)
    assert b"Written after the fix" in get(server, "/all.atom")[2]
    add_record(site / "records", "watched-again.txt", "Seen by the restarted watcher")
    settle(server, workers, lambda r: healthy(r) and r[1]["records"] == 16)
    assert b"Seen by the restarted watcher" in get(server, "/all.atom")[2]


NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)
ENTRY = NOON - timedelta(days=30)  # the newest entry's date: Last-Modified at a first start


def test_bytes_changed_twice_within_a_second_get_a_later_stamp() -> None:
    first = stamp("one", ("0", NOON), NOON + timedelta(seconds=0.2))
    second = stamp("two", ("one", first), NOON + timedelta(seconds=0.7))
    assert second > first
    document = make_document("a.rss", "two", 3, second, "public", None, "/nowhere")
    assert not not_modified(document.identity, document.last_modified, None, http_date(NOON))


def test_a_clock_set_back_never_moves_last_modified_back() -> None:
    first = stamp("one", ("0", NOON), NOON)
    assert stamp("two", ("one", first), NOON - timedelta(hours=1)) == first + SECOND


def test_the_history_keeps_unchanged_bytes_dated_and_moves_changed_ones_forward() -> None:
    three_days = NOON - timedelta(days=3)
    assert stamp("same", ("same", three_days), NOON) == three_days
    # Served a day ahead by a clock that was wrong: still later than that.
    ahead = NOON + timedelta(days=1)
    assert stamp("new", ("old", ahead), NOON) == ahead + SECOND
    assert stamp("new", None, ENTRY) == ENTRY


def test_the_history_file_round_trips_and_damage_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "served.json"
    history = {"/a.rss": ("0123abcd", NOON), "/b/c.atom": ("4567ef01", ENTRY)}
    save_history(path, history)
    assert load_history(path) == (history, None)
    assert [p.name for p in tmp_path.iterdir()] == ["served.json"]
    assert load_history(tmp_path / "missing.json") == ({}, None)
    for damage in (
        b"",
        b"\xff\xfe",
        b"[]",
        b'{"version": 2, "paths": {}}',
        b'{"version": 1, "paths": {"/a.rss": ["0123abcd"]}}',
        b'{"version": 1, "paths": {"/a.rss": [7, 1]}}',
        b'{"version": 1, "paths": {"/a.rss": ["0123abcd", 1e300]}}',
        b'{"version": 1, "paths": []}',
    ):
        path.write_bytes(damage)
        loaded, problem = load_history(path)
        assert loaded == {}, damage
        assert problem, damage
    path.unlink()
    path.mkdir()
    assert load_history(path)[0] == {}


def stop(server: LiveServer) -> None:
    server.process.terminate()
    server.process.wait(timeout=10)


def last_modified(server: LiveServer, path: str) -> str:
    status, headers, _ = get(server, path)
    assert status == 200
    return headers["last-modified"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", MODES)
def test_last_modified_never_goes_back_across_restarts(
    site: Path, serve: Callable[..., LiveServer], workers: int
) -> None:
    touched, untouched = "/topics/c-plus-plus.atom", "/topics/space.atom"
    server = serve("--no-watch", "--workers", str(workers))
    port = urlsplit(server.url).port
    first = {path: last_modified(server, path) for path in (touched, untouched)}
    stop(server)

    record = site / "records" / "005_cpp-safety-profiles.txt"
    record.write_text(record.read_text().replace('excerpt: "', 'excerpt: "Edited. ', 1))
    server = serve("--no-watch", "--workers", str(workers), port=port)
    second = {path: last_modified(server, path) for path in (touched, untouched)}
    assert second[untouched] == first[untouched]
    assert parsedate_to_datetime(second[touched]) > parsedate_to_datetime(first[touched])
    # A client that revalidates with the date only must get the changed bytes.
    status, _, body = get(server, touched, **{"If-Modified-Since": first[touched]})
    assert status == 200
    assert b"Edited." in body
    assert get(server, untouched, **{"If-Modified-Since": first[untouched]})[0] == 304
    stop(server)

    server = serve("--no-watch", "--workers", str(workers), port=port)
    third = {path: last_modified(server, path) for path in (touched, untouched)}
    assert third == second
    assert get(server, touched, **{"If-Modified-Since": second[touched]})[0] == 304


@pytest.mark.slow
def test_a_damaged_last_modified_file_is_ignored_with_one_warning(
    site: Path, serve: Callable[..., LiveServer]
) -> None:
    server = serve("--no-watch")
    before = last_modified(server, "/all.atom")
    stop(server)
    (state,) = site.glob(".feeds-*served*")
    state.write_bytes(b'{"version": 1, "paths": {"/all.atom": ["\xff')
    # What a server killed while writing it leaves: removed at the next start.
    leftover = site / f"{TEMP_MARK}-4242-0-{state.name}"  # as a killed server leaves it
    leftover.write_bytes(b'{"version": 1, "pa')
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))

    server = serve("--no-watch", port=urlsplit(server.url).port)
    assert last_modified(server, "/all.atom") == before  # the newest entry's date, as at first
    warnings = [line for line in server.log.read_text().splitlines() if str(state) in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("WARNING:")
    assert json.loads(state.read_bytes())["version"] == 1  # written anew, whole
    assert sorted(p.name for p in site.iterdir() if "served" in p.name) == [state.name]


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
    # Under the bound all is answered: a 60 KB head sent in pieces, then two more pipelined.
    answers = exchange(server, [b"X-Pad: " + b"p" * 1000 + b"\r\n"] * 60, pipelined=2)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 3, answers[:300]
    # Over it, even whole in one write: refused before the app sees it.
    answers = exchange(server, [b"X-Pad: " + b"p" * 70_000 + b"\r\n"], pipelined=1)
    assert answers.startswith(b"HTTP/1.1 431 ") or not answers, answers[:300]


def exchange(server: LiveServer, pieces: list[bytes], pipelined: int) -> bytes:
    """A GET whose header lines are sent one piece a write, the last with ``pipelined`` more
    GETs (the last closing the connection); everything the server answered (until it closed
    the connection, maybe before all was sent)."""
    parts = urlsplit(server.url)
    get = b"GET /feeds.opml HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    last = get + b"Connection: close\r\n\r\n"
    received = b""
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as s:
        writes = [get + pieces[0], *pieces[1:]]
        writes[-1] += b"\r\n" + (get + b"\r\n") * (pipelined - 1) + last
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for data in writes:
                s.sendall(data)
                time.sleep(0.001)
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(1 << 16):
                received += chunk
    return received


def building_pids(server: LiveServer) -> list[int]:
    """The build processes the server has handed a build to, in order (from its log)."""
    lines = server.log.read_text().splitlines()
    return [int(line.rsplit(" ", 1)[1]) for line in lines if "building in process " in line]


def wait_for_new_build(server: LiveServer, seen: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = building_pids(server)
        if len(pids) > seen:
            return pids[-1]
        time.sleep(0.005)
    raise AssertionError(f"no build started; log:\n{server.log.read_text()}")


def rebuilt(count: int) -> Callable[[Report], bool]:
    """Healthy, with ``count`` records built."""
    return lambda report: healthy(report) and report[1]["records"] == count


def ended(count: int) -> Callable[[Report], bool]:
    """Stale, or healthy with ``count`` records built."""
    return lambda report: stale(report) or rebuilt(count)(report)


@pytest.mark.slow
@pytest.mark.parametrize("workers", MODES)
def test_a_build_process_killed_at_a_seeded_instant_keeps_the_last_good_set(
    site: Path, serve: Callable[..., LiveServer], workers: int
) -> None:
    chance = random.Random(20261130 + workers)
    server = serve("--workers", str(workers))
    settle(server, workers, healthy)
    landed = 0
    for attempt in range(60):
        before = served(server, PATHS, workers)
        seen = len(building_pids(server))
        add_record(site / "records", f"killed-{attempt}.txt", f"Killed build {attempt}")
        pid = wait_for_new_build(server, seen)
        # Anywhere in reading, writing, hashing, replying: an incremental build of this site
        # takes a few tens of milliseconds.
        time.sleep(chance.uniform(0, 0.03))
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            settle(server, workers, rebuilt(15 + attempt))
            continue  # done before the kill: try again
        reports = settle(server, workers, ended(15 + attempt))
        if not all(stale(report) for report in reports):
            continue  # it had answered already: the kill changed nothing
        landed += 1
        assert all("killed by signal 9" in health["last_error"] for _, health in reports)
        assert served(server, PATHS, workers) == before
        assert "ERROR:" in server.log.read_text()
        if landed == 3:
            break
    assert landed == 3, "no kill landed during a build"
    # The next build finishes the job: every record, nothing half-written left behind.
    add_record(site / "records", "after-the-kill.txt", "Written after the kill")
    settle(server, workers, rebuilt(15 + attempt + 1))
    _, _, atom = get(server, "/all.atom")
    assert b"Written after the kill" in atom
    assert f"Killed build {attempt}".encode() in atom
    output = site / ".feeds-cache.serving" / "output"
    assert not [p for p in output.rglob("*") if TEMP_MARK in p.name or "journal" in p.name]
