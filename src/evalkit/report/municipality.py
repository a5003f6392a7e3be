"""The municipality report (notebooks/municipality.ipynb): one method per section, each returning a
`Table`, a figure, a `Section` or a `Note` (evalkit.report.blocks).
"""

from __future__ import annotations

import html

import pandas as pd

from evalkit.report import alt_text
from evalkit.report import suppression as sup
from evalkit.report.blocks import Html, Markup, Note, Row, Section, Table
from evalkit.report.cells import fmt_count, fmt_share, hide_if, met_text, suppression_note
from evalkit.report.context import ReportContext
from evalkit.report.figure_tables import caseload_points_table, survival_weeks_table
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    HIDDEN,
    MISSING,
    fmt_ci,
    fmt_date,
    fmt_int,
    fmt_num,
    fmt_pct,
)
from evalkit.report.grids import (
    at_risk_texts,
    count_hidden,
    count_text,
    linked_band_codes,
    linked_scope,
    linked_text,
    n_cases_text,
    s39_suppressed,
    status_grid,
)
from evalkit.report.labels import CRITERIA_LABELS, TARGET_SIGN, _round_label, _s39_reason_da
from evalkit.report.provenance import provenance_footer
from evalkit.report.sections import (
    _change_table,
    _criteria_rows,
    _mean_or_none,
    _mean_text,
    _median_text,
    _regression_rows,
    _status_table,
    band_bars,
    change_distribution,
)

CASELOAD_YLABEL = "Andel i fleksjob inden 39 uger"


class MunicipalityReport:
    """The sections of notebooks/municipality.ipynb for one municipality (and optionally round)."""

    def __init__(self, ctx: ReportContext, municipality: str, round_: int | None = None,
                 threshold: int = sup.THRESHOLD, conversation_days: float = 3, weeks_per_year: float = 44):
        if municipality not in ctx.municipalities:
            raise ValueError(f"no cases in municipality {municipality!r}")
        self.ctx = ctx
        self.municipality = municipality
        own_rounds = ctx.rounds_of[municipality]
        if round_ is not None and int(round_) not in own_rounds:
            raise ValueError(f"municipality {municipality!r} has no cases in round {round_}")
        key = (municipality, int(round_)) if round_ is not None and len(own_rounds) > 1 else (municipality, None)
        self.unit = ctx.units[key]
        self.round = int(round_) if round_ is not None else (own_rounds[0] if len(own_rounds) == 1 else None)
        self.threshold = int(threshold)
        self.conversation_days = conversation_days
        self.weeks_per_year = weeks_per_year
        self.ind = self.unit.indicators
        self.whole = key[1] is None  # the whole municipality, as in the status report (not one of its rounds)
        self.grid = status_grid(ctx, self.threshold)  # the status report's counts and suppression mask

    def _own_count(self, name: str, value) -> str:
        """A person count (PERSON_COUNTS) of this report's municipality, or its round, as `count_grid` shows it."""
        return count_text(self.ctx, name, self.municipality, None if self.whole else self.round, value,
                          self.threshold)

    @property
    def _own(self) -> tuple:
        """(municipality, round or None): this report's cells of the count grids."""
        return self.municipality, None if self.whole else self.round

    def _project_count(self, name: str, value, round_: int | None = None) -> str:
        """A person count of the project (or a round) as `count_grid` shows it."""
        return count_text(self.ctx, name, None, round_, value, self.threshold)

    def title(self) -> Html:
        meta = self.ctx.meta
        rounds = ", ".join(str(r) for r in self.ctx.rounds_of[self.municipality])
        sub = (f"{html.escape(str(meta.name))} · udtræksdato {fmt_date(meta.extraction_date)} · "
               f"runde {html.escape(str(self.round) if self.round is not None else rounds)}")
        return Html(f"<h1>Kommunerapport: {html.escape(self.municipality)}</h1><p class='ek-note'>{sub}</p>")

    def _columns(self) -> list[tuple[str, dict]]:
        """(label, indicator block): the municipality, each round, the project."""
        cols = [(self.municipality, self.ind)]
        for r in self.ctx.rounds:
            own = " (egen runde)" if r == self.round else ""
            cols.append((f"{_round_label(r)}{own}", self.ctx.indicators["rounds"][r]))
        cols.append(("Projektet i alt", self.ctx.indicators["project"]))
        return cols

    def key_figures(self) -> Table:
        """Key figures of the municipality beside each round and the project average."""
        t, ctx = self.threshold, self.ctx
        cols = self._columns()
        where = [self._own, *((None, r) for r in ctx.rounds), (None, None)]  # the count grids' cells of cols

        def count(label: str, name: str, get) -> Row:
            """A person count as its grid shows it in every report (hidden in one, hidden in all)."""
            return Row(label, tuple(count_text(ctx, name, m, r, get(b), t) for (m, r), (_, b) in zip(where, cols)),
                       counts=True, sources=(name,))

        def stat(label: str, sources: tuple[str, ...], value) -> Row:
            """A statistic, hidden where a person count it rests on is hidden (below, or in another table)."""
            cells = [value(b) for _, b in cols]
            return Row(label, tuple(HIDDEN if v != MISSING and count_hidden(ctx, sources, m, r, t) else v
                                    for v, (m, r) in zip(cells, where)), sources=sources)

        survival = ("survival_n", "survival_events")
        rows = [
            count("Forløb i projektet", "n_cases", lambda b: b["n_cases"]),
            count("Borgere på ledighedsydelse ved start", "sc1_n", lambda b: b["sc1"]["n"]),
            stat("Andel i fleksjob (succeskriterium 1)", ("sc1_n",), lambda b: fmt_share(
                b["sc1"].get("k"), b["sc1"]["n"], b["sc1"]["value"], t)),
            stat("Stadig på ledighedsydelse efter 39 uger, S(39)", survival, lambda b: (
                HIDDEN if s39_suppressed(b["survival"], t) and b["survival"]["s39"] is not None
                else fmt_pct(b["survival"]["s39"]))),
            stat("Median uger til fleksjob", survival, lambda b: (
                HIDDEN if s39_suppressed(b["survival"], t) and b["survival"]["median_weeks"] is not None
                else fmt_num(b["survival"]["median_weeks"]))),
            stat("Andel med progression i effektive timer (succeskriterium 3)", ("sc3_n",), lambda b: fmt_share(
                b["sc3"].get("k"), b["sc3"]["n"], b["sc3"]["value"], t)),
            stat("Gns. ændring i effektive timer", ("sc3_n",), lambda b: (
                MISSING if not b["sc3"]["n"] else HIDDEN if sup.stat_suppressed(b["sc3"]["n"], t)
                else fmt_num(b["sc3"]["mean_change"], 2))),
            stat("Fleksjob med mindst 2 opfølgninger i 26 uger", ("follow_up_n",), lambda b: fmt_share(
                b["follow_up"].get("n_2"), b["follow_up"]["n"], b["follow_up"]["share_2"], t)),
            stat("Langvarigt ledige med Step Up", ("step_up_n",), lambda b: fmt_share(
                b["step_up"].get("n_with_step_up"), b["step_up"]["n"], b["step_up"]["share"], t)),
        ]
        return Table.from_rows(rows, ["Nøgletal", *(label for label, _ in cols)], note=suppression_note(t),
                               title=f"Nøgletal: {self.municipality}, runderne og projektet i alt")

    def criteria(self) -> Table:
        """The three success criteria: value, 95 % CI, number of persons, target, met or not."""
        rows = []
        counts = {"sc1": ("sc1_n", self.ind["sc1"]["n"]), "sc2": ("survival_n", self.ind["survival"]["n"]),
                  "sc3": ("sc3_n", self.ind["sc3"]["n"])}
        own = (self.municipality, None if self.whole else self.round, self.threshold)
        forced = {key: count_hidden(self.ctx, (name, "survival_events") if key == "sc2" else (name,), *own)
                  for key, (name, _) in counts.items()}
        for r in _criteria_rows(self.ind, self.threshold, forced):
            target = r["target"]
            r["n"] = self._own_count(*counts[r["key"]])
            rows.append({
                "Succeskriterium": CRITERIA_LABELS[r["key"]],
                "Værdi": r["value"],
                "95 % CI": r["ci"],
                "Personer": r["n"],
                "Mål": MISSING if target is None else f"{TARGET_SIGN[r['key']]} {fmt_pct(target)}",
                "Vurdering": met_text(r["met"]) if r["value"] not in (MISSING,) else Markup("Kan ikke vurderes"),
            })
        note = ("Succeskriterium 1 og 3 med Wilson-intervaller; S(39) fra Kaplan-Meier med venstretrunkering "
                "og log(-log)-intervaller. For S(39) er lavere bedre. " + suppression_note(self.threshold))
        reason = self.ind["survival"].get("s39") is None and self.unit.survival["summary"].s39_reason
        if reason:
            note = f"S(39) kan ikke beregnes: {_s39_reason_da(reason)}. " + note
        return Table(pd.DataFrame(rows), note=note, count_cols=["Personer"],
                     title=f"Succeskriterier: {self.municipality}")

    def status(self) -> Table:
        """Status categories at the extraction date, with the project's shares for comparison."""
        masks = {} if self.grid is None or not self.whole else {
            "mask": self.grid[1].loc[self.municipality], "compare_mask": self.grid[1].loc["I alt"]}
        return _status_table(self.ind["status_counts"], self.threshold,
                             compare=self.ctx.indicators["project"]["status_counts"], compare_label="projektet",
                             title=f"Status ved udtræksdatoen: {self.municipality} og projektet", **masks)

    def survival_figure(self):
        """The municipality's survival curve to flexjob against the project curve (or a note)."""
        from evalkit.report import plots

        own = self.unit.survival
        if own["summary"].n == 0:
            return Note(f"{self.municipality} har ingen borgere på ledighedsydelse i perioden, så der kan ikke "
                        "tegnes en overlevelseskurve.")
        t, project = self.threshold, self.ctx.survival["project"]
        curve = sup.mask_curve(own["summary"].curve, t)
        if curve["survival"].notna().sum() == 0:
            return Note(f"Færre end {self.threshold} af kommunens borgere er i risiko ad gangen, så kurven vises "
                        "ikke (diskretionering).")
        fig = plots.survival_plot(
            [(self.municipality, curve, at_risk_texts(self.ctx, own, linked_scope(*self._own, self.whole), t)),
             ("Projektet i alt", sup.mask_curve(project["summary"].curve, t),
              at_risk_texts(self.ctx, project, ("P",), t))],
            title=f"Tid på ledighedsydelse til fleksjob: {self.municipality}",
        )
        frame = self._survival_summary().frame
        fig.alt = alt_text.survival(list(zip(frame[""], frame["S(39)"], frame["Median uger"])))
        if own["summary"].events == 0:
            return Section(fig, Note("Ingen af kommunens borgere er endnu kommet i fleksjob; kurven er flad.",
                                     kind="note"))
        return fig

    def _survival_series(self) -> list[tuple]:
        """(label, bundle, count formatter, who, S(39) hidden) of the municipality and the project."""
        out = []
        for label, bundle, count, who in (
                (self.municipality, self.unit.survival, self._own_count, self._own),
                ("Projektet i alt", self.ctx.survival["project"], self._project_count, (None, None))):
            hidden = s39_suppressed(bundle["summary"].to_json(), self.threshold) or count_hidden(
                self.ctx, ("survival_n", "survival_events"), *who, self.threshold)
            out.append((label, bundle, count, who, hidden))
        return out

    def survival_table(self):
        """S(39) and the median (the figure's numbers), and the curves read at fixed weeks (its data)."""
        series = self._survival_series()
        weeks = survival_weeks_table(
            [(label, bundle["summary"].curve, hidden or bundle["summary"].n == 0)
             for label, bundle, _, _, hidden in series], self.threshold,
            title=f"Andel stadig på ledighedsydelse efter antal uger: {self.municipality} og projektet (figurens data)")
        return Section(self._survival_summary(series), weeks)

    def _survival_summary(self, series: list[tuple] | None = None) -> Table:
        """S(39), its CI, numbers at risk at 39 and the median, municipality and project."""
        rows = []
        for label, bundle, count, who, hidden in series or self._survival_series():
            s = bundle["summary"]
            scope = linked_scope(*who, self.whole)
            rows.append({
                "": label,
                "Borgere i analysen": count("survival_n", s.n),
                "Kommet i fleksjob": count("survival_events", s.events),
                "S(39)": HIDDEN if hidden and s.s39 is not None else fmt_pct(s.s39),
                "95 % CI": fmt_ci(s.s39_ci_low, s.s39_ci_high, hidden and s.s39 is not None),
                "I risiko ved 39 uger": linked_text(self.ctx, ("at_risk", 39, *scope), s.at_risk_39, self.threshold)
                if scope else fmt_count(s.at_risk_39, self.threshold),
                "Median uger": HIDDEN if hidden and s.median_weeks is not None else fmt_num(s.median_weeks),
            })
        return Table(pd.DataFrame(rows), note=suppression_note(self.threshold),
                     count_cols=["Borgere i analysen", "Kommet i fleksjob", "I risiko ved 39 uger"],
                     title=f"S(39) og median tid til fleksjob: {self.municipality} og projektet")

    def _progression(self) -> pd.DataFrame:
        """The municipality's cases eligible for success criterion 3 (progression_table rows)."""
        return self.unit.progression

    def hours_figure(self):
        """First versus last effective hours and the distribution of change, against the project."""
        from evalkit.report import plots

        own = self._progression()
        if self.ctx.meta.rows["hours"] == 0:
            return Note("Datasættet har ingen timeregistreringer (hours), så timeprogression kan ikke vises.")
        if own.empty:
            return Note(f"Ingen borgere i {self.municipality} opfylder betingelserne for at måle progression "
                        "(første effektive timer højst 10 og mindst 6 måneders registreringer).")
        if sup.stat_suppressed(len(own), self.threshold):
            return Note(f"Færre end {self.threshold} borgere har målbar progression; tallene vises ikke "
                        "(diskretionering).")
        groups = {self.municipality: (own, self._own), "Projektet i alt": (self.ctx.progression, (None, None))}
        t = self.threshold
        drawn = {k: {"first": None if count_hidden(self.ctx, ("sc3_n",), *who, t) else _mean_or_none(v["first_effective"], t),
                     "last": None if count_hidden(self.ctx, ("sc3_n",), *who, t) else _mean_or_none(v["last_effective"], t),
                     "bands": band_bars(change_distribution(
                         v["change"], t, count_hidden(self.ctx, ("sc3_n",), *who, t),
                         linked_band_codes(self.ctx, linked_scope(*who, self.whole), t)), t)}
                 for k, (v, who) in groups.items()}
        fig = plots.hours_plot(drawn)
        fig.alt = alt_text.hours(drawn)
        return fig

    def hours_table(self):
        own = self._progression()
        if own.empty or sup.stat_suppressed(len(own), self.threshold):
            return Html("")  # hours_figure already explains
        t = self.threshold
        project = self.ctx.progression
        hide = [count_hidden(self.ctx, ("sc3_n",), *self._own, t), count_hidden(self.ctx, ("sc3_n",), None, None, t)]

        def stat(text, p, col, decimals=1):
            return [hide_if(text(own[col], t, decimals), hide[0]), hide_if(text(p[col], t, decimals), hide[1])]

        summary = pd.DataFrame({
            "": [self.municipality, "Projektet i alt"],
            "Borgere": [self._own_count("sc3_n", len(own)), self._project_count("sc3_n", len(project))],
            "Gns. første effektive timer": stat(_mean_text, project, "first_effective"),
            "Gns. seneste effektive timer": stat(_mean_text, project, "last_effective"),
            "Gns. ændring": stat(_mean_text, project, "change", 2),
            "Median ændring": stat(_median_text, project, "change", 2),
        })
        codes = [linked_band_codes(self.ctx, linked_scope(*who, self.whole), t) for who in (self._own, (None, None))]
        dist = _change_table({self.municipality: change_distribution(own["change"], t, hide[0], codes[0]),
                              "projektet": change_distribution(project["change"], t, hide[1], codes[1])}, t,
                             title=f"Ændring i effektive timer: {self.municipality} og projektet (figurens data)")
        return Section(Table(summary, title="Effektive timer pr. uge: første og seneste måned",
                             count_cols=["Borgere"]), dist)

    def caseload_figure(self):
        """The municipality's caseworkers highlighted in the project-wide caseload scatter."""
        data = self.ctx.caseload["flexjob_39w"]
        if not sup.points_shown(data["points"], self.threshold).any():
            return Note("Ingen jobformidler har forløb nok med tilstrækkelig opfølgning til at kunne vises "
                        "(diskretionering), så sagsstamme og resultat tegnes ikke.")
        return caseload_figure(data["points"], data["line"], self.unit.caseworkers, self.threshold,
                               self.municipality, CASELOAD_YLABEL)

    def caseload_table(self):
        """The caseload figure's points (its data), and the caseload regressions (adjusted, clustered by
        caseworker): the municipality's and the project's."""
        t = self.threshold
        points = self.ctx.caseload["flexjob_39w"]["points"]
        shown = any(not sup.share_suppressed(k, n, t) for k, n in zip(points["k"], points["n"]))
        regressions = self._caseload_regressions()
        if not shown:
            return regressions
        return Section(caseload_points_table(sup.caseload_points(points, self.unit.caseworkers, t), len(points),
                                             self.municipality, CASELOAD_YLABEL),
                       regressions)

    def _caseload_regressions(self) -> Table:
        t = self.threshold
        own = _regression_rows(self.ind["caseload_regression"], t, self.ctx,
                               linked_scope(*self._own, self.whole)).assign(Udvalg=self.municipality)
        project = _regression_rows(self.ctx.indicators["project"]["caseload_regression"], t, self.ctx,
                                   ("P",)).assign(Udvalg="Projektet i alt")
        frame = pd.concat([own, project], ignore_index=True)
        frame = frame[["Udvalg", *[c for c in frame.columns if c != "Udvalg"]]]
        return Table(frame, note="Hældningen er ændringen pr. ekstra sag i sagsstammen, justeret for alder, køn "
                                 "og runde; standardfejl klyngerobuste pr. jobformidler. Negativ hældning: "
                                 "større sagsstamme, dårligere resultat.", count_cols=["Forløb"],
                     title=f"Sagsstamme og resultat, justeret: {self.municipality} og projektet")

    def follow_up(self):
        """Follow-up in the first 26 weeks of a flexjob, and Step Up, municipality and project."""
        t = self.threshold
        if self.ctx.meta.rows["contacts"] == 0:
            return Note("Datasættet har ingen kontakter (contacts), så opfølgning og Step Up kan ikke vises.")
        rows = []
        for label, b, count, who in ((self.municipality, self.ind, self._own_count, self._own),
                                     ("Projektet i alt", self.ctx.indicators["project"], self._project_count,
                                      (None, None))):
            f, s = b["follow_up"], b["step_up"]
            hide_f = count_hidden(self.ctx, ("follow_up_n",), *who, t)
            hide_s = count_hidden(self.ctx, ("step_up_n",), *who, t)
            rows.append({
                "": label,
                "Fleksjob fulgt 26 uger": count("follow_up_n", f["n"]),
                "Mindst 2 opfølgninger": hide_if(fmt_share(f.get("n_2"), f["n"], f["share_2"], t), hide_f),
                "Mindst 4 opfølgninger": hide_if(fmt_share(f.get("n_4"), f["n"], f["share_4"], t), hide_f),
                "Ledige i 26+ uger uden fleksjob": count("step_up_n", s["n"]),
                "Heraf med Step Up": hide_if(fmt_share(s.get("n_with_step_up"), s["n"], s["share"], t), hide_s),
            })
        return Table(pd.DataFrame(rows), title=f"Opfølgning og Step Up: {self.municipality} og projektet",
                     note="Opfølgning: fleksjob startet efter projektstart og mindst 26 uger "
                          "før udtræksdatoen. " + suppression_note(t),
                     count_cols=["Fleksjob fulgt 26 uger", "Ledige i 26+ uger uden fleksjob"])

    def capacity(self):
        """The capacity calculator filled with the municipality's open cases and S(39)."""
        from evalkit.stats.capacity import capacity_tables, staff_needed

        t = self.threshold
        n = self.unit.open_cases
        s39 = self.ind["survival"]["s39"]
        source = "kommunens S(39)"
        if s39 is None or s39_suppressed(self.ind["survival"], t):
            project = self.ctx.indicators["project"]["survival"]
            s39 = None if s39_suppressed(project, t) else project["s39"]
            source = "projektets S(39), da kommunens ikke kan beregnes eller vises"
        if n == 0:
            return Note(f"{self.municipality} har ingen åbne forløb ved udtræksdatoen; ressourceberegneren er ikke udfyldt.")
        if sup.is_small(n, t):
            return Note(f"Under {t} åbne forløb; ressourceberegneren vises ikke (diskretionering).")
        if s39 is None:
            return Note("S(39) kan hverken beregnes eller vises for kommunen eller projektet; ressourceberegneren er ikke udfyldt.")
        tables = capacity_tables(n, self.conversation_days, self.weeks_per_year, float(s39))
        intro = Html(f"<p>Beregnet for {fmt_int(n)} åbne forløb ved udtræksdatoen, {fmt_num(self.conversation_days, 0)} "
                     f"samtaledage om ugen, {fmt_num(self.weeks_per_year, 0)} uger pr. årsværk og en andel med "
                     f"behov for intensiveret indsats på {fmt_pct(s39)} ({html.escape(source)}).</p>")
        every = pd.DataFrame({
            "Samtalefrekvens for alle": ["Lovens minimum (4 om året)", "Hver anden måned (6)", "Månedlig (12)"],
            "Samtaler om året": [fmt_int(tables["everybody"][k]) for k in ("4", "6", "12")],
        })
        names = {"24": "To gange om måneden (24)", "12": "Månedlig (12)", "6": "Hver anden måned (6)"}
        inten = pd.DataFrame([
            {"Intensiveret frekvens": names[k], "Intensiveret": fmt_int(v["intensive"]),
             "Øvrige (4 om året)": fmt_int(v["regular"]), "I alt": fmt_int(v["total"]),
             "Årsværk ved 3 samtaler om dagen": fmt_num(
                 staff_needed(v["total"], 3, self.conversation_days, self.weeks_per_year), 1)}
            for k, v in tables["intensified"].items()
        ])
        staff = tables["staff_table"]
        per_day = sorted(next(iter(staff.values())).keys(), key=int)
        cap = pd.DataFrame([{"Årsværk": k, **{f"{c} om dagen": fmt_int(v[c]) for c in per_day}}
                            for k, v in sorted(staff.items(), key=lambda kv: int(kv[0]))])
        return Section(intro, Table(every, title="Samtaler om året, samme frekvens for alle"),
                       Table(inten, title="Samtaler om året med intensiveret indsats for andelen S(39)"),
                       Table(cap, title="Kapacitet: samtaler om året pr. antal årsværk og samtaler om dagen"))

    def goals_figure(self):
        """Goal tracking (Målstyring): the team's year to date per indicator, realised against target."""
        from evalkit.report import plots

        g = self.unit.goals
        if g is None:
            return Note(f"Der er ingen målstyringsdata (goals) for {self.municipality}.")
        fig = plots.goals_plot(g["team_ytd"])
        fig.alt = alt_text.goals(g["team_year"])
        return fig

    def goals_table(self):
        g = self.unit.goals
        if g is None:
            return Html("")  # goals_figure already explains
        y = g["team_year"]
        frame = pd.DataFrame({
            "Team": y["team"], "Indikator": y["indicator"], "År": y["iso_year"].astype(str), "Til og med uge": y["to_week"],
            "Realiseret": [fmt_int(v) for v in y["realised_ytd"]], "Mål": [fmt_int(v) for v in y["target_ytd"]],
            "Målopfyldelse": [fmt_pct(v) for v in y["share_ytd"]],
        })
        return Table(frame, title="Målstyring år til dato: realiseret mod mål pr. team og indikator",
                     note="Målstyringstal tæller aktiviteter, ikke personer.")

    def footer(self, parameters: dict) -> Html:
        quality = dict(self.unit.quality)
        if self.whole:
            quality["cases_text"] = n_cases_text(self.ctx, self.municipality, self.threshold, self.grid)
        return provenance_footer(self.ctx, parameters, self.threshold, quality)


def caseload_figure(points: pd.DataFrame, line, highlight, threshold: int, label: str, ylabel: str):
    """The caseload scatter of every caseworker whose point may be drawn, a municipality's
    caseworkers highlighted only when at least `threshold` of them are drawn; no caption counts
    caseworkers (with the drawn dots and a published total it would give the number left out)."""
    from evalkit.report import plots

    shown = sup.caseload_points(points, highlight, threshold)
    notes = []
    if len(shown) < len(points):
        notes.append("Jobformidlere med for få forløb er ikke vist (diskretionering).")
    if label and not shown["mine"].any():
        notes.append(f"Færre end {threshold} af kommunens jobformidlere kan vises, så de fremhæves ikke.")
    span = (points["caseload"].min(), points["caseload"].max()) if len(points) else None
    fig = plots.caseload_scatter(shown, line, span, label=label, ylabel=ylabel, notes=tuple(notes))
    fig.alt = alt_text.caseload(shown, line, label, ylabel, left_out=len(shown) < len(points))
    return fig
