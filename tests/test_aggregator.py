"""A real aggregator (lemon24/reader) subscribed to every feed of a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from reader import Reader, make_reader

from feeds.build import Built, build
from feeds.settings import load_settings
from tests.conftest import example_site, record_text
from tests.live import LiveServer, live_server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("aggregated")
    example_site(folder, "title: Aggregated News\nrecords: records\n")
    return folder


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[LiveServer]:
    with live_server(site / "settings.yaml") as server:
        yield server


@pytest.fixture(scope="module")
def reader(site: Path) -> Iterator[Reader]:
    reader = make_reader(str(site / "reader.sqlite"))
    yield reader
    reader.close()


def expected(site: Path, server: LiveServer) -> Built:
    from dataclasses import replace

    settings = load_settings(site / "settings.yaml")
    return build(replace(settings, base_url=server.url))


def feed_urls(result: Built, server: LiveServer) -> dict[str, str]:
    return {
        server.url + path: path
        for path in result.files
        if path.endswith((".rss", ".atom", ".json"))
    }


@pytest.mark.slow
def test_reader_gets_every_entry_then_only_304s_then_exactly_the_new_one(
    site: Path, server: LiveServer, reader: Reader
) -> None:
    result = expected(site, server)
    urls = feed_urls(result, server)
    for url in urls:
        reader.add_feed(url)
    reader.update_feeds()

    feeds = {feed.path: feed for feed in result.feeds}
    for url, path in urls.items():
        got = reader.get_feed(url)
        assert got.last_exception is None, (url, got.last_exception)
        stem, fmt = path.rsplit(".", 1)
        want = {e.id: e for e in feeds[stem].entries}
        entries = list(reader.get_entries(feed=url))
        assert sorted(e.id for e in entries) == sorted(want), url
        for entry in entries:
            source = want[entry.id]
            assert entry.title == source.title
            assert entry.link == source.url
            assert entry.published == source.published
            images = [i.url for i in source.images]
            enclosures = [e.href for e in entry.enclosures]
            assert enclosures == (images[:1] if fmt == "rss" else images), (url, entry.id)

    # A scheduled update honours Cache-Control's max-age: no request at all.
    seen = len(server.access_log())
    reader.update_feeds()
    assert server.access_log()[seen:] == []
    # Polling anyway (the aggregator's schedule came due): conditional requests, bodiless 304s.
    reader.update_feeds(scheduled=False)
    second = server.access_log()[seen:]
    assert len(second) == len(urls)
    assert all(line.endswith(" 304") for line in second), second

    builds = server.health()["builds"]
    (site / "records" / "late.txt").write_text(
        record_text(
            title="A late story",
            webUrl="https://late.example/story",
            publishedDateTime="2031-01-01T00:00:00Z",
            topics=["Climate"],
            provider={"name": "Late Wire", "domain": "late.example"},
            images=[{"url": "https://late.example/lead.jpg", "width": 800, "height": 600}],
        )
    )
    server.wait_for_build(builds)
    before = {url: {e.id for e in reader.get_entries(feed=url)} for url in urls}
    new_feeds = {server.url + f"providers/late-example.{fmt}" for fmt in ("rss", "atom", "json")}
    for url in new_feeds:
        reader.add_feed(url)
    reader.update_feeds(scheduled=False)
    for url in urls:
        now = [e.id for e in reader.get_entries(feed=url)]
        assert len(now) == len(set(now)), url  # no duplicates
        added = set(now) - before[url]
        path = urls[url]
        if path.startswith(("all.", "topics/climate.")):
            assert len(added) == 1, url
            (new_id,) = added
            assert reader.get_entry((url, new_id)).title == "A late story"
        else:
            assert added == set(), url
    for url in new_feeds:
        assert [e.title for e in reader.get_entries(feed=url)] == ["A late story"]
