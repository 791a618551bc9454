"""A real S3 API on a free loopback port (moto's standalone server), started by the tests, and
an HTTP proxy in front of it that refuses chosen requests the way a store under trouble does."""

from __future__ import annotations

import http.client
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.hub import serving
from tests.live import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    url: str
    names: Iterator[int] = field(default_factory=itertools.count)

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """What the ``feeds`` command needs to reach this store (or ``endpoint`` in front of it)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint or self.url}

    def client(self) -> Any:
        import boto3

        return boto3.session.Session(**_session_args()).client("s3", endpoint_url=self.url)

    def bucket(self) -> str:
        name = f"feeds-{next(self.names)}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        client = self.client()
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for item in page.get("Contents", [])
        ]
        return {
            key[len(prefix) :]: client.get_object(Bucket=bucket, Key=key)["Body"].read()
            for key in keys
        }


def _session_args() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


@contextmanager
def running_s3(log: Path) -> Iterator[S3Server]:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"moto server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Proxy:
    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(method, path) of every request, in the order they arrived."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def puts(self) -> list[str]:
        with self.lock:
            return [path for method, path in self.requests if method == "PUT"]


@contextmanager
def s3_proxy(
    target: str, refuse: Callable[[str, str], bool] = lambda m, p: False
) -> Iterator[Proxy]:
    """Forwards every request to ``target``, except those ``refuse(method, path)`` picks: they
    get ``503 SlowDown``, which S3 sends when it cannot take more requests."""
    upstream = urlsplit(target)
    proxy = Proxy("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            path = urlsplit(self.path).path
            with proxy.lock:
                proxy.requests.append((self.command, path))
            if refuse(self.command, path):
                error = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)
                return
            connection = http.client.HTTPConnection(upstream.netloc, timeout=30)
            # Headers go as they came: the request is signed over them, Host included.
            headers = dict(self.headers.items())
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as url:
        proxy.url = url
        yield proxy
