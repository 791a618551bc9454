"""Where each document is published: paths and absolute URLs, shared by every renderer."""

from __future__ import annotations

from feeds.model import FeedInfo
from feeds.settings import Settings

EXTENSIONS = {"rss": ".rss", "atom": ".atom", "json": ".json"}
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
INDEX = "index.html"
OPML = "feeds.opml"
STYLESHEET = "feed.xsl"
_CONTENT_TYPES = {
    ".rss": MEDIA_TYPES["rss"],
    ".atom": MEDIA_TYPES["atom"],
    ".json": MEDIA_TYPES["json"],
    ".opml": "text/x-opml",
    ".html": "text/html",
    ".xsl": "text/xsl",
}


def feed_path(feed: FeedInfo, fmt: str) -> str:
    """``topics/computer-vision.atom``: the file's path in the output folder."""
    return feed.path + EXTENSIONS[fmt]


def feed_url(settings: Settings, feed: FeedInfo, fmt: str) -> str:
    return settings.base_url + feed_path(feed, fmt)


def grouping_opml(folder: str) -> str:
    """``topics.opml``: the OPML of one grouping's feeds, named from its folder."""
    return folder + ".opml"


def stylesheet_href(path: str) -> str:
    """The stylesheet's URL relative to the document at ``path`` (``../../feed.xsl``).

    Relative, so a browser fetches it from wherever the feed was served (same origin, which
    XSLT requires), whatever ``base_url`` says.
    """
    return "../" * path.count("/") + STYLESHEET


def content_type(path: str) -> str:
    """The Content-Type header for an output file, charset included."""
    extension = path[path.rfind(".") :]
    return f"{_CONTENT_TYPES.get(extension, 'application/octet-stream')}; charset=utf-8"
