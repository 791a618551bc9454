"""A worker of ``feeds serve --workers``: serves what the builder published in the store and
swaps in each new generation whole. It never builds."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import anyio.to_thread

from feeds.serve.builder import describe
from feeds.serve.http import (
    Snapshot,
)
from feeds.serve.store import Published, current, load

log = logging.getLogger("feeds")
# How often a worker looks for a new build: a readlink, so even 4 a second cost nothing.
POLL_SECONDS = 0.25


class Follower:
    """A worker of ``feeds serve --workers``: serves what the builder published in the store
    and swaps in each new generation whole. It never builds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.builds = 0
        self.generation: str | None = None
        self.published: Published | None = None
        self._problem: str | None = None

    def take(self, published: Published) -> None:
        # No await between these: a request sees one generation's snapshot and status.
        self.snapshot = published.snapshot
        self.builds = published.builds
        self.last_error = published.last_error
        self.generation = published.generation
        self.published = published

    async def refresh(self) -> bool:
        """Load the current generation if it is not the one served; True when it was swapped."""
        generation = current(self.folder)
        if generation == self.generation:
            return False
        published = await anyio.to_thread.run_sync(load, self.folder, generation, self.published)
        previous = self.snapshot
        self.take(published)
        changed = sum(
            1
            for path, doc in published.snapshot.documents.items()
            if previous is None or previous.documents.get(path) is not doc
        )
        log.info(
            "worker %d serves %s (build %d, %s): %d documents reloaded",
            os.getpid(),
            generation,
            published.builds,
            "ok" if published.last_error is None else "stale",
            changed,
        )
        return True

    async def follow(self) -> None:
        """Poll the store's pointer (one readlink, off the request path) and reload on change."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.refresh()
                self._problem = None
            except Exception as e:  # whatever it is, the worker goes on serving and polling
                problem = describe(e)
                if problem != self._problem:  # once per problem, not every poll
                    log.error("still serving %s: %s", self.generation, problem)
                self._problem = self.last_error = problem
