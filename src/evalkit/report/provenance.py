"""The footer of every report: what data and parameters it was made from (no paths), and data quality."""

from __future__ import annotations

import html

import evalkit
from evalkit.report.blocks import Footer
from evalkit.report.cells import fmt_count, fmt_subset
from evalkit.report.context import ReportContext, file_name
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    MISSING,
    fmt_date,
    fmt_int,
)
from evalkit.report.grids import n_cases_text


def public_parameters(parameters: dict) -> dict:
    """Report parameters as published (footers, manifest.json): no path of this machine.

    The dataset is named by its dataset.yml name and folder name elsewhere, so
    `data` and the runner's `context_cache` are left out; a targets file is shown
    by its file name.
    """
    shown = {k: v for k, v in parameters.items() if k not in ("data", "context_cache")}
    if shown.get("targets_file"):
        shown["targets_file"] = file_name(shown["targets_file"])
    return shown


def provenance_footer(ctx: ReportContext, parameters: dict, threshold: int, quality: dict | None = None) -> Footer:
    """Data quality and provenance: rows loaded, extraction date, input hash, version, parameters."""
    meta = ctx.meta
    rows = meta.rows
    items = [
        ("Datasæt", html.escape(str(meta.name) + (f" (mappe {meta.folder})" if meta.folder else ""))),
        ("Udtræksdato", fmt_date(meta.extraction_date)),
        ("Rækker indlæst", html.escape(
            f"forløb {n_cases_text(ctx, None, threshold)}, timer {fmt_int(rows['hours'])}, "
            f"kontakter {fmt_int(rows['contacts'])}, målstyring {fmt_int(rows['goals'])}")),
    ]
    if quality:
        q = quality

        def part(k):  # a subset of the cases shown beside them: hidden when the rest is 1 to threshold-1
            return fmt_subset(k, q["cases"], threshold)

        items.append(("Datakvalitet i udvalget", html.escape(
            f"forløb {q.get('cases_text') or fmt_count(q['cases'], threshold)}; med start på ledighedsydelse "
            f"{part(q['with_benefit_start'])}; med timeregistreringer "
            f"{part(q['with_hours'])}; med kontakter {part(q['with_contacts'])}"
            + (f"; uden køn {part(q['missing_sex'])}" if q.get("missing_sex") is not None else "")
            + (f"; uden aldersgruppe {part(q['missing_age_band'])}"
               if q.get("missing_age_band") is not None else ""))))
    items += [
        ("Input-hash (SHA-256)", f"<code>{html.escape(meta.input_hash or MISSING)}</code>"),
        ("evalkit-version", html.escape(evalkit.__version__)),
        ("Parametre", "<code>" + html.escape(", ".join(f"{k}={v!r}" for k, v in public_parameters(parameters).items()))
         + "</code>"),
        ("Diskretionering", html.escape(f"tærskel {threshold} personer (SPEC afsnit 5)")),
        ("Beregnet", html.escape(str(meta.built))),
    ]
    body = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in items)
    return Footer(f'<div class="ek-footer"><table><caption>Datagrundlag, parametre og datakvalitet</caption>'
                  f'{body}</table></div>', items)
