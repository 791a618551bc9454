from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.content import entry_html
from feeds.errors import RecordError
from feeds.mapping import map_record
from feeds.model import Entry, Record
from feeds.records import parse_record, read_record
from feeds.settings import Settings
from feeds.urls import article_id
from tests.conftest import SEED, make_settings, record_text

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
