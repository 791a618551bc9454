"""The HTML pages: each feed's page (``topics/ai.html``) and the index, read back with lxml.

What they show against the feeds they describe, escaping of hostile records, their order, and
that every link they hold leads to a file of the output. The browser's view of them (no XSLT,
file://, 375 px, the filter box) is in test_browser.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest
from lxml import html

from feeds.build import Built, build
from feeds.dates import rfc3339
from feeds.layout import relative
from feeds.rendering import index
from feeds.settings import Settings, load_settings
from feeds.writing import write_output
from tests.conftest import (
    BASE_URL,
    EXAMPLES,
    ROOT,
    SEED,
    RecordWriter,
    make_settings,
    record_text,
    run_cli,
    tree,
)

SECRET = "U2VjcmV0Q2lwaGVydGV4dA=="


@pytest.fixture(scope="module")
def examples() -> Built:
    """The example records with the example settings: archive pages, custom feeds."""
    return build(load_settings(ROOT / "settings.yaml"))


def page_of(result: Built, path: str) -> html.HtmlElement:
    return html.document_fromstring(result.files[path])


def test_every_feed_has_a_page_beside_its_documents_and_archive_pages_have_none(
    examples: Built,
) -> None:
    pages = sorted(p for p in examples.files if p.endswith(".html") and p != "index.html")
    feeds = [f for f in examples.feeds if not f.paging.archive]
    assert pages == sorted(f"{f.path}.html" for f in feeds)
    assert "topics/climate.html" in pages
    assert any(f.paging.archive for f in examples.feeds)
    assert not [p for p in pages if p.startswith("archive/")]


def test_a_page_shows_what_its_feed_holds_entry_by_entry(examples: Built) -> None:
    for feed in examples.feeds:
        if feed.paging.archive:
            continue
        page = page_of(examples, f"{feed.path}.html")
        assert page.findtext(".//title") == feed.title
        cards = page.xpath("//li[@class='entry']")
        assert len(cards) == len(feed.entries)
        for card, entry in zip(cards, feed.entries, strict=True):
            (title,) = card.xpath("h3/a")
            assert (title.text_content(), title.get("href")) == (entry.title, entry.url)
            (when,) = card.xpath("p[@class='meta']/time")
            assert when.get("datetime") == rfc3339(entry.published)
            assert when.text == rfc3339(entry.published)[:10]
            assert entry.author is not None
            assert card.xpath("string(p[@class='meta'])").startswith(entry.author.name + " · ")
            assert card.xpath("img/@src") == [image.url for image in entry.images[:1]]
            assert card.xpath("p[not(@class)]/text()") == [entry.summary]
            related = [(a.text_content(), a.get("href")) for a in card.xpath("ul/li/a")]
            assert related == [(link.title, link.url) for link in entry.related]


def test_a_page_gives_the_address_to_copy_and_a_link_for_each_format(examples: Built) -> None:
    page = page_of(examples, "topics/climate.html")
    assert "A feed is a list of a site's newest entries" in page.text_content()
    rows = page.xpath("//ul[contains(@class, 'formats')]/li")
    assert [(r.findtext("a"), r.find("a").get("href"), r.findtext("code")) for r in rows] == [
        ("RSS", "climate.rss", BASE_URL + "topics/climate.rss"),
        ("Atom", "climate.atom", BASE_URL + "topics/climate.atom"),
        ("JSON Feed", "climate.json", BASE_URL + "topics/climate.json"),
    ]
    alternates = page.xpath("//link[@rel='alternate']/@href")
    assert alternates == [r.findtext("code") for r in rows]


def test_a_page_links_to_the_newest_and_oldest_of_its_archive_pages(examples: Built) -> None:
    (feed,) = [f for f in examples.feeds if f.path == "all"]
    assert feed.paging.prev == 3
    page = page_of(examples, "all.html")
    older = page.get_element_by_id("older")
    assert f"{feed.total - feed.size} older entries are in 3 archive pages" in older.text_content()
    assert older.xpath(".//a/@href") == [
        f"archive/all/{n}.{fmt}" for n in (3, 1) for fmt in ("rss", "atom", "json")
    ]
    # A feed that holds every entry has no such section.
    assert not page_of(examples, "topics/climate.html").xpath("//*[@id='older']")


def test_every_link_of_every_page_leads_to_a_file_of_the_output(
    examples: Built, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    write_output(out, examples.files)
    checked = 0
    for path, data in examples.files.items():
        if not path.endswith(".html"):
            continue
        page = html.document_fromstring(data)
        for link in page.xpath("//a/@href | //link/@href | //img/@src"):
            if link.startswith(("https://", "http://", "data:image/svg+xml,")):
                continue
            target = urljoin(f"file:///out/{path}", link).removeprefix("file:///out/")
            assert (out / target).is_file(), (path, link)
            checked += 1
    assert checked > 250


def test_hostile_text_and_links_stay_text_and_never_run(
    records: Path, write_record: RecordWriter
) -> None:
    evil = '<script>alert(1)</script> <img src=x onerror="alert(2)"> & "quotes"'
    write_record(
        title=evil,
        excerpt=f"{evil} excerpt",
        webUrl="https://news.example/a?x=1&y=<2>",
        provider={"name": "<b onclick=alert(3)>Wire</b>", "domain": "wire.example"},
        topics=["<i>AI</i>"],
        images=[{"url": "javascript:alert(4)"}, {"url": 'https://img.example/a.jpg?"onload=x'}],
        related=[
            {"title": evil, "webUrl": "javascript:alert(5)"},
            {"title": "Fine", "webUrl": "https://other.example/b"},
        ],
        secured=SECRET,
    )
    write_record(title="Plain", webUrl="https://news.example/b", publishedDateTime="2024-01-01")
    result = build(make_settings(records))
    pages = {p: d for p, d in result.files.items() if p.endswith(".html")}
    assert len(pages) >= 4
    for path, data in pages.items():
        assert SECRET.encode() not in data, path
        page = html.document_fromstring(data)
        scripts = page.xpath("//script")
        assert [s.text for s in scripts] == (
            [f"\n{index.FILTER_SCRIPT}\n{index.SUBSCRIBE_SCRIPT}\n"] if path == "index.html" else []
        )
        assert not page.xpath("//b | //i | //*[@onerror] | //*[@onclick] | //*[@onload]"), path
        for link in page.xpath("//a/@href | //img/@src | //link/@href"):
            assert not link.lower().startswith("javascript:"), (path, link)
        if path == "all.html":
            (card,) = [
                c for c in page.xpath("//li[@class='entry']") if "script" in c.findtext("h3/a")
            ]
            assert card.findtext("h3/a") == evil
            assert card.find("h3/a").get("href") == "https://news.example/a?x=1&y=%3C2%3E"
            assert card.xpath("img/@src") == ["https://img.example/a.jpg?%22onload=x"]
            assert card.xpath("ul/li/a/@href") == ["https://other.example/b"]
            assert card.xpath("string(p[@class='meta'])").startswith("<b onclick=alert(3)>Wire</b>")
    index_page = html.document_fromstring(pages["index.html"])
    assert evil in [a.text_content() for a in index_page.xpath("//ol/li/a")]


def test_the_seed_excerpt_reads_repaired_as_in_its_feeds_and_nothing_secret_shows() -> None:
    result = build(make_settings(SEED.parent))
    secured = SEED.read_text().split('secured: "', 1)[1].split('"', 1)[0]
    (atom,) = feedparser.parse(result.files["topics/ai.atom"]).entries
    page = page_of(result, "topics/ai.html")
    (excerpt,) = page.xpath("//li[@class='entry']/p[not(@class)]/text()")
    assert excerpt == atom.summary
    assert "government’s" in excerpt
    assert "â€™" not in excerpt
    for path, data in result.files.items():
        assert secured[:40].encode() not in data, path
        assert b"secured" not in data, path


def test_the_index_says_what_a_feed_is_and_shows_the_newest_headlines(
    records: Path, write_record: RecordWriter
) -> None:
    for day in range(1, 13):
        write_record(
            title=f"Story {day}",
            webUrl=f"https://news.example/{day}",
            publishedDateTime=f"2024-05-{day:02d}T10:00:00Z",
        )
    page = html.document_fromstring(build(make_settings(records)).files["index.html"])
    assert "A feed is a list of a site's newest entries" in page.text_content()
    assert "To subscribe" in page.text_content()
    headlines = page.xpath("//section[@id='latest']/ol/li")
    assert [h.findtext("a") for h in headlines] == [f"Story {d}" for d in range(12, 2, -1)]
    assert headlines[0].find("a").get("href") == "https://news.example/12"
    assert headlines[0].xpath("span/time/@datetime") == ["2024-05-12T10:00:00Z"]
    assert page.xpath("//section[@id='latest']//a[text()='Every entry']/@href") == ["all.html"]


def test_without_the_feed_of_every_entry_the_index_has_no_headlines(records: Path) -> None:
    (records / "a.txt").write_text(record_text())
    result = build(make_settings(records, groupings=["topic"]))
    page = html.document_fromstring(result.files["index.html"])
    assert not page.xpath("//*[@id='latest']")
    assert page.xpath("//section[@id='topic']//a[@class='name']/text()") == ["AI"]


def test_the_index_lists_providers_by_name_not_by_domain(
    records: Path, write_record: RecordWriter
) -> None:
    for n, (name, domain) in enumerate(
        [("Zeta Post", "aaa.example"), ("alpha Daily", "zzz.example"), ("Mid Times", "mmm.example")]
    ):
        write_record(webUrl=f"https://{domain}/{n}", provider={"name": name, "domain": domain})
    page = html.document_fromstring(build(make_settings(records)).files["index.html"])
    names = page.xpath("//section[@id='provider']//a[@class='name']/text()")
    assert names == ["alpha Daily", "Mid Times", "Zeta Post"]


def test_the_index_is_the_same_whatever_order_the_feeds_come_in(examples: Built) -> None:
    feeds = [f for f in examples.plans if not f.paging.archive]
    settings = examples.settings
    assert index.render(feeds, settings) == index.render(feeds[::-1], settings)


def test_the_index_is_complete_without_script_and_its_filter_waits_for_one(
    examples: Built,
) -> None:
    page = page_of(examples, "index.html")
    assert page.get_element_by_id("find").get("hidden") is not None
    rows = page.xpath("//ul[contains(@class, 'feeds')]/li")
    assert len(rows) == len([f for f in examples.feeds if not f.paging.archive])
    for row in rows:
        (name,) = row.xpath("a[@class='name']/@href")
        assert row.xpath("a[@class='subscribe']/@href") == [name]
        assert [a.text for a in row.xpath("a[@type]")] == ["RSS", "Atom", "JSON Feed"]
    assert page.xpath("//link[@rel='icon']/@href")[0].startswith("data:image/svg+xml,")


def test_relative_links_lead_back_from_any_depth() -> None:
    assert relative("topics/ai.html", "index.html") == "../index.html"
    assert relative("topics/ai.html", "topics/ai.rss") == "ai.rss"
    assert relative("all.html", "archive/all/3.rss") == "archive/all/3.rss"
    assert (
        relative("custom/top.html", "archive/custom/top/1.json") == "../archive/custom/top/1.json"
    )


def test_pages_are_the_same_bytes_whatever_the_time_zone_and_locale(tmp_path: Path) -> None:
    outputs = []
    for n, env in enumerate(
        [
            {"TZ": "Pacific/Auckland", "LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"},
            {"TZ": "America/Los_Angeles", "LC_ALL": "C", "LANG": "C"},
        ]
    ):
        out = tmp_path / f"out{n}"
        result = run_cli("build", "--settings", "settings.yaml", "--output", str(out), env=env)
        assert result.returncode == 0, result.stderr
        outputs.append({p: d for p, d in tree(out).items() if p.endswith(".html")})
    assert len(outputs[0]) == 25
    assert outputs[0] == outputs[1]


def test_an_edit_rewrites_the_pages_of_exactly_the_feeds_whose_documents_change(
    tmp_path: Path,
) -> None:
    records = tmp_path / "records"
    records.mkdir()
    for n, topics in enumerate((["AI"], ["AI", "Space"], ["Climate"])):
        (records / f"{n}.txt").write_text(
            record_text(title=f"Story {n}", webUrl=f"https://news.example/{n}", topics=topics)
        )
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("title: Edits\nrecords: records\noutput: out\n")
    assert run_cli("build", "--settings", str(settings_file)).returncode == 0
    before = tree(tmp_path / "out")
    (records / "1.txt").write_text(
        record_text(
            title="Story 1, edited", webUrl="https://news.example/1", topics=["AI", "Space"]
        )
    )
    result = run_cli("build", "--settings", str(settings_file))
    assert result.returncode == 0, result.stderr
    after = tree(tmp_path / "out")
    changed = {p for p in after if before.get(p) != after[p] and not p.startswith(".")}
    feeds = {p.removesuffix(".rss") for p in changed if p.endswith(".rss")}
    assert feeds == {"all", "topics/ai", "topics/space", "providers/wire-example"}
    # Each changed feed's page, and the index (a headline changed): no other page.
    assert {p for p in changed if p.endswith(".html")} == {f"{f}.html" for f in feeds} | {
        "index.html"
    }
    assert "files written" in result.stdout


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_a_page_lists_only_the_formats_built(tmp_path: Path, fmt: str) -> None:
    settings: Settings = replace(make_settings(EXAMPLES), formats=(fmt,))
    result = build(settings)
    page = page_of(result, "topics/climate.html")
    assert page.xpath("//ul[contains(@class, 'formats')]/li/code/text()") == [
        f"{BASE_URL}topics/climate.{fmt}"
    ]
    index_page = page_of(result, "index.html")
    assert {h.rpartition(".")[2] for h in index_page.xpath("//a[@type]/@href")} == {fmt}
