"""``feeds serve --workers 3`` on a real loopback port: one builder, three uvicorn worker
processes, and every worker answers with the same bytes and validators, also after a rebuild."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feeds.build import build
from feeds.settings import load_settings
from tests.conftest import example_site, record_text
from tests.live import LiveServer, live_server, request

WORKERS = 3
# Fresh connections are spread over the workers by the kernel; this many give each path
# several answers from different workers.
TRIES = 6
Answer = tuple[int, bytes, str, str, str, str]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    example_site(tmp_path, "title: Worker News\nrecords: records\noutput: output\n")
    return tmp_path


@pytest.fixture
def server(site: Path) -> Iterator[LiveServer]:
    with live_server(site / "settings.yaml", "--workers", str(WORKERS)) as server:
        yield server


def get(server: LiveServer, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return request(server, "GET", path, **headers)


def every_worker(
    server: LiveServer, condition: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[int, dict[str, Any]]:
    """Ask /healthz until each of the WORKERS workers (by pid) has last answered with a report
    that satisfies ``condition``; return the last report of each."""
    latest: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.01)
        _, _, body = get(server, "/healthz")
        health = json.loads(body)
        latest[health["pid"]] = health
        if len(latest) == WORKERS and all(condition(h) for h in latest.values()):
            return latest
    raise AssertionError(f"workers never all agreed: {latest}\n{server.log.read_text()}")


def answers(server: LiveServer, paths: list[str]) -> dict[str, set[Answer]]:
    """Every path, TRIES times over fresh connections, plain and gzip: the distinct answers."""
    seen: dict[str, set[Answer]] = {}
    for path in paths:
        for encoding in ("identity", "gzip"):
            for _ in range(TRIES):
                status, headers, body = get(server, path, **{"Accept-Encoding": encoding})
                seen.setdefault(f"{path} {encoding}", set()).add(
                    (
                        status,
                        body,
                        headers["etag"],
                        headers["last-modified"],
                        headers["content-type"],
                        headers["cache-control"],
                    )
                )
    return seen


def document_paths(site: Path) -> list[str]:
    paths = sorted(build(load_settings(site / "settings.yaml")).files)
    return ["/" if path == "index.html" else "/" + path for path in paths]


def built_lines(server: LiveServer) -> int:
    return sum(line.startswith("INFO:     built ") for line in server.log.read_text().splitlines())


def add_record(site: Path, name: str, title: str) -> None:
    # Written beside the folder and moved in: one event for the watcher, never a partial file.
    draft = site / f"{name}.draft"
    draft.write_text(record_text(title=title, webUrl=f"https://fresh.example/{name}"))
    os.replace(draft, site / "records" / name)


@pytest.mark.slow
def test_every_worker_serves_the_same_bytes_and_validators_before_and_after_a_rebuild(
    site: Path, server: LiveServer
) -> None:
    workers = every_worker(server, lambda h: h["builds"] == 1 and h["status"] == "ok")
    assert len(workers) == WORKERS
    assert len({(h["last_build"], h["documents"]) for h in workers.values()}) == 1
    paths = document_paths(site)
    before = answers(server, paths)
    assert len(before) == 2 * len(paths) == 2 * workers[next(iter(workers))]["documents"]
    for key, distinct in before.items():
        assert len(distinct) == 1, key
        ((status, *_),) = distinct
        assert status == 200, key

    add_record(site, "fresh.txt", "Fresh off the press")
    workers = every_worker(server, lambda h: h["builds"] >= 2 and h["records"] == 15)
    assert len({(h["builds"], h["last_build"]) for h in workers.values()}) == 1
    after = answers(server, document_paths(site))
    for key, distinct in after.items():
        assert len(distinct) == 1, key
    ((_, atom, etag, modified, *_),) = after["/all.atom identity"]
    ((_, _, old_etag, old_modified, *_),) = before["/all.atom identity"]
    assert b"Fresh off the press" in atom
    assert (etag, modified) != (old_etag, old_modified)
    unchanged = "/providers/cobaltwire-example.atom identity"
    assert after[unchanged] == before[unchanged]
    # One builder: each build ran once, not once per worker.
    assert built_lines(server) == workers[next(iter(workers))]["builds"]


@pytest.mark.slow
def test_a_broken_settings_change_keeps_every_worker_on_the_last_good_build(site: Path) -> None:
    with live_server(site / "settings.yaml", "--workers", str(WORKERS)) as server:
        every_worker(server, lambda h: h["status"] == "ok")
        (store,) = re.findall(r"published in (\S+)", server.log.read_text())
        assert (Path(store) / "current").is_symlink()
        paths = ["/", "/all.rss", "/all.atom", "/all.json", "/topics/ai.json"]
        before = answers(server, paths)
        (site / "settings.yaml").write_text("title: Broken\nmax_entrys: 1\n")
        workers = every_worker(server, lambda h: h["status"] == "stale")
        assert len({(h["builds"], h["last_build"], h["last_error"]) for h in workers.values()}) == 1
        assert all("max_entrys" in h["last_error"] for h in workers.values())
        assert answers(server, paths) == before
        assert built_lines(server) == 1
    assert not Path(store).exists()


def test_workers_must_be_a_positive_number(site: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "feeds",
            "serve",
            "--settings",
            str(site / "settings.yaml"),
            "--workers",
            "0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--workers: expected more than 0, got '0'" in result.stderr
