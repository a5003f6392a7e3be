"""Danish text alternatives (the <img> alt) of every report figure (WCAG 2.1 AA, 1.1.1).

One function per figure of evalkit.report.plots. Each says what the figure shows and its main
message with the figure's own numbers, and reads them only from what is published: the
formatted, suppressed cells of the table beside the figure (survival), or the data the figure
function itself draws after suppression (hours, caseload, caterpillar, goals). A hidden value
('x') or a missing one ('–') is never written as a number; the text says it is not shown.
The report classes set the text on the figure (`Plot.alt`), which nbconvert writes as the alt.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evalkit.report.format import HIDDEN, MISSING, fmt_int, fmt_num, fmt_pct

PROJECT = "Projektet i alt"


def _join(items: list[str]) -> str:
    """'a', 'a og b', 'a, b og c'."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1] if items else ""


def _name(label: str) -> str:
    """A series label inside a sentence: 'Projektet i alt' -> 'projektet i alt', 'Runde 1' -> 'runde 1'."""
    return label[0].lower() + label[1:] if label in (PROJECT,) or label.startswith("Runde ") else label


def _shown(cell) -> bool:
    """True for a published value (not hidden 'x', not missing '–', not empty)."""
    return str(cell).strip() not in (HIDDEN, MISSING, "")


def _value(cell: str) -> float:
    """A formatted Danish number or percentage ('48,9 %', '1.607,5') back as a number."""
    return float(str(cell).replace("%", "").replace(".", "").replace(",", ".").strip())


def _not_shown(labels: list[str], what: str) -> str:
    return f" {what} vises ikke for {_join([_name(x) for x in labels])} (for få borgere, diskretionering)." \
        if labels else ""


def survival(series: list[tuple[str, str, str]]) -> str:
    """The survival curves of a municipality against the project, or of the rounds.

    `series` holds (label, S(39) cell, median cell) as the table beside the figure shows them.
    """
    names = _join([_name(label) for label, _, _ in series])
    text = ("Kaplan-Meier-kurver over andelen af borgerne, der stadig er på ledighedsydelse, efter antal "
            f"uger siden ydelsen begyndte, for {names}, med 95 %-konfidensbånd og en stiplet linje ved 39 uger.")
    shown = [(label, s39) for label, s39, _ in series if _shown(s39)]
    if shown:
        text += " Efter 39 uger er " + " mod ".join(f"{s39} stadig på ledighedsydelse i {_name(label)}"
                                                     if i == 0 else f"{s39} i {_name(label)}"
                                                     for i, (label, s39) in enumerate(shown)) + "."
        if len(shown) >= 2:
            (a, va), (b, vb) = shown[0], shown[1]
            if _value(va) != _value(vb):
                lower = a if _value(va) < _value(vb) else b
                text += f" Andelen er lavest i {_name(lower)}: flere er kommet i fleksjob inden 39 uger."
    text += _not_shown([label for label, s39, _ in series if str(s39).strip() == HIDDEN], "S(39)")
    medians = [(label, m) for label, _, m in series if _shown(m)]
    if medians:
        text += " Median tid til fleksjob: " + _join([f"{m} uger i {_name(label)}" for label, m in medians]) + "."
    return text + " Tallene står i tabellerne under figuren."


def survival_grid(s39: list[tuple[str, str]], project_s39: str, not_drawn: list[str]) -> str:
    """The small multiples of the status report: each municipality's curve over the project's.

    `s39` holds (municipality, S(39) cell as the criteria table shows it); `not_drawn` the
    municipalities whose curve has no visible point.
    """
    n = len(s39)
    text = (f"Små kurver for hver af de {fmt_int(n)} kommuner: andelen stadig på ledighedsydelse efter antal uger "
            "siden ydelsen begyndte, kommunens kurve med 95 %-bånd over projektets kurve (grå) og en stiplet "
            "linje ved 39 uger.")
    if _shown(project_s39):
        text += f" I projektet i alt er {project_s39} stadig på ledighedsydelse efter 39 uger."
    shown = [(m, v) for m, v in s39 if _shown(v)]
    if len(shown) >= 2:
        low = min(shown, key=lambda mv: _value(mv[1]))
        high = max(shown, key=lambda mv: _value(mv[1]))
        text += (f" Blandt de {fmt_int(len(shown))} kommuner, hvis S(39) vises, er den lavest i {low[0]} "
                 f"({low[1]}) og højest i {high[0]} ({high[1]}).")
    elif shown:
        text += f" S(39) vises kun for {shown[0][0]}: {shown[0][1]}."
    hidden = [m for m, v in s39 if str(v).strip() == HIDDEN]
    if hidden:
        text += f" S(39) vises ikke for {_join(hidden)} (diskretionering)."
    if not_drawn:
        text += f" Ingen kurve for {_join(not_drawn)} (for få borgere i risiko)."
    return text + " Tallene står i tabellen under figuren og i tabellen over succeskriterierne."


def hours(groups: dict[str, dict]) -> str:
    """The hours progression figure: `groups` as plots.hours_plot draws them (None = suppressed)."""
    names = _join([_name(label) for label in groups])
    text = ("Søjlediagram i to dele. Venstre: gennemsnitlige effektive timer pr. uge i første og seneste måned "
            f"for {names}. Højre: fordelingen af ændringen i effektive timer fra første til seneste måned.")
    means = [f"{_name(label)} {fmt_num(g['first'], 1)} og {fmt_num(g['last'], 1)} timer"
             for label, g in groups.items() if g["first"] is not None and g["last"] is not None]
    if means:
        text += " Første og seneste måned: " + "; ".join(means) + "."
    text += _not_shown([label for label, g in groups.items() if g["first"] is None or g["last"] is None],
                       "Gennemsnittene")
    largest = []
    for label, g in groups.items():
        d = g["bands"]  # sections.band_bars: NaN where the band is hidden
        d = d[np.isfinite(d["share"].to_numpy(float))]
        if len(d):
            top = d.loc[d["share"].astype(float).idxmax()]
            largest.append(f"«{top['band']}» med {fmt_pct(top['share'])} i {_name(label)}")
    if largest:
        text += " Største gruppe: " + "; ".join(largest) + "."
    return text + " Tallene står i tabellerne under figuren."


def caseload(shown: pd.DataFrame, line, label: str, ylabel: str, left_out: bool) -> str:
    """The caseload scatter: the points it draws (`suppression.caseload_points`, `mine` marking the
    municipality's when enough are drawn). How many points were left out is never said (with the
    published totals it would give the number of caseworkers with few cases)."""
    mine = shown[shown["mine"].to_numpy(bool)]
    what = ylabel[0].lower() + ylabel[1:] if ylabel else "resultat"
    text = (f"Punktdiagram: hver prik er en jobformidler i projektet, med gennemsnitlig sagsstamme (forløb pr. "
            f"jobformidler) vandret og {what} lodret; prikkens størrelse viser antal forløb.")
    if len(mine):
        text += f" Jobformidlerne i {label} er fremhævet som orange ruder med sort kant."
    if left_out:
        text += " Jobformidlere med for få forløb er ikke vist (diskretionering)."
    if line is not None and len(shown) >= 2:
        trend = ("falder: jo større sagsstamme, jo lavere" if line[1] < 0 else
                 "stiger: jo større sagsstamme, jo højere" if line[1] > 0 else "er vandret: samme")
        text += f" Den vægtede linje over alle jobformidlere {trend} {what}."
    if len(mine):
        text += (f" Jobformidlerne i {label} har en sagsstamme fra {fmt_num(mine['caseload'].min(), 1)} til "
                 f"{fmt_num(mine['caseload'].max(), 1)} og {what} fra {fmt_pct(mine['mean'].min())} til "
                 f"{fmt_pct(mine['mean'].max())}.")
    elif label:
        text += f" For få af jobformidlerne i {label} kan vises til at fremhæve dem."
    return text + " Tallene står i tabellen under figuren."


def caterpillar(rows: pd.DataFrame, project, target, title: str, lower_is_better: bool, hidden: list[str]) -> str:
    """A caterpillar plot: `rows` (label, value, ci_low, ci_high) as plots.caterpillar draws them."""
    n = len(rows)
    order = "laveste øverst, da lavere er bedre" if lower_is_better else "højeste øverst"
    numbered = re.match(r"(\d+)\.\s*(.+)", title)  # '1. Andel i fleksjob ...' -> 'succeskriterium 1, andel ...'
    what = f"succeskriterium {numbered[1]}, {numbered[2][0].lower()}{numbered[2][1:]}" if numbered else title
    text = (f"Caterpillar-plot for {what}: {fmt_int(n)} kommuners værdi med 95 %-konfidensinterval, sorteret "
            f"({order})" if n != 1 else f"Caterpillar-plot for {what}: én kommunes værdi med 95 %-konfidensinterval")
    marks = []
    if project is not None:
        marks.append(f"projektets gennemsnit {fmt_pct(project)} (fuldt optrukket linje)")
    if target is not None:
        marks.append(f"målet {fmt_pct(target)} (stiplet linje)")
    text += (", mod " + _join(marks) if marks else "") + "."
    if n == 1:
        only = rows.iloc[0]
        text += f" Eneste viste kommune: {only['label']} med {fmt_pct(only['value'])}."
    if n > 1:
        best = rows.loc[rows["value"].idxmin() if lower_is_better else rows["value"].idxmax()]
        worst = rows.loc[rows["value"].idxmax() if lower_is_better else rows["value"].idxmin()]
        text += (f" Bedst: {best['label']} med {fmt_pct(best['value'])}; dårligst: {worst['label']} med "
                 f"{fmt_pct(worst['value'])}.")
    if project is not None and n:
        above = rows[rows["ci_low"] > project]["label"].tolist()
        below = rows[rows["ci_high"] < project]["label"].tolist()
        if above:
            text += f" Intervallet ligger helt over projektets gennemsnit (orange) for {_join(above)}."
        if below:
            text += f" Intervallet ligger helt under projektets gennemsnit (orange) for {_join(below)}."
        if not above and not below:
            text += (" Alle kommuners interval" if n > 1 else " Intervallet") + " omfatter projektets gennemsnit."
    if hidden:
        text += f" Ikke vist: {_join(hidden)}."
    return text + " Tallene står i tabellen over succeskriterierne."


def goals(team_year: pd.DataFrame) -> str:
    """The goal tracking figure: realised against target, year to date, per indicator and team."""
    indicators = sorted(team_year["indicator"].unique())
    text = ("Linjediagrammer, ét pr. indikator (" + _join([str(i) for i in indicators]) + "): realiseret "
            "(fuld linje) og mål (stiplet linje) år til dato uge for uge for hvert team.")
    latest = team_year[team_year["iso_year"] == team_year["iso_year"].max()]
    parts = [f"{r.team}, {r.indicator}: {fmt_int(r.realised_ytd)} mod målet {fmt_int(r.target_ytd)}"
             + (f" ({fmt_pct(r.share_ytd)})" if pd.notna(r.share_ytd) else "")
             for r in latest.itertuples(index=False)]
    if parts:
        year = int(team_year["iso_year"].max())
        text += f" År til dato i {year}: " + "; ".join(parts) + "."
    return text + " Tallene står i tabellen under figuren."
