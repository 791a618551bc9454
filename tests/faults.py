"""Helpers of the fault-injection tests: sites on disk, real builds in subprocesses, trees."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT

NOBODY = 65534


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) and its bytes, plus every empty folder."""
    found: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file():
            found[rel] = path.read_bytes()
        elif path.is_dir() and not any(path.iterdir()):
            found[rel + "/"] = b""
    return found


def settings_text(**values: object) -> str:
    base: dict[str, object] = {
        "title": "Faults",
        "base_url": "https://example.org/feeds/",
        "records": "records",
        "output": "out",
        "max_entries": 8,
        "archive_page_size": 2,
    }
    base.update(values)
    return "".join(f"{key}: {value}\n" for key, value in base.items())


def site(folder: Path, **values: object) -> Path:
    """A site folder with ``records/`` and ``settings.yaml``; returns the settings file."""
    (folder / "records").mkdir(parents=True, exist_ok=True)
    settings = folder / "settings.yaml"
    settings.write_text(settings_text(**values))
    return settings


def command(settings: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "feeds", "build", "--settings", str(settings), "-q", *extra]


def run_build(
    settings: Path,
    *extra: str,
    preexec: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(settings, *extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        preexec_fn=preexec,
        env={**os.environ, **(env or {})},
    )


def start_build(settings: Path, *extra: str) -> subprocess.Popen[str]:
    """A build in a session of its own, so that its whole process group can be killed."""
    return subprocess.Popen(
        command(settings, *extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def cold(records: Path, settings: Path, into: Path) -> dict[str, bytes]:
    """What a cold build of ``records`` with ``settings``' values writes into an empty folder."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    shutil.copytree(records, into / "records", symlinks=True)
    shutil.copy(settings, into / "settings.yaml")
    done = run_build(into / "settings.yaml", "--no-cache")
    assert done.returncode in (0, 1), done.stderr
    return tree(into / "out")


def file_size_limit(limit: int) -> Callable[[], None]:
    """A child's file size limit, the way a full disk stops a write: EFBIG instead of ENOSPC,
    and no signal (a process that exceeds it is killed by SIGXFSZ unless it ignores it)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def powerless() -> None:
    """In a child about to run a command: root without the powers that bypass file modes
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), so modes and owners apply to it as
    to anyone; CI runs as root. A plain user has none of them already."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
