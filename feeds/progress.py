"""A progress display for builds on a terminal: one line a phase (finding records, reading,
planning, writing, putting files in place, saving the cache), with counts where a phase has
them, and how long each took.

Shown on stderr only when it is a terminal (never in CI logs or pipes) and only after the
build has run for a moment, so quick builds print nothing but their summary.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any, Protocol

# How long a build runs before the display appears (FEEDS_PROGRESS_DELAY overrides it).
DELAY_SECONDS = float(os.environ.get("FEEDS_PROGRESS_DELAY", "1.0"))
# A phase with this many steps is shown at once, whatever the delay.
LONG = 5000


class Progress(Protocol):
    """What a build tells as it goes."""

    def phase(self, description: str, total: int | None = None) -> None:
        """A new phase begins; ``total``: how many steps :meth:`advance` will count."""

    def advance(self, count: int = 1) -> None: ...

    def reading(self, total: int) -> None: ...

    def read(self, rejected: bool) -> None: ...


class BuildProgress:
    """Receives build events; shows them with rich when ``enabled``, else does nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.display: Any = None
        self.task: Any = None
        self.description = ""
        self.total: int | None = None
        self.done = 0
        self.began = self.started
        self.rejected = 0

    def __enter__(self) -> BuildProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.display is not None:
            self.display.stop()
            self.display = None

    def phase(self, description: str, total: int | None = None) -> None:
        if self.task is not None:
            # The phase before is done: its line shows it whole.
            if self.total is None:
                self.display.update(self.task, total=1, completed=1)
            else:
                self.done = self.total
                self.display.update(self.task, completed=self.total, count=self._count())
        self.description, self.total, self.done = description, total, 0
        self.began = time.monotonic()
        self.task = None
        if self.enabled:
            self._show()

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.task is not None:
            self.display.update(self.task, advance=count, count=self._count())
        elif self.enabled and self._due():
            self._show()

    def reading(self, total: int) -> None:
        self.phase("reading records", total)

    def read(self, rejected: bool) -> None:
        self.rejected += rejected
        self.done += 1
        if self.task is None:
            if self.enabled and self._due():
                self._show()
            return
        rate = self.done / max(time.monotonic() - self.began, 1e-6)
        self.display.update(
            self.task,
            advance=1,
            count=self._count(),
            note=f"{self.rejected} rejected" if self.rejected else "",
            rate=f"{rate:,.0f} files/s",
        )

    def _due(self) -> bool:
        long = self.total is not None and self.total >= LONG
        return long or time.monotonic() - self.started >= DELAY_SECONDS

    def _count(self) -> str:
        return f"{self.done:,}/{self.total:,}" if self.total is not None else ""

    def _show(self) -> None:
        """Draw the current phase, starting the display if it is time to."""
        if self.display is None:
            if not self._due():
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.display = Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TextColumn("{task.fields[note]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self.display.start()
        self.task = self.display.add_task(
            self.description,
            total=self.total,
            completed=self.done,
            count=self._count(),
            note="",
            rate="",
        )
        self.display.refresh()  # every phase is drawn, however short
