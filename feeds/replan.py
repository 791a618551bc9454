"""Planning again only the feeds that changed records can touch.

After the first build, the cache knows every record file's summary, every document's signature
and every feed's subscription document as planned (the catalog). When records change, only a
feed that held one of their articles before, or holds one now, can change (and, when a topic or
a provider appears or goes, a feed whose slug moves with it); every other feed keeps its
documents and their signatures, and its archive pages are not even planned. Which record wins a
duplicated article and the duplicates report still come from every record's summary, in one
pass that loads no entry, so the outcome is the one planning every feed gives: the incremental
tests compare every incremental build's bytes with a cold build's.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from feeds.cache import FileState, SummaryRow
from feeds.errors import CacheError, Problem
from feeds.grouping import (
    Accumulator,
    FeedPlan,
    Grouped,
    Planning,
    Rank,
    SlotData,
    duplicates,
    feed_paths,
    plan_feed,
)
from feeds.groupings import GROUPINGS
from feeds.layout import archive_path
from feeds.model import Entry
from feeds.settings import Settings

Slot = tuple[str, str]
"""(grouping, key) of a feed."""
Catalog = dict[Slot, FeedPlan]
"""Every feed's subscription document as the last build planned it."""

_FIXED = ("all", "custom")  # groupings whose feeds exist whatever the entries
# The feed of every entry: the index shows its newest entries, so they are always numbered.
_EVERY = ("all", "all")


Member = tuple[int, str, str, int, str]
"""An entry of a feed: (published, article id, digest, size, record file); a feed's members
are kept sorted, oldest first."""
Members = tuple[list[Member], Counter[str]]
"""A feed's members and the spellings of its name (how many entries spell it each way)."""


@dataclass(frozen=True, slots=True)
class Replanned:
    grouped: Grouped
    """Plans of every document of a touched feed, and of every other feed's subscription
    document as the catalog has it."""
    kept: tuple[str, ...]
    """Archive pages of the feeds not touched (paths without extension), left as they are."""
    members: dict[Slot, Members]
    """The touched feeds' members, for the next build."""


def catalog_of(plans: Iterable[FeedPlan]) -> Catalog:
    return {(plan.grouping, plan.key): plan for plan in plans if not plan.paging.archive}


def members_of(planning: Planning) -> Iterator[tuple[Slot, Members]]:
    """Every feed's members, from what the accumulator planned them with; one feed at a time,
    so that they are never all in memory (770,000 tuples at 100k records)."""
    slots, digests, sizes, sources = planning
    for slot, data in slots.items():
        listed = [(p, a, digests[n], sizes[n], sources[n]) for p, a, n in sorted(data[0])]
        yield slot, (listed, data[2])


def replan(
    settings: Settings,
    files: Mapping[str, FileState],
    before: Mapping[str, FileState | None],
    last: Last,
    fetch: Callable[[str], Entry | None],
    describe: Callable[[str], str],
) -> Replanned:
    """Plan the feeds that the changed records can touch.

    ``files`` is what is known of every record file now; ``before`` what the last build knew
    of the files read again or removed (None: a file it did not know); ``last`` what else the
    last build left.
    """
    catalog = last.catalog
    names = {g.name for g in GROUPINGS if g.name in settings.groupings}
    articles = set()
    for rel, old_state in before.items():
        for state in (old_state, files.get(rel)):
            if state is not None and state[0] is not None:
                articles.add(state[0][0])
    winners, contenders = _winners(files, articles)
    previous, contended = _winners(files, articles, before)
    touched: set[Slot] = set()
    for article in articles:
        old, new = previous.get(article), winners.get(article)
        if old != new:
            for winner in (old, new):
                if winner is not None:
                    touched.update(slot for slot, _ in winner[1][3] if slot[0] in names)
    touched |= {slot for slot in last.retitled if slot[0] in names}
    members = last.members(touched)
    for article in articles:
        old, new = previous.get(article), winners.get(article)
        if old == new:
            continue
        if old is not None:
            _leave(members, old)
        if new is not None:
            _join(members, new, names)

    keys = {g: {k for gg, k in catalog if gg == g} for g in names}
    for group in names - set(_FIXED):
        # A feed that lost its last entry goes; one that got its first comes.
        keys[group] -= {k for g, k in touched if g == group and not members[(g, k)][0]}
        keys[group] |= {k for g, k in touched if g == group and members[(g, k)][0]}
        paths = feed_paths(settings, group, keys[group])
        moved = {
            (group, key)
            for key, path in paths.items()
            if (group, key) not in touched and catalog[(group, key)].path != path
        }
        if moved:  # its slug changed with the set of keys
            touched |= moved
            members |= last.members(moved)

    numbers = Numbers()
    plans: list[FeedPlan] = []
    kept: list[str] = []
    for grouping in GROUPINGS:
        if grouping.name not in names:
            continue
        for key, path in feed_paths(settings, grouping.name, keys[grouping.name]).items():
            slot = (grouping.name, key)
            head = catalog.get(slot)
            if slot in touched or head is None:
                data = numbers.slot(members.get(slot))
                plans.extend(
                    plan_feed(
                        settings, grouping.name, key, path, data, numbers.sizes, numbers.digests
                    )
                )
            else:
                if slot == _EVERY:
                    head = numbers.known(head, files)
                plans.append(head)
                kept.extend(archive_path(head.path, n) for n in range(1, head.paging.prev + 1))
    accumulator = Accumulator(settings, fetch, describe)
    accumulator.sources = numbers.sources
    # Duplicates: the last build's, but those of the articles changed, found again.
    losers = {describe(rel) for ranked in contended.values() for _, rel in ranked}
    problems = [p for p in last.duplicates if p.path not in losers]
    problems.extend(duplicates(contenders, describe))
    problems.sort(key=str)
    published = last.published + sum(
        (winners.get(a) is not None) - (previous.get(a) is not None) for a in articles
    )
    grouped = Grouped(plans, published, problems, accumulator)
    return Replanned(grouped, tuple(kept), {slot: members[slot] for slot in touched})


@dataclass(frozen=True, slots=True)
class Last:
    """What the last build left besides every record file's state."""

    catalog: Catalog
    members: Callable[[set[Slot]], dict[Slot, Members]]
    """The members of the feeds asked for (empty for a feed that had none)."""
    published: int
    duplicates: list[Problem]
    retitled: set[Slot]
    """Feeds whose title in the settings changed since (custom feeds)."""


Winner = tuple[Rank, SummaryRow]


def _winners(
    files: Mapping[str, FileState],
    only: set[str],
    before: Mapping[str, FileState | None] | None = None,
) -> tuple[dict[str, Winner], dict[str, list[tuple[Rank, str]]]]:
    """The record that publishes each article of ``only``, and each such article's records
    when there are several: the rules of :meth:`Accumulator.add_summary`. With ``before``,
    as they were when those files held what ``before`` says."""
    winners: dict[str, Winner] = {}
    contenders: dict[str, list[tuple[Rank, str]]] = {}
    if not only:
        return winners, contenders
    states: Iterable[tuple[str, FileState | None]] = files.items()
    if before is not None:
        states = [*((r, s) for r, s in files.items() if r not in before), *before.items()]
    for rel, state in states:
        if state is None:
            continue
        summary = state[0]
        if summary is None or summary[0] not in only:
            continue
        article = summary[0]
        rank = (summary[1], summary[2], rel)
        old = winners.get(article)
        if old is not None:
            contenders.setdefault(article, [(old[0], old[0][2])]).append((rank, rel))
            if rank <= old[0]:
                continue
        winners[article] = (rank, summary)
    return winners, contenders


def _member(winner: Winner, article: str) -> Member:
    (published, digest, source), summary = winner
    return (published, article, digest, summary[4], source)


def _leave(members: dict[Slot, Members], winner: Winner) -> None:
    item = _member(winner, winner[1][0])
    for slot, name in winner[1][3]:
        if slot in members:
            listed, spellings = members[slot]
            at = bisect.bisect_left(listed, item)
            if at == len(listed) or listed[at] != item:
                raise CacheError(f"feed {slot[1]!r} does not hold {item[1]}, as it should")
            del listed[at]
            spellings[name] -= 1
            if spellings[name] <= 0:
                del spellings[name]


def _join(members: dict[Slot, Members], winner: Winner, names: set[str]) -> None:
    item = _member(winner, winner[1][0])
    for slot, name in winner[1][3]:
        if slot[0] in names:
            listed, spellings = members.setdefault(slot, ([], Counter()))
            bisect.insort(listed, item)
            spellings[name] += 1


class Numbers:
    """Serial numbers of the entries planned, with their digests, sizes and record files."""

    def __init__(self) -> None:
        self.serial = 0
        self.digests: dict[int, str] = {}
        self.sizes: dict[int, int] = {}
        self.sources: dict[int, str] = {}

    def slot(self, members: Members | None) -> SlotData | None:
        """A feed's members as :func:`plan_feed` takes them."""
        if members is None or not members[0]:
            return None
        listed, spellings = members
        serials = range(self.serial + 1, self.serial + 1 + len(listed))
        self.serial += len(listed)
        self.digests.update(zip(serials, [m[2] for m in listed], strict=True))
        self.sizes.update(zip(serials, [m[3] for m in listed], strict=True))
        self.sources.update(zip(serials, [m[4] for m in listed], strict=True))
        items = [(m[0], m[1], n) for m, n in zip(listed, serials, strict=True)]
        return [items, len(items), spellings]

    def known(self, plan: FeedPlan, files: Mapping[str, FileState]) -> FeedPlan:
        """``plan`` as the catalog has it, its entries numbered in this build (their numbers
        were the last build's), so that they can be loaded."""
        winners, _ = _winners(files, set(plan.ids))
        items = []
        for article, digest, _ in plan.items:
            winner = winners.get(article)
            if winner is None or winner[0][1] != digest:
                raise CacheError(f"feed {plan.key!r} holds {article}, which no record publishes")
            self.serial += 1
            self.digests[self.serial] = digest
            self.sizes[self.serial] = winner[1][4]
            self.sources[self.serial] = winner[0][2]
            items.append((article, digest, self.serial))
        return replace(plan, items=tuple(items))
