"""URL checks, resolution and article identity.

Only absolute http(s) URLs are published. Everything that reaches a feed went through
:func:`clean_url`, so renderers can put a URL in an attribute without second-guessing it.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

_SCHEMES = {"http": 80, "https": 443}
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*\.?$")
# RFC 3986 pchar (sub-delims, ":" and "@") plus "/" for paths and "?" for queries and fragments;
# "%" is kept because stray percent signs were escaped first.
_PATH_SAFE = "/:@!$&'()*+,;=%"
_QUERY_SAFE = _PATH_SAFE + "?"

_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".ico": "image/vnd.microsoft.icon",
    ".heic": "image/heic",
    ".jxl": "image/jxl",
}
DEFAULT_IMAGE_TYPE = "image/jpeg"


# A URL already in the form clean_url returns: lower-case scheme and host, no port, a path, and
# only characters that need no escaping. Most URLs in records are; they skip the parsing below.
_CLEAN = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*"
    r"(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})+)?"
    r"(?:#(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-F]{2})+)?"
)


_SIMPLE = re.compile(r"https?://([^?#]*)")


def clean_url(value: str, base: str | None = None) -> str | None:
    """Return ``value`` as an absolute, percent-encoded http(s) URL, or None if it is not one.

    A relative reference is resolved against ``base``. Other schemes (``javascript:``,
    ``data:``, ``ftp:``...), URLs with credentials, bad hosts or ports give None. Spaces and
    non-ASCII characters are percent-encoded; a non-ASCII host becomes its IDNA form.
    """
    if _CLEAN.fullmatch(value):
        return value
    return _clean_slowly(value, base)


def _clean_slowly(value: str, base: str | None) -> str | None:
    value = value.strip().replace("\t", "").replace("\n", "").replace("\r", "")
    if not value or _BAD_CHARS.search(value):
        return None
    try:
        if base is not None:
            value = urljoin(base, value)
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in _SCHEMES or parts.username is not None or parts.password is not None:
        return None
    host = _clean_host(parts.hostname or "")
    if host is None:
        return None
    netloc = host if port in (None, _SCHEMES[scheme]) else f"{host}:{port}"
    path = _encode(parts.path or "/", _PATH_SAFE)
    query = _encode(parts.query, _QUERY_SAFE)
    fragment = _encode(parts.fragment, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, fragment))


def _clean_host(host: str) -> str | None:
    if ":" in host:  # an IPv6 literal; urlsplit already checked its brackets
        return f"[{host}]"
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return host if _HOST.match(host) else None


def _encode(part: str, safe: str) -> str:
    part = _STRAY_PERCENT.sub("%25", part)
    part = quote(part, safe=safe)
    return _ESCAPE.sub(lambda m: m.group(0).upper(), part)


def canonical_key(url: str) -> str:
    """The part of a clean URL that names the article.

    http and https, a trailing slash, ``utm_*`` parameters, the order of the other parameters
    and the fragment do not change which article a URL names.
    """
    match = _SIMPLE.fullmatch(url)
    if match is not None:  # no query, no fragment: the common case, without urlsplit
        return match.group(1).rstrip("/")
    return _canonical_slowly(url)


def _canonical_slowly(url: str) -> str:
    parts = urlsplit(url)
    params = sorted(
        p for p in parts.query.split("&") if p and not p.split("=", 1)[0].lower().startswith("utm_")
    )
    path = parts.path.rstrip("/")
    query = "&".join(params)
    return f"{parts.netloc}{path}" + (f"?{query}" if query else "")


def article_id(url: str) -> str:
    """A stable, opaque entry id (``urn:uuid:...``, a UUID 5) for the article at ``url``."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, canonical_key(url))}"


# The path of a URL with a plain host, as clean_url leaves nearly every one, found without
# urlsplit (several times faster). Anything else (a port, an IPv6 host, white space that urlsplit
# removes) takes urlsplit.
_PLAIN_PATH = re.compile(r"https?://[a-z0-9.-]+(/[^?#\t\r\n]*)?(?=[?#]|\Z)")


def image_type(url: str) -> str:
    """The image's media type from its URL's extension; JPEG, the commonest, when unknown."""
    plain = _PLAIN_PATH.match(url)
    path = ((plain.group(1) or "") if plain else urlsplit(url).path).lower()
    dot = path.rfind(".")
    return _IMAGE_TYPES.get(path[dot:], DEFAULT_IMAGE_TYPE) if dot != -1 else DEFAULT_IMAGE_TYPE


def domain_of(value: str) -> str | None:
    """A provider's domain as a bare lower-case host (``technologyreview.com``), if it is one.

    Authors write ``www.example.com``, ``example.com/`` or ``https://example.com``; all are the
    same provider.
    """
    value = value.strip()
    if not value:
        return None
    url = clean_url(value if "://" in value else f"https://{value}/")
    if url is None:
        return None
    host = url.split("/", 3)[2]
    return host.removeprefix("www.") or None
