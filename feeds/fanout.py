"""Documents rendered and staged on every core: forked children that inherit the build in
memory (nothing to pickle), each taking one part of the feeds. The parent holds the output
folder's lock and puts the staged files in place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from feeds.grouping import FeedPlan
from feeds.layout import document_paths
from feeds.model import Feed
from feeds.reading import orphan_guard
from feeds.rendering import Fragments, render_all, site_documents
from feeds.settings import Settings
from feeds.writing import Confined, OutputWriter, failure, stage

# Below this many feeds forking costs more than it saves.
PARALLEL_MIN_FEEDS = 60


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
    for path, data in render_all(plans, work.settings, work.load, fragments=work.fragments):
        if path not in site:
            try:
                staged = stage(confined.path(path), data)
            except OSError as e:
                raise failure(e, work.folder) from None
            (written if staged else unchanged).append(path)
    return written, unchanged


def stage_in_parallel(
    work: Work, writer: OutputWriter, workers: int, done: Callable[[int], None] | None
) -> None:
    """Stage the feeds of ``work.parts`` in ``workers`` forked processes, counted by ``writer``."""
    global _WORK
    _WORK = work
    try:
        context = get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=orphan_guard) as pool:
            for n, (written, unchanged) in enumerate(pool.map(_stage_part, range(len(work.parts)))):
                writer.merge(written, unchanged)
                if done is not None:
                    done(sum(len(document_paths(p, work.settings.formats)) for p in work.parts[n]))
    finally:
        _WORK = None
