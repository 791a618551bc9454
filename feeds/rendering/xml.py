"""XML for feeds and OPML: the escaping, in one place, and a small tree with a pretty-printing
serializer for the OPML.

Feeds need a fixed, readable layout (golden files, diffs) and exact control of namespaces and
attribute order. A feed's documents, hundreds of thousands of them in a large archive with small
pages, and their entries, rendered once per entry and build, are string templates in each
format's ``render`` and ``item``, put together by :func:`document`. They write exactly what the
tree would (two spaces an indent level, :func:`leaf` for text elements, :func:`escape_attr` and
:func:`attr` for attributes) with the escaping functions below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from feeds.text import NOT_XML_ASCII, ascii_without, xml_safe

Attr = str | int | None


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


DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


def serialize(root: Element) -> bytes:
    """The document (the OPML), two spaces an indent level."""
    lines = [DECLARATION]
    _write(root, 0, lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def document(head: Sequence[str], fragments: Sequence[bytes], tail: bytes) -> bytes:
    """A feed document: the lines of ``head``, the entries' ``fragments`` a line each, then
    ``tail`` (the closing lines, with the final newline).

    One join, so each fragment is copied once: a document of large entries would otherwise
    spend more on copies than on its skeleton.
    """
    return b"\n".join(["\n".join(head).encode("utf-8"), *fragments, tail])


def _write(node: Element, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    attrs = "".join(attr(k, v) for k, v in node.attrs)
    if node.children:
        out.append(f"{pad}<{node.tag}{attrs}>")
        for child in node.children:
            _write(child, depth + 1, out)
        out.append(f"{pad}</{node.tag}>")
    else:
        out.append(pad + leaf(node.tag, node.text, escape_text, attrs))


def leaf(tag: str, text: str | None, escape: Callable[[str], str], attrs: str = "") -> str:
    """An element of plain text (``attrs`` written by :func:`attr`): ``<tag/>`` without any.

    Whether there is text is asked before escaping: text that escaping empties (control
    characters only) still gets an end tag.
    """
    if text:
        return f"<{tag}{attrs}>{escape(text)}</{tag}>"
    return f"<{tag}{attrs}/>"


def attr(name: str, value: Attr) -> str:
    """`` name="value"``, or nothing for ``None`` (an optional attribute left out)."""
    if value is None:
        return ""
    if isinstance(value, int):  # digits, with nothing to escape
        return f' {name}="{value}"'
    return f' {name}="{escape_attr(value)}"'


# What each escape below changes, of the characters that ASCII text can hold: such text without
# any of them, most of what entries hold, is returned as it is.
_TEXT_CHANGES = b"&<>" + NOT_XML_ASCII
_ATTR_CHANGES = _TEXT_CHANGES + b'"\n\r\t'
_CDATA_CHANGES = b"]" + NOT_XML_ASCII


def escape_text(text: str) -> str:
    if ascii_without(text, _TEXT_CHANGES):
        return text
    return xml_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_hex(text: str) -> str:
    if ascii_without(text, _TEXT_CHANGES):
        return text
    return xml_safe(text).replace("&", "&#x26;").replace("<", "&#x3C;").replace(">", "&gt;")


def cdata(text: str) -> str:
    if ascii_without(text, _CDATA_CHANGES):
        return f"<![CDATA[{text}]]>"
    # "]]>" cannot appear inside a section, so it is split across two.
    return "<![CDATA[" + xml_safe(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def escape_attr(text: str) -> str:
    if ascii_without(text, _ATTR_CHANGES):
        return text
    return (
        escape_text(text)
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )
