"""Slugs: a distinct, path-safe, stable name for every feed key."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable

from feeds.groupings import PAIR
from feeds.text import slugify

MAX_SLUG = 60


def pair_slugs(keys: list[str]) -> dict[str, str]:
    """Slugs of a grouping's keys; a topic-provider pair is ``<topic slug>--<provider slug>``
    (slugs never hold two dashes in a row, so pairs cannot collide)."""
    if not any(PAIR in key for key in keys):
        return assign_slugs(keys)
    pairs = [key.split(PAIR, 1) for key in keys]
    topics = assign_slugs({topic for topic, _ in pairs})
    providers = assign_slugs({provider for _, provider in pairs})
    return {f"{t}{PAIR}{p}": f"{topics[t]}--{providers[p]}" for t, p in pairs}


def assign_slugs(keys: Iterable[str]) -> dict[str, str]:
    """A distinct path-safe slug for every key.

    A key whose slug lost letters (non-ASCII scripts) or length gets a hash of the key appended,
    so it stays the same whatever other keys exist; of two keys that still share a slug, the
    first in key order keeps it and the other gets the hash.
    """
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for key in sorted(keys):
        name = key.removeprefix("name:")
        slug = slugify(name)
        lossy = any(c.isalnum() and not _folds(c) for c in name) or len(slug) > MAX_SLUG
        slug = slug[:MAX_SLUG].strip("-")
        digest = hashlib.sha256(key.encode()).hexdigest()
        hashed = [f"{slug}-{digest[:n]}" if slug else digest[:n] for n in (8, 16, 64)]
        candidates = hashed if lossy or not slug else [slug, *hashed]
        slugs[key] = next(c for c in candidates if c not in used)
        used.add(slugs[key])
    return slugs


def _folds(char: str) -> bool:
    return bool(unicodedata.normalize("NFKD", char).encode("ascii", "ignore"))
