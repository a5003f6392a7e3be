"""The files `evalkit reports` writes beside each HTML report (issue 11).

- `<report>.xlsx`: the sheet "Om data" (the report, its provenance footer and the
  suppression note), then one sheet per table in the order of the report, read
  from the executed notebook's TABLE_MIME outputs (`evalkit.report.workbook`):
  the same cells the HTML shows, numbers as numbers with Danish formats;
- `<report>-figurer/<section>.png` and `.svg`: every figure, named after its
  section ('tid-til-fleksjob.png', a second figure of a section '-2'); the PNG is
  the very PNG embedded in the HTML (its bytes, not drawn again), the SVG the same
  figure saved as SVG in the kernel that drew it (`plots.Plot.svg`);
- `index.xlsx` for index.html (the index's own `Table`), and `indikatorer.csv` /
  `indikatorer.xlsx`: the run's tidy indicators as published (`evalkit.report.published`),
  from the report context the run computed anyway.

Everything is written under a temporary name and renamed (`iorw.write_atomic`);
the runner lists every file in manifest.json before or as it writes it.
"""

from __future__ import annotations

import base64
from pathlib import Path

from evalkit.data.names import municipality_key
from evalkit.iorw import write_atomic
from evalkit.report.context import ReportContext
from evalkit.report.html import print_header
from evalkit.report.workbook import ABOUT_MIME, FIGURE_MIME, TABLE_MIME, workbook_bytes

TIDY_CSV = "indikatorer.csv"
TIDY_XLSX = "indikatorer.xlsx"
INDEX_XLSX = "index.xlsx"
DOWNLOAD_TEXT = "Hent tabellerne som Excel"


def workbook_name(report: str) -> str:
    return f"{report}.xlsx"


def figure_folder(report: str) -> str:
    """The folder of a report's figures; listed in the manifest with a trailing '/' (the folder is evalkit's)."""
    return f"{report}-figurer"


def report_outputs(nb) -> tuple[list, list, list]:
    """(tables, figures, about) of an executed report notebook, in order.

    tables: (section heading, table payload); figures: (section heading, PNG bytes, SVG text);
    about: the footer's (label, text) rows. The section is the last '## ' heading above the output.
    """
    tables, figures, about = [], [], []
    section = "Oversigt"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    section = line[3:].strip()
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if TABLE_MIME in data:
                tables.append((section, data[TABLE_MIME]))
            if FIGURE_MIME in data and "image/png" in data:
                figures.append((section, base64.b64decode(data["image/png"]), data[FIGURE_MIME]["svg"]))
            if ABOUT_MIME in data:
                about = [tuple(x) for x in data[ABOUT_MIME]["items"]]
    return tables, figures, about


def about_rows(title: str, footer: list[tuple[str, str]], note: str, sheets: list[str]) -> list[tuple[str, str]]:
    """The sheet "Om data": the report, its provenance, the suppression note and what each sheet holds."""
    rows = [("Rapport", title), *footer, ("Om diskretionering", note)]
    if sheets:
        rows.append(("Ark", "; ".join(sheets)))
    return rows


def _sheets(tables: list) -> list[tuple[str, dict]]:
    """(label, payload): a table's caption, else its section."""
    return [(t.get("title") or section, t) for section, t in tables]


def write_report_exports(out: Path, report: str, title: str, nb, note: str) -> list[str]:
    """Write a report's workbook and figure files from its executed notebook; their names (relative to `out`)."""
    out = Path(out)
    tables, figures, footer = report_outputs(nb)
    sheets = _sheets(tables)
    written = [workbook_name(report)]
    write_atomic(out / written[0], workbook_bytes(about_rows(title, footer, note, [s for s, _ in sheets]), sheets))
    folder = out / figure_folder(report)
    folder.mkdir(exist_ok=True)
    names: dict[str, int] = {}
    keep = set()
    for section, png, svg in figures:
        stem = municipality_key(section) or "figur"
        names[stem] = names.get(stem, 0) + 1
        if names[stem] > 1:
            stem = f"{stem}-{names[stem]}"
        for suffix, data in ((".png", png), (".svg", svg)):
            write_atomic(folder / (stem + suffix), data)
            keep.add(stem + suffix)
            written.append(f"{figure_folder(report)}/{stem}{suffix}")
    for stale in folder.iterdir():  # figures of an earlier run of this report (the folder is evalkit's)
        if stale.is_file() and stale.name not in keep:
            stale.unlink()
    return written


def remove_report_exports(out: Path, report: str) -> None:
    """Remove a report's workbook and figures (a failed report must not leave stale ones)."""
    out = Path(out)
    (out / workbook_name(report)).unlink(missing_ok=True)
    folder = out / figure_folder(report)
    if folder.is_dir():
        for f in folder.iterdir():
            if f.is_file():
                f.unlink()
        folder.rmdir()


def write_index_workbook(out: Path, title: str, about: list[tuple[str, str]], note: str, table) -> str:
    """index.xlsx from the index's Table (report.index.index_table); its name."""
    from evalkit.report.workbook import table_payload

    sheets = [("Kommuner", table_payload(table))] if table is not None else []
    write_atomic(Path(out) / INDEX_XLSX, workbook_bytes(about_rows(title, about, note, [s for s, _ in sheets]),
                                                        sheets))
    return INDEX_XLSX


def write_tidy(out: Path, ctx: ReportContext, threshold: int, about: list[tuple[str, str]], note: str) -> list[str]:
    """indikatorer.csv and indikatorer.xlsx: the run's indicators as published; their names."""
    from evalkit.report.published import published_table
    from evalkit.report.tidy import INDICATORS, to_csv
    from evalkit.report.workbook import tidy_workbook

    frame = published_table(ctx, threshold)
    write_atomic(Path(out) / TIDY_CSV, to_csv(frame))
    about = about_rows("Indikatorer for hele kørslen", about, note, ["Indikatorer"])
    write_atomic(Path(out) / TIDY_XLSX, tidy_workbook(about, frame, {k: v[1] for k, v in INDICATORS.items()}))
    return [TIDY_CSV, TIDY_XLSX]


RUN_FILES = (INDEX_XLSX, TIDY_CSV, TIDY_XLSX)


def planned_files(reports: list[str]) -> list[str]:
    """What a run may write besides the HTML: each report's workbook and figure folder ('name/'), the run's files."""
    return [*(workbook_name(r) for r in reports), *(figure_folder(r) + "/" for r in reports), *RUN_FILES]


def suppression_note(threshold) -> str:
    from evalkit.report import cells, suppression

    return cells.suppression_note(int(threshold) if threshold is not None else suppression.THRESHOLD)


def page_metadata(report: str, nb) -> dict:
    """What the report template shows besides the notebook: the download links, the date for printed pages."""
    footer = dict(report_outputs(nb)[2])
    date = footer.get("Udtræksdato")
    title = nb.metadata.get("title") or report
    return {"xlsx": workbook_name(report), "figures": figure_folder(report) + "/",
            "print_header": print_header(title, date)}


def run_about(ctx: ReportContext, threshold: int) -> list[tuple[str, str]]:
    """Provenance of the run's own files (index.xlsx, indikatorer.*): what the reports' footers say of the data."""
    import evalkit
    from evalkit.report.format import MISSING, fmt_date

    meta = ctx.meta
    folder = f" (mappe {meta.folder})" if meta.folder else ""
    return [("Datasæt", f"{meta.name}{folder}"), ("Udtræksdato", fmt_date(meta.extraction_date)),
            ("Input-hash (SHA-256)", meta.input_hash or MISSING), ("evalkit-version", evalkit.__version__),
            ("Diskretionering", f"tærskel {threshold} personer (SPEC afsnit 5)"),
            ("Beregnet", str(meta.built or MISSING))]


def write_index_workbook_of_run(out: Path, ctx: ReportContext, index_table, threshold: int) -> str:
    """index.xlsx of a run (written with index.html, when every report's state is known); its name."""
    return write_index_workbook(out, f"Rapporter: {ctx.meta.name}", run_about(ctx, threshold),
                                suppression_note(threshold), index_table)


def write_tidy_of_run(out: Path, ctx: ReportContext, threshold: int) -> list[str]:
    """The run's tidy indicators files (they need the context only: written while the notebooks run); their names."""
    return write_tidy(out, ctx, threshold, run_about(ctx, threshold), suppression_note(threshold))
