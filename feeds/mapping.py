"""One record to one entry: cleaned text, canonical link and id, images, related links.

Pure: the result depends on the record and the settings only. Only the fields named here reach
an entry, so anything else in a record (``secured``...) is never published; ``type``,
``quality`` and ``heat`` reach it for custom feeds' filters, and no renderer shows them.

A part that cannot be published (an image or related link without a usable URL) is dropped
with a warning that names its field. A record gets at most :data:`MAX_WARNINGS` warnings, the
ones from typing first, then one ``(warnings): ... and N more`` line: what a build prints, and
what its cache keeps and prints again, stays small whatever the record holds.
"""

from __future__ import annotations

import math

from feeds.errors import Problem, RecordError
from feeds.model import MAX_WARNINGS, Author, Entry, Image, Provider, Record, Related
from feeds.settings import Settings
from feeds.text import clean_line, clean_paragraphs, fold, truncate
from feeds.urls import article_id, clean_url, domain_of, image_type

MAX_TITLE_CHARS = 500
MAX_TOPICS = 50
MAX_IMAGES = 20
MAX_RELATED = 20
__all__ = ["MAX_WARNINGS", "map_record"]


def map_record(record: Record, settings: Settings) -> tuple[Entry, list[Problem]]:
    """The entry and its warnings: at most :data:`MAX_WARNINGS`, then one counting the rest."""
    mapper = _Mapper(record, settings)
    entry = mapper.entry()
    problems = mapper.problems
    if mapper.count > len(problems):
        more = mapper.count - len(problems)
        problems.append(Problem(record.path, "(warnings)", f"... and {more} more"))
    return entry, problems


class _Mapper:
    def __init__(self, record: Record, settings: Settings) -> None:
        self.record = record
        self.settings = settings
        self.problems = [Problem(record.path, f, reason) for f, reason in record.warnings]
        self.count = record.warning_count

    @property
    def full(self) -> bool:
        """No more warnings are shown: callers count them without formatting a message."""
        return len(self.problems) >= MAX_WARNINGS

    def warn(self, field: str, reason: str) -> None:
        self.count += 1
        if not self.full:
            self.problems.append(Problem(self.record.path, field, reason))

    def drop(self, field: str, reason: str, part: str) -> None:
        if self.full:
            self.count += 1
        else:
            self.warn(field, f"{reason}; {part} dropped")

    def line(self, text: str) -> str:
        return clean_line(text, repair_text=self.settings.repair_text)

    def entry(self) -> Entry:
        r = self.record
        title = self.line(r.title)
        if not title:
            raise RecordError(r.path, "title", "empty once control characters are removed")
        if len(title) > MAX_TITLE_CHARS:
            self.warn("title", f"cut to {MAX_TITLE_CHARS} characters")
            title = truncate(title, MAX_TITLE_CHARS)
        summary = self.line(r.excerpt)
        limit = self.settings.summary_max_chars
        if len(summary) > limit:
            self.warn("excerpt", f"{len(summary)} characters, cut to {limit} (summary_max_chars)")
            summary = truncate(summary, limit)
        author, provider_key = self.provider(r.provider)
        topics = self.names(r.topics, "topics", MAX_TOPICS)
        category = self.line(r.category)
        categories = topics
        if category and fold(category) not in {fold(t) for t in topics}:
            categories = (*topics, category)
        images = self.images()
        related = self.related()
        return Entry(
            id=article_id(r.url),
            url=r.url,
            title=title,
            summary=summary,
            paragraphs=clean_paragraphs(r.body, repair_text=self.settings.repair_text),
            published=r.published,
            author=author,
            provider_key=provider_key,
            topics=topics,
            categories=categories,
            images=images,
            related=related,
            source=r.path,
            category=category,
            kind=fold(self.line(r.kind)),
            quality=self.score(r.quality, "quality"),
            heat=self.score(r.heat, "heat"),
        )

    def score(self, raw: str, field: str) -> float | None:
        text = raw.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.warn(field, f"ignored: not a number: {text[:40]!r}")
            return None
        return value

    def provider(self, provider: Provider | None) -> tuple[Author | None, str | None]:
        if provider is None:
            return None, None
        name = self.line(provider.name)
        domain = domain_of(provider.domain)
        if provider.domain.strip() and domain is None:
            self.warn("provider.domain", f"ignored: not a domain name: {provider.domain[:80]!r}")
        if domain:
            return Author(name=name or domain, url=f"https://{domain}/"), domain
        if name:
            return Author(name=name, url=None), f"name:{fold(name)}"
        return None, None

    def names(self, raw: tuple[str, ...], field: str, limit: int) -> tuple[str, ...]:
        seen: dict[str, str] = {}
        for name in raw:
            cleaned = self.line(name)
            key = fold(cleaned)
            if cleaned and key not in seen:
                seen[key] = cleaned
        names = tuple(seen.values())
        if len(names) > limit:
            self.warn(field, f"{len(names)} given, the first {limit} kept")
        return names[:limit]

    def url(self, raw: str, known: dict[str, str | None]) -> str | None:
        # Remembered by the text as written: a record of aliases repeats one URL many times.
        if raw not in known:
            known[raw] = clean_url(raw, base=self.record.url)
        return known[raw]

    def images(self) -> tuple[Image, ...]:
        images: dict[str, Image] = {}
        known: dict[str, str | None] = {}
        for i, raw in enumerate(self.record.images):
            if not raw.url:  # null, or dropped with a warning while typing
                continue
            url = self.url(raw.url, known)
            if url is None:
                self.drop(f"images[{i}].url", f"not an http(s) URL: {raw.url[:80]!r}", "image")
            elif url not in images:
                images[url] = Image(
                    url, image_type(url), raw.width, raw.height, self.line(raw.title)
                )
        if len(images) > MAX_IMAGES:
            self.warn("images", f"{len(images)} given, the first {MAX_IMAGES} kept")
        return tuple(images.values())[:MAX_IMAGES]

    def related(self) -> tuple[Related, ...]:
        links: dict[str, Related] = {}
        known: dict[str, str | None] = {}
        for i, raw in enumerate(self.record.related):
            if not raw.url:  # null, or dropped with a warning while typing
                continue
            url = self.url(raw.url, known)
            if url is None:
                self.drop(f"related[{i}].webUrl", f"not an http(s) URL: {raw.url[:80]!r}", "link")
                continue
            if url in links:
                continue
            provider = ""
            if raw.provider is not None:
                provider = self.line(raw.provider.name) or (domain_of(raw.provider.domain) or "")
            links[url] = Related(url, self.line(raw.title) or url, provider, raw.published)
        if len(links) > MAX_RELATED:
            self.warn("related", f"{len(links)} given, the first {MAX_RELATED} kept")
        return tuple(links.values())[:MAX_RELATED]
