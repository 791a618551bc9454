from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from feeds.content import entry_html
from feeds.errors import RecordError
from feeds.mapping import MAX_WARNINGS, map_record
from feeds.model import Entry, Record
from feeds.records import parse_record, read_record
from feeds.settings import Settings
from feeds.urls import article_id
from tests.conftest import SEED, make_settings, record_text, run_cli

SETTINGS = make_settings(Path("/tmp/records"))


def seed_record() -> Record:
    record = read_record(SEED, "seed.txt", SETTINGS.zone)
    assert record is not None
    return record


def entry_of(text: str, settings: Settings = SETTINGS) -> Entry:
    record = parse_record(text.encode(), "x.txt", settings.zone)
    assert record is not None
    return map_record(record, settings)[0]


def test_seed_maps_to_an_entry_with_every_part() -> None:
    entry, problems = map_record(seed_record(), SETTINGS)
    assert problems == []
    assert entry.url == seed_record().url
    assert entry.id == article_id(seed_record().url)
    assert entry.published == datetime(2020, 6, 12, 16, 5, tzinfo=UTC)
    assert "government’s tracking" in entry.summary
    assert entry.author is not None
    assert (entry.author.name, entry.author.url) == (
        "MIT Technology Review",
        "https://technologyreview.com/",
    )
    assert entry.topics == ("Computer Vision", "AI")
    assert entry.categories == ("Computer Vision", "AI", "news")
    assert [(i.media_type, i.width, i.height) for i in entry.images] == [("image/jpeg", 3000, 1687)]
    assert [(r.provider, r.published) for r in entry.related] == [
        ("Mashable", datetime(2020, 6, 11, 23, 41, tzinfo=UTC)),
        ("SFGate", datetime(2020, 6, 12, 21, 17, tzinfo=UTC)),
    ]


def test_content_html_shows_lead_image_excerpt_and_related_list() -> None:
    entry = map_record(seed_record(), SETTINGS)[0]
    html = entry_html(entry)
    assert html.index("<img") < html.index("In the summer of 2018") < html.index("<ul>")
    assert "(Mashable, 2020-06-11)" in html
    assert html.count("<li>") == 2


def test_secured_and_unmapped_fields_never_reach_the_entry() -> None:
    secured = "SVH+HMIwfm0jo44VCe4UYQ"
    entry = map_record(seed_record(), SETTINGS)[0]
    assert secured not in repr(entry)
    assert "/amp" not in entry.url
    assert "ampproject" not in repr(entry)


def test_amp_urls_are_never_the_link_or_the_id() -> None:
    entry = entry_of(
        record_text(ampWebUrl="https://amp.example/a", cdnAmpWebUrl="https://c.example/a")
    )
    assert entry.url == "https://news.example/a"
    assert entry.id == article_id("https://news.example/a")


def test_id_survives_changes_of_title_excerpt_and_images() -> None:
    a = entry_of(record_text())
    b = entry_of(
        record_text(title="New title", excerpt="Other", images=["https://x.example/i.png"])
    )
    assert a.id == b.id


def test_markup_in_text_is_escaped_in_html_content() -> None:
    entry = entry_of(record_text(excerpt="<script>alert(1)</script> & more"))
    assert entry.summary == "<script>alert(1)</script> & more"
    assert "<script>" not in entry_html(entry)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in entry_html(entry)


def test_mojibake_repair_can_be_turned_off() -> None:
    off = replace(SETTINGS, repair_text=False)
    assert entry_of(record_text(excerpt="governmentâ€™s"), off).summary == "governmentâ€™s"
    assert entry_of(record_text(excerpt="governmentâ€™s")).summary == "government’s"


def test_title_of_only_control_characters_is_rejected() -> None:
    record = parse_record(record_text(title="\x01\x02").encode(), "x.txt", SETTINGS.zone)
    assert record is not None
    with pytest.raises(RecordError) as caught:
        map_record(record, SETTINGS)
    assert caught.value.field == "title"


def test_long_excerpt_is_cut_with_a_warning() -> None:
    record = parse_record(record_text(excerpt="word " * 40_000).encode(), "x.txt", SETTINGS.zone)
    assert record is not None
    entry, problems = map_record(record, SETTINGS)
    assert len(entry.summary) <= SETTINGS.summary_max_chars
    assert entry.summary.endswith("…")
    assert [p.field for p in problems] == ["excerpt"]


def test_images_resolve_relative_urls_and_drop_other_schemes() -> None:
    record = parse_record(
        record_text(
            webUrl="https://news.example/2024/story",
            images=[
                {"url": "javascript:alert(1)"},
                {"url": "data:image/png;base64,AAAA"},
                {"url": "img/lead photo.PNG", "width": 640, "height": 480, "title": "Lead"},
                {"url": "https://cdn.example/b.webp"},
                {"url": "https://cdn.example/b.webp"},
            ],
        ).encode(),
        "x.txt",
        SETTINGS.zone,
    )
    assert record is not None
    entry, problems = map_record(record, SETTINGS)
    assert [(i.url, i.media_type) for i in entry.images] == [
        ("https://news.example/2024/img/lead%20photo.PNG", "image/png"),
        ("https://cdn.example/b.webp", "image/webp"),
    ]
    assert [p.field for p in problems] == ["images[0].url", "images[1].url"]


def test_topics_are_deduplicated_ignoring_case_and_category_added() -> None:
    entry = entry_of(record_text(topics=["AI", " ai ", "Climate"], category="AI"))
    assert entry.topics == ("AI", "Climate")
    assert entry.categories == ("AI", "Climate")


def test_provider_without_domain_is_keyed_by_name() -> None:
    entry = entry_of(record_text(provider={"name": "Local Paper"}))
    assert entry.author is not None
    assert entry.author.url is None
    assert entry.provider_key == "name:local paper"


def test_body_paragraphs_are_in_the_content() -> None:
    entry = entry_of(record_text() + "\nFirst <b>para</b>.\n\nSecond.\n")
    assert "<p>First &lt;b&gt;para&lt;/b&gt;.</p>\n<p>Second.</p>" in entry_html(entry)


# Bad input never costs an article: broken optional parts are dropped, warnings are bounded.


def mapped(text: str) -> tuple[Entry, list[tuple[str, str]]]:
    record = parse_record(text.encode(), "x.txt", SETTINGS.zone)
    assert record is not None
    entry, problems = map_record(record, SETTINGS)
    assert all(p.path == "x.txt" for p in problems)
    return entry, [(p.field, p.reason) for p in problems]


def test_a_related_link_without_web_url_costs_the_link_not_the_article() -> None:
    entry, warnings = mapped(
        record_text(
            related=[
                {"title": "First", "webUrl": "https://r.example/1"},
                {"title": "Second", "webUrl": "https://r.example/2"},
                {"title": "A title but no address"},
                {"title": "Not http", "webUrl": "javascript:alert(1)"},
            ]
        )
    )
    assert entry.url == "https://news.example/a"
    assert [(r.url, r.title) for r in entry.related] == [
        ("https://r.example/1", "First"),
        ("https://r.example/2", "Second"),
    ]
    assert warnings == [
        ("related[2].webUrl", "missing; link dropped"),
        ("related[3].webUrl", "not an http(s) URL: 'javascript:alert(1)'; link dropped"),
    ]


def test_an_image_without_a_usable_url_costs_the_image_not_the_article() -> None:
    entry, warnings = mapped(
        record_text(
            images=[
                {"title": "No address", "width": 10},
                {"url": "https://img.example/a.jpg", "width": "wide", "title": "Kept"},
                {"url": "ftp://img.example/b.jpg"},
            ]
        )
    )
    assert [(i.url, i.width, i.title) for i in entry.images] == [
        ("https://img.example/a.jpg", None, "Kept")
    ]
    assert [field for field, _ in warnings] == ["images[0].url", "images[1].width", "images[2].url"]


def test_warnings_are_bounded_per_record_with_one_line_counting_the_rest() -> None:
    bad_images = [{"url": f"javascript:alert({n})"} for n in range(30)]
    bad_related = [{"title": f"No address {n}"} for n in range(5)]
    entry, warnings = mapped(record_text(images=bad_images, related=bad_related))
    assert (entry.images, entry.related) == ((), ())
    assert len(warnings) == MAX_WARNINGS + 1
    assert warnings[-1] == ("(warnings)", f"... and {35 - MAX_WARNINGS} more")


def alias_bomb_record(
    bad: str = "'javascript:alert(1)'", field: str = "images", size: int = 2 * 1024 * 1024
) -> str:
    head = (
        "---\ntitle: Bomb\nwebUrl: https://news.example/bomb\n"
        f"publishedDateTime: 2024-05-01T10:00:00Z\nbad: &bad {bad}\n"
    )
    count = (size - len(head)) // len("*bad, ")
    return head + f"{field}: [" + ", ".join(["*bad"] * count) + "]\n---\n"


def test_a_2_mb_record_of_aliased_bad_image_urls_is_published_fast_with_bounded_warnings() -> None:
    text = alias_bomb_record()
    assert len(text) >= 2 * 1024 * 1024 - 10
    started = time.perf_counter()
    entry, warnings = mapped(text)
    elapsed = time.perf_counter() - started
    assert entry.title == "Bomb"
    assert entry.images == ()
    assert len(warnings) == MAX_WARNINGS + 1
    assert warnings[0] == (
        "images[0].url",
        "not an http(s) URL: 'javascript:alert(1)'; image dropped",
    )
    more = text.count("*bad") - MAX_WARNINGS
    assert warnings[-1] == ("(warnings)", f"... and {more} more")
    # Parsing the YAML alone takes about a third of a second here; mapping must not add seconds.
    assert elapsed < 3.0, elapsed


@pytest.mark.slow
@pytest.mark.parametrize(
    ("field", "bad", "first", "per_item"),
    [
        ("images", "{url: 'javascript:x', width: wide}", "images[0].width", 2),
        ("images", "[a, list]", "images[0]", 1),
        ("related", "{title: t, webUrl: 'ftp://x', publishedDateTime: soon}", "related[0]", 2),
        ("related", "just text", "related[0]", 1),
        ("topics", "{a: mapping}", "topics[0]", 1),
    ],
)
def test_any_aliased_broken_part_repeated_over_2_mb_is_fast_and_bounded(
    field: str, bad: str, first: str, per_item: int
) -> None:
    text = alias_bomb_record(bad, field)
    started = time.perf_counter()
    entry, warnings = mapped(text)
    elapsed = time.perf_counter() - started
    assert entry.title == "Bomb"
    assert len(warnings) == MAX_WARNINGS + 1
    assert warnings[0][0].startswith(first)
    more = text.count("*bad") * per_item - MAX_WARNINGS
    assert warnings[-1] == ("(warnings)", f"... and {more} more")
    assert elapsed < 3.0, elapsed


def test_the_alias_bomb_warnings_stay_bounded_on_a_no_op_rebuild(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "bomb.txt").write_text(alias_bomb_record())
    (records / "fine.txt").write_text(record_text())
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        "title: Bomb test\nbase_url: https://example.org/feeds/\nrecords: records\n"
    )
    runs = [run_cli("build", "--settings", str(settings)) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
        bomb_lines = [line for line in run.stderr.splitlines() if "bomb.txt" in line]
        assert 1 <= len(bomb_lines) <= MAX_WARNINGS + 1, len(bomb_lines)
    assert runs[1].stderr == runs[0].stderr
    assert "0 files written" in runs[1].stdout
    titles = sorted(e.title for e in feedparser.parse(tmp_path / "output" / "all.atom").entries)
    assert titles == ["A title", "Bomb"]
