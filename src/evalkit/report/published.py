"""The tidy indicators table as the reports publish it: suppressed cell by cell (issue 11).

Each value is hidden exactly where a report hides it (SPEC section 5 and the
count grids of `evalkit.report.grids`): a person count as its municipality x round
grid shows it ('<5', 'x' or the number), a share, interval, median or mean
hidden ('x') when it is computed from 1-4 persons or when a count it rests on
is hidden in its grid; a hidden value has no verdict (met is empty).
"""

from __future__ import annotations

import pandas as pd

from evalkit.report import suppression as sup
from evalkit.report import tidy
from evalkit.report.cells import fmt_count, fmt_masked
from evalkit.report.context import ReportContext
from evalkit.report.format import HIDDEN
from evalkit.report.grids import PERSON_COUNTS, count_grid, s39_suppressed

# indicator -> the person counts (grids.PERSON_COUNTS) whose hidden grid cell hides it
SOURCES = {
    "n_cases": ("n_cases",),
    "sc1": ("sc1_n",),
    "sc2": ("survival_n", "survival_events"),
    "sc3": ("sc3_n",),
    "median_weeks": ("survival_n", "survival_events"),
    "mean_hours_change": ("sc3_n",),
    "follow_up_2": ("follow_up_n",),
    "step_up": ("step_up_n",),
}
N_COUNT = {"n_cases": "n_cases", "sc1": "sc1_n", "sc2": "survival_n", "sc3": "sc3_n", "median_weeks": "survival_n",
           "mean_hours_change": "sc3_n", "follow_up_2": "follow_up_n", "step_up": "step_up_n"}


def _own_rule(code: str, block: dict, threshold: int) -> bool:
    """True when the value is hidden by its own persons (before the count grids)."""
    if code in ("sc1", "sc3"):
        return sup.share_suppressed(block[code].get("k"), block[code]["n"], threshold)
    if code in ("sc2", "median_weeks"):
        return s39_suppressed(block["survival"], threshold)
    if code == "mean_hours_change":
        return sup.stat_suppressed(block["sc3"]["n"], threshold)
    if code == "follow_up_2":
        return sup.share_suppressed(block["follow_up"].get("n_2"), block["follow_up"]["n"], threshold)
    if code == "step_up":
        return sup.share_suppressed(block["step_up"].get("n_with_step_up"), block["step_up"]["n"], threshold)
    return False


class _Grids:
    """The count grids of a run (`grids.count_grid`, each built once per context), read as the reports read them."""

    def __init__(self, ctx: ReportContext, threshold: int):
        self.threshold = threshold
        self.grids = {name: count_grid(ctx, name, threshold) for name in PERSON_COUNTS}

    def _cell(self, name: str, m, r):
        counts, mask = self.grids[name]
        row, col = ("I alt" if m is None else m), ("I alt" if r is None else r)
        return counts.loc[row, col], mask.loc[row, col]

    def hidden(self, names, m, r) -> bool:
        """As `grids.count_hidden`: any of the counts hidden in its grid cell."""
        return any(self.grids[n] is not None and self._cell(n, m, r)[1] != sup.SHOWN for n in names)

    def count(self, name: str, m, r, value):
        """As `grids.count_text`, kept a number where shown: the count, '<5' or 'x' (None when there is none)."""
        if value is None:
            return None
        if self.grids[name] is None:
            text = fmt_count(value, self.threshold)
        else:
            text = fmt_masked(*self._cell(name, m, r), self.threshold)
        return text if text in (f"<{self.threshold}", HIDDEN) else int(value)


def published_table(ctx: ReportContext, threshold: int = sup.THRESHOLD) -> pd.DataFrame:
    """The tidy table of the report context `ctx` (context.build_context) as published."""
    grids = _Grids(ctx, threshold)
    by_round = {(m, r): u.indicators for (m, r), u in ctx.units.items() if r is not None}
    scoped = tidy.scoped_blocks(ctx.indicators, ctx.rounds_of, by_round)
    rows = []
    for scope, m, r, block in scoped:
        for code, f in tidy.indicator_fields(block).items():
            value = f["value"]
            hidden = value is not None and (
                _own_rule(code, block, threshold) or grids.hidden(SOURCES[code], m, r))
            n = grids.count(N_COUNT[code], m, r, f["n"])
            if code == "n_cases":
                value = n
            elif hidden:
                value = HIDDEN
            rows.append({"omfang": scope, "kommune": m, "runde": r, "indikator": code,
                         "betegnelse": tidy.INDICATORS[code][0], "værdi": value,
                         "ci_nedre": HIDDEN if hidden and f["ci_low"] is not None else f["ci_low"],
                         "ci_øvre": HIDDEN if hidden and f["ci_high"] is not None else f["ci_high"],
                         "n": n, "mål": f["target"], "opfyldt": None if hidden else f["met"]})
    frame = pd.DataFrame(rows, columns=tidy.COLUMNS, dtype=object)  # whole numbers stay whole
    frame["runde"] = frame["runde"].astype("Int64")
    return frame
