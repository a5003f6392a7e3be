"""Every indicator of SPEC section 3 for a selection, as the JSON of section 6.

`compute_indicators` serves `evalkit indicators`; `compute_all` serves the report
runner: the project, every municipality and every round in one pass, with the
caseloads computed once from the full dataset. Output is plain JSON types (NaN
and infinity become None) and deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.data.dataset import Dataset, subset
from evalkit.spec import STATUS_CATEGORIES
from evalkit.stats.caseload import case_caseloads, fit_caseload_model, regression_frame
from evalkit.stats.criteria import load_targets, proportion, sc1_flags, target_for, target_met
from evalkit.stats.followup import follow_up_counts, follow_up_summary, step_up_flags, step_up_summary
from evalkit.stats.progression import progression_table, sc3_from_table
from evalkit.stats.status import status_at
from evalkit.stats.survival import logrank_test, summarise_survival, survival_data


def plain(obj):
    """obj with numpy/pandas scalars turned into Python ones and NaN/inf/NaT into None."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if obj is None or obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, pd.Timestamp):
        return obj.date().isoformat()
    return obj


@dataclass(frozen=True)
class _Facts:
    """Per-case results of a set of cases, from which every indicator is a sum or a fit.

    Every per-case figure depends only on the case's own rows and E (caseloads
    come from the full dataset), so the facts of the full dataset split by
    municipality or round equal the facts computed on that selection.
    """

    name: str
    extraction_date: pd.Timestamp
    cases: pd.DataFrame
    per_case: pd.DataFrame  # status, sc1_member, sc1_event, fu_count (NaN outside), su_population, su_had
    progression: pd.DataFrame  # progression_table rows
    survival: pd.DataFrame  # survival_data rows
    regression: dict  # outcome -> regression_frame


def _facts(ds: Dataset, caseloads: pd.Series) -> _Facts:
    e = ds.extraction_date
    cases, hours, contacts = ds.cases, ds.hours, ds.contacts
    status = status_at(cases, hours, e)
    flags = sc1_flags(cases, e)
    step = step_up_flags(cases, contacts, e, status=status)
    per_case = pd.DataFrame({
        "municipality": cases["municipality"],
        "round": cases["round"],
        "status": status,
        "sc1_member": flags["member"],
        "sc1_event": flags["event"],
        "fu_count": cases["case_id"].map(follow_up_counts(cases, contacts, e)),
        "su_population": step["population"],
        "su_had": step["had_step_up"],
    })
    where = cases.set_index("case_id")[["municipality", "round"]]

    def keyed(frame):
        """frame with key_municipality and key_round of each row's case (for `_split`)."""
        return frame.assign(**{f"key_{c}": frame["case_id"].map(where[c]).to_numpy() for c in ("municipality", "round")})

    table = progression_table(cases, hours, e)
    regression = {
        "flexjob_39w": regression_frame(cases, hours, e, caseloads, "flexjob_39w"),
        "hours_change": regression_frame(cases, hours, e, caseloads, "hours_change", table),
    }
    return _Facts(ds.name, e, cases, per_case, keyed(table), keyed(survival_data(cases, e)),
                  {k: keyed(v) for k, v in regression.items()})


def _split(facts: _Facts, column: str) -> dict:
    """{value: _Facts of the cases with that value of `column`} (every table grouped once)."""

    def groups(frame, key=f"key_{column}"):
        return {k: g for k, g in frame.groupby(key, sort=True)}

    cases, per_case = groups(facts.cases, column), groups(facts.per_case, column)
    progression, survival = groups(facts.progression), groups(facts.survival)
    regression = {k: groups(v) for k, v in facts.regression.items()}
    return {
        value: _Facts(
            facts.name, facts.extraction_date, cases[value], per_case[value],
            progression.get(value, facts.progression.iloc[:0]), survival.get(value, facts.survival.iloc[:0]),
            {k: regression[k].get(value, facts.regression[k].iloc[:0]) for k in regression},
        )
        for value in cases
    }


def _with_target(result: dict, key: str, targets: dict, round_, municipality) -> dict:
    target = target_for(targets, key, round_=round_, municipality=municipality)
    return {**result, "target": target, "met": target_met(key, result.get("value"), target)}


def with_targets(block: dict, targets: dict) -> dict:
    """An indicators block (`compute_indicators`, `compute_all`'s parts) with other targets: the
    targets and verdicts of sc1-sc3 as `_indicators` gives them, from what the block says of itself
    (its selection and rounds present), so changed targets need no new computation."""
    selection, present = block["selection"], block["rounds_present"]
    round_ = selection["round"]
    target_round = round_ if round_ is not None else (present[0] if len(present) == 1 else None)
    return {**block, **{key: _with_target(block[key], key, targets, target_round, selection["municipality"])
                        for key in ("sc1", "sc2", "sc3")}}


def _indicators(facts: _Facts, municipality: str | None, round_: int | None, targets: dict) -> dict:
    """All indicators of one selection from its facts."""
    e = facts.extraction_date
    pc = facts.per_case
    rounds_present = sorted(int(r) for r in pc["round"].unique())
    # the round whose targets apply: the chosen one, or the selection's only round
    target_round = round_ if round_ is not None else (rounds_present[0] if len(rounds_present) == 1 else None)

    survival = summarise_survival(facts.survival).to_json()
    sc2 = {"value": survival.get("s39"), "ci_low": survival.get("s39_ci_low"), "ci_high": survival.get("s39_ci_high")}
    status = pc["status"].value_counts()
    result = {
        "dataset": facts.name,
        "extraction_date": pd.Timestamp(e).date().isoformat(),
        "selection": {"municipality": municipality, "round": round_},
        "rounds_present": rounds_present,
        "n_cases": len(pc),
        "status_counts": {cat: int(status.get(cat, 0)) for cat in STATUS_CATEGORIES},
        "survival": survival,
        "sc1": _with_target(proportion(int(pc["sc1_event"].sum()), int(pc["sc1_member"].sum())),
                            "sc1", targets, target_round, municipality),
        "sc2": _with_target(sc2, "sc2", targets, target_round, municipality),
        "sc3": _with_target(sc3_from_table(facts.progression), "sc3", targets, target_round, municipality),
        "caseload_regression": {
            "flexjob_39w": fit_caseload_model(facts.regression["flexjob_39w"], "logit"),
            "hours_change": fit_caseload_model(facts.regression["hours_change"], "ols"),
        },
        "follow_up": follow_up_summary(pc["fu_count"].dropna()),
        "step_up": step_up_summary(pc.rename(columns={"su_population": "population", "su_had": "had_step_up"})),
    }
    if len(rounds_present) >= 2:
        test = logrank_test(facts.cases, e, "round")
        result["logrank_rounds"] = {k: test.get(k) for k in ("statistic", "p_value", "df", "reason") if k in test}
    return plain(result)


def compute_indicators(ds: Dataset, municipality: str | None = None, round_: int | None = None,
                       targets_file=None) -> dict:
    """The SPEC section 6 JSON for the whole dataset or one municipality and/or round.

    Caseloads always come from the full dataset (a caseworker's other cases count).
    """
    targets = load_targets(targets_file)
    caseloads = case_caseloads(ds.cases, ds.extraction_date, ds.rounds)
    sel = subset(ds, municipality=municipality, round_=round_)
    if municipality is not None:  # the spelling of the data (subset matches case-insensitively)
        municipality = str(sel.cases["municipality"].iloc[0])
    return _indicators(_facts(sel, caseloads), municipality, round_, targets)


def case_facts(ds: Dataset) -> _Facts:
    """Per-case facts of the full dataset (caseloads included), for `compute_all` and the report figures."""
    return _facts(ds, case_caseloads(ds.cases, ds.extraction_date, ds.rounds))


def compute_all(ds: Dataset, targets_file=None, facts: _Facts | None = None) -> dict:
    """{"project": ..., "municipalities": {name: ...}, "rounds": {round: ...}} in one pass.

    Per-case facts and caseloads are computed once for the full dataset and then
    split, so 98 municipalities cost little more than one. Pass `facts` (from
    `case_facts`) when the caller has them already.
    """
    targets = load_targets(targets_file)
    facts = case_facts(ds) if facts is None else facts
    return {
        "project": _indicators(facts, None, None, targets),
        "municipalities": {str(m): _indicators(f, str(m), None, targets)
                           for m, f in _split(facts, "municipality").items()},
        "rounds": {int(r): _indicators(f, None, int(r), targets) for r, f in _split(facts, "round").items()},
    }
