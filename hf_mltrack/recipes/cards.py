"""Step cards: what each recipe step did, as plain text and as a self-contained HTML page.

A card is JSON data (stored in the workspace) rendered on demand. Every value that reaches the HTML is
escaped, so column names or values from the data cannot inject markup or scripts into the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

_MAX_CELL = 40


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return ""
    return str(value)


def _clip(text: str, width: int = _MAX_CELL) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


class CardBuilder:
    """Collects the sections of one card while a step runs."""

    def __init__(self, step: str, title: str) -> None:
        self.data: dict[str, Any] = {"step": step, "title": title, "sections": []}

    def kv(self, title: str, items: Sequence[tuple[str, Any]]) -> CardBuilder:
        self.data["sections"].append({"title": title, "kind": "kv", "items": [[str(k), v] for k, v in items]})
        return self

    def table(self, title: str, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> CardBuilder:
        self.data["sections"].append(
            {
                "title": title,
                "kind": "table",
                "columns": [str(c) for c in columns],
                "rows": [[_jsonable(v) for v in row] for row in rows],
            }
        )
        return self

    def frame(self, title: str, df: Any, max_rows: int = 10) -> CardBuilder:
        head = df.head(max_rows)
        return self.table(title, list(head.columns), head.itertuples(index=False, name=None))

    def text(self, title: str, text: str) -> CardBuilder:
        self.data["sections"].append({"title": title, "kind": "text", "text": str(text)})
        return self


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        if isinstance(value, float) and value != value:  # NaN -> empty cell
            return None
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


class StepCard:
    """The card of one step (or the recipe overview): ``str(card)`` is the text, ``card.to_html()`` the page.

    Attributes:
        step (`str`): the step name (``"recipe"`` for the overview).
        html_path (`str`, *optional*): where the HTML page was written.
    """

    def __init__(self, data: dict[str, Any], html_path: str | None = None) -> None:
        self.data = data
        self.step: str = data.get("step", "")
        self.title: str = data.get("title", self.step)
        self.html_path = html_path

    @property
    def sections(self) -> list[dict[str, Any]]:
        return list(self.data.get("sections", []))

    def section(self, title: str) -> dict[str, Any] | None:
        return next((s for s in self.sections if s.get("title") == title), None)

    def to_text(self) -> str:
        lines = [f"== {self.title} =="]
        for section in self.sections:
            lines.append("")
            lines.append(f"-- {section['title']} --")
            kind = section.get("kind")
            if kind == "kv":
                items = section.get("items", [])
                width = max((len(str(k)) for k, _ in items), default=0)
                lines.extend(f"  {str(k).ljust(width)} : {_fmt(v)}" for k, v in items)
            elif kind == "table":
                lines.extend(_text_table(section.get("columns", []), section.get("rows", [])))
            else:
                lines.extend(f"  {line}" for line in str(section.get("text", "")).splitlines())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<StepCard {self.step!r}: {len(self.sections)} sections>"

    def to_html(self) -> str:
        esc = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8">',
            f"<title>{esc(self.title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        for section in self.sections:
            parts.append(f"<section><h2>{esc(str(section['title']))}</h2>")
            kind = section.get("kind")
            if kind == "kv":
                parts.append('<table class="kv">')
                for key, value in section.get("items", []):
                    parts.append(f"<tr><th>{esc(str(key))}</th><td>{esc(_fmt(value))}</td></tr>")
                parts.append("</table>")
            elif kind == "table":
                parts.append("<table><thead><tr>")
                parts.extend(f"<th>{esc(str(c))}</th>" for c in section.get("columns", []))
                parts.append("</tr></thead><tbody>")
                for row in section.get("rows", []):
                    parts.append("<tr>" + "".join(f"<td>{esc(_fmt(v))}</td>" for v in row) + "</tr>")
                parts.append("</tbody></table>")
            else:
                parts.append(f"<pre>{esc(str(section.get('text', '')))}</pre>")
            parts.append("</section>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:  # Jupyter
        return self.to_html()


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[_clip(str(c)) for c in columns]] + [[_clip(_fmt(v)) for v in row] for row in rows]
    if not cells[0]:
        return ["  (empty)"]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in cells) for i in range(len(cells[0]))]
    out = []
    for n, row in enumerate(cells):
        out.append("  " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)))
        if n == 0:
            out.append("  " + "-+-".join("-" * w for w in widths))
    if len(cells) == 1:
        out.append("  (no rows)")
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328}
h1{font-size:22px}h2{font-size:16px;margin-top:24px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
thead th{background:#f6f8fa}table.kv th{background:#f6f8fa;font-weight:600}
pre{background:#f6f8fa;padding:8px;white-space:pre-wrap}
""".strip()
