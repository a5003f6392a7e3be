"""Every indicator of a run as one tidy table: a row per scope and indicator (issue 11).

Scopes: the project, each round, each municipality and each municipality in each
of its rounds. Indicators: the number of cases, the three success criteria
(value, 95 % interval, n, target, met), the median weeks to flexjob, the mean
change in effective hours, follow-up (at least 2 in 26 weeks) and Step Up.
Numbers only, not suppressed: `evalkit indicators DATA --csv` prints this table;
the published `indikatorer.csv` is the same table suppressed as the reports
publish it (`evalkit.report.published`). Numbers come from `evalkit.stats.indicators`;
this module only lays them out.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["omfang", "kommune", "runde", "indikator", "betegnelse", "værdi", "ci_nedre", "ci_øvre", "n", "mål",
           "opfyldt"]
SCOPES = ("projekt", "runde", "kommune", "kommune_runde")
# code -> (Danish label, kind of value: share | count | weeks | hours)
INDICATORS = {
    "n_cases": ("Forløb i projektet", "count"),
    "sc1": ("Succeskriterium 1: andel i fleksjob blandt borgere på ledighedsydelse", "share"),
    "sc2": ("Succeskriterium 2: andel stadig på ledighedsydelse efter 39 uger, S(39)", "share"),
    "sc3": ("Succeskriterium 3: andel med progression i effektive timer", "share"),
    "median_weeks": ("Median uger til fleksjob", "weeks"),
    "mean_hours_change": ("Gns. ændring i effektive timer", "hours"),
    "follow_up_2": ("Fleksjob med mindst 2 opfølgninger i 26 uger", "share"),
    "step_up": ("Langvarigt ledige med Step Up", "share"),
}


def indicator_fields(block: dict) -> dict[str, dict]:
    """code -> {value, ci_low, ci_high, n, target, met} of one indicator block (SPEC section 6 JSON)."""
    surv, sc3 = block["survival"], block["sc3"]

    def crit(key: str, n) -> dict:
        c = block[key]
        return {"value": c["value"], "ci_low": c["ci_low"], "ci_high": c["ci_high"], "n": n,
                "target": c.get("target"), "met": c.get("met")}

    plain = {"ci_low": None, "ci_high": None, "target": None, "met": None}
    return {
        "n_cases": {**plain, "value": block["n_cases"], "n": block["n_cases"]},
        "sc1": crit("sc1", block["sc1"]["n"]),
        "sc2": crit("sc2", surv["n"]),
        "sc3": crit("sc3", sc3["n"]),
        "median_weeks": {**plain, "value": surv.get("median_weeks"), "n": surv["n"]},
        "mean_hours_change": {**plain, "value": sc3.get("mean_change") if sc3["n"] else None, "n": sc3["n"]},
        "follow_up_2": {**plain, "value": block["follow_up"]["share_2"], "n": block["follow_up"]["n"]},
        "step_up": {**plain, "value": block["step_up"]["share"], "n": block["step_up"]["n"]},
    }


def scoped_blocks(all_indicators: dict, rounds_of: dict, by_round: dict) -> list[tuple[str, str | None, int | None, dict]]:
    """(scope, municipality, round, block) in a fixed order: project, rounds, municipalities, municipality x round.

    `all_indicators` is `stats.indicators.compute_all`'s result, `rounds_of` each
    municipality's rounds, `by_round` the blocks of (municipality, round) for
    municipalities with more than one round (one round: the municipality's block).
    """
    out = [("projekt", None, None, all_indicators["project"])]
    out += [("runde", None, int(r), b) for r, b in sorted(all_indicators["rounds"].items())]
    munis = sorted(all_indicators["municipalities"])
    out += [("kommune", m, None, all_indicators["municipalities"][m]) for m in munis]
    for m in munis:
        own = list(rounds_of[m])
        for r in own:
            block = all_indicators["municipalities"][m] if len(own) == 1 else by_round[(m, int(r))]
            out.append(("kommune_runde", m, int(r), block))
    return out


def tidy_table(scoped) -> pd.DataFrame:
    """One row per (scope, indicator) of `scoped_blocks`, unsuppressed."""
    rows = []
    for scope, m, r, block in scoped:
        for code, f in indicator_fields(block).items():
            rows.append({"omfang": scope, "kommune": m, "runde": r, "indikator": code,
                         "betegnelse": INDICATORS[code][0], "værdi": f["value"], "ci_nedre": f["ci_low"],
                         "ci_øvre": f["ci_high"], "n": f["n"], "mål": f["target"], "opfyldt": f["met"]})
    frame = pd.DataFrame(rows, columns=COLUMNS, dtype=object)  # whole numbers stay whole
    frame["runde"] = frame["runde"].astype("Int64")
    return frame


def compute_tidy(ds, targets_file=None, all_indicators: dict | None = None) -> pd.DataFrame:
    """The tidy table of a whole dataset (what `evalkit indicators DATA --csv` prints).

    `all_indicators`: `compute_all(ds, targets_file)` when the caller has it (e.g. from the cache).
    """
    from evalkit.stats.indicators import compute_all, compute_indicators

    if all_indicators is None:
        all_indicators = compute_all(ds, targets_file=targets_file)
    rounds_of = {str(m): sorted(int(r) for r in rs)
                 for m, rs in ds.cases.groupby("municipality", observed=True)["round"].unique().items()}
    by_round = {(m, r): compute_indicators(ds, municipality=m, round_=r, targets_file=targets_file)
                for m, own in rounds_of.items() if len(own) > 1 for r in own}
    return tidy_table(scoped_blocks(all_indicators, rounds_of, by_round))


def select(frame: pd.DataFrame, ds, municipality: str | None, round_: int | None) -> str:
    """The CSV of the rows of one municipality and/or round (all rows when neither is given)."""
    if municipality is not None:
        from evalkit.data.names import find_municipality

        name = find_municipality(sorted(str(m) for m in ds.cases["municipality"].unique()), municipality)
        frame = frame[frame["kommune"] == name]
    if round_ is not None:
        frame = frame[frame["runde"] == round_]
    return to_csv(frame)


def to_csv(frame: pd.DataFrame) -> str:
    """The table as CSV (comma, '.' decimals, UTF-8 text; true/false for met, empty for none)."""
    out = frame.copy()
    out["opfyldt"] = out["opfyldt"].map({True: "true", False: "false"}).astype(object)
    return out.to_csv(index=False, lineterminator="\n")
