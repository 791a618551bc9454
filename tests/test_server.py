"""A real uvicorn server on a loopback port, hit with real HTTP (http.client, no decoding)."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, example_site, record_text
from tests.live import LiveServer, free_port, live_server, request


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    example_site(folder, "title: Live News\nrecords: records\noutput: output\nttl_minutes: 5\n")
    return folder


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[LiveServer]:
    with live_server(site / "settings.yaml") as server:
        yield server


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/", "text/html"),
        ("/all.rss", "application/rss+xml"),
        ("/all.atom", "application/atom+xml"),
        ("/all.json", "application/feed+json"),
        ("/feeds.opml", "text/x-opml"),
    ],
)
def test_content_types(server: LiveServer, path: str, media_type: str) -> None:
    status, headers, _ = request(server, "GET", path)
    assert status == 200
    assert headers["content-type"] == f"{media_type}; charset=utf-8"


def test_304_for_etag_and_for_date(server: LiveServer) -> None:
    _, headers, _ = request(server, "GET", "/all.atom")
    status, again, body = request(server, "GET", "/all.atom", **{"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")
    assert again["etag"] == headers["etag"]
    status, _, _ = request(
        server, "GET", "/all.atom", **{"If-Modified-Since": headers["last-modified"]}
    )
    assert status == 304


def test_gzip_on_the_wire(server: LiveServer) -> None:
    _, plain, body = request(server, "GET", "/all.atom", **{"Accept-Encoding": "identity"})
    status, headers, packed = request(server, "GET", "/all.atom", **{"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding, Accept"
    assert gzip.decompress(packed) == body
    assert len(packed) < len(body) / 2
    assert "content-encoding" not in plain


def test_head(server: LiveServer) -> None:
    status, headers, body = request(server, "HEAD", "/all.rss", **{"Accept-Encoding": "identity"})
    _, _, full = request(server, "GET", "/all.rss", **{"Accept-Encoding": "identity"})
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) == len(full)


def test_404_and_405(server: LiveServer) -> None:
    status, _, body = request(server, "GET", "/missing.rss")
    assert (status, body) == (404, b"Not Found\n")
    status, headers, _ = request(server, "POST", "/all.rss")
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/../settings.yaml",
        "/%2e%2e/settings.yaml",
        "/%2E%2E%2Fsettings.yaml",
        "/topics/../../settings.yaml",
        "/..\\settings.yaml",
        "//settings.yaml",
        "/records/001_grid-battery-milestone.txt",
        "/topics/",
    ],
)
def test_traversal_attempts_never_reach_a_file(server: LiveServer, path: str) -> None:
    status, _, body = request(server, "GET", path)
    assert status in (400, 404)
    assert b"title" not in body


def test_healthz(server: LiveServer) -> None:
    health = server.health()
    assert health["status"] == "ok"
    assert health["feeds"] == 22


def test_access_log_goes_through_uvicorn(server: LiveServer) -> None:
    request(server, "GET", "/all.json")
    assert any('"GET /all.json HTTP/1.1" 200' in line for line in server.access_log())


def test_a_new_record_is_served_within_seconds(site: Path, server: LiveServer) -> None:
    builds = server.health()["builds"]
    _, before, _ = request(server, "GET", "/all.atom", **{"Accept-Encoding": "identity"})
    (site / "records" / "new.txt").write_text(
        record_text(
            title="Fresh off the press",
            webUrl="https://fresh.example/1",
            publishedDateTime="2030-01-01T00:00:00Z",
        )
    )
    server.wait_for_build(builds)
    _, after, body = request(server, "GET", "/all.atom", **{"Accept-Encoding": "identity"})
    assert b"Fresh off the press" in body
    assert after["etag"] != before["etag"]


@pytest.mark.slow
def test_settings_changes_are_followed_to_a_new_records_folder(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "old")
    (tmp_path / "new").mkdir()
    settings = tmp_path / "settings.yaml"
    settings.write_text("title: Old Title\nrecords: old\n")
    with live_server(settings) as server:
        health = server.wait_for_build(0)
        settings.write_text("title: New Title\nrecords: new\n")
        health = server.wait_for_build(health["builds"])
        assert health["records"] == 0
        _, _, body = request(server, "GET", "/all.rss", **{"Accept-Encoding": "identity"})
        assert b"<title>New Title</title>" in body

        (tmp_path / "new" / "one.txt").write_text(record_text(title="In the new folder"))
        server.wait_until(lambda h: h["published"] == 1)

        settings.write_text("title: Broken\nmax_entrys: 1\n")
        health = server.wait_until(lambda h: h["last_error"] is not None)
        assert health["status"] == "stale"
        assert "max_entrys" in health["last_error"]
        _, _, body = request(server, "GET", "/all.rss", **{"Accept-Encoding": "identity"})
        assert b"In the new folder" in body


def test_the_factory_serves_identical_bytes_from_each_of_two_workers(tmp_path: Path) -> None:
    example_site(tmp_path, "title: Workers\nrecords: records\n")
    port = free_port()
    env = {**os.environ, "FEEDS_SETTINGS": str(tmp_path / "settings.yaml"), "FEEDS_WATCH": "0"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "feeds.app:from_environment"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Each worker is told apart by the pid in its /healthz; a feed asked for on the same
    # keep-alive connection is answered by that same worker.
    answers: dict[int, set[tuple[str, bytes]]] = {}
    try:
        deadline = time.monotonic() + 30
        while len(answers) < 2 and time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/healthz")
                pid = json.loads(connection.getresponse().read())["pid"]
                connection.request("GET", "/all.atom", headers={"Accept-Encoding": "identity"})
                response = connection.getresponse()
                answers.setdefault(pid, set()).add((response.headers["etag"], response.read()))
            except OSError:
                time.sleep(0.05)
            finally:
                connection.close()
        assert len(answers) == 2, f"only these workers answered: {sorted(answers)}"
        assert len(set().union(*answers.values())) == 1
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.slow
def test_feeds_carry_a_link_header_naming_their_hubs_and_themselves(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "records")
    hubs = ["https://hub.example.net/", "https://push.example.com/websub"]
    (tmp_path / "settings.yaml").write_text(
        f"title: Hub News\nrecords: records\noutput: output\nhubs: {hubs}\n"
    )
    with live_server(tmp_path / "settings.yaml", "--no-watch") as server:
        for path in ("/all.atom", "/all.rss", "/all.json", "/topics/ai.json"):
            status, headers, body = request(server, "GET", path)
            assert status == 200, path
            expected = ", ".join(
                [*(f'<{hub}>; rel="hub"' for hub in hubs), f'<{server.url}{path[1:]}>; rel="self"']
            )
            assert headers["link"] == expected, path
            assert all(hub.encode() in body for hub in hubs)
            _, head_headers, _ = request(server, "HEAD", path)
            assert head_headers["link"] == expected
        for path in ("/", "/feeds.opml", "/healthz"):
            assert "link" not in request(server, "GET", path)[1], path


def built_lines(server: LiveServer) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if "INFO:     built " in line]


def build_children(server: LiveServer) -> list[int]:
    """The build processes of the server: the spare, and the one building if any."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"feeds.serve.child" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def nice(pid: int) -> int:
    # /proc/<pid>/stat: the 19th field is the nice value (after the command in parentheses).
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.slow
def test_a_restart_is_a_warm_build_with_the_same_validators(tmp_path: Path) -> None:
    settings = example_site(tmp_path, "title: Warm News\nrecords: records\noutput: output\n")
    port = free_port()
    with live_server(settings, "--no-watch", port=port) as server:
        _, first, _ = request(server, "GET", "/all.atom", **{"Accept-Encoding": "gzip"})
        assert ", 14 read); " in built_lines(server)[0]
        # Built by a process of its own, at a lower priority than the server's.
        (spare,) = build_children(server)
        deadline = time.monotonic() + 5  # just started: it lowers itself first thing
        while nice(spare) == nice(server.process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert nice(spare) == nice(server.process.pid) + 10
    with live_server(settings, "--no-watch", port=port) as server:
        _, again, _ = request(server, "GET", "/all.atom", **{"Accept-Encoding": "gzip"})
        (line,) = built_lines(server)
        assert ", 0 read); 0 files written, " in line, line
    for header in ("etag", "last-modified", "content-length", "content-encoding"):
        assert again[header] == first[header], header
    # Without --write, the output folder is never written: the server has a folder of its own.
    assert not (tmp_path / "output").exists()
    assert (tmp_path / ".feeds-cache.serving" / "output" / "all.atom").is_file()


@pytest.mark.slow
def test_serve_write_after_feeds_build_starts_warm_from_its_cache(tmp_path: Path) -> None:
    settings = example_site(tmp_path, "title: Shared News\nrecords: records\noutput: output\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "feeds",
            "build",
            "-q",
            "--settings",
            str(settings),
            "--base-url",
            url,
        ],
        check=True,
        capture_output=True,
    )
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "output").rglob("*")}
    with live_server(settings, "--write", "--no-watch", port=port) as server:
        (line,) = built_lines(server)
        assert ", 0 read); 0 files written, " in line, line
        _, _, body = request(server, "GET", "/all.rss", **{"Accept-Encoding": "identity"})
    assert body == (tmp_path / "output" / "all.rss").read_bytes()
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "output").rglob("*")} == written
    # The build cache is the one feeds build wrote; the served folder holds only blobs.
    assert sorted(p.name for p in (tmp_path / ".feeds-cache.serving").iterdir()) == [
        "blobs",
        "index.pickle",
    ]


@pytest.mark.slow
def test_without_base_url_every_address_shown_is_the_one_served_at(tmp_path: Path) -> None:
    settings = example_site(
        tmp_path,
        "title: Local News\nbase_url: https://example.org/feeds/\nrecords: records\n",
    )
    for n in range(7):  # seven records whose article a newer one has: a summary in the log
        url = f"https://news.example/twice-{n}"
        for day in (1, 2):
            text = record_text(webUrl=url, publishedDateTime=f"2024-05-0{day}T10:00:00Z")
            (tmp_path / "records" / f"twice-{n}-{day}.txt").write_text(text)
    with live_server(settings, base_url=False) as server:
        here = server.url  # http://127.0.0.1:<port>/
        log = server.log.read_text()
        assert f"INFO:     serving on {here} once built" in log
        assert log.count("warning: same article as") == 3
        assert "INFO:     ... and 4 more duplicates (feeds check -v shows all)" in log

        def addresses() -> dict[str, bytes]:
            return {
                path: request(server, "GET", path, **{"Accept-Encoding": "identity"})[2]
                for path in ("/", "/feeds.opml", "/all.atom", "/all.rss", "/all.json")
            }

        for path, body in addresses().items():
            assert b"example.org/feeds" not in body, path
        answers = addresses()
        assert f'xmlUrl="{here}all.rss"'.encode() in answers["/feeds.opml"]
        assert (
            f'<link rel="self" type="application/atom+xml" href="{here}all.atom"/>'.encode()
            in (answers["/all.atom"])
        )
        assert f'"feed_url": "{here}all.json"'.encode() in answers["/all.json"]
        assert f"{here}all.rss".encode() in answers["/"]
        # An edit of the settings file keeps the address (as it keeps --records and --output).
        builds = server.health()["builds"]
        settings.write_text(settings.read_text().replace("Local News", "Local News Edited"))
        server.wait_for_build(builds)
        edited = addresses()
        assert b"Local News Edited" in edited["/all.atom"]
        assert f'href="{here}all.atom"'.encode() in edited["/all.atom"]
        assert b"example.org/feeds" not in edited["/feeds.opml"]


SERVE = [sys.executable, "-m", "feeds", "serve"]


def test_a_busy_port_is_reported_before_building_with_exit_5(tmp_path: Path) -> None:
    settings = example_site(tmp_path, "title: Busy\nrecords: records\noutput: output\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [*SERVE, "--settings", str(settings), "--port", str(port), "--no-watch"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        seconds = time.monotonic() - started
    assert result.returncode == 5, result.stderr
    assert result.stderr == (
        f"feeds: error: cannot serve on 127.0.0.1:{port}: port {port} is in use (by another "
        "server, or another feeds serve); stop it, or choose another port with --port; nothing "
        "was built\n"
    )
    assert seconds < 5
    assert not (tmp_path / ".feeds-cache.serving").exists()
