"""Synthetic, realistic sample data for "Udvikling i fleksjob II" (`evalkit sample`).

Writes a dataset folder in the SPEC section 1 format (dataset.yml, cases.csv,
hours.csv, contacts.csv, goals.csv) so the whole toolchain can be run and
tested without real case data. Nothing here describes real persons: every value
is drawn from a numpy Generator seeded with `seed`, so the same seed gives the
same bytes.

Generating assumptions (one course per citizen; weeks = days / 7):

* Municipalities and rounds. `sample`: the 19 project municipalities of
  DOMAIN.md with fixed sizes (round 1: 1,607 citizens, round 2: 1,630; Stevns
  and Lemvig small, Viborg and København large). `national`: all 98 Danish
  municipalities, the 19 in their rounds and the other 79 split at random over
  the two rounds, sizes from lognormal weights (the four big cities larger, the
  small islands smaller), about 60,000 citizens. Each municipality gets a
  flexjob-hazard multiplier (lognormal, sd 0.25), a conversation interval
  (7-21 days) and a channel mix.
* project_entry falls in the round's span: 60 % in its first 120 days, the
  rest uniform over the span except its last 60 days.
* Caseworkers: max(3, round(n / 55)) per municipality (at most 12 at sample
  scale). Each has a nominal list size (weight uniform 0.5-1.5) and cases are
  allocated in proportion, so caseloads differ (measured per SPEC about 15-55).
* Target groups: rehab 20 %, ledighedsydelse 50 %, fleksjob 30 %. Sex K 55 %;
  age bands 18-29 10 %, 30-39 18 %, 40-49 27 %, 50-59 33 %, 60+ 12 %.
* ledighedsydelse: benefit_start before project_entry (left truncation): 50 %
  0-6 months, 25 % 6-12 months, 25 % 1-4 years before.
* rehab: the rehab meeting comes 14 days + Exp(mean 100 days) after entry;
  85 % are granted a flexjob and go on ledighedsydelse from the meeting
  (benefit_start), 15 % leave the project then (exit_reason "andet").
* fleksjob: already employed in a small flexjob at entry; flexjob_start
  20 days + Exp(mean 500 days) before entry; 55 % have an old, ended benefit
  spell (benefit_start 30-730 days before flexjob_start), the rest none.
* Time to flexjob on ledighedsydelse: Weibull cumulative hazard
  H(t) = m (t / 170)^0.7 in weeks since benefit_start (a weekly hazard that
  declines with duration), drawn conditionally on being on benefit at entry.
  m multiplies the municipality effect, round 2 x 1.3, age (60+ x 0.65,
  50-59 x 0.9, under 40 x 1.1), an individual frailty (lognormal, sd 0.3) and
  the caseload effect exp(-0.03 (n_cw - 55)), n_cw = cases allocated to the
  case's caseworker: larger caseloads, fewer and later flexjobs.
* Exits (sygdom, pension, flyttet, andet; pension more likely at 60+) at 12 %
  a year from entry. A flexjob after the exit is not written.
* Censoring at extraction_date E = 2021-12-31: no exit, benefit_start or hours
  after E; 2 % of the flexjobs that would start within 120 days after E are
  written anyway (indicators must ignore them).
* hours.csv: a monthly row from the month of flexjob_start (fleksjob cases:
  the month of entry, for 30 % up to 3 months earlier) to the month of exit or
  E. Effective hours start at 2-10 (0.5 steps, mean about 4.4) for all
  fleksjob cases and 82 % of new flexjobs, else 10.5-30.5; attended hours are
  0-6 above. Progression: attended hours rise after a geometric number of
  months (2.2 % a month, x 1.5 in round 2, x exp(-0.02 (n_cw - 55))), effective
  hours follow 2-8 months later by 1-4 hours; 6 % lose 1-2 hours once;
  attended hours wobble by +0.5 in 10 % of months. 0 <= effective <= attended
  <= 37.
* contacts.csv: samtale every interval days (municipality interval x
  lognormal sd 0.3, jittered) while on ledighedsydelse in the project; monthly
  samtale before the rehab meeting; opfølgning within 182 days of a flexjob
  started in the project (round 1: mean about 3.9, round 2: about 2.2, some
  none; mostly virksomhedsbesøg); about quarterly opfølgning for fleksjob
  cases; step_up 26-30 weeks after the start of benefit in the project for
  40-90 % (by municipality) of those still without flexjob.
* goals.csv: weekly Målstyring rows for a few teams (3 at sample scale, 12
  nationally) of 4-6 caseworkers over their round: virksomhedskontakter,
  jobåbninger, ansættelser, opfølgninger; realised ~ Poisson(target x
  employee performance), low in holiday weeks.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import InputError
from evalkit.iorw import staged_folder
from evalkit.spec import AGE_BANDS, TARGET_GROUPS

DEFAULT_SEED = 20211231
EXTRACTION_DATE = "2021-12-31"
ROUNDS = {1: ("2019-04-01", "2020-09-30"), 2: ("2020-10-01", "2021-12-31")}
NATIONAL_CASES = 60_000

# The 19 project municipalities (DOMAIN.md): round and number of citizens at sample scale.
PROJECT_MUNICIPALITIES = {
    "Albertslund": (1, 130), "Ballerup": (1, 190), "Faxe": (1, 140),
    "Frederikshavn": (1, 230), "Gentofte": (1, 150), "Stevns": (1, 60),
    "Thisted": (1, 160), "Tønder": (1, 137), "Viborg": (1, 410),
    "Glostrup": (2, 90), "Helsingør": (2, 190), "Herlev": (2, 100),
    "Hvidovre": (2, 170), "København": (2, 400), "Lemvig": (2, 60),
    "Middelfart": (2, 120), "Nordfyn": (2, 90), "Odense": (2, 300),
    "Vejen": (2, 110),
}  # fmt: skip

# All 98 Danish municipalities (by region).
DANISH_MUNICIPALITIES = (
    # Hovedstaden
    "Albertslund", "Allerød", "Ballerup", "Bornholm", "Brøndby", "Dragør", "Egedal",
    "Fredensborg", "Frederiksberg", "Frederikssund", "Furesø", "Gentofte", "Gladsaxe",
    "Glostrup", "Gribskov", "Halsnæs", "Helsingør", "Herlev", "Hillerød", "Hvidovre",
    "Høje-Taastrup", "Hørsholm", "Ishøj", "København", "Lyngby-Taarbæk", "Rudersdal",
    "Rødovre", "Tårnby", "Vallensbæk",
    # Sjælland
    "Faxe", "Greve", "Guldborgsund", "Holbæk", "Kalundborg", "Køge", "Lejre", "Lolland",
    "Næstved", "Odsherred", "Ringsted", "Roskilde", "Slagelse", "Solrød", "Sorø",
    "Stevns", "Vordingborg",
    # Syddanmark
    "Assens", "Billund", "Esbjerg", "Fanø", "Fredericia", "Faaborg-Midtfyn", "Haderslev",
    "Kerteminde", "Kolding", "Langeland", "Middelfart", "Nordfyn", "Nyborg", "Odense",
    "Svendborg", "Sønderborg", "Tønder", "Varde", "Vejen", "Vejle", "Ærø", "Aabenraa",
    # Midtjylland
    "Favrskov", "Hedensted", "Herning", "Holstebro", "Horsens", "Ikast-Brande", "Lemvig",
    "Norddjurs", "Odder", "Randers", "Ringkøbing-Skjern", "Samsø", "Silkeborg",
    "Skanderborg", "Skive", "Struer", "Syddjurs", "Viborg", "Aarhus",
    # Nordjylland
    "Brønderslev", "Frederikshavn", "Hjørring", "Jammerbugt", "Læsø", "Mariagerfjord",
    "Morsø", "Rebild", "Thisted", "Vesthimmerland", "Aalborg",
)  # fmt: skip
_SIZE_FACTOR = {"København": 8.0, "Aarhus": 5.0, "Aalborg": 3.5, "Odense": 3.5,
                "Læsø": 0.1, "Fanø": 0.15, "Samsø": 0.15, "Ærø": 0.2}  # fmt: skip

EXIT_REASONS = ("sygdom", "pension", "flyttet", "andet")
GOAL_INDICATORS = {"virksomhedskontakter": 10, "jobåbninger": 3, "ansættelser": 1, "opfølgninger": 4}

# Time to flexjob: H(t) = m (t / LAMBDA_WEEKS)^WEIBULL_SHAPE, t in weeks since benefit_start.
WEIBULL_SHAPE = 0.7
LAMBDA_WEEKS = 170.0
CASES_PER_CASEWORKER = 55  # mean cases allocated to a caseworker
CASELOAD_SLOPE = -0.03  # log flexjob hazard per allocated case above CASES_PER_CASEWORKER
ROUND2_HAZARD = 1.3
EXIT_RATE_PER_YEAR = 0.12

_DATASET_FILES = {"dataset.yml", "cases.csv", "hours.csv", "contacts.csv", "goals.csv", ".gitkeep"}


def _day(text: str) -> float:
    """Days since 1970-01-01 of an ISO date (float, so NaN can mark a missing date)."""
    return float(np.datetime64(text, "D").astype(np.int64))


def _month(days: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01) of day numbers."""
    return days.astype(np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _date_text(days: np.ndarray) -> np.ndarray:
    """ISO date strings of day numbers; '' where the day is NaN."""
    out = np.full(len(days), "", dtype=object)
    ok = ~np.isnan(days)
    out[ok] = np.datetime_as_string(days[ok].astype(np.int64).astype("datetime64[D]"), unit="D")
    return out


def _municipalities(scale: str, rng: np.random.Generator) -> pd.DataFrame:
    """One row per municipality: name, round, n_cases and its own parameters."""
    if scale == "sample":
        names = list(PROJECT_MUNICIPALITIES)
        rounds = np.array([PROJECT_MUNICIPALITIES[m][0] for m in names])
        sizes = np.array([PROJECT_MUNICIPALITIES[m][1] for m in names])
    elif scale == "national":
        names = list(DANISH_MUNICIPALITIES)
        other_round = rng.permutation(np.arange(len(names)) % 2 + 1)
        rounds = np.array([PROJECT_MUNICIPALITIES.get(m, (r, 0))[0] for m, r in zip(names, other_round)])
        weights = rng.lognormal(0.0, 0.6, len(names)) * np.array([_SIZE_FACTOR.get(m, 1.0) for m in names])
        sizes = np.maximum(rng.multinomial(NATIONAL_CASES, weights / weights.sum()), 15)
    else:
        raise ValueError(f"unknown scale {scale!r}: use 'sample' or 'national'")
    k = len(names)
    telefon = rng.uniform(0.45, 0.75, k)
    fysisk = (1 - telefon) * rng.uniform(0.5, 0.8, k)
    return pd.DataFrame(
        {
            "municipality": names,
            "round": rounds,
            "n_cases": sizes,
            "hazard": rng.lognormal(0.0, 0.25, k),
            "interval": rng.choice([7.0, 10.0, 14.0, 21.0], k),
            "p_telefon": telefon,
            "p_fysisk": fysisk,
            "p_step_up": rng.uniform(0.4, 0.9, k),
        }
    )


def _categorical(rng: np.random.Generator, values, p, n: int) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _simulate_cases(munis: pd.DataFrame, scale: str, rng: np.random.Generator) -> pd.DataFrame:
    """One row per citizen with day numbers (NaN = missing) and internal columns."""
    E = _day(EXTRACTION_DATE)
    sizes = munis["n_cases"].to_numpy()
    n = int(sizes.sum())
    mi = np.repeat(np.arange(len(munis)), sizes)
    rnd = munis["round"].to_numpy()[mi]
    r_start = np.where(rnd == 1, _day(ROUNDS[1][0]), _day(ROUNDS[2][0]))
    r_end = np.where(rnd == 1, _day(ROUNDS[1][1]), _day(ROUNDS[2][1]))

    # Caseworkers: a nominal list size per caseworker, cases allocated in proportion.
    cw_of_case = np.empty(n, dtype=np.int64)
    n_cw_total = 0
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for size, start in zip(sizes, first):
        k = max(3, round(size / CASES_PER_CASEWORKER))
        if scale == "sample":
            k = min(k, 12)
        w = rng.uniform(0.5, 1.5, k)
        cw_of_case[start : start + size] = n_cw_total + rng.choice(k, size=size, p=w / w.sum())
        n_cw_total += k
    cw_ids = np.array([f"JF{i:04d}" for i in rng.choice(9999, n_cw_total, replace=False) + 1], dtype=object)
    n_cw = np.bincount(cw_of_case, minlength=n_cw_total)[cw_of_case]

    early = rng.random(n) < 0.6
    offset = np.where(early, rng.uniform(0, 120, n), rng.uniform(0, 1, n) * (r_end - r_start - 60))
    entry = r_start + np.floor(offset)

    group = _categorical(rng, TARGET_GROUPS, [0.2, 0.5, 0.3], n)
    sex = _categorical(rng, ("K", "M"), [0.55, 0.45], n)
    age = _categorical(rng, AGE_BANDS, [0.10, 0.18, 0.27, 0.33, 0.12], n)
    old = age == "60+"

    # Exit from the project (competing with the flexjob), reason by age.
    exit_ = entry + np.floor(rng.exponential(365.25 / EXIT_RATE_PER_YEAR, n))
    reason = np.where(
        old,
        _categorical(rng, EXIT_REASONS, [0.25, 0.5, 0.05, 0.2], n),
        _categorical(rng, EXIT_REASONS, [0.35, 0.2, 0.15, 0.3], n),
    )

    benefit = np.full(n, np.nan)
    flex = np.full(n, np.nan)
    is_ly = group == "ledighedsydelse"
    is_rehab = group == "rehab"
    is_fj = group == "fleksjob"

    # ledighedsydelse: the spell began before entry (left truncation).
    u = rng.random(n)
    lag = np.select([u < 0.5, u < 0.75], [rng.uniform(0, 182, n), rng.uniform(182, 365, n)], rng.uniform(365, 1461, n))
    benefit[is_ly] = entry[is_ly] - np.floor(lag[is_ly])

    # rehab: the rehab meeting; granted -> on ledighedsydelse from then, else leaves.
    meeting = entry + 14 + np.floor(rng.exponential(100, n))
    reached = is_rehab & (meeting < exit_) & (meeting <= E)
    granted = rng.random(n) < 0.85
    benefit[reached & granted] = meeting[reached & granted]
    refused = reached & ~granted
    exit_[refused] = meeting[refused]
    reason[refused] = "andet"

    # fleksjob: already in a small flexjob at entry; maybe an old, ended benefit spell.
    flex[is_fj] = entry[is_fj] - np.floor(20 + np.minimum(rng.exponential(500, n), 3650))[is_fj]
    old_spell = is_fj & (rng.random(n) < 0.55)
    benefit[old_spell] = flex[old_spell] - np.floor(rng.uniform(30, 730, n))[old_spell]

    # Time to flexjob from benefit_start, conditional on being on benefit at max(entry, benefit_start).
    at_risk = (is_ly | is_rehab) & ~np.isnan(benefit)
    age_mult = pd.Series(age).map({"18-29": 1.1, "30-39": 1.1, "40-49": 1.0, "50-59": 0.9, "60+": 0.65}).to_numpy()
    m = (
        munis["hazard"].to_numpy()[mi]
        * np.where(rnd == 2, ROUND2_HAZARD, 1.0)
        * age_mult
        * rng.lognormal(0.0, 0.3, n)
        * np.exp(CASELOAD_SLOPE * (n_cw - CASES_PER_CASEWORKER))
    )
    a = np.maximum(entry - np.nan_to_num(benefit, nan=0.0), 0.0) / 7.0
    t = LAMBDA_WEEKS * ((a / LAMBDA_WEEKS) ** WEIBULL_SHAPE + rng.exponential(1.0, n) / m) ** (1 / WEIBULL_SHAPE)
    new_flex = np.nan_to_num(benefit, nan=0.0) + np.ceil(t * 7.0)
    late_kept = (new_flex > E) & (new_flex <= E + 120) & (rng.random(n) < 0.02)
    keep = at_risk & (new_flex <= exit_) & ((new_flex <= E) | late_kept)
    flex[keep] = new_flex[keep]

    # Censoring at E: nothing after the extraction date (except the rare late flexjob).
    exit_[exit_ > E] = np.nan
    reason[np.isnan(exit_)] = ""

    return pd.DataFrame(
        {
            "case_id": np.array([f"C{i:06d}" for i in rng.choice(999_999, n, replace=False) + 1], dtype=object),
            "municipality": munis["municipality"].to_numpy()[mi],
            "round": rnd,
            "caseworker_id": cw_ids[cw_of_case],
            "target_group": group,
            "project_entry": entry,
            "benefit_start": benefit,
            "flexjob_start": flex,
            "exit_date": exit_,
            "exit_reason": reason,
            "sex": sex,
            "age_band": age,
            # internal, not written
            "_mi": mi,
            "_cw": cw_of_case,
            "_n_cw": n_cw,
            "_meeting": np.where(is_rehab, meeting, np.nan),
        }
    )


def _simulate_hours(cases: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Monthly effective and attended hours of every citizen in a valid flexjob."""
    E = _day(EXTRACTION_DATE)
    flex = cases["flexjob_start"].to_numpy()
    exit_ = cases["exit_date"].to_numpy()
    entry = cases["project_entry"].to_numpy()
    fj = (cases["target_group"] == "fleksjob").to_numpy()
    has = ~np.isnan(flex) & (flex <= E)
    idx = np.flatnonzero(has)
    k = len(idx)
    fj_k = fj[idx]
    flex_m = _month(flex[idx])
    entry_m = _month(entry[idx])
    pre = np.where(rng.random(k) < 0.3, rng.integers(1, 4, k), 0)
    start_m = np.where(fj_k, np.maximum(entry_m - pre, flex_m), flex_m)
    end_m = _month(np.fmin(np.nan_to_num(exit_[idx], nan=E), E))
    n_months = (end_m - start_m + 1).astype(np.int64)

    small = fj_k | (rng.random(k) < 0.82)
    eff0 = np.where(small, 2 + 0.5 * rng.binomial(16, 0.3, k), 10.5 + 0.5 * rng.binomial(40, 0.35, k))
    att0 = np.minimum(eff0 + 0.5 * rng.binomial(12, 0.35, k), 37.0)
    round2 = cases["round"].to_numpy()[idx] == 2
    p_prog = 0.022 * np.where(round2, 1.5, 1.0) * np.exp(-0.02 * (cases["_n_cw"].to_numpy()[idx] - CASES_PER_CASEWORKER))
    rise_att = rng.geometric(np.minimum(p_prog, 1.0), k) - 1  # month (from the first row) attended hours rise
    rise_eff = rise_att + 2 + rng.binomial(6, 0.5, k)  # effective hours follow months later
    step_eff = 1 + 0.5 * rng.binomial(6, 0.4, k)
    step_att = step_eff + 0.5 * rng.binomial(4, 0.5, k)
    drop = np.where(rng.random(k) < 0.06, 1 + 0.5 * rng.binomial(2, 0.5, k), 0.0)
    drop_at = np.floor(rng.uniform(0, 1, k) * n_months)

    rep = np.repeat(np.arange(k), n_months)
    j = np.arange(n_months.sum()) - np.repeat(np.cumsum(n_months) - n_months, n_months)
    eff = eff0[rep] + step_eff[rep] * (j >= rise_eff[rep]) - drop[rep] * (j >= drop_at[rep])
    eff = np.clip(eff, 0.0, 37.0)
    att = att0[rep] + step_att[rep] * (j >= rise_att[rep]) - drop[rep] * (j >= drop_at[rep])
    att = att + 0.5 * (rng.random(len(rep)) < 0.1)
    att = np.clip(np.maximum(att, eff), 0.0, 37.0)
    months = (start_m[rep] + j).astype("datetime64[M]").astype("datetime64[D]")
    return pd.DataFrame(
        {
            "case_id": cases["case_id"].to_numpy()[idx][rep],
            "month": np.datetime_as_string(months, unit="D"),
            "effective_hours": eff,
            "attended_hours": att,
        }
    )


def _spread(rng, idx, start, end, interval, jitter=0.3):
    """Roughly regular dates in [start, end), one per `interval` days: (case index, day)."""
    n = np.maximum(np.floor((end - start) / interval), 0).astype(np.int64)
    rep = np.repeat(np.arange(len(idx)), n)
    j = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    day = start[rep] + (j + 0.5 + rng.uniform(-jitter, jitter, len(rep))) * interval[rep]
    return idx[rep], np.floor(day)


def _simulate_contacts(cases: pd.DataFrame, munis: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Conversations, follow-ups and Step Up reviews (SPEC contacts)."""
    E = _day(EXTRACTION_DATE)
    n = len(cases)
    entry = cases["project_entry"].to_numpy()
    benefit = cases["benefit_start"].to_numpy()
    flex = cases["flexjob_start"].to_numpy()
    exit_ = cases["exit_date"].to_numpy()
    group = cases["target_group"].to_numpy()
    mi = cases["_mi"].to_numpy()
    rnd = cases["round"].to_numpy()
    stop = np.fmin(np.fmin(np.nan_to_num(flex, nan=np.inf), np.nan_to_num(exit_, nan=np.inf) + 1), E + 1)
    parts = []

    def add(idx, day, kind, channels, p):
        parts.append((idx, day, np.full(len(idx), kind, dtype=object), _categorical(rng, channels, p, len(idx))))

    # samtale while on ledighedsydelse in the project (per-municipality interval and channel mix).
    on_ly = np.flatnonzero(~np.isnan(benefit) & (group != "fleksjob"))
    start = np.fmax(benefit[on_ly], entry[on_ly])
    interval = munis["interval"].to_numpy()[mi[on_ly]] * rng.lognormal(0.0, 0.3, len(on_ly))
    idx, day = _spread(rng, on_ly, start, stop[on_ly], interval)
    u = rng.random(len(idx))
    pt = munis["p_telefon"].to_numpy()[mi[idx]]
    pf = munis["p_fysisk"].to_numpy()[mi[idx]]
    channel = np.where(u < pt, "telefon", np.where(u < pt + pf, "fysisk", "digital")).astype(object)
    parts.append((idx, day, np.full(len(idx), "samtale", dtype=object), channel))

    # samtale about monthly before the rehab meeting.
    rehab = np.flatnonzero(group == "rehab")
    rehab_stop = np.fmin(stop[rehab], np.nan_to_num(cases["_meeting"].to_numpy()[rehab], nan=np.inf))
    idx, day = _spread(rng, rehab, entry[rehab], rehab_stop, 30 * rng.uniform(0.8, 1.3, len(rehab)))
    add(idx, day, "samtale", ("fysisk", "telefon", "digital"), [0.6, 0.3, 0.1])

    # opfølgning in the first 182 days of a flexjob started in the project.
    new = np.flatnonzero(~np.isnan(flex) & (flex <= E) & (group != "fleksjob"))
    count = np.where(
        rnd[new] == 1,
        rng.choice(7, len(new), p=[0.05, 0.05, 0.10, 0.15, 0.40, 0.15, 0.10]),
        rng.choice(5, len(new), p=[0.10, 0.15, 0.45, 0.20, 0.10]),
    )
    idx = np.repeat(new, count)
    day = flex[idx] + np.floor(rng.uniform(0, 182, len(idx)))
    ok = (day <= E) & ~(day > exit_[idx])
    add(idx[ok], day[ok], "opfølgning", ("virksomhedsbesøg", "telefon", "fysisk", "digital"), [0.6, 0.25, 0.1, 0.05])

    # opfølgning about quarterly for citizens already in a flexjob at entry.
    fj = np.flatnonzero(group == "fleksjob")
    fj_stop = np.fmin(np.nan_to_num(exit_[fj], nan=np.inf) + 1, E + 1)
    idx, day = _spread(rng, fj, entry[fj], fj_stop, rng.uniform(60, 120, len(fj)))
    add(idx, day, "opfølgning", ("virksomhedsbesøg", "telefon", "fysisk", "digital"), [0.5, 0.3, 0.15, 0.05])

    # step_up when 26 weeks on ledighedsydelse in the project pass without a flexjob.
    day_all = np.fmax(benefit, entry) + 182 + np.floor(rng.uniform(0, 28, n))
    chosen = rng.random(n) < munis["p_step_up"].to_numpy()[mi]
    ok = ~np.isnan(benefit) & (group != "fleksjob") & chosen & (day_all < stop)
    idx = np.flatnonzero(ok)
    add(idx, day_all[idx], "step_up", ("fysisk", "telefon"), [0.8, 0.2])

    idx = np.concatenate([p[0] for p in parts])
    contacts = pd.DataFrame(
        {
            "case_id": cases["case_id"].to_numpy()[idx],
            "date": _date_text(np.concatenate([p[1] for p in parts])),
            "channel": np.concatenate([p[3] for p in parts]),
            "kind": np.concatenate([p[2] for p in parts]),
        }
    )
    return contacts.sort_values(["case_id", "date", "kind", "channel"], kind="stable", ignore_index=True)


def _simulate_goals(cases: pd.DataFrame, munis: pd.DataFrame, scale: str, rng: np.random.Generator) -> pd.DataFrame:
    """Weekly Målstyring rows for a few teams of caseworkers."""
    if scale == "sample":
        team_munis = ["Viborg", "Odense", "København"]
    else:
        team_munis = sorted(rng.choice(munis["municipality"].to_numpy(), 12, replace=False).tolist())
    frames = []
    for muni in team_munis:
        in_muni = cases[cases["municipality"] == muni]
        rnd = int(in_muni["round"].iloc[0])
        workers = np.sort(in_muni["caseworker_id"].unique())
        workers = rng.choice(workers, min(len(workers), int(rng.integers(4, 7))), replace=False)
        mondays = pd.date_range(ROUNDS[rnd][0], ROUNDS[rnd][1], freq="W-MON")
        iso = mondays.isocalendar()
        weeks = (iso["year"].astype(str) + "-W" + iso["week"].map("{:02d}".format)).to_numpy()
        holiday = iso["week"].isin([1, 28, 29, 30, 52, 53]).to_numpy()
        grid = pd.MultiIndex.from_product(
            [sorted(workers), range(len(weeks)), list(GOAL_INDICATORS)], names=["employee_id", "w", "indicator"]
        ).to_frame(index=False)
        perf = dict(zip(sorted(workers), rng.uniform(0.6, 1.3, len(workers))))
        target = grid["indicator"].map(GOAL_INDICATORS).to_numpy()
        mean = target * grid["employee_id"].map(perf).to_numpy() * np.where(holiday[grid["w"]], 0.3, 1.0)
        frames.append(
            pd.DataFrame(
                {
                    "team": f"Jobteam {muni}",
                    "employee_id": grid["employee_id"],
                    "week": weeks[grid["w"]],
                    "indicator": grid["indicator"],
                    "realised": rng.poisson(mean),
                    "target": target,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _dataset_yml(scale: str, seed: int) -> str:
    name = "Udvikling i fleksjob II (sample)" if scale == "sample" else "Udvikling i fleksjob II (national, synthetic)"
    lines = [
        f"# Synthetic data: evalkit sample --scale {scale} --seed {seed}. No real persons.",
        f"name: {name}",
        f"extraction_date: {EXTRACTION_DATE}",
        "rounds:",
        *(f"  {r}: {{start: {s}, end: {e}}}" for r, (s, e) in ROUNDS.items()),
    ]
    return "\n".join(lines) + "\n"


def _write_tables(folder: Path, cases, hours, contacts, goals, scale: str, seed: int) -> None:
    date_cols = ["project_entry", "benefit_start", "flexjob_start", "exit_date"]
    cases = cases.drop(columns=[c for c in cases if c.startswith("_")])
    for col in date_cols:
        cases[col] = _date_text(cases[col].to_numpy())
    cases = cases.sort_values("case_id", kind="stable")
    hours = hours.sort_values(["case_id", "month"], kind="stable")
    csv = {"index": False, "lineterminator": "\n", "encoding": "utf-8"}
    (folder / "dataset.yml").write_text(_dataset_yml(scale, seed), encoding="utf-8")
    cases.to_csv(folder / "cases.csv", **csv)
    hours.to_csv(folder / "hours.csv", float_format="%.1f", **csv)
    contacts.to_csv(folder / "contacts.csv", **csv)
    goals.to_csv(folder / "goals.csv", **csv)


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished folder `tmp` to `out`, replacing an earlier dataset there."""
    if not out.exists():
        tmp.rename(out)
        return
    if not out.is_dir() or any(p.name not in _DATASET_FILES for p in out.iterdir()):
        raise InputError(str(out), "exists and is not a dataset folder this command wrote; choose another --out")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old)


def write_sample(out: Path, scale: str = "sample", seed: int = DEFAULT_SEED) -> str:
    """Generate a synthetic dataset into the folder `out` and return a short summary.

    The folder is written beside `out` under a temporary name and moved into place
    at the end, so an interrupted run leaves no half dataset.
    """
    t0 = time.perf_counter()
    out = Path(out)
    rng = np.random.default_rng(seed)
    munis = _municipalities(scale, rng)
    cases = _simulate_cases(munis, scale, rng)
    hours = _simulate_hours(cases, rng)
    contacts = _simulate_contacts(cases, munis, rng)
    goals = _simulate_goals(cases, munis, scale, rng)

    target = Path(os.path.abspath(out))
    with staged_folder(target) as tmp:
        _write_tables(tmp, cases, hours, contacts, goals, scale, seed)
        _replace_folder(tmp, target)
    by_round = cases.groupby("round")["municipality"].nunique()
    return (
        f"Wrote {out} ({scale}, seed {seed}): {len(cases):,} cases, {len(hours):,} hours rows, "
        f"{len(contacts):,} contacts, {len(goals):,} goals rows; {munis.shape[0]} municipalities "
        f"({', '.join(f'round {r}: {k}' for r, k in by_round.items())}); {time.perf_counter() - t0:.1f} s"
    )
