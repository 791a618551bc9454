"""Documents rendered and staged on every core: forked children that inherit the build in
memory (nothing to pickle), each taking one part of the feeds. The parent holds the output
folder's lock and puts the staged files in place."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from feeds.grouping import FeedPlan
from feeds.model import Feed
from feeds.reading import orphan_guard
from feeds.rendering import Fragments, render_all, site_documents
from feeds.settings import Settings
from feeds.writing import Confined, OutputWriter, failure, stage

# Below this many feeds forking costs more than it saves.
PARALLEL_MIN_FEEDS = 60
# A child adds to the count of staged documents every so many (a lock each time).
COUNT_EVERY = 8


class Work:
    """What a child needs: the build's settings and how to load a document's entries."""

    def __init__(
        self,
        settings: Settings,
        load: Callable[[FeedPlan], Feed],
        fragments: Callable[[FeedPlan], Sequence[Fragments] | None],
        reopen: Callable[[], None],
        folder: Path,
        parts: list[list[FeedPlan]],
    ) -> None:
        self.settings = settings
        self.load = load
        self.fragments = fragments
        self.reopen = reopen
        self.folder = folder
        self.parts = parts
        self.staged: Any = None
        """How many documents the children staged, in memory they share with the parent."""


# Read by the forked children, which inherit it in memory.
_WORK: Work | None = None


def _stage_part(index: int) -> tuple[list[str], list[str]]:
    """In a forked child: render and stage one part of the feeds."""
    assert _WORK is not None
    work = _WORK
    work.reopen()
    written: list[str] = []
    unchanged: list[str] = []
    site = site_documents(work.settings)
    confined = Confined(work.folder)
    plans = work.parts[index]
    counted = 0
    for path, data in render_all(plans, work.settings, work.load, fragments=work.fragments):
        if path not in site:
            try:
                staged = stage(confined.path(path), data)
            except OSError as e:
                raise failure(e, work.folder) from None
            (written if staged else unchanged).append(path)
            if len(written) + len(unchanged) - counted >= COUNT_EVERY:
                counted = _count(work, len(written) + len(unchanged), counted)
    _count(work, len(written) + len(unchanged), counted)
    return written, unchanged


def _count(work: Work, done: int, counted: int) -> int:
    """Add the documents staged since the last count to the count the parent shows."""
    with work.staged.get_lock():
        work.staged.value += done - counted
    return done


def stage_in_parallel(
    work: Work, writer: OutputWriter, workers: int, done: Callable[[int], None] | None
) -> None:
    """Stage the feeds of ``work.parts`` in ``workers`` forked processes, counted by ``writer``;
    ``done(n)`` is told every tenth of a second how many more documents were staged."""
    global _WORK
    context = get_context("fork")
    work.staged = context.Value("q", 0)
    _WORK = work
    try:
        # Leaving the block terminates the children (a Ctrl-C, a failed part): none is left
        # writing into the folder once the writer cleans it up.
        with context.Pool(workers, initializer=orphan_guard) as pool:
            results = pool.imap_unordered(_stage_part, range(len(work.parts)))
            told = 0
            for _ in work.parts:
                while True:
                    try:
                        written, unchanged = results.next(timeout=0.1)
                        break
                    except multiprocessing.TimeoutError:
                        told = _tell(work, told, done)
                writer.merge(written, unchanged)
                told = _tell(work, told, done)
    finally:
        _WORK = None


def _tell(work: Work, told: int, done: Callable[[int], None] | None) -> int:
    staged = int(work.staged.value)
    if done is not None and staged > told:
        done(staged - told)
    return staged
