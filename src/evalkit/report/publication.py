"""The linked counts of one report context: the system of `evalkit.report.linked` built from every
count a run publishes that is tied to others, protected once per run, and the `Decision` the reports read.

The runner decides it before any report renders (`evalkit.report.grids.linked_decision`, kept in
the context's `linked` field), so every report, the index included, shows the same decision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evalkit.report import suppression as sup
from evalkit.report.context import AT_RISK_WEEKS, ReportContext
from evalkit.report.labels import CHANGE_BANDS
from evalkit.report.linked import UNPUBLISHED, LinkedCounts

N_BANDS = len(CHANGE_BANDS)  # change bands of the hours figure and table
ONE_HOUR_UP = range(3, N_BANDS)  # the bands of a change of one hour or more (criterion 3's numerator)



@dataclass
class Decision:
    """What the reports show of the linked counts: a mask code per key, and the counts hidden beyond
    table-by-table suppression. Keys: (measure, *scope), scope ("P",), ("R", r) or ("M", m)."""

    codes: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    newly_hidden: list = field(default_factory=list)
    seconds: float = 0.0  # time spent deciding (the search: `stats` of LinkedCounts)
    stats: dict = field(default_factory=dict)
    # grid name -> merged mask (`merge_grid`), worked out when first asked; not part of the decision
    merged: dict = field(default_factory=dict, repr=False, compare=False)

    def code(self, key, default=None):
        return self.codes.get(key, default)

    def hidden(self, key) -> bool:
        return self.codes.get(key, sup.SHOWN) != sup.SHOWN


def _scopes(ctx: ReportContext):
    """(scope key, indicator block, survival bundle, selection of a frame) of the project, each round
    and each municipality (as a whole)."""
    ind = ctx.indicators
    out = [(("P",), ind["project"], ctx.survival["project"], lambda f: f)]
    out += [(("R", r), ind["rounds"][r], ctx.survival["rounds"][r], lambda f, r=r: f[f["round"] == r])
            for r in ctx.rounds]
    out += [(("M", m), ind["municipalities"][m], ctx.units[(m, None)].survival,
             lambda f, m=m: f[f["municipality"] == m]) for m in ctx.municipalities]
    return out


def _additive(lc: LinkedCounts, ctx: ReportContext, measure) -> None:
    """Project = sum of rounds; a round = sum of its single-round municipalities and the others' parts
    (not published); a municipality of several rounds = sum of its parts."""
    rounds_of = ctx.rounds_of
    lc.equal((*measure, "P"), [(*measure, "R", r) for r in ctx.rounds])
    lc.equal((*measure, "P"), [(*measure, "M", m) for m in ctx.municipalities])
    for r in ctx.rounds:
        parts = [(*measure, "M", m) for m in ctx.municipalities if rounds_of[m] == [r]]
        parts += [(*measure, "MR", m, r) for m in ctx.municipalities if len(rounds_of[m]) > 1 and r in rounds_of[m]]
        lc.equal((*measure, "R", r), parts)
    for m in ctx.municipalities:
        if len(rounds_of[m]) > 1:
            lc.equal((*measure, "M", m), [(*measure, "MR", m, r) for r in rounds_of[m]])


def _grid_cell(grid, scope):
    """(count, mask code) of a scope in a municipality x round grid with totals."""
    counts, mask = grid
    row = "I alt" if scope[0] in ("P", "R") else scope[1]
    col = scope[1] if scope[0] == "R" else scope[2] if scope[0] == "MR" else "I alt"
    return counts.loc[row, col], mask.loc[row, col]


def decide_publication(ctx: ReportContext, grids: dict, band_counts, threshold: int = sup.THRESHOLD,
                       caseworkers_drawn: int | None = None, wholes: dict | None = None) -> Decision:
    """The linked counts of a whole run's reports, protected; see the module docstring.

    `grids` maps a person count ("sc3_n", "survival_n", "survival_events") to its
    municipality x round grid with totals and its table-by-table mask; `band_counts`
    turns a series of changes into the six change-band counts. `caseworkers_drawn`
    is the number of caseworkers the caseload figure draws (countable dots). `wholes` maps a
    grid's name to a one-column grid by municipality and "I alt" (counts and mask, decided
    elsewhere, never hidden here) of a whole it
    is a subset of: whole = subset + an unpublished rest, so a rest of 1-4 is not given away.
    """
    start = time.perf_counter()
    t = int(threshold)
    lc = LinkedCounts(t)
    rounds_of = ctx.rounds_of
    several_rounds = len(ctx.rounds) > 1
    scopes = _scopes(ctx)
    mr = [(("MR", m, r), ctx.units.get((m, r))) for m in ctx.municipalities if len(rounds_of[m]) > 1
          for r in rounds_of[m]]

    # the grids' cells (rows, columns and totals add up); a cell hidden there is hidden here
    for name, grid in grids.items():
        counts, mask = grid
        for row in counts.index:
            for col in counts.columns:
                scope = grid_scope(row, col, rounds_of)
                if scope is None or (name, *scope) in lc.value:
                    continue
                published = scope[0] != "MR"
                lc.add((name, *scope), counts.loc[row, col], published=published,
                       hidden=mask.loc[row, col] != sup.SHOWN, cost=2)
        _additive(lc, ctx, (name,))

    # a subset beside its whole (e.g. Step Up's population among those on ledighedsydelse at E)
    for name, (counts, mask) in (wholes or {}).items():
        for row in counts.index:
            scope = ("P",) if row == "I alt" else ("M", row)
            if (name, *scope) not in lc.value or counts.loc[row].iloc[0] < lc.value[(name, *scope)]:
                continue  # not a subset there
            whole = ("whole of", name, *scope)
            lc.add(whole, counts.loc[row].iloc[0], hidden=mask.loc[row].iloc[0] != sup.SHOWN, fixed=True)
            lc.add(("rest of", name, *scope), lc.value[whole] - lc.value[(name, *scope)], published=False)
            lc.equal(whole, [(name, *scope), ("rest of", name, *scope)])

    # change bands: they add up to the persons with a measured progression, bands 3-5 to criterion 3's k
    progression = ctx.progression
    for scope, block, _bundle, select in scopes:
        changes = select(progression)["change"]
        counts = [int(c) for c in band_counts(changes)]
        shown = len(changes) >= t and (scope[0] != "R" or several_rounds)
        for b, c in enumerate(counts):
            lc.add(("band", b, *scope), c, published=shown)
        lc.equal(("sc3_n", *scope), [("band", b, *scope) for b in range(N_BANDS)])
        sc3 = block["sc3"]
        if sc3.get("k") is not None:
            share_shown = (sc3["n"] and not sup.share_suppressed(sc3.get("k"), sc3["n"], t)
                           and lc.state.get(("sc3_n", *scope)) == sup.SHOWN)
            lc.add(("sc3_k", *scope), sc3["k"], published=bool(share_shown), fixed=True)
            lc.equal(("sc3_k", *scope), [("band", b, *scope) for b in ONE_HOUR_UP])
    for scope, unit in mr:
        if unit is not None:
            for b, c in enumerate(band_counts(unit.progression["change"])):
                lc.add(("band", b, *scope), int(c), published=False)
    for b in range(N_BANDS):
        _additive(lc, ctx, ("band", b))

    # numbers at risk under the survival curves (and "I risiko ved 39 uger")
    for scope, _block, bundle, _select in scopes:
        shown = scope[0] != "R" or several_rounds
        for w, n in bundle["at_risk"].items():
            lc.add(("at_risk", w, *scope), n, published=shown)
    for scope, unit in mr:
        if unit is not None:
            for w, n in unit.survival["at_risk"].items():
                lc.add(("at_risk", w, *scope), n, published=False)
    for w in AT_RISK_WEEKS:
        _additive(lc, ctx, ("at_risk", w))

    # persons in the caseload regressions ("Forløb"), municipality and project
    for model in ("flexjob_39w", "hours_change"):
        for scope, block, _bundle, _select in scopes:
            reg = (block.get("caseload_regression") or {}).get(model)
            if reg is not None and reg.get("n") is not None:
                lc.add(("regression_n", model, *scope), reg["n"], published=scope[0] != "R")
        for scope, unit in mr:
            reg = ((unit.indicators if unit is not None else {}).get("caseload_regression") or {}).get(model)
            if reg is not None and reg.get("n") is not None:
                lc.add(("regression_n", model, *scope), reg["n"], published=False)
        _additive(lc, ctx, ("regression_n", model))

    # the Cox model: level counts of each covariate add up to its persons; round levels are the
    # rounds' survival counts when they agree
    cox = ctx.cox or {}
    table = cox.get("table")
    if table is not None and not table.empty and cox.get("n") is not None:
        shown_terms = set(table["term"].astype(str))
        lc.add(("cox_n",), cox["n"])
        if cox.get("events") is not None:
            lc.add(("cox_events",), cox["events"])
        for cov in cox.get("covariates", []):
            levels = [k for k in cox["counts"] if k.split("=", 1)[0] == cov]
            for k in levels:
                lc.add(("cox_level", k), cox["counts"][k], published=k in shown_terms)
            lc.equal(("cox_n",), [("cox_level", k) for k in levels])
        for k in cox["counts"]:
            cov, _, level = k.partition("=")
            if cov == "round" and ("survival_n", "R", _as_int(level)) in lc.value:
                lc.equal(("cox_level", k), [("survival_n", "R", _as_int(level))])

    # caseworkers of the caseload figure: drawn ones can be counted, the others are not named; the
    # project regression's number of caseworkers (clusters) is linked to them when it is the same set
    points = (ctx.caseload or {}).get("flexjob_39w", {}).get("points")
    reg = (ctx.indicators["project"].get("caseload_regression") or {}).get("flexjob_39w") or {}
    if points is not None and caseworkers_drawn is not None:
        lc.add(("caseworkers", "all"), len(points), published=False)
        lc.add(("caseworkers", "drawn"), caseworkers_drawn, fixed=True)
        lc.add(("caseworkers", "not drawn"), len(points) - caseworkers_drawn, published=False)
        lc.equal(("caseworkers", "all"), [("caseworkers", "drawn"), ("caseworkers", "not drawn")])
        if reg.get("slope") is not None and reg.get("n_caseworkers"):
            lc.add(("caseworkers", "regression"), reg["n_caseworkers"])
            lc.equal(("caseworkers", "regression"), [("caseworkers", "all")])

    before = {k for k, s in lc.state.items() if s in (sup.PRIMARY, sup.SECONDARY)}
    lc.protect()
    decision = Decision(codes={k: lc.code(k) for k in lc.value if lc.state[k] != UNPUBLISHED},
                        values=dict(lc.value), seconds=time.perf_counter() - start, stats=dict(lc.stats))
    decision.newly_hidden = sorted((k for k, s in lc.state.items() if s == sup.SECONDARY and k not in before),
                                   key=repr)
    return decision


def _as_int(text):
    try:
        return int(text)
    except ValueError:
        return text


def grid_scope(row, col, rounds_of: dict):
    """The scope of a cell of a municipality x round grid with totals (None: a round the municipality lacks)."""
    if row == "I alt":
        return ("P",) if col == "I alt" else ("R", col)
    if col == "I alt" or rounds_of[row] == [col]:
        return ("M", row)
    return ("MR", row, col) if col in rounds_of[row] else None


def merge_grid(decision: Decision | None, name: str, counts, mask, rounds_of: dict):
    """A grid's mask with the cells the decision hides beyond it set to SECONDARY (a copy)."""
    if decision is None:
        return mask
    out = mask.copy()
    for row in counts.index:
        for col in counts.columns:
            scope = grid_scope(row, col, rounds_of)
            if scope is not None and decision.code((name, *scope)) == sup.SECONDARY:
                out.loc[row, col] = sup.SECONDARY
    return out


def band_codes(decision: Decision | None, scope) -> list[int] | None:
    """Mask codes of the six change bands and their total (criterion 3's persons) of a scope, or None."""
    if decision is None or scope is None or ("band", 0, *scope) not in decision.codes:
        return None
    return [decision.code(("band", b, *scope)) for b in range(N_BANDS)] + [
        decision.code(("sc3_n", *scope), sup.SHOWN)]
