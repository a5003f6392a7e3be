"""TODO"""

from __future__ import annotations

import html
import re

import pandas as pd


class Markup(str):
    """Text that is already HTML (a table cell holding a link or a marker)."""


def _cell_html(value) -> str:
    return str(value) if isinstance(value, Markup) else html.escape(str(value))


_NUMERIC = re.compile(r"^\s*(<[\d.,]+|x|–|[-−]?[\d.]+(,\d+)?( %| pct\.-point)?|[-−]?[\d.,]+( til |–)[-−]?[\d.,]+( %)?|[≥≤] [\d.,]+ %)?\s*$")


def _is_numeric_column(values) -> bool:
    """True when every cell looks like a formatted number (right-aligned); text columns align left."""
    return all(not isinstance(v, Markup) and _NUMERIC.match(re.sub(r"\s*\([^)]*\)$", "", str(v))) for v in values)


class Table:
    """A published table: strings already formatted and suppressed, with a caption and a note.

    The HTML says which cells count persons, so the suppression rule (SPEC
    section 5) can be checked on every published report without guessing:
    `count_cols` (labels) get ``<th data-kind="count">``, `count_rows`
    (positions) ``<tr data-kind="count">`` (every cell after the row's label),
    `total_cols` ``data-kind="count total"`` (each row's sum), `total_rows`
    ``<tr class="total">``.
    """

    def __init__(self, frame: pd.DataFrame, title: str | None = None, note: str | None = None,
                 total_rows=(), highlight_rows=(), count_cols=(), count_rows=(), total_cols=()):
        unknown = [c for c in [*count_cols, *total_cols] if c not in frame.columns]
        if unknown:
            raise ValueError(f"count or total columns not in the table: {unknown}")
        self.frame = frame
        self.title = title
        self.note = note
        self.total_rows = set(total_rows)
        self.highlight_rows = set(highlight_rows)
        self.count_cols = set(count_cols) | set(total_cols)
        self.count_rows = set(count_rows)
        self.total_cols = set(total_cols)

    def _header_cell(self, label, text_col: bool) -> str:
        attrs = ' class="t"' if text_col else ""
        if label in self.count_cols:
            attrs += ' data-kind="count total"' if label in self.total_cols else ' data-kind="count"'
        return f"<th{attrs}>{_cell_html(label)}</th>"

    def _repr_html_(self) -> str:
        text_cols = [j > 0 and not _is_numeric_column(self.frame.iloc[:, j]) for j in range(self.frame.shape[1])]
        parts = ['<div class="ek-scroll"><table class="ek-table">']
        if self.title:
            parts.append(f"<caption>{html.escape(self.title)}</caption>")
        parts.append("<thead><tr>" + "".join(
            self._header_cell(c, text_cols[j]) for j, c in enumerate(self.frame.columns)) + "</tr></thead>")
        parts.append("<tbody>")
        for i, row in enumerate(self.frame.itertuples(index=False)):
            cls = " total" if i in self.total_rows else ""
            cls += " highlight" if i in self.highlight_rows else ""
            kind = ' data-kind="count"' if i in self.count_rows else ""
            parts.append(f'<tr class="{cls.strip()}"{kind}>' if cls else f"<tr{kind}>")
            parts.append("".join(f'<td class="t">{_cell_html(v)}</td>' if text_cols[j] else f"<td>{_cell_html(v)}</td>"
                                 for j, v in enumerate(row)) + "</tr>")
        parts.append("</tbody></table></div>")
        if self.note:
            parts.append(f'<p class="ek-note">{html.escape(self.note)}</p>')
        return "".join(parts)

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False)
        return "\n".join(x for x in (self.title, text, self.note) if x)


class Note:
    """A Danish explanation shown in place of a figure or table the data cannot support."""

    def __init__(self, text: str, kind: str = "missing"):
        self.text = text
        self.kind = kind

    def _repr_html_(self) -> str:
        return f'<div class="ek-{self.kind}"><p>{html.escape(self.text)}</p></div>'

    def __repr__(self) -> str:
        return self.text


class Section:
    """Several outputs of one report section (figures, tables, notes), displayed in order."""

    def __init__(self, *parts):
        self.parts = [p for p in parts if p is not None]

    def _ipython_display_(self):
        from IPython.display import display

        for part in self.parts:
            display(part)

    def __repr__(self) -> str:
        return "\n\n".join(repr(p) for p in self.parts)


class Html:
    """A block of ready HTML (title, cards, footer)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text
