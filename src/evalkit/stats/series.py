"""Monthly stocks and flows, and quarterly success criteria, over the project period (SPEC section 7).

Points: the last day of every month from the month of the dataset's first
project_entry to E; the last point is E. Every scope (the project, each round,
each municipality, or the one selection) uses the same points.

- Stock at a point D: the status category of section 2 of every case with
  project_entry <= D, derived as of D (a given `status` is ignored).
- Flows of a point: events dated after the previous point and on or before this
  one: `entered` (project_entry), `to_ledighedsydelse` (benefit_start of a
  `rehab` case), `flexjob_started` (a valid flexjob's start), `left`
  (exit_date). Only events on or after the case's project_entry count (a
  flexjob held at entry is no flow through the project), and a benefit_start
  after the exit_date does not.
- At every quarter-end and at E: success criteria 1-3 and the survival summary
  (S(39) = criterion 2) as `evalkit indicators --as-of` gives them on that date.

How: every case's status at every point at once, as (cases x points) arrays
(dates compared with the points; the latest hours row at each point is a
forward-filled row index). Criteria 1 and 3 come from the same arrays. S(39)
per scope and quarter is the Kaplan-Meier product up to week 39 (`s39_summary`)
over the survival rows of the cases truncated to that date (`survival_data` of
`truncate_cases`: no reload, no revalidation). Sums per scope are one sparse
product of the scope membership matrix with the arrays. The quarterly survival
block has no median (it would need the whole curve per scope and quarter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from evalkit.data.dataset import Dataset, subset
from evalkit.stats.asof import truncate_cases
from evalkit.stats.criteria import load_targets, proportion, target_for, target_met
from evalkit.stats.progression import MAX_FIRST_EFFECTIVE, MIN_CHANGE, MIN_MONTHS, round_half_up_2
from evalkit.stats.status import STATUS_CATEGORIES
from evalkit.stats.survival import WEEK_39, _loglog_ci, s39_missing_reason, survival_data

FLOWS = ("entered", "to_ledighedsydelse", "flexjob_started", "left")
CSV_COLUMNS = ["scope", "period", "measure", "value", "ci_low", "ci_high", "n", "reason"]
NO_CASES = "no case in the project by this date"
SC1_EMPTY = "no ledighedsydelse case by this date"
SC3_EMPTY = "no case with hours rows 6 months apart and first effective hours at most 10"


# --- points and scopes -------------------------------------------------------


def series_points(first_entry: pd.Timestamp, extraction_date: pd.Timestamp) -> pd.DatetimeIndex:
    """Month-ends from the month of the first project_entry up to E; the last point is E."""
    e = pd.Timestamp(extraction_date)
    months = pd.period_range(min(pd.Timestamp(first_entry), e), e, freq="M")
    ends = months.to_timestamp(how="end").normalize()
    return pd.DatetimeIndex(np.minimum(ends.to_numpy(), e.to_datetime64()))


def quarter_positions(points: pd.DatetimeIndex) -> np.ndarray:
    """Positions of the quarter-ends among the points, and of the last point (E)."""
    is_quarter = (points.month % 3 == 0) & points.is_month_end
    is_quarter[-1] = True
    return np.flatnonzero(is_quarter)


@dataclass(frozen=True)
class Scope:
    """A set of cases the series are given for, labelled as in the CSV `scope` column."""

    label: str
    municipality: str | None
    round: int | None
    members: np.ndarray  # bool per case


def scope_label(municipality: str | None, round_: int | None) -> str:
    parts = [f"municipality={municipality}"] * (municipality is not None) + [f"round={round_}"] * (round_ is not None)
    return " ".join(parts) or "project"


def _scopes(cases: pd.DataFrame, municipality: str | None, round_: int | None, selected: bool) -> list[Scope]:
    """The selection alone, or the project, every round and every municipality."""
    everyone = np.ones(len(cases), dtype=bool)
    if selected:
        return [Scope(scope_label(municipality, round_), municipality, round_, everyone)]
    scopes = [Scope("project", None, None, everyone)]
    for column in ("round", "municipality"):
        codes, values = pd.factorize(cases[column], sort=True)
        for k, value in enumerate(values):
            m, r = (None, int(value)) if column == "round" else (str(value), None)
            scopes.append(Scope(scope_label(m, r), m, r, codes == k))
    return scopes


# --- per case and point --------------------------------------------------------


def _ns(values) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[ns]")


def _latest_rows(case_pos: np.ndarray, months: np.ndarray, points: np.ndarray, n_cases: int) -> np.ndarray:
    """(cases x points) index of each case's latest hours row with month <= point, -1 when none.

    `case_pos` and `months` are the hours rows sorted by case, then month.
    """
    at = np.searchsorted(points, months, side="left")  # first point on or after the month
    rows = pd.DataFrame({"case": case_pos, "at": at, "row": np.arange(len(at))})
    rows = rows[rows["at"] < len(points)].drop_duplicates(["case", "at"], keep="last")
    latest = np.full((n_cases, len(points)), -1, dtype=np.int64)
    latest[rows["case"].to_numpy(), rows["at"].to_numpy()] = rows["row"].to_numpy()
    return np.maximum.accumulate(latest, axis=1)  # row numbers grow with the month within a case


def _take(values: np.ndarray, rows: np.ndarray, missing) -> np.ndarray:
    """values[rows], with `missing` where rows is -1."""
    return np.append(values, np.asarray([missing], dtype=values.dtype))[rows]


def _month_index(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[M]").astype(np.int64)


@dataclass(frozen=True)
class _Arrays:
    """Per case (and per case and point) facts on which every monthly figure is a sum."""

    status: np.ndarray  # int (cases x points): index into STATUS_CATEGORIES, -1 before entry
    flows: dict  # name -> int per case: position of the point the event falls in, -1 when none
    sc1_member: np.ndarray  # bool (cases x points)
    sc1_event: np.ndarray  # bool (cases x points)
    sc3_eligible: np.ndarray  # bool (cases x points)
    sc3_change: np.ndarray  # float (cases x points), NaN where not eligible


def _arrays(cases: pd.DataFrame, hours: pd.DataFrame, points: pd.DatetimeIndex) -> _Arrays:
    t = _ns(points)[None, :]
    n = len(cases)
    entry, benefit, flex, exit_ = (_ns(cases[c])[:, None] for c in
                                   ("project_entry", "benefit_start", "flexjob_start", "exit_date"))
    flex_ok = ~np.isnat(flex) & (np.isnat(exit_) | (flex <= exit_))  # valid once started (section 3)

    # hours rows sorted by case position, then month
    pos = pd.Index(cases["case_id"]).get_indexer(hours["case_id"])
    h = pd.DataFrame({"case": pos, "month": _ns(hours["month"]), "eff": hours["effective_hours"].to_numpy(float)})
    h = h[h["case"] >= 0].sort_values(["case", "month"], kind="stable")
    h_case, h_month, h_eff = h["case"].to_numpy(), h["month"].to_numpy(), h["eff"].to_numpy()
    latest = _latest_rows(h_case, h_month, _ns(points), n)
    has_latest = latest >= 0
    latest_eff = _take(h_eff, latest, np.nan)

    # status (section 2 at each point), first rule that holds; -1 before entry
    entered = entry <= t
    started = flex_ok & (flex <= t)
    code = {category: k for k, category in enumerate(STATUS_CATEGORIES)}
    status = np.select(
        [~entered, exit_ <= t, started & (latest_eff > 10), started, benefit <= t],
        [-1, code["udgået"], code["fleksjob_over_10"], code["fleksjob_0_10"], code["ledighedsydelse"]],
        default=code["før_rehab"],
    )

    # flows: the point each event falls in
    def point_of(dates: np.ndarray, counts: np.ndarray) -> np.ndarray:
        at = np.searchsorted(_ns(points), dates, side="left")
        return np.where(counts & ~np.isnat(dates) & (at < len(points)), at, -1)

    e0, b0, f0, x0 = entry[:, 0], benefit[:, 0], flex[:, 0], exit_[:, 0]
    rehab = (cases["target_group"] == "rehab").to_numpy()
    flows = {
        "entered": point_of(e0, np.ones(n, dtype=bool)),
        "to_ledighedsydelse": point_of(b0, rehab & (b0 >= e0) & ~(b0 > x0)),
        "flexjob_started": point_of(f0, flex_ok[:, 0] & (f0 >= e0)),
        "left": point_of(x0, np.ones(n, dtype=bool)),
    }

    # success criterion 1: ledighedsydelse cases entered by the point, and those with a valid flexjob
    member = (cases["target_group"] == "ledighedsydelse").to_numpy()[:, None] & entered

    # success criterion 3: first hours row from the month of entry on, and the latest row at the point
    from_entry = h_month.astype("datetime64[M]") >= entry[h_case, 0].astype("datetime64[M]")
    first_of_case = pd.Series(np.flatnonzero(from_entry)).groupby(h_case[from_entry]).min()
    first = np.full(n, -1, dtype=np.int64)
    first[first_of_case.index.to_numpy()] = first_of_case.to_numpy()
    has_first = first >= 0
    first_month = _take(h_month, first, np.datetime64("NaT", "ns"))[:, None]
    first_eff = _take(h_eff, first, np.nan)[:, None]
    latest_month = _take(h_month, latest, np.datetime64("NaT", "ns"))
    months_apart = _month_index(latest_month) - _month_index(first_month)
    eligible = (entered & has_first[:, None] & (first_month <= t) & (first_eff <= MAX_FIRST_EFFECTIVE)
                & has_latest & (months_apart >= MIN_MONTHS))
    change = np.where(eligible, round_half_up_2(latest_eff - first_eff), np.nan)
    return _Arrays(status, flows, member, member & started, eligible, change)


# --- per scope -------------------------------------------------------------------


def _membership(scopes: list[Scope]) -> sparse.csr_matrix:
    """(scopes x cases) 0/1 matrix: a product with a (cases x points) array sums it per scope."""
    return sparse.csr_matrix(np.vstack([s.members for s in scopes]).astype(np.float64))


def _monthly(arrays: _Arrays, member_of: sparse.csr_matrix, n_points: int) -> dict:
    """{"status": (scopes x points x categories), flow name: (scopes x points)} as int arrays."""
    status = np.stack([member_of @ (arrays.status == k).astype(np.float64) for k in range(len(STATUS_CATEGORIES))],
                      axis=2)
    out = {"status": np.rint(status).astype(np.int64)}
    for name, at in arrays.flows.items():
        hit = np.zeros((len(at), n_points))
        rows = np.flatnonzero(at >= 0)
        hit[rows, at[rows]] = 1.0
        out[name] = np.rint(member_of @ hit).astype(np.int64)
    return out


def _reasoned(block: dict, empty: bool, reason_if_empty: str, no_cases: bool) -> dict:
    reason = NO_CASES if no_cases else (reason_if_empty if empty else None)
    return {**block, "reason": reason}


def _first_entry_of_rounds(cases: pd.DataFrame, members: np.ndarray) -> dict:
    """{round: the first project entry of the member cases in that round} (for `_target_round`)."""
    return cases[members].groupby("round")["project_entry"].min().to_dict()


def _target_round(scope: Scope, first_entry_of_round: dict, d: pd.Timestamp) -> int | None:
    """The round whose targets apply: the scope's, else its only round with a case entered by D."""
    if scope.round is not None:
        return scope.round
    present = [r for r, first in first_entry_of_round.items() if first <= d]
    return present[0] if len(present) == 1 else None


def _with_target(block: dict, key: str, targets: dict, scope: Scope, round_: int | None) -> dict:
    target = target_for(targets, key, round_=round_, municipality=scope.municipality)
    return {**block, "target": target, "met": target_met(key, block.get("value"), target)}


def _float(x) -> float | None:
    """A plain float, None for NaN."""
    return None if x is None or not np.isfinite(x) else float(x)


def s39_summary(entry: np.ndarray, time: np.ndarray, event: np.ndarray) -> dict:
    """The `survival` block of the indicators without the median, from cases ever at risk (time > entry).

    S(39) = product over event times t <= 39 of 1 - d/n with n = #(entry < t <= time),
    Greenwood's variance and the log(-log) interval: what `summarise_survival`
    reads off its Kaplan-Meier curve at 39, computed here without the rest of the
    curve (a quarter-end needs one per scope). The rule for a missing S(39) and
    the interval use the same helpers as `summarise_survival`.
    """
    n, events = len(time), int(event.sum())
    reason = s39_missing_reason(entry, time)
    s39 = low = high = None
    if reason is None:
        t, d = np.unique(time[event & (time <= WEEK_39)], return_counts=True)
        at_risk = np.searchsorted(np.sort(entry), t, side="left") - np.searchsorted(np.sort(time), t, side="left")
        s39 = float(np.cumprod(1.0 - d / at_risk)[-1]) if len(t) else 1.0
        with np.errstate(divide="ignore"):
            greenwood = np.sum(np.where(at_risk > d, d / (at_risk * (at_risk - d)), np.inf))
        ci_low, ci_high = _loglog_ci(np.array([s39]), np.array([greenwood]))
        low, high = _float(ci_low[0]), _float(ci_high[0])
    return {"n": n, "events": events, "s39": s39, "s39_ci_low": low, "s39_ci_high": high,
            "at_risk_39": int(np.sum((entry < WEEK_39) & (WEEK_39 <= time))), "s39_reason": reason}


def _sc3(change: np.ndarray) -> dict:
    """`sc3_from_table` of the eligible cases' changes."""
    n = len(change)
    return {**proportion(int(np.sum(change >= MIN_CHANGE)), n),
            "mean_change": float(np.mean(change)) if n else None,
            "median_change": float(np.median(change)) if n else None}


def _quarterly(ds: Dataset, scopes: list[Scope], member_of: sparse.csr_matrix, arrays: _Arrays, monthly: dict,
               points: pd.DatetimeIndex, targets: dict) -> list[list[dict]]:
    """Per scope, per quarter point: n_cases, sc1, sc2, sc3 and survival as in the indicators JSON."""
    cases = ds.cases
    entry = _ns(cases["project_entry"])
    sc1_n = np.rint(member_of @ arrays.sc1_member.astype(np.float64)).astype(np.int64)
    sc1_k = np.rint(member_of @ arrays.sc1_event.astype(np.float64)).astype(np.int64)
    rounds_first = [_first_entry_of_rounds(cases, s.members) for s in scopes]
    out = [[] for _ in scopes]
    for j in quarter_positions(points):
        d = points[j]
        kept = np.flatnonzero(entry <= d.to_datetime64())
        surv = survival_data(truncate_cases(cases, d), d)
        at_risk = (surv["time"] > surv["entry"]).to_numpy()  # the rows every estimate uses
        surv_case = kept[surv.index.to_numpy()[at_risk]]  # each row's position in `cases`
        surv_entry, surv_time = surv["entry"].to_numpy(float)[at_risk], surv["time"].to_numpy(float)[at_risk]
        surv_event = surv["event"].to_numpy(bool)[at_risk]
        eligible = np.flatnonzero(arrays.sc3_eligible[:, j])
        change = arrays.sc3_change[eligible, j]
        for i, scope in enumerate(scopes):
            n_cases = int(monthly["status"][i, j].sum())
            target_round = _target_round(scope, rounds_first[i], d)
            rows = scope.members[surv_case]
            survival = s39_summary(surv_entry[rows], surv_time[rows], surv_event[rows])
            sc1 = proportion(int(sc1_k[i, j]), int(sc1_n[i, j]))
            sc3 = _sc3(change[scope.members[eligible]])
            sc2 = {"value": survival["s39"], "ci_low": survival["s39_ci_low"], "ci_high": survival["s39_ci_high"]}
            out[i].append({
                "date": d.date().isoformat(),
                "n_cases": n_cases,
                "sc1": _with_target(_reasoned(sc1, sc1["n"] == 0, SC1_EMPTY, n_cases == 0),
                                    "sc1", targets, scope, target_round),
                "sc2": _with_target(_reasoned(sc2, survival["s39"] is None, survival["s39_reason"], n_cases == 0),
                                    "sc2", targets, scope, target_round),
                "sc3": _with_target(_reasoned(sc3, sc3["n"] == 0, SC3_EMPTY, n_cases == 0),
                                    "sc3", targets, scope, target_round),
                "survival": survival,
            })
    return out


# --- public ------------------------------------------------------------------------


def series_with_targets(series: dict, cases: pd.DataFrame, targets: dict) -> dict:
    """`compute_series`'s result for the cases `cases` (those it was computed from) with other targets:
    each quarter's sc1-sc3 targets and verdicts as `_quarterly` gives them, without computing the
    series again (its scopes as `_scopes` makes them; the round whose targets apply is the scope's, else its
    only round entered by then)."""
    selection = series["selection"]
    m, r = selection["municipality"], selection["round"]
    scope_of = {s.label: s for s in _scopes(cases, m, r, selected=m is not None or r is not None)}
    scopes = {}
    for label, block in series["scopes"].items():
        scope = scope_of[label]
        first = _first_entry_of_rounds(cases, scope.members)
        quarterly = []
        for point in block["quarterly"]:
            target_round = _target_round(scope, first, pd.Timestamp(point["date"]))
            quarterly.append({**point, **{key: _with_target(point[key], key, targets, scope, target_round)
                                          for key in ("sc1", "sc2", "sc3")}})
        scopes[label] = {**block, "quarterly": quarterly}
    return {**series, "scopes": scopes}


def compute_series(ds: Dataset, municipality: str | None = None, round_: int | None = None,
                   targets_file=None) -> dict:
    """The monthly and quarterly series (plain JSON types) for every scope, or for one selection.

    {dataset, extraction_date, selection, points, scopes: {label: {municipality,
    round, monthly: [{date, n_cases, status_counts, flows}], quarterly: [{date,
    n_cases, sc1, sc2, sc3, survival}]}}}
    """
    targets = load_targets(targets_file)
    selected = municipality is not None or round_ is not None
    sel = subset(ds, municipality=municipality, round_=round_) if selected else ds
    if municipality is not None:  # the spelling of the data (subset matches case-insensitively)
        municipality = str(sel.cases["municipality"].iloc[0])
    points = series_points(ds.cases["project_entry"].min(), ds.extraction_date)
    scopes = _scopes(sel.cases, municipality, round_, selected)
    arrays = _arrays(sel.cases, sel.hours, points)
    member_of = _membership(scopes)
    monthly = _monthly(arrays, member_of, len(points))
    quarterly = _quarterly(sel, scopes, member_of, arrays, monthly, points, targets)
    dates = [p.date().isoformat() for p in points]
    result = {}
    for i, scope in enumerate(scopes):
        stocks = monthly["status"][i]
        result[scope.label] = {
            "municipality": scope.municipality,
            "round": scope.round,
            "monthly": [
                {
                    "date": dates[j],
                    "n_cases": int(stocks[j].sum()),
                    "status_counts": dict(zip(STATUS_CATEGORIES, map(int, stocks[j]))),
                    "flows": {name: int(monthly[name][i, j]) for name in FLOWS},
                }
                for j in range(len(points))
            ],
            "quarterly": quarterly[i],
        }
    return {
        "dataset": ds.name,
        "extraction_date": ds.extraction_date.date().isoformat(),
        "selection": {"municipality": municipality, "round": round_},
        "points": dates,
        "scopes": result,
    }


def series_table(result: dict) -> pd.DataFrame:
    """The series as one tidy table: scope, period, measure, value, ci_low, ci_high, n, reason.

    Monthly measures: n_cases, status_<category>, and the flows; ci and n are
    empty. Quarterly measures: sc1, sc2 (n = cases ever at risk), sc3,
    sc3_mean_change and sc3_median_change (n = eligible cases); `reason` says
    why a value is empty.
    """
    rows = []
    for label, scope in result["scopes"].items():
        for point in scope["monthly"]:
            counts = [("n_cases", point["n_cases"])]
            counts += [(f"status_{cat}", n) for cat, n in point["status_counts"].items()]
            counts += list(point["flows"].items())
            rows += [(label, point["date"], measure, value, None, None, None, None) for measure, value in counts]
        for point in scope["quarterly"]:
            sc1, sc2, sc3 = point["sc1"], point["sc2"], point["sc3"]
            rows += [
                (label, point["date"], "sc1", sc1["value"], sc1["ci_low"], sc1["ci_high"], sc1["n"], sc1["reason"]),
                (label, point["date"], "sc2", sc2["value"], sc2["ci_low"], sc2["ci_high"], point["survival"]["n"],
                 sc2["reason"]),
                (label, point["date"], "sc3", sc3["value"], sc3["ci_low"], sc3["ci_high"], sc3["n"], sc3["reason"]),
                (label, point["date"], "sc3_mean_change", sc3["mean_change"], None, None, sc3["n"], sc3["reason"]),
                (label, point["date"], "sc3_median_change", sc3["median_change"], None, None, sc3["n"], sc3["reason"]),
            ]
    table = pd.DataFrame(rows, columns=CSV_COLUMNS, dtype=object)  # counts stay whole numbers
    table["n"] = table["n"].astype("Int64")
    return table
