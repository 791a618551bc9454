"""``feeds ping`` and ``feeds build --ping`` through the real command, against a real hub: only
the feeds whose bytes changed are announced, and only successes are remembered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from feeds.publish.pinged import PINGED, subscription_documents, to_ping
from feeds.rendering import FORMATS
from tests.conftest import BASE_URL, EXAMPLES, record_text, run_cli
from tests.hub import running_hub, silent_hub

EXTENSIONS = {f.extension for f in FORMATS.values()}


def site(tmp_path: Path, hubs: list[str], records: Path | None = EXAMPLES) -> Path:
    """A settings file naming ``hubs``, with a copy of ``records``."""
    if records is not None:
        shutil.copytree(records, tmp_path / "records")
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        f"title: Ping News\nbase_url: {BASE_URL}\nrecords: records\noutput: output\n"
        f"hubs: {json.dumps(hubs)}\n"
    )
    return settings


def feed_bytes(output: Path) -> dict[str, bytes]:
    """Every feed document on disk (by extension, independently of the code under test)."""
    return {
        p.relative_to(output).as_posix(): p.read_bytes()
        for p in output.rglob("*")
        if p.suffix in EXTENSIONS
    }


def ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_first_ping_announces_every_feed_and_a_second_nothing(tmp_path: Path) -> None:
    with running_hub() as hub:
        settings = site(tmp_path, [hub.url])
        ok("build", "--settings", str(settings))
        out = ok("ping", "--settings", str(settings))
        feeds = sorted(BASE_URL + path for path in feed_bytes(tmp_path / "output"))
        assert len(feeds) > 3
        assert hub.urls() == feeds
        assert f"{len(feeds)} changed feeds" in out
        assert f"{len(feeds)} pings accepted, 0 failed" in out
        record = json.loads((tmp_path / "output" / PINGED).read_text())
        assert sorted(BASE_URL + path for path in record) == feeds

        hub.clear()
        ok("ping", "--settings", str(settings))
        ok("build", "--settings", str(settings), "--ping")
        assert hub.received == []


@pytest.mark.slow
def test_build_ping_announces_exactly_the_feeds_whose_bytes_changed(tmp_path: Path) -> None:
    with running_hub() as hub:
        settings = site(tmp_path, [hub.url])
        ok("build", "--settings", str(settings), "--ping")
        before = feed_bytes(tmp_path / "output")
        hub.clear()
        edited = sorted((tmp_path / "records").glob("*.*"))[0]
        edited.write_text(edited.read_text().replace("title: ", "title: Edited ", 1))
        ok("build", "--settings", str(settings), "--ping")
        after = feed_bytes(tmp_path / "output")
    changed = sorted(BASE_URL + p for p in after if after[p] != before.get(p))
    assert 0 < len(changed) < len(after)
    assert hub.urls() == changed


@pytest.mark.slow
def test_a_failed_ping_is_sent_again_by_the_next_ping(tmp_path: Path) -> None:
    with running_hub() as hub:
        settings = site(tmp_path, [hub.url])
        ok("build", "--settings", str(settings))
        feeds = len(feed_bytes(tmp_path / "output"))
        hub.statuses = [500] * feeds
        failed = run_cli("ping", "--settings", str(settings), "--retries", "0")
        assert failed.returncode == 0
        lines = failed.stderr.splitlines()
        assert len(lines) == feeds
        assert all(
            line.startswith(f"feeds: ping failed: {hub.url}: {BASE_URL}")
            and line.endswith(": HTTP 500 Internal Server Error")
            for line in lines
        ), lines
        assert to_ping(tmp_path / "output").keys() == feed_bytes(tmp_path / "output").keys()

        hub.clear()
        ok("ping", "--settings", str(settings), "--retries", "0")
        assert len(hub.received) == feeds
        hub.clear()
        ok("ping", "--settings", str(settings))
        assert hub.received == []


@pytest.mark.slow
def test_a_hub_that_never_answers_is_reported_and_the_build_status_kept(
    tmp_path: Path,
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "one.txt").write_text(record_text())
    (records / "bad.txt").write_text(record_text(title=None))
    with silent_hub() as url:
        settings = site(tmp_path, [url], records=None)
        fast = ("--timeout", "0.5", "--retries", "0")
        built = run_cli("build", "--settings", str(settings), "--ping", *fast)
        assert built.returncode == 1  # the rejected record, not the ping
        failures = [line for line in built.stderr.splitlines() if "ping failed" in line]
        assert failures
        assert all(line.endswith("timed out after 0.5 s") for line in failures), failures
        assert len(failures) == len(feed_bytes(tmp_path / "output"))

        strict = run_cli("build", "--settings", str(settings), "--strict-ping", *fast)
        assert strict.returncode == 4
        again = run_cli("ping", "--settings", str(settings), "--strict-ping", *fast)
        assert again.returncode == 4
        assert len(again.stderr.splitlines()) == len(failures)
    assert not (tmp_path / "output" / PINGED).exists()


def test_ping_without_hubs_says_so_and_exits_0(tmp_path: Path) -> None:
    settings = site(tmp_path, [])
    ok("build", "--settings", str(settings))
    result = run_cli("ping", "--settings", str(settings), "--strict-ping")
    assert result.returncode == 0
    assert "no hubs" in result.stdout
    assert not (tmp_path / "output" / PINGED).exists()


@pytest.mark.slow
def test_clean_removes_the_ping_record(tmp_path: Path) -> None:
    with running_hub() as hub:
        settings = site(tmp_path, [hub.url])
        ok("build", "--settings", str(settings), "--ping")
    assert (tmp_path / "output" / PINGED).is_file()
    ok("clean", "--settings", str(settings))
    assert not (tmp_path / "output").exists() or not any((tmp_path / "output").iterdir())


@pytest.mark.slow
def test_a_damaged_record_means_pinging_every_feed_again(tmp_path: Path) -> None:
    with running_hub() as hub:
        settings = site(tmp_path, [hub.url])
        ok("build", "--settings", str(settings), "--ping")
    (tmp_path / "output" / PINGED).write_text("{not json")
    assert to_ping(tmp_path / "output").keys() == feed_bytes(tmp_path / "output").keys()


@pytest.mark.parametrize(
    ("path", "subscribed"),
    [
        ("all.rss", True),
        ("all.json", True),
        ("topics/ai.atom", True),
        ("providers/wire-example.json", True),
        ("index.html", False),
        ("feeds.opml", False),
        ("archive/topics/ai/3.atom", False),
        ("archive/all/1.rss", False),
        ("topics/ai/extra.atom", False),
    ],
)
def test_only_subscription_documents_are_announced(path: str, subscribed: bool) -> None:
    assert subscription_documents([path]) == ([path] if subscribed else [])
