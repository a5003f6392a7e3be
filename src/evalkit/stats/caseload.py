"""Caseloads and caseload-versus-outcome regressions (SPEC section 3, "Caseload").

A caseworker's caseload on day d is the number of their cases with
project_entry <= d and no exit_date <= d. A case's caseload is its caseworker's
mean caseload over the first day of each month of the case's round span
(dataset.yml), or, without rounds, of every month from the first project_entry
to E. Month starts after E are not used (nothing is known about them).

Caseloads always come from the full dataset: compute them once with
`case_caseloads(all_cases, ...)` and pass them to the regressions of a selection.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evalkit.spec import WEEK_39
from evalkit.stats.progression import progression_table
from evalkit.stats.status import valid_flexjob

FLEXJOB_DAYS = int(WEEK_39 * 7)  # 273 days
CONTROLS = ("age_band", "sex", "round")
MIN_CASES = 20
MIN_CASEWORKERS = 5  # clusters; fewer make clustered standard errors meaningless
_NO_CONVERGENCE = "model did not converge (outcome perfectly or almost perfectly predicted: separation)"


def _spans(cases: pd.DataFrame, extraction_date: pd.Timestamp, rounds: dict | None) -> tuple[pd.Series, pd.Series]:
    """Each case's (start, end) span: its round's span capped at E, else first project_entry to E."""
    e = pd.Timestamp(extraction_date)
    fallback_start = cases["project_entry"].min()
    start = pd.Series(fallback_start, index=cases.index, dtype="datetime64[ns]")
    end = pd.Series(e, index=cases.index, dtype="datetime64[ns]")
    for r, (r_start, r_end) in (rounds or {}).items():
        in_round = cases["round"] == r
        start = start.mask(in_round, pd.Timestamp(r_start))
        end = end.mask(in_round, min(pd.Timestamp(r_end), e))
    return start, end


def case_caseloads(cases: pd.DataFrame, extraction_date: pd.Timestamp, rounds: dict | None = None) -> pd.Series:
    """Each case's caseload (index case_id): its caseworker's mean caseload over the case's span.

    Vectorised: the caseload of every caseworker on every month start is a
    cumulative sum of +1 at entry and -1 at exit; a case's mean is a difference of
    prefix sums over the month starts of its span. NaN when the span holds no
    first day of a month.
    """
    if cases.empty:
        return pd.Series(dtype=float, name="caseload", index=pd.Index([], name="case_id"))
    start, end = _spans(cases, extraction_date, rounds)
    # every first day of a month inside any span, sorted
    spans = pd.DataFrame({"start": start, "end": end}).drop_duplicates()
    dates = pd.DatetimeIndex(sorted({
        d for s, t in zip(spans["start"], spans["end"]) for d in pd.date_range(s, t, freq="MS")
    }))
    worker, _ = pd.factorize(cases["caseworker_id"], sort=True)
    n_workers, n_dates = worker.max() + 1, len(dates)
    def ns(values) -> np.ndarray:
        return np.asarray(values, dtype="datetime64[ns]")

    d = ns(dates)
    # a case counts on dates[j] for j >= entry_pos (entry <= date) and stops for j >= exit_pos (exit <= date)
    entry_pos = np.searchsorted(d, ns(cases["project_entry"]), side="left")
    has_exit = cases["exit_date"].notna().values
    exit_pos = np.searchsorted(d, ns(cases["exit_date"])[has_exit], side="left")
    delta = np.zeros((n_workers, n_dates + 1))
    np.add.at(delta, (worker, entry_pos), 1)
    np.add.at(delta, (worker[has_exit], exit_pos), -1)
    load = np.cumsum(delta, axis=1)[:, :n_dates]
    prefix = np.concatenate([np.zeros((n_workers, 1)), np.cumsum(load, axis=1)], axis=1)
    i0 = np.searchsorted(d, ns(start), side="left")
    i1 = np.searchsorted(d, ns(end), side="right")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (prefix[worker, i1] - prefix[worker, i0]) / (i1 - i0)
    mean = np.where(i1 > i0, mean, np.nan)
    return pd.Series(mean, index=pd.Index(cases["case_id"], name="case_id"), name="caseload")


def caseworker_caseloads(
    cases: pd.DataFrame, extraction_date: pd.Timestamp, rounds: dict | None = None, caseloads: pd.Series | None = None
) -> pd.DataFrame:
    """Per caseworker, municipality and round: mean caseload, cases, and share of
    ledighedsydelse cases with a valid flexjob (success criterion 1), for the scatter plot."""
    if caseloads is None:
        caseloads = case_caseloads(cases, extraction_date, rounds)
    ledig = cases["target_group"] == "ledighedsydelse"
    frame = pd.DataFrame({
        "caseworker_id": cases["caseworker_id"],
        "municipality": cases["municipality"],
        "round": cases["round"],
        "caseload": cases["case_id"].map(caseloads),
        "ledighedsydelse": ledig,
        "flexjob": ledig & valid_flexjob(cases, extraction_date),
    })
    out = frame.groupby(["caseworker_id", "municipality", "round"], sort=True).agg(
        caseload=("caseload", "mean"),
        n_cases=("caseload", "size"),
        n_ledighedsydelse=("ledighedsydelse", "sum"),
        n_flexjob=("flexjob", "sum"),
    ).reset_index()
    out["share_flexjob"] = out["n_flexjob"] / out["n_ledighedsydelse"].where(out["n_ledighedsydelse"] > 0)
    return out


def regression_frame(
    cases: pd.DataFrame,
    hours: pd.DataFrame,
    extraction_date: pd.Timestamp,
    caseloads: pd.Series,
    outcome: str,
    progression: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The cases of one regression with columns case_id, caseworker_id, caseload, y and the controls.

    flexjob_39w: cases outside target group fleksjob; y = 1 when a valid flexjob
    started within 273 days of project_entry; included when y = 1 or the case was
    followed 273 days (min(exit_date, E) - project_entry >= 273 days).
    hours_change: the cases eligible for success criterion 3; y = their change
    (`progression` may pass their already computed progression_table).
    """
    e = pd.Timestamp(extraction_date)
    controls = [c for c in CONTROLS if c in cases]
    if outcome == "flexjob_39w":
        c = cases[cases["target_group"] != "fleksjob"]
        days_to_flexjob = (c["flexjob_start"] - c["project_entry"]).dt.days
        y = (valid_flexjob(c, e) & (days_to_flexjob <= FLEXJOB_DAYS)).astype(int)
        followed = (c["exit_date"].fillna(e).clip(upper=e) - c["project_entry"]).dt.days
        keep = (y == 1) | (followed >= FLEXJOB_DAYS)
        frame = c.loc[keep, ["case_id", "caseworker_id", *controls]].assign(y=y[keep])
    elif outcome == "hours_change":
        table = progression_table(cases, hours, e) if progression is None else progression
        frame = cases[["case_id", "caseworker_id", *controls]].merge(
            table[["case_id", "change"]].rename(columns={"change": "y"}), on="case_id"
        )
    else:
        raise ValueError(f"unknown outcome {outcome!r}")
    frame = frame.assign(caseload=frame["case_id"].map(caseloads).astype(float),
                         **{c: as_levels(frame[c]) for c in controls})
    return frame.reset_index(drop=True)


def _not_estimable(n: int, reason: str, n_caseworkers: int = 0) -> dict:
    return {"slope": None, "ci_low": None, "ci_high": None, "p_value": None,
            "n": int(n), "n_caseworkers": int(n_caseworkers), "reason": reason}


def as_levels(values: pd.Series) -> pd.Series:
    """A control as a categorical of text levels (sorted); missing is a level of its own."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    return values.astype(str).where(values.notna(), "(mangler)").astype("category")


def _codes(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, pd.Index] | None:
    """Level codes and level names of a control, None when the column is absent."""
    if col not in frame:
        return None
    levels = as_levels(frame[col])
    return levels.cat.codes.to_numpy(), levels.cat.categories


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    """Constant, caseload and treatment dummies (first level present = reference) of every varying control."""
    columns = {"const": np.ones(len(frame)), "caseload": frame["caseload"].to_numpy(float)}
    for col in CONTROLS:
        coded = _codes(frame, col)
        if coded is None:
            continue
        codes, names = coded
        for j in np.unique(codes)[1:]:
            columns[f"{col}[{names[j]}]"] = (codes == j).astype(float)
    return pd.DataFrame(columns, index=frame.index)


def _drop_separated_levels(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop cases in control levels whose outcome never varies (they predict y perfectly;
    Stata's logit does the same), so the caseload slope stays estimable."""
    while True:
        before = len(frame)
        for col in CONTROLS:
            coded = _codes(frame, col)
            if coded is None:
                continue
            codes = coded[0]
            with np.errstate(invalid="ignore"):
                share = np.bincount(codes, weights=frame["y"].to_numpy(float)) / np.bincount(codes)
            frame = frame[(share[codes] > 0) & (share[codes] < 1)]
        if len(frame) == before:
            return frame


def fit_caseload_model(frame: pd.DataFrame, kind: str) -> dict:
    """Fit y on caseload plus controls (kind "logit" or "ols"), SEs clustered by caseworker.

    Returns {slope, ci_low, ci_high, p_value, n, n_caseworkers}; the slope is per one
    case of caseload (log-odds for the logit). When the model cannot be estimated the
    numbers are None and "reason" says why. The logit uses normal intervals, the OLS
    t with (caseworkers - 1) degrees of freedom, as Stata's cluster option does.
    """
    frame = frame[frame["caseload"].notna() & frame["y"].notna()]
    if kind == "logit":
        if frame["y"].nunique() < 2:
            return _not_estimable(len(frame), "outcome does not vary", frame["caseworker_id"].nunique())
        frame = _drop_separated_levels(frame)
    n, n_clusters = len(frame), frame["caseworker_id"].nunique()
    if n < MIN_CASES:
        return _not_estimable(n, f"too few cases (fewer than {MIN_CASES})", n_clusters)
    if n_clusters < MIN_CASEWORKERS:
        return _not_estimable(n, f"too few caseworkers (fewer than {MIN_CASEWORKERS})", n_clusters)
    if frame["y"].nunique() < 2:
        return _not_estimable(n, "outcome does not vary", n_clusters)
    if frame["caseload"].nunique() < 2:
        return _not_estimable(n, "caseload does not vary", n_clusters)
    X = _design(frame)
    if np.linalg.matrix_rank(X.values) < X.shape[1]:
        return _not_estimable(n, "caseload is collinear with the controls", n_clusters)
    groups = pd.factorize(frame["caseworker_id"], sort=True)[0]
    cluster = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    y = frame["y"].astype(float).values
    import statsmodels.api as sm  # here, not at the top: a report's kernel imports this module without fitting
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", HessianInversionWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            if kind == "logit":
                res = sm.Logit(y, X).fit(disp=0, maxiter=100, **cluster)
                if not res.mle_retvals.get("converged", True):
                    return _not_estimable(n, _NO_CONVERGENCE, n_clusters)
            else:
                res = sm.OLS(y, X).fit(use_t=True, **cluster)
        except (PerfectSeparationError, PerfectSeparationWarning):
            return _not_estimable(n, "perfect separation", n_clusters)
        except (ConvergenceWarning, HessianInversionWarning, np.linalg.LinAlgError):
            return _not_estimable(n, _NO_CONVERGENCE, n_clusters)
    slope = float(res.params["caseload"])
    low, high = (float(v) for v in res.conf_int().loc["caseload"])
    p_value = float(res.pvalues["caseload"])
    if not all(np.isfinite([slope, low, high, p_value])):
        return _not_estimable(n, "standard error not finite", n_clusters)
    return {"slope": slope, "ci_low": low, "ci_high": high, "p_value": p_value,
            "n": int(n), "n_caseworkers": int(n_clusters)}


def caseload_regressions(
    cases: pd.DataFrame,
    hours: pd.DataFrame,
    extraction_date: pd.Timestamp,
    rounds: dict | None = None,
    caseloads: pd.Series | None = None,
) -> dict:
    """{"flexjob_39w": logit result, "hours_change": OLS result} for these cases.

    `caseloads` (per case_id) should come from the full dataset; when omitted they
    are computed from `cases` themselves.
    """
    if caseloads is None:
        caseloads = case_caseloads(cases, extraction_date, rounds)
    return {
        "flexjob_39w": fit_caseload_model(regression_frame(cases, hours, extraction_date, caseloads, "flexjob_39w"), "logit"),
        "hours_change": fit_caseload_model(regression_frame(cases, hours, extraction_date, caseloads, "hours_change"), "ols"),
    }


def caseworker_points(frame: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """Per caseworker: municipality, mean caseload, number of cases n, outcome sum k and mean."""
    if frame.empty:
        return pd.DataFrame(columns=["caseworker_id", "municipality", "caseload", "n", "k", "mean"])
    home = cases.groupby("caseworker_id")["municipality"].agg(lambda s: s.mode().iloc[0])
    f = frame[frame["caseload"].notna()]
    out = f.groupby("caseworker_id").agg(caseload=("caseload", "mean"), n=("y", "size"), k=("y", "sum"),
                                         mean=("y", "mean")).reset_index()
    out["municipality"] = out["caseworker_id"].map(home)
    return out


def weighted_line(points: pd.DataFrame) -> tuple[float, float] | None:
    """Intercept and slope of the least-squares line of caseworker means on caseload, weighted by cases."""
    p = points.dropna(subset=["caseload", "mean"])
    if len(p) < 3 or p["caseload"].nunique() < 2:
        return None
    slope, intercept = np.polyfit(p["caseload"], p["mean"], 1, w=np.sqrt(p["n"]))
    return float(intercept), float(slope)
