"""Reading records on every core: each record file read, parsed, mapped and its entry rendered
(for the byte budget and so documents are put together without rendering it again), in worker
processes that die with the build. One broken record never stops the others."""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from feeds.errors import Problem, RecordError
from feeds.grouping import Summary, freeze, summarize
from feeds.mapping import map_record
from feeds.records import read_record
from feeds.rendering import measure, render_entry
from feeds.settings import Settings

# Below this many files a process pool costs more than it saves.
PARALLEL_MIN = 1500
CHUNK = 200


def orphan_guard() -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    A killed build must not leave workers behind holding memory and the cache open. Linux
    kills the worker itself (``PR_SET_PDEATHSIG``); elsewhere, and as a second line, a thread
    notices that the parent changed."""
    import signal

    parent = os.getppid()
    # Ctrl-C reaches the whole process group: the build stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # died before the request took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one record file: a pickled entry and its summary, a draft, or an error."""

    rel: str
    summary: Summary | None = None
    blob: bytes | None = None
    fragments: bytes | None = None
    """The entry rendered in every format, pickled (see :meth:`Build._fragments`)."""
    draft: bool = False
    error: RecordError | None = None
    warnings: tuple[Problem, ...] = ()


def process(path: Path, rel: str, settings: Settings, *, keep: bool = True) -> FileOutcome:
    """Read, parse and map one record file; never raises for a bad record.

    Messages name the file by ``rel``; the build shows them with the path as the user gave it.
    Without ``keep``, the outcome holds no pickled entry: a build with a cache needs only the
    entry's fragments and summary.
    """
    try:
        record = read_record(path, rel, settings.zone)
        if record is None:
            return FileOutcome(rel, draft=True)
        entry, problems = map_record(record, settings)
    except RecordError as e:
        return FileOutcome(rel, error=e)
    except Exception as e:  # one record must never stop the others
        error = RecordError(rel, "(record)", f"unexpected {type(e).__name__}: {e}")
        return FileOutcome(rel, error=error)
    blob = freeze(entry)
    # Rendered here, on every core, for the byte budget (its size) and so that documents
    # are put together from the cache without rendering any entry again.
    rendered = render_entry(entry, settings)
    summary = summarize(entry, blob, source=rel, size=measure(rendered), settings=settings)
    fragments = pickle.dumps(rendered, protocol=pickle.HIGHEST_PROTOCOL)
    kept = blob if keep else None
    return FileOutcome(rel, summary, kept, fragments, warnings=tuple(problems))


def _process_chunk(
    chunk: Sequence[str], folder: Path, settings: Settings, entries: bool
) -> list[FileOutcome]:
    return [process(folder / rel, rel, settings, keep=entries) for rel in chunk]


def outcomes(
    settings: Settings, rels: Sequence[str], workers: int | None = None, *, entries: bool = True
) -> Iterator[FileOutcome]:
    """The outcome of every file (paths relative to the records folder), in order; with
    ``entries``, each with its entry pickled (see :func:`process`)."""
    folder = settings.records
    workers = workers or available_cores()
    if workers <= 1 or len(rels) < PARALLEL_MIN:
        for rel in rels:
            yield process(folder / rel, rel, settings, keep=entries)
        return
    chunks = [rels[i : i + CHUNK] for i in range(0, len(rels), CHUNK)]
    # fork shares the imported program with the workers (less memory, faster start), but is
    # unsafe once other threads run (the app builds from a thread; a progress display has one).
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=orphan_guard) as pool:
        pending: deque[Future[list[FileOutcome]]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_process_chunk, chunk, folder, settings, entries))
                if len(pending) >= workers * 4:  # bounded read-ahead keeps memory flat
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BaseException:
            # Stopped early (Ctrl-C, the build failed): wait only for the chunks begun.
            pool.shutdown(cancel_futures=True)
            raise


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
