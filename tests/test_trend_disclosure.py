"""Disclosure across time (issue 10, point 5): an audit of the published series, read back from the
reports and checked against numbers computed here from the CSV files, not by evalkit.trends.

Two sets of reports: the sample's (tests/snapshots/sample_reports.json, which test_report_snapshot
holds equal to the real reports) and the small-cell dataset of test_suppression_everywhere, rendered
once there (its test_the_series_publish_no_recoverable_count_over_time calls `check_small_cell_reports`). For every published series:
- stocks per status category (municipality reports): every cell is the CSV's count rounded to base 5,
  never 1-4; between consecutive shown months, and between the last month and the exact status table
  at E, the change a reader can deduce (rounding intervals, `udgået` only growing) is never a single
  value of 1-4; a category hidden at E (or a hidden number of cases) has no series;
- criteria per quarter: the counts behind every shown point (k, n, n-k; for S(39) cases at risk and
  events), and the snapshot's at E, differ pairwise by 0 or at least 5; criterion 1 equals k/n counted
  here; the status report's small multiples show exactly the municipality reports' points;
- flows (status report): each cell is the CSV's total rounded to base 5; `Indgået` and `Udgået` only
  where the status grid shows the number of cases and `Udgået` at E;
- the index's arrows are words (not colour alone) and only where the value at E is shown;
- every new figure has Danish alt text holding numbers.
"""

from __future__ import annotations

import itertools
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_snapshot import SNAPSHOT, extract
from test_suppression_everywhere import read_cases

from evalkit.data.dataset import load_dataset
from evalkit.runner.plan import slug
from evalkit.stats.series import compute_series

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
T = 5
STATUS = {"Før rehabiliteringsteam": "før_rehab", "Ledighedsydelse": "ledighedsydelse",
          "Fleksjob, 0-10 timer": "fleksjob_0_10", "Fleksjob, over 10 timer": "fleksjob_over_10", "Udgået": "udgået"}
CRITERIA = {"Andel i fleksjob": "sc1", "S(39)": "sc2", "Progression": "sc3"}
FLOWS = {"Indgået i projektet": "entered", "Fra før rehab til ledighedsydelse": "to_ledighedsydelse",
         "Startet i fleksjob": "flexjob_started", "Udgået": "left"}
SHOWN_NOT = ("x", "–", "<5")


def r5(n: int) -> int:
    """Base-5 rounding written out: 0-2 -> 0, 3-7 -> 5, 8-12 -> 10."""
    return 5 * ((int(n) + 2) // 5)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(pd.to_datetime(text, format="%d.%m.%Y"))


def number(text: str) -> int:
    return int(text.replace(".", ""))


# --- the truth, from the CSV ------------------------------------------------------------------


class Truth:
    def __init__(self, folder: Path):
        self.cases = read_cases(folder)
        self.hours = pd.read_csv(folder / "hours.csv", parse_dates=["month"])
        self.e = load_dataset(folder).extraction_date
        self.series = compute_series(load_dataset(folder))  # the statistics layer, for S(39) and criterion 3
        self._status: dict = {}

    def _of(self, m):
        return self.cases if m is None else self.cases[self.cases["municipality"] == m]

    def status(self, m, d: pd.Timestamp) -> dict:
        """SPEC section 2 as of d, written out case by case (every case's category once per date)."""
        if d not in self._status:
            self._status[d] = self._categories_at(d)
        cat = self._status[d]
        cat = cat if m is None else cat[self.cases["municipality"].to_numpy() == m]
        return {k: int((cat == k).sum()) for k in STATUS.values()}

    def _categories_at(self, d: pd.Timestamp) -> np.ndarray:
        """Every case's status category as of d ("" before its project_entry)."""
        c = self.cases
        hours = self.hours[self.hours["month"] <= d].sort_values("month").groupby("case_id").last()
        latest = c["case_id"].map(hours["effective_hours"])
        exited = c["exit_date"].notna() & (c["exit_date"] <= d)
        flex = c["flexjob_start"].notna() & (c["flexjob_start"] <= d) & (
            c["exit_date"].isna() | (c["flexjob_start"] <= c["exit_date"]))
        benefit = c["benefit_start"].notna() & (c["benefit_start"] <= d)
        cat = np.select([exited, flex & (latest > 10), flex, benefit],
                        ["udgået", "fleksjob_over_10", "fleksjob_0_10", "ledighedsydelse"], "før_rehab")
        return np.where((c["project_entry"] <= d).to_numpy(), cat, "")

    def flows(self, m, start=None, end=None) -> dict:
        """Events in (start, end] (end defaults to E) of cases of m, counted from the CSV."""
        c = self._of(m)
        end = self.e if end is None else end

        def inside(dates):
            return dates.notna() & (dates <= end) & (True if start is None else dates > start)

        entry, benefit, flex, exit_ = (c[k] for k in ("project_entry", "benefit_start", "flexjob_start", "exit_date"))
        return {
            "entered": int(inside(entry).sum()),
            "to_ledighedsydelse": int((inside(benefit) & (c["target_group"] == "rehab") & (benefit >= entry)
                                       & ~(exit_.notna() & (benefit > exit_))).sum()),
            "flexjob_started": int((inside(flex) & (flex >= entry) & (exit_.isna() | (flex <= exit_))).sum()),
            "left": int(inside(exit_).sum()),
        }

    def counts(self, m, key: str, d: pd.Timestamp) -> dict:
        """The counts a criterion point pins: criterion 1 from the CSV, S(39) and criterion 3 from the series."""
        if key == "sc1":
            c = self._of(m)
            c = c[(c["target_group"] == "ledighedsydelse") & (c["project_entry"] <= d)]
            k = int((c["flexjob_start"].notna() & (c["flexjob_start"] <= d)
                     & (c["exit_date"].isna() | (c["flexjob_start"] <= c["exit_date"]))).sum())
            return {"n": len(c), "k": k, "rest": len(c) - k}
        point = next(p for p in self.series["scopes"][f"municipality={m}"]["quarterly"]
                     if p["date"] == d.date().isoformat())
        if key == "sc2":
            s = point["survival"]
            return {"n": s["n"], "k": s["events"], "rest": s["n"] - s["events"]}
        return {"n": point["sc3"]["n"], "k": point["sc3"]["k"], "rest": point["sc3"]["n"] - point["sc3"]["k"]}


# --- reading the published tables -----------------------------------------------------------------


def table(page: dict, caption_start: str) -> dict | None:
    found = [t for t in page["tables"] if t["caption"].startswith(caption_start)]
    return found[0] if found else None


def rows(t: dict) -> list[dict]:
    return [dict(zip(t["header"], r[1:])) for r in t["rows"]]


def snapshot_status(page: dict) -> dict:
    """The municipality report's exact status table at E: category (and "I alt") -> cell text."""
    t = next(t for t in page["tables"] if t["header"][:2] == ["Statuskategori", "Antal"])
    return {STATUS.get(r["Statuskategori"], r["Statuskategori"]): r["Antal"] for r in rows(t)}


def single_small(lo: int, hi: int) -> bool:
    return lo == hi and 0 < abs(lo) < T


# --- the audit ------------------------------------------------------------------------------------


def audit_stocks(m: str, page: dict, truth: Truth) -> list[str]:
    problems = []
    at_e = snapshot_status(page)
    t = table(page, f"Borgere pr. statuskategori, {m} ")
    if at_e["I alt"] in SHOWN_NOT:
        return [] if t is None else [f"{m}: stocks shown although the number of cases at E is hidden"]
    if t is None:
        return [f"{m}: no stock table"]
    published = rows(t)
    for category_label, cat in STATUS.items():
        cells = [r[category_label] for r in published]
        if at_e[cat] in SHOWN_NOT and cat == "udgået":
            if any(c != "x" for c in cells):
                problems.append(f"{m}: udgået series shown although hidden at E")
            continue
        lo, hi = [], []
        for r, cell in zip(published, cells):
            true = truth.status(m, day(r["Månedens udgang"]))[cat]
            if cell != "x":
                v = number(cell)
                if v != r5(true) or v % 5:
                    problems.append(f"{m} {r['Månedens udgang']} {cat}: {cell}, expected {r5(true)}")
                lo.append(max(v - 2, 0))
                hi.append(v + 2)
        if at_e[cat] not in SHOWN_NOT:  # the exact count at E closes the series
            lo.append(number(at_e[cat]))
            hi.append(number(at_e[cat]))
        if cat == "udgået":  # only grows: bounds run forward and backward
            lo = list(np.maximum.accumulate(lo))
            hi = list(np.minimum.accumulate(hi[::-1])[::-1])
        for i in range(len(lo) - 1):
            low = max(lo[i + 1] - hi[i], 0) if cat == "udgået" else lo[i + 1] - hi[i]
            if single_small(low, hi[i + 1] - lo[i]):
                problems.append(f"{m} {cat}: change {low} between points {i} and {i + 1} is recoverable")
    return problems


def criteria_points(page: dict, m: str) -> dict[str, dict[pd.Timestamp, str]]:
    t = table(page, f"Succeskriterier pr. kvartal, {m}")
    out = {key: {} for key in CRITERIA.values()}
    for r in rows(t) if t else []:
        for short, key in CRITERIA.items():
            cell = r[f"{short} (95 % CI)"]
            if cell not in SHOWN_NOT:
                out[key][day(r["Kvartalets udgang"])] = cell
    return out


def audit_criteria(m: str, page: dict, truth: Truth) -> list[str]:
    problems = []
    for key, points in criteria_points(page, m).items():
        published = [truth.counts(m, key, d) for d in points] + [truth.counts(m, key, truth.e)]
        for a, b in itertools.combinations(published, 2):
            for name in ("n", "k", "rest"):
                if 0 < abs(a[name] - b[name]) < T:
                    problems.append(f"{m} {key}: {name} {a[name]} and {b[name]} at two published points")
        if key == "sc1":
            for d, cell in points.items():
                c = truth.counts(m, key, d)
                share = (Decimal(100 * c["k"]) / Decimal(c["n"])).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                if not cell.startswith(f"{share}".replace(".", ",") + " %"):
                    problems.append(f"{m} sc1 {d.date()}: {cell}, expected {c['k']}/{c['n']}")
    return problems


def audit_flows(status_page: dict, truth: Truth) -> list[str]:
    problems = []
    grid = {r["Kommune"]: r for r in rows(next(t for t in status_page["tables"] if t["header"][:2] == ["Kommune", "Runde"]))}
    t = table(status_page, "Flowet over hele perioden pr. kommune")
    for r in rows(t):
        m = None if r["Kommune"] == "Projektet i alt" else r["Kommune"]
        true = truth.flows(m)
        g = grid["I alt" if m is None else m]
        for label, name in FLOWS.items():
            cell = r[label]
            gate = {"entered": g["I alt"], "left": g["Udgået"]}.get(name)
            if gate is not None and gate in SHOWN_NOT:
                if cell != "x":
                    problems.append(f"{r['Kommune']} {name}: {cell} shown beside a hidden grid cell")
                continue
            if cell == "x" or number(cell) != r5(true[name]):
                problems.append(f"{r['Kommune']} {name}: {cell}, expected {r5(true[name])}")
    previous = None
    for r in rows(table(status_page, "Projektet i alt: flowet pr. kvartal")):
        d = day(r["Kvartalets udgang"])
        true = truth.flows(None, previous, d)
        previous = d
        for label, name in FLOWS.items():
            if r[label] != "x" and number(r[label]) != r5(true[name]):
                problems.append(f"project {d.date()} {name}: {r[label]}, expected {r5(true[name])}")
    return problems


def audit_small_multiples(status_page: dict, pages: dict) -> list[str]:
    """The status report shows each municipality's criteria at exactly the quarters its report shows."""
    problems = []
    for key in CRITERIA.values():
        t = next(t for t in status_page["tables"] if t["caption"].endswith("pr. kvartal (kvartalets udgang, måned.år)")
                 and CRITERIA_CAPTION[key] in t["caption"])
        for r in rows(t):
            m = r["Kommune"]
            if m == "Projektet i alt" or f"kommune-{slug(m)}.html" not in pages:
                continue
            own = {d.strftime("%m.%Y"): cell.split(" (")[0]
                   for d, cell in criteria_points(pages[f"kommune-{slug(m)}.html"], m)[key].items()}
            here = {h: v for h, v in r.items() if h != "Kommune" and v not in SHOWN_NOT}
            if own != here:
                problems.append(f"{m} {key}: status report {here} but municipality report {own}")
    return problems


CRITERIA_CAPTION = {"sc1": "Andel i fleksjob", "sc2": "S(39)", "sc3": "progression"}
ARROW_TEXT = re.compile(r"^([↑↓→] (steget|faldet|uændret)( \((bedre|dårligere)\))?|kan ikke vurderes)$")


def audit_index(index: dict) -> list[str]:
    problems = []
    t = index["tables"][0]
    for r in rows(t):
        for short in CRITERIA:
            arrow = r[f"{short}: siden forrige kvartal"]
            if not ARROW_TEXT.match(arrow):
                problems.append(f"{r['Kommune']} {short}: {arrow!r} is not an arrow with words")
            if r[short] in SHOWN_NOT and arrow != "kan ikke vurderes":
                problems.append(f"{r['Kommune']} {short}: {arrow!r} beside a hidden value")
    return problems


def audit(pages: dict, truth: Truth) -> list[str]:
    problems = []
    for name, page in pages.items():
        if name.startswith("kommune-"):
            m = municipality_of(page)
            problems += audit_stocks(m, page, truth) + audit_criteria(m, page, truth)
    status = pages["statusrapport.html"]
    return problems + audit_flows(status, truth) + audit_small_multiples(status, pages) + audit_index(pages["index.html"])


def municipality_of(page: dict) -> str:
    """The municipality of a report's extract, from its title ('Kommunerapport: Faxe')."""
    return next(t for t in page["text"] if "Kommunerapport: " in t).split("Kommunerapport: ", 1)[1]


# --- the two sets of reports --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_truth() -> Truth:
    return Truth(SAMPLE)


def test_the_sample_reports_publish_no_recoverable_count_over_time(sample_truth):
    pages = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    truth = sample_truth
    assert audit(pages, truth) == []
    # not vacuous: the series are there, with hidden points and movement between months
    shown = sum(len(v) for name, p in pages.items() if name.startswith("kommune-")
                for v in criteria_points(p, municipality_of(p)).values())
    assert shown >= 50
    assert all(table(p, "Borgere pr. statuskategori") for n, p in pages.items() if n.startswith("kommune-"))


def check_small_cell_reports(data: Path, html: dict[str, str]) -> None:
    """The audit on the reports of test_suppression_everywhere's small-cell dataset (rendered once
    there, by its module fixture `rendered`, which calls this: no second batch of reports)."""
    pages = {name: extract(page) for name, page in html.items()}
    truth = Truth(data)
    assert audit(pages, truth) == []
    # the small municipalities exercise the rules: series left out, flows hidden beside hidden grid cells
    no_stocks = [n for n, p in pages.items() if n.startswith("kommune-") and not table(p, "Borgere pr. statuskategori")]
    assert len(no_stocks) >= 5
    flows = rows(table(pages["statusrapport.html"], "Flowet over hele perioden pr. kommune"))
    assert sum(r["Udgået"] == "x" for r in flows) >= 3
    check_alt_text(html)


def check_alt_text(html: dict[str, str]) -> None:
    """Every figure (``<img>``) has Danish alt text holding numbers."""
    tags = [tag for page in html.values() for tag in re.findall(r'<img\b[^>]*>', page)]
    assert all("data:image/png;base64," in tag for tag in tags)
    figures = [m.group(1) for tag in tags for m in [re.search(r'alt="([^"]*)"', tag)] if m]
    assert len(figures) == len(tags)
    assert len(figures) >= 3
    assert all(len(alt) > 60 and re.search(r"\d", alt) for alt in figures)


def test_the_audit_finds_leaks(sample_truth):
    """Hand-made leaks: a stock series moving 5 -> exact 4 at E reveals nothing, but an exact month would."""
    truth = sample_truth
    m = "Tønder"
    base = {"tables": [{"caption": "", "header": ["Statuskategori", "Antal"], "header_kinds": [],
                        "rows": [["", label, "10"] for label in STATUS] + [["", "I alt", "50"]]}], "text": []}
    d = "30.11.2021"
    true = truth.status(m, day(d))
    exact = {**base, "tables": base["tables"] + [{
        "caption": f"Borgere pr. statuskategori, {m} (afrundet)", "header": ["Månedens udgang", *STATUS],
        "header_kinds": [], "rows": [["", d, *(str(true[c]) for c in STATUS.values())]]}]}
    assert audit_stocks(m, exact, truth)  # an unrounded count is caught
    leak = {"sc1": {}, "sc2": {}, "sc3": {}}
    c = truth.counts(m, "sc1", truth.e)
    for q in pd.date_range("2019-03-31", truth.e, freq="QE"):
        if 0 < abs(truth.counts(m, "sc1", q)["k"] - c["k"]) < T:
            leak["sc1"][q] = "1,0 %"
            break
    page = {"tables": [{"caption": f"Succeskriterier pr. kvartal, {m}",
                        "header": ["Kvartalets udgang", *(f"{s} (95 % CI)" for s in CRITERIA)], "header_kinds": [],
                        "rows": [["", q.strftime("%d.%m.%Y"), v, "x", "x"] for q, v in leak["sc1"].items()]}]}
    assert leak["sc1"] and any("published points" in p for p in audit_criteria(m, page, truth))
