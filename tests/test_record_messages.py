"""Messages about records that say how to fix them: a did-you-mean for a misspelled field, the
near miss of a missing one, comma-joined topics, YAML and date errors with the way to write
them, files that are not records counted, and an empty records folder refused."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feeds.dates import EXAMPLE, parse_date
from feeds.errors import DateError, RecordError
from feeds.model import Record
from feeds.records import (
    RECORD_FIELDS,
    _yaml_hint,
    parse_record,
    read_record,
)
from feeds.scan import scan_records
from feeds.yamlload import load_fast
from tests.conftest import EXAMPLES, SEED, record_text, run_cli
from tests.live import live_server, request

UTC_ZONE = ZoneInfo("UTC")


def parse(text: str) -> Record:
    record = parse_record(text.encode("utf-8"), "records/x.txt", UTC_ZONE)
    assert record is not None
    return record


def rejection(text: str) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse_record(text.encode("utf-8"), "records/x.txt", UTC_ZONE)
    return caught.value


# --- unknown fields ------------------------------------------------------------------------


def test_misspelled_title_names_the_near_miss() -> None:
    error = rejection(record_text(title=None, tittle="Hello"))
    assert (error.field, error.reason) == ("title", "missing (there is 'tittle': a misspelling?)")


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"title": None, "Title": "Hello"}, "title", "missing (there is 'Title': a misspelling?)"),
        (
            {"webUrl": None, "link": "https://news.example/a"},
            "webUrl",
            "missing (there is 'link'; the field is called 'webUrl')",
        ),
        (
            {"publishedDateTime": None, "date": "2024-05-01"},
            "publishedDateTime",
            "missing (there is 'date'; the field is called 'publishedDateTime')",
        ),
        (
            {"publishedDateTime": None, "publishedDate": "2024-05-01"},
            "publishedDateTime",
            "missing (there is 'publishedDate': a misspelling?)",
        ),
    ],
)
def test_a_missing_required_field_names_the_key_meant_for_it(
    fields: dict[str, Any], field: str, reason: str
) -> None:
    error = rejection(record_text(**fields))
    assert (error.field, error.reason) == (field, reason)


def test_a_missing_required_field_without_a_near_miss_says_missing_alone() -> None:
    error = rejection(record_text(title=None, slug="hello", language="en"))
    assert (error.field, error.reason) == ("title", "missing")


@pytest.mark.parametrize(
    ("fields", "key", "meant"),
    [
        ({"excerpt": None, "exerpt": "Text."}, "exerpt", "excerpt"),
        ({"topics": None, "topic": "Space"}, "topic", "topics"),
        ({"topics": None, "Topics": ["Space"]}, "Topics", "topics"),
        ({"topics": None, "tags": ["Space"]}, "tags", "topics"),
        ({"excerpt": None, "summary": "Text."}, "summary", "excerpt"),
        ({"published": None, "publshed": "false"}, "publshed", "published"),
        ({"catgory": "news"}, "catgory", "category"),
        ({"provider": None, "provder": {"name": "X"}}, "provder", "provider"),
    ],
)
def test_an_unknown_field_that_looks_like_a_missing_one_warns_with_did_you_mean(
    fields: dict[str, Any], key: str, meant: str
) -> None:
    record = parse(record_text(**fields))
    assert record.title == "A title"  # still published
    assert (key, f"unknown field; did you mean {meant!r}?") in record.warnings


def test_an_archive_s_own_fields_are_ignored_without_a_word() -> None:
    own = {
        "slug": "a-title",
        "language": "en",
        "sentiment": 0.3,
        "clusterId": "c-17",
        "updated": "2024-05-02",
        "ampWebUrl": "https://news.example/a/amp",
        "secured": "abc==",
    }
    assert parse(record_text(**own)).warnings == ()
    seed = read_record(SEED, "seed.txt", UTC_ZONE)
    assert seed is not None
    assert seed.warnings == ()


def test_a_near_miss_is_silent_when_the_field_it_looks_like_is_there() -> None:
    # An archive that keeps a main topic beside its topics, or a lead image beside its images,
    # would otherwise get a warning on every record.
    record = parse(
        record_text(
            topic="Space",
            image="https://img.example/a.jpg",
            images=["https://img.example/b.jpg"],
            summary="Short.",
            tags=["x"],
        )
    )
    assert record.warnings == ()


def test_a_misspelled_image_url_names_the_near_miss_and_drops_only_the_image() -> None:
    record = parse(record_text(images=[{"ulr": "https://img.example/a.jpg"}]))
    assert record.warnings == (
        ("images[0].url", "missing (there is 'ulr': a misspelling?); image dropped"),
    )


def test_misspelled_keys_in_provider_images_and_related_links_warn_with_their_place() -> None:
    record = parse(
        record_text(
            provider={"nmae": "Example Wire", "domain": "wire.example"},
            images=[{"url": "https://img.example/a.jpg", "widht": 800}],
            related=[
                {"webUrl": "https://other.example/b", "tittle": "B"},
                {"weburl": "https://other.example/c"},
            ],
        )
    )
    assert record.warnings == (
        ("provider.nmae", "unknown field; did you mean 'name'?"),
        ("images[0].widht", "unknown field; did you mean 'width'?"),
        ("related[0].tittle", "unknown field; did you mean 'title'?"),
        ("related[1].webUrl", "missing (there is 'weburl': a misspelling?); link dropped"),
    )


def _distance(a: str, b: str) -> int:
    """Levenshtein distance with swaps of neighbours (optimal string alignment)."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


_OTHER_NAMES = {
    "headline", "summary", "description", "abstract", "teaser", "date", "datetime", "pubdate",
    "publishdate", "publishedat", "publishtime", "publicationdate", "datepublished", "created",
    "createdat", "timestamp", "time", "url", "link", "href", "permalink", "author", "source",
    "publisher", "tags", "tag", "keywords", "categories", "subjects", "image", "thumbnail",
    "picture", "pictures", "photo", "photos",
}  # fmt: skip
_READ = [
    "title", "excerpt", "publishedDateTime", "webUrl", "category", "type", "quality", "heat",
    "published", "provider", "topics", "images", "related",
]  # fmt: skip


def _mutations(draw: st.DrawFn) -> str:
    """A read field's name with a few random edits: near misses and far-away names alike."""
    name = list(draw(st.sampled_from(_READ)))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(name)))
        letter = draw(st.sampled_from("abcdeilmnoprstuy_XZ"))
        edit = draw(st.sampled_from(["add", "change", "remove"]))
        if edit == "add" or not name:
            name.insert(at, letter)
        elif edit == "change":
            name[min(at, len(name) - 1)] = letter
        else:
            del name[min(at, len(name) - 1)]
    return "".join(name)


keys = st.one_of(
    st.composite(_mutations)(),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=24),
)


@settings(max_examples=400, deadline=None)
@given(keys)
@example("webUraa")  # one letter longer, the last two changed: once an IndexError
@example("ulr")
@example("tilte")
def test_did_you_mean_never_suggests_for_a_far_away_name(key: str) -> None:
    meant = RECORD_FIELDS.meant(key) if key not in RECORD_FIELDS.known else None
    if meant is None:
        return
    field, other_name = meant
    if other_name:
        assert _fold(key) in _OTHER_NAMES
    else:
        folded, target = _fold(key), _fold(field)
        # At most one edit in five (difflib's ratio of 0.8), or one edit in a short name.
        assert _distance(folded, target) <= max(1, (len(folded) + len(target)) // 5), (key, field)


@settings(max_examples=150, deadline=None)
@given(keys)
def test_a_name_one_edit_from_a_field_gets_a_suggestion(key: str) -> None:
    folded = _fold(key)
    near = [f for f in _READ if _distance(folded, _fold(f)) == 1 and len(folded) >= 3]
    if key in RECORD_FIELDS.known or not near or not key.isprintable() or len(key) > 40:
        return
    assert RECORD_FIELDS.meant(key) is not None, key


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.sampled_from(["nmae", "url", "ulr", "x"]), st.text(max_size=10)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(keys.filter(lambda k: k not in RECORD_FIELDS.known), values, max_size=6),
    st.one_of(st.none(), st.text(max_size=40), st.lists(st.text(max_size=20), max_size=4)),
)
@example({"webUraa": "x", "provider": {"nmae": "X"}}, "Space, Science")
def test_warnings_never_reject_a_record(extra: dict[str, Any], topics: Any) -> None:
    record = parse(record_text(topics=topics, **extra))
    assert (record.title, record.url) == ("A title", "https://news.example/a")
    assert len(record.warnings) <= 10


# --- topics --------------------------------------------------------------------------------


def test_comma_joined_topics_stay_one_topic_with_a_warning_that_shows_the_list() -> None:
    record = parse(record_text(topics="Space, Science"))
    assert record.topics == ("Space, Science",)  # as before: one topic, space-science
    assert record.warnings == (
        (
            "topics",
            "'Space, Science' is one topic; for 2 topics, write a list: topics: [Space, Science]",
        ),
    )


def test_a_comma_inside_a_list_or_after_a_lone_topic_is_no_warning() -> None:
    record = parse(record_text(topics=["Health, Fitness", "AI"]))
    assert record.topics == ("Health, Fitness", "AI")
    assert record.warnings == ()
    assert parse(record_text(topics="Space,")).warnings == ()  # one topic whichever way


# --- YAML ----------------------------------------------------------------------------------

YAML_MISTAKES = [
    pytest.param(
        "title: Breaking: news\n",
        'hint: quote the value: title: "Breaking: news"',
        id="unquoted-colon",
    ),
    pytest.param(
        'title: He said "no": really\n',
        "hint: quote the value: title: 'He said \"no\": really'",
        id="unquoted-colon-with-quotes",
    ),
    pytest.param(
        "related:\n  - title: A: b\n    webUrl: https://other.example/b\n",
        'hint: quote the value: title: "A: b"',
        id="unquoted-colon-in-a-list-item",
    ),
    pytest.param(
        "provider:\n\tname: X\n",
        "hint: YAML indents with spaces, never tabs",
        id="tab-indent",
    ),
    pytest.param(
        "provider:\n  name: X\n\t domain: y\n",
        "hint: YAML indents with spaces, never tabs",
        id="tab-then-space",
    ),
    pytest.param(
        "provider:\n  name: X\n domain: y\n",
        "hint: check the indentation: this line starts in column 2, the one above in column 3",
        id="bad-indent",
    ),
    pytest.param(
        "images:\n  - url: https://img.example/a.jpg\n   width: 3\n",
        "hint: check the indentation: this line starts in column 4, the one above in column 5",
        id="bad-indent-in-a-list-item",
    ),
    pytest.param(
        "topics:\n  - a\n - b\n",
        "hint: check the indentation: this line starts in column 2, the one above in column 3",
        id="bad-list-indent",
    ),
    pytest.param(
        "excerpt: Short\n  webUrl: https://news.example/a\n",
        "hint: this line is indented more than the one above",
        id="indented-too-far",
    ),
]


@pytest.mark.parametrize(("front", "hint"), YAML_MISTAKES)
def test_a_yaml_error_carries_a_hint_for_the_common_mistakes(front: str, hint: str) -> None:
    # The fast path (rapidyaml) never raises: it leaves every document it is unsure of, errors
    # among them, to the reference (libyaml through PyYAML), whose error is shown.
    assert load_fast(front) is None
    error = rejection(f"---\n{front}---\n")
    assert error.field == "(yaml)"
    assert error.reason.startswith("not valid YAML: line ")
    assert hint in error.reason, error.reason


@pytest.mark.parametrize(("front", "hint"), YAML_MISTAKES)
def test_a_yaml_hint_does_not_depend_on_the_scanner_s_wording(front: str, hint: str) -> None:
    # PyYAML's own scanner (where libyaml is missing) words the same errors differently:
    # "mapping values are not allowed here", "expected <block end>".
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yaml.load(front, Loader=yaml.BaseLoader)
    assert hint in _yaml_hint(front, caught.value)


def test_a_yaml_error_that_is_none_of_the_common_mistakes_gets_no_hint() -> None:
    error = rejection('---\ntitle: "a" b\n---\n')
    assert "hint" not in error.reason


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("yesterday", f"cannot read 'yesterday' as a date; write it like {EXAMPLE}"),
        (
            "June 2020",
            f"incomplete date 'June 2020': year, month and day are all needed; "
            f"write it like {EXAMPLE}",
        ),
    ],
)
def test_a_date_error_shows_a_format_that_works(value: str, reason: str) -> None:
    error = rejection(record_text(publishedDateTime=value))
    assert (error.field, error.reason) == ("publishedDateTime", reason)
    assert parse_date(EXAMPLE, UTC_ZONE).isoformat() == "2025-03-14T09:30:00+00:00"


def test_a_related_link_s_unreadable_date_shows_the_format_and_keeps_the_link() -> None:
    record = parse(
        record_text(related=[{"webUrl": "https://other.example/b", "publishedDateTime": "soon"}])
    )
    assert record.warnings == (
        (
            "related[0].publishedDateTime",
            f"cannot read 'soon' as a date; write it like {EXAMPLE}; date dropped",
        ),
    )
    assert record.related[0].url == "https://other.example/b"


def test_an_unknown_zone_name_shows_an_offset_that_works() -> None:
    with pytest.raises(DateError) as caught:
        parse_date("2024-05-01 10:00 EST", UTC_ZONE)
    example = str(caught.value).rsplit(" ", 1)[-1]
    assert example == "2025-03-14T09:30:00+02:00"
    assert parse_date(example, UTC_ZONE).hour == 7


# --- files that are not records ------------------------------------------------------------


def test_files_that_are_not_records_are_counted_by_kind(tmp_path: Path) -> None:
    for name in ["a.txt", "b.markdown", "sub/c.json", "sub/d.json", "README", ".hidden.json"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(record_text())
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("")
    scan = scan_records(tmp_path)
    assert [rel for rel, _, _ in scan.files] == ["a.txt"]
    assert scan.skipped == {".markdown": 1, ".json": 2, "README": 1}


def test_build_and_check_summaries_count_the_files_that_are_not_records(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "records")
    (tmp_path / "records" / "notes.markdown").write_text("# notes\n")
    (tmp_path / "records" / "one.json").write_text("{}")
    (tmp_path / "records" / "two.json").write_text("{}")
    (tmp_path / "records" / ".DS_Store").write_bytes(b"\0")
    skipped = "0 rejected, 3 files skipped (not records: .json, .markdown); 22 feeds"
    build = run_cli("build", "--no-cache", cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    assert f"14 records read, 13 published, 1 unpublished, 0 duplicates, {skipped}" in build.stdout
    check = run_cli("check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert skipped in check.stdout


def test_a_summary_without_skipped_files_is_as_before(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "records")
    result = run_cli("check", cwd=tmp_path)
    assert "0 rejected; 22 feeds, " in result.stdout
    assert "skipped" not in result.stdout


# --- an empty records folder ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "check"])
def test_an_empty_records_folder_is_refused_and_nothing_is_written(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "records" / "drafts").mkdir(parents=True)
    (tmp_path / "records" / "README").write_text("Records go here.\n")
    (tmp_path / "records" / "drafts" / "idea.markdown").write_text("---\ntitle: x\n---\n")
    (tmp_path / "records" / ".hidden.txt").write_text(record_text())
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "feeds: error: no records in records/: record files end in .txt, .yaml, .yml or .md, "
        "2 files skipped (not records: .markdown, README); nothing was written\n"
    )
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output folder, no cache


def test_a_folder_with_one_record_deep_down_is_not_empty(tmp_path: Path) -> None:
    deep = tmp_path / "records" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (tmp_path / "records" / "notes.json").write_text("{}")
    (deep / "one.txt").write_text(record_text())
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 records read, 1 published" in result.stdout


def test_serve_on_an_empty_records_folder_warns_and_serves_records_as_they_come(
    tmp_path: Path,
) -> None:
    (tmp_path / "records").mkdir()
    settings = tmp_path / "settings.yaml"
    settings.write_text("title: Soon\nrecords: records\n")
    with live_server(settings) as server:
        health = server.wait_for_build(0)
        assert health["records"] == 0
        (tmp_path / "records" / "one.txt").write_text(record_text(title="The first one"))
        server.wait_until(lambda h: h["published"] == 1)
        _, _, body = request(server, "GET", "/all.rss", **{"Accept-Encoding": "identity"})
        assert b"The first one" in body
    assert "feeds: warning: no records in " in server.log.read_text()


# --- end to end ----------------------------------------------------------------------------


def test_the_build_prints_each_fix_and_publishes_every_record_it_can(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "a.txt").write_text(record_text(title="Kept", exerpt="Text.", excerpt=None))
    (records / "b.txt").write_text(record_text(title=None, tittle="Lost"))
    (records / "c.txt").write_text("---\ntitle: Breaking: news\n---\n")
    (records / "d.txt").write_text(
        record_text(webUrl="https://news.example/d", topics=None, topic="Space")
    )
    first = run_cli("build", cwd=tmp_path)
    assert first.returncode == 1
    assert first.stderr.splitlines() == [
        "records/b.txt: title: missing (there is 'tittle': a misspelling?)",
        "records/c.txt: (yaml): not valid YAML: line 2: mapping values are not allowed in this "
        'context; hint: quote the value: title: "Breaking: news"',
        "records/a.txt: exerpt: warning: unknown field; did you mean 'excerpt'?",
        "records/d.txt: topic: warning: unknown field; did you mean 'topics'?",
    ]
    assert "4 records read, 2 published, 0 unpublished, 0 duplicates, 2 rejected" in first.stdout
    # The cache keeps the warnings of the records it does not read again.
    again = run_cli("build", cwd=tmp_path)
    assert again.stderr == first.stderr
    assert "0 files written" in again.stdout
