"""The socket ``feeds serve`` listens on: bound before anything is built, so that a port in use
is said at once, and so that the feeds' addresses can name the port it got (``--port 0``)."""

from __future__ import annotations

import errno
import socket

BACKLOG = 2048  # uvicorn's default
# Addresses that mean every interface: no reader can use them in a URL.
EVERY_INTERFACE = ("", "0.0.0.0", "::")


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``, as uvicorn would bind it (``SO_REUSEADDR``,
    inherited by the workers of ``--workers``). Raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    """The address readers use for a server on ``host``:``port``: the host as given, or this
    machine's name when it listens on every interface."""
    if host in EVERY_INTERFACE:
        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def why_not(error: OSError, host: str, port: int) -> str:
    """Why ``host``:``port`` cannot be listened on, and what to do about it."""
    shown = f"[{host}]" if ":" in host else host or "*"
    where = f"cannot serve on {shown}:{port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"{where}: port {port} is in use (by another server, or another feeds serve); "
            "stop it, or choose another port with --port"
        )
    if error.errno == errno.EACCES:
        return (
            f"{where}: not allowed (ports below 1024 need privileges); choose another with --port"
        )
    reason = error.strerror or str(error)
    return f"{where}: {reason}; check --host"
