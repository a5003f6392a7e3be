"""The time sections of the reports (issue 10): "Udvikling over tid" in each municipality report,
"Produktionsstyring: flowet i indsatsmodellen" in the status report, and the index's arrows.

The series (`evalkit.stats.series.compute_series`, every scope) are computed once per
run in the report context (`ReportContext.series`, see `context.build_context`). What is
published of them follows `evalkit.trend_mask` (rounded counts, criteria points
that do not reveal 1-4 persons between quarters or against the snapshot) and the
snapshot's own suppression (`grids.status_grid`, `grids.count_hidden`), so a
number hidden in a snapshot table is not narrowed down by a series. Every figure
comes with Danish alt text holding its numbers and a table beside it; where the
data cannot carry a figure, a `Note` says why.
"""

from __future__ import annotations

import functools

import pandas as pd

from evalkit.report import suppression as sup
from evalkit.report import trend_mask as tm
from evalkit.report import trend_plots
from evalkit.report.blocks import Html, Markup, Note, Table
from evalkit.report.context import ReportContext
from evalkit.report.format import HIDDEN, MISSING, fmt_ci, fmt_date, fmt_pct
from evalkit.report.format import fmt_int as _fmt_int
from evalkit.report.grids import _municipality_order, count_hidden, status_grid
from evalkit.report.labels import CRITERIA_LABELS, CRITERIA_SHORT, STATUS_LABELS, TARGET_SIGN
from evalkit.report.sections import _criteria_rows

fmt_int = functools.lru_cache(maxsize=4096)(_fmt_int)  # the same rounded counts, formatted once per kernel

FLOW_LABELS = {"entered": "Indgået i projektet", "to_ledighedsydelse": "Fra før rehab til ledighedsydelse",
               "flexjob_started": "Startet i fleksjob", "left": "Udgået"}
ROUNDING_NOTE = ("Antal er afrundet til nærmeste 5 (0 betyder 0-2), så ingen forskel mellem to tidspunkter "
                 "afslører 1-4 personer; x betyder skjult, fordi tallet ved udtræksdatoen er skjult.")
CRITERIA_NOTE = ("Et kvartal vises kun, når værdien bygger på mindst {t} personer, og når antallene bag den "
                 "ikke adskiller sig med 1-{s} personer fra et andet vist kvartal eller fra udtræksdatoen "
                 "(diskretionering over tid); ellers x.")


def parse_period(period: str | None) -> tuple[str | None, str | None]:
    """'YYYY-MM-DD/YYYY-MM-DD' (either side may be empty) as (start, end) ISO dates; None: everything."""
    if period is None or not str(period).strip():
        return None, None
    parts = str(period).split("/")
    if len(parts) != 2:
        raise ValueError(f"period {period!r}: write it as start/end, e.g. 2021-01-01/2021-12-31")
    start, end = (pd.Timestamp(p).date().isoformat() if p.strip() else None for p in parts)
    if start and end and start > end:
        raise ValueError(f"period {period!r}: the start is after the end")
    return start, end


def _series(ctx: ReportContext, municipality: str | None) -> dict | None:
    label = "project" if municipality is None else f"municipality={municipality}"
    return (ctx.series or {}).get("scopes", {}).get(label)


def _month(date: str) -> str:
    return pd.Timestamp(date).strftime("%m.%Y")


_MEMO: dict = {}


def _memo(kind: str, ctx: ReportContext, municipality: str | None, threshold: int, compute):
    """`compute()` once per context, municipality and threshold (the status report and the index ask
    for every municipality several times; a warm kernel runs many reports of one context)."""
    key = (kind, id(ctx), ctx.meta.built, ctx.meta.input_hash, municipality, int(threshold))
    if key not in _MEMO:
        if len(_MEMO) > 1024:
            _MEMO.clear()
        _MEMO[key] = compute()
    return _MEMO[key]


def status_mask(ctx: ReportContext, municipality: str | None, threshold: int) -> dict:
    """The E snapshot's status cells (categories and "I alt") of a municipality (None: the project):
    True where the status report shows them. Without a full grid (a notebook run by hand), the
    municipality's own status table's suppression."""
    return _memo("status", ctx, municipality, threshold, lambda: _status_mask(ctx, municipality, threshold))


def _status_mask(ctx: ReportContext, municipality: str | None, threshold: int) -> dict:
    grid = status_grid(ctx, threshold)
    if grid is not None:
        mask = grid[1].loc["I alt" if municipality is None else municipality]
        return {k: bool(v == sup.SHOWN) for k, v in mask.items()}
    block = ctx.indicators["project" if municipality is None else "municipalities"]
    block = block if municipality is None else block[municipality]
    counts = pd.Series(block["status_counts"], dtype=float)
    full = pd.concat([counts, pd.Series({"I alt": float(counts.sum())})])
    mask = sup.suppress_series(full, threshold, total_label="I alt")
    return {k: bool(v == sup.SHOWN) for k, v in mask.items()}


def _e_shown(ctx: ReportContext, municipality: str, threshold: int) -> dict:
    """Per criterion: the municipality report's criteria table shows its value at E."""
    names = {"sc1": ("sc1_n",), "sc2": ("survival_n", "survival_events"), "sc3": ("sc3_n",)}
    forced = {k: count_hidden(ctx, v, municipality, None, threshold) for k, v in names.items()}
    block = ctx.indicators["municipalities"][municipality]
    return {r["key"]: not r["hidden"] and block[r["key"]]["value"] is not None
            for r in _criteria_rows(block, threshold, forced)}


def criteria_shown(ctx: ReportContext, municipality: str, threshold: int) -> dict[str, list[bool]]:
    """Per criterion, which quarter points of the municipality are published (trend_mask.criteria_mask)."""
    return _memo("criteria", ctx, municipality, threshold, lambda: _criteria_shown(ctx, municipality, threshold))


def _criteria_shown(ctx: ReportContext, municipality: str, threshold: int) -> dict[str, list[bool]]:
    quarterly = _series(ctx, municipality)["quarterly"]
    e_shown = _e_shown(ctx, municipality, threshold)
    return {key: tm.criteria_mask(quarterly, key, tm.point_counts(quarterly[-1], key), e_shown[key], threshold)
            for key in tm.CRITERIA}


def project_values(ctx: ReportContext, key: str, threshold: int) -> list:
    """The project's quarterly values of a criterion as drawn beside a municipality (no interval)."""
    return [p[key]["value"] if tm.point_allowed(p, key, threshold) else None for p in _series(ctx, None)["quarterly"]]


def _shown_values(quarterly: list[dict], key: str, shown: list[bool]) -> tuple[list, list, list]:
    pick = [(p[key]["value"], p[key]["ci_low"], p[key]["ci_high"]) if s else (None, None, None)
            for p, s in zip(quarterly, shown)]
    return [v for v, _, _ in pick], [lo for _, lo, _ in pick], [hi for _, _, hi in pick]


def _value_text(point: dict, key: str, shown: bool, with_ci: bool = True) -> str:
    c = point[key]
    if c["value"] is None:
        return MISSING
    if not shown:
        return HIDDEN
    ci = fmt_ci(c["ci_low"], c["ci_high"]) if with_ci else MISSING
    return fmt_pct(c["value"]) + (f" ({ci})" if ci != MISSING else "")


class MunicipalityTrend:
    """Section "Udvikling over tid" of notebooks/municipality.ipynb."""

    def __init__(self, ctx: ReportContext, municipality: str, round_: int | None = None, threshold: int = sup.THRESHOLD,
                 period: str | None = None):
        from evalkit.data.names import find_municipality

        municipality = find_municipality(list(ctx.municipalities), municipality)  # any spelling of the name
        self.ctx = ctx
        self.municipality = municipality
        self.threshold = int(threshold)
        own = ctx.rounds_of[municipality]
        self.whole = round_ is None or len(own) == 1
        self.series = _series(ctx, municipality) if self.whole else None
        self.period = parse_period(period)

    def _in_period(self, date: str) -> bool:
        start, end = self.period
        return (start is None or date >= start) and (end is None or date <= end)

    def title(self) -> Html:
        """Heading of the monitoring notebook: municipality, extraction date, the period shown."""
        import html

        meta = self.ctx.meta
        start, end = self.period
        shown = ("hele projektperioden" if start is None and end is None else
                 f"{fmt_date(start) if start else 'projektets start'} til {fmt_date(end) if end else 'udtræksdatoen'}")
        return Html(f"<h1>Månedlig opfølgning: {html.escape(self.municipality)}</h1><p class='ek-note'>"
                    f"{html.escape(str(meta.name))} · udtræksdato {fmt_date(meta.extraction_date)} · "
                    f"viser {shown}</p>")

    def flows(self) -> Table:
        """The municipality's and the project's flows over the whole period (rounded, as the status report)."""
        rows = [(self.municipality, self.municipality), ("Projektet i alt", None)]
        frame = pd.DataFrame({"": [label for label, _ in rows]})
        published = [tm.published_flows(tm.flow_totals(_series(self.ctx, m)["monthly"]),
                                        status_mask(self.ctx, m, self.threshold)) for _, m in rows]
        for n, label in FLOW_LABELS.items():
            frame[label] = [HIDDEN if f[n] is None else fmt_int(f[n]) for f in published]
        return Table(frame, title="Flowet over hele projektperioden (afrundet til nærmeste 5)", note=ROUNDING_NOTE,
                     count_cols=list(FLOW_LABELS.values()))

    def _missing(self) -> Note | None:
        if self.series is None:
            return Note("Udviklingen over tid vises for hele kommunen, ikke for én af dens runder.", kind="note")
        return None

    # --- stocks ---
    def _stocks(self) -> tuple[list[str], list[dict]]:
        mask = status_mask(self.ctx, self.municipality, self.threshold)
        shown = tm.stock_categories(mask, list(STATUS_LABELS))
        return shown, [p for p in tm.rounded_stocks(self.series["monthly"], shown) if self._in_period(p["date"])]

    def stocks_figure(self):
        """Rounded stocks per status category at each month-end before E (lines), or a note."""
        missing = self._missing()
        if missing:
            return missing
        shown, points = self._stocks()
        if not shown:
            return Note(f"{self.municipality} har for få forløb til at vise udviklingen i statuskategorierne "
                        "(antallet ved udtræksdatoen er skjult af diskretionering).")
        if len(points) < 2:
            return Note("Projektperioden er for kort til at vise en udvikling: der er højst én månedsudgang "
                        "før udtræksdatoen.")
        dates = [p["date"] for p in points]
        lines = {STATUS_LABELS[c]: [p["counts"][c] for p in points] for c in shown}
        last = points[-1]
        peak = max(points, key=lambda p: p["counts"]["ledighedsydelse"] or 0)
        alt = (f"Linjediagram: antal borgere i hver statuskategori i {self.municipality} ved hver månedsudgang fra "
               f"{fmt_date(dates[0])} til {fmt_date(dates[-1])}, afrundet til nærmeste 5. Ved {fmt_date(last['date'])}: "
               + ", ".join(f"{STATUS_LABELS[c]} {fmt_int(last['counts'][c])}" for c in shown)
               + f". Flest på ledighedsydelse: {fmt_int(peak['counts']['ledighedsydelse'])} ved "
               f"{fmt_date(peak['date'])}.")
        if len(shown) < len(STATUS_LABELS):
            alt += " Udgået vises ikke (skjult ved udtræksdatoen)."
        return trend_plots.stock_lines(dates, lines, f"Statuskategorier ved månedens udgang: {self.municipality}",
                                       alt)

    def stocks_table(self):
        missing = self._missing()
        if missing:
            return missing
        shown, points = self._stocks()
        if not shown or len(points) < 2:
            return Html("")  # stocks_figure already explains
        frame = pd.DataFrame({"Månedens udgang": [fmt_date(p["date"]) for p in points]})
        for c, label in STATUS_LABELS.items():
            frame[label] = [HIDDEN if p["counts"][c] is None else fmt_int(p["counts"][c]) for p in points]
        return Table(frame, title=f"Borgere pr. statuskategori, {self.municipality} (afrundet til nærmeste 5)",
                     note=ROUNDING_NOTE + " Status ved udtræksdatoen (eksakte tal) står under Statuskategorier.",
                     count_cols=list(STATUS_LABELS.values()))

    # --- criteria ---
    def _quarters(self) -> tuple[list[dict], dict, dict]:
        """The quarter points in the period, which are shown per criterion, and the project's values."""
        keep = [j for j, p in enumerate(self.series["quarterly"]) if self._in_period(p["date"])]
        shown = criteria_shown(self.ctx, self.municipality, self.threshold)
        project = {k: project_values(self.ctx, k, self.threshold) for k in tm.CRITERIA}
        return ([self.series["quarterly"][j] for j in keep], {k: [v[j] for j in keep] for k, v in shown.items()},
                {k: [v[j] for j in keep] for k, v in project.items()})

    def criteria_figure(self):
        """Each criterion per quarter with its 95 % interval, the project's line and the target (or a note)."""
        missing = self._missing()
        if missing:
            return missing
        quarterly, shown, project = self._quarters()
        if sum(map(sum, shown.values())) < 2:
            return Note(f"For få kvartaler i {self.municipality} bygger på nok borgere til at vise "
                        "succeskriterierne over tid (diskretionering).")
        dates = [p["date"] for p in quarterly]
        panels, parts = [], []
        for key in tm.CRITERIA:
            value, low, high = _shown_values(quarterly, key, shown[key])
            target = quarterly[-1][key].get("target")
            panels.append({"title": CRITERIA_LABELS[key].split(". ", 1)[1], "dates": dates, "value": value,
                           "low": low, "high": high, "project": project[key], "target": target})
            seen = [(d, v) for d, v in zip(dates, value) if v is not None]
            text = (f"{CRITERIA_SHORT[key]}: {len(seen)} kvartaler vist" +
                    (f", fra {fmt_pct(seen[0][1])} ({fmt_date(seen[0][0])}) til {fmt_pct(seen[-1][1])} "
                     f"({fmt_date(seen[-1][0])})" if seen else "") +
                    ("" if target is None else f", mål {TARGET_SIGN[key]} {fmt_pct(target)}"))
            parts.append(text)
        alt = (f"Tre diagrammer: succeskriterierne i {self.municipality} ved hvert kvartals udgang med 95 %-"
               f"intervaller mod projektet i alt (grå) og målet (stiplet). " + "; ".join(parts) + ".")
        return trend_plots.criteria_panels(panels, self.municipality, alt)

    def criteria_table(self):
        missing = self._missing()
        if missing:
            return missing
        quarterly, shown, _ = self._quarters()
        project = [p for p in _series(self.ctx, None)["quarterly"] if self._in_period(p["date"])]
        frame = pd.DataFrame({"Kvartalets udgang": [fmt_date(p["date"]) for p in quarterly]})
        for key in tm.CRITERIA:
            short = CRITERIA_SHORT[key]
            frame[f"{short} (95 % CI)"] = [_value_text(p, key, s) for p, s in zip(quarterly, shown[key])]
            frame[f"{short}, projektet"] = [_value_text(p, key, tm.point_allowed(p, key, self.threshold), False)
                                            for p in project]
        targets = "; ".join(f"{CRITERIA_SHORT[k]} {TARGET_SIGN[k]} {fmt_pct(quarterly[-1][k].get('target'))}"
                            for k in tm.CRITERIA if quarterly[-1][k].get("target") is not None)
        note = (f"Mål: {targets}. Sidste række er udtræksdatoen. "
                + CRITERIA_NOTE.format(t=self.threshold, s=self.threshold - 1))
        return Table(frame, title=f"Succeskriterier pr. kvartal, {self.municipality}", note=note)


# --- status report --------------------------------------------------------------------


class StatusTrends:
    """Section "Produktionsstyring: flowet i indsatsmodellen" of notebooks/status_report.ipynb."""

    def __init__(self, ctx: ReportContext, threshold: int = sup.THRESHOLD):
        self.ctx = ctx
        self.threshold = int(threshold)

    def _flows(self) -> list[tuple[str, dict]]:
        rows = []
        for m in _municipality_order(self.ctx):
            s = _series(self.ctx, m)
            rows.append((m, tm.published_flows(tm.flow_totals(s["monthly"]), status_mask(self.ctx, m, self.threshold))))
        project = _series(self.ctx, None)
        rows.append(("Projektet i alt", tm.published_flows(tm.flow_totals(project["monthly"]),
                                                           status_mask(self.ctx, None, self.threshold))))
        return rows

    def _project_quarters(self) -> list[dict]:
        project = _series(self.ctx, None)
        quarters = [p["date"] for p in project["quarterly"]]
        mask = status_mask(self.ctx, None, self.threshold)
        return [{"date": q["date"], "flows": tm.published_flows(q["flows"], mask)}
                for q in tm.quarterly_flows(project["monthly"], quarters)]

    def flow_figure(self):
        project = _series(self.ctx, None)
        if project is None or len(project["quarterly"]) < 2:
            return Note("Projektperioden er for kort til at vise flowet over tid (under to kvartaler).")
        quarters = self._project_quarters()
        rows = self._flows()
        totals = dict(rows[-1][1])
        alt = ("Søjlediagrammer over flowet i indsatsmodellen, afrundet til nærmeste 5. Til venstre projektet i alt "
               f"pr. kvartal fra {fmt_date(quarters[0]['date'])} til {fmt_date(quarters[-1]['date'])}; over hele "
               "perioden " + ", ".join(f"{FLOW_LABELS[n].lower()} {fmt_int(v) if v is not None else 'skjult'}"
                                       for n, v in totals.items())
               + ". Til højre hver kommune over hele perioden: "
               + "; ".join(f"{m}: " + ", ".join(HIDDEN if v is None else fmt_int(v) for v in f.values())
                           for m, f in rows[:-1])
               + " (i rækkefølgen indgået, til ledighedsydelse, i fleksjob, udgået).")
        project_bars = {n: [q["flows"][n] for q in quarters] for n in FLOW_LABELS}
        return trend_plots.flow_overview([q["date"] for q in quarters], project_bars, rows[:-1], FLOW_LABELS, alt)

    def flow_table(self) -> Table:
        rows = self._flows()
        frame = pd.DataFrame({"Kommune": [m for m, _ in rows]})
        for n, label in FLOW_LABELS.items():
            frame[label] = [HIDDEN if f[n] is None else fmt_int(f[n]) for _, f in rows]
        return Table(frame, title="Flowet over hele perioden pr. kommune (afrundet til nærmeste 5)",
                     note=ROUNDING_NOTE + " Rækken Projektet i alt er afrundet for sig og er ikke summen af "
                     "kommunerne.", count_cols=list(FLOW_LABELS.values()))

    def flow_quarters_table(self) -> Table:
        quarters = self._project_quarters()
        frame = pd.DataFrame({"Kvartalets udgang": [fmt_date(q["date"]) for q in quarters]})
        for n, label in FLOW_LABELS.items():
            frame[label] = [HIDDEN if q["flows"][n] is None else fmt_int(q["flows"][n]) for q in quarters]
        return Table(frame, title="Projektet i alt: flowet pr. kvartal (afrundet til nærmeste 5)",
                     note=ROUNDING_NOTE, count_cols=list(FLOW_LABELS.values()))

    def _criteria(self, key: str) -> list[dict]:
        project = project_values(self.ctx, key, self.threshold)
        out = []
        for m in _municipality_order(self.ctx):
            quarterly = _series(self.ctx, m)["quarterly"]
            shown = criteria_shown(self.ctx, m, self.threshold)[key]
            out.append({"label": m, "dates": [p["date"] for p in quarterly], "project": project,
                        "value": _shown_values(quarterly, key, shown)[0], "points": quarterly, "shown": shown})
        return out

    def criteria_grid(self, key: str):
        panels = self._criteria(key)
        with_points = [p for p in panels if sum(v is not None for v in p["value"]) >= 2]
        if not with_points:
            return Note(f"{CRITERIA_LABELS[key]}: ingen kommune har to kvartaler med nok borgere til at vise "
                        "en udvikling.")
        target = _series(self.ctx, None)["quarterly"][-1][key].get("target")
        last = [(p["label"], next((v for v in reversed(p["value"]) if v is not None), None)) for p in with_points]
        alt = ("Små diagrammer, ét pr. kommune med mindst to viste kvartaler: "
               f"{CRITERIA_LABELS[key]} pr. kvartal mod projektet i alt (grå)"
               + ("" if target is None else f" og målet {TARGET_SIGN[key]} {fmt_pct(target)} (stiplet)")
               + ". Seneste viste værdi: " + "; ".join(f"{m} {fmt_pct(v)}" for m, v in last) + ".")
        return trend_plots.criteria_grid(with_points, CRITERIA_LABELS[key], target, alt)

    def criteria_grid_table(self, key: str) -> Table:
        panels = self._criteria(key)
        dates = panels[0]["dates"] if panels else []
        frame = pd.DataFrame({"Kommune": [p["label"] for p in panels] + ["Projektet i alt"]})
        project = _series(self.ctx, None)["quarterly"]
        for j, d in enumerate(dates):
            frame[_month(d)] = [_value_text(p["points"][j], key, p["shown"][j], False) for p in panels] + [
                _value_text(project[j], key, tm.point_allowed(project[j], key, self.threshold), False)]
        return Table(frame, title=f"{CRITERIA_LABELS[key]} pr. kvartal (kvartalets udgang, måned.år)",
                     note=CRITERIA_NOTE.format(t=self.threshold, s=self.threshold - 1),
                     total_rows=[len(frame) - 1])


# --- index.html --------------------------------------------------------------------------

ARROWS = {1: ("↑", "steget"), -1: ("↓", "faldet"), 0: ("→", "uændret")}


def index_arrows(ctx: ReportContext, municipality: str, threshold: int = sup.THRESHOLD) -> dict:
    """Per criterion: up, down or unchanged since the previous quarter, as arrow and Danish text
    (the arrow is hidden from screen readers, the words carry it), or "kan ikke vurderes".

    Only the direction is published, not the size of the change: with the exact value at E, a size
    would give the previous quarter's value, which the trend may hide (trend_mask.criteria_mask).
    Both quarters must pass the snapshot rule (`point_allowed`) and E's value be shown."""
    s = _series(ctx, municipality)
    if s is None or len(s["quarterly"]) < 2:
        return {}
    quarterly = s["quarterly"]
    e_shown = _e_shown(ctx, municipality, threshold)
    out = {}
    for key in tm.CRITERIA:
        before, after = quarterly[-2], quarterly[-1]
        allowed = e_shown[key] and tm.point_allowed(before, key, threshold) and tm.point_allowed(after, key, threshold)
        d = tm.direction(before[key]["value"], after[key]["value"], key == "sc2") if allowed else None
        if d is None:
            cell = Markup("kan ikke vurderes")
        else:
            arrow, word = ARROWS[d["sign"]]
            judged = "" if d["better"] is None else (" (bedre)" if d["better"] else " (dårligere)")
            cell = Markup(f'<span aria-hidden="true">{arrow}</span> {word}{judged}')
        out[f"{CRITERIA_SHORT[key]}: siden forrige kvartal"] = cell
    return out
