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
BOUNDED = "feeds.protocol:BoundedHttpTools"
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

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.head_bytes = 0
            self.in_head = True  # a connection starts with a request head

        def data_received(self, data: bytes) -> None:
            if self.in_head:
                self.head_bytes += len(data)
            super().data_received(data)
            # Checked after parsing: a head and its body may arrive in one read.
            if self.in_head and self.head_bytes > MAX_HEAD and not self.transport.is_closing():
                log.warning("request head over %d bytes from %s: 431", MAX_HEAD, self.client)
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"content-type: text/plain; charset=utf-8\r\n"
                    b"content-length: %d\r\n"
                    b"connection: close\r\n\r\n%s" % (len(TOO_LARGE), TOO_LARGE)
                )
                self.transport.close()

        def on_headers_complete(self) -> None:
            self.in_head = False
            self.head_bytes = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.in_head = True  # the next request on this connection
            super().on_message_complete()
