"""Disclosure across time: what of the series (evalkit.stats.series) a report may publish (issue 10, point 5).

The rule (docs/contract-notes.md, "Series in the reports"): no published figure,
table or series lets a reader recover a count of 1 to threshold-1 persons, also
by comparing points in time or a series with the snapshot tables of the report.

- Counts over time (stocks per status category, flows) are published only
  rounded to a base of 5 (`round_base`: the nearest multiple, 0-2 -> 0, 3-7 ->
  5), never exactly and without month-level totals. A rounded count leaves at
  least three values possible, so no difference of two shown points is pinned.
- The stock series stop before the extraction date E: at E the report shows the
  exact status table, and rounding its (possibly suppressed) cells would narrow
  them. A municipality's stocks are shown only where its number of cases at E
  is shown in the status grid, and the `udgået` line (which only grows, so its
  points bound the E cell from below) only where that cell is shown.
- Flows are published per municipality as totals over the period; their
  `entered` and `left` totals equal the status grid's number of cases and
  `udgået` at E, so they are hidden where the grid hides those cells. The
  project's flows are also given per quarter.
- Criteria per quarter carry intervals, which pin their counts (k, n): a
  quarter's point is shown only when it passes the snapshot rule (no share
  from 1-4 persons, S(39) as `s39_suppressed`) and every count it publishes
  differs from the same count at every other published point of the scope,
  the snapshot at E included, by 0 or at least the threshold (`criteria_mask`,
  from E backwards). The project's line is drawn without intervals.

Pure functions of plain data: no HTML, no Danish; `trends` builds the sections.
"""

from __future__ import annotations

import numpy as np

from evalkit.report import suppression as sup
from evalkit.report.grids import s39_suppressed
from evalkit.rounding import as_decimal, round_half_up

BASE = 5
CRITERIA = ("sc1", "sc2", "sc3")


def round_base(n, base: int = BASE):
    """n rounded to the nearest multiple of `base` (halves up); None stays None."""
    if n is None:
        return None
    return int(np.floor(n / base + 0.5)) * base


def stock_points(monthly: list[dict]) -> list[dict]:
    """The monthly points shown in a stock series: every month-end before E (the last point)."""
    return monthly[:-1]


def rounded_stocks(monthly: list[dict], shown_categories, base: int = BASE) -> list[dict]:
    """[{date, counts: {category: rounded count or None (hidden)}}] of the points before E."""
    return [{"date": p["date"],
             "counts": {c: (round_base(n, base) if c in shown_categories else None)
                        for c, n in p["status_counts"].items()}}
            for p in stock_points(monthly)]


def stock_categories(status_mask: dict, categories) -> list[str]:
    """The categories whose series may be shown, given the E snapshot's mask (True = shown) of each
    category and of "I alt": nothing when the number of cases is hidden, `udgået` only when shown."""
    if not status_mask.get("I alt", False):
        return []
    return [c for c in categories if c != "udgået" or status_mask.get(c, False)]


def flow_totals(monthly: list[dict]) -> dict:
    """Each flow summed over the whole period (every point's flows)."""
    names = monthly[0]["flows"].keys() if monthly else ()
    return {name: sum(p["flows"][name] for p in monthly) for name in names}


def quarterly_flows(monthly: list[dict], quarter_dates: list[str]) -> list[dict]:
    """[{date, flows}] summed over the months up to each quarter point (the last quarter ends at E)."""
    out, acc, k = [], None, 0
    for p in monthly:
        acc = dict(p["flows"]) if acc is None else {n: acc[n] + v for n, v in p["flows"].items()}
        if k < len(quarter_dates) and p["date"] == quarter_dates[k]:
            out.append({"date": p["date"], "flows": acc})
            acc, k = None, k + 1
    return out


def published_flows(totals: dict, status_mask: dict, base: int = BASE) -> dict:
    """Rounded period totals; `entered` and `left` None where the grid hides cases or `udgået` at E."""
    hide = {"entered": not status_mask.get("I alt", False), "left": not status_mask.get("udgået", False)}
    return {name: None if hide.get(name) else round_base(n, base) for name, n in totals.items()}


# --- criteria per quarter ----------------------------------------------------------


def point_counts(point: dict, key: str) -> dict:
    """The person counts a shown criterion point pins (its value and interval): name -> count."""
    if key == "sc2":
        s = point["survival"]
        return {"n": s["n"], "k": s["events"], "rest": s["n"] - s["events"]}
    c = point[key]
    n, k = c["n"], c.get("k") or 0
    return {"n": n, "k": k, "rest": n - k}


def point_allowed(point: dict, key: str, threshold: int) -> bool:
    """The snapshot rule for one quarter point: a value, not from 1 to threshold-1 persons."""
    if point[key]["value"] is None:
        return False
    if key == "sc2":
        return not s39_suppressed(point["survival"], threshold)
    c = point[key]
    return not sup.share_suppressed(c.get("k"), c["n"], threshold)


def _far(a: int, b: int, threshold: int) -> bool:
    return a == b or abs(a - b) >= threshold


def criteria_mask(quarterly: list[dict], key: str, anchor: dict, e_shown: bool, threshold: int) -> list[bool]:
    """Which quarter points of one criterion of one scope may be shown (the last point is E).

    `anchor`: the counts (point_counts names) the snapshot tables publish at E;
    `e_shown`: the snapshot shows the criterion's value at E (then E is shown).
    From E backwards, a point is shown when `point_allowed` and each of its counts
    is 0 or at least `threshold` away from the same count at every point already
    published (the anchor included).
    """
    published = {name: [v] for name, v in anchor.items()}
    shown = [False] * len(quarterly)
    for j in range(len(quarterly) - 1, -1, -1):
        point = quarterly[j]
        if j == len(quarterly) - 1:
            ok = e_shown and point_allowed(point, key, threshold)
        else:
            counts = point_counts(point, key) if point_allowed(point, key, threshold) else None
            ok = counts is not None and all(_far(c, v, threshold) for name, c in counts.items()
                                            for v in published.get(name, []))
        if ok:
            shown[j] = True
            for name, c in point_counts(point, key).items():
                published.setdefault(name, []).append(c)
    return shown


def direction(before, after, lower_is_better: bool) -> dict | None:
    """Up, down or unchanged between two shown values (compared as shown: percent, 1 decimal)."""
    if before is None or after is None:
        return None
    a, b = (round_half_up(as_decimal(x) * 100, 1) for x in (before, after))
    sign = (b > a) - (b < a)
    better = None if sign == 0 else (sign < 0) == lower_is_better
    return {"sign": sign, "change": float(b - a) / 100, "better": better}
