"""The index page and the feeds' browser view in a real browser: Debian's headless Chromium
(``make browser`` installs it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from lxml import etree, html
from websockets.sync.client import connect

from feeds.build import build
from feeds.groupings import GROUPINGS
from feeds.model import Feed
from feeds.settings import load_settings
from tests.conftest import example_site
from tests.live import LiveServer, live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
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


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True
    )


# Chromium 156 still applies XSLT, with a banner announcing its removal; the feature flag keeps
# the test working once it is off by default, for as long as Chromium ships the code.
XSLT_ON = ("--enable-features=XSLT", "--disable-features=GenerateXSLTWarningBanner")
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


@pytest.mark.parametrize(
    "path",
    ["all.rss", "topics/climate.rss", "topics/climate.atom", "providers/northwind-example.atom"],
)
def test_a_feed_opens_as_a_readable_page(server: LiveServer, tmp_path: Path, path: str) -> None:
    url = server.url + path
    dom = chromium(tmp_path / "profile", *XSLT_ON, "--dump-dom", url).stdout
    page = html.document_fromstring(dom)
    entries = expected_entries(fetch(url))
    title = etree.fromstring(fetch(url)).xpath("string(//*[local-name()='title'][1])")
    assert page.findtext(".//h1") == title
    assert page.findtext(".//title") == f"{title} (feed)"
    about = page.get_element_by_id("about").text_content()
    assert "This is a web feed" in about
    assert "Copy its address into a feed reader" in about
    assert page.get_element_by_id("feed-url").text_content() == url
    assert (
        urljoin(url, page.get_element_by_id("all-feeds").get("href")) == server.url + "index.html"
    )
    articles = page.xpath("//article")
    assert len(articles) == len(entries) > 0
    for article, entry in zip(articles, entries, strict=True):
        (heading,) = article.xpath(".//h3/a")
        assert (heading.text_content(), heading.get("href")) == (entry["title"], entry["link"])
        assert article.xpath(".//img/@src") == entry["images"]
        related = [
            (a.text_content(), a.get("href")) for a in article.xpath(".//ul[@class='related']//a")
        ]
        assert related == entry["related"]
    # The examples hold images and related links, so the comparisons above are not vacuous.
    assert any(e["images"] for e in entries) or path.startswith("providers/")
    assert any(e["related"] for e in entries)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_an_archive_page_reads_as_history_and_links_both_ways(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, fmt: str
) -> None:
    folder = tmp_path_factory.mktemp("archived")
    example_site(
        folder, "title: Archived News\nrecords: records\nmax_entries: 3\narchive_page_size: 4\n"
    )
    with live_server(folder / "settings.yaml", "--no-watch", "--no-access-log") as archived:
        url = f"{archived.url}archive/all/2.{fmt}"
        dom = chromium(tmp_path / "profile", *XSLT_ON, "--dump-dom", url).stdout
        current = chromium(tmp_path / "p2", *XSLT_ON, "--dump-dom", f"{archived.url}all.{fmt}")
    page = html.document_fromstring(dom)
    assert page.xpath("string(//main/h2)") == "Archived entries"
    # Subscribing to an archive page means subscribing to its feed.
    assert page.get_element_by_id("feed-url").text_content() == f"{archived.url}all.{fmt}"
    assert page.get_element_by_id("current").get("href") == f"{archived.url}all.{fmt}"
    assert page.get_element_by_id("older").get("href") == f"{archived.url}archive/all/1.{fmt}"
    assert page.get_element_by_id("newer").get("href") == f"{archived.url}archive/all/3.{fmt}"
    assert len(page.xpath("//article")) == 4
    front = html.document_fromstring(current.stdout)
    assert front.xpath("string(//main/h2)") == "Recent entries"
    assert front.get_element_by_id("older").get("href") == f"{archived.url}archive/all/3.{fmt}"


def test_a_feed_summary_shows_its_characters_not_escapes(
    server: LiveServer, tmp_path: Path
) -> None:
    url = server.url + "topics/climate.rss"
    page = html.document_fromstring(chromium(tmp_path / "p", *XSLT_ON, "--dump-dom", url).stdout)
    summaries = [p.text_content().strip() for p in page.xpath("//p[@class='summary']")]
    items = etree.fromstring(fetch(url)).iter("item")
    excerpts = [html.fromstring(i.findtext("description")).text_content() for i in items]
    assert summaries == excerpts
    assert not any("&amp;" in s or "&#" in s for s in summaries)


def test_without_xslt_a_browser_shows_the_feed_as_xml(server: LiveServer, tmp_path: Path) -> None:
    url = server.url + "topics/climate.atom"
    dom = chromium(tmp_path / "profile", "--disable-features=XSLT", "--dump-dom", url).stdout
    page = html.document_fromstring(dom)
    assert page.xpath("//style[@id='xml-viewer-style']")  # Chromium's XML tree viewer
    assert not page.xpath("//article")
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
    assert fetch(server.url + "feed.xsl").startswith(b"<?xml")
    with urllib.request.urlopen(server.url + "feed.xsl", timeout=10) as response:
        assert response.headers["content-type"] == "text/xsl; charset=utf-8"


def test_index_groups_feeds_with_a_subscribe_link_each_and_an_opml_per_group(
    server: LiveServer, tmp_path: Path
) -> None:
    page = html.document_fromstring(chromium(tmp_path / "p", "--dump-dom", server.url).stdout)
    feeds = built_feeds(server)
    groupings = [g for g in GROUPINGS if any(f.grouping == g.name for f in feeds)]
    sections = page.xpath("//section")
    assert [s.get("id") for s in sections] == [g.name for g in groupings]
    for section, grouping in zip(sections, groupings, strict=True):
        assert section.findtext("h2") == grouping.label
        opml = section.xpath(".//a[@class='opml']/@href")
        assert opml == ([f"{grouping.folder}.opml"] if grouping.folder else [])
        rows = section.xpath(".//tbody/tr")
        links = section.xpath(".//a[@class='subscribe']")
        assert len(links) == len(rows) > 0
        for link in links:
            assert link.text_content() == "Subscribe"
            assert urljoin(server.url, link.get("href")) == link.get("data-url")
            assert link.get("data-url").endswith(".rss")


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


def test_without_scripts_subscribe_is_a_link_to_the_feed(server: LiveServer) -> None:
    page = html.document_fromstring(fetch(server.url, accept="text/html"))
    links = page.xpath("//a[@class='subscribe']")
    assert len(links) == 22
    for link in links:
        url = urljoin(server.url, link.get("href"))
        assert url == link.get("data-url")
        assert fetch(url).startswith(b"<?xml")


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
    dom = chromium(tmp_path / "profile", "--dump-dom", server.url).stdout
    page = html.document_fromstring(dom)
    assert page.findtext(".//h1") == "Browsed News"
    rows = page.xpath("//tbody/tr")
    assert len(rows) == server.health()["feeds"] == 22
    links = [urljoin(server.url, href) for href in page.xpath("//a/@href")]
    # three formats and a subscribe link per feed, the OPML, and one for topics and providers
    assert len(links) == 22 * 4 + 1 + 2
    for link in links:
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200, link
    alternates = page.xpath("//link[@rel='alternate']/@type")
    assert alternates == ["application/rss+xml", "application/atom+xml", "application/feed+json"]


def test_index_renders_to_a_screenshot(server: LiveServer, tmp_path: Path) -> None:
    shot = tmp_path / "index.png"
    chromium(tmp_path / "profile", "--window-size=1200,1600", f"--screenshot={shot}", server.url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page is a few KB


def built_feeds(server: LiveServer) -> list[Feed]:
    """The feeds the server built, built again from its settings file."""
    settings = load_settings(server.log.parent / "settings.yaml", base_url=server.url)
    return build(settings).feeds


Call = Callable[..., dict[str, Any]]


@contextmanager
def devtools(profile: Path) -> Iterator[Call]:
    """A headless Chromium driven over the DevTools protocol: ``call(method, **params)``."""
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None) as socket:
            ids = iter(range(1, 1_000_000))

            def call(method: str, **params: Any) -> dict[str, Any]:
                n = next(ids)
                socket.send(json.dumps({"id": n, "method": method, "params": params}))
                while True:
                    message = json.loads(socket.recv(timeout=30))
                    if message.get("id") == n:
                        assert "error" not in message, message
                        result: dict[str, Any] = message["result"]
                        return result

            yield call
    finally:
        process.terminate()
        process.wait(timeout=10)


def evaluate(page: Call, expression: str, *, gesture: bool = False) -> Any:
    """The value of ``expression`` in the page; ``gesture`` runs it as if the user acted."""
    result = page(
        "Runtime.evaluate",
        expression=expression,
        awaitPromise=True,
        returnByValue=True,
        userGesture=gesture,
    )
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def wait_for(page: Call, condition: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not evaluate(page, condition):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {condition}"
        time.sleep(0.1)
