"""The Danish words of the reports: status categories, criteria, covariates, change bands, reasons."""

from __future__ import annotations

import numpy as np

STATUS_LABELS = {
    "før_rehab": "Før rehabiliteringsteam",
    "ledighedsydelse": "Ledighedsydelse",
    "fleksjob_0_10": "Fleksjob, 0-10 timer",
    "fleksjob_over_10": "Fleksjob, over 10 timer",
    "udgået": "Udgået",
}
CRITERIA_LABELS = {
    "sc1": "1. Andel i fleksjob blandt borgere på ledighedsydelse",
    "sc2": "2. Andel stadig på ledighedsydelse efter 39 uger, S(39)",
    "sc3": "3. Andel med progression i effektive timer",
}
CRITERIA_SHORT = {"sc1": "Andel i fleksjob", "sc2": "S(39)", "sc3": "Progression"}
TARGET_SIGN = {"sc1": "≥", "sc2": "≤", "sc3": "≥"}
COVARIATE_LABELS = {"round": "Runde", "sex": "Køn", "age_band": "Alder", "target_group": "Målgruppe",
                    "municipality": "Kommune"}
LEVEL_LABELS = {"K": "kvinde", "M": "mand", "rehab": "før rehab", "ledighedsydelse": "ledighedsydelse",
                "fleksjob": "fleksjob"}
CHANGE_BANDS = [  # (label, low, high): change in effective hours (last minus first), low <= change < high
    ("Fald", -np.inf, -0.005),
    ("Uændret", -0.005, 0.005),
    ("Stigning under 1 time", 0.005, 0.995),
    ("1 til under 2 timer", 0.995, 1.995),
    ("2 til under 3 timer", 1.995, 2.995),
    ("3 timer eller mere", 2.995, np.inf),
]




def _round_label(r) -> str:
    return f"Runde {r}"


_REASONS_DA = {
    "too few cases": "for få forløb til at estimere modellen",
    "too few caseworkers": "for få jobformidlere til klyngerobuste standardfejl",
    "outcome does not vary": "udfaldet varierer ikke",
    "caseload does not vary": "sagsstammen varierer ikke",
    "collinear": "sagsstammen er kollinear med kontrolvariablene",
    "separation": "perfekt separation",
    "converge": "modellen konvergerede ikke",
    "not finite": "standardfejlen kunne ikke beregnes",
}


def _reason_da(reason) -> str:
    if not reason:
        return "kunne ikke estimeres"
    for key, text in _REASONS_DA.items():
        if key in reason:
            return text
    return "kunne ikke estimeres"


def _s39_reason_da(reason: str) -> str:
    if "no cases" in reason:
        return "ingen borgere i analysen"
    if "before week 39" in reason or "no case under observation" in reason:
        return "ingen borgere er fulgt frem til 39 uger"
    return "for få borgere fulgt"
