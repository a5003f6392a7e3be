"""Pseudonymisation at the source (`evalkit pseudonymise`, evalkit.data.pseudonymise).

The expected ids are recomputed here with hmac/hashlib from the documented formula,
the age bands are worked out by hand next to the fixture, and the privacy test
searches every output byte for every raw identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import stat
import uuid
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.data.dataset import load_dataset
from evalkit.data.pseudonymise import check_key, pseudonymise_extract, read_key
from evalkit.errors import InputError

# 40 random bytes (one draw of secrets.token_bytes(40)), binary, no trailing newline
KEY = bytes.fromhex("f8b53d753244081cb98363bde0c2c42fd463d778a5ae739e1f1402cc578aa06dd6487bc0e9f39a86")
OTHER_KEY = b"another-secret-key-that-is-long-enough!!"

YML = """name: Udvikling i fleksjob II (test)
extraction_date: {e}
rounds:
  1: {{start: 2019-04-01, end: 2020-09-30}}
  2: {{start: 2020-10-01, end: 2021-12-31}}
"""

# Four citizens. A has two courses (round 1 and round 2). Age bands by hand:
#   A born 1990-01-01: entry 2019-05-01 -> 29 -> 18-29; entry 2020-11-02 -> 30 -> 30-39
#   B born 1985-05-15: entry 2019-06-03 -> 34 -> 30-39
#   C born 1960-12-31: entry 2020-12-30 -> 59 (birthday the day after) -> 50-59
#   D born 1992-02-29: entry 2021-02-28 -> 28 ((2, 28) < (2, 29)) -> 18-29
CASES = [
    # cpr, name, navn, adresse, telefon, email, round, target, entry, benefit, flexjob, exit, reason, sex, birth
    ("010190-1234", "Søren Østergård", "Mads Ærø", "Vestergade 1, 6270 Tønder", "+45 20 11 22 33",
     "mads@example.dk", "1", "ledighedsydelse", "2019-05-01", "2019-01-15", "2019-09-01", "2020-03-31",
     "flyttet", "M", "1990-01-01"),
    ("150585-2345", "Anne Hansen", "Åse Lærke", "Storegade 7, 6270 Tønder", "74 12 34 56",
     "aase@example.dk", "1", "rehab", "2019-06-03", "", "", "", "", "K", "1985-05-15"),
    ("010190-1234", "anne  hansen", "Mads Ærø", "Vestergade 1, 6270 Tønder", "+45 20 11 22 33",
     "mads@example.dk", "2", "ledighedsydelse", "2020-11-02", "2020-06-01", "2021-03-01", "", "", "M",
     "1990-01-01"),
    ("3112601236", "Søren Østergård", "Bent Øby", "Havnevej 3, 6270 Tønder", "22334455",
     "bent@example.dk", "2", "fleksjob", "2020-12-30", "", "2020-01-01", "", "", "M", "1960-12-31"),
    ("290292-4321", "Anne Hansen", "Ida Nørgaard", "Slotsgade 2, 6270 Tønder", "30 40 50 60",
     "ida@example.dk", "2", "ledighedsydelse", "2021-02-28", "2020-12-01", "", "", "", "K", "1992-02-29"),
]
CASE_HEADER = ("CPR", "Jobformidler", "Navn", "Adresse", "Telefon", "Email", "round", "target_group",
               "project_entry", "benefit_start", "flexjob_start", "exit_date", "exit_reason", "sex", "birth_date")
# hours: A 2019-09 and 2020-02 -> course 1; A 2020-11 -> course 2 (project_entry 2020-11-02 is in that month)
HOURS = [("010190-1234", "2019-09-01", "4", "8"), ("010190-1234", "2020-02-01", "6", "9"),
         ("010190-1234", "2020-11-01", "0", "0"), ("010190-1234", "2021-03-01", "3.5", "6"),
         ("3112601236", "2020-12-01", "5.5", "7")]
# contacts: A 2019-10-15 -> course 1; A 2020-11-01 (a day before entry 2) -> course 1; A 2020-11-20 -> course 2
CONTACTS = [("010190-1234", "2019-10-15", "fysisk", "opfølgning"),
            ("010190-1234", "2020-11-01", "telefon", "samtale"),
            ("010190-1234", "2020-11-20", "virksomhedsbesøg", "opfølgning"),
            ("290292-4321", "2021-03-01", "digital", "step_up")]
GOALS = [("Team Nord", "Anne Hansen", "2020-W03", "virksomhedskontakter", "5", "8"),
         ("Team Nord", "Søren Østergård", "2020-W03", "virksomhedskontakter", "7", "8")]
RAW_IDENTIFIERS = [row[i] for row in CASES for i in (2, 3, 4, 5)]


def _csv(header, rows, sep=","):
    def cell(v):
        return f'"{v}"' if sep in v else v
    return "\n".join(sep.join(cell(v) for v in r) for r in [header, *rows]) + "\n"


def write_raw(folder: Path, cases=CASES, e="2021-12-31", encoding="utf-8", sep=",", danish_dates=False,
              hours=HOURS, contacts=CONTACTS, goals=GOALS) -> Path:
    """A raw extract folder; optionally Windows-1252, `;`, DD-MM-YYYY dates, decimal commas."""
    folder.mkdir(parents=True)
    (folder / "dataset.yml").write_text(YML.format(e=e), encoding="utf-8")

    def fix(v):
        if danish_dates and len(v) == 10 and v[4] == "-" and v[7] == "-":
            return f"{v[8:10]}-{v[5:7]}-{v[0:4]}"
        if sep == ";" and v.replace(".", "", 1).isdigit():
            return v.replace(".", ",")
        return v

    def table(name, header, rows):
        rows = [tuple(fix(v) for v in r) for r in rows]
        (folder / name).write_bytes(_csv(header, rows, sep).encode(encoding))

    table("cases.csv", (*CASE_HEADER, "Municipality"), [(*r, "Tønder") for r in cases])
    if hours is not None:
        table("hours.csv", ("cpr", "month", "effective_hours", "attended_hours"), hours)
    if contacts is not None:
        table("contacts.csv", ("cpr", "date", "channel", "kind"), contacts)
    if goals is not None:
        table("goals.csv", ("team", "employee_name", "week", "indicator", "realised", "target"), goals)
    return folder


def write_key(path: Path, key: bytes = KEY) -> Path:
    path.write_bytes(key)
    return path


def expected_id(key: bytes, prefix: str, message: str) -> str:
    return prefix + hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:16]


@pytest.fixture
def raw(tmp_path):
    return write_raw(tmp_path / "raw")


@pytest.fixture
def key_file(tmp_path):
    return write_key(tmp_path / "secret.key")


def test_output_validates_and_has_the_documented_ids(raw, key_file, tmp_path):
    out = tmp_path / "out"
    pseudonymise_extract(raw, out, key_file)
    ds = load_dataset(out)
    cases = ds.cases.set_index("case_id")
    case_a1 = expected_id(KEY, "C", "case:0101901234:2019-05-01")
    case_a2 = expected_id(KEY, "C", "case:0101901234:2020-11-02")
    case_c = expected_id(KEY, "C", "case:3112601236:2020-12-30")
    case_d = expected_id(KEY, "C", "case:2902924321:2021-02-28")
    case_b = expected_id(KEY, "C", "case:1505852345:2019-06-03")
    assert list(ds.cases["case_id"]) == [case_a1, case_b, case_a2, case_c, case_d]
    anne = expected_id(KEY, "W", "caseworker:anne hansen")  # "anne  hansen" is the same caseworker
    soeren = expected_id(KEY, "W", "caseworker:søren østergård")
    assert list(ds.cases["caseworker_id"]) == [soeren, anne, anne, soeren, anne]
    assert list(ds.cases["age_band"]) == ["18-29", "30-39", "30-39", "50-59", "18-29"]
    assert cases.loc[case_a1, "flexjob_start"] == pd.Timestamp("2019-09-01")
    assert cases.loc[case_a2, "round"] == 2 and cases.loc[case_b, "target_group"] == "rehab"
    # hours and contacts follow the course rules written next to HOURS and CONTACTS
    assert list(ds.hours["case_id"]) == [case_a1, case_a1, case_a2, case_a2, case_c]
    assert list(ds.hours["effective_hours"]) == [4.0, 6.0, 0.0, 3.5, 5.5]
    assert list(ds.contacts["case_id"]) == [case_a1, case_a1, case_a2, case_d]
    assert list(ds.goals["employee_id"]) == [anne, soeren]  # goals' employees are the cases' caseworkers
    # person_id links A's two courses and is written in the cases file
    written = pd.read_csv(out / "cases.csv", sep=None, engine="python", dtype=str)
    person_a = expected_id(KEY, "P", "person:0101901234")
    assert list(written["person_id"]) == [person_a, expected_id(KEY, "P", "person:1505852345"), person_a,
                                          expected_id(KEY, "P", "person:3112601236"),
                                          expected_id(KEY, "P", "person:2902924321")]
    for column in ("navn", "adresse", "telefon", "email", "birth_date", "cpr", "jobformidler"):
        assert column not in {c.lower() for c in written.columns}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw", "secret.key"]  # no temp folder left


def test_windows_1252_semicolon_extract_gives_the_same_dataset(key_file, tmp_path):
    """Same extract as cp1252, `;`, DD-MM-YYYY and decimal commas: identical ids and values."""
    utf8 = pseudonymise_extract(write_raw(tmp_path / "a"), tmp_path / "out_a", key_file)
    win = pseudonymise_extract(write_raw(tmp_path / "b", encoding="cp1252", sep=";", danish_dates=True),
                               tmp_path / "out_b", key_file)
    assert utf8.splitlines()[1:] == win.splitlines()[1:]
    a, b = load_dataset(tmp_path / "out_a"), load_dataset(tmp_path / "out_b")
    for table in ("cases", "hours", "contacts", "goals"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))


def test_extracts_link_with_the_same_key_and_not_with_another(tmp_path):
    """Round 1 extract (A's first course, B) and a later one (A's two courses, C, D)."""
    first = write_raw(tmp_path / "r1", cases=CASES[:2], e="2020-09-30", hours=HOURS[:2], contacts=CONTACTS[:1])
    later = write_raw(tmp_path / "r2", cases=[CASES[0], *CASES[2:]])
    key, other = write_key(tmp_path / "k1"), write_key(tmp_path / "k2", OTHER_KEY)
    pseudonymise_extract(first, tmp_path / "o1", key)
    pseudonymise_extract(later, tmp_path / "o2", key)
    pseudonymise_extract(later, tmp_path / "o3", other)
    c1, c2, c3 = (pd.read_csv(tmp_path / o / "cases.csv", sep=None, engine="python", dtype=str)
                  for o in ("o1", "o2", "o3"))
    # same key: A is one person in both extracts and her round-1 course keeps its case_id
    assert set(c1["person_id"]) & set(c2["person_id"]) == {expected_id(KEY, "P", "person:0101901234")}
    assert set(c1["case_id"]) & set(c2["case_id"]) == {expected_id(KEY, "C", "case:0101901234:2019-05-01")}
    linked = c1.merge(c2, on="person_id")
    assert len(linked) == 2  # A's round-1 course joined to both of her courses in the later extract
    # another key: nothing links, not even the caseworkers
    for column in ("person_id", "case_id", "caseworker_id"):
        assert not set(c1[column]) & set(c3[column])
        assert not set(c2[column]) & set(c3[column])


def _needles(key: bytes) -> list[bytes]:
    needles = [key, key.hex().encode(), key.hex().upper().encode()]
    for row in CASES:
        digits = row[0].replace("-", "")
        needles += [digits.encode(), f"{digits[:6]}-{digits[6:]}".encode()]
    names = {row[1] for row in CASES} | {g[1] for g in GOALS} | set(RAW_IDENTIFIERS)
    for name in names:
        for variant in {name, name.casefold(), " ".join(name.split())}:
            needles += [variant.encode("utf-8"), variant.encode("cp1252")]
    return needles


def test_no_raw_identifier_or_key_in_any_output_byte(tmp_path):
    """Every byte written (files, stdout, stderr) is searched for every cpr, name, identifier and the key."""
    raw = write_raw(tmp_path / "raw", encoding="cp1252", sep=";")
    key_file = write_key(tmp_path / "key")
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    blobs = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert {p.name for p in blobs} == {"dataset.yml", "cases.csv", "hours.csv", "contacts.csv", "goals.csv"}
    blobs["stdout"] = result.stdout.encode()
    blobs["stderr"] = result.stderr.encode()
    needles = _needles(KEY)
    assert len(needles) > 40
    found = [(str(p), n) for p, blob in blobs.items() for n in needles if n in blob]
    assert found == []


def test_a_text_key_works_and_is_not_written(tmp_path):
    """A key made with secrets.token_hex(32) (64 characters plus newline)."""
    text_key = b"9f1c3a5e7b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a"
    key_file = write_key(tmp_path / "key", text_key + b"\n")
    pseudonymise_extract(write_raw(tmp_path / "raw"), tmp_path / "out", key_file)
    cases = pd.read_csv(tmp_path / "out" / "cases.csv", sep=None, engine="python", dtype=str)
    assert cases["person_id"].iloc[0] == expected_id(text_key, "P", "person:0101901234")
    blob = b"".join(p.read_bytes() for p in (tmp_path / "out").iterdir())
    assert not any(n in blob for n in _needles(text_key))


@pytest.mark.parametrize("key", [None, b"", b"x" * 31, b"x" * 31 + b"\n"], ids=["missing", "empty", "31", "31nl"])
def test_missing_or_short_key_exits_2_and_writes_nothing(raw, tmp_path, key):
    key_file = tmp_path / "k"
    if key is not None:
        key_file.write_bytes(key)
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key_file)])
    assert result.exit_code == 2
    assert "key" in result.stderr and result.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before


def test_no_key_option_exits_2_and_writes_nothing(raw, tmp_path):
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_key_of_exactly_32_bytes_is_accepted(raw, tmp_path):
    pseudonymise_extract(raw, tmp_path / "out", write_key(tmp_path / "k", KEY[:32]))
    assert len(load_dataset(tmp_path / "out").cases) == 5


def _refused(raw: Path, tmp_path: Path, out: Path | None = None) -> InputError:
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InputError) as info:
        pseudonymise_extract(raw, out or tmp_path / "out", write_key(tmp_path / "k"))
    (tmp_path / "k").unlink()
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, no temporary folder left
    for row in CASES:
        assert row[0] not in str(info.value) and row[0].replace("-", "") not in str(info.value)
    return info.value


def test_bad_cpr_is_refused_with_its_row(tmp_path):
    cases = [CASES[0], ("011390-1234", *CASES[1][1:]), *CASES[2:]]  # month 13
    err = _refused(write_raw(tmp_path / "raw", cases=cases), tmp_path)
    assert err.file.endswith("cases.csv") and "cpr" in err.rule and err.rows == [3]


def test_hours_of_an_unknown_cpr_are_refused(tmp_path):
    err = _refused(write_raw(tmp_path / "raw", hours=[*HOURS, ("020202-2222", "2020-01-01", "1", "2")]), tmp_path)
    assert err.file.endswith("hours.csv") and "not found" in err.rule and err.rows == [7]


def test_free_text_with_a_cpr_or_caseworker_name_is_refused(tmp_path):
    leaky = [CASES[0], (*CASES[1][:12], "se 0101901234", *CASES[1][13:]), *CASES[2:]]
    err = _refused(write_raw(tmp_path / "raw", cases=leaky), tmp_path)
    assert "exit_reason" in err.rule and err.rows == [3]
    leaky = [CASES[0], (*CASES[1][:12], "overdraget af Anne Hansen", *CASES[1][13:]), *CASES[2:]]
    err = _refused(write_raw(tmp_path / "raw2", cases=leaky), tmp_path)
    assert "exit_reason" in err.rule and err.rows == [3]


def test_a_loader_rule_names_the_raw_file_and_row(tmp_path):
    """exit_date before project_entry (row 3) is caught by load_dataset before anything is written."""
    bad = [CASES[0], (*CASES[1][:11], "2019-01-01", *CASES[1][12:]), *CASES[2:]]
    err = _refused(write_raw(tmp_path / "raw", cases=bad), tmp_path)
    assert Path(err.file) == tmp_path / "raw" / "cases.csv" and err.rows == [3]


def test_an_age_under_18_is_refused(tmp_path):
    young = [CASES[0], (*CASES[1][:14], "2001-06-04"), *CASES[2:]]  # 17 on 2019-06-03, 18 the day after
    err = _refused(write_raw(tmp_path / "raw", cases=young), tmp_path)
    assert "under 18" in err.rule and err.rows == [3]
    just_18 = [CASES[0], (*CASES[1][:14], "2001-06-03"), *CASES[2:]]
    pseudonymise_extract(write_raw(tmp_path / "raw2", cases=just_18), tmp_path / "out", write_key(tmp_path / "k"))
    assert load_dataset(tmp_path / "out").cases["age_band"].iloc[1] == "18-29"


def test_an_existing_output_folder_is_not_touched(raw, key_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.csv").write_text("kept\n")
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(out), "--key-file", str(key_file)])
    assert result.exit_code == 2 and result.stdout == ""
    assert [p.name for p in out.iterdir()] == ["earlier.csv"] and (out / "earlier.csv").read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw", "secret.key"]


# --- issue 8, point 13: kept text is checked against the row's own details and the patterns ---------------
# Row 3 of cases.csv is citizen B: navn "Åse Lærke", adresse "Storegade 7, 6270 Tønder",
# telefon "74 12 34 56", email "aase@example.dk".

def _with_exit_reason(text: str, row: int = 1) -> list[tuple]:
    return [(*r[:12], text, *r[13:]) if i == row else r for i, r in enumerate(CASES)]


@pytest.mark.parametrize("text, why", [
    ("ringet af Åse Lærke", "own"),                      # her whole name
    ("ÅSE   lærke  spurgte", "own"),                    # case, spacing
    ("spurgt af A\u030ase", "own"),                      # a name part, Å decomposed (NFD)
    ("bor på Storegade 7", "own"),                      # street line
    ("flyttet fra storegade", "own"),                   # street name
    ("ring 7412-3456", "own"),                          # her phone, as digits
    ("skriv til aase@example.dk", "e-mail"),
    ("kontakt mads@example.dk", "e-mail"),              # someone else's address
    ("ring 74 12 34 56", "phone"),
    ("ring +45 20112233", "phone"),
    ("sms 0045 2011 2233", "phone"),
    ("ny sag 020202-2222", "CPR"),                      # a CPR not in the extract
])
def test_kept_text_with_identifying_details_is_refused(tmp_path, text, why):
    err = _refused(write_raw(tmp_path / "raw", cases=_with_exit_reason(text)), tmp_path)
    assert err.file.endswith("cases.csv") and "exit_reason" in err.rule and err.rows == [3]
    assert why in err.rule
    assert text not in str(err) and "Lærke" not in str(err) and "storegade" not in str(err).lower()


def test_own_name_in_another_kept_column_is_refused(tmp_path):
    cases = [(*r[:13], "Lærke", r[14]) if i == 1 else r for i, r in enumerate(CASES)]  # sex
    err = _refused(write_raw(tmp_path / "raw", cases=cases), tmp_path)
    assert "sex" in err.rule and "navn" in err.rule and err.rows == [3]


def test_team_with_a_phone_number_is_refused(tmp_path):
    goals = [GOALS[0], ("Team Nord 74 12 34 56", *GOALS[1][1:])]
    err = _refused(write_raw(tmp_path / "raw", goals=goals), tmp_path)
    assert err.file.endswith("goals.csv") and "team" in err.rule and "phone" in err.rule and err.rows == [3]


def test_place_names_dates_and_years_in_kept_text_pass(tmp_path, key_file):
    """A surname that is also the municipality (row 6), the citizen's own town, dates and a year range
    (row 3) are kept: only the street of an address is sought, and no name part in municipality."""
    cases = _with_exit_reason("flyttet til Tønder 01.04.2021 (2019 2021)")
    cases = [(r[0], r[1], "Ida Tønder", *r[3:]) if i == 4 else r for i, r in enumerate(cases)]
    pseudonymise_extract(write_raw(tmp_path / "raw", cases=cases), tmp_path / "out", key_file)
    ds = load_dataset(tmp_path / "out")
    assert ds.cases["exit_reason"].iloc[1] == "flyttet til Tønder 01.04.2021 (2019 2021)"
    assert set(ds.cases["municipality"]) == {"Tønder"}


def test_refused_free_text_leaves_nothing_in_any_output_byte(tmp_path):
    """Through the command line: exit 2, and neither stdout nor stderr holds the text or a detail in it."""
    raw = write_raw(tmp_path / "raw", cases=_with_exit_reason("Åse Lærke, aase@example.dk, 74 12 34 56"))
    key_file = write_key(tmp_path / "key")
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key_file)])
    assert result.exit_code == 2 and result.stdout == "" and "exit_reason" in result.stderr
    assert sorted(tmp_path.rglob("*")) == before
    blob = (result.stdout + result.stderr).encode()
    assert [n for n in _needles(KEY) if n in blob] == []


# --- point 14: dataset.yml -----------------------------------------------------------------------------------


def test_a_cpr_in_the_dataset_name_is_refused(tmp_path):
    raw = write_raw(tmp_path / "raw")
    (raw / "dataset.yml").write_text(YML.format(e="2021-12-31").replace("(test)", "(010190-1234)"), encoding="utf-8")
    err = _refused(raw, tmp_path)
    assert err.file.endswith("dataset.yml") and "CPR" in err.rule and "010190" not in str(err)


def test_dataset_yml_is_written_anew_without_comments(tmp_path, key_file):
    raw = write_raw(tmp_path / "raw")
    yml = YML.format(e="2021-12-31")
    (raw / "dataset.yml").write_text("# udtrukket af Anne Hansen\n" + yml, encoding="utf-8")
    pseudonymise_extract(raw, tmp_path / "out", key_file)
    written = (tmp_path / "out" / "dataset.yml").read_bytes()
    assert [n for n in _needles(KEY) if n in written] == []
    ds = load_dataset(tmp_path / "out")
    assert ds.name == "Udvikling i fleksjob II (test)" and ds.extraction_date == pd.Timestamp("2021-12-31")
    assert ds.rounds == {1: (pd.Timestamp("2019-04-01"), pd.Timestamp("2020-09-30")),
                         2: (pd.Timestamp("2020-10-01"), pd.Timestamp("2021-12-31"))}


def test_a_raw_dataset_yml_with_other_keys_is_refused_without_their_values(tmp_path, key_file):
    raw = write_raw(tmp_path / "raw")
    (raw / "dataset.yml").write_text(YML.format(e="2021-12-31") + "kontakt: Søren Østergård\n", encoding="utf-8")
    err = _refused(raw, tmp_path)
    assert err.file.endswith("dataset.yml") and "kontakt" in err.rule and "Søren" not in str(err)
    assert not (tmp_path / "out").exists()


# --- point 15: keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"k" * 32, b"ab" * 16, b"0123456789abcdef" * 2, bytes(range(40, 80)),
                                 "Tønder2021!".encode() * 3, b"a" * 40 + b"b", b"abcdefghijklmnopqrstuvwxyz012345",
                                 b"aabbccddeeffgghhiijjkkllmmnnoopp"],
                         ids=["identical", "ab", "hex-twice", "sequence", "word-thrice", "almost-identical",
                              "alphabet", "pairs"])
def test_a_guessable_key_exits_2_and_says_how_to_make_one(raw, tmp_path, key):
    key_file = write_key(tmp_path / "k", key)
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key_file)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "key" in result.stderr and "evalkit new-key" in result.stderr
    assert key.decode("utf-8") not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before


def test_random_keys_of_every_common_recipe_are_accepted():
    """2,000 seeded draws each: 32 random bytes, 64 and 32 hex digits, a UUID (estimates 134, 210, 90, 110 bits
    and more against the 80-bit floor), and the fixture keys."""
    rnd = random.Random(20211231)
    for _ in range(2000):
        raw_bytes = rnd.randbytes(32)
        for key in (raw_bytes, raw_bytes.hex().encode(), raw_bytes[:16].hex().encode(),
                    str(uuid.UUID(bytes=raw_bytes[:16], version=4)).encode()):
            assert check_key(key) is None, key
    assert check_key(KEY) is None and check_key(OTHER_KEY) is None


def test_new_key_writes_a_private_random_key_and_never_overwrites(raw, tmp_path):
    key_file = tmp_path / "project.key"
    result = CliRunner().invoke(main, ["new-key", str(key_file)])
    assert result.exit_code == 0, result.output
    content = key_file.read_bytes()
    assert re.fullmatch(rb"[0-9a-f]{64}\n", content) and content[:64] not in result.output.encode()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert read_key(key_file) == content[:64]
    again = CliRunner().invoke(main, ["new-key", str(key_file)])
    assert again.exit_code == 2 and "exists" in again.stderr and key_file.read_bytes() == content
    CliRunner().invoke(main, ["new-key", str(tmp_path / "other.key")])
    assert (tmp_path / "other.key").read_bytes() != content
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key_file)])
    assert result.exit_code == 0 and len(load_dataset(tmp_path / "out").cases) == 5
    missing = CliRunner().invoke(main, ["new-key", str(tmp_path / "no" / "such" / "k")])
    assert missing.exit_code == 2 and not (tmp_path / "no").exists()


# --- point 16 (checked here): a refusal leaves no parent folder of OUT behind --------------------------------


def test_a_refused_extract_leaves_no_parent_folders(tmp_path):
    bad = [CASES[0], (*CASES[1][:11], "2019-01-01", *CASES[1][12:]), *CASES[2:]]  # refused by load_dataset
    err = _refused(write_raw(tmp_path / "raw", cases=bad), tmp_path, out=tmp_path / "new" / "deeper" / "out")
    assert err.rows == [3] and not (tmp_path / "new").exists()


def test_missing_parent_folders_are_made_on_success(raw, key_file, tmp_path):
    pseudonymise_extract(raw, tmp_path / "new" / "deeper" / "out", key_file)
    assert len(load_dataset(tmp_path / "new" / "deeper" / "out").cases) == 5
    assert [p.name for p in (tmp_path / "new" / "deeper").iterdir()] == ["out"]


def _add_cases_column(raw: Path, name: str, values: list[str]) -> Path:
    path = raw / "cases.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [f"{lines[0]},{name}"] + [f"{line},{v}" for line, v in zip(lines[1:], values, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return raw


def test_short_first_names_are_not_sought_as_words(tmp_path, key_file):
    """A fornavn "Bo" (under 3 letters) is no reason to refuse "bo-fællesskab"; "Bent" as a word is."""
    raw = write_raw(tmp_path / "raw", cases=_with_exit_reason("flyttet i bo-fællesskab"))
    pseudonymise_extract(_add_cases_column(raw, "Fornavn", ["Bent", "Bo", "Bent", "Bent", "Bent"]),
                         tmp_path / "out", key_file)
    assert load_dataset(tmp_path / "out").cases["exit_reason"].iloc[1] == "flyttet i bo-fællesskab"
    raw = write_raw(tmp_path / "raw2", cases=_with_exit_reason("spurgt bent", row=3))
    _add_cases_column(raw, "Fornavn", ["Bo", "Bo", "Bo", "Bent", "Bo"])
    err = _refused(raw, tmp_path, out=tmp_path / "o2")
    assert "fornavn" in err.rule and err.rows == [5]


def test_the_summary_does_not_print_a_header_holding_an_identifier(tmp_path, key_file):
    raw = _add_cases_column(write_raw(tmp_path / "raw"), "ring 20 11 22 33", ["x"] * 5)
    result = CliRunner().invoke(main, ["pseudonymise", str(raw), str(tmp_path / "out"), "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    assert "20 11 22 33" not in result.stdout and "column 17" in result.stdout
