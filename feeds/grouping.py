"""Entries to feeds: one table of groupings (all, per topic, per provider), each feed newest first.

Pure: the feeds depend on the entries and the settings only, never on the order records were
read in.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.errors import Problem
from feeds.mapping import fold
from feeds.model import Entry, Feed
from feeds.settings import Settings

# The "updated" of a feed with no entries: a fixed date, since nothing else is both honest and
# reproducible (the build time would change every build); validators find 1970 implausible.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_SLUG = 60
_SYMBOLS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Grouping:
    """A way of grouping entries into feeds; one row of :data:`GROUPINGS`."""

    name: str
    folder: str
    label: str
    keys: Callable[[Entry], Iterable[tuple[str, str]]]
    """(key, name) of every feed of this grouping that holds the entry."""


def _all(entry: Entry) -> Iterable[tuple[str, str]]:
    return (("all", ""),)


def _topics(entry: Entry) -> Iterable[tuple[str, str]]:
    return ((fold(t), t) for t in entry.topics)


def _provider(entry: Entry) -> Iterable[tuple[str, str]]:
    if entry.provider_key and entry.author:
        return ((entry.provider_key, entry.author.name),)
    return ()


GROUPINGS = (
    Grouping("all", "", "All entries", _all),
    Grouping("topic", "topics", "Topics", _topics),
    Grouping("provider", "providers", "Providers", _provider),
)


def dedupe(entries: Iterable[Entry]) -> tuple[list[Entry], list[Problem]]:
    """One entry per article id: the newest record wins, then a rule on content, not on paths."""
    by_id: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_id[entry.id].append(entry)
    kept: list[Entry] = []
    problems: list[Problem] = []
    for same in by_id.values():
        same.sort(key=_rank, reverse=True)
        kept.append(same[0])
        problems.extend(
            Problem(
                loser.source,
                "webUrl",
                f"same article as {same[0].source} (id {loser.id}); only the newer is published",
            )
            for loser in same[1:]
        )
    kept.sort(key=lambda e: e.id)
    problems.sort(key=str)
    return kept, problems


def _rank(entry: Entry) -> tuple[datetime, str, str, str, str, str]:
    return (
        entry.published,
        entry.title,
        entry.summary,
        entry.content_html,
        entry.url,
        entry.source,
    )


def group(entries: Iterable[Entry], settings: Settings) -> list[Feed]:
    """Every feed of every grouping in ``settings.groupings``, in a stable order."""
    entries = list(entries)
    feeds: list[Feed] = []
    for grouping in GROUPINGS:
        if grouping.name in settings.groupings:
            feeds.extend(_feeds_of(grouping, entries, settings))
    return feeds


def _feeds_of(grouping: Grouping, entries: list[Entry], settings: Settings) -> list[Feed]:
    members: dict[str, list[Entry]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in entries:
        for key, name in grouping.keys(entry):
            members[key].append(entry)
            spellings[key][name] += 1
    if grouping.name == "all":
        members.setdefault("all", [])
        paths = {"all": "all"}
    else:
        slugs = assign_slugs(members)
        paths = {key: f"{grouping.folder}/{slug}" for key, slug in slugs.items()}
    feeds = []
    for key in sorted(members):
        name = _commonest(spellings[key]) if spellings[key] else ""
        newest = heapq.nlargest(settings.max_entries, members[key], key=newest_first)
        feeds.append(
            Feed(
                grouping=grouping.name,
                key=key,
                name=name,
                title=f"{settings.title}: {name}" if name else settings.title,
                path=paths[key],
                entries=tuple(newest),
                total=len(members[key]),
                updated=newest[0].published if newest else EPOCH,
            )
        )
    return feeds


def newest_first(entry: Entry) -> tuple[datetime, str]:
    return (entry.published, entry.id)


def _commonest(spellings: Counter[str]) -> str:
    # The most used spelling names the feed; ties go to the same one whatever the input order.
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]


def slugify(name: str) -> str:
    """``Computer Vision`` -> ``computer-vision``, ``Société Générale`` -> ``societe-generale``,
    ``C++`` -> ``c-plus-plus``; "" when nothing ASCII is left (``日本語``)."""
    for symbol, word in _SYMBOLS.items():
        name = name.replace(symbol, word)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")


def assign_slugs(keys: Iterable[str]) -> dict[str, str]:
    """A distinct path-safe slug for every key.

    A key whose slug lost letters (non-ASCII scripts) or length gets a hash of the key appended,
    so it stays the same whatever other keys exist; of two keys that still share a slug, the
    first in key order keeps it and the other gets the hash.
    """
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for key in sorted(keys):
        name = key.removeprefix("name:")
        slug = slugify(name)
        lossy = any(c.isalnum() and not _folds(c) for c in name) or len(slug) > MAX_SLUG
        slug = slug[:MAX_SLUG].strip("-")
        digest = hashlib.sha256(key.encode()).hexdigest()
        hashed = [f"{slug}-{digest[:n]}" if slug else digest[:n] for n in (8, 16, 64)]
        candidates = hashed if lossy or not slug else [slug, *hashed]
        slugs[key] = next(c for c in candidates if c not in used)
        used.add(slugs[key])
    return slugs


def _folds(char: str) -> bool:
    return bool(unicodedata.normalize("NFKD", char).encode("ascii", "ignore"))
