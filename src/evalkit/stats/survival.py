"""Time on ledighedsydelse to flexjob (SPEC section 3, success criterion 2).

Clock: weeks since benefit_start (days / 7, not rounded). Each case contributes
the interval (entry, time]: entry is the left truncation at project_entry, time
the valid flexjob's start (event) or min(exit_date, E) (censored). A case is at
risk at t when entry < t <= time, so a case entering at the moment of an event
is not at risk for it (R's survival rule).

Libraries and why:
- Kaplan-Meier: statsmodels `SurvfuncRight(time, status, entry)`, whose risk
  set is exactly #(entry < t) - #(time < t). lifelines' KaplanMeierFitter gives
  the same estimate (tests check it) but its event table counts entrants at t
  as at risk, and it raises StatError when the risk set empties early.
- Log-rank and Cox: statsmodels `PHReg` (Efron ties). PHReg counts a case whose
  entry equals an event time as at risk at that event; entries are therefore
  moved to the next float (`np.nextafter`), which is the rule entry < t.

Degenerate cases: time <= entry (e.g. a flexjob or exit on the day of project
entry, or benefit_start after E) are never at risk. `survival_data` keeps them
(they are in the SPEC population); every estimate here leaves them out, and
`SurvivalSummary.n` counts only cases ever at risk (`n_never_at_risk` the rest),
as R does with zero-length (start, stop] intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.spec import WEEK_39, Z
from evalkit.stats.status import valid_flexjob

CATEGORICAL_COVARIATES = ("round", "sex", "age_band", "municipality", "target_group", "caseworker_id")
CURVE_COLUMNS = ["weeks", "survival", "ci_low", "ci_high", "at_risk", "events"]


def _weeks(delta: pd.Series) -> pd.Series:
    """Timedeltas as weeks (days / 7, not rounded)."""
    return delta / pd.Timedelta(days=1) / 7.0


def survival_data(cases: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.DataFrame:
    """One row per case in the survival population: case_id, entry, time, event (weeks).

    Population: cases with benefit_start, except `fleksjob` cases whose flexjob
    started before project_entry. The index is the cases' index, so covariates
    can be joined with `cases.loc[data.index]`. Rows with time <= entry (never
    at risk) are kept here and left out by the estimators.
    """
    e = pd.Timestamp(extraction_date)
    employed_before = (cases["target_group"] == "fleksjob") & (cases["flexjob_start"] < cases["project_entry"])
    pop = cases[cases["benefit_start"].notna() & ~employed_before]
    event = valid_flexjob(pop, e)
    censor_at = pop["exit_date"].where(pop["exit_date"].notna() & (pop["exit_date"] < e), e)
    end = pop["flexjob_start"].where(event, censor_at)
    return pd.DataFrame(
        {
            "case_id": pop["case_id"],
            "entry": _weeks(pop["project_entry"] - pop["benefit_start"]).clip(lower=0.0).astype(float),
            "time": _weeks(end - pop["benefit_start"]).astype(float),
            "event": event.astype(bool),
        },
        index=pop.index,
    )


def _ever_at_risk(data: pd.DataFrame) -> pd.DataFrame:
    """Rows with entry < time: the cases that are at risk at some t."""
    return data[data["time"] > data["entry"]]


def _at_risk(entry: np.ndarray, time: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Number with entry < t <= time at each t (requires entry < time for every case)."""
    entered = np.searchsorted(np.sort(entry), t, side="left")  # entry < t
    left = np.searchsorted(np.sort(time), t, side="left")  # time < t
    return entered - left


def at_risk_at(data: pd.DataFrame, times) -> list[int]:
    """Numbers at risk (entry < t <= time) at the given weeks, e.g. for the row under a plot.

    At t = 0 this is 0 by the rule; the curve's t = 0 row gives the number
    that starts at the origin instead.
    """
    d = _ever_at_risk(data)
    t = np.asarray(list(times), dtype=float)
    return [int(x) for x in _at_risk(d["entry"].to_numpy(float), d["time"].to_numpy(float), t)]


def s39_missing_reason(entry: np.ndarray, time: np.ndarray) -> str | None:
    """Why S(39) cannot be estimated from these entry and exit weeks (SPEC's rule), or None when it can:
    no case at risk, none under observation before week 39, or the risk set empties before week 39."""
    if len(time) == 0:
        return "no cases at risk"
    if entry.min() >= WEEK_39:
        return "no case under observation before week 39"
    until = _estimable_until(entry, time)
    if until < WEEK_39:
        return f"risk set empty after week {until:.1f}, before week 39"
    return None


def _estimable_until(entry: np.ndarray, time: np.ndarray) -> float:
    """The first time after the first entry at which the risk set is empty (its start).

    Sorted by entry, the intervals (entry, time] cover (min entry, reach]; the
    cover breaks where the next entry lies beyond the reach so far. Beyond this
    point the Kaplan-Meier product is not identified.
    """
    order = np.argsort(entry, kind="stable")
    reach = np.maximum.accumulate(time[order])
    gaps = np.flatnonzero(entry[order][1:] > reach[:-1])
    return float(reach[gaps[0]] if gaps.size else reach[-1])


def _loglog_ci(s: np.ndarray, var_log: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95 % pointwise CI by log(-log S) with Greenwood's variance (R conf.type="log-log").

    exp(-exp(log(-log S) +/- z * se)), se = sqrt(Greenwood sum) / |log S|.
    S = 1 (no events yet) and S = 0 give NaN, as in R (survfit_confint sets
    p = 0 or 1 to NA before the transform: the interval is not defined there).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(s)
        se = np.sqrt(var_log) / np.abs(log_s)
        centre = np.log(-log_s)
        low = np.exp(-np.exp(centre + Z * se))
        high = np.exp(-np.exp(centre - Z * se))
    undefined = (s == 1.0) | (s == 0.0)
    low = np.where(undefined, np.nan, low)
    high = np.where(undefined, np.nan, high)
    return low, high


def kaplan_meier(data: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier curve with left truncation from `survival_data` rows.

    One row per distinct time (event or censoring) plus t = 0, up to the first
    time the risk set empties. Columns: weeks, survival (events at t included),
    ci_low, ci_high, at_risk (entry < t <= time; at t = 0 the cases starting at
    the origin), events. When nobody enters at 0 the curve is conditional on
    being on benefit at the first entry, as in R and lifelines.
    """
    d = _ever_at_risk(data)
    if d.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in CURVE_COLUMNS})
    entry, time = d["entry"].to_numpy(float), d["time"].to_numpy(float)
    event = d["event"].to_numpy(bool)
    keep = entry < _estimable_until(entry, time)
    entry, time, event = entry[keep], time[keep], event[keep]

    weeks = np.concatenate(([0.0], np.unique(time)))
    at_risk = _at_risk(entry, time, weeks)
    at_risk[0] = int(np.sum(entry <= 0.0))
    events = np.bincount(np.searchsorted(weeks, time[event]), minlength=len(weeks))

    survival = np.ones(len(weeks))
    var_log = np.zeros(len(weeks))
    if event.any():
        from statsmodels.duration.survfunc import SurvfuncRight  # imported when first needed: a report's
        # kernel unpickles survival summaries without paying for statsmodels

        km = SurvfuncRight(time, event.astype(float), entry=entry)
        n, dd = km.n_risk.astype(float), km.n_events.astype(float)
        with np.errstate(divide="ignore"):
            greenwood = np.cumsum(np.where(n > dd, dd / (n * (n - dd)), np.inf))
        # step functions: value at the last event time <= each curve time
        pos = np.searchsorted(km.surv_times, weeks, side="right") - 1
        has = pos >= 0
        survival[has] = km.surv_prob[pos[has]]
        var_log[has] = greenwood[pos[has]]
    ci_low, ci_high = _loglog_ci(survival, var_log)
    return pd.DataFrame(
        {
            "weeks": weeks,
            "survival": survival,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "at_risk": at_risk.astype(int),
            "events": events.astype(int),
        }
    )


def _num(x) -> float | int | None:
    """Plain Python number, None for missing, NaN or infinity."""
    if x is None:
        return None
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(eq=False)
class SurvivalSummary:
    """Time to flexjob: counts, S(39) with CI, at risk at 39, median, and the curve."""

    n: int
    events: int
    s39: float | None
    s39_ci_low: float | None
    s39_ci_high: float | None
    at_risk_39: int
    median_weeks: float | None
    s39_reason: str | None
    curve: pd.DataFrame = field(repr=False)
    n_never_at_risk: int = 0

    def to_json(self) -> dict:
        """The SPEC section 6 `survival` block: plain Python numbers, None for missing."""
        return {
            "n": int(self.n),
            "events": int(self.events),
            "s39": _num(self.s39),
            "s39_ci_low": _num(self.s39_ci_low),
            "s39_ci_high": _num(self.s39_ci_high),
            "at_risk_39": int(self.at_risk_39),
            "median_weeks": _num(self.median_weeks),
            "s39_reason": self.s39_reason,
        }


def summarise_survival(data: pd.DataFrame) -> SurvivalSummary:
    """S(39), its CI, at risk at 39 and the median from `survival_data` rows.

    S(39) is None, with the reason, when no case is at risk at 39 or the risk
    set empties at some time before 39 (after the first entry). The median is
    the smallest curve time with S <= 0.5, None when the curve never gets there.
    """
    d = _ever_at_risk(data)
    n, events = len(d), int(d["event"].sum())
    curve = kaplan_meier(d)
    entry, time = d["entry"].to_numpy(float), d["time"].to_numpy(float)
    at_risk_39 = int(np.sum((entry < WEEK_39) & (WEEK_39 <= time)))
    reason = s39_missing_reason(entry, time)
    s39 = low = high = None
    if reason is None:
        row = curve.iloc[int(np.searchsorted(curve["weeks"].to_numpy(), WEEK_39, side="right")) - 1]
        s39, low, high = float(row["survival"]), _num(row["ci_low"]), _num(row["ci_high"])
    below = curve.loc[curve["survival"] <= 0.5, "weeks"]
    return SurvivalSummary(
        n=n,
        events=events,
        s39=s39,
        s39_ci_low=low,
        s39_ci_high=high,
        at_risk_39=int(at_risk_39),
        median_weeks=float(below.iloc[0]) if len(below) else None,
        s39_reason=reason,
        curve=curve,
        n_never_at_risk=len(data) - n,
    )


def time_to_flexjob(cases: pd.DataFrame, extraction_date: pd.Timestamp) -> SurvivalSummary:
    """Success criterion 2: Kaplan-Meier with left truncation of time on benefit to flexjob."""
    return summarise_survival(survival_data(cases, extraction_date))


def _phreg(data: pd.DataFrame, exog: np.ndarray):
    """Cox model (statsmodels PHReg) with entry times (rule entry < t) and Efron ties."""
    from statsmodels.duration.hazard_regression import PHReg

    entry = np.nextafter(data["entry"].to_numpy(float), np.inf)
    return PHReg(
        data["time"].to_numpy(float),
        exog,
        status=data["event"].to_numpy(float),
        entry=entry,
        ties="efron",
    )


def logrank_test(cases: pd.DataFrame, extraction_date: pd.Timestamp, group_col: str) -> dict:
    """Log-rank test that respects left truncation: Cox score test at beta = 0, Efron ties.

    Groups enter as dummy variables; statistic = U' I^-1 U with U the score and
    I = -Hessian at beta = 0 (a generalised inverse; df = rank of I, which is
    groups - 1 unless a group is never at risk at an event). Fields are None,
    with `reason`, when fewer than two groups have cases or there is no event.
    """
    data = _ever_at_risk(survival_data(cases, extraction_date))
    groups = cases.loc[data.index, group_col]
    data = data[groups.notna()]
    groups = groups[groups.notna()]
    levels = _levels(groups)
    empty = {"statistic": None, "p_value": None, "df": None}
    if len(levels) < 2:
        return {**empty, "reason": f"fewer than two groups of {group_col} with cases"}
    if not data["event"].any():
        return {**empty, "reason": "no events"}
    exog = np.column_stack([(groups == g).to_numpy(float) for g in levels[1:]])
    model = _phreg(data, exog)
    beta0 = np.zeros(exog.shape[1])
    score = model.score(beta0)
    information = -model.hessian(beta0)
    df = int(np.linalg.matrix_rank(information))
    if df == 0:
        return {**empty, "reason": "no group contrast at any event"}
    statistic = float(score @ np.linalg.pinv(information) @ score)
    from scipy import stats

    return {"statistic": statistic, "p_value": float(stats.chi2.sf(statistic, df)), "df": df, "reason": None}


def _levels(x: pd.Series) -> list:
    """Distinct non-missing values in natural order (numbers numerically), else as text."""
    values = list(x.dropna().unique())
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _design(covs: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str, str | None]]]:
    """Dummies for categorical covariates (reference = first sorted level), numeric as is."""
    cols, terms = {}, []
    for name in covs.columns:
        x = covs[name]
        if name in CATEGORICAL_COVARIATES or not pd.api.types.is_numeric_dtype(x):
            levels = _levels(x)
            for level in levels[1:]:
                term = f"{name}={level}"
                cols[term] = (x == level).astype(float)
                terms.append((term, name, f"{name}={levels[0]}"))
        elif x.nunique() > 1:
            cols[name] = x.astype(float)
            terms.append((name, name, None))
    return pd.DataFrame(cols, index=covs.index), terms


def cox_model(cases: pd.DataFrame, extraction_date: pd.Timestamp, covariates: list[str]) -> pd.DataFrame:
    """Cox model of time to flexjob with entry times (Efron ties): hazard ratios, 95 % CI, p.

    Categorical covariates (round, sex, age_band, ...) become dummies against
    their first sorted level (`reference`); covariates absent from `cases` are
    skipped, rows with a missing covariate dropped. `attrs` hold n and events.
    """
    columns = ["term", "covariate", "reference", "hazard_ratio", "ci_low", "ci_high", "p_value"]
    data = _ever_at_risk(survival_data(cases, extraction_date))
    present = [c for c in covariates if c in cases.columns]
    covs = cases.loc[data.index, present].dropna()
    data = data.loc[covs.index]
    x, terms = _design(covs)
    out = pd.DataFrame(columns=columns)
    if x.shape[1] and data["event"].any():
        fit = _phreg(data, x.to_numpy(float)).fit()
        ci = np.asarray(fit.conf_int(alpha=0.05))
        out = pd.DataFrame(
            {
                "term": [t[0] for t in terms],
                "covariate": [t[1] for t in terms],
                "reference": [t[2] for t in terms],
                "hazard_ratio": np.exp(fit.params),
                "ci_low": np.exp(ci[:, 0]),
                "ci_high": np.exp(ci[:, 1]),
                "p_value": np.asarray(fit.pvalues, dtype=float),
            }
        )
    out.attrs.update(n=len(data), events=int(data["event"].sum()))
    return out


def cox_by_round(ds, sdata: pd.DataFrame) -> dict:
    """Cox model of time to flexjob by round, adjusted for the covariates present, with level counts."""
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
