"""Issue 11, the parts that need no report run: a displayed cell as an Excel cell, sheet names,
formula-like text, the tests' own workbook reader, the SVG beside a figure's PNG, the print header.

The files of a real run (workbooks against the HTML, figure files against the embedded
images, indikatorer.csv against `evalkit indicators --json`) are tested on the sample run
that tests/test_report_snapshot.py renders anyway, and audited for small counts in
tests/test_suppression_everywhere.py.
"""

from __future__ import annotations

import io
import math
import re

import pytest
from export_reading import cell_mismatches, danish_number, png_size, sheet_table, svg_size_and_text, workbook_sheets
from matplotlib.figure import Figure

from evalkit.report import workbook
from evalkit.report.html import css_string, print_header
from evalkit.report.plots import DPI, Plot, _styled


@pytest.mark.parametrize(("text", "value", "fmt"), [
    ("1.607", 1607, "#,##0"), ("0", 0, "#,##0"), ("23,4 %", 0.234, "0.0 %"), ("100 %", 1.0, "0 %"),
    ("-0,45", -0.45, "#,##0.00"), ("12.345,6", 12345.6, "#,##0.0"), ("0,012", 0.012, "#,##0.000"),
    ("5,2 pct.-point", 5.2, '#,##0.0 "pct.-point"'), ("-1,6 pct.-point", -1.6, '#,##0.0 "pct.-point"'),
])
def test_a_danish_number_is_stored_as_a_number_with_its_format(text, value, fmt):
    got, got_fmt = workbook.excel_cell(text)
    assert not isinstance(got, str) and math.isclose(got, value, abs_tol=1e-12) and got_fmt == fmt
    assert math.isclose(danish_number(text), value, abs_tol=1e-12)  # the tests' own reading agrees


@pytest.mark.parametrize("text", ["<5", "x", "–", "31,2–54,4 %", "-1,6 til 0,4", "≥ 35,0 %", "<0,001", "Opfyldt",
                                  "1, 2", "23,4 % (20,1–27,0 %)", "=1+1"])
def test_anything_else_is_kept_as_the_text_shown(text):
    assert workbook.excel_cell(text) == (text, None)


def test_sheet_names_are_valid_and_unique():
    taken = {"Om data"}
    names = [workbook.sheet_name(x, taken) for x in
             ["Om data", "Kapacitet: samtaler om året pr. antal årsværk", "Kapacitet: samtaler om året pr. antal årsværk",
              "a/b [c]?", ""]]
    assert len({n.casefold() for n in names} | {"om data"}) == len(names) + 1
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) and n for n in names)


def test_a_workbook_keeps_text_that_looks_like_a_formula_as_text():
    data = workbook.workbook_bytes([("Rapport", "=cmd")], [("T", {"columns": ["A", "B"], "rows": [["=1+1", "=2"]]})])
    sheets = workbook_sheets(io.BytesIO(data))
    assert [c.value for c in sheets["T"][1]] == ["=1+1", "=2"]
    assert all(c.data_type == "s" for c in sheets["T"][1])
    assert sheets["Om data"][0][1].value == "=cmd" and sheets["Om data"][0][1].data_type == "s"


def test_the_cell_comparison_finds_a_difference():
    """The reader of tests/export_reading.py can fail: a changed number, a number as text, a share as text."""
    data = workbook.workbook_bytes([], [("T", {"columns": ["A", "B", "C"], "rows": [["r", "1.607", "23,4 %"]]})])
    _, body = sheet_table(workbook_sheets(io.BytesIO(data))["T"])
    assert cell_mismatches("t", [["r", "1.607", "23,4 %"]], body) == []
    assert cell_mismatches("t", [["r", "1.608", "23,4 %"]], body) != []
    assert cell_mismatches("t", [["r", "1.607", "23,5 %"]], body) != []
    as_text = workbook.workbook_bytes([], [("T", {"columns": ["A", "B"], "rows": [["r", "x"]]})])
    _, text_body = sheet_table(workbook_sheets(io.BytesIO(as_text))["T"])
    assert cell_mismatches("t", [["r", "5"]], text_body) != []


@_styled
def _figure(tight: bool, inside) -> Plot:
    fig = Figure(figsize=(4, 3), dpi=DPI)
    ax = fig.add_subplot()
    ax.plot([0, 39, 78], [1.0, 0.6, 0.45], label="Kommune æøå")
    ax.set_title("Andel på ledighedsydelse")
    ax.set_xlabel("Uger")
    ax.legend()
    if inside == "padding":  # the drawing touches the edges, the padding of the crop reaches beyond
        fig.tight_layout(pad=0)
    elif inside:
        fig.tight_layout()
    else:  # the x label hangs below the figure's edge
        fig.subplots_adjust(bottom=0.02)
    return Plot(fig, tight=tight)


@pytest.mark.parametrize(("tight", "inside"), [(True, True), (True, "padding"), (True, False), (False, True)])
def test_the_png_is_drawn_as_savefig_draws_it_and_the_svg_has_its_crop(tmp_path, tight, inside):
    """Plot.png cuts the tight box out of one drawing: the same pixels as matplotlib's savefig of that box,
    a box within a pixel of savefig's own tight box (text beyond the figure's edge included); Plot.svg is
    cut to the same box."""
    plot = _figure(tight, inside)

    @_styled
    def savefig(bbox) -> bytes:
        buf = io.BytesIO()
        plot.figure.savefig(buf, format="png", dpi=DPI, bbox_inches=bbox, metadata={"Software": None})
        return buf.getvalue()

    png = plot.png()
    crop = plot._crop
    assert (crop is not None) == tight
    assert png == savefig(crop)  # byte for byte
    px = png_size(png)
    if tight:
        tight_px = png_size(savefig("tight"))
        assert abs(px[0] - tight_px[0]) <= 1 and abs(px[1] - tight_px[1]) <= 1
        assert (px[1] > 3 * DPI) == (inside is not True)  # grown: to hold the label, or the padding
    else:
        assert px == (4 * DPI, 3 * DPI)
    (tmp_path / "f.svg").write_text(plot.svg(), encoding="utf-8")
    (width, height), texts = svg_size_and_text(tmp_path / "f.svg")
    assert abs(width * DPI / 72 - px[0]) < 0.01 and abs(height * DPI / 72 - px[1]) < 0.01
    assert {"Andel på ledighedsydelse", "Uger", "Kommune æøå"} <= set(texts)  # text kept as text
    view = [float(x) for x in re.search(r'viewBox="([^"]+)"', (tmp_path / "f.svg").read_text()).group(1).split()]
    if tight:  # the crop's corner in points, y from the top
        assert view == pytest.approx([crop.x0 * 72, (3 - crop.y1) * 72, crop.width * 72, crop.height * 72])


def test_the_print_header_is_a_css_string_that_reads_back():
    text = 'Kommunerapport: "Å</style>\\' + "\n"
    escaped = css_string(text)
    assert not set(escaped) & set('"<>\n\'') and re.sub(
        r"\\([0-9A-F]{6})", lambda m: chr(int(m.group(1), 16)), escaped) == text
    assert print_header("Rapporter: Ø", "31.12.2021").endswith("udtr\\0000E6ksdato 31.12.2021")
