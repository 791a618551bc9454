from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.grouping import Accumulator, group, summarize
from feeds.model import Author, Entry, Feed
from feeds.slugs import assign_slugs
from feeds.text import slugify
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
        "paragraphs": (),
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
    feeds = group(
        [entry(1, topics=("AI", "Space")), entry(2, provider="b.example")], SETTINGS
    ).feeds
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
    ).feeds
    topic = [f for f in feeds if f.grouping == "topic"]
    assert len(topic) == 1
    assert topic[0].name == "Computer Vision"
    assert topic[0].title == "Test News: Computer Vision"
    assert topic[0].path == "topics/computer-vision"
    assert len(topic[0].entries) == 3


def test_newest_first_and_at_most_max_entries() -> None:
    settings = replace(SETTINGS, max_entries=3)
    feeds = group([entry(n) for n in range(10)], settings).feeds
    everything = feeds[0]
    assert [e.title for e in everything.entries] == ["Story 9", "Story 8", "Story 7"]
    assert everything.total == 10
    assert everything.updated == T0 + timedelta(hours=9)


def test_ties_on_date_are_broken_by_id_not_input_order() -> None:
    same = [entry(n, published=T0) for n in range(5)]
    forward = group(same, SETTINGS).feeds[0].entries
    backward = group(list(reversed(same)), SETTINGS).feeds[0].entries
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
    feeds = group([entry(1, topics=("../../etc/passwd", "/abs", "a\\b"))], SETTINGS).feeds
    paths = [f.path for f in feeds if f.grouping == "topic"]
    assert all(".." not in p and "\\" not in p and p.startswith("topics/") for p in paths)


def test_duplicate_articles_keep_the_newer_with_a_warning() -> None:
    older = entry(1, source="old.txt")
    newer = entry(1, published=T0 + timedelta(days=9), title="Updated", source="new.txt")
    for order in ([older, newer], [newer, older]):
        grouped = group(order, SETTINGS)
        assert [e.title for e in grouped.feeds[0].entries] == ["Updated"]
        assert grouped.published == 1
        assert [(p.path, p.field) for p in grouped.duplicates] == [("old.txt", "webUrl")]
        assert "new.txt" in grouped.duplicates[0].reason


def test_duplicates_with_the_same_date_pick_the_same_one_whatever_the_order() -> None:
    a = entry(1, title="Alpha", source="z.txt")
    b = entry(1, title="Beta", source="a.txt")
    assert group([a, b], SETTINGS).feeds == group([b, a], SETTINGS).feeds


def test_a_replaced_entry_frees_its_place_for_the_next_newest() -> None:
    # Two places in topic A. Story 1 is let go when 2 and 3 arrive; then a newer version of
    # story 3 leaves topic A, and story 1 must come back, read again, as sorting would give.
    settings = replace(SETTINGS, max_entries=2, archives=False)
    stories = [entry(1, topics=("A",)), entry(2, topics=("A",)), entry(3, topics=("A",))]
    moved = entry(3, published=T0 + timedelta(days=1), topics=("B",), source="r3-new.txt")
    by_source = {e.source: e for e in [*stories, moved]}
    reloaded: list[str] = []

    def reload(source: str) -> Entry | None:
        reloaded.append(source)
        return by_source[source]

    accumulator = Accumulator(settings, reload)
    for e in [*stories, moved]:
        accumulator.add(e)
    feeds = {f.path: f for f in accumulator.finish().feeds}
    assert [e.title for e in feeds["topics/a"].entries] == ["Story 2", "Story 1"]
    assert [e.source for e in feeds["topics/b"].entries] == ["r3-new.txt"]
    assert reloaded == ["r1.txt"]
    assert len(accumulator.entries) <= 4


def rank_of(e: Entry) -> tuple[object, ...]:
    return (e.published, summarize(e).digest, e.source)


@pytest.mark.parametrize("seed", range(40))
def test_streaming_with_little_memory_equals_sorting_everything(seed: int) -> None:
    rng = random.Random(seed)
    settings = replace(
        SETTINGS,
        max_entries=rng.randint(1, 4),
        archives=seed % 2 == 0,
        archive_page_size=rng.randint(1, 3),
    )
    pool = [
        entry(
            rng.randint(1, 12),  # many duplicates
            published=T0 + timedelta(hours=rng.randint(0, 6)),
            title=f"v{n}",
            topics=tuple(rng.sample(["A", "B", "C"], rng.randint(0, 3))),
            source=f"s{n}.txt",
        )
        for n in range(rng.randint(1, 30))
    ]
    by_source = {e.source: e for e in pool}
    streamed = Accumulator(settings, lambda source: by_source[source])
    for e in pool:
        streamed.add(e)
    feeds = streamed.finish().feeds

    best: dict[str, Entry] = {}
    for e in pool:
        if e.id not in best or rank_of(e) > rank_of(best[e.id]):
            best[e.id] = e
    ordered = sorted(best.values(), key=lambda e: (e.published, e.id), reverse=True)
    documents: dict[str, dict[int, Feed]] = {}
    for feed in feeds:
        documents.setdefault(feed.paging.current, {})[feed.paging.number] = feed
    for pages in documents.values():
        feed = pages.pop(0)
        members = [e for e in ordered if feed.grouping != "topic" or feed.name in e.topics]
        assert feed.entries == tuple(members[: settings.max_entries]), feed.path
        assert feed.total == len(members), feed.path
        history = [e for n in sorted(pages, reverse=True) for e in pages[n].entries]
        if settings.archives:
            assert feed.entries + tuple(history) == tuple(members), feed.path
            assert sorted(pages) == list(range(1, len(pages) + 1))
            assert all(
                p.size == settings.archive_page_size for n, p in pages.items() if p.paging.next
            )
            assert feed.paging.complete == (not pages)
        else:
            assert not history


def test_groupings_can_be_turned_off() -> None:
    feeds = group([entry(1)], replace(SETTINGS, groupings=("topic",))).feeds
    assert {f.grouping for f in feeds} == {"topic"}


def test_all_feed_exists_even_without_entries() -> None:
    feeds = group([], SETTINGS).feeds
    assert [(f.path, f.entries) for f in feeds] == [("all", ())]
