"""``feeds publish s3://…`` and ``feeds fetch`` against a real S3 API (moto's server) on loopback,
through the real command; what the store holds is read back with boto3."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from feeds.layout import content_type, stage
from feeds.publish.plan import PUBLISHED, read_manifest
from feeds.writing import listed_files
from tests.conftest import EXAMPLES, ROOT, record_text, run_cli
from tests.hub import running_hub
from tests.s3server import S3Server, s3_proxy

SUMMARY = re.compile(
    r"^feeds publish: (\d+) uploaded, (\d+) unchanged, (\d+) deleted, (\d+) failed(?:, (\d+) left \(no --delete\))? in (\S+) \([\d.]+ s\)$",
    re.MULTILINE,
)
CORAL = "013_coral-reef-thermal-tolerance.txt"
LUNAR = "002_lunar-relay-satellite.txt"  # the only record of the topic "Space"


@dataclass
class Site:
    """The example records in a folder of their own, built and published by the real command."""

    root: Path
    s3: S3Server
    bucket: str
    prefix: str = "site/"

    @property
    def dest(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def output(self) -> Path:
        return self.root / "output"

    def build(self) -> None:
        result = run_cli("build", "--settings", str(self.root / "settings.yaml"), "-q")
        assert result.returncode == 0, result.stderr

    def publish(self, *args: str, endpoint: str | None = None) -> tuple[int, str, str]:
        result = run_cli(
            "publish",
            self.dest,
            "--settings",
            str(self.root / "settings.yaml"),
            *args,
            env=self.s3.env(endpoint),
        )
        return result.returncode, result.stdout, result.stderr

    def files(self) -> dict[str, bytes]:
        return {path: (self.output / path).read_bytes() for path in listed_files(self.output)}

    def stored(self) -> dict[str, bytes]:
        return self.s3.objects(self.bucket, self.prefix)

    def edit(self, record: str, old: str, new: str) -> None:
        path = self.root / "records" / record
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, s3: S3Server) -> Site:
    shutil.copytree(EXAMPLES, tmp_path / "records")
    settings = (EXAMPLES.parent / "settings.yaml").read_text()
    (tmp_path / "settings.yaml").write_text(settings)
    built = Site(tmp_path, s3, s3.bucket())
    built.build()
    return built


def summary(stdout: str) -> tuple[int, int, int, int, int]:
    match = SUMMARY.search(stdout)
    assert match, stdout
    return tuple(int(g or 0) for g in match.groups()[:5])  # type: ignore[return-value]


def uploaded(stdout: str) -> set[str]:
    return {line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith("uploaded ")}


def test_first_publish_uploads_every_file_with_its_headers(site: Site) -> None:
    code, out, err = site.publish()
    assert code == 0, err
    files = site.files()
    assert summary(out) == (len(files), 0, 0, 0, 0)
    stored = site.stored()
    assert stored == {**files, PUBLISHED: stored[PUBLISHED]}
    client = site.s3.client()
    immutable = "public, max-age=31536000, immutable"
    for path in files:
        head = client.head_object(Bucket=site.bucket, Key=site.prefix + path)
        assert head["ContentType"] == content_type(path), path
        assert "ContentEncoding" not in head, path
        assert head["ETag"] == f'"{hashlib.md5(files[path]).hexdigest()}"'
        # Pages 1 and 2 of "all" have a newer page; page 3 is the newest and still fills up.
        sealed = re.fullmatch(r"archive/all/[12]\.(rss|atom|json)", path) is not None
        assert (head["CacheControl"] == immutable) == sealed, path
        if not sealed:
            assert head["CacheControl"] == "public, max-age=3600", path
    assert content_type("all.json") == "application/feed+json; charset=utf-8"
    record = json.loads(stored[PUBLISHED])["objects"]
    assert record["all.rss"]["sha256"] == hashlib.sha256(files["all.rss"]).hexdigest()


@pytest.mark.slow
def test_second_publish_uploads_nothing(site: Site) -> None:
    assert site.publish()[0] == 0
    before = site.s3.client().head_object(Bucket=site.bucket, Key=site.prefix + "index.html")
    code, out, err = site.publish("-v")
    assert code == 0, err
    assert summary(out) == (0, len(site.files()), 0, 0, 0)
    assert uploaded(out) == set()
    after = site.s3.client().head_object(Bucket=site.bucket, Key=site.prefix + "index.html")
    assert after["LastModified"] == before["LastModified"]


@pytest.mark.slow
def test_one_changed_record_uploads_only_the_objects_it_changed(site: Site) -> None:
    assert site.publish()[0] == 0
    before = site.files()
    site.edit(CORAL, "Some corals inherit", "Several corals inherit")
    site.build()
    after = site.files()
    changed = {path for path in after if before.get(path) != after[path]}
    assert "all.atom" in changed
    assert "providers/technologyreview-com.atom" not in changed
    code, out, err = site.publish("-v")
    assert code == 0, err
    assert uploaded(out) == changed
    assert summary(out) == (len(changed), len(after) - len(changed), 0, 0, 0)
    assert {k: v for k, v in site.stored().items() if k != PUBLISHED} == after


@pytest.mark.slow
def test_objects_of_gone_feeds_are_removed_only_with_delete(site: Site) -> None:
    assert site.publish()[0] == 0
    client = site.s3.client()
    client.put_object(Bucket=site.bucket, Key=site.prefix + "robots.txt", Body=b"mine")
    before = set(site.files())
    (site.root / "records" / LUNAR).unlink()
    site.build()
    gone = before - set(site.files())
    # The topic's feed, and the newest archive page of feeds that now have one entry less.
    assert {"topics/space.rss", "topics/space.atom", "topics/space.json"} < gone

    code, out, err = site.publish()
    assert code == 0, err
    assert summary(out)[2:] == (0, 0, len(gone))
    assert gone <= set(site.stored())

    # Replaced since by another tool (no sha256 metadata: its bytes are read and hashed).
    client.put_object(Bucket=site.bucket, Key=site.prefix + "topics/space.json", Body=b"{}")
    code, out, err = site.publish("--delete", "-v")
    assert code == 0, err
    assert summary(out)[2:] == (len(gone) - 1, 0, 0)
    assert (
        f"feeds: warning: {site.dest}topics/space.json: changed since feeds published it; "
        "not deleted" in err.splitlines()
    )
    stored = site.stored()
    assert gone & set(stored) == {"topics/space.json"}
    assert stored["topics/space.json"] == b"{}"
    assert stored["robots.txt"] == b"mine"  # never published by feeds: never deleted
    assert set(json.loads(stored[PUBLISHED])["objects"]) == set(site.files())
    assert {f"deleted {p}" for p in gone - {"topics/space.json"}} <= set(out.splitlines())


@pytest.mark.slow
def test_without_the_publish_manifest_equal_objects_are_found_by_etag(site: Site) -> None:
    assert site.publish()[0] == 0
    site.s3.client().delete_object(Bucket=site.bucket, Key=site.prefix + PUBLISHED)
    code, out, err = site.publish()
    assert code == 0, err
    assert summary(out) == (0, len(site.files()), 0, 0, 0)
    assert PUBLISHED in site.stored()  # written again, so the next publish reads it


@pytest.mark.slow
def test_objects_go_up_archive_pages_first_and_the_index_and_manifest_last(site: Site) -> None:
    with s3_proxy(site.s3.url) as proxy:
        code, _, err = site.publish(endpoint=proxy.url)
    assert code == 0, err
    order = [put.removeprefix(f"/{site.bucket}/{site.prefix}") for put in proxy.puts()]
    # The manifest first, marked unfinished, and last, complete.
    assert order[0] == order[-1] == PUBLISHED
    stages = [stage(path) for path in order[1:-1]]
    assert stages == sorted(stages)
    assert order.index("all.rss") < order.index("all.html") < order.index("feeds.opml")
    assert order.index("feeds.opml") < order.index("index.html")
    assert set(order[1:-1]) == set(site.files())


@pytest.mark.slow
def test_a_refused_upload_holds_back_the_index_and_a_second_run_finishes(site: Site) -> None:
    assert site.publish()[0] == 0
    old = site.stored()
    # A record with a new topic: a new feed, which the index and the OPMLs will list.
    (site.root / "records" / "100_tide.txt").write_text(
        record_text(title="Tide gauges", webUrl="https://news.example/tide", topics=["Oceans"])
    )
    site.build()
    assert {"topics/oceans.atom", "index.html", "feeds.opml"} <= set(site.files())
    refused = f"/{site.bucket}/{site.prefix}topics/oceans.atom"
    with s3_proxy(site.s3.url, lambda method, path: method == "PUT" and path == refused) as proxy:
        code, out, err = site.publish(endpoint=proxy.url)
    assert code == 3, out + err
    assert re.search(r"^feeds: not published: topics/oceans\.atom: .*SlowDown", err, re.MULTILINE)
    for held_back in ("index.html", "feeds.opml", "topics.opml"):
        assert f"feeds: not published: {held_back}: waits" in err
    stored = site.stored()
    assert stored["index.html"] == old["index.html"]  # still lists only what is there
    assert stored["feeds.opml"] == old["feeds.opml"]
    assert "topics/oceans.atom" not in stored
    marker = read_manifest(stored[PUBLISHED])
    assert not marker.complete  # so the next publish checks every object
    assert marker.objects == read_manifest(old[PUBLISHED]).objects
    assert stored["topics/oceans.rss"] == site.files()["topics/oceans.rss"]  # the others went up

    code, out, err = site.publish("-v")
    assert code == 0, err
    assert {"topics/oceans.atom", "index.html", "feeds.opml"} <= uploaded(out)
    assert {k: v for k, v in site.stored().items() if k != PUBLISHED} == site.files()


@pytest.mark.slow
def test_dry_run_lists_the_changes_and_changes_nothing(site: Site) -> None:
    assert site.publish()[0] == 0
    site.edit(CORAL, "Some corals inherit", "Several corals inherit")
    site.build()
    before = site.stored()
    code, out, err = site.publish("--dry-run", "--delete")
    assert code == 0, err
    assert "upload all.atom" in out.splitlines()
    assert "upload providers/technologyreview-com.atom" not in out.splitlines()
    assert re.search(
        r"^feeds publish: dry run: \d+ to upload, \d+ unchanged, 0 to delete;", out, re.MULTILINE
    )
    assert site.stored() == before


@pytest.mark.slow
def test_hubs_are_pinged_for_the_uploaded_feeds_only(site: Site) -> None:
    assert site.publish()[0] == 0
    with running_hub() as hub:
        settings = site.root / "settings.yaml"
        settings.write_text(settings.read_text() + f"hubs: [{hub.url}]\n")
        site.build()  # the feeds now name the hub: every subscription document changed
        code, out, err = site.publish()
        assert code == 0, err
        everything = hub.urls()
        assert "https://example.org/feeds/all.atom" in everything
        assert not [u for u in everything if "/archive/" in u or u.endswith((".html", ".opml"))]

        hub.clear()
        site.edit(CORAL, "Some corals inherit", "Several corals inherit")
        site.build()
        code, out, err = site.publish("--no-ping")
        assert code == 0, err
        assert hub.urls() == []

        site.edit(CORAL, "Several corals inherit", "Many corals inherit")
        site.build()
        code, out, err = site.publish("-v")
        assert code == 0, err
        feeds = {p for p in uploaded(out) if not p.startswith("archive/") and "." in p}
        expected = sorted(
            "https://example.org/feeds/" + p for p in feeds if not p.endswith((".html", ".opml"))
        )
        assert hub.urls() == expected
        assert "https://example.org/feeds/topics/space.atom" not in expected


@pytest.mark.slow
def test_fetch_copies_the_last_publish_for_feeds_diff(site: Site, tmp_path: Path) -> None:
    env = site.s3.env()
    empty = run_cli("fetch", site.dest, str(tmp_path / "none"), env=env)
    assert empty.returncode == 0, empty.stderr
    assert "nothing published yet" in empty.stdout
    assert site.publish()[0] == 0
    fetched = run_cli("fetch", site.dest, str(tmp_path / "previous"), env=env)
    assert fetched.returncode == 0, fetched.stderr
    copy = {
        p: (tmp_path / "previous" / p).read_bytes() for p in listed_files(tmp_path / "previous")
    }
    assert copy == site.files()
    diff = run_cli("diff", str(tmp_path / "previous"), str(site.output))
    assert diff.returncode == 0, diff.stdout
    assert "0 new, 0 gone, 0 changed" in diff.stdout


@pytest.mark.slow
def test_an_unreachable_store_is_exit_3_and_names_it(site: Site) -> None:
    code, _, err = site.publish("--endpoint-url", "http://127.0.0.1:9/")
    assert code == 3
    assert f"cannot read {site.dest}{PUBLISHED}" in err
    assert "nothing was published" in err


def retitle(site: Site, title: str) -> None:
    """Another title in the settings: every document of the next build changes."""
    settings = site.root / "settings.yaml"
    text = re.sub(r"^title: .*$", f"title: {title}", settings.read_text(), count=1, flags=re.M)
    settings.write_text(text)


def publish_killed_at_put(site: Site, count: int) -> int:
    """Run ``feeds publish`` through a proxy that SIGKILLs it when its ``count``th upload
    arrives (that upload, and any after it, never reach the store); its exit status."""
    puts = itertools.count(1)
    running: list[subprocess.Popen[bytes]] = []
    ready = threading.Event()

    def kill_at(method: str, path: str) -> bool:
        if method != "PUT" or next(puts) < count:
            return False
        ready.wait(30)
        running[0].send_signal(signal.SIGKILL)
        return True

    with s3_proxy(site.s3.url, kill_at) as proxy:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "feeds",
                "publish",
                site.dest,
                "--settings",
                str(site.root / "settings.yaml"),
            ],
            cwd=ROOT,
            env={**os.environ, **site.s3.env(proxy.url)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        running.append(process)
        ready.set()
        return process.wait(timeout=120)


@pytest.mark.slow
def test_s3_publish_after_killed_publish_restores_older_build_or_a_newer_one(site: Site) -> None:
    rng = random.Random(3)
    titles = ["Example News", "Example News Two", "Example News Three"]
    for run, back in enumerate([True, False]):
        site.prefix = f"run{run}/"
        # Every document differs between the three builds.
        first, killed, third = rng.sample(titles, 3)
        retitle(site, first)
        site.build()
        assert site.publish()[0] == 0
        retitle(site, killed)
        site.build()
        partly = site.files()
        assert publish_killed_at_put(site, rng.randint(10, 80)) == -signal.SIGKILL
        stored = site.stored()
        assert any(stored.get(p) == partly[p] for p in partly)

        retitle(site, first if back else third)
        site.build()
        code, _, err = site.publish("--delete")
        assert code == 0, err
        assert {k: v for k, v in site.stored().items() if k != PUBLISHED} == site.files()
        assert summary(site.publish()[1])[:2] == (0, len(site.files()))


@pytest.mark.slow
def test_an_object_feeds_did_not_write_is_listed_and_nothing_is_published(site: Site) -> None:
    client = site.s3.client()
    client.put_object(Bucket=site.bucket, Key=site.prefix + "index.html", Body=b"<h1>Mine</h1>")
    code, out, err = site.publish()
    assert code == 2, out + err
    assert re.search(r"^feeds: .*index\.html: not written by feeds", err, re.MULTILINE), err
    assert site.stored() == {"index.html": b"<h1>Mine</h1>"}

    code, out, err = site.publish("--overwrite")
    assert code == 0, err
    assert site.stored()["index.html"] == site.files()["index.html"]


@pytest.mark.slow
def test_every_object_carries_the_sha256_of_its_bytes(site: Site) -> None:
    assert site.publish()[0] == 0
    client = site.s3.client()
    for path, data in site.files().items():
        head = client.head_object(Bucket=site.bucket, Key=site.prefix + path)
        assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest()}, path
