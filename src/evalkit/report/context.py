"""The report context: the contract between the runner and the notebooks.

`build_context(ds)` computes, once per dataset, every indicator
(`stats.indicators.compute_all`) and the frames behind every figure; the report
runner pickles it into its private folder with an HMAC tag (`write_context`) and
every notebook loads it with `report_context`, which checks the tag first. The
report classes (municipality.py, status_report.py, round_comparison.py) read it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

import evalkit
from evalkit.data.names import municipality_key
from evalkit.report.context_file import CONTEXT_KEY_ENV, read_context, write_context  # noqa: F401 (the runner's)
from evalkit.stats.caseload import caseworker_points, weighted_line
from evalkit.stats.series import compute_series
from evalkit.stats.survival import cox_by_round


def file_name(path) -> str:
    """The last part of a path (POSIX or Windows), as published instead of the path itself."""
    return re.split(r"[\\/]", str(path).rstrip("\\/"))[-1]


@dataclass(frozen=True)
class Meta:
    """What the reports say about their data: named, never a path (the footer and the index show it)."""

    name: str  # dataset.yml's name
    extraction_date: pd.Timestamp  # E
    input_hash: str | None  # SHA-256 over the dataset's files
    folder: str | None  # the dataset folder's name (no path)
    rows: dict[str, int]  # rows per table: cases, hours, contacts, goals
    rounds: dict[int, tuple[pd.Timestamp, pd.Timestamp]]  # dataset.yml's round spans
    evalkit_version: str
    targets_file: str | None  # the user's targets file's name, if any
    built: str  # when the context was computed (ISO time)


@dataclass(frozen=True)
class Unit:
    """Everything a municipality report shows about one municipality, or one of its rounds."""

    indicators: dict  # `compute_indicators` of the unit
    survival: dict  # {"summary": SurvivalSummary, "at_risk": {week: n}} (`_survival_bundle`)
    progression: pd.DataFrame  # the unit's progression rows (first/last effective hours, change)
    open_cases: int  # cases not exited at E
    goals: dict | None  # `goal_tracking` of the unit's goal rows; None without any
    quality: dict  # data quality counts for the footer (cases, with hours, missing sex, ...)
    caseworkers: list  # the unit's caseworker ids (highlighted in the caseload figure)


@dataclass(frozen=True)
class ReportContext:
    """The contract between the runner and the notebooks: every number and frame a report shows.

    Built once per run (`build_context`), pickled with an HMAC tag into the run's
    private folder (`write_context`), loaded by each notebook (`report_context`)
    and read by the report classes by attribute. Case-level frames are here, so
    it never leaves the private folder; what is published passes the suppression
    of evalkit.report.grids and evalkit.report.cells first.
    """

    meta: Meta
    indicators: dict  # `compute_all`: {"project": ..., "rounds": {r: ...}, "municipalities": {m: ...}}
    targets: dict  # `load_targets`: {"default": {sc1, sc2, sc3}, "rounds": ..., "municipalities": ...}
    municipalities: list[str]  # every municipality of the dataset, sorted
    rounds_of: dict[str, list[int]]  # each municipality's rounds
    rounds: list[int]  # every round of the dataset
    units: dict[tuple[str, int | None], Unit]  # (municipality, None) and, with several rounds, (municipality, r)
    survival: dict  # {"project": bundle, "rounds": {r: bundle}} (bundles as in `Unit.survival`)
    progression: pd.DataFrame  # every case's progression row with municipality and round
    caseload: dict  # {"flexjob_39w"|"hours_change": {"points": per caseworker, "line": (intercept, slope)}}
    cox: dict  # Cox model by round: {"table", "covariates", "counts", "n", "events"} (`cox_by_round`)
    # the monthly and quarterly series of every scope (project, each round, each municipality), as
    # `stats.series.compute_series` gives them (SPEC section 7); report/trends.py publishes them
    # through report/trend_mask.py. Computed once per run (the runner passes its cached copy).
    series: dict
    # threshold -> `publication.Decision` (None for a partial context): the suppression of counts linked
    # across every report, decided once (`grids.linked_decision`; the runner decides it before it
    # writes the context, so every notebook reads the same decision)
    linked: dict = field(default_factory=dict, compare=False, repr=False)
    # the suppression masks of its grids (`grids._masked`: grid and seed -> mask), worked out once and kept
    # with the context (in its cache entry too): the status grid's alone takes some 250 LP solves
    masks: dict = field(default_factory=dict, compare=False, repr=False)
    # (count, threshold) -> `grids.count_grid`'s grid and mask, worked out when first asked
    grids: dict = field(default_factory=dict, init=False, compare=False, repr=False)


AT_RISK_WEEKS = (0, 13, 26, 39, 52, 78, 104, 130, 156)


def _survival_bundle(data: pd.DataFrame) -> dict:
    """Summary with curve, and the numbers at risk under the plot, for survival_data rows."""
    from evalkit.stats.survival import at_risk_at, summarise_survival

    summary = summarise_survival(data)
    counts = at_risk_at(data, AT_RISK_WEEKS) if len(data) else [0] * len(AT_RISK_WEEKS)
    if len(summary.curve):
        counts[0] = int(summary.curve["at_risk"].iloc[0])  # at 0: the cases starting at the origin
    return {"summary": summary, "at_risk": dict(zip(AT_RISK_WEEKS, counts))}


def _goal_rows(goals: pd.DataFrame, cases: pd.DataFrame, municipalities: list[str]) -> dict[str, pd.DataFrame]:
    """The goal rows of each municipality: its caseworkers' rows, else those of teams named after it.

    A team is named after a municipality when the municipality's name is whole words of the team's
    name, compared as canonical keys (`names.municipality_key`): "Jobteam faxe" is Faxe's, and
    "Jobteam Københavns Vestegn" is not København's."""
    if goals.empty:
        return {m: goals for m in municipalities}
    workers = cases.groupby("municipality", observed=True)["caseworker_id"].unique()
    teams = goals["team"].astype(str)
    team_keys = teams.map({team: f"-{municipality_key(team)}-" for team in teams.unique()})  # (few teams)
    found = {}
    for m in municipalities:
        rows = goals[goals["employee_id"].isin(workers.get(m, []))]
        key = municipality_key(m)
        found[m] = rows if len(rows) or not key else goals[team_keys.str.contains(f"-{key}-", regex=False)]
    return found


def _unit(ds, indicators: dict, frames: dict, goal_rows: pd.DataFrame, round_: int | None) -> Unit:
    """Everything a municipality report shows about one municipality (optionally one of its rounds).

    `frames` holds the municipality's case-level frames (cases, survival and
    progression rows, each with a round column), so a round is a cheap selection.
    """
    from evalkit.stats.goals import goal_tracking

    def select(frame):
        return frame if round_ is None else frame[frame["round"] == round_]

    cases = select(frames["cases"])
    e = ds.extraction_date
    return Unit(
        indicators=indicators,
        survival=_survival_bundle(select(frames["survival"])),
        progression=select(frames["progression"]),
        open_cases=int((cases["exit_date"].isna() | (cases["exit_date"] > e)).sum()),
        goals=goal_tracking(goal_rows) if len(goal_rows) else None,
        quality={
            "cases": len(cases),
            "with_benefit_start": int(cases["benefit_start"].notna().sum()),
            "with_hours": int(cases["_has_hours"].sum()),
            "with_contacts": int(cases["_has_contacts"].sum()),
            "missing_sex": int(cases["sex"].isna().sum()) if "sex" in cases else None,
            "missing_age_band": int(cases["age_band"].isna().sum()) if "age_band" in cases else None,
        },
        caseworkers=sorted(set(cases["caseworker_id"])),
    )


def _by_municipality(frame: pd.DataFrame, names: list[str]) -> dict[str, pd.DataFrame]:
    """{name: the rows of that municipality}, grouped once (an empty frame for a name without rows)."""
    groups = {str(k): g for k, g in frame.groupby("municipality", sort=False, observed=True)}
    return {m: groups.get(m, frame.iloc[:0]) for m in names}


def build_context(ds, targets_file=None, cached_indicators=None, series: dict | None = None) -> ReportContext:
    """Every indicator and every frame the three report notebooks show, computed once.

    Plain data (dicts, frames and survival summaries), so it pickles: the report
    runner writes it once and each notebook loads it (`report_context`).
    Always every municipality: what a report hides depends on the counts of all of them
    (the linked decision, report/grids.py), so there is no context of a few.
    `cached_indicators` is `compute_all`'s result when the caller has it.
    `series`: `compute_series(ds, targets_file=...)` of every scope when the caller
    has it (the runner's cache); computed here otherwise.
    """
    from evalkit.stats.criteria import load_targets
    from evalkit.stats.indicators import case_facts, compute_all, compute_indicators

    e = ds.extraction_date
    cases = ds.cases
    all_names = sorted(str(m) for m in cases["municipality"].unique())
    rounds = sorted(int(r) for r in cases["round"].unique())
    # per-case survival, progression and regression rows with caseloads, computed once
    facts = case_facts(ds)
    all_indicators = cached_indicators or compute_all(ds, targets_file=targets_file, facts=facts)
    keys = {"key_municipality": "municipality", "key_round": "round"}
    frames = {
        "cases": cases.assign(_has_hours=cases["case_id"].isin(ds.hours["case_id"]),
                              _has_contacts=cases["case_id"].isin(ds.contacts["case_id"])),
        "survival": facts.survival.rename(columns=keys),
        "progression": facts.progression.rename(columns=keys),
    }
    sdata, progression = frames["survival"], frames["progression"]
    flex_points = caseworker_points(facts.regression["flexjob_39w"], cases)
    hours_points = caseworker_points(facts.regression["hours_change"], cases)

    rounds_of = {m: sorted(int(r) for r in rs) for m, rs in cases.groupby("municipality")["round"].unique().items()}
    per_municipality = {name: _by_municipality(frame, all_names) for name, frame in frames.items()}
    goal_rows = _goal_rows(ds.goals, cases, all_names)
    units = {}
    for m in all_names:
        own = {name: groups[m] for name, groups in per_municipality.items()}
        units[(m, None)] = _unit(ds, all_indicators["municipalities"][m], own, goal_rows[m], None)
        for r in rounds_of[m] if len(rounds_of[m]) > 1 else []:
            indicators = compute_indicators(ds, municipality=m, round_=r, targets_file=targets_file)
            units[(m, r)] = _unit(ds, indicators, own, goal_rows[m], r)
    return ReportContext(
        meta=Meta(
            name=ds.name,
            extraction_date=pd.Timestamp(e),
            input_hash=ds.input_hash,
            folder=dataset_folder(ds),
            rows={"cases": len(ds.cases), "hours": len(ds.hours), "contacts": len(ds.contacts),
                     "goals": len(ds.goals)},
            rounds={int(r): (pd.Timestamp(a), pd.Timestamp(b)) for r, (a, b) in (ds.rounds or {}).items()},
            evalkit_version=evalkit.__version__,
            targets_file=file_name(targets_file) if targets_file else None,
            built=datetime.now().isoformat(timespec="seconds"),
        ),
        indicators=all_indicators,
        targets=load_targets(targets_file),
        municipalities=all_names,
        rounds_of={str(m): v for m, v in rounds_of.items()},
        rounds=rounds,
        units=units,
        survival={
            "project": _survival_bundle(sdata),
            "rounds": {r: _survival_bundle(sdata[sdata["round"] == r]) for r in rounds},
        },
        progression=progression,
        caseload={
            "flexjob_39w": {"points": flex_points, "line": weighted_line(flex_points)},
            "hours_change": {"points": hours_points, "line": weighted_line(hours_points)},
        },
        cox=cox_by_round(ds, sdata) if len(rounds) > 1 else {"table": None, "covariates": [], "counts": {}},
        series=series if series is not None else compute_series(ds, targets_file=targets_file),
    )


def dataset_folder(ds) -> str | None:
    """The name of the dataset's folder, as the footer names it (a name, never a path)."""
    return Path(ds.source).resolve().name if ds.source else None


def with_targets(ctx: ReportContext, ds, targets_file=None) -> ReportContext:
    """The context `ctx` of `ds` with the targets of `targets_file` (None: the shipped ones): the same
    as `build_context(ds, targets_file=targets_file)`, without computing anything again. Targets
    change only the criteria's targets and verdicts (`indicators.with_targets`,
    `series.series_with_targets`); what is counted, and so the linked decision, stays."""
    import dataclasses

    from evalkit.stats.criteria import load_targets
    from evalkit.stats.indicators import with_targets as block_with_targets
    from evalkit.stats.series import series_with_targets

    targets = load_targets(targets_file)
    ind = ctx.indicators
    indicators = {
        "project": block_with_targets(ind["project"], targets),
        "municipalities": {m: block_with_targets(b, targets) for m, b in ind["municipalities"].items()},
        "rounds": {r: block_with_targets(b, targets) for r, b in ind["rounds"].items()},
    }
    units = {(m, r): dataclasses.replace(unit, indicators=indicators["municipalities"][m] if r is None
                                         else block_with_targets(unit.indicators, targets))
             for (m, r), unit in ctx.units.items()}
    meta = dataclasses.replace(ctx.meta, targets_file=file_name(targets_file) if targets_file else None)
    return dataclasses.replace(ctx, meta=meta, indicators=indicators, targets=targets, units=units,
                               series=series_with_targets(ctx.series, ds.cases, targets), linked=dict(ctx.linked))


_CACHE: dict = {}


def report_context(cache) -> ReportContext:
    """The runner's context file `cache`, as a notebook run by `evalkit reports` reads it.

    The file is read only with the key the runner put in the kernel's
    environment (CONTEXT_KEY_ENV). A warm kernel keeps the loaded context in memory
    (keyed by path, size and modification time), so many notebooks in one kernel
    read it once. A notebook run by hand gets its context from the dataset
    (`runner.notebook.notebook_context`, through this user's cache).
    """
    path = Path(cache)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = read_context(path, bytes.fromhex(os.environ.get(CONTEXT_KEY_ENV, "")))
    return _CACHE[key]
