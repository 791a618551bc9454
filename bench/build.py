"""make bench: every build target of issue 12, measured in one run at 100,000 records.

    python bench/build.py [--sizes 100000] [--runs 3] [--big 300000] [--baseline] [--results FILE]

Records: a generated corpus (bench/corpus.py, seed 1, cached in /tmp/feeds-bench or
$FEEDS_BENCH_DIR), copied into a scratch site for each size because some steps edit it.
Settings: the defaults (docs/settings.md) plus the example custom feeds of settings.yaml ("Top computing
stories" with its slug ``top-computing``, "Hot climate and energy news"), with
``base_url: https://example.org/feeds/``. The generated topics ("Climate grid 12") match neither
custom feed, so both stay empty: they cost their filters, and (i) rewrites an empty feed.

Steps, for each of ``--sizes`` (default 100,000 alone: the targets are set at 100k, and at 1k or
10k a build is mostly start-up), in this order. Each timed row is the median of ``--runs`` runs
(wall clock of the whole command) and each memory figure the median of the runs' peaks: the
largest sum of PSS over the command's process tree, sampled every 20 ms.
  (a) read every record file, one process (context);
  (b) the floor: parse every record with PyYAML's CSafeLoader on every core;
  (c) only with ``--baseline``: the single-process CSafeLoader + feedgen build of
      bench/baseline.py. No target of issue 12 uses it, and at 100k it costs about 40-50 s a run
      and 1 GB, so it is left out by default;
  (d) `feeds build`, cold: output folder and build cache removed before each run;
  (e) nothing changed: `feeds build` again, right after (d)'s last run built the same records;
  (f) 10 records edited: 10 published records (a different seeded sample each run) get a longer
      excerpt;
  (g) 1,000 new records added: a 1,000-record corpus (seed 100 + run) dated in the 30 days after
      the whole corpus (as news arrives), copied into records/added/;
  (n) 1,000 back-dated records added (context): the same, dated over the corpus's six years. An
      archive page holds a fixed run of entries counted from the oldest (so that newer entries
      never move it, RFC 5005), so an entry inserted into the past moves every newer page of
      its feeds: with 1,000 such entries spread over the years, nearly every page of the
      archive is rewritten, as a cold build would write it;
  (h) 1 record deleted: one published record (seeded) moved out of the records folder;
  (i) a setting that touches one feed: the title of the first custom feed changed (its slug is
      fixed, so only that feed's documents, the index and the OPML change);
  (l) the build cache: bytes on disk (allocated blocks) of the cache folder, after (d) and
      again after (i), against the bytes of the record files;
  (j) small pages, cold: the same records with ``archive_page_size: 2`` and ``max_entries: 8``
      (a site of its own, output and cache removed before each run);
  (k) small pages, 10 records edited, as (f).
With ``--big N`` (default 300,000; 0 to skip), after the sizes:
  (m) growth: `feeds build` cold on N records with the same settings (median of ``--runs`` as
      well), its time and peak against (d) of the largest size of the same run.

Every step starts from the built, unchanged records and leaves them so: (f), (g), (h), (i) and
(k) undo their change after the timed build (edited files written back, added folder removed,
deleted file moved back, settings written back) and run one untimed build, whose counts must
equal those of the cold build. Each timed build's summary line is checked, so that a step
measures what it says: (d) and (j) write every file; (e) writes and removes nothing; (f) and (k)
write files with the same record counts; (g) reads 1,000 more records; (h) reads one fewer and
publishes one fewer (or one fewer duplicate); (i) writes files and the new title is in the
feed's Atom document. A failed check stops the run.

Targets (issue 12, at 100k; the marks are shown at any size): (d) <= 1.3x (b); (e) <= 0.5 s;
(f) <= 1.0 s; (g) <= 3 s; (h) and (i) "about what an edit costs", read here as <= 1.5x (f) of
the same run; (j) <= 2x (d); (k) <= 2 s; peak memory of each of (d) to (k) <= 300 MB; cache
<= 30% of the records' bytes (after (d) and after (i)); (m) time <= 3.3x and peak <= 1.5x
those of (d) (for N = 3x the largest size). Results go into bench/RESULTS.md (or
``--results FILE``) between the build markers, one table a size.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from results import RESULTS, record

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("FEEDS_BENCH_DIR", "/tmp/feeds-bench"))
PY = sys.executable
MB = 2**20
BUILT = (0, 1)  # the exit statuses of a build that wrote its output (1: records rejected)

READ = """
import os, sys
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(root, name), 'rb') as f:
            n += len(f.read())
"""
PARSE = """
import os, sys, yaml
from multiprocessing import Pool
def load(path):
    with open(path, encoding='utf-8') as f:
        yaml.load(f.read().split('---')[1], Loader=yaml.CSafeLoader)
    return 1
if __name__ == '__main__':
    paths = sorted(os.path.join(r, n) for r, _, fs in os.walk(sys.argv[1]) for n in fs)
    with Pool(len(os.sched_getaffinity(0))) as pool:
        sum(pool.imap_unordered(load, paths, chunksize=200))
"""

# The example custom feeds, as in settings.yaml at the repo root (kept here so that the
# benchmark's settings do not move when the example does).
CUSTOM_TITLE = "Top computing stories"
CUSTOM_FEEDS = f"""custom_feeds:
  - title: {CUSTOM_TITLE}
    slug: top-computing
    topics: [AI, Software, Semiconductors, Programming Languages]
    min_quality: 60
  - title: Hot climate and energy news
    topics: [Climate, Energy]
    min_heat: 60
"""
CUSTOM_ATOM = "custom/top-computing.atom"
SMALL_PAGES = "max_entries: 8\narchive_page_size: 2\n"

# Targets of issue 12.
COLD_FLOOR = 1.3  # (d) / (b)
NOTHING_S = 0.5
EDIT_S = 1.0
ADD_S = 3.0
ABOUT_AN_EDIT = 1.5  # (h), (i) / (f)
SMALL_COLD = 2.0  # (j) / (d)
SMALL_EDIT_S = 2.0
PEAK_MB = 300
CACHE_SHARE = 0.30
# (g) adds news dated after the whole corpus (which ends before 2025-01-01), as archives grow.
NEWS_AFTER = "2025-01-01"
GROWTH_TIME = 3.3
GROWTH_PEAK = 1.5

NAMES = {
    "a": "(a) read all files",
    "b": "(b) floor: CSafeLoader parse, all cores",
    "c": "(c) CSafeLoader + feedgen, one process",
    "d": "(d) cold build",
    "e": "(e) nothing changed",
    "f": "(f) 10 records edited",
    "g": "(g) 1,000 new records added",
    "n": "(n) 1,000 back-dated records added",
    "h": "(h) 1 record deleted",
    "i": "(i) one custom feed's title changed",
    "j": "(j) small pages: cold build",
    "k": "(k) small pages: 10 records edited",
    "m": "(m) growth: cold build",
}


class Summary(NamedTuple):
    """The numbers of a build's summary line."""

    records: int
    published: int
    duplicates: int
    feeds: int
    pages: int
    written: int
    unchanged: int
    removed: int

    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.records, self.published, self.duplicates, self.feeds, self.pages)


SUMMARY = re.compile(
    r"feeds: (\d+) records read, (\d+) published, \d+ unpublished, (\d+) duplicates, "
    r"\d+ rejected; (\d+) feeds(?: and (\d+) archive pages)?: (\d+) files written, "
    r"(\d+) unchanged, (\d+) removed"
)


def summary_of(output: str, what: str) -> Summary:
    found = SUMMARY.search(output)
    if found is None:
        raise SystemExit(f"{what}: no summary line in the build's output: {output[-500:]!r}")
    return Summary(*(int(group or 0) for group in found.groups()))


def tree_rss(pid: int) -> int:
    """Proportional resident memory (PSS) of ``pid`` and all its descendants, in bytes.

    PSS rather than RSS: forked workers share their parent's pages, and RSS would count each
    shared page once per process.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        pending.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def measure(command: list[str], allowed: tuple[int, ...] = (0,)) -> tuple[float, int, str]:
    """Wall seconds, peak tree PSS and standard output of ``command``, which must exit with
    one of ``allowed``."""
    # As installed, Python keeps compiled modules: a shell that disables them
    # (PYTHONDONTWRITEBYTECODE) would add every module's compilation to each short build.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace")
        if process.returncode not in allowed:
            problem = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{command} failed with {process.returncode}: {problem}")
    return seconds, peak, text


@dataclass
class Measured:
    """Median wall seconds and median peak memory (bytes) of a step's runs."""

    seconds: float
    peak: int


def repeat(
    what: str,
    runs: int,
    command: list[str],
    *,
    prepare: Callable[[int], object] | None = None,
    check: Callable[[int, str], None] | None = None,
    restore: Callable[[int], object] | None = None,
    allowed: tuple[int, ...] = (0,),
) -> Measured:
    """Run ``command`` ``runs`` times: ``prepare(run)`` before each, ``check(run, stdout)`` and
    ``restore(run)`` after each, none of them timed."""
    times, peaks = [], []
    for run in range(runs):
        if prepare is not None:
            prepare(run)
        seconds, peak, output = measure(command, allowed)
        print(f"  {what}, run {run + 1}/{runs}: {seconds:.2f} s, {peak / MB:.0f} MB", flush=True)
        if check is not None:
            check(run, output)
        if restore is not None:
            restore(run)
        times.append(seconds)
        peaks.append(peak)
    return Measured(statistics.median(times), int(statistics.median(peaks)))


def corpus(size: int, seed: int = 1, after: str | None = None) -> Path:
    folder = WORK / (f"corpus-{size}-{seed}" + (f"-after-{after}" if after else ""))
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        dated = ["--after", after] if after else []
        subprocess.run(
            [PY, str(HERE / "corpus.py"), str(folder), str(size), "--seed", str(seed), *dated],
            check=True,
        )
        (folder / ".complete").touch()
    return folder


def disk_bytes(folder: Path) -> int:
    """Bytes allocated on disk to the files under ``folder``."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def file_bytes(folder: Path) -> int:
    """Bytes of the record files under ``folder`` (their sizes, not their blocks)."""
    return sum(path.stat().st_size for path in folder.rglob("*.txt"))


@dataclass
class Site:
    """A settings file, its output folder and its build cache (``.feeds-cache`` beside the
    output, the default), over a records folder."""

    folder: Path
    records: Path
    extra: str = ""

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.write_settings()

    @property
    def settings(self) -> Path:
        return self.folder / "settings.yaml"

    @property
    def output(self) -> Path:
        return self.folder / "output"

    @property
    def cache(self) -> Path:
        return self.folder / ".feeds-cache"

    def write_settings(self, title: str = CUSTOM_TITLE) -> None:
        self.settings.write_text(
            f"base_url: https://example.org/feeds/\nrecords: {self.records}\noutput: output\n"
            + self.extra
            + CUSTOM_FEEDS.replace(f"title: {CUSTOM_TITLE}", f"title: {title}")
        )

    def command(self) -> list[str]:
        return [PY, "-m", "feeds", "build", "-q", "--settings", str(self.settings)]

    def clear(self, run: int = 0) -> None:
        shutil.rmtree(self.output, ignore_errors=True)
        shutil.rmtree(self.cache, ignore_errors=True)

    def build(self) -> Summary:
        """An untimed build."""
        done = subprocess.run(self.command(), check=False, capture_output=True, text=True)
        if done.returncode not in BUILT:
            raise SystemExit(f"{self.command()} failed with {done.returncode}: {done.stderr}")
        return summary_of(done.stdout, f"build of {self.settings}")


@dataclass
class Edits:
    """Edits of a seeded sample of the published records, each undone after its build."""

    records: Path
    count: int
    published: list[Path] = field(default_factory=list)
    originals: dict[Path, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.published = sorted(
            path
            for path in self.records.rglob("*.txt")
            if "\npublished: true\n" in path.read_text(encoding="utf-8")
        )

    def pick(self, seed: int, count: int) -> list[Path]:
        return random.Random(seed).sample(self.published, count)

    def edit(self, run: int) -> None:
        for path in self.pick(run, self.count):
            text = path.read_text(encoding="utf-8")
            self.originals[path] = text
            edited = text.replace('excerpt: "', f'excerpt: "Edited {run}. ', 1)
            path.write_text(edited, encoding="utf-8")

    def undo(self, run: int) -> None:
        for path, text in self.originals.items():
            path.write_text(text, encoding="utf-8")
        self.originals.clear()


@dataclass
class Deletion:
    """One published record (seeded) moved out of the records folder, then back."""

    edits: Edits
    stash: Path
    moved: dict[Path, Path] = field(default_factory=dict)

    def delete(self, run: int) -> None:
        (path,) = self.edits.pick(1000 + run, 1)
        self.stash.mkdir(exist_ok=True)
        self.moved[path] = self.stash / path.name
        os.replace(path, self.moved[path])

    def put_back(self, run: int) -> None:
        for path, moved in self.moved.items():
            os.replace(moved, path)
        self.moved.clear()


class Steps:
    """The steps on one site, each checked against the counts of the site's cold build."""

    def __init__(self, site: Site, runs: int, label: str) -> None:
        self.site, self.runs, self.label = site, runs, label
        self.baseline: Summary | None = None

    def base(self) -> Summary:
        assert self.baseline is not None, "the cold build comes first"
        return self.baseline

    def timed(
        self,
        key: str,
        check: Callable[[int, Summary], bool],
        prepare: Callable[[int], object] | None = None,
        restore: Callable[[int], object] | None = None,
    ) -> Measured:
        def checked(run: int, output: str) -> None:
            summary = summary_of(output, NAMES[key])
            if not check(run, summary):
                raise SystemExit(
                    f"{NAMES[key]}: the build did not do what the step says: {summary} "
                    f"(the cold build: {self.baseline})"
                )

        command = self.site.command()
        what = f"{self.label} {NAMES[key]}"
        return repeat(
            what,
            self.runs,
            command,
            prepare=prepare,
            check=checked,
            restore=restore,
            allowed=BUILT,
        )

    def cold(self, key: str) -> Measured:
        """Output folder and cache removed, then a build that writes every file."""

        def check(run: int, summary: Summary) -> bool:
            if self.baseline is None:
                self.baseline = summary
            same = summary.counts() == self.base().counts()
            return same and summary.written > 0 and summary.unchanged == 0

        return self.timed(key, check, prepare=self.site.clear)

    def untouched(self, key: str) -> Measured:
        """A build right after a build of the same records and settings: nothing to write."""

        def check(run: int, summary: Summary) -> bool:
            same = summary.counts() == self.base().counts()
            return same and summary.written == 0 and summary.removed == 0

        return self.timed(key, check)

    def changed(
        self,
        key: str,
        change: Callable[[int], object],
        undo: Callable[[int], object],
        seen: Callable[[int, Summary, Summary], bool],
    ) -> Measured:
        """``change(run)``, a timed build that must show it (``seen(run, summary, baseline)``),
        then ``undo(run)`` and an untimed build that must be back at the cold build's counts."""

        def restore(run: int) -> None:
            undo(run)
            summary = self.site.build()
            if summary.counts() != self.base().counts():
                raise SystemExit(
                    f"{NAMES[key]}: undoing the change did not bring the records back: "
                    f"{summary} (the cold build: {self.base()})"
                )

        return self.timed(
            key, lambda run, summary: seen(run, summary, self.base()), change, restore
        )


def rewritten(run: int, summary: Summary, baseline: Summary) -> bool:
    """The same records, and files written."""
    return summary.counts() == baseline.counts() and summary.written > 0


@dataclass
class SizeResult:
    size: int
    steps: dict[str, Measured]
    cache: dict[str, int]  # (l) the cache's bytes on disk, by when it was measured
    record_bytes: int
    counts: Summary
    small_counts: Summary


def bench_size(size: int, runs: int, baseline: bool) -> SizeResult:
    source = corpus(size)
    label = f"{size:,} records:"
    folder = WORK / f"site-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    records = folder / "records"
    shutil.copytree(source, records, ignore=shutil.ignore_patterns(".complete"))
    print(f"{label} {source}", flush=True)
    steps: dict[str, Measured] = {}
    steps["a"] = repeat(f"{label} {NAMES['a']}", runs, [PY, "-c", READ, str(records)])
    steps["b"] = repeat(f"{label} {NAMES['b']}", runs, [PY, "-c", PARSE, str(records)])
    if baseline:
        out = folder / "baseline"
        steps["c"] = repeat(
            f"{label} {NAMES['c']}",
            runs,
            [PY, str(HERE / "baseline.py"), str(records), str(out)],
            prepare=lambda run: shutil.rmtree(out, ignore_errors=True),
        )
        shutil.rmtree(out, ignore_errors=True)

    site = Site(folder, records)
    default = Steps(site, runs, label)
    cache: dict[str, int] = {}
    steps["d"] = default.cold("d")
    cache["after (d)"] = disk_bytes(site.cache)
    steps["e"] = default.untouched("e")
    edits = Edits(records, 10)
    steps["f"] = default.changed("f", edits.edit, edits.undo, rewritten)
    added = records / "added"
    for key, after in (("g", NEWS_AFTER), ("n", None)):

        def add(run: int, after: str | None = after) -> None:
            shutil.copytree(
                corpus(1000, seed=100 + run, after=after),
                added,
                ignore=shutil.ignore_patterns(".complete"),
            )

        steps[key] = default.changed(
            key,
            add,
            lambda run: shutil.rmtree(added),
            lambda run, s, b: s.records == b.records + 1000 and s.written > 0,
        )
    deletion = Deletion(edits, folder / "deleted")
    steps["h"] = default.changed(
        "h",
        deletion.delete,
        deletion.put_back,
        # One record fewer, and one entry fewer: published, or a duplicate of a published one
        # (then its output may not change at all).
        lambda run, s, b: (
            s.records == b.records - 1
            and s.published + s.duplicates == b.published + b.duplicates - 1
        ),
    )
    steps["i"] = default.changed(
        "i",
        lambda run: site.write_settings(retitled(run)),
        lambda run: site.write_settings(),
        lambda run, s, b: (
            rewritten(run, s, b)
            and retitled(run) in (site.output / CUSTOM_ATOM).read_text(encoding="utf-8")
        ),
    )
    cache["after (i)"] = disk_bytes(site.cache)
    site.clear()  # room on disk for the small pages' output

    small = Site(folder / "small-pages", records, extra=SMALL_PAGES)
    pages = Steps(small, runs, label)
    steps["j"] = pages.cold("j")
    steps["k"] = pages.changed("k", edits.edit, edits.undo, rewritten)
    cache["small pages, after (k)"] = disk_bytes(small.cache)

    result = SizeResult(size, steps, cache, file_bytes(source), default.base(), pages.base())
    shutil.rmtree(folder, ignore_errors=True)
    return result


def retitled(run: int) -> str:
    return f"{CUSTOM_TITLE}, edited {run}"


def bench_big(size: int, runs: int) -> Measured:
    """(m): cold builds of ``size`` records, read where the corpus lies (nothing edits them)."""
    folder = WORK / f"site-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    measured = Steps(Site(folder, corpus(size)), runs, f"{size:,} records:").cold("m")
    shutil.rmtree(folder, ignore_errors=True)
    return measured


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def megabytes(value: int) -> str:
    return f"{value / MB:,.0f} MB"


def mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def size_table(result: SizeResult, big: tuple[int, Measured] | None) -> list[str]:
    """The table of one size; ``big`` is the growth run (m), shown against this size's (d)."""
    steps = result.steps
    t = {key: measured.seconds for key, measured in steps.items()}
    rows: list[list[str]] = []

    def row(key: str, ratio: str = "", target: str = "", ok: bool | None = None) -> None:
        measured = steps[key]
        memory = ["", ""]
        if key not in "abc":  # a feeds build
            memory = [f"≤ {PEAK_MB} MB", mark(measured.peak <= PEAK_MB * MB)]
        time_cells = [seconds(measured.seconds), ratio, target, "" if ok is None else mark(ok)]
        rows.append([NAMES[key], *time_cells, megabytes(measured.peak), *memory])

    def against(key: str, other: str, limit: float) -> None:
        ratio = t[key] / t[other]
        row(key, f"{ratio:.2f}x ({other})", f"≤ {limit:g}x ({other})", ratio <= limit)

    row("a", target="context")
    row("b", "1.00x (b)", "the floor")
    if "c" in steps:
        row("c", f"{t['c'] / t['b']:.2f}x (b)", "context")
    against("d", "b", COLD_FLOOR)
    row("e", target=f"≤ {NOTHING_S:g} s", ok=t["e"] <= NOTHING_S)
    row("f", target=f"≤ {EDIT_S:g} s", ok=t["f"] <= EDIT_S)
    row("g", target=f"≤ {ADD_S:g} s", ok=t["g"] <= ADD_S)
    row("n", target="context")
    against("h", "f", ABOUT_AN_EDIT)
    against("i", "f", ABOUT_AN_EDIT)
    against("j", "d", SMALL_COLD)
    row("k", target=f"≤ {SMALL_EDIT_S:g} s", ok=t["k"] <= SMALL_EDIT_S)
    records = megabytes(result.record_bytes)
    for when, size in result.cache.items():
        share = size / result.record_bytes
        target = ["context", ""]
        if not when.startswith("small"):
            target = [f"≤ {CACHE_SHARE:.0%}", mark(share <= CACHE_SHARE)]
        cells = [megabytes(size), f"{share:.0%} of the records' {records}", *target]
        rows.append([f"(l) build cache, {when}", *cells, "", "", ""])
    if big is not None:
        size, measured = big
        time_ratio = measured.seconds / t["d"]
        peak_ratio = measured.peak / steps["d"].peak
        rows.append(
            [
                f"{NAMES['m']}, {size:,} records",
                seconds(measured.seconds),
                f"{time_ratio:.2f}x (d)",
                f"≤ {GROWTH_TIME:g}x (d)",
                mark(time_ratio <= GROWTH_TIME),
                f"{megabytes(measured.peak)}, {peak_ratio:.2f}x (d)",
                f"≤ {GROWTH_PEAK:g}x (d)",
                mark(peak_ratio <= GROWTH_PEAK),
            ]
        )
    c, p = result.counts, result.small_counts
    return [
        f"**{result.size:,} records** ({records} of record files): {c.published:,} published, "
        f"{c.feeds:,} feeds and {c.pages:,} archive pages; {p.pages:,} archive pages with "
        "small pages.",
        "",
        *pretty(["step", "time", "ratio", "target", "met", "peak memory", "target", "met"], rows),
        "",
    ]


def pretty(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table with aligned columns (the 2nd and 6th, numbers, to the right)."""
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    right = {1, 5}

    def line(cells: list[str]) -> str:
        aligned = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(aligned) + " |"

    rule = "|".join(
        ("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return [line(header), f"|{rule}|", *(line(cells) for cells in rows)]


def write_results(
    results: list[SizeResult],
    big: Measured | None,
    args: argparse.Namespace,
    load: float,
    minutes: float,
) -> None:
    options = f"--sizes {args.sizes} --runs {args.runs} --big {args.big}"
    options += f" --big-runs {args.big_runs}" if args.big_runs else ""
    options += " --baseline" if args.baseline else ""
    runs = "one run" if args.runs == 1 else f"the median of {args.runs} runs"
    if args.big and args.big_runs and args.big_runs != args.runs:
        runs += f" ({args.big_runs} of the growth run)"
    lines = [
        f"Run `make bench` (`bench/build.py {options}`): {time.strftime('%Y-%m-%d')}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start, {minutes:.1f} minutes in all. Each row is "
        f"{runs}: wall clock, and the peak sum of PSS of the process tree. The "
        "default settings plus the example custom feeds; the steps and the targets (issue "
        "12's, set at 100,000 records) are defined in bench/build.py's docstring.",
        "",
    ]
    largest = max(results, key=lambda result: result.size)
    for result in results:
        shown = (args.big, big) if big is not None and result is largest else None
        lines += size_table(result, shown)
    record("build", "Building (`make bench`)", lines[:-1], args.results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000", help="comma-separated record counts")
    parser.add_argument("--runs", type=int, default=3, help="runs of each step (the median)")
    parser.add_argument(
        "--big", type=int, default=300000, help="records of the growth run (m); 0 skips it"
    )
    parser.add_argument("--big-runs", type=int, help="runs of the growth run (default: --runs)")
    parser.add_argument(
        "--baseline", action="store_true", help="measure (c), the CSafeLoader + feedgen build"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the file to write")
    args = parser.parse_args()
    started = time.perf_counter()
    load = os.getloadavg()[0]
    results = [bench_size(int(size), args.runs, args.baseline) for size in args.sizes.split(",")]
    if args.big:  # the sizes' tables first, kept should the growth run fail
        write_results(results, None, args, load, (time.perf_counter() - started) / 60)
    big = bench_big(args.big, args.big_runs or args.runs) if args.big else None
    write_results(results, big, args, load, (time.perf_counter() - started) / 60)


if __name__ == "__main__":
    main()
