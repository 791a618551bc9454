"""Reading record files: every bad-input class is one rejection naming file, field and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.errors import RecordError
from feeds.model import Record
from feeds.records import parse_record, read_record, split_front_matter
from feeds.scan import scan_records
from tests.conftest import SEED, RecordWriter, record_text

UTC_ZONE = ZoneInfo("UTC")


def reject(data: bytes | str) -> RecordError:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(RecordError) as caught:
        parse_record(raw, "records/x.txt", UTC_ZONE)
    assert caught.value.path == "records/x.txt"
    assert str(caught.value).startswith(f"records/x.txt: {caught.value.field}: ")
    return caught.value


def accept(data: bytes | str) -> object:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    record = parse_record(raw, "records/x.txt", UTC_ZONE)
    assert record is not None
    return record


def test_seed_record_is_read_with_every_field() -> None:
    record = read_record(SEED, "seed.txt", UTC_ZONE)
    assert record is not None
    assert record.title.startswith("The two-year fight to stop Amazon")
    assert record.url == (
        "https://www.technologyreview.com/2020/06/12/1003482/"
        "amazon-stopped-selling-police-face-recognition-fight"
    )
    assert record.published == datetime(2020, 6, 12, 16, 5, tzinfo=UTC)
    assert record.topics == ("Computer Vision", "AI")
    assert record.category == "news"
    assert record.provider is not None
    assert record.provider.domain == "technologyreview.com"
    assert [(i.width, i.height) for i in record.images] == [(3000, 1687)]
    assert [r.provider.name for r in record.related if r.provider] == ["Mashable", "SFGate"]


def test_undecodable_bytes_are_rejected_with_the_offset() -> None:
    error = reject(record_text().encode() + b"\xff\xfe junk")
    assert error.field == "(file)"
    assert "not UTF-8" in error.reason
    assert "0xff" in error.reason


def test_text_that_is_not_yaml_is_rejected_with_the_line() -> None:
    error = reject("---\ntitle: [unclosed\nwebUrl: x\n---\n")
    assert error.field == "(yaml)"
    assert "not valid YAML" in error.reason
    assert "line" in error.reason


def test_yaml_that_is_not_a_mapping_is_rejected() -> None:
    assert "expected a mapping" in reject("---\n- a\n- b\n---\n").reason
    assert "expected a mapping" in reject("just some words\n").reason


def test_empty_file_is_rejected() -> None:
    assert reject(b"").reason == "empty file"
    assert reject("  \n\n").reason == "empty file"
    assert "no YAML" in reject("---\n---\nbody only\n").reason


@pytest.mark.parametrize("title", [None, "", "   "])
def test_missing_or_empty_title_is_rejected(title: str | None) -> None:
    error = reject(record_text(title=title))
    assert error.field == "title"


@pytest.mark.parametrize(
    "url",
    [None, "", "www.example.com/a", "/relative/path", "ftp://example.com/a", "javascript:alert(1)"],
)
def test_web_url_missing_or_not_absolute_http_is_rejected(url: str | None) -> None:
    error = reject(record_text(webUrl=url))
    assert error.field == "webUrl"


@pytest.mark.parametrize("date", [None, "", "yesterday", "June 2020", "2020-13-45", "1591977900"])
def test_missing_or_unparseable_date_is_rejected(date: str | None) -> None:
    error = reject(record_text(publishedDateTime=date))
    assert error.field == "publishedDateTime"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ["a", "list"]}, "title"),
        ({"title": {"a": "mapping"}}, "title"),
        ({"published": "maybe"}, "published"),
    ],
)
def test_fields_of_the_wrong_type_are_rejected(fields: dict[str, object], field: str) -> None:
    assert reject(record_text(**fields)).field == field


def test_a_lone_string_is_accepted_as_a_one_item_list() -> None:
    record = accept(record_text(topics="Climate", images="https://x.example/a.jpg"))
    assert record.topics == ("Climate",)  # type: ignore[attr-defined]
    assert [i.url for i in record.images] == ["https://x.example/a.jpg"]  # type: ignore[attr-defined]


def billion_laughs(field: str) -> str:
    # Nine levels of nine aliases each: 9**9 strings if anything expanded them.
    lines = ["---", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        refs = ",".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    lines += ["title: ok", "webUrl: https://x.example/a", "publishedDateTime: 2024-01-01"]
    lines += [f"{field}: *a9", "---"]
    return "\n".join(lines)


def test_alias_bomb_in_a_required_field_is_rejected_without_expanding() -> None:
    error = reject(billion_laughs("title"))
    assert error.field == "title"
    assert len(str(error)) < 300


def test_deep_nesting_is_rejected() -> None:
    error = reject("---\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n---\n")
    assert error.field == "(yaml)"


def test_huge_excerpt_is_accepted() -> None:
    record = accept(record_text(excerpt="word " * 40_000))
    assert len(record.excerpt) >= 200_000  # type: ignore[attr-defined]


def test_bom_and_crlf_are_accepted() -> None:
    text = "\ufeff" + record_text(title="Line endings").replace("\n", "\r\n")
    record = accept(text.encode("utf-8"))
    assert record.title == "Line endings"  # type: ignore[attr-defined]


def test_unknown_fields_are_ignored() -> None:
    record = accept(record_text(somethingNew={"nested": [1, 2]}, quality="not a number"))
    assert record.title == "A title"  # type: ignore[attr-defined]


def test_only_safe_yaml_is_loaded(tmp_path: Path) -> None:
    # The loader builds strings, lists and dicts only: a Python tag is never acted on.
    marker = tmp_path / "hacked"
    error = reject(f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\n")
    assert error.field == "title"
    assert not marker.exists()
    text = record_text().replace(
        "title: A title", f"title: !!python/object/apply:os.system ['touch {marker}']"
    )
    assert reject(text).field == "title"
    assert not marker.exists()


def test_plain_scalars_stay_text() -> None:
    # YAML 1.1 would read these as a boolean, a float and an int.
    record = accept(
        record_text()
        .replace("title: A title", "title: no")
        .replace("excerpt: An excerpt.", "excerpt: 1.10")
    )
    assert record.title == "no"  # type: ignore[attr-defined]
    assert record.excerpt == "1.10"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["false", "no", "False", "off"])
def test_unpublished_records_are_drafts(value: str) -> None:
    text = record_text().replace("published: true", f"published: {value}")
    assert parse_record(text.encode(), "x", UTC_ZONE) is None


def test_body_after_the_front_matter_is_kept() -> None:
    front, body, offset = split_front_matter("---\ntitle: x\n---\n\nFirst.\n\nSecond.\n")
    assert (front, body, offset) == ("title: x", "First.\n\nSecond.", 1)


def test_yaml_without_front_matter_lines_is_read() -> None:
    text = record_text().replace("---\n", "")
    assert accept(text)


def test_record_files_are_found_in_subfolders_by_extension(
    records: Path, write_record: RecordWriter
) -> None:
    for name in [
        "a.txt",
        "b.yaml",
        "c.yml",
        "d.md",
        "sub/deeper/e.TXT",
        "f.json",
        ".hidden.txt",
        ".git/g.txt",
    ]:
        write_record(name)
    found = [rel for rel, _, _ in scan_records(records).files]
    assert found == ["a.txt", "b.yaml", "c.yml", "d.md", "sub/deeper/e.TXT"]


def test_unreadable_file_is_rejected(records: Path, write_record: RecordWriter) -> None:
    path = write_record("big.txt", text="---\ntitle: x\n---\n" + "x" * (5 * 1024 * 1024))
    with pytest.raises(RecordError) as caught:
        read_record(path, "big.txt", UTC_ZONE)
    assert "at most" in caught.value.reason


# Optional parts: a broken one is dropped with a warning naming it; the record is kept.


def typed(data: str) -> Record:
    record = parse_record(data.encode("utf-8"), "records/x.txt", UTC_ZONE)
    assert record is not None
    return record


def test_a_related_link_with_a_title_but_no_web_url_is_dropped_not_the_record() -> None:
    record = typed(
        record_text(
            related=[
                {"title": "Kept", "webUrl": "https://r.example/1"},
                {"title": "Also kept", "webUrl": "https://r.example/2"},
                {"title": "No address"},
            ]
        )
    )
    assert [r.url for r in record.related if r.url] == [
        "https://r.example/1",
        "https://r.example/2",
    ]
    assert record.warnings == (("related[2].webUrl", "missing; link dropped"),)


@pytest.mark.parametrize(
    ("fields", "warning"),
    [
        ({"topics": [{"name": "AI"}, "Climate"]}, "topics[0]"),
        ({"provider": ["a", "b"]}, "provider"),
        ({"provider": {"name": ["a"], "domain": "wire.example"}}, "provider.name"),
        ({"images": [{"url": "https://x.example/a.jpg", "width": "wide"}]}, "images[0].width"),
        ({"images": [{"url": "https://x.example/a.jpg", "title": {"a": 1}}]}, "images[0].title"),
        ({"images": ["https://x.example/a.jpg", ["nested"]]}, "images[1]"),
        ({"images": [{"url": ["https://x.example/a.jpg"]}]}, "images[0].url"),
        ({"images": [{"title": "No address"}]}, "images[0].url"),
        ({"related": ["not a mapping"]}, "related[0]"),
        ({"related": [{"webUrl": {"href": "https://r.example/"}}]}, "related[0].webUrl"),
        ({"related": [{"webUrl": "https://r.example/", "title": [1]}]}, "related[0].title"),
        (
            {"related": [{"webUrl": "https://r.example/", "publishedDateTime": "soon"}]},
            "related[0].publishedDateTime",
        ),
        ({"excerpt": ["a", "list"]}, "excerpt"),
        ({"category": {"a": "mapping"}}, "category"),
        ({"quality": ["high"]}, "quality"),
    ],
)
def test_optional_parts_of_the_wrong_type_are_dropped_with_a_warning(
    fields: dict[str, object], warning: str
) -> None:
    record = typed(record_text(**fields))
    assert record.title == "A title"
    assert [field for field, _ in record.warnings] == [warning]
    assert all(reason.endswith("dropped") for _, reason in record.warnings)


def test_a_null_item_keeps_the_positions_of_the_items_after_it() -> None:
    record = typed(record_text(images=[None, ["nested"]], related=[None, "bad"]))
    assert [field for field, _ in record.warnings] == ["images[1]", "related[1]"]


@pytest.mark.parametrize("field", ["topics", "images", "related"])
def test_alias_bomb_in_an_optional_list_is_dropped_without_expanding(field: str) -> None:
    record = typed(billion_laughs(field))
    assert record.title == "ok"
    assert len(record.warnings) <= 10
    assert all(len(reason) < 300 for _, reason in record.warnings)


def test_recursive_alias_in_an_optional_list_is_dropped_not_looped() -> None:
    record = typed(
        "---\ntopics: &t [*t]\ntitle: x\nwebUrl: https://x.example/\npublishedDateTime: 2024-01-01\n---\n"
    )
    assert record.topics == ()
    assert [field for field, _ in record.warnings] == ["topics[0]"]
