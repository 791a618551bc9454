"""Publish planning (order, headers, what changed, what goes away) and ``feeds publish`` to a
folder, through the real command."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from feeds.build import build
from feeds.publishing import PUBLISHED, Held, Item, manifest_bytes, parse_manifest, plan
from feeds.rendering.links import sealed_pages
from feeds.settings import load_settings
from feeds.writing import listed_files
from tests.conftest import EXAMPLES, ROOT, run_cli


def item(path: str, digest: str = "a", cache: str = "public, max-age=3600") -> Item:
    return Item(path, digest * 64, digest * 32, "text/plain; charset=utf-8", cache)


def test_archive_pages_go_first_then_feeds_then_stylesheet_opmls_and_index() -> None:
    paths = [
        "index.html",
        "feeds.opml",
        "topics.opml",
        "feed.xsl",
        "all.rss",
        "topics/ai.atom",
        "archive/all/2.rss",
        "archive/topics/ai/1.json",
    ]
    todo = plan([item(p) for p in paths], {}, {}, delete=False, headers=True)
    assert [[i.path for i in s] for s in todo.stages] == [
        ["archive/all/2.rss", "archive/topics/ai/1.json"],
        ["all.rss", "topics/ai.atom"],
        ["feed.xsl"],
        ["feeds.opml", "topics.opml"],
        ["index.html"],
    ]


def test_an_object_with_the_same_bytes_but_other_headers_is_uploaded_again() -> None:
    sealed = item("archive/all/1.rss", cache="public, max-age=31536000, immutable")
    held = {"archive/all/1.rss": Held("a" * 64, None, sealed.content_type, "public, max-age=3600")}
    assert [i.path for i in plan([sealed], held, held, delete=False, headers=True).uploads] == [
        "archive/all/1.rss"
    ]
    # A folder keeps no headers: its web server sets them.
    assert plan([sealed], held, held, delete=False, headers=False).unchanged == (
        "archive/all/1.rss",
    )


def test_an_etag_alone_recognises_equal_bytes() -> None:
    held = {
        "all.rss": Held(
            md5="a" * 32, content_type=item("x").content_type, cache_control="public, max-age=3600"
        )
    }
    assert plan([item("all.rss")], held, {}, delete=False, headers=True).unchanged == ("all.rss",)
    assert plan([item("all.rss", "b")], held, {}, delete=False, headers=True).unchanged == ()


def test_only_objects_the_last_publish_recorded_are_deleted() -> None:
    previous = {"all.rss": Held("a" * 64), "topics/gone.rss": Held("b" * 64)}
    keep = plan([item("all.rss")], previous, previous, delete=False, headers=False)
    assert (keep.deletions, keep.left) == ((), ("topics/gone.rss",))
    drop = plan([item("all.rss")], previous, previous, delete=True, headers=False)
    assert (drop.deletions, drop.left) == (("topics/gone.rss",), ())


def test_sealed_pages_from_paths_agree_with_the_build(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "settings.yaml")
    result = build(settings)
    assert sealed_pages(result.files) == result.sealed() != set()
    assert sealed_pages(["archive/a/1.rss", "archive/a/2.atom", "archive/b/3.json"]) == set()
    assert sealed_pages(["archive/a/b/1.rss", "archive/a/b/2.rss"]) == {"archive/a/b/1.rss"}


def test_the_publish_manifest_reads_back_and_refuses_paths_out_of_the_destination() -> None:
    record = {"all.rss": Held("a" * 64, None, "application/rss+xml", "public, max-age=60")}
    assert parse_manifest(manifest_bytes(record)) == record
    assert manifest_bytes(record) == manifest_bytes(dict(record))
    evil = manifest_bytes({"../etc/passwd": record["all.rss"]})
    assert parse_manifest(evil) is None
    assert parse_manifest(b"{not json") is None
    assert parse_manifest(None) is None


def publish(output: Path, dest: Path | str, *args: str) -> tuple[int, str, str]:
    result = run_cli(
        "publish",
        str(dest),
        "--settings",
        str(ROOT / "settings.yaml"),
        "--output",
        str(output),
        *args,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    result = run_cli("build", "--settings", "settings.yaml", "--output", str(out), "-q")
    assert result.returncode == 0, result.stderr
    return out


def test_a_folder_gets_the_build_and_a_second_publish_writes_nothing(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    code, out, err = publish(output, dest)
    assert code == 0, err
    files = listed_files(output)
    assert f"{len(files)} uploaded, 0 unchanged" in out
    for path in files:
        assert (dest / path).read_bytes() == (output / path).read_bytes()
    assert not (dest / ".feeds-manifest").exists()
    mtimes = {p: (dest / p).stat().st_mtime_ns for p in files}
    code, out, err = publish(output, dest)
    assert code == 0, err
    assert f"0 uploaded, {len(files)} unchanged" in out
    assert {p: (dest / p).stat().st_mtime_ns for p in files} == mtimes


def test_delete_in_a_folder_removes_only_what_feeds_published(output: Path, tmp_path: Path) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    (dest / "robots.txt").write_text("mine")
    (dest / "topics" / "notes.txt").write_text("mine too")
    shutil.copytree(EXAMPLES, tmp_path / "records")
    (tmp_path / "records" / "002_lunar-relay-satellite.txt").unlink()
    rebuilt = run_cli(
        "build",
        "--settings",
        "settings.yaml",
        "--records",
        str(tmp_path / "records"),
        "--output",
        str(output),
        "-q",
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    code, out, err = publish(output, dest, "--delete")
    assert code == 0, err
    assert re.search(r" [1-9]\d* deleted, 0 failed in ", out), out
    assert not (dest / "topics" / "space.atom").exists()
    assert (dest / "robots.txt").read_text() == "mine"
    assert (dest / "topics" / "notes.txt").read_text() == "mine too"
    assert set(parse_manifest((dest / PUBLISHED).read_bytes()) or {}) == set(listed_files(output))


def test_a_file_that_cannot_be_written_holds_back_the_index_until_a_rerun(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    dest.mkdir()
    (dest / "all.atom").mkdir()  # a folder where a feed must go: the rename onto it fails
    code, out, err = publish(output, dest)
    assert code == 3
    assert re.search(
        r"^feeds: not published: all\.atom: cannot write .*all\.atom: ", err, re.MULTILINE
    ), err
    assert "feeds: not published: index.html: waits until the feeds it lists are published" in err
    assert not (dest / "index.html").exists()
    assert not (dest / PUBLISHED).exists()
    assert (dest / "all.rss").is_file()
    assert (dest / "archive" / "all" / "1.rss").is_file()

    (dest / "all.atom").rmdir()
    code, out, err = publish(output, dest, "-v")
    assert code == 0, err
    assert "uploaded all.atom" in out.splitlines()
    assert (dest / "index.html").read_bytes() == (output / "index.html").read_bytes()


def test_publish_without_a_build_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    code, _, err = publish(tmp_path / "out", tmp_path / "www")
    assert code == 2
    assert ".feeds-manifest: run feeds build first" in err
    assert not (tmp_path / "www").exists()


@pytest.mark.parametrize(
    ("dest", "words"),
    [("gs://bucket/x", "unknown destination"), ("s3:///x", "no bucket")],
)
def test_a_bad_destination_is_exit_2(output: Path, dest: str, words: str) -> None:
    code, _, err = publish(output, dest)
    assert code == 2
    assert words in err


def test_fetch_from_a_folder_mirrors_the_last_publish(output: Path, tmp_path: Path) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    fetched = run_cli("fetch", str(dest), str(tmp_path / "copy"))
    assert fetched.returncode == 0, fetched.stderr
    assert listed_files(tmp_path / "copy") == listed_files(output)
