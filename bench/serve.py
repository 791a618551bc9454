"""bench-serve: feeds serve (one uvicorn worker) against nginx (one worker), same files, wrk.

    python bench/serve.py [--records N] [--duration S]

Builds a generated corpus, picks the feed closest to 60 KB, and measures requests/s and p99
latency for a 200 (identity) and a 304 (If-None-Match) from each server, side by side in one run.
Writes the table into bench/RESULTS.md between the serve markers. Needs wrk and nginx (the
Makefile target installs Debian's packages); binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from results import record

HERE = Path(__file__).resolve().parent
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
