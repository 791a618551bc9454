"""Two published outputs compared feed by feed: entries added, removed and changed, and the
changes that make readers show old entries again (risky). Pure: the CLI prints the report.

Risky: an id churned (the same link under a new id), an id twice in one document, a published
date that moved, a subscription document that is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feeds.readback.read import Duplicate, PublishedFeed, ReadEntry
from feeds.urls import canonical_key

# Field of ReadEntry -> the name a report gives it.
FIELDS = {
    "title": "title",
    "summary": "summary",
    "content": "content",
    "url": "link",
    "published": "date",
}


@dataclass(frozen=True, slots=True)
class Brief:
    id: str
    url: str
    title: str
    published: str


@dataclass(frozen=True, slots=True)
class Changed:
    id: str
    title: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Churn:
    """The same (canonical) link under other ids: readers show the entry again."""

    url: str
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Moved:
    id: str
    title: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class FeedDiff:
    path: str
    status: str
    """``new``, ``gone``, ``changed`` or ``same``."""
    old_entries: int
    new_entries: int
    added: tuple[Brief, ...] = ()
    removed: tuple[Brief, ...] = ()
    changed: tuple[Changed, ...] = ()
    id_churn: tuple[Churn, ...] = ()
    duplicate_ids: tuple[Duplicate, ...] = ()
    dates_moved: tuple[Moved, ...] = ()
    documents_gone: tuple[str, ...] = ()

    @property
    def risky(self) -> bool:
        return bool(self.id_churn or self.duplicate_ids or self.dates_moved or self.documents_gone)


@dataclass(frozen=True, slots=True)
class Totals:
    """Entries are counted once each, however many feeds they are in."""

    feeds_compared: int
    feeds_new: int
    feeds_gone: int
    feeds_changed: int
    entries_added: int
    entries_removed: int
    entries_changed: int
    id_churn: int
    duplicate_ids: int
    dates_moved: int
    documents_gone: int

    @property
    def risky(self) -> bool:
        return bool(self.id_churn or self.duplicate_ids or self.dates_moved or self.documents_gone)


@dataclass(frozen=True, slots=True)
class Report:
    feeds: tuple[FeedDiff, ...]
    """The feeds with any difference, by path."""
    totals: Totals

    @property
    def risky(self) -> bool:
        return self.totals.risky


def compare(old: Mapping[str, PublishedFeed], new: Mapping[str, PublishedFeed]) -> Report:
    diffs = [_feed(path, old.get(path), new.get(path)) for path in sorted(old.keys() | new.keys())]
    shown = tuple(d for d in diffs if d.status != "same")
    return Report(shown, _totals(len(diffs), shown))


def _feed(path: str, old: PublishedFeed | None, new: PublishedFeed | None) -> FeedDiff:
    if new is None:
        assert old is not None
        return FeedDiff(path, "gone", len(old.items), 0, documents_gone=old.documents())
    gone = tuple(d for d in old.documents() if d not in new.documents()) if old else ()
    known = {(d.document, d.id) for d in old.duplicates} if old else set()
    duplicates = tuple(d for d in new.duplicates if (d.document, d.id) not in known)
    if old is None:
        return FeedDiff(path, "new", 0, len(new.items), duplicate_ids=duplicates)
    removed_ids = old.items.keys() - new.items.keys()
    added_ids = new.items.keys() - old.items.keys()
    churn = _churn(old.items, new.items, removed_ids, added_ids)
    churned = {i for c in churn for i in (*c.old_ids, *c.new_ids)}
    changed, moved = [], []
    for article in sorted(old.items.keys() & new.items.keys()):
        before, after = old.items[article], new.items[article]
        fields = tuple(n for f, n in FIELDS.items() if getattr(before, f) != getattr(after, f))
        if fields:
            changed.append(Changed(article, after.title, fields))
        if before.published != after.published:
            moved.append(Moved(article, after.title, before.published, after.published))
    diff = FeedDiff(
        path,
        "changed",
        len(old.items),
        len(new.items),
        added=_briefs(new.items, added_ids - churned),
        removed=_briefs(old.items, removed_ids - churned),
        changed=tuple(changed),
        id_churn=churn,
        duplicate_ids=duplicates,
        dates_moved=tuple(moved),
        documents_gone=gone,
    )
    nothing = not (diff.added or diff.removed or diff.changed or diff.risky)
    return FeedDiff(path, "same", diff.old_entries, diff.new_entries) if nothing else diff


def _churn(
    old: Mapping[str, ReadEntry], new: Mapping[str, ReadEntry], removed: set[str], added: set[str]
) -> tuple[Churn, ...]:
    gone = _by_link(old, removed)
    came = _by_link(new, added)
    return tuple(
        Churn(old[gone[link][0]].url, tuple(gone[link]), tuple(came[link]))
        for link in sorted(gone.keys() & came.keys())
    )


def _by_link(items: Mapping[str, ReadEntry], ids: set[str]) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for article in sorted(ids):
        url = items[article].url
        if url:
            links.setdefault(canonical_key(url), []).append(article)
    return links


def _briefs(items: Mapping[str, ReadEntry], ids: set[str]) -> tuple[Brief, ...]:
    chosen = sorted((items[i] for i in ids), key=lambda i: (i.published, i.id), reverse=True)
    return tuple(Brief(i.id, i.url, i.title, i.published) for i in chosen)


def _totals(compared: int, diffs: tuple[FeedDiff, ...]) -> Totals:
    def distinct(pick: Any) -> int:
        return len({key for d in diffs for key in pick(d)})

    return Totals(
        feeds_compared=compared,
        feeds_new=sum(d.status == "new" for d in diffs),
        feeds_gone=sum(d.status == "gone" for d in diffs),
        feeds_changed=sum(d.status == "changed" for d in diffs),
        entries_added=distinct(lambda d: (b.id for b in d.added)),
        entries_removed=distinct(lambda d: (b.id for b in d.removed)),
        entries_changed=distinct(lambda d: (c.id for c in d.changed)),
        id_churn=distinct(lambda d: (canonical_key(c.url) for c in d.id_churn)),
        duplicate_ids=distinct(lambda d: ((x.document, x.id) for x in d.duplicate_ids)),
        dates_moved=distinct(lambda d: (m.id for m in d.dates_moved)),
        documents_gone=distinct(lambda d: d.documents_gone),
    )


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain data, keys in a fixed order, for ``--json``."""
    totals = {name: getattr(report.totals, name) for name in report.totals.__dataclass_fields__}
    return {
        "risky": report.risky,
        "totals": totals,
        "feeds": [_plain(d) | {"risky": d.risky} for d in report.feeds],
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def lines(report: Report, *, quiet: bool = False) -> list[str]:
    """The report as text: per feed a summary and its entries (``+`` added, ``-`` removed,
    ``~`` changed, ``!`` risky), then a totals line. ``quiet``: the risky lines and totals."""
    out: list[str] = []
    for diff in report.feeds:
        risky = _risky_lines(diff)
        if quiet:
            out.extend(f"{diff.path}: {line}" for line in risky)
            continue
        out.append(f"{diff.path}: {_headline(diff)}")
        out.extend(f"  + {_brief(b)}" for b in diff.added)
        out.extend(f"  - {_brief(b)}" for b in diff.removed)
        out.extend(f"  ~ {_quote(c.title)} {c.id}: {', '.join(c.fields)}" for c in diff.changed)
        out.extend(f"  ! {line}" for line in risky)
    out.append(_totals_line(report))
    return out


def _headline(diff: FeedDiff) -> str:
    if diff.status == "new":
        return f"new feed, {diff.new_entries} entries"
    if diff.status == "gone":
        return f"feed gone, had {diff.old_entries} entries"
    parts = [
        f"{len(diff.added)} added",
        f"{len(diff.removed)} removed",
        f"{len(diff.changed)} changed",
    ]
    if diff.risky:
        parts.append("RISKY")
    return ", ".join(parts)


def _risky_lines(diff: FeedDiff) -> list[str]:
    out = [
        f"id churn: {c.url} was {', '.join(c.old_ids)}, now {', '.join(c.new_ids)}"
        " (readers show it again)"
        for c in diff.id_churn
    ]
    out.extend(f"duplicate id: {d.id} {d.count} times in {d.document}" for d in diff.duplicate_ids)
    out.extend(
        f"date moved: {_quote(m.title)} {m.id}: {m.old} -> {m.new}" for m in diff.dates_moved
    )
    out.extend(f"gone: {path} (its subscribers get nothing more)" for path in diff.documents_gone)
    return out


def _brief(brief: Brief) -> str:
    return f"{brief.published} {_quote(brief.title)} {brief.id}"


def _quote(title: str, limit: int = 70) -> str:
    short = title if len(title) <= limit else title[: limit - 1] + "…"
    return '"' + short + '"'


def _totals_line(report: Report) -> str:
    t = report.totals
    return (
        f"feeds diff: {t.feeds_compared} feeds compared: {t.feeds_new} new, {t.feeds_gone} gone, "
        f"{t.feeds_changed} changed; entries: {t.entries_added} added, {t.entries_removed} "
        f"removed, {t.entries_changed} changed; risky: {t.id_churn} id churn, "
        f"{t.duplicate_ids} duplicate ids, {t.dates_moved} dates moved, "
        f"{t.documents_gone} documents gone" + (" -- RISKY" if t.risky else "")
    )
