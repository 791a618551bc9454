"""RFC 5005 paging: a feed's entries split into its subscription document and its archive
pages, filled from the oldest up to ``archive_page_size`` entries or the byte budget."""

from __future__ import annotations

from feeds.layout import archive_path
from feeds.settings import Settings

Ranked = tuple[int, str, int]


def paginate(
    items: list[Ranked], sizes: dict[int, int], settings: Settings, budget: int
) -> tuple[list[Ranked], list[list[Ranked]]]:
    """A feed's items (oldest first) split into its subscription document (newest first) and
    its archive pages (page 1 the oldest; each page newest first).

    The subscription document takes the newest ``max_entries`` that fit in ``budget`` bytes.
    Pages fill from the oldest entry up to ``archive_page_size`` entries or the budget, so a
    page's entries depend only on entries older than its newest: new entries never move them.
    One entry larger than the budget still gets a document of its own.
    """
    current: list[Ranked] = []
    used = 0
    for item in reversed(items):
        size = sizes[item[2]]
        if len(current) == settings.max_entries or (current and used + size > budget):
            break
        current.append(item)
        used += size
    if not settings.archives:
        return current, []
    archived = items[: len(items) - len(current)]
    weights = [sizes[serial] for _, _, serial in archived]
    pages: list[list[Ranked]] = []
    start, size = 0, settings.archive_page_size
    while start < len(archived):
        end = min(start + size, len(archived))
        if sum(weights[start:end]) > budget:  # the budget decides: fill entry by entry
            used, end = weights[start], start + 1
            while end < len(archived) and end - start < size and used + weights[end] <= budget:
                used += weights[end]
                end += 1
        pages.append(archived[start:end][::-1])
        start = end
    return current, pages


def allowance(settings: Settings, title: str, path: str) -> int:
    """Bytes kept free in a document's budget for everything but its entries: generous,
    since every character of the settings' text may be escaped (``&`` -> ``&#x26;``)."""
    text = (
        title,
        settings.description,
        settings.home,
        settings.owner.name,
        settings.owner.email or "",
        settings.owner.url or "",
        *(settings.base_url + archive_path(path, 999999) + ".atom" for _ in range(5)),
    )
    return 4096 + 6 * sum(len(t.encode()) for t in text)
