"""HTML markup of the reports from Jinja templates (src/evalkit/templates/), not from f-strings.

The report layer decides what a table holds (formatted, suppressed strings, the
cells that count persons); this module decides how it is written as HTML. Text
is escaped by Jinja's autoescape; a value that is already HTML (markupsafe's
`Markup`, e.g. a link or the "Opfyldt" marker) is written as it is.
"""

from __future__ import annotations

import re

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

ENV = Environment(loader=PackageLoader("evalkit", "templates"), autoescape=select_autoescape(["j2"]),
                  auto_reload=False)

# A cell that reads as a formatted number (right-aligned): '1.607', '<5', 'x', '–', '23,4 %',
# '5,2 pct.-point', an interval '31,2–54,4 %' or '-1,6 til 0,4', a target '≥ 35,0 %'.
_NUMERIC = re.compile(r"^\s*(<[\d.,]+|x|–|[-−]?[\d.]+(,\d+)?( %| pct\.-point)?|[-−]?[\d.,]+( til |–)[-−]?[\d.,]+( %)?"
                      r"|[≥≤] [\d.,]+ %)?\s*$")


def is_numeric_column(values) -> bool:
    """True when every cell looks like a formatted number (a trailing '(...)' aside); text aligns left."""
    return all(not hasattr(v, "__html__") and _NUMERIC.match(re.sub(r"\s*\([^)]*\)$", "", str(v))) for v in values)


def render_table(frame: pd.DataFrame, title: str | None = None, note: str | None = None, *, total_rows=(),
                 highlight_rows=(), count_cols=(), count_rows=(), total_cols=()) -> Markup:
    """A table of formatted strings as HTML (table.html.j2).

    `count_cols` and `total_cols` (labels) mark columns counting persons (a total column: each
    row's sum); `count_rows` (positions) rows counting persons; `total_rows` and `highlight_rows`
    (positions) get the classes "total" and "highlight". The first column is the rows' label.
    """
    count_cols, total_cols = set(count_cols) | set(total_cols), set(total_cols)
    text = [j > 0 and not is_numeric_column(frame.iloc[:, j]) for j in range(frame.shape[1])]
    header = [{"label": c, "text": text[j],
               "kind": ("count total" if c in total_cols else "count") if c in count_cols else ""}
              for j, c in enumerate(frame.columns)]
    rows = [{"classes": " ".join(name for name, positions in (("total", total_rows), ("highlight", highlight_rows))
                                 if i in positions),
             "kind": "count" if i in count_rows else "",
             "cells": [{"value": v, "text": text[j]} for j, v in enumerate(row)]}
            for i, row in enumerate(frame.itertuples(index=False))]
    return Markup(ENV.get_template("table.html.j2").render(caption=title, header=header, rows=rows, note=note))


def render_note(text: str, kind: str = "missing") -> Markup:
    """A Danish explanation in place of a figure or table (kind "missing"), or beside one ("note")."""
    return Markup(ENV.get_template("note.html.j2").render(text=text, kind=kind))


def report_link(name: str, title: str, status: str | None) -> Markup:
    """A report as the index lists it: a link (status "ok"), "fejlede" ("failed"), or its title."""
    return ENV.get_template("links.html.j2").module.report_link(name, title, status)


def css_string(text: str) -> str:
    """`text` for a CSS string in double quotes inside an HTML <style>: every character but plain
    letters, digits and spaces as a 6-digit CSS escape (no quote, backslash, '<' or line break survives)."""
    return "".join(c if (c.isascii() and (c.isalnum() or c in " .,:-()")) else f"\\{ord(c):06X}" for c in text)


def print_header(title: str, extraction_date: str | None) -> str:
    """The text of the @page margin box that heads every printed page (issue 11), CSS-escaped."""
    return css_string(f"{title} · udtræksdato {extraction_date}" if extraction_date else title)


def render_index(name: str, extraction_date: str, version: str, input_hash: str | None, general: list[dict],
                 table: str, workbook: str | None = None) -> str:
    """The runner's index.html in the report frame (index.html.j2, head.html.j2).

    `general` holds the cross-municipality reports ({name, title, status}); `table` is the
    municipalities' table, already HTML (`render_table`); `workbook` the index's Excel file, linked when given.
    """
    page = ENV.get_template("index.html.j2").render(
        name=name, extraction_date=extraction_date, version=version, input_hash=input_hash or "",
        general=general, table=Markup(table), workbook=workbook,
        print_header=print_header(f"Rapporter: {name}", extraction_date))
    return page + "\n"  # Jinja drops the template's last newline; a text file ends with one
