"""YAML for records: plain strings, lists and dicts from one document, and nothing else.

Two loaders give the same values. :func:`load_reference` is libyaml's composer through PyYAML,
with no resolver: the reference, and the only one whose errors are ever shown. :func:`load_fast`
is rapidyaml (``ryml``), about twice as fast, for the documents it is sure to read the same way;
for any other it returns ``None`` without a word. :func:`load_yaml` tries the fast one first.
Where ``ryml`` cannot be imported (no wheel for the platform, another version than 0.15) or C's
``stderr`` cannot be silenced around it (anything but glibc), every document takes the reference.

The fast path parses with ryml, has ryml emit the tree as JSON and reads that with
``json.loads``, getting every number back as its text. ``tests/test_yaml.py`` compares the two
loaders on generated documents, the seed, a generated corpus and edge cases. The fast path hands
the document to the reference wherever the two could differ:

- a byte that libyaml refuses or reads as a line break where ryml does not (control characters,
  tab, CR, DEL, C1, NEL, LS, PS, a BOM, U+FFFE, U+FFFF);
- a backslash escape other than ``\\\\`` and ``\\"`` (ryml takes ``"\\ud800"``);
- a block scalar (``|``, ``>``): ryml takes any text after the header, and chomps differently
  at the end of the text; a complex key (``?``);
- a flow collection other than ``[]`` and ``{}``, a quoted key, a directive or a document
  marker (``%``, ``---``, ``...`` starting a line: ryml reads on after ``...``), a line of more
  than 1000 bytes (libyaml refuses a key of more than 1024 characters), and anything after a
  closing quote or bracket on its line that could be a node (ryml reads ``- "a" - b`` as two
  items, libyaml refuses it);
- anchors, aliases and tags (where ``&``, ``*`` or ``!`` could start one, ryml's tree is asked):
  ryml takes a second anchor of the same name, and the JSON would hold an alias as ``"*a"``;
- a ryml error, a document that is not one mapping, one nested deeper than 64 levels (ryml's
  JSON emitter refuses it);
- what the JSON emitter rewrites: ``.nan``, ``.inf`` and their spellings (to ``".nan"``...),
  ``.5`` and ``5.`` (to ``0.5``, ``5.0``: any number text that could be such a rewrite), and
  ``null``, which is both ``null`` and an empty value (``true`` and ``false`` become the texts
  ``"true"`` and ``"false"``);
- an empty key, a key or value that starts with an indicator (``@``, a backquote, ``%``,
  ``}``...: libyaml refuses them as plain scalars, ryml does not), or with a space (ryml reads a
  line indented too far after an indentless list as a key with spaces in front).

A duplicate key stays on the fast path: ``json.loads`` keeps the first key's place and the last
value, as :func:`_build` does.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import re
from collections.abc import Callable
from typing import Any, Protocol, cast

import yaml
from yaml.nodes import ScalarNode, SequenceNode

__all__ = ["FAST_PATH", "load_fast", "load_reference", "load_yaml"]


def load_yaml(text: str) -> Any:
    """Plain strings, lists and dicts from one YAML document, and nothing else.

    No implicit typing (``title: no`` is the text "no", ``title: 1.10`` stays "1.10", an
    unquoted time is not a naive datetime), no tags (``!!python/...`` builds nothing), no merge
    keys; the caller types the few fields it reads itself. Raises :class:`yaml.YAMLError` (or
    :class:`RecursionError`) as :func:`load_reference` does.
    """
    fields = load_fast(text)
    return load_reference(text) if fields is None else fields


class _Composer(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    """libyaml's parser and composer, and no resolver: tags are never looked at."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        return ""


def load_reference(text: str) -> Any:
    """:func:`load_yaml` through libyaml alone.

    Building the objects from libyaml's nodes directly is 2.5 times faster than PyYAML's safe
    loader, and aliases stay shared, so an alias bomb costs nothing.
    """
    composer = _Composer(text)
    try:
        node = composer.get_single_node()
    finally:
        composer.dispose()
    return None if node is None else _build(node, {})


def _build(node: Any, built: dict[int, Any]) -> Any:
    if isinstance(node, ScalarNode):
        return node.value
    known = built.get(id(node))
    if known is not None:
        return known
    if isinstance(node, SequenceNode):
        items: list[Any] = []
        built[id(node)] = items
        items.extend(_build(item, built) for item in node.value)
        return items
    mapping: dict[Any, Any] = {}
    built[id(node)] = mapping
    for key, value in node.value:
        key = _build(key, built)
        if not isinstance(key, str):
            raise yaml.YAMLError(f"a mapping key must be text, not {type(key).__name__}")
        mapping[key] = _build(value, built)
    return mapping


# What this module uses of ryml 0.15, which has no type stubs.
class _Tree(Protocol):
    def root_id(self) -> int: ...
    def is_map(self, node: int) -> bool: ...
    def size(self) -> int: ...
    def type_has_any(self, node: int, bits: int) -> bool: ...


class _Ryml(Protocol):
    Tree: Callable[[], _Tree]
    ExceptionBasic: type[Exception]
    KEYREF: int
    VALREF: int
    KEYANCH: int
    VALANCH: int
    KEYTAG: int
    VALTAG: int
    version_tuple: tuple[int | str, ...]

    def parse_csubstr(self, text: bytes, tree: _Tree) -> None: ...
    def emit_json_to_substr(self, tree: _Tree, node: int, buf: bytearray) -> list[Any]: ...


def _import_ryml() -> _Ryml | None:
    try:
        module = cast(_Ryml, importlib.import_module("ryml"))
    except ImportError:
        return None
    # The rules above hold for what 0.15's parser accepts and its JSON emitter writes.
    return module if tuple(module.version_tuple[:2]) == (0, 15) else None


class _Silence:
    """Points C's ``stderr`` at /dev/null while ryml runs: ryml prints every error it raises there
    (with its C++ source line), and its errors are not ours to show. Only the ``FILE *`` moves,
    not file descriptor 2, which Python writes to: no log line of another thread is lost while
    ryml runs. glibc only (elsewhere ``stderr`` may be read-only or have another name)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        self.pointer = ctypes.c_void_p.in_dll(libc, "stderr")
        fopen = libc.fopen
        fopen.restype = ctypes.c_void_p
        fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        self.real = self.pointer.value
        self.null = fopen(os.devnull.encode(), b"w")
        if not self.real or not self.null:
            raise OSError("no stderr to silence")


def _silence() -> _Silence | None:
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        return _Silence()
    except (AttributeError, OSError, ValueError):
        return None


_RYML = _import_ryml()
_SILENCE = _silence() if _RYML is not None else None
FAST_PATH = _RYML is not None and _SILENCE is not None
"""Whether :func:`load_yaml` can take the fast path on this machine."""

# Bytes that libyaml and ryml read alike: LF, printable ASCII, and UTF-8 (checked below).
_PLAIN_BYTES = bytes([10, *range(32, 127), *range(128, 256)])
# The searches below start with a literal byte or two, which ``re`` skips to quickly (unlike a
# set or an alternative); each runs only where a one-byte ``in`` (memchr) finds its first byte.
_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # C1 controls and NEL
_SEPARATORS = re.compile(rb"\xe2\x80[\xa8\xa9]")  # LS, PS
_NONCHARACTERS = re.compile(rb"\xef(?:\xbb\xbf|\xbf[\xbe\xbf])")  # BOM, U+FFFE, U+FFFF
_ESCAPE = re.compile(rb'\\[^"]')  # once the escaped backslashes are gone
_LINE_START = re.compile(rb"\n(?:%|---|\.\.\.)")  # a directive, a document's start or end
# After a quote: a quoted key (``"k":``), or a space and then what could be an entry (``- x``) or
# a key (``k: v``) on the same line: ryml reads ``- "a" - b`` as two items, libyaml refuses it.
_AFTER_QUOTE = tuple(
    (quote, re.compile(quote + rb"(?::| +(?:-(?: |\n|$)|[^\n]*?:(?: |\n|$)))"))
    for quote in (b'"', b"'")
)
# A flow collection: one that is not empty, and anything after an empty one as after a quote.
_FLOW = tuple(
    (
        open_,
        re.compile(re.escape(open_) + rb"(?!" + re.escape(close) + rb")"),
        re.compile(re.escape(open_ + close) + rb" +(?:-(?: |\n|$)|[^\n]*?:(?: |\n|$))"),
    )
    for open_, close in ((b"[", b"]"), (b"{", b"}"))
)
# A line of more than 1000 bytes: libyaml refuses a key of more than 1024 characters.
_LONG_LINE = re.compile(rb"\n[^\n]{1000}")
# In the emitted JSON, every string is a key or a value and starts after a space: one that starts
# with an indicator (libyaml refuses those as plain scalars: ``@x``, ``}``, ``- x``) or a space
# (ryml reads a line indented too far after an indentless list as a key `` k``), an empty key,
# and what the emitter rewrote (``.NaN``, ``.Inf``, ``-.inf``... as ``".nan"``...).
_ODD_STRING = re.compile(rb""" "(?:[ ,\[\]{}#&*!|>'%@`?:]|-(?:[ "]|\.inf")|\.(?:inf|nan)"|": )""")
# Every mapping and list in the JSON is written a line an item (a flow one is empty), and a string
# never holds a line break: ``true`` before a line break is a value, never a string's text.
_NULL = re.compile(rb"null,?\n")  # an empty value or ``null``: which one, the JSON cannot tell
_TRUE = re.compile(rb"true,?\n")
_FALSE = re.compile(rb"false,?\n")


class _Unsure(Exception):
    """The fast path cannot be sure of the reference's value."""


def load_fast(text: str) -> dict[str, Any] | None:
    """:func:`load_yaml`'s value through ryml, or ``None`` where it might differ from libyaml's
    (the reference then decides, and gives any error)."""
    if _RYML is None or _SILENCE is None:
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if not _plain(data):
        return None
    ryml = _RYML
    tree = ryml.Tree()
    buf = bytearray(2 * len(data) + 256)
    _SILENCE.pointer.value = _SILENCE.null
    try:
        ryml.parse_csubstr(data, tree)
        root = tree.root_id()
        if not tree.is_map(root):  # a stream of documents, a scalar, a list, nothing
            return None
        failed, size = ryml.emit_json_to_substr(tree, root, buf)
        if failed:
            buf = bytearray(size)
            failed, size = ryml.emit_json_to_substr(tree, root, buf)
    except (ryml.ExceptionBasic, RuntimeError):
        return None
    finally:
        _SILENCE.pointer.value = _SILENCE.real
    if failed or (_properties(data) and _has_properties(tree)):
        return None
    emitted = bytes(buf[:size])
    if _ODD_STRING.search(emitted) or _NULL.search(emitted):
        return None
    if _TRUE.search(emitted):
        emitted = emitted.replace(b"true,\n", b'"true",\n').replace(b"true\n", b'"true"\n')
    if _FALSE.search(emitted):
        emitted = emitted.replace(b"false,\n", b'"false",\n').replace(b"false\n", b'"false"\n')
    try:
        fields: dict[str, Any] = json.loads(
            emitted, parse_int=str, parse_float=_float, parse_constant=_constant
        )
    except (_Unsure, ValueError, RecursionError):
        return None
    return fields


def _plain(data: bytes) -> bool:
    """Whether ``data`` holds nothing that the checks after ryml would not see (module doc)."""
    if data.translate(None, _PLAIN_BYTES):
        return False
    if not data.isascii() and (
        (b"\xc2" in data and _C1.search(data))
        or (b"\xe2" in data and _SEPARATORS.search(data))
        or (b"\xef" in data and _NONCHARACTERS.search(data))
    ):
        return False
    if b"\\" in data and _ESCAPE.search(data.replace(b"\\\\", b"")):
        return False
    if data[:1] == b"%" or data[:3] in (b"---", b"...") or _LINE_START.search(data):
        return False
    if any(
        open_ in data and (full.search(data) or after.search(data)) for open_, full, after in _FLOW
    ):
        return False
    if len(data) > 1000 and (data.find(b"\n", 0, 1000) < 0 or _LONG_LINE.search(data)):
        return False
    if any(quote in data and after.search(data) for quote, after in _AFTER_QUOTE):
        return False
    return not any(_node_start(data, char) for char in (b"|", b">", b"?"))


def _node_start(data: bytes, char: bytes) -> bool:
    """Whether ``char`` stands where a node starts: first on its line but for spaces, or after
    ``:``, ``-`` or ``?`` and spaces. There ``|`` and ``>`` start a block scalar, ``?`` a
    complex key (ryml takes ``? k`` and ``:v`` on the next line)."""
    at = data.find(char)
    while at >= 0:
        before = data[data.rfind(b"\n", 0, at) + 1 : at].rstrip(b" ")
        if not before or before[-1:] in (b":", b"-", b"?"):
            return True
        at = data.find(char, at + 1)
    return False


def _properties(data: bytes) -> bool:
    """Whether an anchor, alias or tag could start somewhere: ``&``, ``*`` or ``!`` first in the
    text or after a space or a line break (a non-empty flow collection went to the reference)."""
    for char in (b"&", b"*", b"!"):
        at = data.find(char)
        while at >= 0:
            if at == 0 or data[at - 1] in b" \n":
                return True
            at = data.find(char, at + 1)
    return False


_PROPERTIES = 0
if _RYML is not None:
    _PROPERTIES = (
        _RYML.KEYREF | _RYML.VALREF | _RYML.KEYANCH | _RYML.VALANCH | _RYML.KEYTAG | _RYML.VALTAG
    )


def _has_properties(tree: _Tree) -> bool:
    return any(tree.type_has_any(node, _PROPERTIES) for node in range(tree.size()))


def _float(text: str) -> str:
    # The emitter writes ``.5`` as ``0.5`` and ``5.`` as ``5.0`` (``-`` too).
    if text.startswith(("0.", "-0.")) or text.endswith(".0"):
        raise _Unsure
    return text


def _constant(text: str) -> str:
    raise _Unsure  # NaN, Infinity: never written by the emitter, never guessed at
