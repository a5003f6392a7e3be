"""Tables beside figures (WCAG 2.1 AA, 1.1.1): the figure's data for readers who cannot see it.

Each table holds what its figure draws, suppressed as the figure and the report are: a survival
curve read at fixed weeks (only where the curve is drawn, i.e. while at least `threshold` are at
risk), and the caseload scatter's points (only those the figure shows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report import suppression as sup
from evalkit.report.blocks import Table
from evalkit.report.cells import hide_if
from evalkit.report.format import HIDDEN, MISSING, fmt_num, fmt_pct

WEEKS = (13, 26, 39, 52, 78, 104, 156)


def survival_at(curve: pd.DataFrame, weeks, threshold: int) -> list[str]:
    """The (masked) Kaplan-Meier curve's value in force at each of `weeks`, formatted.

    'x' where the curve is not drawn (fewer than `threshold` at risk from there on), '–' before
    the curve's first time or after its last (no estimate).
    """
    c = sup.mask_curve(curve, threshold)
    times = c["weeks"].to_numpy(float)
    values = c["survival"].to_numpy(float)
    out = []
    for w in weeks:
        i = int(np.searchsorted(times, w, side="right")) - 1
        if i < 0 or not len(times) or w > times[-1]:
            out.append(MISSING)
        elif np.isnan(values[i]):
            out.append(HIDDEN)
        else:
            out.append(fmt_pct(values[i]))
    return out


def survival_weeks_table(series: list[tuple[str, pd.DataFrame, bool]], threshold: int, title: str,
                         label: str = "") -> Table:
    """S(t) at WEEKS for each (label, curve, hidden) series; a hidden series (its S(39) is hidden in the
    report) shows no value at all."""
    rows = []
    for name, curve, hidden in series:
        cells = survival_at(curve, WEEKS, threshold)
        rows.append([name, *(hide_if(v, hidden) for v in cells)])
    frame = pd.DataFrame(rows, columns=[label, *(f"{w} uger" for w in WEEKS)])
    return Table(frame, title=title, note=(
        "Andel stadig på ledighedsydelse aflæst på kurven efter det angivne antal uger. x: kurven vises ikke "
        f"her, fordi færre end {threshold} borgere er i risiko (diskretionering); –: intet estimat."))


def caseload_points_table(shown: pd.DataFrame, n_points: int, label: str, ylabel: str) -> Table:
    """The caseworkers the caseload scatter draws (`suppression.caseload_points`: `mine` marks the
    municipality's, only when at least the threshold of them are drawn), by caseload. Neither their
    numbers of cases nor how many were left out are shown: with the published totals either would
    give the cases or the number of the caseworkers left out."""
    shown = shown.sort_values(["caseload", "mean"], kind="stable")
    mine = shown["mine"].to_numpy(bool)
    frame = pd.DataFrame({
        "Jobformidler": [f"Jobformidler i {label}" if m else "Øvrig jobformidler" for m in mine],
        "Gns. sagsstamme": [fmt_num(v, 1) for v in shown["caseload"]],
        ylabel or "Resultat": [fmt_pct(v) for v in shown["mean"]],
    })
    note = "Én række pr. jobformidler i figuren, sorteret efter sagsstamme."
    if mine.any():
        note += f" Jobformidlerne i {label} er fremhævet."
    if len(shown) < n_points:
        note += " Jobformidlere med for få forløb er ikke vist (diskretionering)."
    return Table(frame, title="Sagsstamme og resultat pr. jobformidler (figurens punkter)",
                 note=note, highlight_rows=[i for i, m in enumerate(mine) if m])
