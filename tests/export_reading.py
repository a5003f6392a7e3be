"""Reading the files `evalkit reports` writes beside the HTML (issue 11) back, independently of evalkit.

HTML with BeautifulSoup, workbooks with openpyxl, Danish numbers with a parser of
our own (not evalkit.report.workbook's), SVG with the standard library's XML parser.
"""

from __future__ import annotations

import base64
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

from bs4 import BeautifulSoup
from openpyxl import load_workbook

# '1.607', '23,4 %', '-0,45', '5,2 pct.-point': (value as Excel should hold it, unit)
_DANISH = re.compile(r"^([-−]?)(\d{1,3}(?:\.\d{3})*|\d+)(?:,(\d+))?( %| pct\.-point)?$")


def danish_number(text: str):
    """The number a Danish cell shows (a percentage as a share: '23,4 %' -> 0.234), or None for text."""
    m = _DANISH.match(text.strip())
    if not m:
        return None
    value = float(m.group(2).replace(".", "") + "." + (m.group(3) or "0"))
    value = -value if m.group(1) else value
    return value / 100 if m.group(4) == " %" else value


def cell_text(tag) -> str:
    return " ".join(tag.get_text(" ").split())


def html_tables(page: str) -> list[dict]:
    """Every report table of a page ({caption, header, rows, count_cols}), the footer's label/value table aside."""
    soup = BeautifulSoup(page, "html.parser")
    tables = []
    for table in soup.find_all("table"):
        if table.find_parent(class_="ek-footer"):
            continue
        head = table.find("thead")
        header = [cell_text(c) for c in head.find_all(["th", "td"])] if head else []
        body = table.find("tbody") or table
        rows = [[cell_text(c) for c in tr.find_all(["td", "th"])] for tr in body.find_all("tr", recursive=False)]
        caption = table.find("caption")
        tables.append({"caption": cell_text(caption) if caption else "", "header": header, "rows": rows})
    return tables


def footer_rows(page: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup(page, "html.parser")
    footer = soup.find(class_="ek-footer")
    if footer is None:
        return []
    return [(cell_text(tr.find("th")), cell_text(tr.find("td"))) for tr in footer.find_all("tr")]


def workbook_sheets(path: Path) -> dict[str, list[list]]:
    """sheet name -> rows of cell objects (openpyxl), in the workbook's order."""
    wb = load_workbook(path)
    return {ws.title: [list(row) for row in ws.iter_rows()] for ws in wb.worksheets}


def sheet_table(rows: list[list]) -> tuple[list[str], list[list]]:
    """(header, body cells) of a table sheet: header in row 1, body up to the first empty row."""
    header = [c.value for c in rows[0]]
    while header and header[-1] is None:
        header.pop()
    header = ["" if h is None else h for h in header]  # an empty header cell reads back as None
    body = []
    for row in rows[1:]:
        if all(c.value is None for c in row):
            break
        body.append(row[:len(header)])
    return header, body


def cell_mismatches(where: str, html_rows: list[list[str]], sheet_rows: list[list]) -> list[str]:
    """Cells that differ: a number cell must hold the number the HTML shows, a text cell the same text."""
    problems = []
    if len(html_rows) != len(sheet_rows):
        return [f"{where}: {len(html_rows)} rows in the HTML, {len(sheet_rows)} in the sheet"]
    for i, (hrow, srow) in enumerate(zip(html_rows, sheet_rows)):
        if len(hrow) != len(srow):
            problems.append(f"{where}, row {i}: {len(hrow)} cells in the HTML, {len(srow)} in the sheet")
            continue
        for j, (text, cell) in enumerate(zip(hrow, srow)):
            value = cell.value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                shown = danish_number(text)
                if shown is None or abs(shown - value) > 1e-9 * max(1.0, abs(value)):
                    problems.append(f"{where}, row {i}, col {j}: sheet {value!r}, HTML {text!r}")
                if text.endswith(" %") and "%" not in cell.number_format:
                    problems.append(f"{where}, row {i}, col {j}: a percentage without a percent format")
            elif ("" if value is None else value) != text:
                problems.append(f"{where}, row {i}, col {j}: sheet {value!r}, HTML {text!r}")
            elif j > 0 and danish_number(text) is not None:
                problems.append(f"{where}, row {i}, col {j}: the number {text!r} stored as text")
    return problems


def embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def svg_size_and_text(path: Path) -> tuple[tuple[float, float], list[str]]:
    """((width, height) in points, the texts) of an SVG file."""
    root = ET.parse(path).getroot()
    size = tuple(float(root.get(k).removesuffix("pt")) for k in ("width", "height"))
    texts = [" ".join("".join(el.itertext()).split()) for el in root.iter() if el.tag.endswith("}text")]
    return size, [t for t in texts if t]
