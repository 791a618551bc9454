from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from feeds.errors import WriteError
from feeds.writing import MANIFEST, OutputWriter, safe_path, write_output


def test_files_are_written_with_readable_permissions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = write_output(out, {"all.rss": b"a", "topics/x.rss": b"b"})
    assert report.written == ("all.rss", "topics/x.rss")
    assert (out / "topics/x.rss").read_bytes() == b"b"
    assert (out / "all.rss").stat().st_mode & 0o777 == 0o644
    assert (out / MANIFEST).read_text() == "all.rss\ntopics/x.rss\n"


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(out, {"all.rss": b"same", "all.atom": b"old"})
    os.utime(out / "all.rss", (1_000_000, 1_000_000))
    inode = (out / "all.rss").stat().st_ino
    report = write_output(out, {"all.rss": b"same", "all.atom": b"new"})
    assert report.unchanged == ("all.rss",)
    assert report.written == ("all.atom",)
    assert (out / "all.rss").stat().st_mtime == 1_000_000
    assert (out / "all.rss").stat().st_ino == inode


def test_stale_feeds_are_removed_and_other_files_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "robots.txt").write_text("mine")
    write_output(out, {"all.rss": b"a", "topics/gone.rss": b"b", "topics/kept.rss": b"c"})
    report = write_output(out, {"all.rss": b"a", "topics/kept.rss": b"c"})
    assert report.removed == ("topics/gone.rss",)
    assert not (out / "topics/gone.rss").exists()
    assert (out / "robots.txt").read_text() == "mine"


def test_empty_folders_of_removed_feeds_go_too(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(out, {"all.rss": b"a", "providers/p.rss": b"b"})
    write_output(out, {"all.rss": b"a"})
    assert not (out / "providers").exists()


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(out, {"all.rss": b"a" * 100_000, "x/y.json": b"{}"})
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_links_point_to_files_already_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = write_output(
        out, {"index.html": b"i", "feeds.opml": b"o", "all.rss": b"a", "topics/t.rss": b"t"}
    )
    assert set(report.written[-2:]) == {"index.html", "feeds.opml"}


@pytest.mark.parametrize(
    "path", ["../evil", "/etc/passwd", "a/../../b", "a\\..\\b", "", "a//b", "./a", "a\x00b"]
)
def test_nothing_is_written_outside_the_output_folder(tmp_path: Path, path: str) -> None:
    with pytest.raises(WriteError):
        safe_path(tmp_path, path)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "topics").symlink_to(tmp_path)
    with pytest.raises(WriteError):
        write_output(out, {"topics/x.rss": b"x"})
    assert not (tmp_path / "x.rss").exists()


def test_a_file_symlinked_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "topics").mkdir(parents=True)
    victim = tmp_path / "victim.rss"
    victim.write_text("keep me")
    (out / "topics" / "x.rss").symlink_to(victim)
    with pytest.raises(WriteError):
        write_output(out, {"topics/y.rss": b"y", "topics/x.rss": b"x"})
    assert victim.read_text() == "keep me"


def test_a_tampered_manifest_never_deletes_outside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / MANIFEST).write_text("../victim.txt\n")
    write_output(out, {"all.rss": b"a"})
    assert victim.read_text() == "keep me"


def test_unwritable_output_raises_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WriteError):
        write_output(blocker / "out", {"all.rss": b"a"})


class CtrlCWhilePlacing:
    """Presses Ctrl-C (a real SIGINT to this process) when the first files are put in place."""

    def __init__(self) -> None:
        self.phases: list[str] = []

    def phase(self, description: str, total: int | None = None) -> None:
        self.phases.append(description)

    def advance(self, count: int = 1) -> None:
        if self.phases[-1] == "putting files in place" and count:
            os.kill(os.getpid(), signal.SIGINT)

    def reading(self, total: int) -> None: ...

    def read(self, rejected: bool) -> None: ...


def test_ctrl_c_while_files_are_put_in_place_waits_for_the_whole_new_output(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    paths = [f"topics/{n:04d}.rss" for n in range(600)]
    write_output(out, dict.fromkeys(paths, b"old"))
    writer = OutputWriter(out, paths)
    for path in paths:
        writer.write(path, b"new")
    with pytest.raises(KeyboardInterrupt, match=r"^the new output was written$"):
        writer.finish(progress=CtrlCWhilePlacing())
    assert {path: (out / path).read_bytes() for path in paths} == dict.fromkeys(paths, b"new")
    assert (out / MANIFEST).read_text() == "".join(f"{path}\n" for path in paths)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "topics"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
