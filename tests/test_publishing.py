"""Publish planning (order, headers, what changed, what goes away) and ``feeds publish`` to a
folder, through the real command."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from feeds.build import build
from feeds.errors import Refused
from feeds.layout import sealed_pages
from feeds.publish.plan import (
    PUBLISHED,
    Held,
    Record,
    Upload,
    claim,
    manifest_bytes,
    parse_manifest,
    plan,
    read_manifest,
    to_check,
)
from feeds.settings import load_settings
from feeds.writing import listed_files
from tests.conftest import EXAMPLES, ROOT, run_cli

SITE = "https://example.org/feeds/"


def item(path: str, digest: str = "a", cache: str = "public, max-age=3600") -> Upload:
    return Upload(path, digest * 64, digest * 32, 10, "text/plain; charset=utf-8", cache)


def held(digest: str, cache: str = "public, max-age=3600") -> Held:
    return Held(digest * 64, digest * 32, "text/plain; charset=utf-8", cache, 10)


def test_archive_pages_go_first_then_feeds_then_their_pages_opmls_and_index() -> None:
    paths = [
        "index.html",
        "feeds.opml",
        "topics.opml",
        "topics/ai.html",
        "all.rss",
        "topics/ai.atom",
        "archive/all/2.rss",
        "archive/topics/ai/1.json",
    ]
    todo = plan([item(p) for p in paths], None, {}, site=SITE, delete=False, headers=True)
    assert [[i.path for i in s] for s in todo.stages] == [
        ["archive/all/2.rss", "archive/topics/ai/1.json"],
        ["all.rss", "topics/ai.atom"],
        ["topics/ai.html"],
        ["feeds.opml", "topics.opml"],
        ["index.html"],
    ]


def test_an_object_with_the_same_bytes_but_other_headers_is_uploaded_again() -> None:
    sealed = item("archive/all/1.rss", cache="public, max-age=31536000, immutable")
    record = Record({"archive/all/1.rss": held("a")}, SITE)
    todo = plan([sealed], record, {}, site=SITE, delete=False, headers=True)
    assert [i.path for i in todo.uploads] == ["archive/all/1.rss"]
    # A folder keeps no headers: its web server sets them.
    todo = plan([sealed], record, {}, site=SITE, delete=False, headers=False)
    assert todo.unchanged == ("archive/all/1.rss",)


def test_an_etag_alone_recognises_equal_bytes_that_feeds_did_not_record() -> None:
    there = {"all.rss": Held(md5="a" * 32, content_type=item("x").content_type, size=10)}
    there["all.rss"] = replace(there["all.rss"], cache_control="public, max-age=3600")
    same = plan([item("all.rss")], None, there, site=SITE, delete=False, headers=True)
    assert (same.unchanged, same.adopted, same.refused) == (("all.rss",), ("all.rss",), ())
    other = plan([item("all.rss", "b")], None, there, site=SITE, delete=False, headers=True)
    assert (other.unchanged, other.uploads, other.refused) == ((), (), ("all.rss",))
    forced = plan(
        [item("all.rss", "b")], None, there, site=SITE, delete=False, overwrite=True, headers=True
    )
    assert ([i.path for i in forced.uploads], forced.replaced) == (["all.rss"], ("all.rss",))


def test_only_recorded_objects_that_still_hold_their_bytes_are_deleted() -> None:
    record = Record({"all.rss": held("a"), "topics/gone.rss": held("b")}, SITE)
    keep = plan([item("all.rss")], record, {}, site=SITE, delete=False, headers=False)
    assert (keep.deletions, keep.left) == ((), ("topics/gone.rss",))
    now = {"topics/gone.rss": Held("b" * 64)}
    drop = plan([item("all.rss")], record, now, site=SITE, delete=True, headers=False)
    assert (drop.deletions, drop.left) == (("topics/gone.rss",), ())
    edited = {"topics/gone.rss": Held("c" * 64)}
    kept = plan([item("all.rss")], record, edited, site=SITE, delete=True, headers=False)
    assert (kept.deletions, kept.kept) == (
        (),
        (("topics/gone.rss", "changed since feeds published it"),),
    )
    assert "topics/gone.rss" not in kept.record.objects
    link = {"topics/gone.rss": Held(regular=False)}
    kept = plan([item("all.rss")], record, link, site=SITE, delete=True, headers=False)
    assert (kept.deletions, kept.kept) == ((), (("topics/gone.rss", "not a regular file"),))


def test_after_an_unfinished_publish_no_recorded_digest_is_trusted() -> None:
    # The manifest says all.rss holds "a", but a killed publish may have written "b" there.
    record = Record({"all.rss": held("a")}, SITE, {"all.rss": frozenset({"b" * 64})})
    assert to_check([item("all.rss")], record, delete=False) == ({"all.rss"}, set())
    there = {"all.rss": Held("b" * 64)}
    todo = plan([item("all.rss")], record, there, site=SITE, delete=False, headers=False)
    assert [i.path for i in todo.uploads] == ["all.rss"]
    gone = plan([item("x.rss")], record, there, site=SITE, delete=True, headers=False)
    assert gone.deletions == ("all.rss",)  # holds what the killed publish wrote: feeds'


def test_the_marker_lists_every_version_a_chain_of_killed_publishes_may_have_written() -> None:
    record = Record({"all.rss": held("a")}, SITE, {"all.rss": frozenset({"b" * 64})})
    todo = plan(
        [item("all.rss", "c"), item("new.rss", "d")],
        record,
        {},
        site=SITE,
        delete=False,
        headers=False,
    )
    assert todo.marker == Record(
        {"all.rss": held("a")},
        SITE,
        {"all.rss": frozenset({"b" * 64, "c" * 64}), "new.rss": frozenset({"d" * 64})},
    )
    assert todo.record.complete
    assert set(todo.record.objects) == {"all.rss", "new.rss"}


def test_another_sites_destination_is_refused_unless_overwritten() -> None:
    theirs = Record({"all.rss": held("a")}, "https://other.example/")
    with pytest.raises(Refused, match=r"another site, https://other\.example/ .*--overwrite"):
        claim(theirs, SITE, "www/", overwrite=False)
    assert claim(theirs, SITE, "www/", overwrite=True) is None
    older = Record({"all.rss": held("a")})  # written before manifests named their site
    assert claim(older, SITE, "www/", overwrite=False) == older


def test_sealed_pages_from_paths_agree_with_the_build(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "settings.yaml")
    result = build(settings)
    assert sealed_pages(result.files) == result.sealed() != set()
    assert sealed_pages(["archive/a/1.rss", "archive/a/2.atom", "archive/b/3.json"]) == set()
    assert sealed_pages(["archive/a/b/1.rss", "archive/a/b/2.rss"]) == {"archive/a/b/1.rss"}


def test_the_publish_manifest_reads_back() -> None:
    record = Record({"all.rss": held("a")}, SITE, {"new.rss": frozenset({"d" * 64})})
    assert read_manifest(manifest_bytes(record)) == record
    older = b'{"version": 1, "objects": {"all.rss": {"sha256": "%s", "content_type": "t", "cache_control": "c"}}}'
    assert read_manifest(older % (b"a" * 64)) == Record({"all.rss": Held("a" * 64, None, "t", "c")})
    assert parse_manifest(None) is None


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "/etc/passwd",
        "a/../../b",
        "a\\..\\b",
        "a\x00b",
        "",
        "a//b",
        "./a",
        PUBLISHED,
        "x/.feeds-tmp-1",
    ],
)
def test_a_publish_manifest_with_an_unsafe_path_is_not_trusted(path: str) -> None:
    for record in (
        Record({path: held("a")}, SITE),
        Record({"all.rss": held("a")}, SITE, {path: frozenset({"a" * 64})}),
    ):
        with pytest.raises(ValueError, match="unsafe path"):
            read_manifest(manifest_bytes(record))
        assert parse_manifest(manifest_bytes(record)) is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "known version"),
        (b'{"version": 9, "objects": {}}', "known version"),
        (b'{"version": 2, "objects": []}', "wrong kind"),
        (b'{"version": 2, "objects": {}, "unfinished": []}', "unfinished"),
        (b'{"version": 2, "objects": {}, "unfinished": {"a": ["x"]}}', "not a list of SHA-256"),
    ],
)
def test_a_publish_manifest_that_is_not_one_is_not_trusted(data: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        read_manifest(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sha256", "zz"), ("md5", 5), ("size", -1), ("size", True), ("content_type", None)],
)
def test_a_publish_manifest_entry_of_the_wrong_kind_is_not_trusted(
    field: str, value: object
) -> None:
    entry = {"sha256": "a" * 64, "content_type": "t", "cache_control": "c", field: value}
    document = {"version": 2, "objects": {"all.rss": entry}}
    with pytest.raises(ValueError, match=r"'all\.rss': "):
        read_manifest(json.dumps(document).encode())


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


@pytest.mark.slow
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
    assert not read_manifest((dest / PUBLISHED).read_bytes()).complete  # the next one checks
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


@pytest.mark.slow
def test_fetch_from_a_folder_mirrors_the_last_publish(output: Path, tmp_path: Path) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    fetched = run_cli("fetch", str(dest), str(tmp_path / "copy"))
    assert fetched.returncode == 0, fetched.stderr
    assert listed_files(tmp_path / "copy") == listed_files(output)


def records_without_space(tmp_path: Path) -> Path:
    """The example records but the only one of the topic Space."""
    records = tmp_path / "records"
    if not records.exists():
        shutil.copytree(EXAMPLES, records)
        (records / "002_lunar-relay-satellite.txt").unlink()
    return records


def build_into(output: Path, records: Path, settings: Path = ROOT / "settings.yaml") -> None:
    args = ["--settings", str(settings), "--records", str(records), "--output", str(output)]
    rebuilt = run_cli("build", *args, "-q")
    assert rebuilt.returncode == 0, rebuilt.stderr


def forget_a_topic(output: Path, tmp_path: Path) -> None:
    build_into(output, records_without_space(tmp_path))


@pytest.mark.slow
def test_a_first_publish_into_a_web_root_lists_its_own_index_and_writes_nothing(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    dest.mkdir()
    (dest / "index.html").write_text("<h1>My home page</h1>")
    (dest / "about.html").write_text("about me")
    code, out, err = publish(output, dest)
    assert code == 2, out + err
    assert re.search(r"^feeds: .*www/index\.html: not written by feeds", err, re.MULTILINE), err
    assert "--overwrite" in err
    assert (dest / "index.html").read_text() == "<h1>My home page</h1>"
    assert sorted(p.name for p in dest.iterdir()) == ["about.html", "index.html"]

    code, out, err = publish(output, dest, "--overwrite")
    assert code == 0, err
    assert (dest / "index.html").read_bytes() == (output / "index.html").read_bytes()
    assert (dest / "about.html").read_text() == "about me"


@pytest.mark.slow
def test_a_file_that_already_holds_the_built_bytes_is_adopted(output: Path, tmp_path: Path) -> None:
    dest = tmp_path / "www"
    dest.mkdir()
    shutil.copy(output / "all.rss", dest / "all.rss")
    code, out, err = publish(output, dest, "-v")
    assert code == 0, err
    assert "adopted all.rss" in out.splitlines()
    assert "all.rss" in parse_published(dest)


@pytest.mark.slow
def test_publishing_another_site_into_a_destination_is_refused_without_overwrite(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    before = {p: (dest / p).read_bytes() for p in listed_files(output)}
    other = tmp_path / "other.yaml"
    settings = (ROOT / "settings.yaml").read_text()
    other.write_text(settings.replace("https://example.org/feeds/", "https://other.example/news/"))
    other_output = tmp_path / "other"
    build_into(other_output, records_without_space(tmp_path), other)

    def publish_other(*args: str) -> tuple[int, str, str]:
        result = run_cli(
            "publish", str(dest), "--settings", str(other), "--output", str(other_output), *args
        )
        return result.returncode, result.stdout, result.stderr

    code, out, err = publish_other("--delete")
    assert code == 2, out + err
    assert "https://example.org/feeds/" in err
    assert "--overwrite" in err
    assert {p: (dest / p).read_bytes() for p in listed_files(output)} == before

    code, out, err = publish_other("--overwrite", "--delete")
    assert code == 0, err
    code, out, err = publish_other("--delete")
    assert code == 0, err
    for path in listed_files(other_output):
        assert (dest / path).read_bytes() == (other_output / path).read_bytes()
    # The first site's own feeds: never this site's to delete.
    assert (dest / "topics" / "space.rss").read_bytes() == before["topics/space.rss"]


@pytest.mark.slow
def test_delete_leaves_a_file_changed_since_feeds_published_it(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    (dest / "topics" / "space.atom").write_text("edited by hand")
    forget_a_topic(output, tmp_path)
    code, _out, err = publish(output, dest, "--delete")
    assert code == 0, err
    assert re.search(
        r"^feeds: warning: .*topics/space\.atom: changed since feeds published it; not deleted$",
        err,
        re.MULTILINE,
    ), err
    assert (dest / "topics" / "space.atom").read_text() == "edited by hand"
    assert not (dest / "topics" / "space.rss").exists()
    assert "topics/space.atom" not in parse_published(dest)  # no longer feeds' to delete


def test_delete_never_follows_a_symlink_out_of_the_destination(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    (dest / "topics" / "space.rss").unlink()
    (dest / "topics" / "space.rss").symlink_to(secret)
    forget_a_topic(output, tmp_path)
    forged = json.loads((dest / PUBLISHED).read_text())
    forged["objects"]["topics/space.rss"]["sha256"] = hashlib.sha256(b"keep me").hexdigest()
    (dest / PUBLISHED).write_text(json.dumps(forged))
    code, _out, err = publish(output, dest, "--delete")
    assert code == 0, err
    assert "topics/space.rss: not a regular file; not deleted" in err
    assert secret.read_text() == "keep me"
    assert (dest / "topics" / "space.rss").is_symlink()


@pytest.mark.slow
def test_a_manifest_with_a_path_out_of_the_destination_is_not_trusted(
    output: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "www"
    assert publish(output, dest)[0] == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    forged = json.loads((dest / PUBLISHED).read_text())
    forged["objects"]["../secret.txt"] = {
        **forged["objects"]["all.rss"],
        "sha256": hashlib.sha256(b"keep me").hexdigest(),
    }
    (dest / PUBLISHED).write_text(json.dumps(forged))
    code, _out, err = publish(output, dest, "--delete")
    assert code == 0, err
    assert re.search(r"warning: .*\.feeds-published\.json: .*\.\./secret\.txt", err), err
    assert secret.read_text() == "keep me"


def parse_published(dest: Path) -> dict[str, Held]:
    record = parse_manifest((dest / PUBLISHED).read_bytes())
    assert record is not None
    return dict(record)
