"""A small XML tree and a pretty-printing serializer, enough for feeds and OPML.

Feeds need a fixed, readable layout (golden files, diffs) and exact control of namespaces and
attribute order; a tree of tuples and one serializer give both, with escaping in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from feeds.text import xml_safe

Attr = str | int | None


class CData(str):
    """Text written as a CDATA section: HTML held in a feed stays readable in the file."""

    __slots__ = ()


class Url(str):
    """A URL as an element's text: its ``&`` is always written ``&amp;``, even where other text
    gets ``&#x26;`` (``hex_refs``), because widely used feed parsers decode the five named
    entities only and would read ``?a=1&#x26;b=2`` as it stands. Attribute values are always
    written with named entities."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Element:
    tag: str
    text: str | None
    children: tuple[Element, ...]
    attrs: tuple[tuple[str, str], ...]


def el(tag: str, text: str | None = None, /, *children: Element | None, **attrs: Attr) -> Element:
    """An element; ``None`` children and attributes are left out, so optional parts read plainly.

    Attribute names with a colon or a Python keyword are passed as ``**{"xml:lang": "en"}``.
    """
    return Element(
        tag=tag,
        text=text,
        children=tuple(c for c in children if c is not None),
        attrs=tuple((k, str(v)) for k, v in attrs.items() if v is not None),
    )


SLOT = "\x00slot"


def slot() -> Element:
    """Where :func:`serialize` puts pre-rendered fragments (the entries of a feed)."""
    return Element(tag=SLOT, text=None, children=(), attrs=())


def serialize(
    root: Element,
    *,
    hex_refs: bool = False,
    fragments: Sequence[bytes] = (),
    stylesheet: str | None = None,
) -> bytes:
    """The document, two spaces an indent level, with ``fragments`` at the :func:`slot`.

    ``hex_refs`` writes ``&`` and ``<`` in text as ``&#x26;`` and ``&#x3C;``, as the RSS Best
    Practices Profile asks for, since RSS readers disagree on which elements hold HTML; the
    text of a :class:`Url` and every attribute value keep ``&amp;``.
    ``stylesheet`` is the href of an XSL stylesheet, for browsers.
    """
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    if stylesheet is not None:
        lines.append(f'<?xml-stylesheet type="text/xsl" href="{escape_attr(stylesheet)}"?>')
    _write(root, 0, lines, escape_hex if hex_refs else escape_text)
    text = "\n".join(lines) + "\n"
    if SLOT not in text:
        return text.encode("utf-8")
    before, _, after = text.partition(SLOT + "\n")
    parts = [before.encode("utf-8"), *(f + b"\n" for f in fragments), after.encode("utf-8")]
    return b"".join(parts)


def fragment(node: Element, depth: int, *, hex_refs: bool = False) -> bytes:
    """``node`` as it would appear at ``depth`` inside a document, without a final newline."""
    lines: list[str] = []
    _write(node, depth, lines, escape_hex if hex_refs else escape_text)
    return "\n".join(lines).encode("utf-8")


def _write(node: Element, depth: int, out: list[str], escape: Callable[[str], str]) -> None:
    if node.tag == SLOT:
        out.append(SLOT)
        return
    pad = "  " * depth
    head = node.tag + "".join(f' {k}="{escape_attr(v)}"' for k, v in node.attrs)
    if node.children:
        out.append(f"{pad}<{head}>")
        for child in node.children:
            _write(child, depth + 1, out, escape)
        out.append(f"{pad}</{node.tag}>")
    elif isinstance(node.text, CData):
        out.append(f"{pad}<{head}>{cdata(node.text)}</{node.tag}>")
    elif isinstance(node.text, Url):
        out.append(f"{pad}<{head}>{escape_text(node.text)}</{node.tag}>")
    elif node.text:
        out.append(f"{pad}<{head}>{escape(node.text)}</{node.tag}>")
    else:
        out.append(f"{pad}<{head}/>")


def escape_text(text: str) -> str:
    return xml_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_hex(text: str) -> str:
    return xml_safe(text).replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&gt;")


def cdata(text: str) -> str:
    # "]]>" cannot appear inside a section, so it is split across two.
    return "<![CDATA[" + xml_safe(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def escape_attr(text: str) -> str:
    return (
        escape_text(text)
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )
