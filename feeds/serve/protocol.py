"""The HTTP/1.1 protocol of ``feeds serve``: uvicorn's httptools protocol with a bound on the
size of a request head.

httptools, which uvicorn picks when it is installed (``uvicorn[standard]``), reads a request
head of any size into memory: a client sending hundreds of MB of header lines costs that much.
This protocol counts the bytes of each head and answers 431 and closes the connection past
:data:`MAX_HEAD`. Without httptools, uvicorn's h11 protocol is used with the same bound
(``h11_max_incomplete_event_size``), which it answers with 400 and a close.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

# Request line and headers together. Feed readers send a few hundred bytes; nginx's default
# buffers allow 32 KB; a few tens of KB leave room for cookies of a shared domain.
MAX_HEAD = 64 * 1024
BOUNDED = "feeds.serve.protocol:BoundedHttpTools"
TOO_LARGE = b"Request Header Fields Too Large\n"
log = logging.getLogger("uvicorn.error")


def uvicorn_options() -> dict[str, Any]:
    """What ``uvicorn.run`` needs so that no request head exceeds :data:`MAX_HEAD`."""
    http = BOUNDED if importlib.util.find_spec("httptools") else "h11"
    return {"http": http, "h11_max_incomplete_event_size": MAX_HEAD}


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # no httptools: uvicorn_options() names h11
    pass
else:

    class BoundedHttpTools(HttpToolsProtocol):
        """httptools, answering 431 to a request head over :data:`MAX_HEAD` bytes."""

        # Bytes of the head in progress so far (of the reads since it began, when in doubt).
        head_bytes = 0

        def data_received(self, data: bytes) -> None:
            if self.head_bytes + len(data) > MAX_HEAD and self._too_large(data):
                self._refuse()
                return
            begun = self.scope
            HttpToolsProtocol.data_received(self, data)
            # The parser sets the scope's method when a head is complete, and starts a new
            # scope without one at the first byte of the next: no parser callback is wrapped,
            # which would cost every request a Python call.
            scope = self.scope
            if scope is None or "method" not in scope:
                end = data.rfind(b"\r\n\r\n") if scope is not begun else -1
                # A head begun in this read after another one ended: only its own bytes.
                self.head_bytes = len(data) - end - 4 if end >= 0 else self.head_bytes + len(data)
            elif self.head_bytes + len(data) > MAX_HEAD and _head_size(scope) > MAX_HEAD:
                self._refuse()  # a later head of a read that held several, over the bound
            else:
                self.head_bytes = 0

        def _too_large(self, data: bytes) -> bool:
            """Whether the head in progress, which ends at the read's first blank line, or the
            next one if none is in progress, is over the bound."""
            if self.head_bytes and data[:1] in (b"\r", b"\n"):
                return False  # may end a head whose blank line began in the previous read
            end = data.find(b"\r\n\r\n")
            return end < 0 or self.head_bytes + end + 4 > MAX_HEAD

        def _refuse(self) -> None:
            if self.transport.is_closing():
                return
            log.warning("request head over %d bytes from %s: 431", MAX_HEAD, self.client)
            for cycle in (self.cycle, *(cycle for cycle, _ in self.pipeline)):
                if cycle is not None:
                    cycle.disconnected = True  # the app, if it was given the head, sends nothing
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\n"
                b"connection: close\r\n\r\n%s" % (len(TOO_LARGE), TOO_LARGE)
            )
            self.transport.close()

    def _head_size(scope: Any) -> int:
        size = len(scope["raw_path"]) + len(scope["query_string"])
        return size + sum(len(name) + len(value) + 4 for name, value in scope["headers"])
