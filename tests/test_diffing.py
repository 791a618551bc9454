"""``feeds diff`` on real outputs built by feeds, through the real command: the report, the
risky flags and the exit status a CI job acts on."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.build import run
from feeds.cli import main
from tests.conftest import RecordWriter, make_settings, record_text, run_cli

TOTALS = "feeds diff: "


def build_into(records: Path, out: Path, **values: Any) -> Path:
    """The records built by feeds into ``out``, as ``feeds build`` writes them."""
    run(make_settings(records, out, **values)).write(out)
    return out


def settings_file(tmp_path: Path, records: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(
        f"title: Test News\nbase_url: https://example.org/feeds/\nrecords: {records}\n"
        f"output: {tmp_path / 'never-written'}\n"
    )
    return path


def edit_json(path: Path, change: Any) -> None:
    """Rewrite a JSON Feed document of an output, as another publisher version might have."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def diff(*args: str) -> tuple[int, str, dict[str, Any]]:
    """Exit status, text report and JSON report of ``feeds diff args``."""
    text = run_cli("diff", *args)
    data = run_cli("diff", "--json", *args)
    assert text.returncode == data.returncode, (text.stderr, data.stderr)
    report: dict[str, Any] = json.loads(data.stdout)
    return text.returncode, text.stdout, report


def feed(report: dict[str, Any], path: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in report["feeds"] if f["path"] == path]
    assert len(found) == 1, path
    return found[0]


def test_same_output_is_no_change_and_exit_0(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="One", webUrl="https://news.example/one")
    write_record(title="Two", webUrl="https://news.example/two", topics=["Space"])
    out = build_into(records, tmp_path / "out")
    code, text, report = diff(str(out), str(out))
    assert code == 0
    assert text == (
        "feeds diff: 4 feeds compared: 0 new, 0 gone, 0 changed; entries: 0 added, 0 removed, "
        "0 changed; risky: 0 id churn, 0 duplicate ids, 0 dates moved, 0 documents gone\n"
    )
    assert report["risky"] is False
    assert report["feeds"] == []


def test_new_record_and_edited_title_are_added_and_changed_but_not_risky(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    first = write_record(title="First story", webUrl="https://news.example/first")
    old = build_into(records, tmp_path / "old")
    first.write_text(
        record_text(title="First story, corrected", webUrl="https://news.example/first")
    )
    write_record(
        title="Second story",
        webUrl="https://news.example/second",
        publishedDateTime="2024-05-02T08:00:00Z",
    )
    new = build_into(records, tmp_path / "new")

    code, text, report = diff(str(old), str(new))

    assert code == 0, text
    assert "all: 1 added, 0 removed, 1 changed\n" in text
    assert '  + 2024-05-02T08:00:00Z "Second story" urn:uuid:' in text
    assert '  ~ "First story, corrected" urn:uuid:' in text
    assert ": title\n" in text
    assert "RISKY" not in text
    assert text.endswith(
        "entries: 1 added, 0 removed, 1 changed; risky: 0 id churn, "
        "0 duplicate ids, 0 dates moved, 0 documents gone\n"
    )
    all_feed = feed(report, "all")
    assert [a["title"] for a in all_feed["added"]] == ["Second story"]
    assert all_feed["added"][0]["url"] == "https://news.example/second"
    assert [c["fields"] for c in all_feed["changed"]] == [["title"]]
    assert report["totals"]["entries_added"] == 1  # in three feeds, counted once


def test_same_link_under_a_new_id_is_id_churn_and_exit_1(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Story", webUrl="https://news.example/story?utm_source=x")
    write_record(title="Other", webUrl="https://news.example/other")
    new = build_into(records, tmp_path / "new")
    old = tmp_path / "old"
    shutil.copytree(new, old)

    def link_as_id(document: dict[str, Any]) -> None:
        # An older publisher used the link itself as the id (and kept the tracking parameter).
        for item in document["items"]:
            if item["title"] == "Story":
                item["id"] = item["url"] = "http://news.example/story/?utm_source=x"

    edit_json(old / "all.json", link_as_id)

    code, text, report = diff(str(old), str(new))

    assert code == 1
    assert "all: 0 added, 0 removed, 0 changed, RISKY\n" in text
    assert (
        "  ! id churn: http://news.example/story/?utm_source=x was "
        "http://news.example/story/?utm_source=x, now urn:uuid:"
    ) in text
    assert text.rstrip().endswith("-- RISKY")
    (churn,) = feed(report, "all")["id_churn"]
    assert churn["old_ids"] == ["http://news.example/story/?utm_source=x"]
    assert churn["new_ids"][0].startswith("urn:uuid:")
    assert feed(report, "all")["added"] == feed(report, "all")["removed"] == []
    assert report["totals"]["id_churn"] == 1
    assert report["risky"] is True


def test_moved_published_date_is_risky(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    story = write_record(title="Story", publishedDateTime="2024-05-01T10:00:00Z")
    old = build_into(records, tmp_path / "old")
    story.write_text(record_text(title="Story", publishedDateTime="2024-05-01T12:00:00+02:00"))
    same_instant = build_into(records, tmp_path / "same")
    story.write_text(record_text(title="Story", publishedDateTime="2024-06-01T10:00:00Z"))
    moved = build_into(records, tmp_path / "moved")

    assert diff(str(old), str(same_instant))[0] == 0
    code, text, report = diff(str(old), str(moved))

    assert code == 1
    assert '  ! date moved: "Story" urn:uuid:' in text
    assert ": 2024-05-01T10:00:00Z -> 2024-06-01T10:00:00Z\n" in text
    assert [c["fields"] for c in feed(report, "topics/ai")["changed"]] == [["date"]]
    assert report["totals"]["dates_moved"] == 1


@pytest.mark.slow
def test_duplicate_ids_in_the_new_output_are_risky(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Story", webUrl="https://news.example/story")
    write_record(title="Other", webUrl="https://news.example/other")
    old = build_into(records, tmp_path / "old")
    new = tmp_path / "new"
    shutil.copytree(old, new)

    def same_id_twice(document: dict[str, Any]) -> None:
        document["items"][1]["id"] = document["items"][0]["id"]

    edit_json(new / "topics/ai.json", same_id_twice)

    code, text, report = diff(str(old), str(new))

    assert code == 1
    assert "  ! duplicate id: urn:uuid:" in text
    assert " 2 times in topics/ai.json\n" in text
    (duplicate,) = feed(report, "topics/ai")["duplicate_ids"]
    assert duplicate["document"] == "topics/ai.json"
    assert duplicate["count"] == 2
    # Already duplicated in the deployed output: not a change this deploy makes.
    assert diff(str(new), str(new))[0] == 0


def test_gone_feed_is_risky_and_new_feed_is_not(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Story", topics=["AI"])
    space = write_record(title="Rocket", webUrl="https://news.example/rocket", topics=["Space"])
    with_space = build_into(records, tmp_path / "with")
    space.unlink()
    without_space = build_into(records, tmp_path / "without")

    code, text, report = diff(str(with_space), str(without_space))
    assert code == 1
    assert "topics/space: feed gone, had 1 entries\n" in text
    assert "  ! gone: topics/space.rss (its subscribers get nothing more)\n" in text
    assert feed(report, "topics/space")["documents_gone"] == [
        "topics/space.rss",
        "topics/space.atom",
        "topics/space.json",
    ]
    assert report["totals"]["feeds_gone"] == 1

    code, text, report = diff(str(without_space), str(with_space))
    assert code == 0, text
    assert "topics/space: new feed, 1 entries\n" in text
    assert feed(report, "topics/space")["status"] == "new"


def test_dropping_a_format_is_risky_for_its_subscribers(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record()
    every = build_into(records, tmp_path / "every")
    json_only = build_into(records, tmp_path / "json", formats=["json"])
    code, text, report = diff(str(every), str(json_only))
    assert code == 1
    assert "  ! gone: all.atom (its subscribers get nothing more)\n" in text
    assert report["totals"]["documents_gone"] == 6  # rss and atom of all, topics/ai, provider
    assert report["totals"]["entries_removed"] == 0


@pytest.mark.slow
def test_outputs_in_different_formats_have_the_same_entries(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Fish & <chips>", excerpt="Salt & vinegar <b>", topics=["Food"])
    write_record(title="No excerpt", excerpt=None, webUrl="https://news.example/b")
    write_record(
        title="Related",
        webUrl="https://news.example/c?b=2&a=1",
        related=[{"title": "R", "webUrl": "https://r.example/x"}],
        images=[{"url": "https://img.example/a.png", "width": 10, "height": 10}],
    )
    outputs = [build_into(records, tmp_path / f, formats=[f]) for f in ("rss", "atom", "json")]
    for old in outputs:
        for new in outputs:
            if old != new:
                # Only the other formats' documents are gone: no entry differs.
                _, text, report = diff(str(old), str(new))
                assert report["totals"]["entries_changed"] == 0, text
                assert report["totals"]["entries_added"] == 0, text
                assert report["totals"]["entries_removed"] == 0, text


@pytest.mark.slow
def test_entry_moved_into_an_archive_page_is_not_removed(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Old", webUrl="https://news.example/old", publishedDateTime="2024-01-01")
    write_record(title="New", webUrl="https://news.example/new", publishedDateTime="2024-05-01")
    old = build_into(records, tmp_path / "old", formats=["json"])
    new = tmp_path / "new"
    shutil.copytree(old, new)
    page = json.loads((new / "all.json").read_text())
    current = json.loads((new / "all.json").read_text())
    page["items"], current["items"] = current["items"][1:], current["items"][:1]
    (new / "archive/all").mkdir(parents=True)
    (new / "archive/all/1.json").write_text(json.dumps(page))
    (new / "all.json").write_text(json.dumps(current))
    with (new / ".feeds-manifest").open("a") as manifest:
        manifest.write("archive/all/1.json\n")

    code, text, report = diff(str(old), str(new))
    assert code == 0, text
    assert report["feeds"] == []

    (new / "archive/all/1.json").unlink()
    code, text, report = diff(str(old), str(new))
    assert code == 0, text  # leaving a feed is what old entries do: not risky
    assert [r["title"] for r in feed(report, "all")["removed"]] == ["Old"]


@pytest.mark.slow
def test_without_new_compares_with_what_the_records_build_now(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Story", webUrl="https://news.example/story")
    deployed = build_into(records, tmp_path / "deployed")
    config = settings_file(tmp_path, records)
    assert diff(str(deployed), "--settings", str(config))[0] == 0

    write_record(title="Fresh", webUrl="https://news.example/fresh", topics=["Space"])
    write_record("broken.txt", title=None)
    result = run_cli("diff", str(deployed), "--settings", str(config))
    assert result.returncode == 0, result.stderr
    assert "topics/space: new feed, 1 entries\n" in result.stdout
    assert '  + 2024-05-01T10:00:00Z "Fresh" urn:uuid:' in result.stdout
    assert "broken.txt: title: missing" in result.stderr
    assert not (tmp_path / "never-written").exists()


def test_quiet_prints_only_risky_lines_and_totals(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    story = write_record(title="Story", publishedDateTime="2024-05-01T10:00:00Z")
    write_record(title="Other", webUrl="https://news.example/other")
    old = build_into(records, tmp_path / "old")
    story.write_text(record_text(title="Story", publishedDateTime="2024-04-01T10:00:00Z"))
    write_record(title="Added", webUrl="https://news.example/added")
    new = build_into(records, tmp_path / "new")
    result = run_cli("diff", "-q", str(old), str(new))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4, lines  # all, topics/ai, the provider, then the totals
    assert all(': date moved: "Story" urn:uuid:' in line for line in lines[:3])
    assert lines[0].startswith("all: date moved")
    assert lines[3].startswith(TOTALS)


@pytest.mark.slow
def test_unreadable_folder_or_document_is_exit_2_naming_it(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record()
    out = build_into(records, tmp_path / "out")
    missing = run_cli("diff", str(tmp_path / "nope"), str(out))
    assert missing.returncode == 2
    assert f"{tmp_path / 'nope'}: not a folder" in missing.stderr

    edit_json(out / "topics/ai.json", lambda d: d["items"][0].pop("id"))
    broken_id = run_cli("diff", str(out), str(out))
    assert broken_id.returncode == 2
    assert f"{out / 'topics/ai.json'}: items[0].id: missing or not a string" in broken_id.stderr

    (out / "all.json").write_text("{not json")
    broken = run_cli("diff", str(out), str(out))
    assert broken.returncode == 2
    assert f"{out / 'all.json'}: (document): not JSON" in broken.stderr

    both = run_cli("diff", str(out), str(out), "--records", str(records))
    assert both.returncode == 2
    assert "give one or the other" in both.stderr


def test_files_that_are_not_feeds_are_left_out(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record()
    out = build_into(records, tmp_path / "out")
    other = tmp_path / "other"
    shutil.copytree(out, other)
    (other / "data.json").write_text("not a feed, and not in the manifest")
    (other / "topics/notes.atom").write_text("neither")
    assert diff(str(out), str(other))[0] == 0


words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)


@st.composite
def record_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 6))
    return [
        {
            "title": "t " + draw(words),
            "excerpt": draw(st.one_of(st.none(), words)),
            "webUrl": f"https://news.example/{n}/" + draw(st.sampled_from(["", "a?b=1", "x#y"])),
            "publishedDateTime": f"2024-0{draw(st.integers(1, 9))}-1{n}T10:00:00Z",
            "topics": draw(st.lists(st.sampled_from(["AI", "Space", "C++", "日本語"]), max_size=2)),
            "provider": {"name": draw(words), "domain": draw(st.sampled_from(["a.example", ""]))},
        }
        for n in range(count)
    ]


def in_process(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["diff", *args])
    return code, out.getvalue()


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record_sets(), st.sampled_from([["rss"], ["atom"], ["json"], ["rss", "atom", "json"]]))
def test_any_built_output_compared_with_itself_or_its_records_is_no_change(
    fields: list[dict[str, Any]], formats: list[str]
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        records = root / "records"
        records.mkdir()
        for n, values in enumerate(fields):
            (records / f"r{n}.txt").write_text(record_text(**values), encoding="utf-8")
        out = build_into(records, root / "out", formats=formats)
        config = root / "settings.yaml"
        config.write_text(
            f"title: T\nbase_url: https://example.org/\nrecords: records\nformats: {formats}\n"
        )
        for args in ([str(out), str(out)], [str(out), "--settings", str(config)]):
            code, text = in_process(*args)
            assert code == 0, text
            assert text.startswith(TOTALS), text
            assert " 0 new, 0 gone, 0 changed; entries: 0 added, 0 removed, 0 changed;" in text


def test_help_names_the_risky_changes_and_exit_codes() -> None:
    result = run_cli("diff", "--help")
    assert result.returncode == 0
    assert "id churn" in result.stdout
    for words in (r"0 +no risky change", r"1 +risky changes found", r"2 +bad usage"):
        assert re.search(rf"^  {words}", result.stdout, re.M), words
