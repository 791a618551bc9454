"""The index page in a real browser: Debian's headless Chromium (``make browser`` installs it)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from lxml import html

from tests.conftest import EXAMPLES
from tests.live import LiveServer, live_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browsed")
    shutil.copytree(EXAMPLES, folder / "records")
    (folder / "settings.yaml").write_text("title: Browsed News\nrecords: records\n")
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


def test_index_lists_every_feed_and_its_links_resolve(server: LiveServer, tmp_path: Path) -> None:
    dom = chromium(tmp_path / "profile", "--dump-dom", server.url).stdout
    page = html.document_fromstring(dom)
    assert page.findtext(".//h1") == "Browsed News"
    rows = page.xpath("//tbody/tr")
    assert len(rows) == server.health()["feeds"] == 22
    links = [urljoin(server.url, href) for href in page.xpath("//a/@href")]
    assert len(links) == 22 * 3 + 1  # three formats per feed, and the OPML
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
