"""The app through Starlette's test client: one test per HTTP rule."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from feeds.build import build
from feeds.serve.app import create_app
from feeds.serve.builder import FeedServer
from feeds.serve.http import MIN_COMPRESS
from feeds.settings import Settings
from tests.conftest import EXAMPLES, make_settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def server_of(client: TestClient) -> FeedServer:
    server: FeedServer = client.app.state.server  # type: ignore[attr-defined]
    return server


def rebuild(client: TestClient) -> bool:
    result: bool = client.portal.call(server_of(client).rebuild)  # type: ignore[union-attr]
    return result


def plain(client: TestClient, path: str, **headers: str) -> object:
    return client.get(path, headers={"accept-encoding": "identity", **headers})


def test_index_is_served_at_the_root(client: TestClient, settings: Settings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.content == build(settings).files["index.html"]


def test_every_built_file_is_served_with_the_same_bytes(
    client: TestClient, settings: Settings
) -> None:
    files = build(settings).files
    for path, body in files.items():
        response = client.get("/" + path, headers={"accept-encoding": "identity"})
        assert response.status_code == 200, path
        assert response.content == body, path


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/all.rss", "application/rss+xml"),
        ("/all.atom", "application/atom+xml"),
        ("/all.json", "application/feed+json"),
        ("/feeds.opml", "text/x-opml"),
        ("/index.html", "text/html"),
        ("/topics/climate.atom", "application/atom+xml"),
    ],
)
def test_content_types_name_the_format_and_utf8(
    client: TestClient, path: str, media_type: str
) -> None:
    assert client.get(path).headers["content-type"] == f"{media_type}; charset=utf-8"


def test_etag_is_a_hash_of_the_bytes_and_stable_across_restarts(settings: Settings) -> None:
    body = build(settings).files["all.atom"]
    with TestClient(create_app(settings)) as first:
        etag = first.get("/all.atom", headers={"accept-encoding": "identity"}).headers["etag"]
    with TestClient(create_app(settings)) as second:
        assert (
            second.get("/all.atom", headers={"accept-encoding": "identity"}).headers["etag"] == etag
        )
    assert etag == f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def test_304_when_etag_matches(client: TestClient) -> None:
    etag = client.get("/all.rss").headers["etag"]
    response = client.get("/all.rss", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""


def test_304_when_etag_is_in_a_list_or_weak(client: TestClient) -> None:
    etag = client.get("/all.rss").headers["etag"]
    assert client.get("/all.rss", headers={"if-none-match": f'"other", {etag}'}).status_code == 304
    assert client.get("/all.rss", headers={"if-none-match": f"W/{etag}"}).status_code == 304


def test_304_when_if_none_match_is_star(client: TestClient) -> None:
    assert client.get("/all.rss", headers={"if-none-match": "*"}).status_code == 304


def test_200_when_etag_differs(client: TestClient) -> None:
    assert client.get("/all.rss", headers={"if-none-match": '"stale"'}).status_code == 200


def test_if_none_match_wins_over_if_modified_since(client: TestClient) -> None:
    response = client.get("/all.rss")
    stale = {"if-none-match": '"stale"', "if-modified-since": response.headers["last-modified"]}
    assert client.get("/all.rss", headers=stale).status_code == 200
    fresh = {
        "if-none-match": response.headers["etag"],
        "if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT",
    }
    assert client.get("/all.rss", headers=fresh).status_code == 304


def test_304_when_not_modified_since(client: TestClient) -> None:
    last_modified = client.get("/all.rss").headers["last-modified"]
    assert client.get("/all.rss", headers={"if-modified-since": last_modified}).status_code == 304
    assert (
        client.get(
            "/all.rss", headers={"if-modified-since": "Fri, 01 Jan 2100 00:00:00 GMT"}
        ).status_code
        == 304
    )


def test_200_when_modified_since(client: TestClient) -> None:
    assert (
        client.get(
            "/all.rss", headers={"if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT"}
        ).status_code
        == 200
    )


def test_unparseable_if_modified_since_is_ignored(client: TestClient) -> None:
    assert client.get("/all.rss", headers={"if-modified-since": "yesterday-ish"}).status_code == 200


def test_304_carries_etag_cache_control_and_vary_but_no_body(client: TestClient) -> None:
    etag = client.get("/all.rss").headers["etag"]
    response = client.get("/all.rss", headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=900"
    assert response.headers["vary"] == "Accept-Encoding, Accept"
    assert "content-type" not in response.headers
    assert response.content == b""


def test_head_gives_the_get_headers_without_a_body(client: TestClient) -> None:
    get = client.get("/all.atom", headers={"accept-encoding": "identity"})
    head = client.head("/all.atom", headers={"accept-encoding": "identity"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]


def test_cache_control_and_rss_ttl_come_from_the_settings(client: TestClient) -> None:
    response = client.get("/all.rss", headers={"accept-encoding": "identity"})
    assert response.headers["cache-control"] == "public, max-age=900"
    assert b"<ttl>15</ttl>" in response.content


def test_last_modified_is_the_newest_entry_when_nothing_was_written_before(
    client: TestClient, settings: Settings
) -> None:
    feed = build(settings).feeds[0]
    response = client.get("/all.rss")
    assert parsedate_to_datetime(response.headers["last-modified"]) == feed.updated


def test_last_modified_at_startup_is_the_existing_output_files_mtime(settings: Settings) -> None:
    from feeds.writing import write_output

    write_output(settings.output, build(settings).files)
    os.utime(settings.output / "all.rss", (1_700_000_000, 1_700_000_000))
    with TestClient(create_app(settings)) as client:
        header = client.get("/all.rss").headers["last-modified"]
    assert parsedate_to_datetime(header) == datetime.fromtimestamp(1_700_000_000, UTC)


def test_gzip_when_accepted_with_vary_and_its_own_etag(client: TestClient) -> None:
    identity = client.get("/all.atom", headers={"accept-encoding": "identity"})
    packed = client.get("/all.atom", headers={"accept-encoding": "gzip, deflate"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == identity.headers["vary"] == "Accept-Encoding, Accept"
    assert packed.headers["etag"] != identity.headers["etag"]
    assert packed.content == identity.content  # the client decoded it
    assert int(packed.headers["content-length"]) < len(identity.content)


def test_gzip_etag_gives_304_for_gzip_requests(client: TestClient) -> None:
    etag = client.get("/all.atom", headers={"accept-encoding": "gzip"}).headers["etag"]
    assert (
        client.get(
            "/all.atom", headers={"accept-encoding": "gzip", "if-none-match": etag}
        ).status_code
        == 304
    )


@pytest.mark.parametrize("header", ["identity", "gzip;q=0", "br", "", "*;q=0"])
def test_no_gzip_unless_accepted(client: TestClient, header: str) -> None:
    response = client.get("/all.atom", headers={"accept-encoding": header})
    assert "content-encoding" not in response.headers


def test_gzip_via_wildcard(client: TestClient) -> None:
    assert (
        client.get("/all.atom", headers={"accept-encoding": "*"}).headers["content-encoding"]
        == "gzip"
    )


def test_tiny_bodies_are_not_compressed(records: Path, write_record: object) -> None:
    settings = make_settings(records)
    with TestClient(create_app(settings)) as client:  # no records: tiny feeds
        response = client.get("/all.json", headers={"accept-encoding": "gzip"})
    assert len(response.content) < MIN_COMPRESS
    assert "content-encoding" not in response.headers


def test_compressed_bodies_are_prepared_once_per_build(client: TestClient) -> None:
    snapshot = server_of(client).snapshot
    assert snapshot is not None
    document = snapshot.documents["/all.atom"]
    assert document.gzip is not None
    body = Path(document.blob).read_bytes()
    assert gzip.decompress(Path(document.blob + ".gz").read_bytes()) == body
    assert client.get("/all.atom", headers={"accept-encoding": "gzip"}).content == body
    assert server_of(client).snapshot is snapshot


def test_feeds_allow_any_origin(client: TestClient) -> None:
    for path in ("/all.rss", "/all.atom", "/all.json", "/feeds.opml"):
        assert client.get(path).headers["access-control-allow-origin"] == "*"


def test_unknown_paths_are_404_with_a_short_text(client: TestClient) -> None:
    response = client.get("/nope.rss")
    assert response.status_code == 404
    assert response.text == "Not Found\n"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow(client: TestClient, method: str) -> None:
    response = client.request(method, "/all.rss")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/../settings.yaml",
        "/%2e%2e/settings.yaml",
        "/topics/..%2f..%2fsettings.yaml",
        "/topics\\..\\all.rss",
        "//etc/passwd",
        "/etc/passwd",
        "/topics/",
        "/topics",
        "/.feeds-manifest",
    ],
)
def test_paths_outside_the_feed_set_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_healthz_reports_the_last_build_and_counts_uncached(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert datetime.fromisoformat(body["last_build"]) <= datetime.now(UTC)
    assert (body["records"], body["published"], body["rejected"], body["feeds"]) == (14, 13, 0, 22)


def test_a_rebuild_that_changes_nothing_keeps_validators(client: TestClient) -> None:
    before = client.get("/all.rss")
    assert rebuild(client)
    after = client.get("/all.rss")
    assert after.headers["etag"] == before.headers["etag"]
    assert after.headers["last-modified"] == before.headers["last-modified"]


def test_an_edited_excerpt_moves_only_the_changed_documents(
    client: TestClient, settings: Settings
) -> None:
    record = settings.records / "005_cpp-safety-profiles.txt"
    untouched = client.get("/topics/space.atom")
    touched = client.get("/topics/c-plus-plus.atom")
    record.write_text(record.read_text().replace('excerpt: "', 'excerpt: "Edited. ', 1))
    assert rebuild(client)
    again_untouched = client.get("/topics/space.atom")
    again_touched = client.get("/topics/c-plus-plus.atom")
    assert again_untouched.headers["etag"] == untouched.headers["etag"]
    assert again_untouched.headers["last-modified"] == untouched.headers["last-modified"]
    assert again_touched.headers["etag"] != touched.headers["etag"]
    assert parsedate_to_datetime(again_touched.headers["last-modified"]) > parsedate_to_datetime(
        touched.headers["last-modified"]
    )
    assert b"Edited." in again_touched.content


def test_a_failed_rebuild_keeps_serving_the_last_good_set(
    client: TestClient, settings: Settings
) -> None:
    body = client.get("/all.rss").content
    shutil.rmtree(settings.records)
    assert not rebuild(client)
    assert client.get("/all.rss").content == body
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "stale"
    assert "records folder not found" in response.json()["last_error"]


def test_bad_settings_on_reload_keep_the_last_good_set(tmp_path: Path) -> None:
    records = tmp_path / "records"
    shutil.copytree(EXAMPLES, records)
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("title: Before\nbase_url: https://example.org/feeds/\n")
    from feeds.settings import load_settings

    app = create_app(load_settings(settings_file), settings_file=settings_file)
    with TestClient(app) as client:
        settings_file.write_text("title: After\nmax_entrys: 3\n")
        server_of(client).request_rebuild(settings_changed=True)
        assert not rebuild(client)
        assert (
            b"<title>Before</title>"
            in client.get("/all.rss", headers={"accept-encoding": "identity"}).content
        )
        assert "max_entrys" in client.get("/healthz").json()["last_error"]
        settings_file.write_text("title: After\nbase_url: https://example.org/feeds/\n")
        server_of(client).request_rebuild(settings_changed=True)
        assert rebuild(client)
        assert (
            b"<title>After</title>"
            in client.get("/all.rss", headers={"accept-encoding": "identity"}).content
        )


def test_serving_never_writes_the_output_folder_unless_asked(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        client.get("/all.rss")
    assert not settings.output.exists()
    with TestClient(create_app(replace(settings), write=True)) as client:
        client.get("/all.rss")
    assert (settings.output / "all.rss").read_bytes() == build(settings).files["all.rss"]


def test_a_browser_gets_a_feed_as_xml_with_its_own_etags(client: TestClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path in ("/all.rss", "/all.atom"):
        for encoding in ("identity", "gzip"):
            reader = client.get(path, headers={"accept-encoding": encoding})
            seen = client.get(path, headers={"accept": browser, "accept-encoding": encoding})
            assert seen.headers["content-type"] == "application/xml; charset=utf-8"
            assert seen.content == reader.content
            assert seen.headers["etag"] != reader.headers["etag"]
            again = client.get(
                path,
                headers={
                    "accept": browser,
                    "accept-encoding": encoding,
                    "if-none-match": seen.headers["etag"],
                },
            )
            assert again.status_code == 304
    html = client.get("/", headers={"accept": browser})
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["vary"] == "Accept-Encoding"
    page = client.get("/topics/ai.html", headers={"accept": browser})
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"


def test_an_archive_page_is_compressed_once_on_its_first_gzip_request(settings: Settings) -> None:
    with TestClient(create_app(replace(settings, max_entries=2, archive_page_size=2))) as client:
        snapshot = server_of(client).snapshot
        assert snapshot is not None
        path, document = next(
            (path, document)
            for path, document in sorted(snapshot.documents.items())
            if path.startswith("/archive/") and document.size >= MIN_COMPRESS
        )
        packed = Path(document.blob + ".gz")
        assert document.gzip is None
        assert not packed.exists()  # not made by the build: archive pages are rarely fetched
        response = client.get(path, headers={"accept-encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["etag"] == f'"{document.digest}-gz"'
        assert int(response.headers["content-length"]) == packed.stat().st_size
        assert gzip.decompress(packed.read_bytes()) == Path(document.blob).read_bytes()
        assert response.content == Path(document.blob).read_bytes()
        etag = response.headers["etag"]
        again = client.get(path, headers={"accept-encoding": "gzip", "if-none-match": etag})
        assert again.status_code == 304


def test_a_blob_changed_under_the_server_is_503_never_other_bytes(client: TestClient) -> None:
    snapshot = server_of(client).snapshot
    assert snapshot is not None
    blob = Path(snapshot.documents["/feeds.opml"].blob)
    with blob.open("ab") as f:  # in place, by hand: the served bytes no longer match the ETag
        f.write(b"<!-- edited -->")
    response = client.get("/feeds.opml", headers={"accept-encoding": "identity"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert b"edited" not in response.content
