"""Entries to feeds, as they stream in: an accumulator that dedupes articles by id and keeps
each feed's entries (per the groupings table), then plans every document of every feed (its
subscription document and its archive pages) as :class:`FeedPlan`s.

Pure: the feeds depend on the entries and the settings only, never on the order records were
read in.
"""

from __future__ import annotations

import hashlib
import heapq
import pickle
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from feeds.errors import DUPLICATES, FeedsError, Problem
from feeds.groupings import GROUPINGS
from feeds.layout import archive_path
from feeds.model import Entry, Feed, Paging
from feeds.paging import Ranked, allowance, paginate
from feeds.settings import Settings
from feeds.slugs import pair_slugs

# The "updated" of a feed with no entries: a fixed date, since nothing else is both honest and
# reproducible (the build time would change every build); validators find 1970 implausible.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


_DEFAULTS = Settings()


@dataclass(frozen=True, slots=True)
class Summary:
    """What grouping needs to know of an entry; small enough to keep one per article."""

    id: str
    published: int
    """POSIX seconds: entries have whole-second dates, and ints compare and load fastest."""
    digest: str
    source: str
    keys: tuple[tuple[tuple[str, str], str], ...]
    """((grouping, key), name) of every feed of every grouping that holds the entry."""
    size: int = 0
    """Bytes the entry adds to a document, in its largest format (for the byte budget)."""


def summarize(
    entry: Entry,
    blob: bytes | None = None,
    source: str | None = None,
    size: int = 0,
    settings: Settings = _DEFAULTS,
) -> Summary:
    """The entry's rank data and the (grouping, key, name) of every feed that would hold it.

    The digest covers everything a renderer can show, so a changed digest is exactly a changed
    entry; ``blob`` is the entry's :func:`freeze`, when the caller has it already.
    """
    keys = tuple(((g.name, key), name) for g in GROUPINGS for key, name in g.keys(entry, settings))
    digest = hashlib.sha256(blob or freeze(entry)).hexdigest()[:32]
    published = int(entry.published.timestamp())
    return Summary(entry.id, published, digest, source or entry.source, keys, size)


def freeze(entry: Entry) -> bytes:
    """The entry as bytes, without the file it came from (so a rename changes nothing)."""
    return pickle.dumps(replace(entry, source=""), protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """A feed before its entries are loaded: enough for the index, the OPML, and to tell
    whether its documents changed since the last build."""

    grouping: str
    key: str
    name: str
    title: str
    path: str
    total: int
    updated: datetime
    items: tuple[tuple[str, str, int], ...]
    """(article id, content digest, serial) of the entries, newest first."""
    paging: Paging

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(article for article, _, _ in self.items)

    def signature(self) -> str:
        """A hash of everything the document shows: it changes exactly when its bytes do."""
        described = (
            self.name,
            self.title,
            self.path,
            self.total,
            self.updated.isoformat(),
            repr(self.paging),
        )
        digest = hashlib.sha256(repr(described).encode())
        digest.update(
            "\n".join(f"{article} {content}" for article, content, _ in self.items).encode()
        )
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Grouped:
    plans: list[FeedPlan]
    published: int
    duplicates: list[Problem]
    accumulator: Accumulator

    @property
    def feeds(self) -> list[Feed]:
        return [self.accumulator.materialize(plan) for plan in self.plans]


def group(entries: Iterable[Entry], settings: Settings) -> Grouped:
    """Every feed of every grouping in ``settings.groupings``, in a stable order.

    Entries added this way have no measured size, so the byte budget does not cut their
    documents; builds measure every entry as its record is read (``build.process``)."""
    accumulator = Accumulator(settings)
    for entry in entries:
        accumulator.add(entry)
    return accumulator.finish()


Rank = tuple[int, str, str]


@dataclass(slots=True)
class _Winner:
    rank: Rank
    serial: int
    keys: tuple[tuple[tuple[str, str], str], ...]
    size: int


class Accumulator:
    """Groups entries as they stream in, holding only the entries that can still be published.

    Memory holds each feed's newest ``max_entries`` entries, plus a :class:`Summary` per article
    (for duplicates and for the feeds it belongs to), never every entry. Two records with the
    same id give one entry: the newest, then a rule on content (never on paths, so renames
    change nothing).

    The feeds are computed exactly from the summaries at the end. An entry that is not in memory
    (it was let go while streaming, or only its summary was added) is loaded with ``fetch``;
    without ``fetch`` every entry added is kept.
    """

    def __init__(
        self,
        settings: Settings,
        fetch: Callable[[str], Entry | None] | None = None,
        describe: Callable[[str], str] = str,
        *,
        keep_planning: bool = False,
    ) -> None:
        self.settings = settings
        self.keep_planning = keep_planning
        self.planning: Planning | None = None
        """With ``keep_planning``, what :meth:`finish` planned every feed from."""
        self.fetch = fetch
        self.describe = describe
        self.names = {g.name for g in GROUPINGS if g.name in settings.groupings}
        self.every_grouping = len(self.names) == len(GROUPINGS)
        self.heaps: dict[tuple[str, str], list[tuple[int, str, int]]] = {}
        self.winners: dict[str, _Winner] = {}
        self.entries: dict[int, Entry | bytes] = {}
        self.holders: Counter[int] = Counter()
        self.contenders: dict[str, list[tuple[Rank, str]]] = {}
        self.sources: dict[int, str] = {}
        self.serial = 0

    def add(self, entry: Entry) -> None:
        self.add_summary(summarize(entry, settings=self.settings), entry)

    def add_summary(self, summary: Summary, entry: Entry | bytes | None = None) -> None:
        """Add an article; ``entry`` may be the entry, its pickle, or None (fetch it later)."""
        self.serial += 1
        serial = self.serial
        rank = (summary.published, summary.digest, summary.source)
        old = self.winners.get(summary.id)
        if old is not None:
            self.contenders.setdefault(summary.id, [(old.rank, old.rank[2])])
            self.contenders[summary.id].append((rank, summary.source))
            if rank <= old.rank:
                return
        keys = summary.keys
        if not self.every_grouping:
            keys = tuple(k for k in keys if k[0][0] in self.names)
        self.winners[summary.id] = _Winner(rank, serial, keys, summary.size)
        if entry is None:
            return
        if self.fetch is None:
            self.entries[serial] = entry
            return
        item = (summary.published, summary.id, serial)
        limit = self.settings.max_entries
        for slot, _ in keys:
            heap = self.heaps.get(slot) or self.heaps.setdefault(slot, [])
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
            self.entries.pop(serial, None)

    def finish(self) -> Grouped:
        limit = self.settings.max_entries
        archives = self.settings.archives
        # Per feed: [its items (all of them with archives, else the newest as a heap),
        # members, spellings of its name].
        slots: dict[tuple[str, str], list[Any]] = {}
        digests: dict[int, str] = {}
        sizes: dict[int, int] = {}
        sources = self.sources
        heappush, heapreplace = heapq.heappush, heapq.heapreplace
        for article, winner in self.winners.items():
            published, digest, source = winner.rank
            serial = winner.serial
            item = (published, article, serial)
            digests[serial] = digest
            sources[serial] = source
            sizes[serial] = winner.size
            for slot, name in winner.keys:
                data = slots.get(slot)
                if data is None:
                    data = slots[slot] = [[], 0, Counter()]
                data[1] += 1
                data[2][name] += 1
                top = data[0]
                if archives:
                    top.append(item)
                elif len(top) < limit:
                    heappush(top, item)
                elif item > top[0]:
                    heapreplace(top, item)
        plans: list[FeedPlan] = []
        for grouping in GROUPINGS:
            if grouping.name not in self.names:
                continue
            keys = [k for g, k in slots if g == grouping.name]
            for key, path in feed_paths(self.settings, grouping.name, keys).items():
                data = slots.get((grouping.name, key))
                plans.extend(
                    plan_feed(self.settings, grouping.name, key, path, data, sizes, digests)
                )
        if self.keep_planning:
            self.planning = (slots, digests, sizes, dict(sources))
        needed = {serial for plan in plans for _, _, serial in plan.items}
        self.sources = {serial: sources[serial] for serial in needed}
        self.entries = {serial: e for serial, e in self.entries.items() if serial in needed}
        published = len(self.winners)
        # What streaming needed is done with: free it before documents are rendered.
        self.winners, self.heaps, self.holders = {}, {}, Counter()
        return Grouped(plans, published, duplicates(self.contenders, self.describe), self)

    def materialize(self, plan: FeedPlan) -> Feed:
        return Feed(
            grouping=plan.grouping,
            key=plan.key,
            name=plan.name,
            title=plan.title,
            path=plan.path,
            entries=tuple(self._entry(serial) for _, _, serial in plan.items),
            total=plan.total,
            updated=plan.updated,
            paging=plan.paging,
        )

    def _entry(self, serial: int) -> Entry:
        entry = self.entries.get(serial)
        if isinstance(entry, bytes):
            entry = pickle.loads(entry)
            assert isinstance(entry, Entry)
        if entry is None:
            source = self.sources[serial]
            entry = self.fetch(source) if self.fetch is not None else None
            if entry is None:
                raise FeedsError(f"{source}: changed while being built; build again")
            # Not kept: with archives every entry is fetched once per document holding it,
            # and keeping them all would hold the whole archive in memory.
        return entry


def duplicates(
    contenders: dict[str, list[tuple[Rank, str]]], describe: Callable[[str], str]
) -> list[Problem]:
    """A warning for every record that lost its article to a newer one with the same id."""
    problems: list[Problem] = []
    for article, ranked in contenders.items():
        ranked.sort(reverse=True)
        winner = describe(ranked[0][1])
        problems.extend(
            Problem(
                describe(source),
                "webUrl",
                f"same article as {winner} (id {article}); only the newer is published",
                DUPLICATES,
            )
            for _, source in ranked[1:]
        )
    problems.sort(key=str)
    return problems


SlotData = list[Any]
"""One feed's data while planning: [its items (oldest first once sorted), members, spellings]."""
Planning = tuple[dict[tuple[str, str], SlotData], dict[int, str], dict[int, int], dict[int, str]]
"""Every feed's data, and the digest, size and record file of every entry by serial."""


def feed_paths(settings: Settings, grouping: str, keys: Iterable[str]) -> dict[str, str]:
    """The path of each feed of ``grouping`` (of ``keys``, its feeds' keys), in plan order.

    Slugs depend on the whole set of a grouping's keys (two keys that share a slug are told
    apart by key order), so a feed's path can change when another feed appears or goes."""
    if grouping == "all":
        return {"all": "all"}
    folder = next(g.folder for g in GROUPINGS if g.name == grouping)
    if grouping == "custom":
        # Every custom feed exists, even while nothing matches: its URL stays valid.
        return {feed.slug: f"{folder}/{feed.slug}" for feed in settings.custom_feeds}
    ordered = sorted(keys)
    slugs = pair_slugs(ordered)
    return {key: f"{folder}/{slugs[key]}" for key in ordered}


def plan_feed(
    settings: Settings,
    grouping: str,
    key: str,
    path: str,
    data: SlotData | None,
    sizes: dict[int, int],
    digests: dict[int, str],
) -> list[FeedPlan]:
    """Every document of one feed: its subscription document, then its archive pages."""
    top, members, spellings = data if data is not None else ([], 0, None)
    if grouping == "custom":
        name = next((f.title for f in settings.custom_feeds if f.slug == key), "")
    else:
        name = _commonest(spellings) if spellings else ""
    title = f"{settings.title}: {name}" if name else settings.title
    budget = settings.max_document_bytes - allowance(settings, title, path)
    current, pages = paginate(sorted(top), sizes, settings, budget)
    feed = FeedPlan(
        grouping=grouping,
        key=key,
        name=name,
        title=title,
        path=path,
        total=members,
        updated=EPOCH,
        items=(),
        paging=Paging(path, 0, len(pages), 0, complete=len(current) == members),
    )
    plans = [_documented(feed, current, feed.paging, digests)]
    for n, page in enumerate(pages, 1):
        paging = Paging(path, n, n - 1, n + 1 if n < len(pages) else 0)
        plans.append(_documented(feed, page, paging, digests))
    return plans


def _documented(
    feed: FeedPlan, items: list[Ranked], paging: Paging, digests: dict[int, str]
) -> FeedPlan:
    """One document of ``feed``: its subscription document or one of its archive pages."""
    return replace(
        feed,
        path=archive_path(feed.path, paging.number) if paging.archive else feed.path,
        updated=datetime.fromtimestamp(items[0][0], UTC) if items else EPOCH,
        items=tuple([(article, digests[serial], serial) for _, article, serial in items]),
        paging=paging,
    )


def _commonest(spellings: Counter[str]) -> str:
    # The most used spelling names the feed; ties go to the same one whatever the input order.
    return min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]
