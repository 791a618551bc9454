"""Real WebSub hub endpoints on free loopback ports, started and stopped by a test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Publish:
    content_type: str
    form: dict[str, list[str]]


@dataclass
class Hub:
    """What the hub received; it answers with ``statuses`` in turn, then 204 for ever."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[Publish] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def urls(self) -> list[str]:
        """The ``hub.url`` of every request, sorted."""
        with self.lock:
            return sorted(url for p in self.received for url in p.form.get("hub.url", []))

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


@contextmanager
def running_hub(*statuses: int) -> Iterator[Hub]:
    hub = Hub(statuses=list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode("ascii"), strict_parsing=True)
            with hub.lock:
                hub.received.append(Publish(self.headers.get("Content-Type", ""), form))
                status = hub.statuses.pop(0) if hub.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        hub.url = url + "/hub"
        yield hub


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served from a thread on a free loopback port, at the URL this yields."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_hub() -> Iterator[str]:
    """A hub URL whose port accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hub"
