"""A report's tables as an Excel workbook, and its figures as SVG beside the PNG (issue 11).

In the report kernel, `install` adds three display formats to IPython: every
`blocks.Table` a notebook shows is also written as TABLE_MIME (its caption,
header, cells as the HTML shows them, which cells count persons, the note),
every `plots.Plot` as FIGURE_MIME (the same matplotlib figure saved as SVG, once,
in the kernel that drew it), and the provenance footer (`blocks.Footer`) as
ABOUT_MIME. nbconvert's HTML ignores these types; the runner reads them from the
executed notebook (`evalkit.runner.exports`), so the workbook holds the very cells
the HTML was rendered from, in report order, and nothing is computed twice.

`excel_cell` turns a displayed cell back into what Excel should store: a number
with a Danish display format where the cell is a number ('1.607' -> 1607 as
'#,##0', '23,4 %' -> 0.234 as '0.0 %'), else the text as shown ('<5', 'x',
'–', an interval). Excel shows the format codes with the reader's separators:
1.607 and 23,4 % in a Danish Excel. The files are written with XlsxWriter in memory
(text is always text, never a formula); the tests read them back with openpyxl.
"""

from __future__ import annotations

import html
import io
import re

TABLE_MIME = "application/vnd.evalkit.table+json"
FIGURE_MIME = "application/vnd.evalkit.figure+json"
ABOUT_MIME = "application/vnd.evalkit.about+json"
ABOUT_SHEET = "Om data"

_NUMBER = re.compile(r"^(?P<sign>[-−]?)(?P<int>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<dec>\d+))?(?P<unit> %| pct\.-point)?$")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def cell_text(value) -> str:
    """A table cell as the reader sees it: markup (a link, the met marker) as its text."""
    text = str(value)
    if hasattr(value, "__html__") or type(value).__name__ == "Markup":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return " ".join(text.split())


def table_payload(table) -> dict:
    """What the workbook needs of a `blocks.Table`: caption, header, displayed cells, count marks, note."""
    frame = table.frame
    return {
        "title": table.title,
        "note": table.note,
        "columns": [cell_text(c) for c in frame.columns],
        "rows": [[cell_text(v) for v in row] for row in frame.itertuples(index=False)],
        "count_cols": sorted(str(c) for c in table.count_cols),
        "count_rows": sorted(int(i) for i in table.count_rows),
        "total_rows": sorted(int(i) for i in table.total_rows),
    }


def figure_payload(plot) -> dict:
    """The figure of a `plots.Plot` as SVG (`Plot.svg`: the PNG's crop, text kept as text)."""
    return {"svg": plot.svg()}


def install(ip=None) -> None:
    """Add the three display formats to IPython (in each report kernel, once)."""
    from IPython.core.formatters import JSONFormatter

    from evalkit.report.blocks import Footer, Table
    from evalkit.report.plots import Plot

    ip = ip or __import__("IPython").get_ipython()
    if ip is None:
        return
    display = ip.display_formatter
    for mime, cls, func in ((TABLE_MIME, Table, table_payload), (FIGURE_MIME, Plot, figure_payload),
                            (ABOUT_MIME, Footer, lambda f: {"items": [list(x) for x in f.items]})):
        formatter = type("EvalkitFormatter", (JSONFormatter,), {"format_type": mime})(parent=display)
        formatter.for_type(cls, func)
        display.formatters[mime] = formatter
        if mime not in display.active_types:
            display.active_types.append(mime)


# --- writing the workbook ---------------------------------------------------------


def excel_cell(text: str):
    """(value, number format) for a displayed cell: a number with its Danish format, or the text (None)."""
    m = _NUMBER.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return text, None
    digits = m["int"].replace(".", "") + ("." + m["dec"] if m["dec"] else "")
    value = float(digits) if m["dec"] else int(digits)
    if m["sign"]:
        value = -value
    decimals = len(m["dec"] or "")
    base = "#,##0" + ("." + "0" * decimals if decimals else "")
    if m["unit"] == " %":
        return round(value / 100, decimals + 2), base.replace("#,##", "") + " %"
    if m["unit"]:
        return value, base + ' "pct.-point"'
    return value, base


def sheet_name(label: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (at most 31 characters, no []:*?/\\) from a label."""
    text = re.sub(r"\s*:\s*", " - ", " ".join(str(label).split()))
    base = _BAD_SHEET_CHARS.sub("-", text).strip("'") or "Tabel"
    base = base[:31].rstrip(" -,")
    name, k = base, 2
    while name.casefold() in {t.casefold() for t in taken}:
        suffix = f" ({k})"
        name, k = base[:31 - len(suffix)] + suffix, k + 1
    taken.add(name)
    return name


class _Book:
    """An XlsxWriter workbook in memory: text always written as text (never a formula, number or URL),
    one cell format per (number format, bold), made once."""

    def __init__(self):
        import xlsxwriter

        self.buf = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.buf, {"in_memory": True, "strings_to_formulas": False,
                                                 "strings_to_numbers": False, "strings_to_urls": False})
        self._formats: dict = {}
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})

    def fmt(self, code: str | None = None, bold: bool = False):
        key = (code, bold)
        if key not in self._formats:
            props = {**({"num_format": code} if code else {}), **({"bold": True} if bold else {})}
            self._formats[key] = self.wb.add_format(props) if props else None
        return self._formats[key]

    def about(self, rows: list[tuple[str, str]]) -> None:
        """The sheet "Om data": (label, text) rows."""
        ws = self.wb.add_worksheet(ABOUT_SHEET)
        for r, (label, text) in enumerate(rows):
            ws.write_string(r, 0, str(label), self.fmt(bold=True))
            ws.write_string(r, 1, str(text), self.wrap)
        ws.set_column(0, 0, 28)
        ws.set_column(1, 1, 100)

    def write(self, ws, r: int, c: int, value, code: str | None = None, bold: bool = False) -> None:
        """A cell: None empty, a number (bool as TRUE/FALSE) with its format, anything else as text."""
        if value is None:
            return
        if isinstance(value, bool):
            ws.write_boolean(r, c, value, self.fmt(None, bold))
        elif isinstance(value, (int, float)):
            ws.write_number(r, c, value, self.fmt(code, bold))
        else:
            ws.write_string(r, c, str(value), self.fmt(None, bold))

    def close(self) -> bytes:
        self.wb.close()
        return self.buf.getvalue()


def workbook_bytes(about: list[tuple[str, str]], sheets: list[tuple[str, dict]]) -> bytes:
    """An .xlsx: the sheet "Om data" (label, text rows of `about`), then one sheet per (label, table payload)."""
    book = _Book()
    book.about(about)
    taken = {ABOUT_SHEET}
    for label, table in sheets:
        ws = book.wb.add_worksheet(sheet_name(label, taken))
        for j, header in enumerate(table["columns"]):
            book.write(ws, 0, j, str(header), bold=True)
        totals = set(table.get("total_rows", ()))
        for i, row in enumerate(table["rows"]):
            for j, text in enumerate(row):
                value, code = excel_cell(text) if j > 0 else (text, None)  # '<5', 'x', '1, 2': text as shown
                book.write(ws, i + 1, j, value, code, bold=i in totals)
        below = [x for x in (table.get("title"), table.get("note")) if x]
        for k, text in enumerate(below):
            book.write(ws, len(table["rows"]) + 2 + k, 0, str(text))
        for j, header in enumerate(table["columns"]):
            longest = max([len(header)] + [len(row[j]) for row in table["rows"]])
            ws.set_column(j, j, min(60, max(8, longest + 2)))
        ws.freeze_panes(1, 1)
    return book.close()


TIDY_FORMATS = {"share": "0.0 %", "count": "#,##0", "weeks": "0.0", "hours": "0.00"}


def tidy_workbook(about: list[tuple[str, str]], frame, kinds: dict[str, str]) -> bytes:
    """The tidy indicators as the sheet "Indikatorer" after "Om data": shares as percentages, counts as
    whole numbers, '<5' and 'x' as text. `kinds`: indicator code -> share | count | weeks | hours."""
    import pandas as pd

    book = _Book()
    book.about(about)
    ws = book.wb.add_worksheet("Indikatorer")
    cols = list(frame.columns)
    for j, c in enumerate(cols):
        book.write(ws, 0, j, c, bold=True)
    value_cols = {cols.index(c): c for c in ("værdi", "ci_nedre", "ci_øvre", "mål")}
    n_col = cols.index("n")
    for i, values in enumerate(frame.itertuples(index=False), start=1):
        kind = kinds[values[cols.index("indikator")]]
        for j, v in enumerate(values):
            if v is not None and not isinstance(v, str) and pd.isna(v):
                v = None
            code = None
            if j in value_cols:
                code = TIDY_FORMATS["share" if value_cols[j] != "værdi" else kind]
            elif j == n_col:
                code = TIDY_FORMATS["count"]
            book.write(ws, i, j, v, code)
    ws.freeze_panes(1, 0)
    return book.close()
