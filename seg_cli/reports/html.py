"""The pieces both report pages are made of: one self-contained HTML file (inline CSS, images as data URIs,
a few lines of inline JavaScript to sort tables), so the page opens anywhere, offline, copied alone."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml",
        ".gif": "image/gif", ".webp": "image/webp"}

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 1.6em; }
.sub { color: #666; } .headline { font-size: 1.3em; margin: 0.6em 0; } .headline b { font-size: 1.4em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; } .wide { overflow-x: auto; }
table.sortable td:first-child { white-space: nowrap; }
table.sortable th[data-order=asc]::after { content: " \\25B2"; } table.sortable th[data-order=desc]::after { content: " \\25BC"; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; } figcaption { color: #555; text-align: center; }
figure img { max-width: 100%; border: 1px solid #eee; }
figure img.panel { min-width: 320px; image-rendering: pixelated; }
pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; }
.note { color: #777; font-style: italic; }
"""

# Click a header: sort the rows by that column, numbers as numbers, blanks last; click again: reverse.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.dataset.order !== "asc";
    var key = function (row) { var c = row.cells[col]; return c ? (c.dataset.v || c.textContent).trim() : ""; };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === "" || y === "") { return (x === "") - (y === ""); }
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? order : -order;
    });
    table.querySelectorAll("th").forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = asc ? "asc" : "desc";
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def data_uri(path: Path) -> str:
    """The file as a base64 data URI: the page carries its images."""
    mime = MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def figure(path: Path, caption: str, kind: str = "plot") -> str:
    """An embedded image; kind `panel` (image | truth | prediction strips, often tiny) is drawn enlarged."""
    return (f'<figure><img class="{kind}" src="{data_uri(path)}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def number(value: Any) -> str:
    """A metric as the pages print it: 4 decimals for fractions, thousands grouped for counts, n/a for null."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"


def cell(value: Any) -> str:
    """One table cell; numbers right-aligned and carrying their raw value for sorting."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raw = "" if isinstance(value, float) and not math.isfinite(value) else repr(value)
        return f'<td class="num" data-v="{escape(raw)}">{escape(number(value))}</td>'
    if value is None:
        return '<td data-v="">n/a</td>'
    return f"<td>{escape(value)}</td>"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], sortable: bool = True,
          raw_first_column: bool = False) -> str:
    """An HTML table; `raw_first_column`: the first cells are HTML already (links)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    head = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""  # a key/value table needs no header
    body = []
    for row in rows:
        first = f"<td>{row[0]}</td>" if raw_first_column and row else (cell(row[0]) if row else "")
        body.append("<tr>" + first + "".join(cell(value) for value in row[1:]) + "</tr>")
    kind = ' class="sortable"' if sortable else ""
    # a table wider than the page (many classes' metrics, a sweep's columns) scrolls on its own
    return f'<div class="wide"><table{kind}>{head}<tbody>{"".join(body)}</tbody></table></div>'


def section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def preformatted(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    """The whole document: no external stylesheet, script, font or image."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"sub\">{escape(subtitle)}</p>"
            + "".join(sections) + f"<script>{SORT_SCRIPT}</script></body></html>\n")
