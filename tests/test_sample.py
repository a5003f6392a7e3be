"""The synthetic sample generator (`evalkit sample`).

Checks, with pandas and independently of evalkit's loader and indicator code:
determinism (same seed, same bytes), the committed data/sample equals a fresh
generation, every rule of SPEC section 1 "Rejected input" holds, and the
realism targets of the generator hold (share into flexjob, progression, S(39),
caseload effect, follow-up cadence), each figure computed here from SPEC's
definitions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import statsmodels.formula.api as smf
import yaml
from click.testing import CliRunner
from lifelines import KaplanMeierFitter

from evalkit.cli import main
from evalkit.data import sample
from evalkit.errors import InputError

REPO = Path(__file__).resolve().parents[1]
E = pd.Timestamp("2021-12-31")
FILES = ["cases.csv", "contacts.csv", "dataset.yml", "goals.csv", "hours.csv"]
ROUND_1 = {"Albertslund", "Ballerup", "Faxe", "Frederikshavn", "Gentofte", "Stevns", "Thisted", "Tønder", "Viborg"}
ROUND_2 = {"Glostrup", "Helsingør", "Herlev", "Hvidovre", "København", "Lemvig", "Middelfart", "Nordfyn", "Odense", "Vejen"}
DATES = ["project_entry", "benefit_start", "flexjob_start", "exit_date"]


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "sample"
    sample.write_sample(out, scale="sample", seed=sample.DEFAULT_SEED)
    return out


@pytest.fixture(scope="module")
def tables(sample_dir):
    """The four tables read with plain pandas (strict ISO dates)."""
    read = lambda name: pd.read_csv(sample_dir / name, dtype=str, keep_default_na=False, encoding="utf-8")  # noqa: E731
    cases, hours, contacts, goals = (read(f) for f in ["cases.csv", "hours.csv", "contacts.csv", "goals.csv"])
    for col in DATES:
        cases[col] = pd.to_datetime(cases[col].replace("", None), format="%Y-%m-%d")
    cases["round"] = cases["round"].astype(int)
    hours["month"] = pd.to_datetime(hours["month"], format="%Y-%m-%d")
    hours[["effective_hours", "attended_hours"]] = hours[["effective_hours", "attended_hours"]].astype(float)
    contacts["date"] = pd.to_datetime(contacts["date"], format="%Y-%m-%d")
    goals[["realised", "target"]] = goals[["realised", "target"]].astype(int)
    return cases, hours, contacts, goals


def valid_flexjob(cases):
    """SPEC 3: started on or before E and not after the exit date."""
    s, x = cases["flexjob_start"], cases["exit_date"]
    return s.notna() & (s <= E) & (x.isna() | (s <= x))


# --- determinism and the committed sample -------------------------------------------------


def test_same_seed_same_bytes(tmp_path, sample_dir):
    again = tmp_path / "again"
    sample.write_sample(again, seed=sample.DEFAULT_SEED)
    assert sorted(p.name for p in again.iterdir()) == FILES
    for name in FILES:
        assert (again / name).read_bytes() == (sample_dir / name).read_bytes(), name
    other = tmp_path / "other"
    sample.write_sample(other, seed=sample.DEFAULT_SEED + 1)
    assert (other / "cases.csv").read_bytes() != (sample_dir / "cases.csv").read_bytes()


def test_committed_sample_is_a_fresh_generation(sample_dir):
    committed = REPO / "data" / "sample"
    assert sorted(p.name for p in committed.iterdir()) == FILES
    for name in FILES:
        assert (committed / name).read_bytes() == (sample_dir / name).read_bytes(), (
            f"data/sample/{name} differs from a fresh generation: run `make sample`"
        )
    assert sum((committed / n).stat().st_size for n in FILES) < 6_000_000  # a few MB


def test_cli_writes_the_sample(tmp_path):
    result = CliRunner().invoke(main, ["sample", "--out", str(tmp_path / "d"), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "3,237 cases" in result.output and "19 municipalities" in result.output
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == FILES


def test_committed_sample_passes_evalkit_validate():
    result = CliRunner().invoke(main, ["validate", str(REPO / "data" / "sample")])
    assert result.exit_code == 0, result.output
    assert "Municipalities: 19" in result.output


# --- write then rename ---------------------------------------------------------------------


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    def half_then_fail(folder, *args):
        (folder / "cases.csv").write_text("case_id\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(sample, "_write_tables", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        sample.write_sample(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_replaces_a_dataset_but_not_a_foreign_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cases.csv").write_text("old\n")
    sample.write_sample(out, seed=3)
    assert (out / "cases.csv").read_text().startswith("case_id,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me\n")
    with pytest.raises(InputError):
        sample.write_sample(foreign, seed=3)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "out"]


# --- the data contract (SPEC section 1) --------------------------------------------------------


def test_dataset_yml(sample_dir):
    meta = yaml.safe_load((sample_dir / "dataset.yml").read_text(encoding="utf-8"))
    assert meta["name"] == "Udvikling i fleksjob II (sample)"
    assert str(meta["extraction_date"]) == "2021-12-31"
    assert {r: (str(v["start"]), str(v["end"])) for r, v in meta["rounds"].items()} == {
        1: ("2019-04-01", "2020-09-30"),
        2: ("2020-10-01", "2021-12-31"),
    }


def test_columns_exactly_as_spec(sample_dir):
    header = lambda f: (sample_dir / f).read_text(encoding="utf-8").split("\n", 1)[0]  # noqa: E731
    assert header("cases.csv") == (
        "case_id,municipality,round,caseworker_id,target_group,project_entry,benefit_start,"
        "flexjob_start,exit_date,exit_reason,sex,age_band"
    )
    assert header("hours.csv") == "case_id,month,effective_hours,attended_hours"
    assert header("contacts.csv") == "case_id,date,channel,kind"
    assert header("goals.csv") == "team,employee_id,week,indicator,realised,target"
    assert not (sample_dir / "cases.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # plain UTF-8


def test_cases_rules(tables):
    cases = tables[0]
    assert cases["case_id"].is_unique
    assert cases["case_id"].str.fullmatch(r"C\d{6}").all()
    assert cases["caseworker_id"].str.fullmatch(r"JF\d{4}").all()
    assert set(cases["target_group"]) == {"rehab", "ledighedsydelse", "fleksjob"}
    assert cases["target_group"].value_counts().idxmax() == "ledighedsydelse"
    assert set(cases["sex"]) == {"K", "M"}
    assert set(cases["age_band"]) == {"18-29", "30-39", "40-49", "50-59", "60+"}
    ly = cases["target_group"] == "ledighedsydelse"
    assert cases.loc[ly, "benefit_start"].notna().all()
    # Rejected-input rules: exit >= entry; flexjob >= entry unless fleksjob; benefit <= flexjob.
    assert not (cases["exit_date"] < cases["project_entry"]).any()
    fj = cases["target_group"] == "fleksjob"
    assert not ((cases["flexjob_start"] < cases["project_entry"]) & ~fj).any()
    assert (cases.loc[fj, "flexjob_start"] < cases.loc[fj, "project_entry"]).all()
    assert not (cases["benefit_start"] > cases["flexjob_start"]).any()
    # exit_reason exactly where there is an exit
    assert ((cases["exit_reason"] != "") == cases["exit_date"].notna()).all()
    assert set(cases["exit_reason"]) - {""} == {"sygdom", "pension", "flyttet", "andet"}
    # censoring at E: only a rare flexjob_start after E
    assert (cases[["project_entry", "benefit_start", "exit_date"]].max() <= E).all()
    late = cases["flexjob_start"] > E
    assert 0 < late.sum() <= 0.005 * len(cases)


def test_municipalities_rounds_and_caseworkers(tables):
    cases = tables[0]
    assert cases.groupby("municipality")["round"].nunique().max() == 1
    rounds = cases.groupby("round")["municipality"].unique().map(set)
    assert rounds[1] == ROUND_1 and rounds[2] == ROUND_2
    per_round = cases["round"].value_counts()
    assert 1_500 <= per_round[1] <= 1_700 and 1_500 <= per_round[2] <= 1_750
    size = cases["municipality"].value_counts()
    assert size["Stevns"] < size["Viborg"] / 4
    cw = cases.groupby("municipality")["caseworker_id"].nunique()
    assert cw.between(3, 12).all()
    assert cases.groupby("caseworker_id")["municipality"].nunique().max() == 1
    # project_entry inside the round's span, mostly in its first months
    span = {1: ("2019-04-01", "2020-09-30"), 2: ("2020-10-01", "2021-12-31")}
    start = cases["round"].map(lambda r: pd.Timestamp(span[r][0]))
    end = cases["round"].map(lambda r: pd.Timestamp(span[r][1]))
    assert cases["project_entry"].between(start, end).all()
    assert ((cases["project_entry"] - start).dt.days < 120).mean() > 0.55


def test_hours_rules(tables):
    cases, hours = tables[0], tables[1]
    assert hours["case_id"].isin(cases["case_id"]).all()
    assert not hours.duplicated(["case_id", "month"]).any()
    assert (hours["month"].dt.day == 1).all() and (hours["month"] <= E).all()
    eff, att = hours["effective_hours"], hours["attended_hours"]
    assert (eff >= 0).all() and (eff <= att).all() and (att <= 37).all()
    # rows only inside a valid flexjob: from the flexjob month, not after the exit month
    c = cases.set_index("case_id")
    month_of = lambda s: s.dt.to_period("M").dt.to_timestamp()  # noqa: E731
    flex_month = month_of(hours["case_id"].map(c["flexjob_start"]))
    exit_month = month_of(hours["case_id"].map(c["exit_date"]))
    assert (hours["month"] >= flex_month).all()
    assert not (hours["month"] > exit_month).any()
    with_hours = set(hours["case_id"])
    assert with_hours == set(cases.loc[valid_flexjob(cases), "case_id"])
    # fleksjob cases start small (at most 10 effective hours); some flexjobs above 10 hours
    first = hours.groupby("case_id").head(1).set_index("case_id")["effective_hours"]
    fj = cases.loc[cases["target_group"] == "fleksjob", "case_id"]
    assert (first.reindex(fj).dropna() <= 10).all()
    assert 0.03 <= (first > 10).mean() <= 0.2
    assert ((first >= 2) & (first <= 10)).mean() > 0.75


def test_contacts_rules(tables):
    cases, contacts = tables[0], tables[2]
    assert contacts["case_id"].isin(cases["case_id"]).all()
    assert set(contacts["channel"]) == {"fysisk", "telefon", "digital", "virksomhedsbesøg"}
    assert set(contacts["kind"]) == {"samtale", "opfølgning", "step_up"}
    c = cases.set_index("case_id")
    assert (contacts["date"] >= contacts["case_id"].map(c["project_entry"])).all()
    assert not (contacts["date"] > contacts["case_id"].map(c["exit_date"])).any()
    assert (contacts["date"] <= E).all()


def test_goals_rules(tables):
    goals = tables[3]
    assert goals["week"].str.fullmatch(r"\d{4}-W\d{2}").all()
    # every week is a real ISO week: its Monday maps back to the same label
    monday = pd.to_datetime(goals["week"] + "-1", format="%G-W%V-%u")
    iso = monday.dt.isocalendar()
    assert (iso["year"].astype(str) + "-W" + iso["week"].map("{:02d}".format) == goals["week"]).all()
    assert (goals[["realised", "target"]] >= 0).all().all()
    assert set(goals["indicator"]) == {"virksomhedskontakter", "jobåbninger", "ansættelser", "opfølgninger"}
    assert 2 <= goals["team"].nunique() <= 5
    assert not goals.duplicated(["team", "employee_id", "week", "indicator"]).any()


def test_nothing_looks_identifying(sample_dir):
    """No CPR-like values (DDMMYY-XXXX or ten digits) and no name/address/phone/e-mail columns."""
    cpr = re.compile(r"\b\d{6}-?\d{4}\b")
    banned = re.compile(r"name|navn|adress|address|phone|telefonnr|tlf|mobil|e-?mail|cpr", re.IGNORECASE)
    for name in ["cases.csv", "hours.csv", "contacts.csv", "goals.csv"]:
        text = (sample_dir / name).read_text(encoding="utf-8")
        assert not cpr.search(text), name
        assert not any(banned.search(col) for col in text.split("\n", 1)[0].split(",")), name


# --- realism targets (each figure computed here from SPEC's definition) -------------------------


def test_left_truncation_of_benefit_spells(tables):
    cases = tables[0]
    ly = cases[cases["target_group"] == "ledighedsydelse"]
    before = (ly["project_entry"] - ly["benefit_start"]).dt.days
    assert (before >= 0).all()
    assert 0.4 <= (before <= 182).mean() <= 0.6
    assert 0.15 <= (before > 365).mean() <= 0.35 and before.max() <= 4 * 366


def test_sc1_share_into_flexjob_per_round(tables):
    cases = tables[0]
    ly = cases[cases["target_group"] == "ledighedsydelse"]
    share = valid_flexjob(ly).groupby(ly["round"]).mean()
    assert share.between(0.25, 0.50).all(), share.to_dict()


def survival_frame(cases):
    """SPEC 3 time to flexjob: weeks since benefit_start, entry = left truncation."""
    pop = cases[cases["benefit_start"].notna()]
    pop = pop[~((pop["target_group"] == "fleksjob") & (pop["flexjob_start"] < pop["project_entry"]))]
    event = valid_flexjob(pop)
    censor = pop["exit_date"].fillna(E).clip(upper=E)
    end = pop["flexjob_start"].where(event, censor)
    return pd.DataFrame(
        {
            "round": pop["round"],
            "time": (end - pop["benefit_start"]).dt.days / 7,
            "event": event.astype(int),
            "entry": ((pop["project_entry"] - pop["benefit_start"]).dt.days / 7).clip(lower=0),
        }
    )


def test_s39_per_round_and_round_2_better(tables):
    data = survival_frame(tables[0])
    assert (data["time"] > data["entry"]).all()  # everybody is at risk for a while
    s39 = {}
    for r, d in data.groupby("round"):
        km = KaplanMeierFitter().fit(d["time"], d["event"], entry=d["entry"])
        s39[r] = float(km.survival_function_at_times(39).iloc[0])
    assert all(0.5 <= v <= 0.8 for v in s39.values()), s39
    assert s39[2] < s39[1]  # round 2 gets people into flexjob faster


def test_sc3_progression_share(tables):
    """SPEC 3 success criterion 3, from the project-entry month, first effective <= 10, >= 6 months."""
    cases, hours = tables[0], tables[1]
    entry_month = hours["case_id"].map(cases.set_index("case_id")["project_entry"]).dt.to_period("M").dt.to_timestamp()
    h = hours[(hours["month"] >= entry_month) & (hours["month"] <= E)].sort_values(["case_id", "month"])
    first = h.groupby("case_id").head(1).set_index("case_id")
    last = h.groupby("case_id").tail(1).set_index("case_id")
    months = lambda s: s.dt.year * 12 + s.dt.month  # noqa: E731
    eligible = (first["effective_hours"] <= 10) & (months(last["month"]) - months(first["month"]) >= 6)
    change = (last["effective_hours"] - first["effective_hours"])[eligible].round(2)
    assert eligible.sum() > 500
    assert 0.20 <= (change >= 1.0).mean() <= 0.35
    assert (change < 0).any()  # some lose hours
    # progression usually follows a rise in attended hours: attended rose first or at the same time
    progressed = change.index[change >= 1.0]
    hp = h[h["case_id"].isin(progressed)]
    rise = lambda col: hp.groupby("case_id")[col].transform(lambda s: s > s.iloc[0])  # noqa: E731
    first_att = hp["month"].where(rise("attended_hours")).groupby(hp["case_id"]).min()
    first_eff = hp["month"].where(rise("effective_hours")).groupby(hp["case_id"]).min()
    assert ((first_att < first_eff).mean()) > 0.6


def caseloads(cases):
    """SPEC 3 caseload: mean over the first day of each month of the round of open cases."""
    span = {1: ("2019-04-01", "2020-09-30"), 2: ("2020-10-01", "2021-12-31")}
    load = {}
    for (cw, r), g in cases.groupby(["caseworker_id", "round"]):
        days = pd.date_range(*span[r], freq="MS").to_numpy()[None, :]
        entry = g["project_entry"].to_numpy()[:, None]
        exit_ = g["exit_date"].to_numpy()[:, None]
        open_ = (entry <= days) & ~(exit_ <= days)  # NaT compares False: no exit keeps the case open
        load[cw] = open_.sum(axis=0).mean()
    return cases["caseworker_id"].map(load)


def test_caseloads_differ_and_caseload_effect_is_negative(tables):
    cases = tables[0].copy()
    cases["caseload"] = caseloads(cases)
    per_cw = cases.groupby("caseworker_id")["caseload"].first()
    assert per_cw.median() >= 20 and per_cw.max() >= 45 and per_cw.max() <= 80
    # flexjob_39w (SPEC 3): outside target group fleksjob, flexjob within 273 days, followed 273 days
    d = cases[cases["target_group"] != "fleksjob"].copy()
    d["y"] = (valid_flexjob(d) & ((d["flexjob_start"] - d["project_entry"]).dt.days <= 273)).astype(int)
    followed = (d["exit_date"].fillna(E).clip(upper=E) - d["project_entry"]).dt.days >= 273
    d = d[(d["y"] == 1) | followed]
    fit = smf.logit("y ~ caseload + C(age_band) + C(sex) + C(round)", data=d).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(d["caseworker_id"])[0]}
    )
    assert fit.params["caseload"] < 0 and fit.conf_int().loc["caseload", 1] < 0


def test_follow_up_cadence_by_round(tables):
    cases, contacts = tables[0], tables[2]
    fu = cases[
        valid_flexjob(cases)
        & (cases["flexjob_start"] >= cases["project_entry"])
        & (cases["flexjob_start"] <= E - pd.Timedelta(days=182))
    ]
    op = contacts[contacts["kind"] == "opfølgning"].merge(fu[["case_id", "flexjob_start"]], on="case_id")
    op = op[(op["date"] >= op["flexjob_start"]) & (op["date"] < op["flexjob_start"] + pd.Timedelta(days=182))]
    n = op.groupby("case_id").size().reindex(fu["case_id"], fill_value=0).to_numpy()
    rnd = fu["round"].to_numpy()
    assert 3.0 <= n[rnd == 1].mean() <= 4.5 and 1.5 <= n[rnd == 2].mean() <= 2.5
    assert (n == 0).any()
    assert (op["channel"] == "virksomhedsbesøg").mean() > 0.5


def test_conversations_frequent_and_step_up(tables):
    cases, contacts = tables[0], tables[2]
    talks = contacts[contacts["kind"] == "samtale"]
    ly_ids = cases.loc[cases["target_group"] == "ledighedsydelse", "case_id"]
    gaps = talks[talks["case_id"].isin(ly_ids)].groupby("case_id")["date"].diff().dt.days.dropna()
    assert 7 <= gaps.median() <= 21
    assert talks["channel"].value_counts().idxmax() == "telefon"
    # step_up: some of those on ledighedsydelse 26+ weeks in the project without flexjob had one
    c = cases[cases["benefit_start"].notna() & (cases["target_group"] != "fleksjob")]
    step = contacts[contacts["kind"] == "step_up"].merge(c[["case_id", "project_entry", "benefit_start"]], on="case_id")
    since = (step["date"] - step[["project_entry", "benefit_start"]].max(axis=1)).dt.days
    assert since.between(182, 210).all()
    eligible = c[(c["flexjob_start"].isna() | (c["flexjob_start"] > E)) & c["exit_date"].isna()]
    eligible = eligible[(E - eligible["project_entry"]).dt.days >= 26 * 7]
    share = eligible["case_id"].isin(step["case_id"]).mean()
    assert 0.3 <= share <= 0.95


def test_national_scale(tmp_path):
    import time

    t0 = time.perf_counter()
    sample.write_sample(tmp_path / "nat", scale="national", seed=5)
    assert time.perf_counter() - t0 < 60
    cases = pd.read_csv(tmp_path / "nat" / "cases.csv", usecols=["case_id", "municipality", "round"])
    assert cases["case_id"].is_unique
    assert 55_000 <= len(cases) <= 65_000
    assert cases["municipality"].nunique() == 98
    rounds = cases.groupby("municipality")["round"].agg(["nunique", "first"])
    assert (rounds["nunique"] == 1).all()
    assert set(rounds.index[rounds["first"] == 1]) >= ROUND_1 and set(rounds.index[rounds["first"] == 2]) >= ROUND_2
    assert rounds["first"].value_counts().min() >= 40
