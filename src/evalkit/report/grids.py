"""Suppression grids: every person count a report shows, per municipality and round, masked once
(primary and secondary suppression, SPEC section 5), so a count hidden in one report is hidden in all;
and the run's decision on counts linked across reports (`evalkit.report.publication`), read by every
report through the helpers at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report import publication
from evalkit.report import suppression as sup
from evalkit.report.cells import fmt_count, fmt_masked
from evalkit.report.context import ReportContext
from evalkit.report.format import is_missing as _missing
from evalkit.report.labels import CHANGE_BANDS


def s39_suppressed(surv: dict, threshold: int) -> bool:
    """S(39) is hidden when fewer than `threshold` are followed, at risk at 39, or had the event."""
    return (surv["n"] < threshold or surv.get("at_risk_39", 0) < threshold
            or sup.is_small(surv.get("events", 0), threshold))


def _municipality_order(ctx: ReportContext) -> list[str]:
    """Municipalities by round, then name (the status report's rows)."""
    return sorted(ctx.municipalities, key=lambda m: (ctx.rounds_of[m][0], m))


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


def _count_values(ctx: ReportContext, name: str) -> pd.DataFrame | None:
    """One person count (PERSON_COUNTS) as a municipality x round grid with the round subtotals
    (row "I alt"), the municipalities' totals (column "I alt") and the project total.

    A cell (municipality, round) is the municipality's count in that round (0 outside its
    rounds). None when the context holds only some municipalities.
    """
    get = PERSON_COUNTS[name][0]
    blocks, units = ctx.indicators["municipalities"], ctx.units
    order = _municipality_order(ctx)
    rounds = list(ctx.rounds)
    if any(m not in blocks for m in order):
        return None
    rows = []
    for m in order:
        own = ctx.rounds_of[m]
        row = []
        for r in rounds:
            if r not in own:
                row.append(0)
            elif len(own) == 1:
                row.append(get(blocks[m]))
            elif (m, r) in units:
                row.append(get(units[(m, r)].indicators))
            else:
                return None
        rows.append(row + [get(blocks[m])])
    rows.append([get(ctx.indicators["rounds"][r]) for r in rounds] + [get(ctx.indicators["project"])])
    return pd.DataFrame(rows, index=[*order, "I alt"], columns=[*rounds, "I alt"], dtype=float)


def _masked(ctx: ReportContext, counts: pd.DataFrame, threshold: int, seed=()) -> pd.DataFrame:
    """`suppress_counts` of a grid with totals, the cells at the positions `seed` hidden from the start;
    worked out once per context (every report of a run shows the grid; the audit solves LPs) and kept
    in `ctx.masks`."""
    key = (tuple(counts.index), tuple(counts.columns), tuple(counts.to_numpy().ravel().tolist()), int(threshold),
           tuple(sorted(seed)))
    if key not in ctx.masks:
        initial = np.zeros(counts.shape, dtype=bool)
        for i, j in seed:
            initial[i, j] = True
        mask = sup.suppress_counts(counts, threshold, total_row="I alt", total_col="I alt", initial=initial)
        ctx.masks[key] = tuple(int(code) for code in mask.to_numpy().ravel())
    return pd.DataFrame(np.reshape(ctx.masks[key], counts.shape), index=counts.index, columns=counts.columns)


def _case_grids(ctx: ReportContext, threshold: int):
    """The status grid and the numbers-of-cases grid (by round) under masks that agree.

    Both publish each municipality's and the project's number of cases (the status grid's "I alt"
    column); a number hidden in one is hidden in the other, repeated until neither hides more.
    """
    from evalkit.stats.status import STATUS_CATEGORIES

    blocks = ctx.indicators["municipalities"]
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
        smask = _masked(ctx, status, threshold, seed)
        if cases is None:
            return (status, smask), None
        hidden = {i for i in range(len(status)) if smask.iloc[i, -1] != sup.SHOWN}
        cmask = _masked(ctx, cases, threshold, _subset_seed(ctx, "n_cases", cases, threshold)
                        | {(i, cases.shape[1] - 1) for i in hidden})
        also = {i for i in range(len(cases)) if cmask.iloc[i, -1] != sup.SHOWN} - hidden
        if not also:
            return (status, smask), (cases, cmask)
        seed |= {(i, status.shape[1] - 1) for i in also}


def _subset_seed(ctx: ReportContext, name: str, counts: pd.DataFrame, threshold: int) -> set:
    """Cells of a subset count whose complement in its whole (PERSON_COUNTS) is 1 to threshold-1."""
    whole_name = PERSON_COUNTS[name][1]
    if whole_name is None:
        return set()
    whole = _count_values(ctx, whole_name)
    rest = whole.to_numpy() - counts.to_numpy()
    return {(int(i), int(j)) for i, j in np.argwhere((rest > 0) & (rest < threshold) & (counts.to_numpy() > 0))}


def status_grid(ctx: ReportContext, threshold: int = sup.THRESHOLD) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Status counts of every municipality with row and column totals ("I alt"), and their suppression mask.

    The status report publishes this grid; a municipality report and the index
    show their cells of it under the same mask. A cell hidden here (secondary
    suppression) but shown in another report would let a reader subtract it
    from a total and recover a count of 1-4. None when the context holds only
    some municipalities (a notebook run by hand for one municipality).
    """
    return _case_grids(ctx, threshold)[0]


def count_grid(ctx: ReportContext, name: str, threshold: int = sup.THRESHOLD) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A person count of PERSON_COUNTS as a municipality x round grid with totals, and its one mask.

    Every report showing the count for a municipality, a round or the project shows that grid's
    cell under this mask, so a number hidden in one report cannot be worked out from the totals
    and the others. Cells whose complement in their whole (e.g. cases not on ledighedsydelse at
    start) is 1 to threshold-1 are hidden from the start. None for a partial context.
    Worked out once per context, count and threshold (a report asks for each cell many times).
    """
    key = (name, int(threshold))
    if key not in ctx.grids:
        ctx.grids[key] = _count_grid(ctx, name, threshold)
    found = ctx.grids[key]
    return None if found is None else (found[0].copy(), found[1].copy())


def _count_grid(ctx: ReportContext, name: str, threshold: int):
    if name == "n_cases":
        return _case_grids(ctx, threshold)[1]
    counts = _count_values(ctx, name)
    if counts is None:
        return None
    mask = _masked(ctx, counts, threshold, _subset_seed(ctx, name, counts, threshold))
    decision = linked_decision(ctx, threshold) if name in LINKED_GRIDS else None
    if decision is None:
        return counts, mask
    if name not in decision.merged:  # the cells the whole publication's check hides too
        decision.merged[name] = publication.merge_grid(decision, name, counts, mask, ctx.rounds_of)
    return counts, decision.merged[name].copy()


def count_text(ctx: ReportContext, name: str, municipality: str | None, round_: int | None, value,
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


def count_hidden(ctx: ReportContext, names, municipality: str | None, round_: int | None,
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


def n_cases_text(ctx: ReportContext, municipality: str | None, threshold: int = sup.THRESHOLD, grid=None) -> str:
    """A municipality's number of cases (None: the project's) as the status report shows it.

    `grid` is `status_grid(ctx, threshold)` when the caller has it already.
    """
    grid = status_grid(ctx, threshold) if grid is None else grid
    block = ctx.indicators["project"] if municipality is None else ctx.indicators["municipalities"][municipality]
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


# --- counts linked across every report of a run (evalkit.report.publication) -------------------

LINKED_GRIDS = ("sc3_n", "survival_n", "survival_events", "step_up_n")


def linked_decision(ctx: ReportContext, threshold: int = sup.THRESHOLD):
    """The run's `publication.Decision` (None for a partial context), decided once per threshold and
    kept in the context's `linked` field: the runner calls this before it writes the context, so
    every report reads it."""
    t = int(threshold)
    if t not in ctx.linked:
        grids = {}
        for name in LINKED_GRIDS:
            counts = _count_values(ctx, name)
            if counts is None:
                ctx.linked[t] = None
                return None
            grids[name] = (counts, _masked(ctx, counts, t, _subset_seed(ctx, name, counts, t)))
        drawn = int(sup.points_shown(ctx.caseload["flexjob_39w"]["points"], t).sum())
        status, smask = status_grid(ctx, t)  # Step Up's population is on ledighedsydelse at E
        ctx.linked[t] = publication.decide_publication(
            ctx, grids, _change_counts, t, caseworkers_drawn=drawn,
            wholes={"step_up_n": (status[["ledighedsydelse"]], smask[["ledighedsydelse"]])})
    return ctx.linked[t]


def linked_text(ctx: ReportContext, key: tuple, value, threshold: int = sup.THRESHOLD) -> str:
    """A linked count (key of `publication.Decision`) as the decision shows it; plain `fmt_count` without one."""
    decision = linked_decision(ctx, threshold)
    code = None if decision is None else decision.code(key)
    if code is None or _missing(value) or decision.values.get(key) != value:
        return fmt_count(value, threshold)
    return fmt_masked(value, code, threshold)


def linked_scope(municipality: str | None, round_: int | None, whole: bool = True):
    """The decision's scope of a report column: project, round, or a whole municipality (None: a
    municipality's single round, which no runner report publishes)."""
    if municipality is None:
        return ("P",) if round_ is None else ("R", round_)
    return ("M", municipality) if whole else None


def at_risk_texts(ctx: ReportContext, bundle: dict, scope, threshold: int = sup.THRESHOLD) -> dict:
    """The numbers at risk of a survival bundle as its figure prints them (week -> text), under the
    decision where the scope is in it."""
    if scope is None:
        return {w: fmt_count(n, threshold) for w, n in bundle["at_risk"].items()}
    return {w: linked_text(ctx, ("at_risk", w, *scope), n, threshold) for w, n in bundle["at_risk"].items()}


def linked_band_codes(ctx: ReportContext, scope, threshold: int = sup.THRESHOLD) -> list[int] | None:
    """The decision's mask codes of a scope's six change bands and their total, or None."""
    return publication.band_codes(linked_decision(ctx, threshold), scope)


def criteria_forced(ctx: ReportContext, municipality: str | None, round_: int | None,
                    threshold: int = sup.THRESHOLD) -> dict:
    """Criterion key -> True where the criterion's population count is hidden in its grid (every
    report hides the criterion there, the status report and the index too)."""
    names = {"sc1": ("sc1_n",), "sc2": ("survival_n", "survival_events"), "sc3": ("sc3_n",)}
    return {key: count_hidden(ctx, n, municipality, round_, threshold) for key, n in names.items()}
