"""The real report notebooks, executed: as-is with plain papermill, through `evalkit reports`
on the sample data (plus a municipality with small counts), and on thin data.

Each HTML is checked for its sections, for hidden code, for being self-contained
(nothing fetched from the network) and for small-cell suppression.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from html import unescape
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from test_reports import assert_no_code, assert_self_contained, write_dataset

from evalkit.runner.build import build_reports
from evalkit.runner.export import notebook_to_html
from evalkit.runner.manifest import read_manifest
from evalkit.runner.plan import notebooks_dir, slug

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"

MUNICIPALITY_SECTIONS = ["Nøgletal", "Succeskriterier", "Statuskategorier", "Udvikling over tid", "Tid til fleksjob",
                         "Timeprogression",
                         "Sagsstamme og resultater", "Opfølgning og Step Up", "Ressourceberegner", "Målstyring",
                         "Datagrundlag og proveniens"]
STATUS_SECTIONS = ["Statuskategorier pr. kommune", "Succeskriterier pr. kommune", "Overlevelseskurver pr. kommune",
                   "Caterpillar-plot pr. succeskriterium", "Produktionsstyring: flowet i indsatsmodellen",
                   "Datagrundlag og proveniens"]
ROUND_SECTIONS = ["Overlevelse pr. runde", "Cox-model", "Succeskriterium 1 og 3: forskelle mellem runderne",
                  "Timeprogression pr. runde", "Datagrundlag og proveniens"]


def sections(page: str) -> list[str]:
    """The page's h2 headings as text (nbconvert writes their letters beyond ASCII as character references)."""
    return [unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "").strip()
            for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page, re.DOTALL)]


def assert_report(page: str, expected_sections: list[str]) -> None:
    assert sections(page) == expected_sections
    assert_no_code(page)
    assert_self_contained(page)
    assert "Traceback" not in page and "Error" not in page


def test_municipality_notebook_runs_as_is_with_plain_papermill(tmp_path, rendered_reports):
    """The notebook as a project lead opens it: default parameters, a fresh kernel, cwd = notebooks/.
    Its figures are the runner's, byte for byte: run by hand it computes the context of every
    municipality, so it hides what the runner's report hides (the linked decision needs them all)."""
    folder = notebooks_dir()
    executed = pm.execute_notebook(str(folder / "municipality.ipynb"), str(tmp_path / "out.ipynb"),
                                   kernel_name="python3", cwd=str(folder), progress_bar=False)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    page = notebook_to_html(executed, "Kommunerapport: Tønder")
    assert_report(page, MUNICIPALITY_SECTIONS)
    assert "Kommunerapport: Tønder" in page
    figures = re.compile(r'src="data:image/png;base64,([^"]+)"').findall
    runner = rendered_reports("sample").pages["kommune-toender.html"]
    assert len(figures(page)) >= 4 and figures(page) == figures(runner)
    assert page.count("data:image/png;base64,") >= 3  # survival, hours, caseload


@pytest.fixture(scope="module")
def sample_plus_small(tmp_path_factory) -> Path:
    """data/sample with one more municipality, Lilleby, of three cases."""
    folder = tmp_path_factory.mktemp("sample") / "data"
    shutil.copytree(SAMPLE, folder)
    header = (folder / "cases.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    rows = [
        {"case_id": "LB1", "target_group": "ledighedsydelse", "project_entry": "2019-05-01",
         "benefit_start": "2019-03-01", "flexjob_start": "2020-02-01", "sex": "K", "age_band": "30-39"},
        {"case_id": "LB2", "target_group": "ledighedsydelse", "project_entry": "2019-06-01",
         "benefit_start": "2019-03-01", "sex": "M", "age_band": "30-39"},
        {"case_id": "LB3", "target_group": "rehab", "project_entry": "2019-06-01", "exit_date": "2020-01-01",
         "exit_reason": "flyttet", "sex": "M", "age_band": "50-59"},
    ]
    with open(folder / "cases.csv", "a", encoding="utf-8") as fh:
        for row in rows:
            row.update(municipality="Lilleby", round="1", caseworker_id="WLB")
            fh.write(",".join(row.get(col.strip(), "") for col in header) + "\n")
    return folder


@pytest.fixture(scope="module")
def full_run(sample_plus_small, tmp_path_factory) -> Path:
    """`evalkit reports` for three municipalities with the overview (status report, round comparison)."""
    out = tmp_path_factory.mktemp("full") / "reports"
    code = build_reports(sample_plus_small, out, municipalities=["Tønder", "Viborg", "Lilleby"], jobs=2,
                         progress=False)
    assert code == 0
    return out


def test_runner_end_to_end_on_sample(full_run):
    out = full_run
    assert {p.name for p in out.glob("*.html")} == {
        "index.html", "kommune-toender.html", "kommune-viborg.html", "kommune-lilleby.html",
        "statusrapport.html", "rundesammenligning.html"}
    manifest = read_manifest(out)["reports"]
    for name in ("kommune-toender", "kommune-viborg", "kommune-lilleby"):
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        assert_report(page, MUNICIPALITY_SECTIONS)
        assert manifest[name]["input_hash"] in page and manifest[name]["evalkit_version"] in page
    status = (out / "statusrapport.html").read_text(encoding="utf-8")
    assert_report(status, STATUS_SECTIONS)
    rounds = (out / "rundesammenligning.html").read_text(encoding="utf-8")
    assert_report(rounds, ROUND_SECTIONS)

    toender = (out / "kommune-toender.html").read_text(encoding="utf-8")
    assert "Kommunerapport: Tønder" in toender and "3.240" in toender  # the project's cases (3,237 + 3), Danish format
    viborg = (out / "kommune-viborg.html").read_text(encoding="utf-8")
    assert "Jobteam Viborg" in viborg  # goal tracking shown where goals exist
    assert "ingen målstyringsdata" in toender.lower()

    # small counts: Lilleby's numbers are suppressed, its curve is not drawn
    lilleby = (out / "kommune-lilleby.html").read_text(encoding="utf-8")
    assert "<td>Ledighedsydelse</td><td>&lt;5</td><td>x</td>" in lilleby
    assert "<td>1. Andel i fleksjob blandt borgere på ledighedsydelse</td><td>x</td><td>x</td><td>&lt;5</td>" in lilleby
    assert "kurven vises ikke (diskretionering)" in lilleby
    assert "<td>Lilleby</td><td>1</td>" in status and "<td>Lilleby</td><td>1</td><td>0</td><td>&lt;5</td>" in status

    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("kommune-toender", "kommune-viborg", "kommune-lilleby", "statusrapport", "rundesammenligning"):
        assert f'href="{name}.html"' in index
    assert_self_contained(index)


def without_run_time(page: str) -> str:
    """A report without the time its context was computed (the footer's "Beregnet")."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "TIME", page)


def test_one_municipality_gives_its_report_and_the_index_and_the_same_report(full_run, sample_plus_small, tmp_path):
    """--municipality renders that report and the index, not the overview; the report is the one the full
    run published, byte for byte (apart from the time it was computed): a report published twice must
    not differ, or two versions together could reveal what one of them suppressed."""
    from click.testing import CliRunner

    from evalkit.cli import main

    out = tmp_path / "one"
    result = CliRunner().invoke(main, ["reports", str(sample_plus_small), "--out", str(out), "--municipality",
                                       "lilleby"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"index.html", "kommune-lilleby.html", "manifest.json", "index.xlsx",
                                               "kommune-lilleby.xlsx", "kommune-lilleby-figurer", "indikatorer.csv",
                                               "indikatorer.xlsx"}
    assert set(read_manifest(out)["reports"]) == {"kommune-lilleby"}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="kommune-lilleby.html"' in index and "statusrapport" not in index
    alone = (out / "kommune-lilleby.html").read_text(encoding="utf-8")
    assert without_run_time(alone) == without_run_time((full_run / "kommune-lilleby.html").read_text(encoding="utf-8"))

    # --with-overview adds the status report and the round comparison; Lilleby's report is kept as it was
    result = CliRunner().invoke(main, ["reports", str(sample_plus_small), "--out", str(out), "--municipality",
                                       "Lilleby", "--with-overview"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.glob("*.html")} == {"index.html", "kommune-lilleby.html", "statusrapport.html",
                                                     "rundesammenligning.html"}
    assert "1 unchanged" in result.output


def test_reports_on_thin_data_explain_what_is_missing(tmp_path):
    """One case; no flexjob at all; everyone censored before 39 weeks; no hours, contacts or goals tables."""
    data = write_dataset(tmp_path / "thin", [
        "A1,Enkeltby,1,W1,ledighedsydelse,2019-05-01,2019-04-01,,,,K,30-39",
        "B1,Ingenby,2,W2,ledighedsydelse,2021-10-01,2021-09-01,,,,M,40-49",
        "B2,Ingenby,2,W2,ledighedsydelse,2021-10-05,2021-09-20,,,,K,50-59",
        "B3,Ingenby,2,W2,rehab,2021-10-05,,,,,K,50-59",
        "B4,Ingenby,2,W3,ledighedsydelse,2021-11-01,2021-10-20,,,,M,18-29",
        "B5,Ingenby,2,W3,ledighedsydelse,2021-11-02,2021-11-01,,,,M,60+",
        "B6,Ingenby,2,W3,ledighedsydelse,2021-11-03,2021-10-01,,,,K,60+",
    ])
    out = tmp_path / "reports"
    assert build_reports(data, out, jobs=2, progress=False) == 0
    one = (out / "kommune-enkeltby.html").read_text(encoding="utf-8")
    none = (out / "kommune-ingenby.html").read_text(encoding="utf-8")
    for page in (one, none):
        assert_report(page, MUNICIPALITY_SECTIONS)
        assert "ingen timeregistreringer" in page and "ingen kontakter" in page
        assert "ingen målstyringsdata" in page.lower()
    assert "kurven vises ikke" in one
    assert "Ingen af kommunens borgere er endnu kommet i fleksjob" in none
    assert "S(39) kan ikke beregnes: ingen borgere er fulgt frem til 39 uger" in none
    assert_report((out / "statusrapport.html").read_text(encoding="utf-8"), STATUS_SECTIONS)
    rounds = (out / "rundesammenligning.html").read_text(encoding="utf-8")
    assert_report(rounds, ROUND_SECTIONS)
    assert "Cox-modellen kan ikke estimeres" in rounds


def test_notebooks_have_a_parameters_cell_and_no_outputs():
    """Committed notebooks are clean: tagged parameters, nothing executed, a python3 kernel."""
    for name, params in (("municipality.ipynb", {"data", "municipality", "round", "context_cache"}),
                         ("status_report.ipynb", {"data", "context_cache"}),
                         ("round_comparison.ipynb", {"data", "context_cache"})):
        nb = nbformat.read(notebooks_dir() / name, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1
        assigned = set(re.findall(r"^(\w+) =", tagged[0].source, re.MULTILINE))
        assert params <= assigned
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_published_folder_holds_no_paths_no_private_data_and_literal_names(tmp_path, monkeypatch):
    """Issue 8, points 2, 3 and 10 on one run of the real notebooks.

    The dataset sits in a folder whose path carries a marker; its name, a
    municipality and a team hold mathtext (`$x$`, `$\\x$`) and backslashes; another
    municipality's name is 100 characters long (the most loading takes). Every report is written (exit 0)
    with the names as literal text; no file under --out holds the marker, the
    test's temporary path or the repository's path; only the published files and
    manifest.json are there (no context cache with case rows); the run's private
    folder is gone afterwards.
    """
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    marker = "PATHMARKER-7f3a"
    odd, team, long_name = "Sø$x$by \\ $\\x$", "Team $x$ \\ $\\y$", "Lang" + "e" * 96  # the longest name loading accepts (names.MAX_NAME_LENGTH)
    rows = []
    for j in range(12):
        flex = "2020-01-15" if j % 3 == 0 else ""
        rows.append(f"O{j},{odd},1,W{j % 2},ledighedsydelse,2019-05-01,2019-03-01,{flex},,,{'KM'[j % 2]},40-49")
    rows += [f"L{j},{long_name},1,W3,ledighedsydelse,2019-06-01,2019-04-01,,,,K,30-39" for j in range(6)]
    data = write_dataset(tmp_path / marker / "mine data", rows)
    (data / "dataset.yml").write_text(
        'name: "Data $x$ \\\\ $\\\\z$"\nextraction_date: 2021-12-31\nrounds:\n  1: {start: 2019-04-01, end: 2020-09-30}\n',
        encoding="utf-8")
    (data / "goals.csv").write_text("team,employee_id,week,indicator,realised,target\n" + "".join(
        f'"{team}",W0,2020-W{w:02d},jobåbninger,{w % 4},3\n' for w in range(1, 9)), encoding="utf-8")
    out = tmp_path / "reports"
    assert build_reports(data, out, jobs=2, progress=False) == 0

    long_file = next(p for p in out.glob("kommune-lang*.html"))
    assert len(long_file.name) <= 80
    reports = {"statusrapport", "rundesammenligning", f"kommune-{slug(odd)}", long_file.stem}
    assert {p.name for p in out.iterdir()} == {  # issue 11: each report's workbook and figure folder, the run's files
        "index.html", "index.xlsx", "indikatorer.csv", "indikatorer.xlsx", "manifest.json",
        *(f"{r}{x}" for r in reports for x in (".html", ".xlsx", "-figurer"))}
    for path in (p for p in out.rglob("*") if p.is_file()):
        blobs = [path.read_bytes()]
        if path.suffix == ".xlsx":  # a zip of XML parts
            with zipfile.ZipFile(path) as z:
                blobs = [z.read(n) for n in z.namelist()]
        for secret in (marker, str(tmp_path), str(ROOT)):
            assert all(secret.encode() not in b for b in blobs), (path.name, secret)
    assert not list(private.iterdir())

    page = (out / f"kommune-{slug(odd)}.html").read_text(encoding="utf-8")
    assert_report(page, MUNICIPALITY_SECTIONS)
    assert f"Kommunerapport: {odd}" in page and team in page
    assert "Data $x$ \\ $\\z$ (mappe mine data)" in page  # the footer names the dataset and its folder only
    assert page.count("data:image/png;base64,") >= 3  # survival, caseload, goals drawn with the names
    assert_report((out / "statusrapport.html").read_text(encoding="utf-8"), STATUS_SECTIONS)
    assert f"Kommunerapport: {long_name}" in long_file.read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{long_file.name}"' in index and odd in index
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dataset"] == {"name": "Data $x$ \\ $\\z$", "folder": "mine data"}
