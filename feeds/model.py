"""Frozen values passed between the stages: Record -> Entry -> Feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class RawImage:
    url: str
    width: int | None
    height: int | None
    title: str


@dataclass(frozen=True, slots=True)
class RawRelated:
    title: str
    url: str
    provider: Provider | None
    published: datetime | None


MAX_WARNINGS = 10
"""Warnings shown for one record; the rest are counted in one line (see :mod:`feeds.mapping`)."""


@dataclass(frozen=True, slots=True)
class Record:
    """A record file's fields, typed but not yet cleaned: what the author wrote.

    ``images`` and ``related`` hold one item for each item of the file's lists, so that
    warnings name the right position; an item dropped while typing (or a null one) has an
    empty ``url``.
    """

    path: str
    title: str
    excerpt: str
    url: str
    published: datetime
    category: str
    provider: Provider | None
    topics: tuple[str, ...]
    images: tuple[RawImage, ...]
    related: tuple[RawRelated, ...]
    body: str
    kind: str = ""
    """The record's ``type`` (``article``, ``video``...)."""
    quality: str = ""
    heat: str = ""
    warnings: tuple[tuple[str, str], ...] = ()
    """(field, reason) of the first :data:`MAX_WARNINGS` optional parts dropped while typing."""
    warning_count: int = 0
    """How many optional parts were dropped while typing, shown in ``warnings`` or not."""


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    media_type: str
    width: int | None
    height: int | None
    title: str


@dataclass(frozen=True, slots=True)
class Related:
    url: str
    title: str
    provider: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    url: str | None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry, cleaned and ready for any format.

    ``source`` names the record file for messages only; no renderer reads it, so output never
    depends on where a record lives.
    """

    id: str
    url: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]
    published: datetime
    author: Author | None
    provider_key: str | None
    topics: tuple[str, ...]
    categories: tuple[str, ...]
    images: tuple[Image, ...]
    related: tuple[Related, ...]
    source: str
    # Used by custom feeds' filters only; never rendered.
    category: str = ""
    kind: str = ""
    quality: float | None = None
    heat: float | None = None


@dataclass(frozen=True, slots=True)
class Paging:
    """Where a document sits in its feed's history (RFC 5005 archived feeds)."""

    current: str
    """Path of the feed's subscription document (without extension)."""
    number: int = 0
    """0 for the subscription document; n >= 1 for archive page n, page 1 holding the oldest."""
    prev: int = 0
    """The archive page holding the entries just older than this document's; 0: none."""
    next: int = 0
    """The archive page holding the entries just newer (archive pages only); 0: none."""
    complete: bool = False
    """A subscription document holding every entry of its feed (``fh:complete``)."""

    @property
    def archive(self) -> bool:
        return self.number > 0

    @property
    def sealed(self) -> bool:
        """An archive page with a newer page after it: its entries never change again."""
        return self.number > 0 and self.next > 0


@dataclass(frozen=True, slots=True)
class Feed:
    """One document's content (a subscription document or an archive page), in no format."""

    grouping: str
    key: str
    name: str
    title: str
    path: str
    entries: tuple[Entry, ...]
    total: int
    updated: datetime
    paging: Paging

    @property
    def size(self) -> int:
        return len(self.entries)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(entry.id for entry in self.entries)


class FeedInfo(Protocol):
    """What the index and the OPML need of a feed (a :class:`Feed` or a plan of one)."""

    @property
    def grouping(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def updated(self) -> datetime: ...
    @property
    def size(self) -> int: ...
    @property
    def ids(self) -> tuple[str, ...]: ...
    @property
    def paging(self) -> Paging: ...
