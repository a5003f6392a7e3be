"""Tables and texts that more than one report shows: criteria rows, status table, change bands, means."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report import suppression as sup
from evalkit.report.blocks import Table
from evalkit.report.cells import fmt_count, fmt_masked, fmt_share, suppression_note
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    HIDDEN,
    MISSING,
    fmt_ci,
    fmt_num,
    fmt_p,
    fmt_pct,
)
from evalkit.report.grids import _change_counts, linked_text, s39_suppressed
from evalkit.report.labels import STATUS_LABELS, _reason_da


def _criteria_rows(block: dict, threshold: int, forced: dict | None = None) -> list[dict]:
    """Value, CI, n, target and verdict of the three criteria of one indicator block (suppressed).

    `forced` (criterion key -> bool) hides a criterion whose population count is hidden elsewhere.
    """
    rows = []
    forced = forced or {}
    sc1, sc3, surv, sc2 = block["sc1"], block["sc3"], block["survival"], block["sc2"]
    for key, crit, k, n in (("sc1", sc1, sc1.get("k"), sc1["n"]), ("sc3", sc3, sc3.get("k"), sc3["n"])):
        hidden = sup.share_suppressed(k, n, threshold) or (bool(forced.get(key)) and crit["value"] is not None)
        rows.append({
            "key": key, "value": HIDDEN if hidden and n else fmt_share(k, n, crit["value"], threshold),
            "hidden": hidden,
            "ci": fmt_ci(crit["ci_low"], crit["ci_high"], hidden and n > 0), "n": fmt_count(n, threshold),
            "target": crit.get("target"), "met": None if hidden else crit.get("met"),
        })
    hidden2 = s39_suppressed(surv, threshold) or bool(forced.get("sc2"))
    rows.insert(1, {
        "key": "sc2", "value": HIDDEN if hidden2 and sc2["value"] is not None else fmt_pct(sc2["value"]),
        "hidden": hidden2, "ci": fmt_ci(sc2["ci_low"], sc2["ci_high"], hidden2 and sc2["value"] is not None),
        "n": fmt_count(surv["n"], threshold), "target": sc2.get("target"),
        "met": None if hidden2 else sc2.get("met"),
    })
    return rows


def _status_table(counts: dict, threshold: int, compare: dict | None = None, compare_label: str = "",
                  mask: pd.Series | None = None, compare_mask: pd.Series | None = None,
                  title: str | None = None) -> Table:
    """Status categories with numbers and shares and a total row, suppressed as one column with its total.

    `mask` and `compare_mask` (indexed by the categories and "I alt") replace that
    suppression with the status report's (`status_grid`), so a cell hidden there is
    hidden here too. A share is shown only where its count and the total are
    (count / total with the total hidden would reveal it), or the count is 0.
    """
    from evalkit.stats.status import STATUS_CATEGORIES

    def column(values: dict, given: pd.Series | None) -> tuple[pd.Series, pd.Series]:
        n = pd.Series([values.get(c, 0) for c in STATUS_CATEGORIES], index=list(STATUS_CATEGORIES), dtype=float)
        full = pd.concat([n, pd.Series({"I alt": float(n.sum())})])
        return full, (sup.suppress_series(full, threshold, total_label="I alt") if given is None else given[full.index])

    def shares(full: pd.Series, m: pd.Series) -> list[str]:
        total = full["I alt"]
        return [MISSING if not total else fmt_pct(full[k] / total)
                if m[k] == sup.SHOWN and (m["I alt"] == sup.SHOWN or full[k] == 0) else HIDDEN for k in full.index]

    full, m = column(counts, mask)
    frame = pd.DataFrame({
        "Statuskategori": [STATUS_LABELS.get(k, "I alt") for k in full.index],
        "Antal": [fmt_masked(full[k], m[k], threshold) for k in full.index],
        "Andel": shares(full, m),
    })
    if compare is not None:
        frame[f"Andel, {compare_label}"] = shares(*column(compare, compare_mask))
    return Table(frame, title=title, note=suppression_note(threshold), total_rows=[len(frame) - 1],
                 count_cols=["Antal"])


def change_distribution(changes: pd.Series, threshold: int, total_hidden: bool = False,
                        codes: list | None = None) -> pd.DataFrame:
    """Cases per change band with a suppression mask (the band counts add up to the published total).

    `total_hidden`: the total (the sc3_n count) is hidden in its `count_grid`, so it is hidden here too.
    `codes`: the mask decided for the whole publication (`grids.linked_band_codes`), used when given.
    """
    counts = _change_counts(changes)
    full = pd.concat([counts, pd.Series({"I alt": float(len(changes))})])
    initial = np.zeros((len(full), 1), dtype=bool)
    initial[-1, 0] = total_hidden and len(changes) > 0
    mask = (pd.Series(codes, index=full.index) if codes is not None else
            sup.suppress_counts(full.to_frame("n"), threshold, total_row="I alt", initial=initial)["n"])
    return pd.DataFrame({"band": full.index, "n": full.values, "mask": mask.values,
                         "share": full.values / len(changes) if len(changes) else np.nan})


def band_bars(dist: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """A `change_distribution` as the hours figure draws it: per band (no total) its share, NaN where
    the band is hidden, and the mark a hidden band gets instead of a bar ('<5' or 'x'; '' when shown)."""
    d = dist[dist["band"] != "I alt"]
    shown = (d["mask"] == sup.SHOWN).to_numpy()
    return pd.DataFrame({"band": d["band"].to_numpy(), "share": np.where(shown, d["share"].to_numpy(float), np.nan),
                         "mark": ["" if m == sup.SHOWN else fmt_masked(n, m, threshold)
                                  for n, m in zip(d["n"], d["mask"])]})


def _change_table(dists: dict[str, pd.DataFrame], threshold: int, title: str | None = None) -> Table:
    """Change bands: number and share per group (columns), suppressed."""
    frame = pd.DataFrame({"Ændring i effektive timer": next(iter(dists.values()))["band"].tolist()})
    for label, d in dists.items():
        frame[f"Antal, {label}"] = [fmt_masked(n, m, threshold) for n, m in zip(d["n"], d["mask"])]
        frame[f"Andel, {label}"] = [
            HIDDEN if m != sup.SHOWN else fmt_pct(s) for s, m in zip(d["share"], d["mask"])
        ]
    return Table(frame, title=title, note=suppression_note(threshold), total_rows=[len(frame) - 1],
                 count_cols=[f"Antal, {label}" for label in dists])


def _mean_text(values: pd.Series, threshold: int, decimals: int = 1) -> str:
    n = int(values.notna().sum())
    if n == 0:
        return MISSING
    return HIDDEN if sup.stat_suppressed(n, threshold) else fmt_num(values.mean(), decimals)


def _median_text(values: pd.Series, threshold: int, decimals: int = 1) -> str:
    n = int(values.notna().sum())
    if n == 0:
        return MISSING
    return HIDDEN if sup.stat_suppressed(n, threshold) else fmt_num(values.median(), decimals)


def _regression_rows(regs: dict, threshold: int, ctx=None, scope=None) -> pd.DataFrame:
    """`ctx` and `scope` given: "Forløb" and the number of caseworkers as the publication's decision shows them."""
    def n_text(key, r):
        if ctx is None or scope is None:
            return fmt_count(r.get("n"), threshold)
        return linked_text(ctx, ("regression_n", key, *scope), r.get("n"), threshold)

    def workers(key, r):
        n = r.get("n_caseworkers", 0)
        if ctx is not None and scope == ("P",) and key == "flexjob_39w":
            return linked_text(ctx, ("caseworkers", "regression"), n, threshold)
        return fmt_count(n, threshold)

    names = {"flexjob_39w": "Fleksjob inden 39 uger (logit, log-odds pr. sag)",
             "hours_change": "Ændring i effektive timer (OLS, timer pr. sag)"}
    rows = []
    for key, r in regs.items():
        if r.get("slope") is None:
            rows.append({"Resultat": names.get(key, key), "Hældning pr. sag": MISSING, "95 % CI": MISSING,
                         "p-værdi": MISSING, "Forløb": n_text(key, r),
                         "Bemærkning": _reason_da(r.get("reason"))})
        else:
            rows.append({"Resultat": names.get(key, key), "Hældning pr. sag": fmt_num(r["slope"], 4),
                         "95 % CI": fmt_ci(r["ci_low"], r["ci_high"], pct=False, decimals=4),
                         "p-værdi": fmt_p(r["p_value"]), "Forløb": n_text(key, r),
                         "Bemærkning": f"{workers(key, r)} jobformidlere (klynger)"})
    return pd.DataFrame(rows)


def _mean_or_none(values: pd.Series, threshold: int):
    n = int(values.notna().sum())
    return None if n == 0 or sup.stat_suppressed(n, threshold) else float(values.mean())
