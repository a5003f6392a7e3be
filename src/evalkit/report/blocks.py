"""What a report section returns: a `Table`, a `Note`, a `Section` of several, or ready `Html`.

The notebooks display these objects; Jupyter asks them for HTML (`_repr_html_`),
which evalkit.report.html writes from the Jinja templates. A table holds strings
already formatted and suppressed; its rows say themselves which cells count
persons (`Row.counts`) and which person counts their statistics rest on
(`Row.sources`), so no table ties suppression to row positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import pandas as pd
from markupsafe import Markup  # text that is already HTML (a link, the "Opfyldt" marker)

from evalkit.report import html

__all__ = ["Footer", "Html", "Markup", "Note", "Row", "Section", "Table"]


@dataclass(frozen=True)
class Row:
    """One row of a published table: its label and cells (formatted strings), and its suppression.

    `counts`: the cells count persons (``<tr data-kind="count">``, read by the
    suppression audit). `sources`: the person counts (grid names of
    evalkit.report.grids.PERSON_COUNTS) the row shows or its statistics rest on;
    a cell is hidden when its source is hidden. `total`, `highlight`: classes.
    """

    label: str
    cells: tuple
    counts: bool = False
    sources: tuple[str, ...] = ()
    total: bool = False
    highlight: bool = False


class Table:
    """A published table: strings already formatted and suppressed, with a caption and a note.

    The HTML says which cells count persons, so the suppression rule (SPEC
    section 5) can be checked on every published report without guessing:
    `count_cols` (labels) get ``<th data-kind="count">``, `count_rows`
    (positions; `Table.from_rows` takes them from each `Row`) ``<tr
    data-kind="count">`` (every cell after the row's label), `total_cols`
    ``data-kind="count total"`` (each row's sum), `total_rows` ``<tr class="total">``.
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

    @classmethod
    def from_rows(cls, rows: list[Row], columns: list[str], title: str | None = None, note: str | None = None,
                  count_cols=(), total_cols=()) -> Table:
        """A table of `Row`s under `columns` (the label column first); each row brings its own marks."""
        if any(len(r.cells) != len(columns) - 1 for r in rows):
            raise ValueError("every row needs one cell per column after the label")
        frame = pd.DataFrame([[r.label, *r.cells] for r in rows], columns=columns)
        return cls(frame, title, note, count_cols=count_cols, total_cols=total_cols,
                   count_rows=[i for i, r in enumerate(rows) if r.counts],
                   total_rows=[i for i, r in enumerate(rows) if r.total],
                   highlight_rows=[i for i, r in enumerate(rows) if r.highlight])

    def _repr_html_(self) -> str:
        return html.render_table(self.frame, self.title, self.note, total_rows=self.total_rows,
                                 highlight_rows=self.highlight_rows, count_cols=self.count_cols,
                                 count_rows=self.count_rows, total_cols=self.total_cols)

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False)
        return "\n".join(x for x in (self.title, text, self.note) if x)


class Note:
    """A Danish explanation shown in place of a figure or table the data cannot support."""

    def __init__(self, text: str, kind: str = "missing"):
        self.text = text
        self.kind = kind

    def _repr_html_(self) -> str:
        return html.render_note(self.text, self.kind)

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


class Footer(Html):
    """The provenance footer: its HTML, and its rows as (label, text) for the workbook's sheet "Om data"."""

    def __init__(self, text: str, items: list[tuple[str, str]]):
        super().__init__(text)
        self.items = [(k, unescape(re.sub(r"<[^>]+>", "", v))) for k, v in items]
