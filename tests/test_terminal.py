"""The command as a person at a terminal meets it: the progress display, Ctrl-C, a closed pipe.

Real builds of a few thousand generated records, on a real pty in a session of their own (so
that SIGINT reaches the whole process group, as a terminal's Ctrl-C does), and real pipes.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import faults
from tests.conftest import ROOT, load_corpus
from tests.test_crash_safety import assert_all_gone, assert_no_stray_files, descendants

corpus = load_corpus()
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
PHASES = [
    "finding records",
    "loading the build cache",
    "reading records",
    "planning feeds",
    "caching what was read",
    "writing feeds",
    "putting files in place",
    "saving the build cache",
]


def on_a_terminal(
    command: list[str], *, interrupt_when: Callable[[bytes], bool] | None = None
) -> tuple[int, bytes, set[int]]:
    """Run ``command`` on a pty, as a terminal would (the progress display at once); send SIGINT
    to its process group as soon as ``interrupt_when(screen)`` holds. Returns its exit status,
    everything it wrote (ANSI sequences removed) and the processes it started."""
    env = {**os.environ, "FEEDS_PROGRESS_DELAY": "0", "COLUMNS": "120", "TERM": "xterm"}
    main_fd, child_fd = os.openpty()
    process = subprocess.Popen(
        command,
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(child_fd)
    screen = b""
    family: set[int] = set()
    deadline = time.monotonic() + 300
    interrupted = interrupt_when is None
    try:
        while time.monotonic() < deadline:
            if select.select([main_fd], [], [], 0.01)[0]:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:  # EIO: every process holding the pty is gone
                    break
                if not chunk:
                    break
                screen += ANSI.sub(b"", chunk)
            family |= descendants(process.pid)
            if not interrupted and interrupt_when is not None and interrupt_when(screen):
                os.killpg(process.pid, signal.SIGINT)
                interrupted = True
        status = process.wait(timeout=60)
    finally:
        os.close(main_fd)
        if process.poll() is None:
            process.kill()
    assert interrupted, f"the build ended before the moment to interrupt it:\n{screen[-3000:]!r}"
    return status, screen, family


def site(tmp_path: Path, count: int) -> Path:
    """``count`` generated records and the settings of the fault tests (small pages: many
    documents); returns the settings file."""
    settings = faults.site(tmp_path)
    corpus.generate(tmp_path / "records", count, seed=5)
    return settings


def build(settings: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "feeds", "build", "--settings", str(settings), *extra]


def counts(screen: bytes, phase: str) -> set[tuple[int, int]]:
    """Every ``done/total`` the display showed for ``phase``."""
    found = re.findall(phase.encode() + rb"[^\d\n\r]*([\d,]+)/([\d,]+)", screen)
    return {(int(done.replace(b",", b"")), int(total.replace(b",", b""))) for done, total in found}


def edit_every_record(records: Path) -> None:
    """A change to every record's title: the next build reads every record again and writes
    every document."""
    for path in records.rglob("*.txt"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('title: "', 'title: "Edited ', 1), encoding="utf-8")


@pytest.mark.slow
def test_the_progress_display_moves_through_every_phase_of_a_build(tmp_path: Path) -> None:
    settings = site(tmp_path, 2500)
    status, screen, _ = on_a_terminal(build(settings))
    assert status == 0, screen[-3000:]
    # Every phase is drawn, in the order the build goes through them.
    first = [screen.find(phase.encode()) for phase in PHASES]
    assert -1 not in first, [p for p, at in zip(PHASES, first, strict=True) if at < 0]
    assert first == sorted(first)
    # The long ones count as they go: never one number for seconds, then done.
    for phase in ("reading records", "writing feeds"):
        shown = counts(screen, phase)
        total = max(total for _, total in shown)
        between = {done for done, _ in shown if 0 < done < total}
        assert len(between) >= 3, (phase, sorted(shown))
    assert counts(screen, "putting files in place")
    assert b"Traceback" not in screen


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["reading records", "writing feeds"])
def test_ctrl_c_during_a_build_prints_one_line_exits_130_and_keeps_the_previous_output(
    tmp_path: Path, phase: str
) -> None:
    settings = site(tmp_path, 2000)
    first = faults.run_build(settings)
    assert first.returncode == 0, first.stderr
    before = faults.tree(tmp_path / "out")
    edit_every_record(tmp_path / "records")

    def begun(screen: bytes) -> bool:
        return any(done > 0 for done, _ in counts(screen, phase))

    status, screen, family = on_a_terminal(build(settings), interrupt_when=begun)
    assert status == 130, screen[-3000:]
    assert b"Traceback" not in screen
    said = [line for line in re.split(rb"[\r\n]+", screen) if line.startswith(b"feeds")]
    assert said == [b"feeds: interrupted; the previous output was kept"]
    assert faults.tree(tmp_path / "out") == before
    assert_no_stray_files(tmp_path / "out")
    assert_all_gone(family, within=2.0)
    again = faults.run_build(settings)
    assert again.returncode == 0, again.stderr
    assert faults.tree(tmp_path / "out") != before


def risky_diff_site(tmp_path: Path) -> tuple[Path, Path]:
    """Two output folders whose diff is far longer than a pipe holds (64 KiB)."""
    settings = site(tmp_path, 200)
    assert faults.run_build(settings, "--output", str(tmp_path / "old")).returncode == 0
    edit_every_record(tmp_path / "records")
    assert faults.run_build(settings, "--output", str(tmp_path / "new")).returncode == 0
    return tmp_path / "old", tmp_path / "new"


@pytest.mark.slow
def test_a_closed_pipe_ends_feeds_diff_quietly_with_141(tmp_path: Path) -> None:
    old, new = risky_diff_site(tmp_path)
    for extra in ([], ["--json"]):
        # feeds diff OLD NEW | head -1
        process = subprocess.Popen(
            [sys.executable, "-m", "feeds", "diff", str(old), str(new), *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline()
        process.stdout.close()
        error = process.stderr.read()
        assert process.wait(timeout=60) == 141, error
        assert error == b""


def test_a_closed_pipe_on_stderr_ends_feeds_check_quietly_with_141(tmp_path: Path) -> None:
    # feeds check -v 2>&1 >/dev/null | head -1, with far more warnings than a pipe holds
    folder = tmp_path / "records"
    folder.mkdir()
    for n in range(1400):
        (folder / f"{n:04d}.txt").write_text(
            "---\ntitle: A story\npublishedDateTime: 2024-05-01T10:00:00Z\n"
            f"webUrl: https://news.example/{n // 2}\npublished: true\n"
            "provider: {name: Wire, domain: wire.example}\ntopics: [AI]\n---\n"
        )
    settings = faults.site(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds", "check", "-v", "--settings", str(settings)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    assert b"warning: same article as" in process.stderr.readline()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
