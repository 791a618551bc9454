"""``feed.xsl``: the stylesheet that shows RSS and Atom feeds as a readable page in a browser.

It is a file of the package, not generated, so it reads and diffs as the XSLT it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from feeds.model import FeedInfo
from feeds.settings import Settings

# The formats whose documents point to the stylesheet.
STYLED = ("rss", "atom")


@cache
def _text() -> bytes:
    return files(__package__).joinpath("feed.xsl").read_bytes()


def render(feeds: Sequence[FeedInfo], settings: Settings) -> bytes:
    return _text()
