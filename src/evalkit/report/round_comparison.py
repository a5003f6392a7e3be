"""The round comparison (notebooks/round_comparison.ipynb): one method per section."""

from __future__ import annotations

import html

import pandas as pd

from evalkit.report import alt_text
from evalkit.report import suppression as sup
from evalkit.report.blocks import Html, Note, Section, Table
from evalkit.report.cells import fmt_share, hide_if, suppression_note
from evalkit.report.context import ReportContext
from evalkit.report.figure_tables import survival_weeks_table
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    HIDDEN,
    MISSING,
    fmt_ci,
    fmt_date,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_pp,
)
from evalkit.report.format import p_relation as _p_relation
from evalkit.report.grids import at_risk_texts, count_hidden, count_text, linked_band_codes, linked_text, s39_suppressed
from evalkit.report.labels import COVARIATE_LABELS, CRITERIA_LABELS, LEVEL_LABELS, _round_label
from evalkit.report.provenance import provenance_footer
from evalkit.report.sections import (
    _change_table,
    _mean_or_none,
    _mean_text,
    _median_text,
    band_bars,
    change_distribution,
)
from evalkit.stats.criteria import share_difference


class RoundComparison:
    """The sections of notebooks/round_comparison.ipynb: round 1 against round 2."""

    def __init__(self, ctx: ReportContext, threshold: int = sup.THRESHOLD):
        self.ctx = ctx
        self.threshold = int(threshold)
        self.rounds = ctx.rounds

    def enough_rounds(self) -> bool:
        return len(self.rounds) >= 2

    def _need_rounds(self):
        return Note("Datasættet har kun én runde, så runderne kan ikke sammenlignes.")

    def title(self) -> Html:
        meta = self.ctx.meta
        spans = "; ".join(f"runde {r}: {fmt_date(a)}-{fmt_date(b)}" for r, (a, b) in meta.rounds.items())
        return Html(f"<h1>Sammenligning af runder: {html.escape(str(meta.name))}</h1><p class='ek-note'>"
                    f"Udtræksdato {fmt_date(meta.extraction_date)}" + (f" · {spans}" if spans else "") + "</p>")

    def overview(self) -> Table:
        t = self.threshold
        rows = []
        for r in self.rounds:
            b = self.ctx.indicators["rounds"][r]
            munis = [m for m in self.ctx.municipalities if r in self.ctx.rounds_of[m]]
            rows.append({"Runde": str(r), "Kommuner": fmt_int(len(munis)), "Forløb": count_text(self.ctx, "n_cases", None, r, b["n_cases"], t),
                         "Kommunerne": ", ".join(munis)})
        return Table(pd.DataFrame(rows), count_cols=["Forløb"], title="Runderne: kommuner og forløb")

    def survival_figure(self):
        from evalkit.report import plots

        if not self.enough_rounds():
            return self._need_rounds()
        t = self.threshold
        curves = [(_round_label(r), sup.mask_curve(bundle["summary"].curve, t),
                   at_risk_texts(self.ctx, bundle, ("R", r), t))
                  for r, bundle in ((r, self.ctx.survival["rounds"][r]) for r in self.rounds)]
        fig = plots.survival_plot(curves, title="Tid på ledighedsydelse til fleksjob pr. runde")
        if fig is None:
            return Note("For få borgere i risiko til at tegne kurverne (diskretionering).")
        frame = self._logrank_rows().frame
        fig.alt = alt_text.survival([(_round_label(r), s39, median) for r, s39, median
                                     in zip(self.rounds, frame["S(39)"], frame["Median uger"])])
        return fig

    def logrank_table(self):
        """S(39), the median and the log-rank test per round, and the curves read at fixed weeks (the figure's data)."""
        if not self.enough_rounds():
            return self._need_rounds()
        table = self._logrank_rows()
        hidden = dict(zip(self.rounds, table.frame["S(39)"] == HIDDEN))
        weeks = survival_weeks_table(
            [(_round_label(r), self.ctx.survival["rounds"][r]["summary"].curve, hidden[r]) for r in self.rounds],
            self.threshold, label="Runde", title="Andel stadig på ledighedsydelse efter antal uger pr. runde (figurens data)")
        return Section(table, weeks)

    def _logrank_rows(self) -> Table:
        t = self.threshold
        lr = self.ctx.indicators["project"].get("logrank_rounds") or {}
        rows = []
        for r in self.rounds:
            s = self.ctx.survival["rounds"][r]["summary"]
            hidden = s39_suppressed(s.to_json(), t) or count_hidden(self.ctx, ("survival_n", "survival_events"),
                                                                   None, r, t)
            rows.append({"Runde": str(r), "Borgere": count_text(self.ctx, "survival_n", None, r, s.n, t),
                         "I fleksjob": count_text(self.ctx, "survival_events", None, r, s.events, t),
                         "S(39)": HIDDEN if hidden and s.s39 is not None else fmt_pct(s.s39),
                         "95 % CI": fmt_ci(s.s39_ci_low, s.s39_ci_high, hidden and s.s39 is not None),
                         "Median uger": HIDDEN if hidden and s.median_weeks is not None else fmt_num(s.median_weeks)})
        test = (f"Log-rank-test med venstretrunkering (Cox-scoretest, Efron): χ² = {fmt_num(lr.get('statistic'), 2)}, "
                f"frihedsgrader {lr.get('df') if lr.get('df') is not None else MISSING}, "
                f"p {_p_relation(lr.get('p_value'))}.") if lr.get("statistic") is not None else (
                "Log-rank-testen kan ikke beregnes (ingen hændelser eller kun én runde med borgere).")
        return Table(pd.DataFrame(rows), note=test, count_cols=["Borgere", "I fleksjob"],
                     title="S(39), median og log-rank-test pr. runde")

    def cox_table(self):
        if not self.enough_rounds():
            return self._need_rounds()
        cox = self.ctx.cox
        table = cox.get("table")
        if table is None or table.empty:
            return Note("Cox-modellen kan ikke estimeres (for få hændelser eller ingen variation i runde).")
        t = self.threshold
        rows = []
        for _, r in table.iterrows():
            n = cox["counts"].get(r["term"], 0)
            hidden = sup.stat_suppressed(n, t) or linked_text(self.ctx, ("cox_level", r["term"]), n, t) == HIDDEN
            cov = COVARIATE_LABELS.get(r["covariate"], r["covariate"])
            level = str(r["term"]).split("=", 1)[-1]
            ref = str(r["reference"]).split("=", 1)[-1] if r["reference"] else ""
            rows.append({
                "Variabel": cov,
                "Niveau (mod reference)": f"{LEVEL_LABELS.get(level, level)} (mod {LEVEL_LABELS.get(ref, ref)})",
                "Borgere": linked_text(self.ctx, ("cox_level", r["term"]), n, t),
                "Hazard ratio": HIDDEN if hidden else fmt_num(r["hazard_ratio"], 2),
                "95 % CI": fmt_ci(r["ci_low"], r["ci_high"], hidden, pct=False, decimals=2),
                "p-værdi": HIDDEN if hidden else fmt_p(r["p_value"]),
            })
        covs = ", ".join(COVARIATE_LABELS.get(c, c).lower() for c in cox["covariates"])
        return Table(pd.DataFrame(rows), title="Cox-model: hazard ratio for fleksjob", note=(
            f"Cox-model for tid til fleksjob med venstretrunkering og Efron-ties, justeret for {covs}. "
            f"{linked_text(self.ctx, ('cox_n',), cox.get('n') or 0, t)} borgere, "
            f"{linked_text(self.ctx, ('cox_events',), cox.get('events') or 0, t)} i fleksjob. "
            "Hazard ratio over 1: hurtigere i fleksjob end referencen."), count_cols=["Borgere"])

    def criteria_differences(self):
        """Criteria 1 and 3: each round's share and the difference (last round minus first) with a 95 % CI."""
        if not self.enough_rounds():
            return self._need_rounds()
        t = self.threshold
        r1, r2 = self.rounds[0], self.rounds[-1]
        rows = []
        for key in ("sc1", "sc3"):
            a, b = self.ctx.indicators["rounds"][r1][key], self.ctx.indicators["rounds"][r2][key]
            hide_a = count_hidden(self.ctx, (f"{key}_n",), None, r1, t)
            hide_b = count_hidden(self.ctx, (f"{key}_n",), None, r2, t)
            hidden = (sup.share_suppressed(a.get("k"), a["n"], t) or sup.share_suppressed(b.get("k"), b["n"], t)
                      or hide_a or hide_b)
            d = share_difference(a.get("k", 0), a["n"], b.get("k", 0), b["n"])
            rows.append({
                "Succeskriterium": CRITERIA_LABELS[key],
                f"Runde {r1}": hide_if(fmt_share(a.get("k"), a["n"], a["value"], t), hide_a),
                f"Personer, runde {r1}": count_text(self.ctx, f"{key}_n", None, r1, a["n"], t),
                f"Runde {r2}": hide_if(fmt_share(b.get("k"), b["n"], b["value"], t), hide_b),
                f"Personer, runde {r2}": count_text(self.ctx, f"{key}_n", None, r2, b["n"], t),
                "Forskel": HIDDEN if hidden and d["diff"] is not None else fmt_pp(d["diff"]),
                "95 % CI": fmt_ci(d["ci_low"], d["ci_high"], hidden and d["diff"] is not None),
            })
        return Table(pd.DataFrame(rows), title="Succeskriterium 1 og 3 pr. runde og forskellen", note=(
            f"Forskel = runde {r2} minus runde {r1} i procentpoint, Newcombes interval (Wilson-baseret). "
            + suppression_note(t)), count_cols=[f"Personer, runde {r1}", f"Personer, runde {r2}"])

    def hours_figure(self):
        from evalkit.report import plots

        if not self.enough_rounds():
            return self._need_rounds()
        prog = self.ctx.progression
        if prog.empty:
            return Note("Ingen borgere med målbar progression i effektive timer.")
        groups = {}
        for r in self.rounds:
            p = prog[prog["round"] == r]
            if sup.stat_suppressed(len(p), self.threshold):
                continue
            hide = count_hidden(self.ctx, ("sc3_n",), None, r, self.threshold)
            groups[_round_label(r)] = {"first": None if hide else _mean_or_none(p["first_effective"], self.threshold),
                                       "last": None if hide else _mean_or_none(p["last_effective"], self.threshold),
                                       "bands": band_bars(change_distribution(
                                           p["change"], self.threshold, hide,
                                           linked_band_codes(self.ctx, ("R", r), self.threshold)), self.threshold)}
        if not groups:
            return Note("For få borgere med målbar progression i hver runde (diskretionering).")
        fig = plots.hours_plot(groups)
        fig.alt = alt_text.hours(groups)
        return fig

    def hours_table(self):
        if not self.enough_rounds():
            return self._need_rounds()
        t = self.threshold
        prog = self.ctx.progression
        rows = []
        for r in self.rounds:
            p = prog[prog["round"] == r]
            hide = count_hidden(self.ctx, ("sc3_n",), None, r, t)
            rows.append({"Runde": str(r), "Borgere": count_text(self.ctx, "sc3_n", None, r, len(p), t),
                         "Gns. første effektive timer": hide_if(_mean_text(p["first_effective"], t), hide),
                         "Gns. seneste effektive timer": hide_if(_mean_text(p["last_effective"], t), hide),
                         "Gns. ændring": hide_if(_mean_text(p["change"], t, 2), hide),
                         "Median ændring": hide_if(_median_text(p["change"], t, 2), hide)})
        means = Table(pd.DataFrame(rows), note=suppression_note(t), count_cols=["Borgere"],
                      title="Effektive timer pr. uge pr. runde: første og seneste måned")
        dists = {f"runde {r}": change_distribution(prog.loc[prog["round"] == r, "change"], t,
                                                   count_hidden(self.ctx, ("sc3_n",), None, r, t),
                                                   linked_band_codes(self.ctx, ("R", r), t))
                 for r in self.rounds if not sup.stat_suppressed(int((prog["round"] == r).sum()), t)}
        if not dists:
            return means
        return Section(means, _change_table(dists, t, title="Ændring i effektive timer pr. runde (figurens data)"))

    def footer(self, parameters: dict) -> Html:
        return provenance_footer(self.ctx, parameters, self.threshold)
