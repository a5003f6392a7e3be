"""Report tables and the report context: the layer the notebooks call.

The notebooks hold no computation: a cell calls into this module (tables,
notes) or `evalkit.plots` (figures) and displays the result. Everything shown
is in Danish, with Danish number formats (`1.607`, `23,4 %`), and passes through
`evalkit.suppression` (SPEC section 5) before it is published.

- `build_context(ds)` computes, once per dataset, every indicator
  (`indicators.compute_all`) and the frames behind every figure; the report
  runner pickles it into its private folder with an HMAC tag (`write_context`)
  and every notebook loads it with `report_context`, which checks the tag first.
- `MunicipalityReport`, `StatusReport` and `RoundComparison` give one method
  per report section; a method returns a `Table`, a `plots.Plot` (a figure shown
  as PNG), a `Section` of several, or, when the data cannot support the section,
  a `Note` with a Danish explanation.
- `index_page` writes the runner's index.html.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import os
import pickle
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

import evalkit
from evalkit import suppression as sup
from evalkit.report.format import (  # the one Danish formatter; its names are used from here too
    HIDDEN,
    MISSING,
    fmt_ci,
    fmt_date,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_pp,
)
from evalkit.report.format import is_missing as _missing
from evalkit.report.format import p_relation as _p_relation

# --- Danish number formats (evalkit.report.format; the counts' formats below) ------------


def fmt_count(n, threshold: int = sup.THRESHOLD) -> str:
    """A count of persons: '<5' for 1 to threshold-1 (SPEC section 5), else Danish format."""
    if _missing(n):
        return MISSING
    return f"<{threshold}" if sup.is_small(n, threshold) else fmt_int(n)


def fmt_masked(n, code, threshold: int = sup.THRESHOLD) -> str:
    """A count under its suppression-mask code: '<5' (primary), 'x' (secondary) or the number."""
    if code == sup.SECONDARY:
        return HIDDEN
    return fmt_count(n, threshold) if code == sup.PRIMARY else fmt_int(n)


def fmt_share(k, n, value=None, threshold: int = sup.THRESHOLD, decimals: int = 1) -> str:
    """The share k/n, or 'x' when it is computed from too few persons."""
    if n is None or n == 0:
        return MISSING
    if sup.share_suppressed(k, n, threshold):
        return HIDDEN
    return fmt_pct(k / n if value is None else value, decimals)


# --- what a cell displays --------------------------------------------------------


class Markup(str):
    """Text that is already HTML (a table cell holding a link or a marker)."""


def _cell_html(value) -> str:
    return str(value) if isinstance(value, Markup) else html.escape(str(value))


_NUMERIC = re.compile(r"^\s*(<[\d.,]+|x|–|[-−]?[\d.]+(,\d+)?( %| pct\.-point)?|[-−]?[\d.,]+( til |–)[-−]?[\d.,]+( %)?|[≥≤] [\d.,]+ %)?\s*$")


def _is_numeric_column(values) -> bool:
    """True when every cell looks like a formatted number (right-aligned); text columns align left."""
    return all(not isinstance(v, Markup) and _NUMERIC.match(re.sub(r"\s*\([^)]*\)$", "", str(v))) for v in values)


class Table:
    """A published table: strings already formatted and suppressed, with a caption and a note.

    The HTML says which cells count persons, so the suppression rule (SPEC
    section 5) can be checked on every published report without guessing:
    `count_cols` (labels) get ``<th data-kind="count">``, `count_rows`
    (positions) ``<tr data-kind="count">`` (every cell after the row's label),
    `total_cols` ``data-kind="count total"`` (each row's sum), `total_rows`
    ``<tr class="total">``.
    """

    def __init__(self, frame: pd.DataFrame, title: str | None = None, note: str | None = None,
                 total_rows=(), highlight_rows=(), count_cols=(), count_rows=(), total_cols=()):
        unknown = [c for c in [*count_cols, *total_cols] if c not in frame.columns]
        if unknown:
            raise ValueError(f"count or total columns not in the table: {unknown}")
        self.frame = frame
        self.title = title
        self.note = note
        self.total_rows = set(total_rows)
        self.highlight_rows = set(highlight_rows)
        self.count_cols = set(count_cols) | set(total_cols)
        self.count_rows = set(count_rows)
        self.total_cols = set(total_cols)

    def _header_cell(self, label, text_col: bool) -> str:
        attrs = ' class="t"' if text_col else ""
        if label in self.count_cols:
            attrs += ' data-kind="count total"' if label in self.total_cols else ' data-kind="count"'
        return f"<th{attrs}>{_cell_html(label)}</th>"

    def _repr_html_(self) -> str:
        text_cols = [j > 0 and not _is_numeric_column(self.frame.iloc[:, j]) for j in range(self.frame.shape[1])]
        parts = ['<div class="ek-scroll"><table class="ek-table">']
        if self.title:
            parts.append(f"<caption>{html.escape(self.title)}</caption>")
        parts.append("<thead><tr>" + "".join(
            self._header_cell(c, text_cols[j]) for j, c in enumerate(self.frame.columns)) + "</tr></thead>")
        parts.append("<tbody>")
        for i, row in enumerate(self.frame.itertuples(index=False)):
            cls = " total" if i in self.total_rows else ""
            cls += " highlight" if i in self.highlight_rows else ""
            kind = ' data-kind="count"' if i in self.count_rows else ""
            parts.append(f'<tr class="{cls.strip()}"{kind}>' if cls else f"<tr{kind}>")
            parts.append("".join(f'<td class="t">{_cell_html(v)}</td>' if text_cols[j] else f"<td>{_cell_html(v)}</td>"
                                 for j, v in enumerate(row)) + "</tr>")
        parts.append("</tbody></table></div>")
        if self.note:
            parts.append(f'<p class="ek-note">{html.escape(self.note)}</p>')
        return "".join(parts)

    def __repr__(self) -> str:
        text = self.frame.to_string(index=False)
        return "\n".join(x for x in (self.title, text, self.note) if x)


class Note:
    """A Danish explanation shown in place of a figure or table the data cannot support."""

    def __init__(self, text: str, kind: str = "missing"):
        self.text = text
        self.kind = kind

    def _repr_html_(self) -> str:
        return f'<div class="ek-{self.kind}"><p>{html.escape(self.text)}</p></div>'

    def __repr__(self) -> str:
        return self.text


class Section:
    """Several outputs of one report section (figures, tables, notes), displayed in order."""

    def __init__(self, *parts):
        self.parts = [p for p in parts if p is not None]

    def _ipython_display_(self):
        from IPython.display import display

        for part in self.parts:
            display(part)

    def __repr__(self) -> str:
        return "\n\n".join(repr(p) for p in self.parts)


class Html:
    """A block of ready HTML (title, cards, footer)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def suppression_note(threshold: int = sup.THRESHOLD) -> str:
    return (f"Diskretionering: antal på 1-{threshold - 1} personer vises som <{threshold}; x betyder skjult, "
            f"fordi tallet bygger på under {threshold} personer eller ellers kunne udledes af en total.")


# --- Danish labels ------------------------------------------------------------

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
AT_RISK_WEEKS = (0, 13, 26, 39, 52, 78, 104, 130, 156)
WEEK_39 = 39.0


def met_text(met) -> Markup:
    if met is True:
        return Markup('<span class="ek-met">Opfyldt</span>')
    if met is False:
        return Markup('<span class="ek-notmet">Ikke opfyldt</span>')
    return Markup("Kan ikke vurderes")


# --- the report context -----------------------------------------------------------


def _survival_bundle(data: pd.DataFrame) -> dict:
    """Summary with curve, and the numbers at risk under the plot, for survival_data rows."""
    from evalkit.survival import at_risk_at, summarise_survival

    summary = summarise_survival(data)
    counts = at_risk_at(data, AT_RISK_WEEKS) if len(data) else [0] * len(AT_RISK_WEEKS)
    if len(summary.curve):
        counts[0] = int(summary.curve["at_risk"].iloc[0])  # at 0: the cases starting at the origin
    return {"summary": summary, "at_risk": dict(zip(AT_RISK_WEEKS, counts))}


def _caseworker_points(frame: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """Per caseworker: municipality, mean caseload, number of cases n, outcome sum k and mean."""
    if frame.empty:
        return pd.DataFrame(columns=["caseworker_id", "municipality", "caseload", "n", "k", "mean"])
    home = cases.groupby("caseworker_id")["municipality"].agg(lambda s: s.mode().iloc[0])
    f = frame[frame["caseload"].notna()]
    out = f.groupby("caseworker_id").agg(caseload=("caseload", "mean"), n=("y", "size"), k=("y", "sum"),
                                         mean=("y", "mean")).reset_index()
    out["municipality"] = out["caseworker_id"].map(home)
    return out


def _weighted_line(points: pd.DataFrame) -> tuple[float, float] | None:
    """Intercept and slope of the least-squares line of caseworker means on caseload, weighted by cases."""
    p = points.dropna(subset=["caseload", "mean"])
    if len(p) < 3 or p["caseload"].nunique() < 2:
        return None
    slope, intercept = np.polyfit(p["caseload"], p["mean"], 1, w=np.sqrt(p["n"]))
    return float(intercept), float(slope)


def _goals_for(goals: pd.DataFrame, cases: pd.DataFrame, municipality: str) -> pd.DataFrame:
    """The goal rows of a municipality: its caseworkers' rows, else teams named after it."""
    if goals.empty:
        return goals
    workers = set(cases.loc[cases["municipality"] == municipality, "caseworker_id"])
    rows = goals[goals["employee_id"].isin(workers)]
    if rows.empty:
        rows = goals[goals["team"].astype(str).str.contains(municipality, regex=False)]
    return rows


def _unit(ds, indicators: dict, frames: dict, municipality: str, round_: int | None) -> dict:
    """Everything a municipality report shows about one municipality (optionally one of its rounds).

    `frames` holds the case-level frames of the whole dataset, each with
    municipality and round columns, so a unit is a cheap selection.
    """
    from evalkit.goals import goal_tracking

    def select(frame):
        keep = frame["municipality"] == municipality
        return frame[keep if round_ is None else keep & (frame["round"] == round_)]

    cases = select(frames["cases"])
    e = ds.extraction_date
    goal_rows = _goals_for(ds.goals, ds.cases, municipality)
    return {
        "indicators": indicators,
        "survival": _survival_bundle(select(frames["survival"])),
        "progression": select(frames["progression"]),
        "open_cases": int((cases["exit_date"].isna() | (cases["exit_date"] > e)).sum()),
        "goals": goal_tracking(goal_rows) if len(goal_rows) else None,
        "quality": {
            "cases": len(cases),
            "with_benefit_start": int(cases["benefit_start"].notna().sum()),
            "with_hours": int(cases["_has_hours"].sum()),
            "with_contacts": int(cases["_has_contacts"].sum()),
            "missing_sex": int(cases["sex"].isna().sum()) if "sex" in cases else None,
            "missing_age_band": int(cases["age_band"].isna().sum()) if "age_band" in cases else None,
        },
        "caseworkers": sorted(set(cases["caseworker_id"])),
    }


def _cox(ds, sdata: pd.DataFrame) -> dict:
    """Cox model of time to flexjob by round, adjusted for the covariates present, with level counts."""
    from evalkit.survival import cox_model

    cases = ds.cases
    covariates = [c for c in ("round", "sex", "age_band", "target_group")
                  if c in cases and cases[c].notna().any() and cases[c].nunique() > 1]
    if "round" not in covariates:
        return {"table": None, "covariates": covariates, "counts": {}}
    try:
        table = cox_model(cases, ds.extraction_date, covariates)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, FloatingPointError):
        # e.g. a round without a single flexjob: the hazard ratio runs off to 0 and the information is singular
        return {"table": None, "covariates": covariates, "counts": {}}
    at_risk = sdata[sdata["time"] > sdata["entry"]]
    covs = cases.loc[at_risk.index, covariates].dropna()
    counts = {f"{c}={v}": int(n) for c in covariates for v, n in covs[c].value_counts().items()}
    return {"table": table, "covariates": covariates, "counts": counts,
            "n": table.attrs.get("n"), "events": table.attrs.get("events")}


def build_context(ds, targets_file=None, municipalities: list[str] | None = None) -> dict:
    """Every indicator and every frame the three report notebooks show, computed once.

    Plain data (dicts, frames and survival summaries), so it pickles: the report
    runner writes it once and each notebook loads it (`report_context`).
    `municipalities` limits the per-municipality parts to those (a notebook run
    by hand for one municipality); the project and round parts are always there.
    """
    from evalkit.criteria import load_targets
    from evalkit.indicators import case_facts, compute_all, compute_indicators
    from evalkit.names import find_municipality

    e = ds.extraction_date
    cases = ds.cases
    all_names = sorted(str(m) for m in cases["municipality"].unique())
    chosen = all_names if municipalities is None else [find_municipality(all_names, m) for m in municipalities]
    rounds = sorted(int(r) for r in cases["round"].unique())
    # per-case survival, progression and regression rows with caseloads, computed once
    facts = case_facts(ds)
    if municipalities is None:
        all_indicators = compute_all(ds, targets_file=targets_file, facts=facts)
    else:  # the parts one report needs, without every other municipality
        all_indicators = {
            "project": compute_indicators(ds, targets_file=targets_file),
            "rounds": {r: compute_indicators(ds, round_=r, targets_file=targets_file) for r in rounds},
            "municipalities": {m: compute_indicators(ds, municipality=m, targets_file=targets_file) for m in chosen},
        }
    keys = {"key_municipality": "municipality", "key_round": "round"}
    frames = {
        "cases": cases.assign(_has_hours=cases["case_id"].isin(ds.hours["case_id"]),
                              _has_contacts=cases["case_id"].isin(ds.contacts["case_id"])),
        "survival": facts.survival.rename(columns=keys),
        "progression": facts.progression.rename(columns=keys),
    }
    sdata, progression = frames["survival"], frames["progression"]
    flex_points = _caseworker_points(facts.regression["flexjob_39w"], cases)
    hours_points = _caseworker_points(facts.regression["hours_change"], cases)

    rounds_of = {m: sorted(int(r) for r in rs) for m, rs in cases.groupby("municipality")["round"].unique().items()}
    units = {}
    for m in chosen:
        units[(m, None)] = _unit(ds, all_indicators["municipalities"][m], frames, m, None)
        for r in rounds_of[m] if len(rounds_of[m]) > 1 else []:
            indicators = compute_indicators(ds, municipality=m, round_=r, targets_file=targets_file)
            units[(m, r)] = _unit(ds, indicators, frames, m, r)
    return {
        "meta": {
            "name": ds.name,
            "extraction_date": pd.Timestamp(e),
            "input_hash": ds.input_hash,
            "folder": Path(ds.source).resolve().name if ds.source else None,  # a name, never a path
            "rows": {"cases": len(ds.cases), "hours": len(ds.hours), "contacts": len(ds.contacts),
                     "goals": len(ds.goals)},
            "rounds": {int(r): (pd.Timestamp(a), pd.Timestamp(b)) for r, (a, b) in (ds.rounds or {}).items()},
            "evalkit_version": evalkit.__version__,
            "targets_file": file_name(targets_file) if targets_file else None,
            "built": datetime.now().isoformat(timespec="seconds"),
        },
        "indicators": all_indicators,
        "targets": load_targets(targets_file),
        "municipalities": all_names,
        "rounds_of": {str(m): v for m, v in rounds_of.items()},
        "rounds": rounds,
        "units": units,
        "survival": {
            "project": _survival_bundle(sdata),
            "rounds": {r: _survival_bundle(sdata[sdata["round"] == r]) for r in rounds},
        },
        "progression": progression,
        "caseload": {
            "flexjob_39w": {"points": flex_points, "line": _weighted_line(flex_points)},
            "hours_change": {"points": hours_points, "line": _weighted_line(hours_points)},
        },
        "cox": _cox(ds, sdata) if len(rounds) > 1 else {"table": None, "covariates": [], "counts": {}},
    }


CONTEXT_KEY_ENV = "EVALKIT_CONTEXT_KEY"  # the run's key for the context file, in the kernels' environment
_TAG_SIZE = hashlib.sha256().digest_size


def write_context(path, ctx: dict, key: bytes) -> None:
    """Pickle the context to `path`, prefixed with its HMAC-SHA256 under the run's secret `key`.

    The file lives in the run's private folder (see `reports`); the tag means a
    kernel unpickles only what this run wrote, never a file put there by anyone else.
    """
    payload = pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(hmac.new(key, payload, hashlib.sha256).digest() + payload)


def read_context(path, key: bytes) -> dict:
    """The context written by `write_context` with the same key; ValueError (nothing unpickled) otherwise."""
    blob = Path(path).read_bytes()
    tag, payload = blob[:_TAG_SIZE], blob[_TAG_SIZE:]
    if not key or not hmac.compare_digest(tag, hmac.new(key, payload, hashlib.sha256).digest()):
        raise ValueError(f"{path}: not a context written by this evalkit run; refusing to load it")
    return pickle.loads(payload)  # authenticated above: this run wrote it


_CACHE: dict = {}


def report_context(data=None, cache=None, targets_file=None, municipality: str | None = None) -> dict:
    """The context a notebook shows: loaded from the runner's cache file, else computed from `data`.

    The cache is read only with the key the runner put in the kernel's
    environment (CONTEXT_KEY_ENV). A warm kernel keeps the loaded cache in memory
    (keyed by path, size and modification time), so many notebooks in one kernel
    read it once. Run by hand with cache=None, the notebook computes its context
    from the dataset (for `municipality` only, when given).
    """
    if cache:
        path = Path(cache)
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = read_context(path, bytes.fromhex(os.environ.get(CONTEXT_KEY_ENV, "")))
        return _CACHE[key]
    if data is None:
        raise ValueError("give the dataset folder (data) or the runner's context cache")
    from evalkit.dataset import load_dataset

    return build_context(load_dataset(data), targets_file=targets_file,
                         municipalities=None if municipality is None else [municipality])


def file_name(path) -> str:
    """The last part of a path (POSIX or Windows), as published instead of the path itself."""
    return re.split(r"[\\/]", str(path).rstrip("\\/"))[-1]


def public_parameters(parameters: dict) -> dict:
    """Report parameters as published (footers, manifest.json): no path of this machine.

    The dataset is named by its dataset.yml name and folder name elsewhere, so
    `data` and the runner's `context_cache` are left out; a targets file is shown
    by its file name.
    """
    shown = {k: v for k, v in parameters.items() if k not in ("data", "context_cache")}
    if shown.get("targets_file"):
        shown["targets_file"] = file_name(shown["targets_file"])
    return shown


# --- shared pieces ---------------------------------------------------------------


def _round_label(r) -> str:
    return f"Runde {r}"


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


def s39_suppressed(surv: dict, threshold: int) -> bool:
    """S(39) is hidden when fewer than `threshold` are followed, at risk at 39, or had the event."""
    return (surv["n"] < threshold or surv.get("at_risk_39", 0) < threshold
            or sup.is_small(surv.get("events", 0), threshold))


def _status_table(counts: dict, threshold: int, compare: dict | None = None, compare_label: str = "",
                  mask: pd.Series | None = None, compare_mask: pd.Series | None = None) -> Table:
    """Status categories with numbers and shares and a total row, suppressed as one column with its total.

    `mask` and `compare_mask` (indexed by the categories and "I alt") replace that
    suppression with the status report's (`status_grid`), so a cell hidden there is
    hidden here too. A share is shown only where its count and the total are
    (count / total with the total hidden would reveal it), or the count is 0.
    """
    from evalkit.status import STATUS_CATEGORIES

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
    return Table(frame, note=suppression_note(threshold), total_rows=[len(frame) - 1], count_cols=["Antal"])


def _municipality_order(ctx: dict) -> list[str]:
    """Municipalities by round, then name (the status report's rows)."""
    return sorted(ctx["municipalities"], key=lambda m: (ctx["rounds_of"][m][0], m))


# Person counts shown per municipality, per round and for the project (key figures, criteria, survival,
# follow-up, round comparison): name -> (count of an indicator block, the whole it is a subset of).
PERSON_COUNTS = {
    "n_cases": (lambda b: b["n_cases"], None),
    "sc1_n": (lambda b: b["sc1"]["n"], "n_cases"),
    "survival_n": (lambda b: b["survival"]["n"], "n_cases"),
    "survival_events": (lambda b: b["survival"]["events"], "survival_n"),
    "sc3_n": (lambda b: b["sc3"]["n"], "n_cases"),
    "follow_up_n": (lambda b: b["follow_up"]["n"], "n_cases"),
    "step_up_n": (lambda b: b["step_up"]["n"], "n_cases"),
}


def _count_values(ctx: dict, name: str) -> pd.DataFrame | None:
    """One person count (PERSON_COUNTS) as a municipality x round grid with the round subtotals
    (row "I alt"), the municipalities' totals (column "I alt") and the project total.

    A cell (municipality, round) is the municipality's count in that round (0 outside its
    rounds). None when the context holds only some municipalities.
    """
    get = PERSON_COUNTS[name][0]
    blocks, units = ctx["indicators"]["municipalities"], ctx["units"]
    order = _municipality_order(ctx)
    rounds = list(ctx["rounds"])
    if any(m not in blocks for m in order):
        return None
    rows = []
    for m in order:
        own = ctx["rounds_of"][m]
        row = []
        for r in rounds:
            if r not in own:
                row.append(0)
            elif len(own) == 1:
                row.append(get(blocks[m]))
            elif (m, r) in units:
                row.append(get(units[(m, r)]["indicators"]))
            else:
                return None
        rows.append(row + [get(blocks[m])])
    rows.append([get(ctx["indicators"]["rounds"][r]) for r in rounds] + [get(ctx["indicators"]["project"])])
    return pd.DataFrame(rows, index=[*order, "I alt"], columns=[*rounds, "I alt"], dtype=float)


@functools.lru_cache(maxsize=64)
def _mask_of(index: tuple, columns: tuple, values: tuple, threshold: int, seed: tuple = ()) -> np.ndarray:
    """`suppress_counts` of a grid with totals, cells at the positions `seed` hidden from the start;
    once per grid (every report of a run shows it; the audit solves LPs)."""
    counts = pd.DataFrame(np.reshape(values, (len(index), len(columns))), index=list(index), columns=list(columns))
    initial = np.zeros(counts.shape, dtype=bool)
    for i, j in seed:
        initial[i, j] = True
    mask = sup.suppress_counts(counts, threshold, total_row="I alt", total_col="I alt", initial=initial).to_numpy()
    mask.setflags(write=False)
    return mask


def _masked(counts: pd.DataFrame, threshold: int, seed=()) -> pd.DataFrame:
    mask = _mask_of(tuple(counts.index), tuple(counts.columns), tuple(counts.to_numpy().ravel()), int(threshold),
                    tuple(sorted(seed)))
    return pd.DataFrame(mask.copy(), index=counts.index, columns=counts.columns)


def _case_grids(ctx: dict, threshold: int):
    """The status grid and the numbers-of-cases grid (by round) under masks that agree.

    Both publish each municipality's and the project's number of cases (the status grid's "I alt"
    column); a number hidden in one is hidden in the other, repeated until neither hides more.
    """
    from evalkit.status import STATUS_CATEGORIES

    blocks = ctx["indicators"]["municipalities"]
    order = _municipality_order(ctx)
    if any(m not in blocks for m in order):
        return None, None
    status = pd.DataFrame([[blocks[m]["status_counts"].get(c, 0) for c in STATUS_CATEGORIES] for m in order],
                          index=order, columns=list(STATUS_CATEGORIES), dtype=float)
    status["I alt"] = status.sum(axis=1)
    status.loc["I alt"] = status.sum(axis=0)
    cases = _count_values(ctx, "n_cases")
    seed: set = set()
    while True:
        smask = _masked(status, threshold, seed)
        if cases is None:
            return (status, smask), None
        hidden = {i for i in range(len(status)) if smask.iloc[i, -1] != sup.SHOWN}
        cmask = _masked(cases, threshold, _subset_seed(ctx, "n_cases", cases, threshold)
                        | {(i, cases.shape[1] - 1) for i in hidden})
        also = {i for i in range(len(cases)) if cmask.iloc[i, -1] != sup.SHOWN} - hidden
        if not also:
            return (status, smask), (cases, cmask)
        seed |= {(i, status.shape[1] - 1) for i in also}


def _subset_seed(ctx: dict, name: str, counts: pd.DataFrame, threshold: int) -> set:
    """Cells of a subset count whose complement in its whole (PERSON_COUNTS) is 1 to threshold-1."""
    whole_name = PERSON_COUNTS[name][1]
    if whole_name is None:
        return set()
    whole = _count_values(ctx, whole_name)
    rest = whole.to_numpy() - counts.to_numpy()
    return {(int(i), int(j)) for i, j in np.argwhere((rest > 0) & (rest < threshold) & (counts.to_numpy() > 0))}


def status_grid(ctx: dict, threshold: int = sup.THRESHOLD) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Status counts of every municipality with row and column totals ("I alt"), and their suppression mask.

    The status report publishes this grid; a municipality report and the index
    show their cells of it under the same mask. A cell hidden here (secondary
    suppression) but shown in another report would let a reader subtract it
    from a total and recover a count of 1-4. None when the context holds only
    some municipalities (a notebook run by hand for one municipality).
    """
    return _case_grids(ctx, threshold)[0]


def count_grid(ctx: dict, name: str, threshold: int = sup.THRESHOLD) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A person count of PERSON_COUNTS as a municipality x round grid with totals, and its one mask.

    Every report showing the count for a municipality, a round or the project shows that grid's
    cell under this mask, so a number hidden in one report cannot be worked out from the totals
    and the others. Cells whose complement in their whole (e.g. cases not on ledighedsydelse at
    start) is 1 to threshold-1 are hidden from the start. None for a partial context.
    """
    if name == "n_cases":
        return _case_grids(ctx, threshold)[1]
    counts = _count_values(ctx, name)
    if counts is None:
        return None
    return counts, _masked(counts, threshold, _subset_seed(ctx, name, counts, threshold))


def count_text(ctx: dict, name: str, municipality: str | None, round_: int | None, value,
               threshold: int = sup.THRESHOLD) -> str:
    """A person count as its `count_grid` cell shows it (municipality None: the round's or project's;
    round None: the whole municipality's or project's); `value` formatted plainly without a grid."""
    grid = count_grid(ctx, name, threshold)
    if grid is None:
        return fmt_count(value, threshold)
    counts, mask = grid
    row = "I alt" if municipality is None else municipality
    col = "I alt" if round_ is None else round_
    return fmt_masked(counts.loc[row, col], mask.loc[row, col], threshold)


def count_hidden(ctx: dict, names, municipality: str | None, round_: int | None,
                 threshold: int = sup.THRESHOLD) -> bool:
    """True when any of the person counts `names` is hidden in its `count_grid` cell: a share, mean
    or interval computed from it is hidden too (else it would stand beside a suppressed count)."""
    for name in names:
        grid = count_grid(ctx, name, threshold)
        if grid is not None:
            row = "I alt" if municipality is None else municipality
            if grid[1].loc[row, "I alt" if round_ is None else round_] != sup.SHOWN:
                return True
    return False


def hide_if(text: str, hidden: bool) -> str:
    """`text`, or 'x' when `hidden` (a missing value stays '–')."""
    return HIDDEN if hidden and text != MISSING else text


def fmt_subset(k, n, threshold: int = sup.THRESHOLD) -> str:
    """A count k of a published whole n: 'x' when the rest, n - k, is 1 to threshold-1 (else recoverable)."""
    if not _missing(k) and not _missing(n) and k > 0 and sup.is_small(n - k, threshold):
        return HIDDEN
    return fmt_count(k, threshold)


def n_cases_text(ctx: dict, municipality: str | None, threshold: int = sup.THRESHOLD, grid=None) -> str:
    """A municipality's number of cases (None: the project's) as the status report shows it.

    `grid` is `status_grid(ctx, threshold)` when the caller has it already.
    """
    grid = status_grid(ctx, threshold) if grid is None else grid
    block = ctx["indicators"]["project"] if municipality is None else ctx["indicators"]["municipalities"][municipality]
    if grid is None:
        return fmt_count(block["n_cases"], threshold)
    counts, mask = grid
    row = "I alt" if municipality is None else municipality
    return fmt_masked(counts.loc[row, "I alt"], mask.loc[row, "I alt"], threshold)


def _change_counts(changes: pd.Series) -> pd.Series:
    """Number of cases per change band (CHANGE_BANDS), every band present."""
    labels = [b[0] for b in CHANGE_BANDS]
    edges = [CHANGE_BANDS[0][1]] + [b[2] for b in CHANGE_BANDS]
    bands = pd.cut(changes, bins=edges, labels=labels, right=False)
    return bands.value_counts().reindex(labels, fill_value=0).astype(float)


def change_distribution(changes: pd.Series, threshold: int, total_hidden: bool = False) -> pd.DataFrame:
    """Cases per change band with a suppression mask (the band counts add up to the published total).

    `total_hidden`: the total (the sc3_n count) is hidden in its `count_grid`, so it is hidden here too.
    """
    counts = _change_counts(changes)
    full = pd.concat([counts, pd.Series({"I alt": float(len(changes))})])
    initial = np.zeros((len(full), 1), dtype=bool)
    initial[-1, 0] = total_hidden and len(changes) > 0
    mask = sup.suppress_counts(full.to_frame("n"), threshold, total_row="I alt", initial=initial)["n"]
    return pd.DataFrame({"band": full.index, "n": full.values, "mask": mask.values,
                         "share": full.values / len(changes) if len(changes) else np.nan})


def _change_table(dists: dict[str, pd.DataFrame], threshold: int) -> Table:
    """Change bands: number and share per group (columns), suppressed."""
    frame = pd.DataFrame({"Ændring i effektive timer": next(iter(dists.values()))["band"].tolist()})
    for label, d in dists.items():
        frame[f"Antal, {label}"] = [fmt_masked(n, m, threshold) for n, m in zip(d["n"], d["mask"])]
        frame[f"Andel, {label}"] = [
            HIDDEN if m != sup.SHOWN else fmt_pct(s) for s, m in zip(d["share"], d["mask"])
        ]
    return Table(frame, note=suppression_note(threshold), total_rows=[len(frame) - 1],
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


def _regression_rows(regs: dict, threshold: int) -> pd.DataFrame:
    names = {"flexjob_39w": "Fleksjob inden 39 uger (logit, log-odds pr. sag)",
             "hours_change": "Ændring i effektive timer (OLS, timer pr. sag)"}
    rows = []
    for key, r in regs.items():
        if r.get("slope") is None:
            rows.append({"Resultat": names.get(key, key), "Hældning pr. sag": MISSING, "95 % CI": MISSING,
                         "p-værdi": MISSING, "Forløb": fmt_count(r.get("n"), threshold),
                         "Bemærkning": _reason_da(r.get("reason"))})
        else:
            rows.append({"Resultat": names.get(key, key), "Hældning pr. sag": fmt_num(r["slope"], 4),
                         "95 % CI": fmt_ci(r["ci_low"], r["ci_high"], pct=False, decimals=4),
                         "p-værdi": fmt_p(r["p_value"]), "Forløb": fmt_count(r["n"], threshold),
                         "Bemærkning": f"{fmt_int(r.get('n_caseworkers', 0))} jobformidlere (klynger)"})
    return pd.DataFrame(rows)


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


def provenance_footer(ctx: dict, parameters: dict, threshold: int, quality: dict | None = None) -> Html:
    """Data quality and provenance: rows loaded, extraction date, input hash, version, parameters."""
    meta = ctx["meta"]
    rows = meta["rows"]
    items = [
        ("Datasæt", html.escape(str(meta["name"]) + (f" (mappe {meta['folder']})" if meta.get("folder") else ""))),
        ("Udtræksdato", fmt_date(meta["extraction_date"])),
        ("Rækker indlæst", html.escape(
            f"forløb {n_cases_text(ctx, None, threshold)}, timer {fmt_int(rows['hours'])}, "
            f"kontakter {fmt_int(rows['contacts'])}, målstyring {fmt_int(rows['goals'])}")),
    ]
    if quality:
        q = quality

        def part(k):  # a subset of the cases shown beside them: hidden when the rest is 1 to threshold-1
            return fmt_subset(k, q["cases"], threshold)

        items.append(("Datakvalitet i udvalget", html.escape(
            f"forløb {q.get('cases_text') or fmt_count(q['cases'], threshold)}; med start på ledighedsydelse "
            f"{part(q['with_benefit_start'])}; med timeregistreringer "
            f"{part(q['with_hours'])}; med kontakter {part(q['with_contacts'])}"
            + (f"; uden køn {part(q['missing_sex'])}" if q.get("missing_sex") is not None else "")
            + (f"; uden aldersgruppe {part(q['missing_age_band'])}"
               if q.get("missing_age_band") is not None else ""))))
    items += [
        ("Input-hash (SHA-256)", f"<code>{html.escape(meta['input_hash'] or MISSING)}</code>"),
        ("evalkit-version", html.escape(evalkit.__version__)),
        ("Parametre", "<code>" + html.escape(", ".join(f"{k}={v!r}" for k, v in public_parameters(parameters).items()))
         + "</code>"),
        ("Diskretionering", html.escape(f"tærskel {threshold} personer (SPEC afsnit 5)")),
        ("Beregnet", html.escape(str(meta.get("built", MISSING)))),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in items)
    return Html(f'<div class="ek-footer"><table>{body}</table></div>')


# --- municipality report ------------------------------------------------------------


class MunicipalityReport:
    """The sections of notebooks/municipality.ipynb for one municipality (and optionally round)."""

    def __init__(self, ctx: dict, municipality: str, round_: int | None = None,
                 threshold: int = sup.THRESHOLD, conversation_days: float = 3, weeks_per_year: float = 44):
        if municipality not in ctx["municipalities"]:
            raise ValueError(f"no cases in municipality {municipality!r}")
        self.ctx = ctx
        self.municipality = municipality
        own_rounds = ctx["rounds_of"][municipality]
        if round_ is not None and int(round_) not in own_rounds:
            raise ValueError(f"municipality {municipality!r} has no cases in round {round_}")
        key = (municipality, int(round_)) if round_ is not None and len(own_rounds) > 1 else (municipality, None)
        self.unit = ctx["units"][key]
        self.round = int(round_) if round_ is not None else (own_rounds[0] if len(own_rounds) == 1 else None)
        self.threshold = int(threshold)
        self.conversation_days = conversation_days
        self.weeks_per_year = weeks_per_year
        self.ind = self.unit["indicators"]
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
        meta = self.ctx["meta"]
        rounds = ", ".join(str(r) for r in self.ctx["rounds_of"][self.municipality])
        sub = (f"{html.escape(str(meta['name']))} · udtræksdato {fmt_date(meta['extraction_date'])} · "
               f"runde {html.escape(str(self.round) if self.round is not None else rounds)}")
        return Html(f"<h1>Kommunerapport: {html.escape(self.municipality)}</h1><p class='ek-note'>{sub}</p>")

    def _columns(self) -> list[tuple[str, dict]]:
        """(label, indicator block): the municipality, each round, the project."""
        cols = [(self.municipality, self.ind)]
        for r in self.ctx["rounds"]:
            own = " (egen runde)" if r == self.round else ""
            cols.append((f"{_round_label(r)}{own}", self.ctx["indicators"]["rounds"][r]))
        cols.append(("Projektet i alt", self.ctx["indicators"]["project"]))
        return cols

    def key_figures(self) -> Table:
        """Key figures of the municipality beside each round and the project average."""
        t = self.threshold
        rows = {
            "Forløb i projektet": lambda b: fmt_count(b["n_cases"], t),
            "Borgere på ledighedsydelse ved start": lambda b: fmt_count(b["sc1"]["n"], t),
            "Andel i fleksjob (succeskriterium 1)": lambda b: fmt_share(b["sc1"].get("k"), b["sc1"]["n"],
                                                                         b["sc1"]["value"], t),
            "Stadig på ledighedsydelse efter 39 uger, S(39)": lambda b: (
                HIDDEN if s39_suppressed(b["survival"], t) and b["survival"]["s39"] is not None
                else fmt_pct(b["survival"]["s39"])),
            "Median uger til fleksjob": lambda b: (
                HIDDEN if s39_suppressed(b["survival"], t) and b["survival"]["median_weeks"] is not None
                else fmt_num(b["survival"]["median_weeks"])),
            "Andel med progression i effektive timer (succeskriterium 3)": lambda b: fmt_share(
                b["sc3"].get("k"), b["sc3"]["n"], b["sc3"]["value"], t),
            "Gns. ændring i effektive timer": lambda b: (
                MISSING if not b["sc3"]["n"] else HIDDEN if sup.stat_suppressed(b["sc3"]["n"], t)
                else fmt_num(b["sc3"]["mean_change"], 2)),
            "Fleksjob med mindst 2 opfølgninger i 26 uger": lambda b: fmt_share(
                b["follow_up"].get("n_2"), b["follow_up"]["n"], b["follow_up"]["share_2"], t),
            "Langvarigt ledige med Step Up": lambda b: fmt_share(
                b["step_up"].get("n_with_step_up"), b["step_up"]["n"], b["step_up"]["share"], t),
        }
        cols = self._columns()
        frame = pd.DataFrame({"Nøgletal": list(rows)})
        for label, block in cols:
            frame[label] = [f(block) for f in rows.values()]
        # statistics of a population whose count is hidden (below, or in another table) are hidden too
        sources = {2: ("sc1_n",), 3: ("survival_n", "survival_events"), 4: ("survival_n", "survival_events"),
                   5: ("sc3_n",), 6: ("sc3_n",), 7: ("follow_up_n",), 8: ("step_up_n",)}
        where = [(self.municipality, None if self.whole else self.round),
                 *((None, r) for r in self.ctx["rounds"]), (None, None)]
        for i, names in sources.items():
            for j, (m, r) in enumerate(where, start=1):
                if frame.iloc[i, j] != MISSING and count_hidden(self.ctx, names, m, r, t):
                    frame.iloc[i, j] = HIDDEN
        # person counts as their grids show them in every report (hidden in one, hidden in all)
        for i, (name, get) in enumerate((("n_cases", lambda b: b["n_cases"]), ("sc1_n", lambda b: b["sc1"]["n"]))):
            frame.iloc[i, 1] = self._own_count(name, get(self.ind))
            for j, r in enumerate(self.ctx["rounds"]):
                frame.iloc[i, 2 + j] = self._project_count(name, get(self.ctx["indicators"]["rounds"][r]), r)
            frame.iloc[i, -1] = self._project_count(name, get(self.ctx["indicators"]["project"]))
        return Table(frame, note=suppression_note(t), count_rows=[0, 1])

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
        reason = self.ind["survival"].get("s39") is None and self.unit["survival"]["summary"].s39_reason
        if reason:
            note = f"S(39) kan ikke beregnes: {_s39_reason_da(reason)}. " + note
        return Table(pd.DataFrame(rows), note=note, count_cols=["Personer"])

    def status(self) -> Table:
        """Status categories at the extraction date, with the project's shares for comparison."""
        masks = {} if self.grid is None or not self.whole else {
            "mask": self.grid[1].loc[self.municipality], "compare_mask": self.grid[1].loc["I alt"]}
        return _status_table(self.ind["status_counts"], self.threshold,
                             compare=self.ctx["indicators"]["project"]["status_counts"], compare_label="projektet",
                             **masks)

    def survival_figure(self):
        """The municipality's survival curve to flexjob against the project curve (or a note)."""
        from evalkit import plots

        own = self.unit["survival"]
        if own["summary"].n == 0:
            return Note(f"{self.municipality} har ingen borgere på ledighedsydelse i perioden, så der kan ikke "
                        "tegnes en overlevelseskurve.")
        if sup.mask_curve(own["summary"].curve, self.threshold)["survival"].notna().sum() == 0:
            return Note(f"Færre end {self.threshold} af kommunens borgere er i risiko ad gangen, så kurven vises "
                        "ikke (diskretionering).")
        fig = plots.survival_plot(
            [(self.municipality, own), ("Projektet i alt", self.ctx["survival"]["project"])],
            threshold=self.threshold, title=f"Tid på ledighedsydelse til fleksjob: {self.municipality}",
        )
        if own["summary"].events == 0:
            return Section(fig, Note("Ingen af kommunens borgere er endnu kommet i fleksjob; kurven er flad.",
                                     kind="note"))
        return fig

    def survival_table(self) -> Table:
        """S(39), its CI, numbers at risk at 39 and the median, municipality and project."""
        rows = []
        for label, bundle, count, who in (
                (self.municipality, self.unit["survival"], self._own_count, self._own),
                ("Projektet i alt", self.ctx["survival"]["project"], self._project_count, (None, None))):
            s = bundle["summary"]
            hidden = s39_suppressed(s.to_json(), self.threshold) or count_hidden(
                self.ctx, ("survival_n", "survival_events"), *who, self.threshold)
            rows.append({
                "": label,
                "Borgere i analysen": count("survival_n", s.n),
                "Kommet i fleksjob": count("survival_events", s.events),
                "S(39)": HIDDEN if hidden and s.s39 is not None else fmt_pct(s.s39),
                "95 % CI": fmt_ci(s.s39_ci_low, s.s39_ci_high, hidden and s.s39 is not None),
                "I risiko ved 39 uger": fmt_count(s.at_risk_39, self.threshold),
                "Median uger": HIDDEN if hidden and s.median_weeks is not None else fmt_num(s.median_weeks),
            })
        return Table(pd.DataFrame(rows), note=suppression_note(self.threshold),
                     count_cols=["Borgere i analysen", "Kommet i fleksjob", "I risiko ved 39 uger"])

    def _progression(self) -> pd.DataFrame:
        """The municipality's cases eligible for success criterion 3 (progression_table rows)."""
        return self.unit["progression"]

    def hours_figure(self):
        """First versus last effective hours and the distribution of change, against the project."""
        from evalkit import plots

        own = self._progression()
        if self.ctx["meta"]["rows"]["hours"] == 0:
            return Note("Datasættet har ingen timeregistreringer (hours), så timeprogression kan ikke vises.")
        if own.empty:
            return Note(f"Ingen borgere i {self.municipality} opfylder betingelserne for at måle progression "
                        "(første effektive timer højst 10 og mindst 6 måneders registreringer).")
        if sup.stat_suppressed(len(own), self.threshold):
            return Note(f"Færre end {self.threshold} borgere har målbar progression; tallene vises ikke "
                        "(diskretionering).")
        groups = {self.municipality: (own, self._own), "Projektet i alt": (self.ctx["progression"], (None, None))}
        t = self.threshold
        return plots.hours_plot(
            {k: {"first": None if count_hidden(self.ctx, ("sc3_n",), *who, t) else _mean_or_none(v["first_effective"], t),
                 "last": None if count_hidden(self.ctx, ("sc3_n",), *who, t) else _mean_or_none(v["last_effective"], t),
                 "dist": change_distribution(v["change"], t, count_hidden(self.ctx, ("sc3_n",), *who, t))}
             for k, (v, who) in groups.items()},
            threshold=self.threshold,
        )

    def hours_table(self):
        own = self._progression()
        if own.empty or sup.stat_suppressed(len(own), self.threshold):
            return Html("")  # hours_figure already explains
        t = self.threshold
        project = self.ctx["progression"]
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
        dist = _change_table({self.municipality: change_distribution(own["change"], t, hide[0])}, t)
        return Section(Table(summary, title="Effektive timer pr. uge: første og seneste måned",
                             count_cols=["Borgere"]), dist)

    def caseload_figure(self):
        """The municipality's caseworkers highlighted in the project-wide caseload scatter."""
        from evalkit import plots

        data = self.ctx["caseload"]["flexjob_39w"]
        points = data["points"]
        visible = [not sup.share_suppressed(k, n, self.threshold) for k, n in zip(points["k"], points["n"])]
        if not any(visible):
            return Note("Ingen jobformidler har forløb nok med tilstrækkelig opfølgning til at kunne vises "
                        "(diskretionering), så sagsstamme og resultat tegnes ikke.")
        return plots.caseload_scatter(
            points, data["line"], highlight=self.unit["caseworkers"], threshold=self.threshold,
            label=self.municipality, ylabel="Andel i fleksjob inden 39 uger",
        )

    def caseload_table(self) -> Table:
        """The caseload regressions (adjusted, clustered by caseworker): the municipality's and the project's."""
        t = self.threshold
        own = _regression_rows(self.ind["caseload_regression"], t).assign(Udvalg=self.municipality)
        project = _regression_rows(self.ctx["indicators"]["project"]["caseload_regression"], t).assign(
            Udvalg="Projektet i alt")
        frame = pd.concat([own, project], ignore_index=True)
        frame = frame[["Udvalg", *[c for c in frame.columns if c != "Udvalg"]]]
        return Table(frame, note="Hældningen er ændringen pr. ekstra sag i sagsstammen, justeret for alder, køn "
                                 "og runde; standardfejl klyngerobuste pr. jobformidler. Negativ hældning: "
                                 "større sagsstamme, dårligere resultat.", count_cols=["Forløb"])

    def follow_up(self):
        """Follow-up in the first 26 weeks of a flexjob, and Step Up, municipality and project."""
        t = self.threshold
        if self.ctx["meta"]["rows"]["contacts"] == 0:
            return Note("Datasættet har ingen kontakter (contacts), så opfølgning og Step Up kan ikke vises.")
        rows = []
        for label, b, count, who in ((self.municipality, self.ind, self._own_count, self._own),
                                     ("Projektet i alt", self.ctx["indicators"]["project"], self._project_count,
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
        return Table(pd.DataFrame(rows), note="Opfølgning: fleksjob startet efter projektstart og mindst 26 uger "
                                              "før udtræksdatoen. " + suppression_note(t),
                     count_cols=["Fleksjob fulgt 26 uger", "Ledige i 26+ uger uden fleksjob"])

    def capacity(self):
        """The capacity calculator filled with the municipality's open cases and S(39)."""
        from evalkit.capacity import capacity_tables, staff_needed

        t = self.threshold
        n = self.unit["open_cases"]
        s39 = self.ind["survival"]["s39"]
        source = "kommunens S(39)"
        if s39 is None or s39_suppressed(self.ind["survival"], t):
            project = self.ctx["indicators"]["project"]["survival"]
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
        from evalkit import plots

        g = self.unit["goals"]
        if g is None:
            return Note(f"Der er ingen målstyringsdata (goals) for {self.municipality}.")
        return plots.goals_plot(g["team_ytd"])

    def goals_table(self):
        g = self.unit["goals"]
        if g is None:
            return Html("")  # goals_figure already explains
        y = g["team_year"]
        frame = pd.DataFrame({
            "Team": y["team"], "Indikator": y["indicator"], "År": y["iso_year"].astype(str), "Til og med uge": y["to_week"],
            "Realiseret": [fmt_int(v) for v in y["realised_ytd"]], "Mål": [fmt_int(v) for v in y["target_ytd"]],
            "Målopfyldelse": [fmt_pct(v) for v in y["share_ytd"]],
        })
        return Table(frame, title="År til dato", note="Målstyringstal tæller aktiviteter, ikke personer.")

    def footer(self, parameters: dict) -> Html:
        quality = dict(self.unit["quality"])
        if self.whole:
            quality["cases_text"] = n_cases_text(self.ctx, self.municipality, self.threshold, self.grid)
        return provenance_footer(self.ctx, parameters, self.threshold, quality)


def _mean_or_none(values: pd.Series, threshold: int):
    n = int(values.notna().sum())
    return None if n == 0 or sup.stat_suppressed(n, threshold) else float(values.mean())


def _s39_reason_da(reason: str) -> str:
    if "no cases" in reason:
        return "ingen borgere i analysen"
    if "before week 39" in reason or "no case under observation" in reason:
        return "ingen borgere er fulgt frem til 39 uger"
    return "for få borgere fulgt"


# --- status report --------------------------------------------------------------


class StatusReport:
    """The sections of notebooks/status_report.ipynb: every municipality side by side."""

    def __init__(self, ctx: dict, threshold: int = sup.THRESHOLD):
        self.ctx = ctx
        self.threshold = int(threshold)
        self.grid = status_grid(ctx, self.threshold)

    def _order(self) -> list[str]:
        """Municipalities by round, then name."""
        return _municipality_order(self.ctx)

    def title(self) -> Html:
        meta = self.ctx["meta"]
        return Html(f"<h1>Statusrapport: {html.escape(str(meta['name']))}</h1><p class='ek-note'>Udtræksdato "
                    f"{fmt_date(meta['extraction_date'])} · {fmt_int(len(self.ctx['municipalities']))} kommuner · "
                    f"{n_cases_text(self.ctx, None, self.threshold, self.grid)} forløb</p>")

    def status_table(self) -> Table:
        """Status categories of every municipality with row and column totals, suppressed with secondary cells."""
        order = self._order()
        counts, mask = self.grid
        shown = counts.astype(object).copy()
        for i in counts.index:
            for c in counts.columns:
                shown.loc[i, c] = fmt_masked(counts.loc[i, c], mask.loc[i, c], self.threshold)
        frame = shown.rename(columns=STATUS_LABELS).reset_index(names="Kommune")
        frame.insert(1, "Runde", [", ".join(map(str, self.ctx["rounds_of"][m])) for m in order] + [""])
        return Table(frame, note=suppression_note(self.threshold), total_rows=[len(frame) - 1],
                     count_cols=[*(STATUS_LABELS[c] for c in counts.columns[:-1]), "I alt"], total_cols=["I alt"])

    def criteria_table(self) -> Table:
        """The three success criteria per municipality: value, CI and verdict."""
        rows = []
        blocks = [(m, self.ctx["indicators"]["municipalities"][m]) for m in self._order()]
        blocks += [(_round_label(r), self.ctx["indicators"]["rounds"][r]) for r in self.ctx["rounds"]]
        blocks.append(("Projektet i alt", self.ctx["indicators"]["project"]))
        for label, b in blocks:
            row = {"Kommune": label}
            for r in _criteria_rows(b, self.threshold):
                short = CRITERIA_SHORT[r["key"]]
                with_ci = r["ci"] not in (MISSING, HIDDEN)
                row[f"{short} (95 % CI)"] = f"{r['value']} ({r['ci']})" if with_ci else r["value"]
                row[f"{short}: mål"] = met_text(r["met"])
            rows.append(row)
        n_munis = len(self._order())
        targets = self.ctx["targets"]["default"]
        target_text = "; ".join(f"{CRITERIA_SHORT[k]} {TARGET_SIGN[k]} {fmt_pct(v)}" for k, v in targets.items())
        return Table(pd.DataFrame(rows), note=f"Standardmål: {target_text}. " + suppression_note(self.threshold),
                     total_rows=list(range(n_munis, len(rows))))

    def survival_grid(self):
        """Survival curves per municipality (small multiples) against the project curve."""
        from evalkit import plots

        bundles = {m: self.ctx["units"][(m, None)]["survival"] for m in self._order()}
        return plots.survival_grid(bundles, self.ctx["survival"]["project"], threshold=self.threshold)

    def caterpillar(self, key: str):
        """Caterpillar plot of one criterion: every municipality with its CI against the project mean."""
        from evalkit import plots

        rows, hidden = [], []
        for m in self._order():
            b = self.ctx["indicators"]["municipalities"][m]
            if key == "sc2":
                value, low, high = b["sc2"]["value"], b["sc2"]["ci_low"], b["sc2"]["ci_high"]
                skip = s39_suppressed(b["survival"], self.threshold)
            else:
                c = b[key]
                value, low, high = c["value"], c["ci_low"], c["ci_high"]
                skip = sup.share_suppressed(c.get("k"), c["n"], self.threshold)
            if value is None or skip:
                hidden.append(m)
                continue
            rows.append({"label": m, "value": value, "ci_low": low, "ci_high": high})
        project = self.ctx["indicators"]["project"][key]["value"]
        target = self.ctx["indicators"]["project"][key].get("target")
        if not rows:
            return Note(f"{CRITERIA_LABELS[key]}: ingen kommune har nok borgere til at blive vist.")
        fig = plots.caterpillar(pd.DataFrame(rows), project, target, title=CRITERIA_LABELS[key],
                                xlabel="Andel (95 % CI)", lower_is_better=(key == "sc2"))
        if hidden:
            return Section(fig, Note(f"Ikke vist (for få borgere eller ingen værdi): {', '.join(hidden)}.", kind="note"))
        return fig

    def footer(self, parameters: dict) -> Html:
        return provenance_footer(self.ctx, parameters, self.threshold)


# --- round comparison ------------------------------------------------------------------


def share_difference(k1: int, n1: int, k2: int, n2: int) -> dict:
    """Difference of two shares k2/n2 - k1/n1 with Newcombe's hybrid score 95 % interval (Wilson based)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if not n1 or not n2:
        return {"diff": None, "ci_low": None, "ci_high": None}
    low, high = confint_proportions_2indep(k2, n2, k1, n1, method="newcomb", compare="diff", alpha=0.05)
    return {"diff": k2 / n2 - k1 / n1, "ci_low": float(low), "ci_high": float(high)}


class RoundComparison:
    """The sections of notebooks/round_comparison.ipynb: round 1 against round 2."""

    def __init__(self, ctx: dict, threshold: int = sup.THRESHOLD):
        self.ctx = ctx
        self.threshold = int(threshold)
        self.rounds = ctx["rounds"]

    def enough_rounds(self) -> bool:
        return len(self.rounds) >= 2

    def _need_rounds(self):
        return Note("Datasættet har kun én runde, så runderne kan ikke sammenlignes.")

    def title(self) -> Html:
        meta = self.ctx["meta"]
        spans = "; ".join(f"runde {r}: {fmt_date(a)}-{fmt_date(b)}" for r, (a, b) in meta["rounds"].items())
        return Html(f"<h1>Sammenligning af runder: {html.escape(str(meta['name']))}</h1><p class='ek-note'>"
                    f"Udtræksdato {fmt_date(meta['extraction_date'])}" + (f" · {spans}" if spans else "") + "</p>")

    def overview(self) -> Table:
        t = self.threshold
        rows = []
        for r in self.rounds:
            b = self.ctx["indicators"]["rounds"][r]
            munis = [m for m in self.ctx["municipalities"] if r in self.ctx["rounds_of"][m]]
            rows.append({"Runde": str(r), "Kommuner": fmt_int(len(munis)), "Forløb": count_text(self.ctx, "n_cases", None, r, b["n_cases"], t),
                         "Kommunerne": ", ".join(munis)})
        return Table(pd.DataFrame(rows), count_cols=["Forløb"])

    def survival_figure(self):
        from evalkit import plots

        if not self.enough_rounds():
            return self._need_rounds()
        curves = [(_round_label(r), self.ctx["survival"]["rounds"][r]) for r in self.rounds]
        fig = plots.survival_plot(curves, threshold=self.threshold, title="Tid på ledighedsydelse til fleksjob pr. runde")
        return fig if fig is not None else Note("For få borgere i risiko til at tegne kurverne (diskretionering).")

    def logrank_table(self):
        if not self.enough_rounds():
            return self._need_rounds()
        t = self.threshold
        lr = self.ctx["indicators"]["project"].get("logrank_rounds") or {}
        rows = []
        for r in self.rounds:
            s = self.ctx["survival"]["rounds"][r]["summary"]
            hidden = s39_suppressed(s.to_json(), t) or count_hidden(self.ctx, ("survival_n", "survival_events"),
                                                                   None, r, t)
            rows.append({"Runde": str(r), "Borgere": count_text(self.ctx, "survival_n", None, r, s.n, t),
                         "I fleksjob": count_text(self.ctx, "survival_events", None, r, s.events, t),
                         "S(39)": HIDDEN if hidden and s.s39 is not None else fmt_pct(s.s39),
                         "95 % CI": fmt_ci(s.s39_ci_low, s.s39_ci_high, hidden and s.s39 is not None),
                         "Median uger": HIDDEN if hidden and s.median_weeks is not None else fmt_num(s.median_weeks)})
        test = (f"Log-rank-test med venstretrunkering (Cox-scoretest, Efron): χ² = {fmt_num(lr.get('statistic'), 2)}, "
                f"frihedsgrader {lr.get('df') if lr.get('df') is not None else MISSING}, "
                f"p {_p_relation(lr.get('p_value'))}.") if lr.get("statistic") is not None else (
                "Log-rank-testen kan ikke beregnes (ingen hændelser eller kun én runde med borgere).")
        return Table(pd.DataFrame(rows), note=test, count_cols=["Borgere", "I fleksjob"])

    def cox_table(self):
        if not self.enough_rounds():
            return self._need_rounds()
        cox = self.ctx["cox"]
        table = cox.get("table")
        if table is None or table.empty:
            return Note("Cox-modellen kan ikke estimeres (for få hændelser eller ingen variation i runde).")
        t = self.threshold
        rows = []
        for _, r in table.iterrows():
            n = cox["counts"].get(r["term"], 0)
            hidden = sup.stat_suppressed(n, t)
            cov = COVARIATE_LABELS.get(r["covariate"], r["covariate"])
            level = str(r["term"]).split("=", 1)[-1]
            ref = str(r["reference"]).split("=", 1)[-1] if r["reference"] else ""
            rows.append({
                "Variabel": cov,
                "Niveau (mod reference)": f"{LEVEL_LABELS.get(level, level)} (mod {LEVEL_LABELS.get(ref, ref)})",
                "Borgere": fmt_count(n, t),
                "Hazard ratio": HIDDEN if hidden else fmt_num(r["hazard_ratio"], 2),
                "95 % CI": fmt_ci(r["ci_low"], r["ci_high"], hidden, pct=False, decimals=2),
                "p-værdi": HIDDEN if hidden else fmt_p(r["p_value"]),
            })
        covs = ", ".join(COVARIATE_LABELS.get(c, c).lower() for c in cox["covariates"])
        return Table(pd.DataFrame(rows), note=(
            f"Cox-model for tid til fleksjob med venstretrunkering og Efron-ties, justeret for {covs}. "
            f"{fmt_count(cox.get('n') or 0, t)} borgere, {fmt_count(cox.get('events') or 0, t)} i fleksjob. "
            "Hazard ratio over 1: hurtigere i fleksjob end referencen."), count_cols=["Borgere"])

    def criteria_differences(self):
        """Criteria 1 and 3: each round's share and the difference (last round minus first) with a 95 % CI."""
        if not self.enough_rounds():
            return self._need_rounds()
        t = self.threshold
        r1, r2 = self.rounds[0], self.rounds[-1]
        rows = []
        for key in ("sc1", "sc3"):
            a, b = self.ctx["indicators"]["rounds"][r1][key], self.ctx["indicators"]["rounds"][r2][key]
            hide_a = count_hidden(self.ctx, (f"{key}_n",), None, r1, t)
            hide_b = count_hidden(self.ctx, (f"{key}_n",), None, r2, t)
            hidden = (sup.share_suppressed(a.get("k"), a["n"], t) or sup.share_suppressed(b.get("k"), b["n"], t)
                      or hide_a or hide_b)
            d = share_difference(a.get("k", 0), a["n"], b.get("k", 0), b["n"])
            rows.append({
                "Succeskriterium": CRITERIA_LABELS[key],
                f"Runde {r1}": hide_if(fmt_share(a.get("k"), a["n"], a["value"], t), hide_a),
                f"Personer, runde {r1}": count_text(self.ctx, f"{key}_n", None, r1, a["n"], t),
                f"Runde {r2}": hide_if(fmt_share(b.get("k"), b["n"], b["value"], t), hide_b),
                f"Personer, runde {r2}": count_text(self.ctx, f"{key}_n", None, r2, b["n"], t),
                "Forskel": HIDDEN if hidden and d["diff"] is not None else fmt_pp(d["diff"]),
                "95 % CI": fmt_ci(d["ci_low"], d["ci_high"], hidden and d["diff"] is not None),
            })
        return Table(pd.DataFrame(rows), note=(
            f"Forskel = runde {r2} minus runde {r1} i procentpoint, Newcombes interval (Wilson-baseret). "
            + suppression_note(t)), count_cols=[f"Personer, runde {r1}", f"Personer, runde {r2}"])

    def hours_figure(self):
        from evalkit import plots

        if not self.enough_rounds():
            return self._need_rounds()
        prog = self.ctx["progression"]
        if prog.empty:
            return Note("Ingen borgere med målbar progression i effektive timer.")
        groups = {}
        for r in self.rounds:
            p = prog[prog["round"] == r]
            if sup.stat_suppressed(len(p), self.threshold):
                continue
            hide = count_hidden(self.ctx, ("sc3_n",), None, r, self.threshold)
            groups[_round_label(r)] = {"first": None if hide else _mean_or_none(p["first_effective"], self.threshold),
                                       "last": None if hide else _mean_or_none(p["last_effective"], self.threshold),
                                       "dist": change_distribution(p["change"], self.threshold, hide)}
        if not groups:
            return Note("For få borgere med målbar progression i hver runde (diskretionering).")
        return plots.hours_plot(groups, threshold=self.threshold)

    def hours_table(self):
        if not self.enough_rounds():
            return self._need_rounds()
        t = self.threshold
        prog = self.ctx["progression"]
        rows = []
        for r in self.rounds:
            p = prog[prog["round"] == r]
            hide = count_hidden(self.ctx, ("sc3_n",), None, r, t)
            rows.append({"Runde": str(r), "Borgere": count_text(self.ctx, "sc3_n", None, r, len(p), t),
                         "Gns. første effektive timer": hide_if(_mean_text(p["first_effective"], t), hide),
                         "Gns. seneste effektive timer": hide_if(_mean_text(p["last_effective"], t), hide),
                         "Gns. ændring": hide_if(_mean_text(p["change"], t, 2), hide),
                         "Median ændring": hide_if(_median_text(p["change"], t, 2), hide)})
        return Table(pd.DataFrame(rows), note=suppression_note(t), count_cols=["Borgere"])

    def footer(self, parameters: dict) -> Html:
        return provenance_footer(self.ctx, parameters, self.threshold)


# --- index.html ---------------------------------------------------------------


def index_page(ctx: dict, listed: list[tuple], entries: dict, threshold: int = sup.THRESHOLD) -> str:
    """The runner's index.html: links to every report and each municipality's criteria at a glance.

    `listed` holds (name, kind, municipality, title) of the reports; `entries`
    the manifest's per-report records (status "ok" or "failed").
    """
    import importlib.resources as res

    css = res.files("evalkit").joinpath("templates/report.css").read_text(encoding="utf-8")
    meta = ctx["meta"]

    def link(name, title):
        e = entries.get(name, {})
        if e.get("status") == "ok":
            return Markup(f'<a href="{html.escape(name)}.html">{html.escape(title)}</a>')
        if e.get("status") == "failed":
            return Markup(f'{html.escape(title)} <span class="ek-notmet">fejlede</span>')
        return Markup(html.escape(title))

    general = [link(n, t) for n, kind, _, t in listed if kind in ("status", "rounds")]
    grid = status_grid(ctx, threshold)
    rows = []
    for name, kind, m, title in sorted((x for x in listed if x[1] == "municipality"), key=lambda x: str(x[2])):
        if m not in ctx["indicators"]["municipalities"]:
            continue
        b = ctx["indicators"]["municipalities"][m]
        row = {"Kommune": link(name, m), "Runde": ", ".join(map(str, ctx["rounds_of"].get(m, []))),
               "Forløb": n_cases_text(ctx, m, threshold, grid)}
        for r in _criteria_rows(b, threshold):
            short = CRITERIA_SHORT[r["key"]]
            row[short] = r["value"]
            row[f"{short}: mål"] = met_text(r["met"])
        rows.append(row)
    table = Table(pd.DataFrame(rows), note=suppression_note(threshold),
                  count_cols=["Forløb"])._repr_html_() if rows else ""
    items = "".join(f"<li>{g}</li>" for g in general)
    return (
        '<!DOCTYPE html>\n<html lang="da">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f"<title>Rapporter: {html.escape(str(meta['name']))}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n"
        '<main class="report">\n'
        f"<h1>Rapporter: {html.escape(str(meta['name']))}</h1>\n"
        f"<p class='ek-note'>Udtræksdato {fmt_date(meta['extraction_date'])} · evalkit {html.escape(evalkit.__version__)}"
        f" · input-hash <code>{html.escape((meta['input_hash'] or '')[:12])}</code></p>\n"
        f"<h2>Tværgående rapporter</h2>\n<ul>{items}</ul>\n"
        f"<h2>Kommunerapporter og succeskriterier</h2>\n{table}\n"
        "</main>\n</body>\n</html>\n"
    )
