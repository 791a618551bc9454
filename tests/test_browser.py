"""The index and the feeds' HTML pages in a real browser: Debian's headless Chromium with XSLT
off (``make browser`` installs it), over HTTP from ``feeds serve`` and from disk (file://)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from lxml import etree, html

from feeds.build import build
from feeds.groupings import GROUPINGS
from feeds.model import Feed
from feeds.settings import load_settings
from feeds.writing import write_output
from tests.chromium import (
    CHROMIUM,
    NO_XSLT,
    Call,
    chromium,
    devtools,
    evaluate,
    open_at,
    wait_for,
)
from tests.conftest import example_site, make_settings, record_text
from tests.live import LiveServer, live_server
from tests.screenshots import take

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browsed")
    example_site(folder, "title: Browsed News\nrecords: records\n")
    with live_server(folder / "settings.yaml", "--no-watch") as server:
        yield server


ATOM = {"a": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/"}


def fetch(url: str, accept: str = "application/rss+xml, application/atom+xml") -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
        return body


def expected_entries(feed: bytes) -> list[dict[str, Any]]:
    """Title, link, images and related links of every entry, read from the feed itself."""
    root = etree.fromstring(feed)
    if root.tag == "rss":
        return [
            {
                "title": item.findtext("title"),
                "link": item.findtext("link"),
                "images": item.xpath("media:content/@url", namespaces=ATOM),
                "related": [
                    (link.get("title"), link.get("href"))
                    for link in item.xpath("a:link[@rel='related']", namespaces=ATOM)
                ],
            }
            for item in root.iter("item")
        ]
    return [
        {
            "title": entry.findtext("a:title", namespaces=ATOM),
            "link": entry.xpath("a:link[@rel='alternate']/@href", namespaces=ATOM)[0],
            "images": entry.xpath("a:link[@rel='enclosure']/@href", namespaces=ATOM),
            "related": [
                (link.get("title"), link.get("href"))
                for link in entry.xpath("a:link[@rel='related']", namespaces=ATOM)
            ],
        }
        for entry in root.iterfind("a:entry", ATOM)
    ]


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site built into a folder, with archive pages, to open from disk."""
    folder = tmp_path_factory.mktemp("disk")
    site = (
        "title: Disk News\nrecords: records\nbase_url: https://example.org/feeds/\n"
        "max_entries: 3\narchive_page_size: 4\n"
    )
    settings = load_settings(example_site(folder, site))
    write_output(settings.output, build(settings).files)
    return settings.output


def rendered(page: Call) -> tuple[html.HtmlElement, str]:
    """The page's DOM as the browser holds it, and the text it shows."""
    dom = evaluate(page, "document.documentElement.outerHTML")
    return html.document_fromstring(dom), evaluate(page, "document.body.innerText")


@pytest.mark.parametrize(
    "path", ["all.html", "topics/climate.html", "providers/northwind-example.html"]
)
def test_a_feed_page_shows_the_feeds_entries_and_addresses_without_xslt(
    server: LiveServer, tmp_path: Path, path: str
) -> None:
    url = server.url + path
    with devtools(tmp_path / "profile", NO_XSLT) as browser:
        open_at(browser, url, 1280)
        page, text = rendered(browser)
    feed = url.removesuffix(".html")
    entries = expected_entries(fetch(feed + ".rss"))
    assert page.findtext(".//title") == etree.fromstring(fetch(feed + ".rss")).findtext(
        "channel/title"
    )
    assert "A feed is a list of a site's newest entries" in text
    formats = page.xpath("//ul[contains(@class, 'formats')]/li")
    assert [li.findtext("a") for li in formats] == ["RSS", "Atom", "JSON Feed"]
    for li, fmt in zip(formats, ("rss", "atom", "json"), strict=True):
        link = urljoin(url, li.find("a").get("href"))
        assert link == li.findtext("code") == f"{feed}.{fmt}"
        assert f"{feed}.{fmt}" in text
        assert fetch(link).startswith((b"<?xml", b"{"))
    cards = page.xpath("//li[@class='entry']")
    assert len(cards) == len(entries) > 0
    for card, entry in zip(cards, entries, strict=True):
        (heading,) = card.xpath("h3/a")
        assert (heading.text_content(), heading.get("href")) == (entry["title"], entry["link"])
        assert entry["title"] in text
        assert card.xpath(".//img/@src") == entry["images"][:1]  # the lead image, as thumbnail
        related = [(a.text_content(), a.get("href")) for a in card.xpath("ul//a")]
        assert related == entry["related"]
    # The examples hold images and related links, so the comparisons above are not vacuous.
    assert any(e["images"] for e in entries) or path.startswith("providers/")
    assert any(e["related"] for e in entries)


def test_a_feed_page_links_to_its_newest_and_oldest_archive_pages(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    folder = tmp_path_factory.mktemp("archived")
    example_site(
        folder, "title: Archived News\nrecords: records\nmax_entries: 3\narchive_page_size: 4\n"
    )
    with (
        live_server(folder / "settings.yaml", "--no-watch", "--no-access-log") as archived,
        devtools(tmp_path / "profile", NO_XSLT) as browser,
    ):
        open_at(browser, archived.url + "all.html", 1280)
        page, text = rendered(browser)
        links = [urljoin(archived.url, a) for a in page.xpath("//section[@id='older']//a/@href")]
        documents = [fetch(link) for link in links]
    assert "10 older entries are in 3 archive pages" in text
    assert links == [
        f"{archived.url}archive/all/{n}.{fmt}" for n in (3, 1) for fmt in ("rss", "atom", "json")
    ]
    for link, document in zip(links, documents, strict=True):
        if link.endswith(".json"):
            assert json.loads(document)["items"]
        else:
            assert b"<fh:archive/>" in document


def test_from_disk_the_index_leads_to_a_readable_feed_page(disk: Path, tmp_path: Path) -> None:
    index = (disk / "index.html").as_uri()
    with devtools(tmp_path / "profile", NO_XSLT) as browser:
        open_at(browser, index, 375)
        page, text = rendered(browser)
        assert "Latest entries" in text
        headlines = page.xpath("//ol[contains(@class, 'headlines')]/li/a")
        assert [a.text_content() for a in headlines] == [
            e["title"] for e in expected_entries((disk / "all.rss").read_bytes())
        ]
        assert all(a.text_content() in text for a in headlines)
        assert "Subscribe" in text
        assert "A feed is a list" in text
        climate = evaluate(
            browser,
            "[...document.querySelectorAll('a.name')].find(a => a.textContent === 'Climate').href",
        )
        assert climate == (disk / "topics" / "climate.html").as_uri()
        open_at(browser, climate, 375)
        page, text = rendered(browser)
        assert evaluate(browser, "document.documentElement.scrollWidth") <= 375
    assert page.findtext(".//h1") == "Climate"
    for entry in expected_entries((disk / "topics" / "climate.rss").read_bytes()):
        assert entry["title"] in text
    assert "https://example.org/feeds/topics/climate.atom" in text  # the address to copy
    for href in page.xpath("//a[not(starts-with(@href, 'http'))]/@href"):
        assert (disk / "topics" / href).resolve().is_file(), href


@pytest.mark.parametrize("path", ["", "all.html", "topics/climate.html"])
def test_pages_fit_a_phone_without_sideways_scroll(
    server: LiveServer, tmp_path: Path, path: str
) -> None:
    with devtools(tmp_path / "profile", NO_XSLT) as browser:
        open_at(browser, server.url + path, 375)
        assert evaluate(browser, "document.documentElement.scrollWidth") <= 375
        # Nothing is cut off either: no element reaches past the right edge.
        widest = evaluate(
            browser,
            "Math.max(...[...document.body.querySelectorAll('*')]"
            ".map(e => e.getBoundingClientRect().right))",
        )
        assert widest <= 375


def test_the_filter_box_narrows_the_feeds_to_those_named(
    server: LiveServer, tmp_path: Path
) -> None:
    shown = (
        "[...document.querySelectorAll('ul.feeds > li')]"
        ".filter(row => row.offsetParent !== null).map(row => row.querySelector('a.name').textContent)"
    )
    with devtools(tmp_path / "profile", NO_XSLT) as browser:
        open_at(browser, server.url, 375)
        assert not evaluate(browser, "document.getElementById('find').hidden")
        assert len(evaluate(browser, shown)) == 22
        evaluate(browser, "document.getElementById('filter').focus()")
        browser("Input.insertText", text="CLIM")
        wait_for(browser, f"{shown}.length === 1")
        assert evaluate(browser, shown) == ["Climate"]
        sections = (
            "[...document.querySelectorAll('section.feeds')].filter(s => !s.hidden).map(s => s.id)"
        )
        assert evaluate(browser, sections) == ["topic"]
        assert evaluate(browser, "document.getElementById('found').textContent") == "1 of 22 feeds"
        browser("Input.insertText", text=" nothing")
        wait_for(browser, f"{shown}.length === 0")
        evaluate(browser, "document.getElementById('filter').value = ''")
        evaluate(browser, "document.getElementById('filter').dispatchEvent(new Event('input'))")
        assert len(evaluate(browser, shown)) == 22


def test_the_filter_box_stays_quick_with_seven_hundred_feeds(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    for n in range(350):  # a topic and a provider each: 701 feeds with "all"
        (records / f"{n}.txt").write_text(
            record_text(
                title=f"Story {n}",
                webUrl=f"https://p{n}.example/story",
                topics=[f"Topic {n:03d}"],
                provider={"name": f"Provider {n:03d}", "domain": f"p{n}.example"},
            )
        )
    settings = make_settings(records, output=tmp_path / "output")
    write_output(settings.output, build(settings).files)
    shown = "[...document.querySelectorAll('ul.feeds > li')].filter(r => !r.hidden).length"
    with devtools(tmp_path / "profile", NO_XSLT) as browser:
        open_at(browser, (settings.output / "index.html").as_uri(), 375)
        assert evaluate(browser, shown) == 701
        evaluate(browser, "document.getElementById('filter').value = 'topic 123'")
        took = evaluate(
            browser,
            "(() => { const start = performance.now();"
            " document.getElementById('filter').dispatchEvent(new Event('input'));"
            " return performance.now() - start; })()",
        )
        assert evaluate(browser, shown) == 1
        assert evaluate(browser, "document.getElementById('found').textContent") == (
            "1 of 701 feeds"
        )
    assert took < 250  # milliseconds for a keystroke; a few on this machine


def test_without_scripts_the_index_lists_every_feed_and_hides_the_filter(
    server: LiveServer, tmp_path: Path
) -> None:
    with devtools(tmp_path / "profile", NO_XSLT) as browser:
        browser("Emulation.setScriptExecutionDisabled", value=True)
        browser("Page.navigate", url=server.url)
        # No script to ask whether it loaded: the DOM is read from outside until it is whole.
        deadline = time.monotonic() + 20
        dom = ""
        while "<script>" not in dom:  # the last element of the page
            assert time.monotonic() < deadline, dom
            time.sleep(0.1)
            root = browser("DOM.getDocument")["root"]["nodeId"]
            dom = browser("DOM.getOuterHTML", nodeId=root)["outerHTML"]
    page = html.document_fromstring(dom)
    assert page.get_element_by_id("find").get("hidden") is not None
    rows = page.xpath("//ul[contains(@class, 'feeds')]/li")
    assert len(rows) == 22
    assert not [row for row in rows if row.get("hidden") is not None]
    assert len(page.xpath("//ol[contains(@class, 'headlines')]/li")) == 10


def test_without_xslt_a_feed_itself_shows_as_xml(server: LiveServer, tmp_path: Path) -> None:
    url = server.url + "topics/climate.atom"
    dom = chromium(tmp_path / "profile", NO_XSLT, "--dump-dom", url).stdout
    page = html.document_fromstring(dom)
    assert page.xpath("//style[@id='xml-viewer-style']")  # Chromium's XML tree viewer
    assert "Browsed News: Climate</title>" in page.text_content()


def test_browsers_get_feeds_as_xml_and_readers_as_feeds(server: LiveServer) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path, media_type in (
        ("all.rss", "application/rss+xml"),
        ("all.atom", "application/atom+xml"),
    ):
        for accept, expected in ((browser, "application/xml"), ("*/*", media_type)):
            request = urllib.request.Request(server.url + path, headers={"Accept": accept})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["content-type"] == f"{expected}; charset=utf-8"
                assert response.headers["vary"] == "Accept-Encoding, Accept"
    request = urllib.request.Request(server.url + "topics/ai.html", headers={"Accept": browser})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_index_groups_feeds_with_a_subscribe_link_each_and_an_opml_per_group(
    server: LiveServer, tmp_path: Path
) -> None:
    dom = chromium(tmp_path / "p", NO_XSLT, "--dump-dom", server.url).stdout
    page = html.document_fromstring(dom)
    feeds = built_feeds(server)
    groupings = [g for g in GROUPINGS if any(f.grouping == g.name for f in feeds)]
    sections = page.xpath("//section[contains(@class, 'feeds')]")
    assert [s.get("id") for s in sections] == [g.name for g in groupings]
    for section, grouping in zip(sections, groupings, strict=True):
        assert section.findtext("h2") == grouping.label
        opml = section.xpath(".//a[@class='opml']/@href")
        assert opml == ([f"{grouping.folder}.opml"] if grouping.folder else [])
        rows = section.xpath(".//ul/li")
        links = section.xpath(".//a[@class='subscribe']")
        assert len(links) == len(rows) > 0
        for row, link in zip(rows, links, strict=True):
            assert link.text_content() == "Subscribe"
            # Without script it opens the feed's page, with script it copies the address.
            (name,) = row.xpath("a[@class='name']/@href")
            assert link.get("href") == name
            assert link.get("data-url") == server.url + name.removesuffix(".html") + ".rss"
        names = [row.findtext("a[@class='name']") for row in rows]
        assert names == sorted(names, key=str.casefold)  # by name, not by domain or slug


def test_subscribe_copies_the_feed_url(server: LiveServer, tmp_path: Path) -> None:
    loaded = "document.readyState === 'complete' && document.querySelectorAll('a.subscribe').length"
    with devtools(tmp_path / "profile") as page:
        page("Browser.grantPermissions", permissions=["clipboardReadWrite"])
        # A person clicking focuses the page; the clipboard refuses pages without focus.
        page("Emulation.setFocusEmulationEnabled", enabled=True)
        for n, without_api in ((3, False), (5, True)):
            page("Page.navigate", url=server.url)
            wait_for(page, loaded)
            if without_api:  # as on a plain-http site: the fallback, execCommand("copy")
                evaluate(page, "Object.defineProperty(navigator, 'clipboard', {value: undefined})")
            link = f"document.querySelectorAll('a.subscribe')[{n}]"
            url = evaluate(page, f"{link}.dataset.url")
            assert url.startswith(server.url + "topics/")
            evaluate(page, f"{link}.click()", gesture=True)
            wait_for(page, f"{link}.textContent === 'Copied'")
            assert evaluate(page, "location.href") == server.url  # copied, not followed
            page("Page.navigate", url=server.url)  # a fresh page, with the Clipboard API
            wait_for(page, loaded)
            assert evaluate(page, "navigator.clipboard.readText()") == url


def test_without_scripts_subscribe_opens_the_page_with_the_address(server: LiveServer) -> None:
    page = html.document_fromstring(fetch(server.url, accept="text/html"))
    links = page.xpath("//a[@class='subscribe']")
    assert len(links) == 22
    for link in links:
        feed_page = html.document_fromstring(fetch(urljoin(server.url, link.get("href"))))
        assert link.get("data-url") in feed_page.xpath("//code[@class='address']/text()")


def test_each_grouping_opml_lists_exactly_its_feeds(server: LiveServer) -> None:
    feeds = built_feeds(server)
    for grouping in GROUPINGS:
        if not any(f.grouping == grouping.name for f in feeds) or not grouping.folder:
            continue
        opml = etree.fromstring(fetch(f"{server.url}{grouping.folder}.opml"))
        assert opml.get("version") == "2.0"
        urls = [o.get("xmlUrl") for o in opml.iter("outline")]
        expected = [server.url + f.path + ".rss" for f in feeds if f.grouping == grouping.name]
        assert urls == expected
        assert len(urls) > 1
        assert opml.findtext("head/title") == f"Browsed News: {grouping.label}"


def test_index_lists_every_feed_and_its_links_resolve(server: LiveServer, tmp_path: Path) -> None:
    dom = chromium(tmp_path / "profile", NO_XSLT, "--dump-dom", server.url).stdout
    page = html.document_fromstring(dom)
    assert page.findtext(".//h1") == "Browsed News"
    rows = page.xpath("//ul[contains(@class, 'feeds')]/li")
    assert len(rows) == server.health()["feeds"] == 22
    links = [urljoin(server.url, href) for href in page.xpath("//a/@href")]
    links = [link for link in links if link.startswith(server.url)]  # not the headlines'
    # its page, three formats and Subscribe per feed, the OPMLs (all, topics, providers) and
    # the page of every entry after the headlines
    assert len(links) == 22 * 5 + 3 + 1
    for link in links:
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200, link
    alternates = page.xpath("//link[@rel='alternate']/@type")
    assert alternates == ["application/rss+xml", "application/atom+xml", "application/feed+json"]


def test_index_renders_to_a_screenshot(server: LiveServer, tmp_path: Path) -> None:
    shot = tmp_path / "index.png"
    chromium(
        tmp_path / "profile", NO_XSLT, "--window-size=1200,1600", f"--screenshot={shot}", server.url
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page is a few KB


def test_the_docs_screenshots_are_made_again_at_a_phones_and_a_desktops_width(
    tmp_path: Path,
) -> None:
    shots = take(tmp_path)
    assert [shot.name for shot in shots] == [
        "index-375.png",
        "index-1280.png",
        "feed-375.png",
        "feed-1280.png",
    ]
    for shot in shots:
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        assert shot.stem.endswith(f"-{width}")
        assert len(data) > 20_000  # a blank page is a few KB


def built_feeds(server: LiveServer) -> list[Feed]:
    """The feeds the server built, built again from its settings file."""
    settings = load_settings(server.log.parent / "settings.yaml", base_url=server.url)
    return build(settings).feeds
