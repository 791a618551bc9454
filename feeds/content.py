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
    parts: list[str] = []
    if entry.images:
        lead = entry.images[0]
        # A zero size is left out as a missing one is: it would hide the image.
        width = f' width="{lead.width}"' if lead.width else ""
        height = f' height="{lead.height}"' if lead.height else ""
        parts.append(
            f'<p><img src="{escape(lead.url)}" alt="{escape(lead.title)}"{width}{height}></p>'
        )
    if entry.summary:
        parts.append(f"<p>{escape(entry.summary, quote=False)}</p>")
    parts += [f"<p>{escape(p, quote=False)}</p>" for p in entry.paragraphs if p]
    if entry.related:
        parts.append("<h3>Related</h3>\n<ul>")
        parts += [_related_item(link) for link in entry.related]
        parts.append("</ul>")
    if not parts:
        title = escape(entry.title, quote=False)
        parts.append(f'<p><a href="{escape(entry.url)}">{title}</a></p>')
    return "\n".join(parts)


def _related_item(link: Related) -> str:
    about = [link.provider] if link.provider else []
    if link.published is not None:
        about.append(link.published.date().isoformat())
    note = f" ({escape(', '.join(about), quote=False)})" if about else ""
    title = escape(link.title, quote=False)
    return f'<li><a href="{escape(link.url)}">{title}</a>{note}</li>'
