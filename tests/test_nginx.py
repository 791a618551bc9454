"""The nginx configs of deploy/nginx run by Debian's nginx (``make nginx`` installs it) on
loopback: serving a built output folder (static.conf) and in front of a real ``feeds serve``
(proxy.conf). Only the configs' placeholders (paths, ports) are replaced."""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import feedparser
import pytest

from feeds.build import build
from feeds.layout import cache_control, content_type
from feeds.serve.http import BROWSER_TYPE
from feeds.settings import load_settings
from tests.conftest import EXAMPLES, ROOT, example_site, run_cli
from tests.live import LiveServer, free_port, live_server, stop, wait_until_up

DEPLOY = ROOT / "deploy" / "nginx"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
)
pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(NGINX is None, reason="nginx not installed (make nginx)"),
]

READER = "application/atom+xml, application/rss+xml, application/feed+json;q=0.9, */*;q=0.1"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# What the tests put around a shipped config: the http {} block of a typical nginx.conf
# (Debian's turns gzip on for every server), with every file nginx writes in the temp folder.
NGINX_CONF = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    {mime_types}
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    sendfile on;
    keepalive_timeout 65;
    gzip on;
    gzip_types application/json application/rss+xml application/atom+xml;
    include {prefix}/site.conf;
}}
"""


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def vary(self) -> set[str]:
        return {v.strip().lower() for value in self.all("vary") for v in value.split(",")}


def get(url: str, path: str, method: str = "GET", **headers: str) -> Response:
    host, port = url.removeprefix("http://").strip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        names = {k.replace("_", "-"): v for k, v in headers.items()}
        connection.request(method, path, headers=names)
        response = connection.getresponse()
        return Response(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def render(name: str, placeholders: Mapping[str, str]) -> str:
    """A shipped config with its placeholders replaced; each must be there, so the tests fail
    when a config and its tests drift apart."""
    text = (DEPLOY / name).read_text()
    for placeholder, value in placeholders.items():
        assert placeholder in text, f"{name}: placeholder {placeholder!r} not found"
        text = text.replace(placeholder, value)
    return text


@contextmanager
def running_nginx(folder: Path, site: str) -> Iterator[str]:
    """nginx in the foreground as the current user, serving ``site`` (the config text rendered
    with port ``{port}`` still to fill) on a free loopback port; yields its URL."""
    assert NGINX is not None
    prefix = folder / "nginx"
    prefix.mkdir()
    port = free_port()
    (prefix / "site.conf").write_text(site.replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
    mime_types = Path("/etc/nginx/mime.types")
    (prefix / "nginx.conf").write_text(
        NGINX_CONF.format(
            prefix=prefix,
            # As root, nginx's workers would switch to nobody, who cannot read the temp folder.
            user="user root;" if os.geteuid() == 0 else "",
            mime_types=f"include {mime_types};" if mime_types.exists() else "",
        )
    )
    error_log = prefix / "error.log"
    command = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(error_log)]
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(process, lambda: get(url, "/.probe"), error_log)
        yield url
    finally:
        stop(process)
    # A crashed worker or a failed upstream connection is logged, whatever the client saw.
    errors = [
        line
        for line in error_log.read_text().splitlines()
        if any(level in line for level in ("[emerg]", "[alert]", "[crit]", "upstream"))
    ]
    assert not errors, errors


# ---------------------------------------------------------------- static: static.conf


@dataclass(frozen=True)
class Static:
    url: str
    output: Path
    settings_file: Path


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Static]:
    folder = tmp_path_factory.mktemp("nginx-static")
    shutil.copytree(EXAMPLES, folder / "records")
    shutil.copy(ROOT / "settings.yaml", folder / "settings.yaml")
    done = run_cli("build", "-q", "--settings", str(folder / "settings.yaml"))
    assert done.returncode == 0, done.stderr
    output = folder / "output"
    (output / ".feeds-pinged").write_text("{}")
    types = folder / "feeds-types.conf"
    types.write_text((DEPLOY / "feeds-types.conf").read_text())
    site = render(
        "static.conf",
        {
            "root /srv/feeds/output;": f"root {output};",
            "include /etc/nginx/feeds/feeds-types.conf;": f"include {types};",
        },
    )
    with running_nginx(folder, site) as url:
        yield Static(url, output, folder / "settings.yaml")


def published(output: Path) -> list[str]:
    return sorted((output / ".feeds-manifest").read_text().split())


def test_static_sends_the_apps_media_type_for_every_file(static: Static) -> None:
    paths = published(static.output)
    assert {Path(p).suffix for p in paths} == {".rss", ".atom", ".json", ".opml", ".html"}
    for path in paths:
        response = get(static.url, "/" + path, "HEAD", Accept=READER)
        assert response.status == 200, path
        assert response.header("content-type") == content_type(path), path
    assert get(static.url, "/").header("content-type") == "text/html; charset=utf-8"


def test_static_cache_control_is_the_settings_ttl(static: Static) -> None:
    expected = cache_control(load_settings(static.settings_file).ttl_minutes * 60)
    for path in published(static.output):
        assert get(static.url, "/" + path, "HEAD").header("cache-control") == expected, path
    assert get(static.url, "/").header("cache-control") == expected


def test_static_sends_the_bytes_on_disk_with_cors_on_documents(static: Static) -> None:
    for path in ("all.rss", "topics/ai.atom", "all.json", "feeds.opml", "archive/all/1.json"):
        response = get(static.url, "/" + path, Accept=READER)
        assert response.body == (static.output / path).read_bytes()
        assert response.header("access-control-allow-origin") == "*"
        assert response.header("x-content-type-options") == "nosniff"
    assert get(static.url, "/").body == (static.output / "index.html").read_bytes()


def test_static_gzips_feeds_with_vary(static: Static) -> None:
    for path in ("all.rss", "all.atom", "all.json", "feeds.opml", "all.html", "index.html"):
        response = get(static.url, "/" + path, Accept_Encoding="gzip")
        assert response.all("content-encoding") == ["gzip"], path
        assert "accept-encoding" in response.vary(), path
        assert gzip.decompress(response.body) == (static.output / path).read_bytes(), path
        plain = get(static.url, "/" + path)
        assert plain.header("content-encoding") is None
        assert "accept-encoding" in plain.vary(), path


def test_static_etag_answers_if_none_match_with_304(static: Static) -> None:
    for encoding in ("identity", "gzip"):
        first = get(static.url, "/all.atom", Accept_Encoding=encoding)
        etag = first.header("etag")
        assert etag is not None
        again = get(static.url, "/all.atom", Accept_Encoding=encoding, If_None_Match=etag)
        assert (again.status, again.body) == (304, b"")
        # nginx's gzip filter does not run on a 304, so the gzip variant's ETag comes back
        # strong there; the same validator by weak comparison, which browsers use.
        assert again.header("etag") == etag.removeprefix("W/")
        assert again.header("cache-control") == first.header("cache-control")
    other = get(static.url, "/all.atom", If_None_Match='"0-0"')
    assert other.status == 200


def test_static_last_modified_answers_if_modified_since_with_304(static: Static) -> None:
    first = get(static.url, "/topics/ai.rss")
    last_modified = first.header("last-modified")
    assert last_modified == formatdate(
        int((static.output / "topics/ai.rss").stat().st_mtime), usegmt=True
    )
    again = get(static.url, "/topics/ai.rss", If_Modified_Since=last_modified)
    assert (again.status, again.body) == (304, b"")
    older = get(static.url, "/topics/ai.rss", If_Modified_Since="Thu, 01 Jan 1970 00:00:00 GMT")
    assert older.status == 200


def test_static_rebuild_that_changes_nothing_keeps_the_validators(static: Static) -> None:
    before = {p: get(static.url, "/" + p, "HEAD").header("etag") for p in published(static.output)}
    done = run_cli("build", "-q", "--settings", str(static.settings_file))
    assert done.returncode == 0, done.stderr
    after = {p: get(static.url, "/" + p, "HEAD").header("etag") for p in published(static.output)}
    assert after == before


def test_static_hides_dotfiles_and_directory_listings(static: Static) -> None:
    for path in ("/.feeds-manifest", "/.feeds-pinged", "/topics/.feeds-manifest"):
        assert get(static.url, path).status == 404, path
    assert (static.output / ".feeds-manifest").exists()
    assert get(static.url, "/topics/").status in (403, 404)
    assert get(static.url, "/../settings.yaml").status in (400, 404)


def test_static_gives_browsers_feeds_as_xml_without_a_shared_etag(static: Static) -> None:
    for path in ("all.rss", "archive/all/1.atom"):
        feed = get(static.url, "/" + path, Accept=READER)
        page = get(static.url, "/" + path, Accept=BROWSER)
        assert page.status == feed.status == 200, path
        assert page.header("content-type") == BROWSER_TYPE.decode()
        assert page.body == feed.body
        assert "accept" in page.vary()
        assert "accept" in feed.vary()
        assert page.header("etag") is None
        assert feed.header("etag") is not None
        assert page.header("cache-control") == feed.header("cache-control")
        last_modified = page.header("last-modified")
        assert last_modified is not None
        revalidated = get(static.url, "/" + path, Accept=BROWSER, If_Modified_Since=last_modified)
        assert revalidated.status == 304
    refused = get(static.url, "/all.rss", Accept="text/html;q=0, application/rss+xml")
    assert refused.header("content-type") == content_type("all.rss")
    json_feed = get(static.url, "/all.json", Accept=BROWSER)
    assert json_feed.header("content-type") == content_type("all.json")


def test_static_feed_reads_through_feedparser_with_a_304_poll(static: Static) -> None:
    first = feedparser.parse(static.url + "all.atom")
    assert not first.bozo, first.get("bozo_exception")
    assert first.status == 200
    assert first.feed.title == "Example News"
    assert len(first.entries) == load_settings(static.settings_file).max_entries
    assert first.headers["content-encoding"] == "gzip"
    poll = feedparser.parse(static.url + "all.atom", etag=first.etag, modified=first.modified)
    assert poll.status == 304
    assert poll.entries == []


# ---------------------------------------------------------------- proxy: proxy.conf


@dataclass(frozen=True)
class Proxied:
    url: str
    app: LiveServer
    paths: list[str]
    sealed: set[str]


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    folder = tmp_path_factory.mktemp("nginx-proxy")
    settings_file = example_site(
        folder,
        "title: Proxied News\nrecords: records\nmax_entries: 8\narchive_page_size: 2\n"
        "hubs: [https://hub.example/]\n",
    )
    result = build(load_settings(settings_file))
    with live_server(settings_file, "--no-watch") as app:
        app_port = app.url.removeprefix("http://127.0.0.1:").strip("/")
        site = render("proxy.conf", {"server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};"})
        with running_nginx(folder, site) as url:
            yield Proxied(url, app, sorted(result.files), result.sealed())


# The headers the app decides; nginx must pass every one through unchanged.
APP_HEADERS = (
    "content-type",
    "content-encoding",
    "content-length",
    "etag",
    "last-modified",
    "cache-control",
    "vary",
    "link",
    "access-control-allow-origin",
)

CLIENTS = (
    {"Accept": READER, "Accept_Encoding": "gzip"},
    {"Accept": READER, "Accept_Encoding": "identity"},
    {"Accept": BROWSER, "Accept_Encoding": "gzip, deflate, br"},
)


def test_proxy_sends_the_apps_bytes_and_headers(proxied: Proxied) -> None:
    assert len(proxied.paths) > 50
    for path in proxied.paths:
        for client in CLIENTS:
            direct = get(proxied.app.url, "/" + path, **client)
            via = get(proxied.url, "/" + path, **client)
            assert via.status == direct.status == 200
            assert via.body == direct.body, path
            for name in APP_HEADERS:
                assert via.all(name) == direct.all(name), (path, client, name)


def test_proxy_gzip_is_the_apps_and_applied_once(proxied: Proxied) -> None:
    for path in ("all.rss", "all.json", "feeds.opml", "index.html"):
        via = get(proxied.url, "/" + path, Accept_Encoding="gzip")
        assert via.all("content-encoding") == ["gzip"]
        assert via.header("etag") == get(
            proxied.app.url, "/" + path, Accept_Encoding="gzip"
        ).header("etag")
        plain = get(proxied.app.url, "/" + path, Accept_Encoding="identity")
        assert gzip.decompress(via.body) == plain.body
    # The health report is small JSON the app leaves uncompressed; the nginx.conf around the
    # config has gzip on for application/json, and the proxy must still not compress it.
    health = get(proxied.url, "/healthz", Accept_Encoding="gzip")
    assert health.status == 200
    assert health.header("content-encoding") is None
    assert health.header("cache-control") == "no-store"


def test_proxy_304s_come_from_the_app(proxied: Proxied) -> None:
    for client in CLIENTS:
        first = get(proxied.url, "/topics/ai.atom", **client)
        etag, last_modified = first.header("etag"), first.header("last-modified")
        assert etag is not None
        assert last_modified is not None
        by_etag = get(proxied.url, "/topics/ai.atom", If_None_Match=etag, **client)
        assert (by_etag.status, by_etag.body, by_etag.header("etag")) == (304, b"", etag)
        by_date = get(proxied.url, "/topics/ai.atom", If_Modified_Since=last_modified, **client)
        assert (by_date.status, by_date.body) == (304, b"")
    # The app logged the 304s: nginx forwarded the conditions instead of answering itself.
    assert (
        sum('"GET /topics/ai.atom HTTP/1.1" 304' in line for line in proxied.app.access_log()) == 6
    )
    stale = get(proxied.url, "/topics/ai.atom", If_None_Match='"0"')
    assert stale.status == 200


def test_proxy_keeps_sealed_pages_immutable_and_hub_links(proxied: Proxied) -> None:
    assert proxied.sealed
    for path in sorted(proxied.sealed):
        via = get(proxied.url, "/" + path, Accept_Encoding="gzip")
        assert via.header("cache-control") == cache_control(0, immutable=True), path
    newest = get(proxied.url, "/archive/all/3.rss")
    assert "archive/all/3.rss" not in proxied.sealed
    assert newest.header("cache-control") == cache_control(3600)
    link = get(proxied.url, "/all.rss").header("link")
    assert link is not None
    assert '<https://hub.example/>; rel="hub"' in link


def established_to(port: int) -> int:
    """Open TCP connections to 127.0.0.1:``port`` on this machine (Linux's /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        count += remote == f"0100007F:{port:04X}" and state == "01"
    return count


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_proxy_reuses_connections_to_the_app(proxied: Proxied) -> None:
    app_port = int(proxied.app.url.removeprefix("http://127.0.0.1:").strip("/"))
    for _ in range(20):
        assert get(proxied.url, "/all.json").status == 200
    # Requests one after another: one connection, kept open for the next (keepalive upstream);
    # without keepalive nginx closes each one after its response.
    assert 1 <= established_to(app_port) <= 2
