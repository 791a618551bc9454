from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.grouping import assign_slugs, dedupe, group, slugify
from feeds.model import Author, Entry
from feeds.urls import article_id
from tests.conftest import make_settings

SETTINGS = make_settings(Path("/tmp/records"))
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def entry(
    n: int, *, topics: tuple[str, ...] = ("AI",), provider: str = "a.example", **kw: object
) -> Entry:
    url = f"https://news.example/{n}"
    values: dict[str, object] = {
        "id": article_id(url),
        "url": url,
        "title": f"Story {n}",
        "summary": "",
        "content_html": "",
        "published": T0 + timedelta(hours=n),
        "author": Author(name=provider.upper(), url=f"https://{provider}/"),
        "provider_key": provider,
        "topics": topics,
        "categories": topics,
        "images": (),
        "related": (),
        "source": f"r{n}.txt",
    }
    values.update(kw)
    return Entry(**values)  # type: ignore[arg-type]


def test_one_all_feed_one_per_topic_one_per_provider() -> None:
    feeds = group([entry(1, topics=("AI", "Space")), entry(2, provider="b.example")], SETTINGS)
    assert [(f.grouping, f.path) for f in feeds] == [
        ("all", "all"),
        ("topic", "topics/ai"),
        ("topic", "topics/space"),
        ("provider", "providers/a-example"),
        ("provider", "providers/b-example"),
    ]


def test_topic_names_differing_in_case_or_space_are_one_feed_titled_by_the_commonest() -> None:
    feeds = group(
        [
            entry(1, topics=("Computer Vision",)),
            entry(2, topics=(" computer  vision",)),
            entry(3, topics=("Computer Vision",)),
        ],
        SETTINGS,
    )
    topic = [f for f in feeds if f.grouping == "topic"]
    assert len(topic) == 1
    assert topic[0].name == "Computer Vision"
    assert topic[0].title == "Test News: Computer Vision"
    assert topic[0].path == "topics/computer-vision"
    assert len(topic[0].entries) == 3


def test_newest_first_and_at_most_max_entries() -> None:
    settings = replace(SETTINGS, max_entries=3)
    feeds = group([entry(n) for n in range(10)], settings)
    everything = feeds[0]
    assert [e.title for e in everything.entries] == ["Story 9", "Story 8", "Story 7"]
    assert everything.total == 10
    assert everything.updated == T0 + timedelta(hours=9)


def test_ties_on_date_are_broken_by_id_not_input_order() -> None:
    same = [entry(n, published=T0) for n in range(5)]
    forward = group(same, SETTINGS)[0].entries
    backward = group(list(reversed(same)), SETTINGS)[0].entries
    assert forward == backward


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Computer Vision", "computer-vision"),
        ("Société Générale", "societe-generale"),
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("C", "c"),
        ("AT&T", "at-and-t"),
        ("../../etc/passwd", "etc-passwd"),
        ("日本語", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_distinct_names_never_share_a_path() -> None:
    keys = ["c++", "c#", "c", "c.", "c!", "日本語", "中文", "", "a" * 200, "a" * 201, "c-3e542e86"]
    slugs = assign_slugs(keys)
    assert len(set(slugs.values())) == len(keys)
    assert all(
        s and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in s) for s in slugs.values()
    )


def test_non_latin_names_get_a_stable_hashed_slug() -> None:
    alone = assign_slugs(["日本語"])["日本語"]
    assert len(alone) == 8
    assert assign_slugs(["日本語", "中文", "ai", "x"])["日本語"] == alone


def test_traversal_names_are_just_topics() -> None:
    feeds = group([entry(1, topics=("../../etc/passwd", "/abs", "a\\b"))], SETTINGS)
    paths = [f.path for f in feeds if f.grouping == "topic"]
    assert all(".." not in p and "\\" not in p and p.startswith("topics/") for p in paths)


def test_duplicate_articles_keep_the_newer_with_a_warning() -> None:
    older = entry(1, source="old.txt")
    newer = entry(1, published=T0 + timedelta(days=9), title="Updated", source="new.txt")
    for order in ([older, newer], [newer, older]):
        kept, problems = dedupe(order)
        assert [e.title for e in kept] == ["Updated"]
        assert [(p.path, p.field) for p in problems] == [("old.txt", "webUrl")]
        assert "new.txt" in problems[0].reason


def test_duplicates_with_the_same_date_pick_the_same_one_whatever_the_order() -> None:
    a = entry(1, title="Alpha", source="z.txt")
    b = entry(1, title="Beta", source="a.txt")
    assert dedupe([a, b])[0] == dedupe([b, a])[0]


def test_groupings_can_be_turned_off() -> None:
    feeds = group([entry(1)], replace(SETTINGS, groupings=("topic",)))
    assert {f.grouping for f in feeds} == {"topic"}


def test_all_feed_exists_even_without_entries() -> None:
    feeds = group([], SETTINGS)
    assert [(f.path, f.entries) for f in feeds] == [("all", ())]
