"""bench-serve: feeds serve (one uvicorn worker) against nginx (one worker), same files, wrk;
then feeds serve while it rebuilds, and feeds serve at scale.

    python bench/serve.py [--records N] [--duration S] [--rebuild-records N] [--scale N,N]
                          [--only compare,rebuild,scale]

1. compare: builds a generated corpus, picks the feed closest to 60 KB, and measures
   requests/s and p99 latency for a 200 (identity) and a 304 (If-None-Match) from each server,
   side by side in one run (the serve markers of bench/RESULTS.md).
2. rebuild: feeds serve (one worker, watching) on ``--rebuild-records`` records, the same
   feed: 200s idle, then 200s while three records are edited again each time the previous
   rebuild is served, so that the server rebuilds for the whole run (serve-rebuild markers).
3. scale: for each ``--scale`` size, feeds serve's cold start, warm start (a restart: the
   build cache and served folder of the first run), edit-to-visible (one record edited, two
   seconds after the last build, until /healthz counts the new build; median of 3), and the
   PSS of its process tree, idle and at its peak during the edits (serve-scale markers).

Needs wrk and nginx (the Makefile target installs Debian's packages); binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from results import record

HERE = Path(__file__).resolve().parent
PY = sys.executable
# bench/build.py: the generated corpora and the PSS of a process tree. Not an import statement:
# whether isort calls `build` first-party depends on a build/ folder beside pyproject.toml.
bench_build = importlib.import_module("build")
ROOT = HERE.parent
NGINX_CONF = """\
worker_processes 1;
daemon off;
error_log {prefix}/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    root {root};
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def head(url: str) -> dict[str, str]:
    request = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        return {k.lower(): v for k, v in response.getheaders()}


def wrk(url: str, duration: int, repeat: int, *headers: str) -> tuple[float, str]:
    """Median requests/s and median p99 over ``repeat`` runs."""
    args = ["wrk", "-t1", "-c32", f"-d{duration}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    rates, p99s = [], []
    for _ in range(repeat):
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))  # type: ignore[union-attr]
        p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert p99 is not None, out
        p99s.append(float(p99.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)])
    return statistics.median(rates), f"{statistics.median(p99s):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild-records", type=int, default=5000)
    parser.add_argument("--scale", default="5000,20000")
    parser.add_argument("--only", default="compare,rebuild,scale")
    args = parser.parse_args()
    steps = args.only.split(",")
    if "compare" in steps:
        compare(args)
    if "rebuild" in steps:
        rebuilding(args)
    if "scale" in steps:
        lines = [scale(int(size)) for size in args.scale.split(",")]
        record("serve-scale", "Serving at scale (`make bench-serve`)", scale_table(lines))


def compare(args: argparse.Namespace) -> None:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path("/usr/sbin/nginx").exists():
            raise SystemExit(f"{tool} is not installed (make bench-serve installs it)")
    work = Path(tempfile.mkdtemp(prefix="feeds-bench-serve-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user
    subprocess.run(
        [sys.executable, str(HERE / "corpus.py"), str(work / "records"), str(args.records)],
        check=True,
    )
    settings = work / "settings.yaml"
    settings.write_text(
        "title: Bench\nrecords: records\noutput: output\nbase_url: http://127.0.0.1/\n"
    )
    subprocess.run(
        [sys.executable, "-m", "feeds", "build", "-q", "--settings", str(settings)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    output = work / "output"
    feeds = [p for p in output.rglob("*") if p.suffix in {".rss", ".atom", ".json"}]
    target = min(feeds, key=lambda p: abs(p.stat().st_size - 60_000))
    path = "/" + target.relative_to(output).as_posix()
    size = target.stat().st_size

    app_port, nginx_port, bare_port = free_port(), free_port(), free_port()
    prefix = work / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(
        NGINX_CONF.format(prefix=prefix, port=nginx_port, root=output)
    )
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    servers = [
        subprocess.Popen(
            [nginx_bin, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "feeds",
                "serve",
                "--settings",
                str(settings),
                "--port",
                str(app_port),
                "--no-watch",
                "--no-access-log",
            ],
            stderr=subprocess.DEVNULL,
            cwd=work,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(HERE),
                "bare_asgi:app",
                "--port",
                str(bare_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env={**os.environ, "BARE_BODY": str(target)},
        ),
    ]
    rows = []
    try:
        measured = (
            ("nginx", nginx_port),
            ("feeds serve", app_port),
            ("bare ASGI app on uvicorn (floor)", bare_port),
        )
        for name, port in measured:
            url = f"http://127.0.0.1:{port}{path}"
            wait_for(url)
            etag = head(url)["etag"]
            ok = wrk(url, args.duration, args.repeat)
            not_modified = wrk(url, args.duration, args.repeat, f"If-None-Match: {etag}")
            rows.append((name, ok, not_modified))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    (_, nginx_ok, nginx_304), (_, app_ok, app_304), (_, bare_ok, bare_304) = rows
    table = [
        f"Run `make bench-serve`: {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"Python {platform.python_version()}, {args.records} generated records, feed `{path}` ({size:,} bytes), "
        f"wrk -t1 -c32 -d{args.duration}s on 127.0.0.1, median of {args.repeat} runs, "
        "one worker each, access logs off.",
        "",
        "| server | 200 req/s | 200 p99 | 304 req/s | 304 p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (ok_rate, ok_p99), (nm_rate, nm_p99) in rows:
        table.append(f"| {name} | {ok_rate:,.0f} | {ok_p99} | {nm_rate:,.0f} | {nm_p99} |")
    table += [
        "",
        f"nginx / feeds serve: 200 {nginx_ok[0] / app_ok[0]:.2f}x (target 3x or less), "
        f"304 {nginx_304[0] / app_304[0]:.2f}x (target 2x or less). "
        f"uvicorn itself, with nothing but constants to send, reaches {bare_ok[0] / app_ok[0]:.2f}x "
        f"and {bare_304[0] / app_304[0]:.2f}x of feeds serve: nginx / bare uvicorn is "
        f"{nginx_ok[0] / bare_ok[0]:.2f}x and {nginx_304[0] / bare_304[0]:.2f}x.",
    ]
    record("serve", "Serving (`make bench-serve`)", table)


SETTINGS = "title: Bench\nrecords: records\noutput: output\nbase_url: http://127.0.0.1/\n"


def site(size: int) -> Path:
    """A fresh site of ``size`` generated records (copied: the benchmark edits them)."""
    work = Path(tempfile.mkdtemp(prefix="feeds-bench-serve-"))
    shutil.copytree(
        bench_build.corpus(size), work / "records", ignore=shutil.ignore_patterns(".complete")
    )
    (work / "settings.yaml").write_text(SETTINGS)
    return work


def start(work: Path, port: int, *options: str) -> subprocess.Popen[bytes]:
    command = [PY, "-m", "feeds", "serve", "--settings", "settings.yaml", "--no-access-log"]
    return subprocess.Popen(
        [*command, "--port", str(port), *options],
        stderr=(work / "serve.log").open("ab"),
        cwd=work,
    )


def health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            data: dict[str, object] = json.load(response)
            return data
    except OSError:
        return None


def started(work: Path, port: int, *options: str) -> tuple[subprocess.Popen[bytes], float]:
    """A server and the seconds until it served (its first build done)."""
    begun = time.perf_counter()
    server = start(work, port, *options)
    while health(port) is None:
        if server.poll() is not None:
            raise SystemExit(f"feeds serve stopped: {(work / 'serve.log').read_text()}")
        time.sleep(0.02)
    return server, time.perf_counter() - begun


def edit(work: Path, serial: int, count: int) -> None:
    """Edit ``count`` records (their excerpt), each written beside and moved in."""
    files = sorted((work / "records").rglob("*.txt"))
    for n in range(count):
        path = files[(serial * count + n) * 7919 % len(files)]
        text = path.read_text().replace('excerpt: "', f'excerpt: "Edited {serial}. ', 1)
        draft = work / "draft.txt"
        draft.write_text(text)
        os.replace(draft, path)


def builds(port: int) -> int:
    report = health(port)
    return int(report["builds"]) if report else -1  # type: ignore[call-overload]


def edited_until_visible(
    work: Path, port: int, serial: int, count: int, watch: subprocess.Popen[bytes] | None = None
) -> tuple[float, int]:
    """Edit ``count`` records; the seconds until the server serves the build that has them,
    and the peak PSS of the server's process tree meanwhile."""
    before = builds(port)
    begun = time.perf_counter()
    edit(work, serial, count)
    peak = 0
    while builds(port) <= before:
        if watch is not None:
            peak = max(peak, bench_build.tree_rss(watch.pid))
        time.sleep(0.02)
        if time.perf_counter() - begun > 300:
            raise SystemExit(f"no rebuild: {(work / 'serve.log').read_text()}")
    return time.perf_counter() - begun, peak


def rebuilding(args: argparse.Namespace) -> None:
    """Requests/s and p99 of feeds serve, idle and while it rebuilds without pause."""
    work = site(args.rebuild_records)
    port = free_port()
    # Which feed: from a build of the same records (any version of feeds serve can be measured,
    # PYTHONPATH choosing it).
    build = [PY, "-m", "feeds", "build", "-q", "--settings", "settings.yaml", "--no-cache"]
    subprocess.run(build, cwd=work, check=True, stderr=subprocess.DEVNULL)
    output = work / "output"
    feeds = [p for p in output.rglob("*") if p.suffix in {".rss", ".atom", ".json"}]
    target = min(feeds, key=lambda p: abs(p.stat().st_size - 60_000))
    url = f"http://127.0.0.1:{port}/" + target.relative_to(output).as_posix()
    server, _ = started(work, port)
    try:
        idle, busy = [], []
        times: list[float] = []
        for run in range(args.repeat):  # idle and rebuilding in turns: the same noise in both
            idle.append(wrk(url, args.duration, 1))
            stop = threading.Event()

            def keep_rebuilding(run: int = run, stop: threading.Event = stop) -> None:
                serial = 0
                while not stop.is_set():
                    seconds, _ = edited_until_visible(work, port, run * 1000 + serial, 3)
                    times.append(seconds)
                    serial += 1

            edits = threading.Thread(target=keep_rebuilding)
            edits.start()
            time.sleep(0.3)  # the first rebuild is under way
            busy.append(wrk(url, args.duration, 1))
            stop.set()
            edits.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    idle_rate = statistics.median(rate for rate, _ in idle)
    busy_rate = statistics.median(rate for rate, _ in busy)
    idle_p99 = statistics.median(float(p99.split()[0]) for _, p99 in idle)
    busy_p99 = statistics.median(float(p99.split()[0]) for _, p99 in busy)
    lines = [
        f"Run `make bench-serve`: {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.rebuild_records:,} generated records, one worker, the feed "
        f"`{url.split('/', 3)[3]}` without compression, wrk -t1 -c32 -d{args.duration}s, "
        f"median of {args.repeat} runs. During: three records edited again as soon as the "
        f"previous edit is served, {len(times)} rebuilds in all, each edit served after "
        f"{statistics.median(times):.2f} s (median).",
        "",
        "| feeds serve | 200 req/s | 200 p99 |",
        "|---|---:|---:|",
        f"| idle | {idle_rate:,.0f} | {idle_p99:.2f} ms |",
        f"| while rebuilding | {busy_rate:,.0f} | {busy_p99:.2f} ms |",
        "",
        f"While rebuilding: throughput {busy_rate / idle_rate:.2f}x of idle (target over 0.8x), "
        f"p99 {busy_p99 / idle_p99:.2f}x of idle (target under 2x).",
    ]
    record("serve-rebuild", "Serving while it rebuilds (`make bench-serve`)", lines)


def scale(size: int) -> tuple[int, float, float, float, int, int, int]:
    """(records, cold start, warm start, edit-to-visible, documents, idle PSS, peak PSS)."""
    work = site(size)
    port = free_port()
    try:
        server, cold = started(work, port)
        server.terminate()
        server.wait(timeout=60)
        server, warm = started(work, port)
        time.sleep(2)  # the spare build process is started after the first build
        idle = bench_build.tree_rss(server.pid)
        edits = []
        for serial in range(3):
            time.sleep(2)  # an edit of its own: the spare build process is ready
            edits.append(edited_until_visible(work, port, serial, 1, server))
        report = health(port) or {}
        server.terminate()
        server.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    visible = statistics.median(seconds for seconds, _ in edits)
    peak = max(max(pss for _, pss in edits), idle)
    documents = int(report.get("documents", 0))  # type: ignore[call-overload]
    return size, cold, warm, visible, documents, idle, peak


def scale_table(rows: list[tuple[int, float, float, float, int, int, int]]) -> list[str]:
    lines = [
        f"Run `make bench-serve`: {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; one run each; PSS of the "
        "server's process tree (the server, its build process and the spare).",
        "",
        "| records | documents | cold start | warm start | one edit served | PSS idle "
        "| PSS peak (edits) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, cold, warm, visible, documents, idle, peak in rows:
        lines.append(
            f"| {size:,} | {documents:,} | {cold:.1f} s | {warm:.2f} s | {visible:.2f} s "
            f"| {idle / 1e6:.0f} MB | {peak / 1e6:.0f} MB |"
        )
    return lines


if __name__ == "__main__":
    main()
