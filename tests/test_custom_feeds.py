"""Custom feeds from settings (named filters) and the topic x provider grouping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from feeds.build import Build, build
from feeds.errors import SettingsError
from feeds.settings import parse_settings
from tests.conftest import RecordWriter, make_settings


@pytest.fixture
def desk(records: Path, write_record: RecordWriter) -> Path:
    """Six records that differ in every field a filter reads."""
    rows = [
        # title, topics, provider (name, domain), category, type, quality, heat, date
        (
            "AI deep dive",
            ["AI"],
            ("MIT Technology Review", "technologyreview.com"),
            "news",
            "article",
            72,
            40,
            "2024-03-01",
        ),
        (
            "AI quick take",
            ["AI"],
            ("Wire", "wire.example"),
            "news",
            "article",
            40,
            90,
            "2024-03-02",
        ),
        (
            "Climate video",
            ["Climate"],
            ("Wire", "wire.example"),
            "news",
            "video",
            65,
            80,
            "2024-04-01",
        ),
        (
            "Old climate report",
            ["Climate", "AI"],
            ("Blog", ""),
            "opinion",
            "article",
            90,
            10,
            "2023-01-01",
        ),
        ("Unscored", ["AI"], ("Wire", "wire.example"), "news", "article", None, None, "2024-05-01"),
        (
            "Space note",
            ["Space"],
            ("www.Orbit.example", "www.orbit.example"),
            "science",
            "article",
            60,
            60,
            "2024-06-01",
        ),
    ]
    for n, (title, topics, (name, domain), category, kind, quality, heat, date) in enumerate(rows):
        fields: dict[str, Any] = {
            "title": title,
            "webUrl": f"https://news.example/{n}",
            "publishedDateTime": f"{date}T12:00:00Z",
            "topics": topics,
            "provider": {"name": name, "domain": domain},
            "category": category,
            "type": kind,
        }
        if quality is not None:
            fields |= {"quality": quality, "heat": heat}
        write_record(**fields)
    return records


def custom(desk: Path, *feeds: dict[str, Any], **values: Any) -> Build:
    return build(make_settings(desk, custom_feeds=list(feeds), **values))


def titles(result: Build, path: str) -> list[str]:
    return [item["title"] for item in json.loads(result.files[path])["items"]]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"topics": ["ai"]}, ["Unscored", "AI quick take", "AI deep dive", "Old climate report"]),
        ({"providers": ["technologyreview.com"]}, ["AI deep dive"]),
        ({"providers": ["https://www.orbit.example/"]}, ["Space note"]),
        ({"providers": ["Blog"]}, ["Old climate report"]),
        ({"categories": "Opinion"}, ["Old climate report"]),
        ({"types": ["video"]}, ["Climate video"]),
        ({"min_quality": 65}, ["Climate video", "AI deep dive", "Old climate report"]),
        ({"min_heat": 80}, ["Climate video", "AI quick take"]),
        ({"since": "2024-04-01"}, ["Space note", "Unscored", "Climate video"]),
        ({"until": "2024-03-02"}, ["AI deep dive", "Old climate report"]),
        ({"topics": ["AI"], "min_quality": 60}, ["AI deep dive", "Old climate report"]),
        (
            {"topics": ["AI", "Space"], "since": "2024-01-01", "until": "2024-12-31"},
            ["Space note", "Unscored", "AI quick take", "AI deep dive"],
        ),
    ],
)
def test_a_custom_feed_holds_exactly_the_entries_its_filter_passes(
    desk: Path, spec: dict[str, Any], expected: list[str]
) -> None:
    result = custom(desk, {"title": "Picked", **spec})
    assert titles(result, "custom/picked.json") == expected


def test_a_custom_feed_gets_every_format_the_index_the_opml_and_a_title(desk: Path) -> None:
    result = custom(desk, {"title": "Top AI stories", "topics": ["AI"], "min_quality": 60})
    for fmt in ("rss", "atom", "json"):
        assert f"custom/top-ai-stories.{fmt}" in result.files
    parsed = feedparser.parse(result.files["custom/top-ai-stories.atom"])
    assert parsed.feed.title == "Test News: Top AI stories"
    assert [e.title for e in parsed.entries] == ["AI deep dive", "Old climate report"]
    assert "custom/top-ai-stories.atom" in result.files["index.html"].decode()
    opml = etree.fromstring(result.files["custom.opml"])
    assert [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")] == [
        "https://example.org/feeds/custom/top-ai-stories.rss"
    ]
    assert b"top-ai-stories" in result.files["feeds.opml"]


def test_a_custom_feed_with_no_match_still_exists(desk: Path) -> None:
    result = custom(desk, {"title": "Nothing yet", "topics": ["Gardening"]})
    assert json.loads(result.files["custom/nothing-yet.json"])["items"] == []


def test_custom_feeds_have_archives(desk: Path) -> None:
    result = custom(
        desk, {"title": "AI", "slug": "ai-all", "topics": "AI"}, max_entries=1, archive_page_size=2
    )
    pages = sorted(p for p in result.files if p.startswith("archive/custom/ai-all/"))
    assert pages == [
        f"archive/custom/ai-all/{n}.{fmt}" for n in (1, 2) for fmt in ("atom", "json", "rss")
    ]
    history = titles(result, "custom/ai-all.json") + titles(result, "archive/custom/ai-all/2.json")
    history += titles(result, "archive/custom/ai-all/1.json")
    assert history == ["Unscored", "AI quick take", "AI deep dive", "Old climate report"]


def test_topic_provider_feeds_are_a_grouping_to_switch_on(desk: Path) -> None:
    result = build(make_settings(desk, groupings=["topic-provider"]))
    paths = sorted(p.removesuffix(".json") for p in result.files if p.endswith(".json"))
    assert paths == [
        "topic-providers/ai--blog",
        "topic-providers/ai--technologyreview-com",
        "topic-providers/ai--wire-example",
        "topic-providers/climate--blog",
        "topic-providers/climate--wire-example",
        "topic-providers/space--orbit-example",
    ]
    feed = json.loads(result.files["topic-providers/ai--wire-example.json"])
    assert feed["title"] == "Test News: AI · Wire"
    assert [item["title"] for item in feed["items"]] == ["Unscored", "AI quick take"]
    assert "topic-providers.opml" in result.files


def test_the_example_settings_build_custom_feeds_that_validate(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    result = build(
        parse_settings(
            __import__("yaml").safe_load((ROOT / "settings.yaml").read_text()), base=ROOT
        )
    )
    custom_paths = [p for p in result.files if p.startswith("custom/")]
    assert len(custom_paths) == 8  # two feeds, three formats and a page each
    for path in custom_paths:
        if path.endswith((".rss", ".atom")):
            assert not feedparser.parse(result.files[path]).bozo, path


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ("AI", "expected a list of custom feeds"),
        ([{"topics": ["AI"]}], "custom feed 1: `title` must be a non-empty string"),
        (
            [{"title": "X", "topic": ["AI"]}],
            "custom feed 1: unknown key 'topic'; did you mean 'topics'?",
        ),
        ([{"title": "X"}], "custom feed 1: give at least one filter"),
        ([{"title": "X", "min_quality": "high"}], "`min_quality` must be a number, got 'high'"),
        ([{"title": "X", "min_heat": True}], "`min_heat` must be a number"),
        ([{"title": "X", "since": "June 2020"}], "`since` must be a date such as 2024-01-31"),
        (
            [{"title": "X", "since": "2024-02-01", "until": "2024-01-01"}],
            "`since` must be before `until`",
        ),
        ([{"title": "X", "slug": "Top AI", "topics": "AI"}], "`slug` must be lowercase letters"),
        ([{"title": "X", "topics": [3]}], "`topics` must be a name or a list of names"),
        (
            [{"title": "Same", "topics": "AI"}, {"title": "same", "topics": "Space"}],
            "two custom feeds have the slug 'same'",
        ),
        ([{"title": "X", "topics": "AI"}, "Y"], "custom feed 2: expected a mapping"),
    ],
)
def test_invalid_filters_are_settings_errors_that_say_what_is_wrong(
    feeds: object, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"custom_feeds": feeds}, base=Path("/site"), source="site.yaml")
    text = str(caught.value)
    assert text.startswith("site.yaml: custom_feeds: "), text
    assert message in text, text


def test_custom_in_groupings_without_custom_feeds_is_an_error() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings({"groupings": ["all", "custom"]}, base=Path("/site"), source="site.yaml")
    assert "custom needs feeds defined in custom_feeds" in str(caught.value)
