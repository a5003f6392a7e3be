"""Every report of the sample says what the committed snapshot says: the same visible text and the
same tables, cell by cell, with the same `data-kind` marks (time stamps and paths aside); and the
files beside the reports (issue 11) hold what the reports show, read back independently
(tests/export_reading.py) from the same run.

The snapshot (tests/snapshots/sample_reports.json) pins what the reports say, so a change
of structure (a module moved, a template instead of an f-string) is seen to change nothing.
When a change is meant to change what the reports say, regenerate it and commit it with
the change:

    .venv/bin/python tests/report_snapshot.py
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from export_reading import (
    cell_mismatches,
    embedded_pngs,
    footer_rows,
    html_tables,
    png_size,
    sheet_table,
    svg_size_and_text,
    workbook_sheets,
)
from report_snapshot import SAMPLE, SNAPSHOT, extract, first_difference

from evalkit.cli import main
from evalkit.runner.manifest import read_manifest


def test_extract_reads_text_tables_and_marks():
    page = ('<html><head><style>p {}</style></head><body><h2 id="x">Nøgletal<a>¶</a></h2><p>Beregnet '
            '2021-12-31T10:11:12, data=\'/tmp/a\'</p><div class="ek-scroll"><table><caption>T</caption>'
            '<thead><tr><th>Kommune</th><th data-kind="count">Antal</th></tr></thead><tbody>'
            '<tr class="total" data-kind="count"><td>I alt</td><td>&lt;5</td></tr></tbody></table></div>'
            '<img src="data:image/png;base64,AA"></body></html>')
    assert extract(page) == {
        "text": ["Nøgletal", "Beregnet <tidspunkt>, data='…'"],
        "tables": [{"caption": "T", "header": ["Kommune", "Antal"], "header_kinds": ["", "count"],
                    "rows": [["total kind=count", "I alt", "<5"]]}],
        "images": 1,
    }


@pytest.fixture(scope="module")
def sample_run(rendered_reports) -> tuple[Path, dict]:
    """Every report of the sample rendered once per session (conftest.rendered_reports: the snapshot,
    the files beside the reports, the accessibility and browser tests read the same run):
    (the --out folder, file name -> extract)."""
    run = rendered_reports("sample")
    return run.out, {name: extract(page) for name, page in run.pages.items()}


def test_every_report_of_the_sample_says_what_the_snapshot_says(sample_run):
    pages = sample_run[1]
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert len(pages) == 22  # 19 municipalities, the status report, the round comparison, the index
    assert first_difference(expected, pages) == ""
    assert pages == expected


# --- issue 11: the files beside the reports, from the same run ------------------------------

EXPORTED = ["kommune-faxe", "kommune-koebenhavn", "statusrapport", "rundesammenligning", "index"]


def page(out: Path, name: str) -> str:
    return (out / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", EXPORTED)
def test_every_html_table_has_a_sheet_with_the_same_cells(sample_run, name):
    out = sample_run[0]
    html = page(out, name)
    tables = html_tables(html)
    sheets = workbook_sheets(out / f"{name}.xlsx")
    names = list(sheets)
    assert names[0] == "Om data" and len(names) == 1 + len(tables) and len(tables) >= 1
    problems = []
    for table, sheet in zip(tables, names[1:], strict=True):
        header, body = sheet_table(sheets[sheet])
        assert header == table["header"], sheet
        problems += cell_mismatches(f"{name}.xlsx {sheet!r}", table["rows"], body)
    assert problems == []
    numbers = sum(isinstance(c.value, (int, float)) for s in names[1:] for row in sheets[s][1:] for c in row)
    assert numbers >= 10


@pytest.mark.parametrize("name", EXPORTED)
def test_the_about_sheet_holds_the_provenance_and_the_suppression_note(sample_run, name):
    out = sample_run[0]
    about = {row[0].value: row[1].value for row in workbook_sheets(out / f"{name}.xlsx")["Om data"]}
    html = page(out, name)
    for label, text in footer_rows(html):  # the report's footer, row by row
        assert about[label] == text
    assert "<5" in about["Om diskretionering"] and about["Udtræksdato"] == "31.12.2021"


@pytest.mark.parametrize("name", EXPORTED)
def test_every_report_links_its_workbook(sample_run, name):
    assert f'<a href="{name}.xlsx">Hent tabellerne som Excel</a>' in page(sample_run[0], name)


@pytest.mark.parametrize("name", EXPORTED[:4])
def test_every_figure_is_the_embedded_png_and_an_svg_of_its_crop(sample_run, name):
    out = sample_run[0]
    embedded = embedded_pngs(page(out, name))
    folder = out / f"{name}-figurer"
    pngs = sorted(folder.glob("*.png"))
    # the very bytes embedded in the HTML, one file per embedded figure
    assert len(embedded) >= 2 and sorted(p.read_bytes() for p in pngs) == sorted(embedded)
    assert sorted(p.name for p in folder.iterdir()) == sorted([p.name for p in pngs] + [p.stem + ".svg" for p in pngs])
    for png in pngs:
        (width, height), texts = svg_size_and_text(png.with_suffix(".svg"))
        px = png_size(png.read_bytes())
        assert abs(width * 96 / 72 - px[0]) <= 1 and abs(height * 96 / 72 - px[1]) <= 1, png.name  # the PNG's crop
        assert texts  # text kept as text (searchable, editable)
    sections = {re.sub(r"-\d+$", "", p.stem) for p in pngs}
    if name.startswith("kommune-"):
        assert {"tid-til-fleksjob", "timeprogression", "sagsstamme-og-resultater"} <= sections


def test_the_manifest_lists_every_file_written(sample_run):
    out = sample_run[0]
    files = set(read_manifest(out)["files"])
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert written - files == set()
    assert {"indikatorer.csv", "indikatorer.xlsx", "index.xlsx", "kommune-faxe-figurer/"} <= files


def test_printed_pages_carry_the_title_and_extraction_date(sample_run):
    """The @page margin box's text, read back from its CSS escapes."""
    for name, title in (("kommune-faxe", "Kommunerapport: Faxe"), ("statusrapport", "Statusrapport"),
                        ("index", "Rapporter: ")):
        found = re.search(r'@top-left \{ content: "([^"]*)"; \}', page(sample_run[0], name))
        text = re.sub(r"\\([0-9A-F]{6})", lambda m: chr(int(m.group(1), 16)), found.group(1))
        assert text.startswith(title) and text.endswith(" · udtræksdato 31.12.2021"), text


def cli(*args) -> str:
    result = CliRunner().invoke(main, ["indicators", str(SAMPLE), *args])
    assert result.exit_code == 0, result.output
    return result.output


def published(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "indikatorer.csv", dtype=str, keep_default_na=False)


def test_the_tidy_file_agrees_with_indicators_json_where_it_shows_a_value(sample_run):
    tidy = published(sample_run[0])
    checks = {("projekt", "", ""): [], ("runde", "", "2"): ["--round", "2"],
              ("kommune", "Faxe", ""): ["--municipality", "Faxe"],
              ("kommune_runde", "Odense", "2"): ["--municipality", "Odense", "--round", "2"]}
    compared = 0
    for (scope, m, r), args in checks.items():
        block = json.loads(cli(*args, "--json"))
        rows = tidy[(tidy["omfang"] == scope) & (tidy["kommune"] == m) & (tidy["runde"] == r)].set_index("indikator")
        expect = {
            "n_cases": (block["n_cases"], None, None, block["n_cases"]),
            "sc1": (block["sc1"]["value"], block["sc1"]["ci_low"], block["sc1"]["ci_high"], block["sc1"]["n"]),
            "sc2": (block["sc2"]["value"], block["sc2"]["ci_low"], block["sc2"]["ci_high"], block["survival"]["n"]),
            "sc3": (block["sc3"]["value"], block["sc3"]["ci_low"], block["sc3"]["ci_high"], block["sc3"]["n"]),
            "median_weeks": (block["survival"]["median_weeks"], None, None, block["survival"]["n"]),
            "follow_up_2": (block["follow_up"]["share_2"], None, None, block["follow_up"]["n"]),
            "step_up": (block["step_up"]["share"], None, None, block["step_up"]["n"]),
        }
        for code, (value, low, high, n) in expect.items():
            row = rows.loc[code]
            for column, want in (("værdi", value), ("ci_nedre", low), ("ci_øvre", high), ("n", n)):
                shown = row[column]
                if shown in ("x", "<5"):
                    continue
                compared += 1
                assert (shown == "" and want is None) or math.isclose(float(shown), want, rel_tol=1e-12), \
                    (scope, m, code, column)
        for code in ("sc1", "sc2", "sc3"):
            target, met = block[code]["target"], block[code]["met"]
            assert float(rows.loc[code, "mål"]) == target
            if rows.loc[code, "værdi"] != "x":
                assert rows.loc[code, "opfyldt"] == ("" if met is None else str(met).lower())
    assert compared >= 80


def test_indicators_csv_prints_the_same_table_unsuppressed(sample_run):
    full = pd.read_csv(io.StringIO(cli("--csv")), dtype=str, keep_default_na=False)
    shown = published(sample_run[0])
    assert list(full.columns) == list(shown.columns) and len(full) == len(shown)
    keys = ["omfang", "kommune", "runde", "indikator"]
    assert full[keys].equals(shown[keys])
    assert set(shown["omfang"]) == {"projekt", "runde", "kommune", "kommune_runde"}
    hidden = 0
    for column in ("værdi", "ci_nedre", "ci_øvre", "n"):
        for a, b in zip(full[column], shown[column], strict=True):
            if b in ("x", "<5"):
                hidden += 1
                assert math.isfinite(float(a))  # a plain number where the file hides it
            else:
                assert a == b
    assert hidden >= 1
    one = pd.read_csv(io.StringIO(cli("--csv", "--municipality", "faxe")))
    assert set(one["kommune"]) == {"Faxe"} and set(one["omfang"]) == {"kommune", "kommune_runde"}


def test_the_tidy_workbook_holds_the_csv(sample_run):
    csv = published(sample_run[0])
    sheets = workbook_sheets(sample_run[0] / "indikatorer.xlsx")
    header, body = sheet_table(sheets["Indikatorer"])
    assert header == list(csv.columns) and len(body) == len(csv)
    for row, cells in zip(csv.itertuples(index=False), body, strict=True):
        for text, cell in zip(row, cells, strict=True):
            value = cell.value
            if isinstance(value, bool):
                assert text == str(value).lower()
            elif isinstance(value, (int, float)):
                assert math.isclose(float(text), value, rel_tol=1e-12)
            else:
                assert (value or "") == text
    kinds = {"sc1", "sc2", "sc3", "follow_up_2", "step_up"}
    shares = [cells[5] for row, cells in zip(csv.itertuples(index=False), body, strict=True)
              if row.indikator in kinds and isinstance(cells[5].value, float)]
    assert len(shares) >= 20 and all(c.number_format == "0.0 %" for c in shares)
