"""make bench: build speed and memory at 1k, 10k and 100k records, side by side.

    python bench/build.py [--sizes 1000,10000,100000] [--runs 3] [--big 300000]

For each size, on a generated corpus (bench/corpus.py, seed 1), the median of ``--runs`` runs of:
  (a) reading every file;
  (b) parsing every file with PyYAML's CSafeLoader on every core (the floor for PyYAML);
  (c) the straightforward single-process CSafeLoader + feedgen build (bench/baseline.py);
  (d) `feeds build` cold (no cache, empty output);
  (e) `feeds build` again with nothing changed;
  (f) `feeds build` after changing 10 records;
  (g) `feeds build` after adding 1,000 records.
Time is wall clock; memory is the peak resident set of the whole process tree, sampled every
20 ms. With ``--big N`` a cold build of N records is measured too (the memory growth target).
Results go into bench/RESULTS.md between the build markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from results import record

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("FEEDS_BENCH_DIR", "/tmp/feeds-bench"))
PY = sys.executable

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


def measure(command: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak tree RSS of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command} failed with {process.returncode}")
    return seconds, peak


def median_of(
    runs: int,
    prepare: Callable[[int], None],
    command: Callable[[], list[str]],
    cwd: Path | None = None,
) -> tuple[float, int]:
    times, peaks = [], []
    for run in range(runs):
        prepare(run)
        seconds, peak = measure(command(), cwd)
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), int(statistics.median(peaks))


def corpus(size: int, seed: int = 1) -> Path:
    folder = WORK / f"corpus-{size}-{seed}"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(
            [PY, str(HERE / "corpus.py"), str(folder), str(size), "--seed", str(seed)], check=True
        )
        (folder / ".complete").touch()
    return folder


def bench_size(size: int, runs: int) -> dict[str, tuple[float, int]]:
    source = corpus(size)
    site = WORK / f"site-{size}"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(source, site / "records", ignore=shutil.ignore_patterns(".complete"))
    (site / "settings.yaml").write_text(
        "title: Bench\nrecords: records\noutput: output\nbase_url: https://example.org/feeds/\n"
    )
    records = str(site / "records")
    feeds = [PY, "-m", "feeds", "build", "-q", "--settings", str(site / "settings.yaml")]
    nothing = lambda run: None  # noqa: E731

    def cold(run: int) -> None:
        shutil.rmtree(site / "output", ignore_errors=True)
        shutil.rmtree(site / ".feeds-cache", ignore_errors=True)

    def edit(run: int) -> None:
        files = sorted((site / "records").rglob("*.txt"))
        for path in files[run * 10 : run * 10 + 10]:
            path.write_text(path.read_text().replace('excerpt: "', f'excerpt: "Edited {run}. ', 1))

    def add(run: int) -> None:
        shutil.rmtree(site / "records" / "added", ignore_errors=True)
        subprocess.run(
            [PY, "-m", "feeds", "build", "-q", "--settings", str(site / "settings.yaml")],
            check=False,
            capture_output=True,
        )
        shutil.copytree(
            corpus(1000, seed=100 + run),
            site / "records" / "added",
            ignore=shutil.ignore_patterns(".complete"),
        )

    results = {
        "a": median_of(runs, nothing, lambda: [PY, "-c", READ, records]),
        "b": median_of(runs, nothing, lambda: [PY, "-c", PARSE, records]),
        "c": median_of(
            runs,
            lambda run: shutil.rmtree(site / "baseline", ignore_errors=True),
            lambda: [PY, str(HERE / "baseline.py"), records, str(site / "baseline")],
        ),
        "d": median_of(runs, cold, lambda: feeds),
    }
    subprocess.run(feeds, check=False, capture_output=True)
    results["e"] = median_of(runs, nothing, lambda: feeds)
    results["f"] = median_of(runs, edit, lambda: feeds)
    results["g"] = median_of(runs, add, lambda: feeds)
    shutil.rmtree(site, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", type=int, default=300000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    table = {size: bench_size(size, args.runs) for size in sizes}
    big = None
    if args.big:
        source = corpus(args.big)
        site = WORK / f"site-{args.big}"
        shutil.rmtree(site, ignore_errors=True)
        site.mkdir(parents=True)
        (site / "settings.yaml").write_text(f"title: Bench\nrecords: {source}\noutput: output\n")
        big = measure([PY, "-m", "feeds", "build", "-q", "--settings", str(site / "settings.yaml")])
        shutil.rmtree(site, ignore_errors=True)
    write_results(table, big, args)


NAMES = {
    "a": "(a) read all files",
    "b": "(b) CSafeLoader parse, all cores",
    "c": "(c) CSafeLoader + feedgen, one process",
    "d": "(d) feeds build, cold",
    "e": "(e) feeds build, nothing changed",
    "f": "(f) feeds build, 10 records changed",
    "g": "(g) feeds build, 1,000 records added",
}


def write_results(
    table: dict[int, dict[str, tuple[float, int]]],
    big: tuple[float, int] | None,
    args: argparse.Namespace,
) -> None:
    sizes = sorted(table)
    lines = [
        f"Run `make bench`: {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; median of {args.runs} runs; "
        "seconds / peak memory of the process tree (sum of PSS).",
        "",
        "| step | " + " | ".join(f"{s:,} records" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for key, name in NAMES.items():
        cells = [f"{table[s][key][0]:.2f} s / {table[s][key][1] / 2**20:.0f} MB" for s in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for s in sizes:
        t = {k: v[0] for k, v in table[s].items()}
        lines.append(
            f"- {s:,} records: (d)/(b) = {t['d'] / t['b']:.2f} (target 1.15 or less), "
            f"(d)/(c) = {t['d'] / t['c']:.2f} (target 0.5 or less), (f)/(d) = {t['f'] / t['d']:.3f}."
        )
    if big is not None:
        largest = max(sizes)
        growth = big[1] / table[largest]["d"][1]
        lines.append(
            f"- {args.big:,} records, cold, one run: {big[0]:.1f} s, peak {big[1] / 2**20:.0f} MB: "
            f"{growth:.2f}x the peak at {largest:,} (target under 2x)."
        )
    record("build", "Building (`make bench`)", lines)


if __name__ == "__main__":
    main()
