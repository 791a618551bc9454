"""RFC 5005 archived feeds: a client walks back from the subscription document to the oldest
entry, pages fill from the oldest and stop changing, and no document exceeds the byte budget."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from feeds.build import build
from tests.conftest import RecordWriter, make_settings, record_text, run_cli
from tests.live import live_server

FH = "{http://purl.org/syndication/history/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"


def write_history(
    write_record: RecordWriter, count: int, body: str = "", **fields: Any
) -> list[str]:
    """``count`` records an hour apart (every one in topic AI, every third also in Space);
    their titles, oldest first."""
    titles = []
    for n in range(count):
        title = f"Story {n:03d}"
        titles.append(title)
        values = {
            "title": title,
            "webUrl": f"https://news.example/{n}",
            "publishedDateTime": f"2024-05-{1 + n // 24:02d}T{n % 24:02d}:00:00Z",
            "topics": ["AI", "Space"] if n % 3 == 0 else ["AI"],
            **fields,
        }
        write_record(text=record_text(**values) + body)
    return titles


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), dict(response.headers)


def walk_xml(url: str) -> list[tuple[str, bytes, Any]]:
    """Every document from ``url`` back through prev-archive links, as a client would."""
    documents = []
    seen = set()
    while url:
        assert url not in seen, f"prev-archive loop at {url}"
        seen.add(url)
        body, _ = fetch(url)
        parsed = feedparser.parse(body)
        assert not parsed.bozo, (url, parsed.bozo_exception)
        documents.append((url, body, parsed))
        links = {link["rel"]: link["href"] for link in parsed.feed.get("links", [])}
        url = links.get("prev-archive", "")
    return documents


def walk_json(url: str) -> list[dict[str, Any]]:
    documents = []
    while url:
        body, _ = fetch(url)
        document = json.loads(body)
        documents.append(document)
        url = document.get("next_url", "")
    return documents


@pytest.fixture
def history(tmp_path: Path, records: Path, write_record: RecordWriter) -> list[str]:
    titles = write_history(write_record, 23)
    (tmp_path / "settings.yaml").write_text(
        "title: History\nrecords: records\nmax_entries: 5\narchive_page_size: 4\n"
    )
    return titles


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_client_walks_back_to_the_oldest_entry(
    tmp_path: Path, history: list[str], fmt: str
) -> None:
    with live_server(tmp_path / "settings.yaml", "--no-watch", "--no-access-log") as server:
        documents = walk_xml(f"{server.url}all.{fmt}")
        subscription = documents[0]
        pages = documents[1:]
        seen = [e.title for _, _, parsed in documents for e in parsed.entries]
        assert sorted(seen) == sorted(history), "every entry exactly once"
        assert [e.title for e in subscription[2].entries] == history[::-1][:5]
        # 18 archived entries: pages of 4 from the oldest, the newest page holding the rest.
        assert [len(p.entries) for _, _, p in pages] == [2, 4, 4, 4, 4]
        assert [e.title for e in pages[-1][2].entries] == history[3::-1]
        assert pages[-1][0] == f"{server.url}archive/all/1.{fmt}"
        for n, (url, body, parsed) in enumerate(reversed(pages), 1):
            root = etree.fromstring(body)
            assert root.find(f".//{FH}archive") is not None
            links = {link["rel"]: link["href"] for link in parsed.feed.links}
            assert links["self"] == url
            assert links["current"] == f"{server.url}all.{fmt}"
            assert ("prev-archive" in links) == (n > 1)
            assert ("next-archive" in links) == (n < len(pages))
            if n < len(pages):
                assert links["next-archive"] == f"{server.url}archive/all/{n + 1}.{fmt}"
        sub_root = etree.fromstring(subscription[1])
        assert sub_root.find(f".//{FH}complete") is None
        assert sub_root.find(f".//{FH}archive") is None


def test_json_feed_pages_go_back_with_next_url(tmp_path: Path, history: list[str]) -> None:
    with live_server(tmp_path / "settings.yaml", "--no-watch", "--no-access-log") as server:
        documents = walk_json(f"{server.url}all.json")
    titles = [item["title"] for document in documents for item in document["items"]]
    assert titles == history[::-1]
    assert documents[-1]["feed_url"] == f"{server.url}archive/all/1.json"
    assert "next_url" not in documents[-1]


def test_sealed_pages_are_cached_for_a_year_and_the_rest_briefly(
    tmp_path: Path, history: list[str]
) -> None:
    with live_server(tmp_path / "settings.yaml", "--no-watch", "--no-access-log") as server:
        _, sealed = fetch(f"{server.url}archive/all/1.atom")
        _, newest = fetch(f"{server.url}archive/all/5.atom")
        _, subscription = fetch(f"{server.url}all.atom")
    assert sealed["cache-control"] == "public, max-age=31536000, immutable"
    assert newest["cache-control"] == "public, max-age=3600"
    assert subscription["cache-control"] == "public, max-age=3600"


def test_a_feed_without_archive_says_it_is_complete(
    records: Path, write_record: RecordWriter
) -> None:
    write_history(write_record, 3)
    result = build(make_settings(records, max_entries=5))
    for path in ("all.atom", "all.rss"):
        root = etree.fromstring(result.files[path])
        assert root.find(f".//{FH}complete") is not None, path
        assert not any("archive" in (link.get("rel") or "") for link in root.iter(f"{ATOM}link"))
    assert "next_url" not in json.loads(result.files["all.json"])
    assert not [path for path in result.files if path.startswith("archive/")]


def test_archives_can_be_turned_off(records: Path, write_record: RecordWriter) -> None:
    write_history(write_record, 9)
    result = build(make_settings(records, max_entries=5, archives=False))
    assert not [path for path in result.files if path.startswith("archive/")]
    root = etree.fromstring(result.files["all.atom"])
    assert len(root.findall(f"{ATOM}entry")) == 5
    assert root.find(f".//{FH}complete") is None  # four entries are not published anywhere


def test_topic_feeds_have_their_own_archives(records: Path, write_record: RecordWriter) -> None:
    titles = write_history(write_record, 23)
    result = build(make_settings(records, max_entries=2, archive_page_size=3))
    space = [t for n, t in enumerate(titles) if n % 3 == 0]  # 8 entries: 2 current, 6 archived
    assert sorted(p for p in result.files if p.startswith("archive/topics/space/")) == [
        f"archive/topics/space/{n}.{fmt}" for n in (1, 2) for fmt in ("atom", "json", "rss")
    ]
    page = json.loads(result.files["archive/topics/space/1.json"])
    assert [item["title"] for item in page["items"]] == space[2::-1]
    index = result.files["index.html"].decode()
    assert "archive/" not in index  # the index lists what to subscribe to


def test_new_entries_change_only_the_subscription_document_and_the_newest_page(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_history(write_record, 23, topics=["AI"])
    settings = tmp_path / "settings.yaml"
    settings.write_text("title: History\nrecords: records\nmax_entries: 5\narchive_page_size: 4\n")
    out = tmp_path / "out"
    run_cli("build", "--settings", str(settings), "--output", str(out))
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.*")}
    write_record(
        title="Story new",
        webUrl="https://news.example/new",
        publishedDateTime="2024-06-01T00:00:00Z",
        topics=["AI"],
    )
    run_cli("build", "--settings", str(settings), "--output", str(out))
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.*")}
    changed = {path for path in after if before.get(path) != after[path]}
    stems = {path.rsplit(".", 1)[0] for path in changed if not path.startswith(".")}
    # The entry pushed out of the subscription documents lands on page 5 (was 2 entries).
    assert stems == {
        "all",
        "topics/ai",
        "providers/wire-example",
        "archive/all/5",
        "archive/topics/ai/5",
        "archive/providers/wire-example/5",
        "index",
        "feeds",
        "topics",
        "providers",
    }
    for sealed in ("archive/all/1.atom", "archive/all/4.rss", "archive/topics/ai/2.json"):
        assert before[sealed] == after[sealed]


def test_no_document_exceeds_the_byte_budget(records: Path, write_record: RecordWriter) -> None:
    body = "A long paragraph of the article body, repeated. " * 60  # about 3 KB per entry
    titles = write_history(write_record, 40, body=body)
    budget = 16 * 1024
    result = build(make_settings(records, max_entries=30, max_document_bytes=budget))
    too_big = {path: len(data) for path, data in result.files.items() if len(data) > budget}
    assert not too_big
    subscription = json.loads(result.files["all.json"])
    assert 1 < len(subscription["items"]) < 30  # the budget, not max_entries, decided
    pages = sorted(
        (
            json.loads(data)
            for path, data in result.files.items()
            if path.startswith("archive/all/") and path.endswith(".json")
        ),
        key=lambda page: page["feed_url"],
    )
    titles_seen = [item["title"] for doc in [subscription, *pages] for item in doc["items"]]
    assert sorted(titles_seen) == sorted(titles)


def test_an_entry_larger_than_the_budget_gets_a_page_of_its_own(
    records: Path, write_record: RecordWriter
) -> None:
    write_history(write_record, 3, body="Huge. " * 5000)  # 30 KB each, over a 16 KB budget
    result = build(make_settings(records, max_entries=2, max_document_bytes=16 * 1024))
    assert len(json.loads(result.files["all.json"])["items"]) == 1
    pages = [path for path in result.files if path.startswith("archive/all/")]
    assert len(pages) == 2 * 3


def test_diff_follows_entries_into_the_archive(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_history(write_record, 11, topics=["AI"])
    settings = tmp_path / "settings.yaml"
    settings.write_text("title: History\nrecords: records\nmax_entries: 3\narchive_page_size: 2\n")
    run_cli("build", "--settings", str(settings), "--output", str(tmp_path / "old"))
    write_record(
        title="Story new",
        webUrl="https://news.example/new",
        publishedDateTime="2024-06-01T00:00:00Z",
        topics=["AI"],
    )
    result = run_cli("diff", "--settings", str(settings), "--json", str(tmp_path / "old"))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    totals = report["totals"]
    assert (totals["entries_added"], totals["entries_removed"], totals["entries_changed"]) == (
        1,
        0,
        0,
    )
    assert report["risky"] is False
