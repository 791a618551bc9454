"""The HTML body of an entry: lead image, excerpt, body and related links, all escaped.

No markup from a record is ever passed through: every piece of text is escaped here, so a
``<script>`` in a title or excerpt reaches readers as those characters.
"""

from __future__ import annotations

from html import escape

from feeds.model import Entry, Related


def entry_html(entry: Entry) -> str:
    """Never empty: with nothing else to show, it is a link to the article.

    Made at render time, once per entry and build, for the entries that are published only.
    """
    title, url, summary, related = entry.title, entry.url, entry.summary, entry.related
    lead = entry.images[0] if entry.images else None
    parts: list[str] = []
    if lead is not None:
        size = "".join(
            f' {name}="{value}"'
            for name, value in (("width", lead.width), ("height", lead.height))
            if value
        )
        parts.append(f'<p><img src="{escape(lead.url)}" alt="{escape(lead.title)}"{size}></p>')
    parts.extend(f"<p>{escape(p, quote=False)}</p>" for p in (summary, *entry.paragraphs) if p)
    if related:
        parts.append("<h3>Related</h3>")
        parts.append("<ul>")
        parts.extend(f"<li>{_related_item(r)}</li>" for r in related)
        parts.append("</ul>")
    if not parts:
        parts.append(f'<p><a href="{escape(url)}">{escape(title, quote=False)}</a></p>')
    return "\n".join(parts)


def _related_item(link: Related) -> str:
    about = [link.provider] if link.provider else []
    if link.published is not None:
        about.append(link.published.date().isoformat())
    note = f" ({escape(', '.join(about), quote=False)})" if about else ""
    return f'<a href="{escape(link.url)}">{escape(link.title, quote=False)}</a>{note}'
