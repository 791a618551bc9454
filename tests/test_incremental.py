"""Incremental builds (the SQLite build cache) give exactly the bytes of a cold build."""

from __future__ import annotations

import os
import random
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.cli import main
from tests.conftest import example_site, load_corpus, record_text, tree

corpus = load_corpus()


def build(site: Path, output: str, *extra: str) -> int:
    return main(
        [
            "build",
            "-q",
            "--settings",
            str(site / "settings.yaml"),
            "--output",
            str(site / output),
            *extra,
        ]
    )


def assert_same_as_cold(site: Path) -> None:
    shutil.rmtree(site / "cold", ignore_errors=True)
    build(site, "cold", "--no-cache")
    assert tree(site / "out") == tree(site / "cold")


def shift_date(rng: random.Random, text: str) -> str:
    """The record's own date (not its related articles') moved 1 to 400 days either way."""
    match = re.search(r"^publishedDateTime: ['\"]?([0-9T:Z-]+)", text, re.M)
    assert match, text
    when = datetime.fromisoformat(match[1]) + timedelta(
        days=rng.choice([-1, 1]) * rng.randint(1, 400)
    )
    return text[: match.start(1)] + f"{when:%Y-%m-%dT%H:%M:%SZ}" + text[match.end(1) :]


def edit(rng: random.Random, records: Path, round_: int) -> None:
    files = sorted(p for p in records.rglob("*.txt"))
    for path in rng.sample(files, 5):  # edits of every kind
        before = path.read_text()
        choice = rng.randrange(7)
        if choice == 0:
            text = re.sub(
                r'^(excerpt: "?)', rf"\g<1>Edited {round_}. ", before, count=1, flags=re.M
            )
        elif choice == 1:
            text = shift_date(rng, before)
        elif choice == 2:
            text = re.sub(
                r"^topics:\n( *)- ", r"topics:\n\1- Fresh Topic\n\1- ", before, count=1, flags=re.M
            )
        elif choice == 3:
            flipped = ("published: true", "published: false")
            if flipped[0] not in before:
                flipped = flipped[::-1]
            text = before.replace(*flipped)
        elif choice == 4:
            text = before.replace("title: ", "title: \n  bad: [", 1)  # now broken YAML
        elif choice == 5:
            # A topic whose slug is another's ("fresh-topic"): slugs move when it comes or goes.
            text = re.sub(
                r"^topics:\n( *)- ", r"topics:\n\1- Fresh-Topic\n\1- ", before, count=1, flags=re.M
            )
        else:
            text = re.sub(r'^(title: "?)', r"\g<1>Retitled ", before, count=1, flags=re.M)
        assert text != before, (choice, path)
        path.write_text(text)
    for path in rng.sample(files, 2):
        path.unlink()
    for path in rng.sample([p for p in files if p.exists()], 2):  # renamed and moved
        target = records / "moved" / f"r{round_}-{path.name}"
        target.parent.mkdir(exist_ok=True)
        path.rename(target)
    for path in rng.sample([p for p in files if p.exists()], 2):  # touched, same bytes
        stamp = rng.randrange(10**9)
        os.utime(path, (stamp, stamp))
    survivors = list(records.rglob("*.txt"))
    for n in range(3):  # new records, one a duplicate of an existing article
        url = f"https://new.example/{round_}/{n}"
        if n == 0 and survivors:
            found = [
                line
                for line in rng.choice(survivors).read_text().splitlines()
                if line.startswith("webUrl: ")
            ]
            url = found[0].split('"')[1] if found else url
        (records / f"new-{round_}-{n}.txt").write_text(
            record_text(
                title=f"New {round_} {n}",
                webUrl=url,
                publishedDateTime=f"2030-01-0{n + 1}T00:00:00Z",
                topics=[rng.choice(["AI", "Climate", "Brand New"])],
            )
        )


EVERY_GROUPING = """\
groupings: [all, topic, provider, topic-provider, custom]
custom_feeds:
  - title: AI and the climate
    topics: [AI, Climate]
  - title: Brand new
    topics: [Brand New, Fresh Topic]
max_document_bytes: 16384
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "extra"),
    [(1, ""), (2, ""), (3, ""), (4, EVERY_GROUPING), (5, EVERY_GROUPING)],
    ids=["1", "2", "3", "4-every-grouping", "5-every-grouping"],
)
def test_random_edits_give_the_bytes_of_a_cold_build(tmp_path: Path, seed: int, extra: str) -> None:
    rng = random.Random(seed)
    records = tmp_path / "records"
    corpus.generate(records, 150, seed)
    (tmp_path / "settings.yaml").write_text(
        "title: Incremental\nrecords: records\nmax_entries: 5\narchive_page_size: 7\n" + extra
    )
    build(tmp_path, "out")
    assert_same_as_cold(tmp_path)
    for round_ in range(4):
        edit(rng, records, round_)
        build(tmp_path, "out")
        assert_same_as_cold(tmp_path)


def test_nothing_changed_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example_site(tmp_path, "title: Same\nrecords: records\n")
    build(tmp_path, "out")
    capsys.readouterr()
    assert build(tmp_path, "out") == 0
    summary = capsys.readouterr().out
    assert (
        "14 records read, 13 published, 1 unpublished, 0 duplicates, 0 rejected; 22 feeds: 0 files written, 92 unchanged, 0 removed"
        in summary
    )


def test_only_the_affected_feeds_are_rendered_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example_site(tmp_path, "title: Same\nrecords: records\n")
    build(tmp_path, "out")
    record = tmp_path / "records" / "005_cpp-safety-profiles.txt"
    record.write_text(record.read_text().replace('excerpt: "', 'excerpt: "Edited. ', 1))
    capsys.readouterr()
    build(tmp_path, "out")
    summary = capsys.readouterr().out
    # all, 3 topics and 1 provider, in 3 formats and their pages; the index (no excerpts) and
    # the OPMLs are unchanged
    assert "20 files written, 72 unchanged" in summary
    assert_same_as_cold(tmp_path)


def test_rejected_records_are_reported_again_from_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example_site(tmp_path, "title: Same\nrecords: records\n")
    (tmp_path / "records" / "broken.txt").write_text("---\ntitle: [\n---\n")
    assert build(tmp_path, "out") == 1
    first = capsys.readouterr().err
    assert build(tmp_path, "out") == 1
    assert capsys.readouterr().err == first
    assert "broken.txt: (yaml): not valid YAML" in first


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncate", "delete"])
def test_a_damaged_or_missing_cache_falls_back_to_a_full_build(tmp_path: Path, damage: str) -> None:
    example_site(tmp_path, "title: Damaged\nrecords: records\n")
    build(tmp_path, "out")
    cache = tmp_path / ".feeds-cache" / "build.sqlite"
    assert cache.exists()
    record = tmp_path / "records" / "001_grid-battery-milestone.txt"
    record.write_text(record.read_text().replace('title: "', 'title: "Changed: ', 1))
    if damage == "garbage":
        cache.write_bytes(b"this is not a database" * 100)
    elif damage == "empty":
        cache.write_bytes(b"")
    elif damage == "truncate":
        cache.write_bytes(cache.read_bytes()[:3000])
    else:
        cache.unlink()
    assert build(tmp_path, "out") == 0
    assert_same_as_cold(tmp_path)


def test_changed_settings_rebuild_everything(tmp_path: Path) -> None:
    settings = example_site(tmp_path, "title: Before\nrecords: records\n")
    build(tmp_path, "out")
    settings.write_text("title: After\nrecords: records\nmax_entries: 2\n")
    build(tmp_path, "out")
    assert_same_as_cold(tmp_path)
    assert b"<title>After</title>" in (tmp_path / "out" / "all.rss").read_bytes()


def test_a_deleted_or_edited_output_file_is_written_again(tmp_path: Path) -> None:
    example_site(tmp_path, "title: Outputs\nrecords: records\n")
    build(tmp_path, "out")
    (tmp_path / "out" / "topics" / "climate.atom").unlink()
    (tmp_path / "out" / "all.json").write_text("{}")
    build(tmp_path, "out")
    assert_same_as_cold(tmp_path)


def test_clean_removes_the_cache_and_what_feeds_wrote(tmp_path: Path) -> None:
    example_site(tmp_path, "title: Clean\nrecords: records\noutput: out\n")
    build(tmp_path, "out")
    (tmp_path / "out" / "keep-me.txt").write_text("mine")
    assert main(["clean", "--settings", str(tmp_path / "settings.yaml")]) == 0
    assert not (tmp_path / ".feeds-cache" / "build.sqlite").exists()
    assert [p.name for p in (tmp_path / "out").rglob("*")] == ["keep-me.txt"]


def test_a_cache_from_another_version_is_not_used(tmp_path: Path) -> None:
    import sqlite3

    from feeds.build import Built, run
    from feeds.cache import open_cache
    from feeds.settings import load_settings

    example_site(tmp_path, "title: Versions\nrecords: records\n")
    build(tmp_path, "out")
    with sqlite3.connect(tmp_path / ".feeds-cache" / "build.sqlite") as db:
        db.execute("UPDATE meta SET value = 'feeds 0.0.1' WHERE key = 'fingerprint'")
    settings = load_settings(tmp_path / "settings.yaml")
    cache, problem = open_cache(settings)
    assert problem is None
    result = run(settings, cache=cache)
    assert isinstance(result, Built)
    assert result.changed == 14  # every file read again
    assert result.dirty is not None
    assert len(result.dirty) == len(result.plans)


def test_progress_of_reading_and_writing_is_shown_on_a_terminal_only(tmp_path: Path) -> None:
    import pty
    import subprocess
    import sys

    example_site(tmp_path, "title: Progress\nrecords: records\n")
    command = [
        sys.executable,
        "-m",
        "feeds",
        "build",
        "--no-cache",
        "--settings",
        str(tmp_path / "settings.yaml"),
    ]
    env = {**os.environ, "FEEDS_PROGRESS_DELAY": "0", "COLUMNS": "120", "TERM": "xterm"}
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(command, stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env)
    os.close(child_fd)
    screen = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    process.wait(timeout=60)
    os.close(main_fd)
    # Rich draws every phase's task again when the display stops, so both are on the screen.
    assert b"reading records" in screen
    assert b"writing feeds" in screen
    assert b"feeds: 14 records read" in screen
    piped = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert piped.stderr == ""
    assert "reading records" not in piped.stdout


def test_a_build_with_nothing_to_do_reports_what_the_full_build_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus.generate(tmp_path / "records", 300, seed=4)  # drafts, duplicates, warnings
    (tmp_path / "records" / "broken.txt").write_text("---\ntitle: [\n---\n")
    (tmp_path / "settings.yaml").write_text("title: Same\nrecords: records\n")

    def records_part() -> tuple[str, str]:
        captured = capsys.readouterr()
        return captured.out.split(";")[0], captured.err

    assert build(tmp_path, "out") == 1
    full = records_part()
    found = re.findall(r"(\d+) (unpublished|duplicates)", full[0])
    counts = {name: int(n) for n, name in found}
    assert counts["unpublished"] > 0
    assert counts["duplicates"] > 0
    assert "warning" in full[1]
    assert build(tmp_path, "out") == 1
    assert records_part() == full


def test_a_feed_whose_slug_moves_when_another_topic_comes_is_planned_again(
    tmp_path: Path,
) -> None:
    # "fresh topic" sorts before "fresh-topic" and takes the slug they share: when it comes,
    # the feed of "Fresh-Topic" moves to a hashed slug although none of its records changed.
    example_site(tmp_path, "title: Slugs\nrecords: records\nmax_entries: 2\narchive_page_size: 1\n")
    records = tmp_path / "records"
    for n in range(3):
        (records / f"hyphen-{n}.txt").write_text(
            record_text(
                title=f"Hyphen {n}",
                webUrl=f"https://news.example/hyphen/{n}",
                publishedDateTime=f"2024-05-0{n + 1}T10:00:00Z",
                topics=["Fresh-Topic"],
            )
        )
    build(tmp_path, "out")
    assert (tmp_path / "out" / "topics" / "fresh-topic.rss").exists()
    space = records / "space.txt"
    space.write_text(record_text(webUrl="https://news.example/space", topics=["Fresh Topic"]))
    build(tmp_path, "out")
    assert_same_as_cold(tmp_path)
    assert len(list((tmp_path / "out" / "topics").glob("fresh-topic-*.rss"))) == 1
    space.unlink()
    build(tmp_path, "out")
    assert_same_as_cold(tmp_path)
    assert not list((tmp_path / "out" / "topics").glob("fresh-topic-*.rss"))


CUSTOM = """\
title: Custom
records: records
custom_feeds:
  - title: {title}
    slug: computing
    topics: [AI, Software]
  - title: Climate
    topics: [Climate]
"""


def test_a_new_custom_feed_title_rewrites_that_feed_the_index_and_the_opml_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = example_site(tmp_path, CUSTOM.format(title="Computing"))
    build(tmp_path, "out")
    settings.write_text(CUSTOM.format(title="Computing & more"))
    capsys.readouterr()
    build(tmp_path, "out")
    summary = capsys.readouterr().out
    # The feed's three formats and its page, the index, feeds.opml and custom.opml: nothing
    # else.
    assert "7 files written" in summary, summary
    assert_same_as_cold(tmp_path)
    assert (
        b"Custom: Computing &amp; more"
        in (tmp_path / "out" / "custom" / "computing.atom").read_bytes()
    )


def test_the_cache_gives_back_the_room_of_what_was_removed(tmp_path: Path) -> None:
    records = tmp_path / "records"
    corpus.generate(records, 100, 7)
    (tmp_path / "settings.yaml").write_text("title: Room\nrecords: records\n")
    cache = tmp_path / ".feeds-cache" / "build.sqlite"
    build(tmp_path, "out")
    first = cache.stat().st_size
    corpus.generate(records / "added", 300, 8)
    build(tmp_path, "out")
    assert cache.stat().st_size > 2 * first
    shutil.rmtree(records / "added")
    build(tmp_path, "out")
    assert cache.stat().st_size < 1.3 * first
    assert_same_as_cold(tmp_path)


def test_a_removed_manifest_is_written_again_when_nothing_else_changed(tmp_path: Path) -> None:
    example_site(tmp_path, "title: Manifest\nrecords: records\n")
    build(tmp_path, "out")
    manifest = tmp_path / "out" / ".feeds-manifest"
    listed = manifest.read_bytes()
    manifest.unlink()
    build(tmp_path, "out")
    assert manifest.read_bytes() == listed
    assert_same_as_cold(tmp_path)
