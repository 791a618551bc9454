"""The groupings table: each way of grouping entries into feeds (all, per topic, per provider,
per topic and provider, the custom feeds of the settings), as one row a grouping. A new grouping
is one new row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from feeds.layout import FOLDERS
from feeds.model import Entry
from feeds.settings import CustomFeed, Settings
from feeds.text import fold


@dataclass(frozen=True, slots=True)
class Grouping:
    """A way of grouping entries into feeds; one row of :data:`GROUPINGS`."""

    name: str
    folder: str
    label: str
    keys: Callable[[Entry, Settings], Iterable[tuple[str, str]]]
    """(key, name) of every feed of this grouping that holds the entry."""
    about: str
    """What one of its feeds holds, for its HTML page; ``{name}`` is the feed's name."""


def _all(entry: Entry, settings: Settings) -> Iterable[tuple[str, str]]:
    return (("all", ""),)


def _topics(entry: Entry, settings: Settings) -> Iterable[tuple[str, str]]:
    return ((fold(t), t) for t in entry.topics)


def _provider(entry: Entry, settings: Settings) -> Iterable[tuple[str, str]]:
    if entry.provider_key and entry.author:
        return ((entry.provider_key, entry.author.name),)
    return ()


# Joins a topic's key and a provider's key; neither a folded name nor a domain holds it.
PAIR = "\x1f"


def _topic_provider(entry: Entry, settings: Settings) -> Iterable[tuple[str, str]]:
    if not (entry.provider_key and entry.author):
        return ()
    provider = entry.author.name
    return ((f"{fold(t)}{PAIR}{entry.provider_key}", f"{t} · {provider}") for t in entry.topics)


def _custom(entry: Entry, settings: Settings) -> Iterable[tuple[str, str]]:
    # No name: a custom feed is named by its title in the settings when it is planned, so a
    # new title changes that feed alone (the build cache keeps every entry's keys).
    return ((feed.slug, "") for feed in settings.custom_feeds if matches(feed, entry))


def matches(feed: CustomFeed, entry: Entry) -> bool:
    """Whether ``entry`` passes every condition of ``feed`` (any name of a list will do)."""
    if feed.topics and not any(fold(t) in feed.topics for t in entry.topics):
        return False
    if feed.providers:
        names = {entry.provider_key, fold(entry.author.name) if entry.author else None}
        if not names & set(feed.providers):
            return False
    if feed.categories and fold(entry.category) not in feed.categories:
        return False
    if feed.types and entry.kind not in feed.types:
        return False
    if feed.min_quality is not None and not (entry.quality or 0) >= feed.min_quality:
        return False
    if feed.min_heat is not None and not (entry.heat or 0) >= feed.min_heat:
        return False
    if feed.since is not None and entry.published < feed.since:
        return False
    return feed.until is None or entry.published < feed.until


GROUPINGS = (
    Grouping("all", FOLDERS["all"], "All entries", _all, "every entry of the site"),
    Grouping("topic", FOLDERS["topic"], "Topics", _topics, "the entries on the topic {name}"),
    Grouping("provider", FOLDERS["provider"], "Providers", _provider, "the entries from {name}"),
    Grouping(
        "topic-provider",
        FOLDERS["topic-provider"],
        "Topics by provider",
        _topic_provider,
        "the entries of one topic from one provider, {name}",
    ),
    Grouping("custom", FOLDERS["custom"], "Selections", _custom, "the selection {name}"),
)
