"""HTML assembly: one self-contained page (inline CSS, images as base64 PNG), built with ``string.Template`` and
``html.escape``; no external resources, so the page renders offline."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from string import Template

import pandas as pd

__all__ = ["Section", "image", "table", "paragraph", "render_page"]

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #23395d; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; font-size: 13px; opacity: 0.85; }
nav { padding: 8px 32px; background: #e8edf4; font-size: 13px; }
nav a { margin-right: 14px; color: #23395d; }
main { padding: 8px 32px 40px 32px; max-width: 1150px; }
section { background: white; border: 1px solid #ddd; border-radius: 6px; padding: 12px 20px; margin: 16px 0; }
h2 { font-size: 18px; margin: 4px 0 10px 0; color: #23395d; }
h3 { font-size: 14px; margin: 14px 0 6px 0; }
p, li { font-size: 13px; line-height: 1.45; }
figure { margin: 8px 0 14px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #555; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0 12px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f0f3f7; }
td:first-child, th:first-child { text-align: left; }
.note { color: #8a5a00; }
</style>
</head>
<body>
<header><h1>$title</h1><p>$subtitle</p></header>
<nav>$nav</nav>
<main>
$body
</main>
</body>
</html>
""")


@dataclass
class Section:
    """One titled block of the page; ``parts`` are HTML fragments made by :func:`image`, :func:`table` and
    :func:`paragraph`."""

    title: str
    parts: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")

    def to_html(self) -> str:
        return f'<section id="{self.anchor}">\n<h2>{html.escape(self.title)}</h2>\n' + "\n".join(self.parts) + \
            "\n</section>"


def image(png: bytes, alt: str, caption: str | None = None) -> str:
    """A figure with the PNG embedded as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">{cap}</figure>'


def table(frame: pd.DataFrame, *, digits: int = 3, max_rows: int = 40, caption: str | None = None) -> str:
    """A DataFrame as an HTML table (numbers to ``digits`` significant digits; at most ``max_rows`` rows)."""
    shown = frame.head(max_rows)
    fmt = lambda v: f"{v:.{digits}g}" if isinstance(v, float) else str(v)  # noqa: E731
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    more = f"<p>({len(frame) - max_rows} more rows not shown)</p>" if len(frame) > max_rows else ""
    cap = f"<h3>{html.escape(caption)}</h3>" if caption else ""
    return f"{cap}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"


def paragraph(text: str, *, note: bool = False) -> str:
    """Escaped text as a paragraph (``note=True``: highlighted)."""
    cls = ' class="note"' if note else ""
    return f"<p{cls}>{html.escape(text)}</p>"


def render_page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The full HTML document."""
    nav = " ".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(s.to_html() for s in sections)
    return _PAGE.substitute(title=html.escape(title), subtitle=html.escape(subtitle), nav=nav, body=body)
