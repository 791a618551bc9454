"""Where each document is published: paths and absolute URLs, shared by every renderer."""

from __future__ import annotations

from feeds.model import Feed
from feeds.settings import Settings

EXTENSIONS = {"rss": ".rss", "atom": ".atom", "json": ".json"}
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
INDEX = "index.html"
OPML = "feeds.opml"


def feed_path(feed: Feed, fmt: str) -> str:
    """``topics/computer-vision.atom``: the file's path in the output folder."""
    return feed.path + EXTENSIONS[fmt]


def feed_url(settings: Settings, feed: Feed, fmt: str) -> str:
    return settings.base_url + feed_path(feed, fmt)
