"""A progress display for builds on a terminal: files read, rejected, documents written, rate.

Shown on stderr only when it is a terminal (never in CI logs or pipes) and only after the
build has run for a moment, so quick builds print nothing but their summary.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

# How long a build runs before the display appears (FEEDS_PROGRESS_DELAY overrides it).
DELAY_SECONDS = float(os.environ.get("FEEDS_PROGRESS_DELAY", "1.0"))


class BuildProgress:
    """Receives build events; shows them with rich when ``enabled``, else does nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.display: Any = None
        self.task: Any = None
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

    def _show(self, description: str, total: int) -> None:
        self.task = None
        if not self.enabled or (time.monotonic() - self.started < DELAY_SECONDS and total < 5000):
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self.display is None:
            self.display = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self.display.start()
        self.task = self.display.add_task(description, total=total, note="", rate="")

    def reading(self, total: int) -> None:
        self._show("reading records", total)
        self.read_started = time.monotonic()

    def read(self, rejected: bool) -> None:
        self.rejected += rejected
        if self.task is None:
            return
        done = int(self.display.tasks[-1].completed) + 1
        rate = done / max(time.monotonic() - self.read_started, 1e-6)
        note = f"{self.rejected} rejected" if self.rejected else ""
        self.display.update(self.task, advance=1, note=note, rate=f"{rate:,.0f} files/s")

    def writing(self, total: int) -> Callable[[int], None]:
        """Start the writing phase; the returned function is told how many documents are done."""
        self._show("writing feeds", total)

        def done(count: int) -> None:
            if self.task is not None:
                self.display.update(self.task, advance=count)

        return done
