"""TODO"""

from __future__ import annotations

import html

import pandas as pd

import evalkit
from evalkit.report import suppression as sup
from evalkit.report.blocks import Markup, Table
from evalkit.report.cells import met_text, suppression_note
from evalkit.report.format import fmt_date  # the one Danish formatter; its names are used from here too
from evalkit.report.grids import n_cases_text, status_grid
from evalkit.report.labels import CRITERIA_SHORT
from evalkit.report.sections import _criteria_rows


def index_page(ctx: dict, listed: list[tuple], entries: dict, threshold: int = sup.THRESHOLD) -> str:
    """The runner's index.html: links to every report and each municipality's criteria at a glance.

    `listed` holds (name, kind, municipality, title) of the reports; `entries`
    the manifest's per-report records (status "ok" or "failed").
    """
    import importlib.resources as res

    css = res.files("evalkit").joinpath("templates/report.css").read_text(encoding="utf-8")
    meta = ctx["meta"]

    def link(name, title):
        e = entries.get(name, {})
        if e.get("status") == "ok":
            return Markup(f'<a href="{html.escape(name)}.html">{html.escape(title)}</a>')
        if e.get("status") == "failed":
            return Markup(f'{html.escape(title)} <span class="ek-notmet">fejlede</span>')
        return Markup(html.escape(title))

    general = [link(n, t) for n, kind, _, t in listed if kind in ("status", "rounds")]
    grid = status_grid(ctx, threshold)
    rows = []
    for name, kind, m, title in sorted((x for x in listed if x[1] == "municipality"), key=lambda x: str(x[2])):
        if m not in ctx["indicators"]["municipalities"]:
            continue
        b = ctx["indicators"]["municipalities"][m]
        row = {"Kommune": link(name, m), "Runde": ", ".join(map(str, ctx["rounds_of"].get(m, []))),
               "Forløb": n_cases_text(ctx, m, threshold, grid)}
        for r in _criteria_rows(b, threshold):
            short = CRITERIA_SHORT[r["key"]]
            row[short] = r["value"]
            row[f"{short}: mål"] = met_text(r["met"])
        rows.append(row)
    table = Table(pd.DataFrame(rows), note=suppression_note(threshold),
                  count_cols=["Forløb"])._repr_html_() if rows else ""
    items = "".join(f"<li>{g}</li>" for g in general)
    return (
        '<!DOCTYPE html>\n<html lang="da">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f"<title>Rapporter: {html.escape(str(meta['name']))}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n"
        '<main class="report">\n'
        f"<h1>Rapporter: {html.escape(str(meta['name']))}</h1>\n"
        f"<p class='ek-note'>Udtræksdato {fmt_date(meta['extraction_date'])} · evalkit {html.escape(evalkit.__version__)}"
        f" · input-hash <code>{html.escape((meta['input_hash'] or '')[:12])}</code></p>\n"
        f"<h2>Tværgående rapporter</h2>\n<ul>{items}</ul>\n"
        f"<h2>Kommunerapporter og succeskriterier</h2>\n{table}\n"
        "</main>\n</body>\n</html>\n"
    )
