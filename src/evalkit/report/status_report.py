"""The cross-municipality status report (notebooks/status_report.ipynb): one method per section."""

from __future__ import annotations

import html

import pandas as pd

from evalkit.report import alt_text
from evalkit.report import suppression as sup
from evalkit.report.blocks import Html, Note, Section, Table
from evalkit.report.cells import fmt_masked, met_text, suppression_note
from evalkit.report.context import ReportContext
from evalkit.report.figure_tables import survival_weeks_table
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    HIDDEN,
    MISSING,
    fmt_date,
    fmt_int,
    fmt_pct,
)
from evalkit.report.grids import _municipality_order, criteria_forced, n_cases_text, s39_suppressed, status_grid
from evalkit.report.labels import CRITERIA_LABELS, CRITERIA_SHORT, STATUS_LABELS, TARGET_SIGN, _round_label
from evalkit.report.provenance import provenance_footer
from evalkit.report.sections import _criteria_rows


class StatusReport:
    """The sections of notebooks/status_report.ipynb: every municipality side by side."""

    def __init__(self, ctx: ReportContext, threshold: int = sup.THRESHOLD):
        self.ctx = ctx
        self.threshold = int(threshold)
        self.grid = status_grid(ctx, self.threshold)

    def _order(self) -> list[str]:
        """Municipalities by round, then name."""
        return _municipality_order(self.ctx)

    def title(self) -> Html:
        meta = self.ctx.meta
        return Html(f"<h1>Statusrapport: {html.escape(str(meta.name))}</h1><p class='ek-note'>Udtræksdato "
                    f"{fmt_date(meta.extraction_date)} · {fmt_int(len(self.ctx.municipalities))} kommuner · "
                    f"{n_cases_text(self.ctx, None, self.threshold, self.grid)} forløb</p>")

    def status_table(self) -> Table:
        """Status categories of every municipality with row and column totals, suppressed with secondary cells."""
        order = self._order()
        counts, mask = self.grid
        shown = counts.astype(object).copy()
        for i in counts.index:
            for c in counts.columns:
                shown.loc[i, c] = fmt_masked(counts.loc[i, c], mask.loc[i, c], self.threshold)
        frame = shown.rename(columns=STATUS_LABELS).reset_index(names="Kommune")
        frame.insert(1, "Runde", [", ".join(map(str, self.ctx.rounds_of[m])) for m in order] + [""])
        return Table(frame, title="Statuskategorier ved udtræksdatoen pr. kommune", note=suppression_note(self.threshold),
                     total_rows=[len(frame) - 1],
                     count_cols=[*(STATUS_LABELS[c] for c in counts.columns[:-1]), "I alt"], total_cols=["I alt"])

    def criteria_table(self) -> Table:
        """The three success criteria per municipality: value, CI and verdict."""
        rows = []
        blocks = [(m, self.ctx.indicators["municipalities"][m]) for m in self._order()]
        blocks += [(_round_label(r), self.ctx.indicators["rounds"][r]) for r in self.ctx.rounds]
        blocks.append(("Projektet i alt", self.ctx.indicators["project"]))
        where = [(m, None) for m in self._order()] + [(None, r) for r in self.ctx.rounds] + [(None, None)]
        for (label, b), (m, rnd) in zip(blocks, where):
            row = {"Kommune": label}
            for r in _criteria_rows(b, self.threshold, criteria_forced(self.ctx, m, rnd, self.threshold)):
                short = CRITERIA_SHORT[r["key"]]
                with_ci = r["ci"] not in (MISSING, HIDDEN)
                row[f"{short} (95 % CI)"] = f"{r['value']} ({r['ci']})" if with_ci else r["value"]
                row[f"{short}: mål"] = met_text(r["met"])
            rows.append(row)
        n_munis = len(self._order())
        targets = self.ctx.targets["default"]
        target_text = "; ".join(f"{CRITERIA_SHORT[k]} {TARGET_SIGN[k]} {fmt_pct(v)}" for k, v in targets.items())
        return Table(pd.DataFrame(rows), title="Succeskriterier pr. kommune, pr. runde og for projektet",
                     note=f"Standardmål: {target_text}. " + suppression_note(self.threshold),
                     total_rows=list(range(n_munis, len(rows))))

    def survival_grid(self):
        """Survival curves per municipality (small multiples) against the project curve."""
        from evalkit.report import plots

        t = self.threshold
        bundles = {m: self.ctx.units[(m, None)].survival for m in self._order()}
        project = self.ctx.survival["project"]
        curves = {m: sup.mask_curve(b["summary"].curve, t) for m, b in bundles.items()}
        fig = plots.survival_grid(curves, sup.mask_curve(project["summary"].curve, t))
        # the S(39) of each municipality and of the project as the criteria table shows them
        s39 = {label: next(r["value"] for r in _criteria_rows(b, t, criteria_forced(self.ctx, m, None, t))
                           if r["key"] == "sc2")
               for label, m, b in [*((m, m, b) for m, b in self.ctx.indicators["municipalities"].items()),
                                   ("Projektet i alt", None, self.ctx.indicators["project"])]}
        not_drawn = [m for m, c in curves.items() if c["survival"].notna().sum() == 0]
        fig.alt = alt_text.survival_grid([(m, s39[m]) for m in bundles], s39["Projektet i alt"], not_drawn)
        weeks = survival_weeks_table(
            [(label, b["summary"].curve, s39[label] == HIDDEN)
             for label, b in [*bundles.items(), ("Projektet i alt", project)]], t, label="Kommune",
            title="Andel stadig på ledighedsydelse efter antal uger pr. kommune (figurens data)")
        return Section(fig, weeks)

    def caterpillar(self, key: str):
        """Caterpillar plot of one criterion: every municipality with its CI against the project mean."""
        from evalkit.report import plots

        rows, hidden = [], []
        for m in self._order():
            b = self.ctx.indicators["municipalities"][m]
            if key == "sc2":
                value, low, high = b["sc2"]["value"], b["sc2"]["ci_low"], b["sc2"]["ci_high"]
                skip = s39_suppressed(b["survival"], self.threshold)
            else:
                c = b[key]
                value, low, high = c["value"], c["ci_low"], c["ci_high"]
                skip = sup.share_suppressed(c.get("k"), c["n"], self.threshold)
            if value is None or skip or criteria_forced(self.ctx, m, None, self.threshold)[key]:
                hidden.append(m)
                continue
            rows.append({"label": m, "value": value, "ci_low": low, "ci_high": high})
        project = self.ctx.indicators["project"][key]["value"]
        target = self.ctx.indicators["project"][key].get("target")
        if not rows:
            return Note(f"{CRITERIA_LABELS[key]}: ingen kommune har nok borgere til at blive vist.")
        fig = plots.caterpillar(pd.DataFrame(rows), project, target, title=CRITERIA_LABELS[key],
                                xlabel="Andel (95 % CI)", lower_is_better=(key == "sc2"))
        fig.alt = alt_text.caterpillar(pd.DataFrame(rows), project, target, CRITERIA_LABELS[key], key == "sc2", hidden)
        if hidden:
            return Section(fig, Note(f"Ikke vist (for få borgere eller ingen værdi): {', '.join(hidden)}.", kind="note"))
        return fig

    def footer(self, parameters: dict) -> Html:
        return provenance_footer(self.ctx, parameters, self.threshold)
