"""Entries to feeds: one table of groupings (all, per topic, per provider), each feed newest first.

Pure: the feeds depend on the entries and the settings only, never on the order records were
read in.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.errors import FeedsError, Problem
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


@dataclass(frozen=True, slots=True)
class Grouped:
    feeds: list[Feed]
    published: int
    duplicates: list[Problem]


def group(entries: Iterable[Entry], settings: Settings) -> Grouped:
    """Every feed of every grouping in ``settings.groupings``, in a stable order."""
    accumulator = Accumulator(settings)
    for entry in entries:
        accumulator.add(entry)
    return accumulator.finish()


Rank = tuple[datetime, str, str]


@dataclass(slots=True)
class _Winner:
    rank: Rank
    serial: int
    keys: tuple[tuple[str, str, str], ...]


class Accumulator:
    """Groups entries as they stream in, holding only the entries that can still be published.

    Memory holds each feed's newest ``max_entries`` entries, plus a small record per article id
    (its rank, for duplicates, and the feeds it belongs to), never every entry. Two records with
    the same id give one entry: the newest, then a rule on content (never on paths, so renames
    change nothing).

    The feeds are computed exactly from the per-article records at the end. An entry that was
    let go while streaming and is needed after all (a later duplicate took another entry's
    place) is read again with ``reload``; without ``reload`` every entry is kept.
    """

    def __init__(
        self, settings: Settings, reload: Callable[[str], Entry | None] | None = None
    ) -> None:
        self.settings = settings
        self.reload = reload
        self.groupings = [g for g in GROUPINGS if g.name in settings.groupings]
        self.heaps: dict[tuple[str, str], list[tuple[datetime, str, int]]] = {}
        self.winners: dict[str, _Winner] = {}
        self.entries: dict[int, Entry] = {}
        self.holders: Counter[int] = Counter()
        self.contenders: dict[str, list[tuple[Rank, str]]] = {}
        self.serial = 0

    def add(self, entry: Entry) -> None:
        self.serial += 1
        serial = self.serial
        rank = (entry.published, _digest(entry), entry.source)
        old = self.winners.get(entry.id)
        if old is not None:
            self.contenders.setdefault(entry.id, [(old.rank, old.rank[2])])
            self.contenders[entry.id].append((rank, entry.source))
            if rank <= old.rank:
                return
        keys = tuple((g.name, key, name) for g in self.groupings for key, name in g.keys(entry))
        self.winners[entry.id] = _Winner(rank, serial, keys)
        if self.reload is None:
            self.entries[serial] = entry
            return
        item = (entry.published, entry.id, serial)
        limit = self.settings.max_entries
        for kind, key, _ in keys:
            heap = self.heaps.get((kind, key)) or self.heaps.setdefault((kind, key), [])
            if len(heap) < limit:
                heapq.heappush(heap, item)
                self.holders[serial] += 1
            elif item > heap[0]:
                evicted = heapq.heapreplace(heap, item)
                self.holders[serial] += 1
                self._release(evicted[2])
        if self.holders[serial]:
            self.entries[serial] = entry
        else:
            del self.holders[serial]

    def _release(self, serial: int) -> None:
        self.holders[serial] -= 1
        if not self.holders[serial]:
            del self.holders[serial]
            del self.entries[serial]

    def finish(self) -> Grouped:
        limit = self.settings.max_entries
        tops: dict[tuple[str, str], list[tuple[datetime, str, int]]] = {}
        members: Counter[tuple[str, str]] = Counter()
        spellings: dict[tuple[str, str], Counter[str]] = {}
        for article, winner in self.winners.items():
            item = (winner.rank[0], article, winner.serial)
            for kind, key, name in winner.keys:
                slot = (kind, key)
                members[slot] += 1
                spellings.setdefault(slot, Counter())[name] += 1
                top = tops.get(slot) or tops.setdefault(slot, [])
                if len(top) < limit:
                    heapq.heappush(top, item)
                elif item > top[0]:
                    heapq.heapreplace(top, item)
        feeds: list[Feed] = []
        for grouping in self.groupings:
            if grouping.name == "all":
                keys = ["all"]
                paths = {"all": "all"}
            else:
                keys = sorted(k for g, k in tops if g == grouping.name)
                paths = {k: f"{grouping.folder}/{slug}" for k, slug in assign_slugs(keys).items()}
            for key in keys:
                slot = (grouping.name, key)
                newest = tuple(
                    self._entry(serial) for _, _, serial in sorted(tops.get(slot, []), reverse=True)
                )
                name = _commonest(spellings[slot]) if slot in spellings else ""
                feeds.append(
                    Feed(
                        grouping=grouping.name,
                        key=key,
                        name=name,
                        title=f"{self.settings.title}: {name}" if name else self.settings.title,
                        path=paths[key],
                        entries=newest,
                        total=members[slot],
                        updated=newest[0].published if newest else EPOCH,
                    )
                )
        return Grouped(feeds=feeds, published=len(self.winners), duplicates=self._duplicates())

    def _entry(self, serial: int) -> Entry:
        entry = self.entries.get(serial)
        if entry is None:
            source = next(w.rank[2] for w in self.winners.values() if w.serial == serial)
            assert self.reload is not None  # without reload, every entry is kept
            entry = self.reload(source)
            if entry is None:
                raise FeedsError(f"{source}: changed while being built; build again")
            self.entries[serial] = entry
        return entry

    def _duplicates(self) -> list[Problem]:
        problems: list[Problem] = []
        for article, contenders in self.contenders.items():
            contenders.sort(reverse=True)
            winner = contenders[0][1]
            problems.extend(
                Problem(
                    source,
                    "webUrl",
                    f"same article as {winner} (id {article}); only the newer is published",
                )
                for _, source in contenders[1:]
            )
        problems.sort(key=str)
        return problems


def _digest(entry: Entry) -> str:
    # Compact, so that a rank can be kept for every article of a large archive.
    content = "\x00".join(
        (
            entry.url,
            entry.title,
            entry.summary,
            *entry.paragraphs,
            *(image.url for image in entry.images),
            *(link.url for link in entry.related),
        )
    )
    return hashlib.sha256(content.encode()).hexdigest()


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
