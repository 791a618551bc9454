"""The output layout: paths written and read back, the order documents go into place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from feeds.layout import (
    EXTENSIONS,
    FOLDERS,
    INDEX,
    OPML,
    Document,
    archive_path,
    is_subscription_document,
    locate,
    order,
    sealed_pages,
)

slugs = st.from_regex(r"[a-z0-9]+(-[a-z0-9]+)*", fullmatch=True)
folders = st.sampled_from(sorted(FOLDERS.values()))
formats = st.sampled_from(sorted(EXTENSIONS))


def feed_of(folder: str, slug: str) -> str:
    return f"{folder}/{slug}" if folder else slug


@given(folders, slugs, formats, st.integers(min_value=1, max_value=10**6))
def test_every_path_written_reads_back_as_its_document(
    folder: str, slug: str, fmt: str, page: int
) -> None:
    feed = feed_of(folder, slug)
    assert locate(feed + EXTENSIONS[fmt]) == Document(feed, fmt)
    assert locate(archive_path(feed, page) + EXTENSIONS[fmt]) == Document(feed, fmt, page)
    assert is_subscription_document(feed + EXTENSIONS[fmt])
    assert not is_subscription_document(archive_path(feed, page) + EXTENSIONS[fmt])


def test_what_is_not_a_feed_document_reads_back_as_nothing() -> None:
    for path in (
        INDEX,
        OPML,
        "topics.opml",
        "topics/ai.html",
        "all.html",
        "elsewhere/ai.rss",
        "archive/all/0.rss",
        "archive/all/01.rss",
        "archive/all/x.rss",
        "topics/ai.txt",
        "topics/.rss",
    ):
        assert locate(path) is None, path


def test_documents_go_into_place_after_what_they_link_to() -> None:
    paths = [
        INDEX,
        "topics.opml",
        OPML,
        "topics/ai.html",
        "topics/ai.rss",
        "all.json",
        "archive/all/2.rss",
        "archive/all/1.rss",
    ]
    assert sorted(paths, key=order) == [
        "archive/all/1.rss",
        "archive/all/2.rss",
        "all.json",
        "topics/ai.rss",
        "topics/ai.html",
        OPML,
        "topics.opml",
        INDEX,
    ]


def test_a_page_is_sealed_once_the_next_page_of_its_feed_and_format_exists() -> None:
    paths = ["archive/all/1.rss", "archive/all/2.rss", "archive/all/1.json", "archive/a/b/3.atom"]
    assert sealed_pages(paths) == {"archive/all/1.rss"}
