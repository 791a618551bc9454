"""What an output folder publishes, read back from its documents: each feed's entries.

A feed is its subscription document (``topics/ai.json``) plus its archive pages
(``archive/topics/ai/3.json``), read from one format: JSON Feed when the feed has it, else Atom,
else RSS. Entries are reduced to what every format carries (id, link, title, summary, content,
date), in the same form whichever format they came from, so outputs built with other formats
compare equal. Pure: nothing here prints.
"""

from __future__ import annotations

import html
import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from feeds.build import Build, display
from feeds.errors import UnreadableError
from feeds.layout import locate
from feeds.rendering import FORMATS
from feeds.writing import MANIFEST, is_safe

# Which document of a feed is read when it is published in several formats: JSON Feed is the
# simplest to read exactly, RSS the one that carries the least.
PREFERENCE = ("json", "atom", "rss")
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


@dataclass(frozen=True, slots=True)
class ReadEntry:
    """An entry as every format publishes it; dates are RFC 3339 in UTC when they parse."""

    id: str
    url: str
    title: str
    summary: str
    content: str
    published: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    id: str
    document: str
    count: int


@dataclass(frozen=True, slots=True)
class PublishedFeed:
    """One feed: the formats its subscription document is published in, and its entries (the
    union of the subscription document and the archive pages)."""

    path: str
    formats: tuple[str, ...]
    items: Mapping[str, ReadEntry]
    duplicates: tuple[Duplicate, ...]

    def documents(self) -> tuple[str, ...]:
        return tuple(self.path + FORMATS[fmt].extension for fmt in self.formats)


def read_folder(folder: Path) -> dict[str, PublishedFeed]:
    """Every feed published in an output folder, by feed path.

    When the folder has feeds' manifest, only the files it lists are read (other files there are
    not feeds'); without one, every file where feeds would put a feed document.
    """
    if not folder.is_dir():
        raise UnreadableError(f"{display(folder)}: not a folder")
    listed = _manifest(folder)
    # A file the manifest lists may have been deleted since: it is not published.
    paths = [p for p in listed if (folder / p).is_file()] if listed is not None else _walk(folder)

    def load(path: str) -> bytes:
        try:
            return (folder / path).read_bytes()
        except OSError as e:
            raise UnreadableError(f"{display(folder / path)}: {e.strerror or e}") from e

    return read_documents(paths, load, lambda path: display(folder / path))


def read_build(result: Build) -> dict[str, PublishedFeed]:
    """Every feed a build would publish, rendered in memory in one format (nothing written)."""
    chosen = next(f for f in PREFERENCE if f in result.settings.formats)
    extension = FORMATS[chosen].extension
    files = {path: data for path, data in result.documents() if path.endswith(extension)}
    # Every document's path counts (which formats a feed has); only the ones read are kept.
    return read_documents(result.expected(), files.__getitem__, lambda path: f"(build) {path}")


def read_documents(
    paths: Iterable[str], load: Callable[[str], bytes], name: Callable[[str], str]
) -> dict[str, PublishedFeed]:
    """Every feed among ``paths``; ``load`` gives a file's bytes and ``name`` how messages name
    it. Only the documents of the format each feed is read from are loaded."""
    found: dict[str, dict[str, dict[int | None, str]]] = {}
    for path in sorted(paths):
        where = locate(path)
        if where is not None:
            found.setdefault(where.feed, {}).setdefault(where.fmt, {})[where.page] = path
    feeds: dict[str, PublishedFeed] = {}
    for feed, by_format in sorted(found.items()):
        formats = tuple(f for f in FORMATS if None in by_format.get(f, {}))
        chosen = next((f for f in PREFERENCE if f in by_format), None)
        if chosen is None:  # a format this module cannot read yet
            continue
        pages = by_format[chosen]
        # The subscription document first, then the newest archive page: where an entry is in
        # several documents, the newest one's copy is the one readers keep (RFC 5005).
        order = sorted(pages, key=lambda page: -1 if page is None else -page)
        items: dict[str, ReadEntry] = {}
        duplicates: list[Duplicate] = []
        for page in order:
            path = pages[page]
            entries = list(_parse(chosen, load(path), name(path)))
            counts = Counter(item.id for item in entries)
            duplicates.extend(Duplicate(i, path, n) for i, n in sorted(counts.items()) if n > 1)
            for item in entries:
                items.setdefault(item.id, item)
        feeds[feed] = PublishedFeed(feed, formats, items, tuple(duplicates))
    return feeds


def _manifest(folder: Path) -> list[str] | None:
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise UnreadableError(f"{display(folder / MANIFEST)}: cannot read: {e}") from e
    return [line for line in text.splitlines() if is_safe(line)]


def _walk(folder: Path) -> list[str]:
    paths: list[str] = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(parent).relative_to(folder)
        paths.extend((base / f).as_posix() for f in files if not f.startswith("."))
    return paths


def _parse(fmt: str, data: bytes, name: str) -> Iterator[ReadEntry]:
    return _PARSERS[fmt](data, name)


def _json_items(data: bytes, name: str) -> Iterator[ReadEntry]:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise UnreadableError(f"{name}: (document): not JSON: {e}") from e
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise UnreadableError(f"{name}: items: missing or not a list")
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise UnreadableError(f"{name}: items[{n}]: not an object")
        ident = item.get("id")
        if not isinstance(ident, str | int) or isinstance(ident, bool) or ident == "":
            raise UnreadableError(f"{name}: items[{n}].id: missing or not a string")
        yield ReadEntry(
            id=str(ident),
            url=_text(item.get("url")),
            title=_text(item.get("title")),
            summary=_text(item.get("summary")),
            content=_text(item.get("content_html")) or _text(item.get("content_text")),
            published=_date(_text(item.get("date_published")), datetime.fromisoformat),
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _xml(data: bytes, name: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise UnreadableError(f"{name}: (document): not well-formed XML: {e}") from e


def _atom_items(data: bytes, name: str) -> Iterator[ReadEntry]:
    root = _xml(data, name)
    if root.tag != ATOM + "feed":
        raise UnreadableError(f"{name}: (document): not an Atom feed (root <{root.tag}>)")
    for n, entry in enumerate(root.iter(ATOM + "entry")):
        ident = entry.findtext(ATOM + "id", "").strip()
        if not ident:
            raise UnreadableError(f"{name}: entry[{n}].id: missing")
        links = entry.findall(ATOM + "link")
        alternate = next((x for x in links if x.get("rel", "alternate") == "alternate"), None)
        date = entry.findtext(ATOM + "published") or entry.findtext(ATOM + "updated") or ""
        yield ReadEntry(
            id=ident,
            url=(alternate.get("href", "") if alternate is not None else "").strip(),
            title=entry.findtext(ATOM + "title", ""),
            summary=entry.findtext(ATOM + "summary", ""),
            content=entry.findtext(ATOM + "content", ""),
            published=_date(date.strip(), datetime.fromisoformat),
        )


def _rss_items(data: bytes, name: str) -> Iterator[ReadEntry]:
    root = _xml(data, name)
    if root.tag != "rss":
        raise UnreadableError(f"{name}: (document): not an RSS feed (root <{root.tag}>)")
    for n, item in enumerate(root.iter("item")):
        url = item.findtext("link", "").strip()
        ident = item.findtext("guid", "").strip() or url
        if not ident:
            raise UnreadableError(f"{name}: item[{n}].guid: missing, and no link")
        description = item.findtext("description", "")
        encoded = item.find(CONTENT)
        # feeds writes the excerpt as escaped text in description and the HTML content in
        # content:encoded; without an excerpt, the HTML content is the description.
        if encoded is not None:
            summary, content = html.unescape(description), encoded.text or ""
        else:
            summary, content = "", description
        yield ReadEntry(
            id=ident,
            url=url,
            title=item.findtext("title", ""),
            summary=summary,
            content=content,
            published=_date(item.findtext("pubDate", "").strip(), parsedate_to_datetime),
        )


def _date(value: str, parse: Callable[[str], datetime]) -> str:
    """RFC 3339 in UTC, so that dates compare across formats; as written when it is no date."""
    try:
        parsed = parse(value)
    except (ValueError, TypeError, IndexError):
        return value
    if parsed.tzinfo is None:
        return value
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_PARSERS: dict[str, Callable[[bytes, str], Iterator[ReadEntry]]] = {
    "json": _json_items,
    "atom": _atom_items,
    "rss": _rss_items,
}
