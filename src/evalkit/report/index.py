"""The runner's index.html: links to every report and each municipality's criteria at a glance."""

from __future__ import annotations

import pandas as pd

import evalkit
from evalkit.report import suppression as sup
from evalkit.report.blocks import Table
from evalkit.report.cells import met_text, suppression_note
from evalkit.report.context import ReportContext
from evalkit.report.format import fmt_date  # the one Danish formatter; its names are used from here too
from evalkit.report.grids import criteria_forced, n_cases_text, status_grid
from evalkit.report.html import render_index, report_link
from evalkit.report.labels import CRITERIA_SHORT
from evalkit.report.sections import _criteria_rows
from evalkit.report.trends import index_arrows


def index_table(ctx: ReportContext, listed: list[tuple], entries: dict, threshold: int = sup.THRESHOLD) -> Table | None:
    """The index's table: each municipality's report and criteria at a glance (None without municipalities).

    index.html shows it and index.xlsx holds it (issue 11).
    """
    grid = status_grid(ctx, threshold)
    rows = []
    for name, kind, m, title in sorted((x for x in listed if x[1] == "municipality"), key=lambda x: str(x[2])):
        if m not in ctx.indicators["municipalities"]:
            continue
        b = ctx.indicators["municipalities"][m]
        row = {"Kommune": report_link(name, m, _status(entries, name)),
               "Runde": ", ".join(map(str, ctx.rounds_of.get(m, []))), "Forløb": n_cases_text(ctx, m, threshold, grid)}
        for r in _criteria_rows(b, threshold, criteria_forced(ctx, m, None, threshold)):
            short = CRITERIA_SHORT[r["key"]]
            row[short] = r["value"]
            row[f"{short}: mål"] = met_text(r["met"])
        row.update(index_arrows(ctx, m, threshold))  # up/down since the previous quarter (report/trends.py)
        rows.append(row)
    return Table(pd.DataFrame(rows), title="Kommunerapporter og succeskriterier", note=suppression_note(threshold),
                 count_cols=["Forløb"]) if rows else None


def _status(entries: dict, name: str) -> str | None:
    return entries.get(name, {}).get("status")


def index_page(ctx: ReportContext, listed: list[tuple], entries: dict, threshold: int = sup.THRESHOLD,
               workbook: str | None = None, table: Table | None = None) -> str:
    """The runner's index.html: links to every report and each municipality's criteria at a glance.

    `listed` holds (name, kind, municipality, title) of the reports; `entries`
    the manifest's per-report records (status "ok" or "failed"); `workbook` the
    index's Excel file, linked when given; `table` the `index_table`, when the caller has it.
    """
    meta = ctx.meta
    general = [{"name": n, "title": t, "status": _status(entries, n)}
               for n, kind, _, t in listed if kind in ("status", "rounds")]
    table = index_table(ctx, listed, entries, threshold) if table is None else table
    return render_index(str(meta.name), fmt_date(meta.extraction_date), evalkit.__version__,
                        meta.input_hash, general, table._repr_html_() if table is not None else "", workbook)
