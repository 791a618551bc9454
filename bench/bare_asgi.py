"""The floor for any app on uvicorn: a bare ASGI callable answering from constants.

Used by bench/serve.py to show how much of the gap to nginx is uvicorn itself. It answers the
200 with the body and headers ``feeds serve`` sends, and the 304 when If-None-Match is present.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BARE_BODY"]).read_bytes()
OK = [
    (b"content-type", b"application/rss+xml; charset=utf-8"),
    (b"last-modified", b"Thu, 20 Nov 2025 22:10:00 GMT"),
    (b"cache-control", b"public, max-age=3600"),
    (b"vary", b"Accept-Encoding"),
    (b"x-content-type-options", b"nosniff"),
    (b"access-control-allow-origin", b"*"),
    (b"etag", b'"0123456789abcdef0123456789abcdef"'),
    (b"content-length", str(len(BODY)).encode()),
]
NOT_MODIFIED = [h for h in OK if h[0] in (b"cache-control", b"vary", b"etag")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if any(name == b"if-none-match" for name, _ in scope["headers"]):
        await send({"type": "http.response.start", "status": 304, "headers": NOT_MODIFIED})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": OK})
        await send({"type": "http.response.body", "body": BODY})
