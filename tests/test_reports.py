"""Report layer and batch runner: Danish formats, report tables with suppression, and
`evalkit reports` mechanics (failures, skipping, resuming, bad input).

The runner tests use quick stand-in notebooks (tests/fixtures/notebooks/runner) on a
small dataset written here; the real notebooks run in tests/test_notebooks.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.report.blocks import Note
from evalkit.report.cells import fmt_count, fmt_share
from evalkit.report.context import _CACHE, CONTEXT_KEY_ENV, build_context, read_context, report_context, write_context
from evalkit.report.format import HIDDEN, MISSING, fmt_ci, fmt_date, fmt_int, fmt_num, fmt_p, fmt_pct
from evalkit.report.index import index_page
from evalkit.report.municipality import MunicipalityReport
from evalkit.report.status_report import StatusReport
from evalkit.runner.build import _PrivateFolder, build_reports
from evalkit.runner.kernels import Worker
from evalkit.runner.manifest import read_manifest
from evalkit.runner.plan import ReportJob, slug
from evalkit.stats.criteria import share_difference, wilson_interval

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
RUNNER_NOTEBOOKS = FIXTURES / "runner"

YML = """\
name: Testdata til rapporter
extraction_date: 2021-12-31
rounds:
  1: {start: 2019-04-01, end: 2020-09-30}
  2: {start: 2020-10-01, end: 2021-12-31}
"""


def cases_csv(rows: list[str]) -> str:
    header = ("case_id,municipality,round,caseworker_id,target_group,project_entry,benefit_start,"
              "flexjob_start,exit_date,exit_reason,sex,age_band\n")
    return header + "\n".join(rows) + "\n"


def write_dataset(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset.yml").write_text(YML, encoding="utf-8")
    (folder / "cases.csv").write_text(cases_csv(rows), encoding="utf-8")
    return folder


def three_municipalities(folder: Path) -> Path:
    """Tønder and Faxe (round 1), Stevns (round 2): a few cases each."""
    rows = []
    for i, (m, r) in enumerate([("Tønder", 1), ("Faxe", 1), ("Stevns", 2)]):
        entry = "2019-05-01" if r == 1 else "2020-11-01"
        for j in range(6):
            flex = "2020-03-01" if (r == 1 and j < 2) else ""
            rows.append(f"{m[:2]}{j},{m},{r},W{i},ledighedsydelse,{entry},2019-03-01,{flex},,,K,40-49")
    return write_dataset(folder, rows)


# --- Danish number formats ----------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [(1607, "1.607"), (39000, "39.000"), (1234567, "1.234.567"), (0, "0"), (12, "12"), (-1607, "-1.607")],
)
def test_fmt_int(value, text):
    assert fmt_int(value) == text


@pytest.mark.parametrize(
    "value, decimals, text",
    [(23.4, 1, "23,4"), (1607.25, 2, "1.607,25"), (0.5, 2, "0,50"), (-0.04, 1, "0,0"), (-1.25, 2, "-1,25"),
     (1234567.891, 1, "1.234.567,9"),
     (0.125, 2, "0,13"), (2.5, 0, "3"), (1.005, 2, "1,01")],  # halves round up, as a person rounds the decimal
)
def test_fmt_num(value, decimals, text):
    assert fmt_num(value, decimals) == text


def test_fmt_pct_counts_and_missing():
    assert fmt_pct(0.234) == "23,4 %"
    assert fmt_pct(0.2345) == "23,5 %"  # not 23,4 from the binary 23.449999...
    assert fmt_pct(1.0) == "100,0 %"
    assert fmt_pct(0.05, 0) == "5 %"
    assert fmt_pct(None) == MISSING
    assert fmt_pct(float("nan")) == MISSING
    assert fmt_count(3) == "<5" and fmt_count(0) == "0" and fmt_count(1607) == "1.607"
    assert fmt_count(7, threshold=10) == "<10"
    assert fmt_share(3, 20) == HIDDEN and fmt_share(10, 20) == "50,0 %"
    assert fmt_p(0.0004) == "<0,001" and fmt_p(0.0123) == "0,012"
    assert fmt_date(pd.Timestamp("2021-12-31")) == "31.12.2021"
    assert fmt_ci(0.312, 0.544) == "31,2–54,4 %"
    assert fmt_ci(-0.109, -0.016) == "-10,9 til -1,6 %"


def test_slug_for_file_names():
    assert slug("Tønder") == "toender"
    assert slug("Ærø") == "aeroe"
    assert slug("Høje-Taastrup") == "hoeje-taastrup"
    assert slug("Lyngby-Taarbæk") == "lyngby-taarbaek"
    assert slug("København") == "koebenhavn"


def test_long_names_give_short_distinct_file_names():
    """A 300-character municipality name must not make a file name the file system refuses."""
    a, b = "Kommune " + "x" * 292, "Kommune " + "x" * 291 + "y"
    assert len(slug(a)) <= 60 and len(slug(b)) <= 60
    assert slug(a) != slug(b) and slug(a) == slug(a)
    assert slug(a).startswith("kommune-xxxx") and re.fullmatch(r"[a-z0-9-]+-[0-9a-f]{8}", slug(a))
    assert slug("x" * 60) == "x" * 60  # short enough: unchanged


def test_share_difference_is_newcombes_interval():
    # Newcombe (1998) method 10 from the two Wilson intervals, written out:
    # d = p2 - p1, low = d - sqrt((p2 - l2)^2 + (u1 - p1)^2), high = d + sqrt((u2 - p2)^2 + (p1 - l1)^2)
    k1, n1, k2, n2 = 326, 805, 291, 850
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1)
    l2, u2 = wilson_interval(k2, n2)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    got = share_difference(k1, n1, k2, n2)
    assert got["diff"] == pytest.approx(d)
    assert got["ci_low"] == pytest.approx(low, abs=1e-9)
    assert got["ci_high"] == pytest.approx(high, abs=1e-9)


# --- report tables with small counts ---------------------------------------


@pytest.fixture(scope="module")
def small_count_context(tmp_path_factory):
    """Storby (40 cases) and Lilleby (3 cases): Lilleby's counts are all small."""
    from evalkit.data.dataset import load_dataset

    rows = []
    for j in range(40):
        flex = "2020-01-15" if j % 3 == 0 else ""
        group = "ledighedsydelse" if j % 4 else "rehab"
        benefit = "2019-03-01" if group == "ledighedsydelse" else ""
        rows.append(f"S{j},Storby,1,W{j % 6},{group},2019-05-01,{benefit},{flex if benefit else ''},,,"
                    f"{'KM'[j % 2]},40-49")
    rows += [
        "L1,Lilleby,1,WL,ledighedsydelse,2019-05-01,2019-03-01,2020-02-01,,,K,30-39",
        "L2,Lilleby,1,WL,ledighedsydelse,2019-06-01,2019-03-01,,,,M,30-39",
        "L3,Lilleby,1,WL,rehab,2019-06-01,,,2020-01-01,flyttet,M,50-59",
    ]
    folder = write_dataset(tmp_path_factory.mktemp("small") / "data", rows)
    return build_context(load_dataset(folder))


def test_status_table_suppresses_small_counts_and_their_complement(small_count_context):
    report = MunicipalityReport(small_count_context, "Lilleby")
    frame = report.status().frame
    # Lilleby: ledighedsydelse 1, fleksjob_0_10 1, udgået 1, total 3 -> all "<5", shares hidden
    assert frame.loc[frame["Statuskategori"] == "Ledighedsydelse", "Antal"].item() == "<5"
    assert frame.loc[frame["Statuskategori"] == "I alt", "Antal"].item() == "<5"
    assert set(frame.loc[frame["Antal"] == "<5", "Andel"]) == {HIDDEN}
    assert not any(re.fullmatch(r"[1-4]", v) for v in frame["Antal"])


def test_criteria_and_key_figures_hide_shares_of_few_persons(small_count_context):
    report = MunicipalityReport(small_count_context, "Lilleby")
    criteria = report.criteria().frame
    sc1 = criteria.iloc[0]
    assert sc1["Værdi"] == HIDDEN and sc1["95 % CI"] == HIDDEN and sc1["Personer"] == "<5"
    assert "Kan ikke vurderes" in sc1["Vurdering"]
    key = report.key_figures().frame.set_index("Nøgletal")
    assert key.loc["Forløb i projektet", "Lilleby"] == "<5"
    assert key.loc["Andel i fleksjob (succeskriterium 1)", "Lilleby"] == HIDDEN
    # the project column is large enough to be shown: 43 cases
    assert key.loc["Forløb i projektet", "Projektet i alt"] == "43"


def test_survival_curve_not_drawn_for_a_small_risk_set(small_count_context):
    out = MunicipalityReport(small_count_context, "Lilleby").survival_figure()
    assert isinstance(out, Note) and "diskretionering" in out.text


def test_status_overview_applies_secondary_suppression(small_count_context):
    frame = StatusReport(small_count_context).status_table().frame.set_index("Kommune")
    # Storby: rehab 10, ledighedsydelse 30 (20 open, 10 in flexjob) -> Lilleby's single small cells
    # in each column are protected; no column or row shows exactly one hidden cell.
    hidden = frame.drop(columns="Runde").isin(["<5", HIDDEN])
    assert all(hidden[c].sum() != 1 for c in hidden.columns)
    assert all(hidden.loc[i].sum() != 1 for i in hidden.index)
    assert frame.loc["I alt", "I alt"] == "43"


def test_index_page_links_reports_and_marks_failures(small_count_context):
    listed = [("statusrapport", "status", None, "Statusrapport"),
              ("kommune-storby", "municipality", "Storby", "Kommunerapport: Storby"),
              ("kommune-lilleby", "municipality", "Lilleby", "Kommunerapport: Lilleby")]
    entries = {"statusrapport": {"status": "ok"}, "kommune-storby": {"status": "ok"},
               "kommune-lilleby": {"status": "failed"}}
    page = index_page(small_count_context, listed, entries)
    assert 'href="kommune-storby.html"' in page and 'href="statusrapport.html"' in page
    assert 'href="kommune-lilleby.html"' not in page and 'Lilleby <span class="ek-notmet">fejlede</span>' in page
    assert ".ipynb" not in page  # the failed notebook is kept outside the report folder, unnamed here
    assert_self_contained(page)


# --- HTML checks shared with tests/test_notebooks.py --------------------------


def assert_self_contained(page: str) -> None:
    """No script tags, and nothing loaded from the network (no http(s) in src/href/url/@import)."""
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"""url\(\s*["']?(https?:)?//|@import""", page, re.IGNORECASE)


def assert_no_code(page: str) -> None:
    """No code cells or prompts in the HTML, only their outputs."""
    assert 'class="input"' not in page and "input_area" not in page
    assert "In&nbsp;[" not in page and "Out[" not in page
    assert "views.report_context" not in page and "import " not in page


# --- the warm-kernel worker on notebooks that fail on purpose -----------------------


def test_worker_failure_paths_and_kernel_restart(tmp_path):
    out, work = tmp_path / "out", tmp_path / "private"
    out.mkdir()
    work.mkdir()
    worker = Worker()
    try:
        def run(name, notebook, **params):
            return worker.run(ReportJob(name, name, "test", str(FIXTURES / notebook), params), out, work)

        ok = run("works", "works.ipynb", municipality="Tønder")
        assert ok.ok and (out / "works.html").exists()
        raised = run("raises", "raises.ipynb")
        assert not raised.ok and "deliberate failure" in raised.error
        exited = run("exit0", "sys_exit.ipynb", exit_code=0)  # papermill lets sys.exit(0) pass; a report may not
        assert not exited.ok and "SystemExit" in exited.error
        died = run("dies", "kernel_dies.ipynb")
        assert not died.ok and "Dead" in died.error
        again = run("works2", "works.ipynb", municipality="Faxe")  # a fresh kernel took over
        assert again.ok
    finally:
        worker.shutdown()
    # failed notebooks stay in the private folder, never in the report folder
    assert {p.name for p in out.iterdir()} == {f"{n}{x}" for n in ("works", "works2")
                                               for x in (".html", ".xlsx", "-figurer")}  # issue 11: the exports
    assert {p.name for p in work.iterdir()} == {"raises.failed.ipynb", "exit0.failed.ipynb", "dies.failed.ipynb"}
    assert raised.kept == str(work / "raises.failed.ipynb")
    kept = nbformat.read(work / "raises.failed.ipynb", as_version=4)
    errors = [o for c in kept.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError"
    page = (out / "works.html").read_text(encoding="utf-8")
    assert "Kommune: Tønder" in page and "data:image/png;base64," in page
    assert_no_code(page)
    assert_self_contained(page)


# --- the batch runner ---------------------------------------------------------


def html_files(out: Path) -> set[str]:
    return {p.name for p in out.glob("*.html")}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """This test's own system temporary folder: where a run makes its private folders."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_failing_municipality_leaves_the_others_and_exits_1(tmp_path, private_tmp, capsys):
    data = three_municipalities(tmp_path / "data")
    out = tmp_path / "reports"
    code = build_reports(data, out, jobs=2, notebook_dir=RUNNER_NOTEBOOKS, progress=False)
    assert code == 1
    assert html_files(out) == {"index.html", "kommune-toender.html", "kommune-faxe.html", "statusrapport.html",
                               "rundesammenligning.html"}
    # the executed notebook (it may hold unsuppressed data) is kept outside the report folder, and named
    err = capsys.readouterr().err
    kept = re.search(r"FAILED kommune-stevns: .*?(/\S+kommune-stevns\.failed\.ipynb)", err)
    assert kept, err
    failed = Path(kept.group(1))
    assert failed.exists() and out.resolve() not in failed.resolve().parents
    assert failed.parent.parent == private_tmp and failed.parent.name.startswith("evalkit-failed-")
    assert failed.parent.stat().st_mode & 0o077 == 0  # private to the analyst
    assert "deliberate failure for Stevns" in failed.read_text(encoding="utf-8")
    manifest = read_manifest(out)["reports"]
    assert manifest["kommune-stevns"]["status"] == "failed"
    assert manifest["kommune-toender"]["status"] == "ok"
    entry = manifest["kommune-toender"]
    assert entry["parameters"]["municipality"] == "Tønder" and entry["parameters"]["round"] == 1
    assert len(entry["input_hash"]) == 64 and entry["evalkit_version"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="kommune-toender.html"' in index and 'href="kommune-stevns.html"' not in index
    assert 'Stevns <span class="ek-notmet">fejlede</span>' in index and ".ipynb" not in index
    # nothing under --out but the published files (issue 11: with workbooks, figures, tidy files), all listed
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files - {"manifest.json"} <= set(read_manifest(out)["files"])
    assert {f.rpartition(".")[2] for f in files} <= {"html", "json", "xlsx", "csv", "png", "svg"}
    assert {n.removesuffix(".html") + ".xlsx" for n in html_files(out)} <= files
    assert not (out / "kommune-stevns.xlsx").exists() and not (out / "kommune-stevns-figurer").exists()
    assert [p.name for p in private_tmp.iterdir()] == [failed.parent.name]  # the run's private folder is gone

    # unchanged reports are skipped; the failed one is tried again
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("kommune-*.html")}
    assert build_reports(data, out, jobs=2, notebook_dir=RUNNER_NOTEBOOKS, progress=False) == 1
    assert "0 written, 4 unchanged, 1 failed" in capsys.readouterr().err
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("kommune-*.html")}
    assert before == after

    # --force redoes every report; a report whose municipality is left out stays listed
    assert build_reports(data, out, municipalities=["Tønder"], jobs=1, force=True,
                         notebook_dir=RUNNER_NOTEBOOKS, progress=False) == 0
    assert (out / "kommune-toender.html").stat().st_mtime_ns > before["kommune-toender.html"]
    assert (out / "kommune-faxe.html").stat().st_mtime_ns == before["kommune-faxe.html"]
    assert 'href="kommune-faxe.html"' in (out / "index.html").read_text(encoding="utf-8")


def test_skip_depends_on_input_hash(tmp_path, capsys, monkeypatch):
    from evalkit.runner import build

    data = three_municipalities(tmp_path / "data")
    out = tmp_path / "reports"
    assert build_reports(data, out, municipalities=["Tønder", "Faxe"], jobs=2, notebook_dir=RUNNER_NOTEBOOKS,
                         progress=False) == 0
    assert "0 unchanged" in capsys.readouterr().err
    index = (out / "index.html").stat().st_mtime_ns
    with monkeypatch.context() as patched:  # into an earlier run's folder, kernels start only for changed reports
        patched.setattr(build, "KernelPool", lambda *a, **k: pytest.fail("a kernel started for nothing"))
        assert build_reports(data, out, municipalities=["Tønder", "Faxe"], jobs=2, notebook_dir=RUNNER_NOTEBOOKS,
                             progress=False) == 0
    assert "0 written, 4 unchanged" in capsys.readouterr().err
    assert (out / "index.html").stat().st_mtime_ns == index  # nothing changed: the index is not redone either
    # one more case in the data: every report is redone
    with open(data / "cases.csv", "a", encoding="utf-8") as fh:
        fh.write("TX,Tønder,1,W0,rehab,2019-07-01,,,,,M,30-39\n")
    assert build_reports(data, out, municipalities=["Tønder", "Faxe"], jobs=2, notebook_dir=RUNNER_NOTEBOOKS,
                         progress=False) == 0
    assert "4 written, 0 unchanged" in capsys.readouterr().err


def processes_with(marker: str) -> list[int]:
    """The processes whose environment holds `marker` (Linux /proc): a run's kernels inherit it."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_keeps_only_complete_reports_and_resumes(tmp_path, stop):
    """Ctrl-C in a terminal or SIGTERM from a job scheduler: exit 130, only whole reports kept, the private
    folder (the context with case-level rows) removed and no kernel left running."""
    data = three_municipalities(tmp_path / "data")
    out = tmp_path / "reports"
    private = tmp_path / "tmp"  # the system's temporary folder, for the run's private folder
    private.mkdir()
    marker = f"EVALKIT_TEST_RUN={tmp_path.name}-{os.getpid()}"
    env = {**os.environ, "EVALKIT_TEST_SLEEP": "1.5", "EVALKIT_NOTEBOOKS": str(RUNNER_NOTEBOOKS),
           "TMPDIR": str(private), "EVALKIT_TEST_RUN": marker.partition("=")[2]}
    cmd = [sys.executable, "-m", "evalkit.cli", "reports", str(data), "--out", str(out), "--jobs", "1",
           "--municipality", "Tønder", "--municipality", "Faxe", "--with-overview"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not read_manifest(out)["reports"]:  # the first report is finished
        time.sleep(0.1)
    assert len(processes_with(marker)) >= 2  # the run and its kernel: the check below sees them
    proc.send_signal(stop)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    deadline = time.time() + 10
    while processes_with(marker) and time.time() < deadline:  # (a kernel's own exit may take a moment)
        time.sleep(0.2)
    assert processes_with(marker) == []
    done = {n for n, e in read_manifest(out)["reports"].items() if e["status"] == "ok"}
    assert 1 <= len(done) < 4
    assert {p.stem for p in out.glob("kommune-*.html")} | {p.stem for p in out.glob("[sr]*.html")} == done
    # and the run's indicators files, written whole while the reports render (they need the context only)
    assert {p.name for p in out.iterdir()} == {f"{n}{x}" for n in done for x in (".html", ".xlsx", "-figurer")} \
        | {"manifest.json", "indikatorer.csv", "indikatorer.xlsx"}
    assert not list(private.iterdir())  # the run's private folder (context, notebooks) is removed
    # the next run does only what is missing
    env["EVALKIT_TEST_SLEEP"] = "0"
    rerun = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{4 - len(done)} written, {len(done)} unchanged" in rerun.stderr


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    runner = CliRunner()
    out = tmp_path / "reports"
    missing = runner.invoke(main, ["reports", str(tmp_path / "nope"), "--out", str(out)])
    assert missing.exit_code == 2 and not out.exists()
    data = three_municipalities(tmp_path / "data")
    with open(data / "cases.csv", "a", encoding="utf-8") as fh:
        fh.write("Tø0,Tønder,1,W0,rehab,2019-07-01,,,,,M,30-39\n")  # duplicate case_id
    duplicate = runner.invoke(main, ["reports", str(data), "--out", str(out)])
    assert duplicate.exit_code == 2 and "cases" in duplicate.output and not out.exists()


def test_unknown_municipality_exits_2_and_writes_nothing(tmp_path):
    data = three_municipalities(tmp_path / "data")
    out = tmp_path / "reports"
    result = CliRunner().invoke(main, ["reports", str(data), "--out", str(out), "--municipality", "Atlantis"])
    assert result.exit_code == 2 and "Atlantis" in result.output and not out.exists()
    # a targets file naming a municipality without cases is not an error (a file may serve several datasets),
    # but it is named, with the name it was probably meant for, before anything else can stop the run
    targets = tmp_path / "targets.yml"
    targets.write_text("municipalities:\n  Fakse: {sc1: 0.5}\n", encoding="utf-8")  # Faxe's old spelling
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["reports", str(data), "--out", str(a_file), "--targets", str(targets)])
    assert result.exit_code == 2 and "warning" in result.output
    assert "municipalities.Fakse (did you mean Faxe?)" in result.output


def test_manifest_is_valid_json_with_provenance(tmp_path):
    data = three_municipalities(tmp_path / "data")
    out = tmp_path / "reports"
    assert build_reports(data, out, municipalities=["Faxe"], jobs=1, notebook_dir=RUNNER_NOTEBOOKS,
                         progress=False) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["reports"]) == {"kommune-faxe", "statusrapport", "rundesammenligning"}
    for entry in manifest["reports"].values():
        assert {"input_hash", "evalkit_version", "parameters", "key", "html", "status"} <= set(entry)
        assert not {"context_cache", "data"} & set(entry["parameters"])
    assert manifest["written_by"] == "evalkit"
    assert manifest["dataset"] == {"name": "Testdata til rapporter", "folder": "data"}
    reports = {"kommune-faxe", "statusrapport", "rundesammenligning"}
    own = {"index.html", "index.xlsx", "indikatorer.csv", "indikatorer.xlsx",
           *(f"{n}{x}" for n in reports for x in (".html", ".xlsx", "-figurer/"))}
    files = set(manifest["files"])
    assert own <= files  # issue 11: and each figure file, inside its report's folder
    assert all(f.partition("/")[0] + "/" in own for f in files - own)
    assert str(tmp_path) not in json.dumps(manifest, ensure_ascii=False)


# --- the output folder: only what is published, never someone else's files ---------------


class Planted:
    """A pickle that creates a marker file when it is loaded: proof that it was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_context_file_is_loaded_only_with_the_runs_key(tmp_path, monkeypatch):
    key = os.urandom(32)
    good = tmp_path / "context.pkl"
    write_context(good, {"meta": {"name": "x"}}, key)
    assert read_context(good, key) == {"meta": {"name": "x"}}
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Planted(marker))
    forged = tmp_path / "forged.pkl"
    forged.write_bytes(hmac.new(os.urandom(32), payload, hashlib.sha256).digest() + payload)
    with pytest.raises(ValueError, match="not a context written by this evalkit run"):
        read_context(forged, key)
    monkeypatch.setenv(CONTEXT_KEY_ENV, key.hex())
    with pytest.raises(ValueError):
        report_context(cache=forged)  # what a notebook kernel calls
    assert report_context(cache=good) == {"meta": {"name": "x"}}
    monkeypatch.delenv(CONTEXT_KEY_ENV)
    _CACHE.clear()
    with pytest.raises(ValueError):
        report_context(cache=good)  # without the run's key nothing is loaded
    assert not marker.exists()


def test_the_private_folder_is_the_users_alone_and_removed_even_on_errors(private_tmp):
    with pytest.raises(RuntimeError), _PrivateFolder() as work:
        assert work.parent == private_tmp and work.stat().st_mode & 0o777 == 0o700
        (work / "context.pkl").write_bytes(b"case rows")
        raise RuntimeError("a failing run")
    assert not list(private_tmp.iterdir())


def test_a_folder_evalkit_did_not_write_is_refused_and_left_alone(tmp_path, private_tmp, monkeypatch):
    """--out is refused unless new, empty or evalkit's; a file evalkit did not write is never overwritten,
    and a pickle planted at evalkit 0.1.0's cache path (OUT/.evalkit/context.pkl) is never loaded."""
    monkeypatch.setenv("EVALKIT_NOTEBOOKS", str(RUNNER_NOTEBOOKS))
    data = three_municipalities(tmp_path / "data")
    runner = CliRunner()

    def run(out: Path, municipality: str | None = "Faxe"):
        return runner.invoke(main, ["reports", str(data), "--out", str(out), "--jobs", "1",
                                    *(["--municipality", municipality] if municipality else [])])

    # the user's own folder: index.html, manifest.json and a .evalkit/ folder of theirs
    mine = tmp_path / "mine"
    (mine / ".evalkit").mkdir(parents=True)
    (mine / "index.html").write_text("my page", encoding="utf-8")
    (mine / "manifest.json").write_text('{"reports": {}}', encoding="utf-8")
    (mine / ".evalkit" / "notes.txt").write_text("my notes", encoding="utf-8")
    before = snapshot(mine)
    result = run(mine)
    assert result.exit_code == 2 and str(mine) in result.output and "choose a new or empty folder" in result.output
    assert snapshot(mine) == before and not list(private_tmp.iterdir())

    # an empty folder becomes evalkit's
    out = tmp_path / "reports"
    out.mkdir()
    assert run(out).exit_code == 0 and (out / "kommune-faxe.html").exists()
    # ... and then holds the user's own file where a report goes: refused, nothing overwritten
    marker = tmp_path / "pwned"
    (out / ".evalkit").mkdir()
    (out / ".evalkit" / "context.pkl").write_bytes(pickle.dumps(Planted(marker)))
    (out / "kommune-toender.html").write_text("mine", encoding="utf-8")
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    before = snapshot(out)
    result = run(out, None)
    assert result.exit_code == 2 and str(out / "kommune-toender.html") in result.output
    assert snapshot(out) == before
    # the user's other files do not stop a run and stay as they are; the planted pickle is not loaded
    (out / "kommune-toender.html").unlink()
    assert run(out, "Stevns").exit_code == 1  # the stand-in notebook fails for Stevns on purpose
    assert not marker.exists()
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes"
    assert (out / ".evalkit" / "context.pkl").read_bytes() == before[".evalkit/context.pkl"]


def test_refused_input_leaves_no_folder_behind(tmp_path, private_tmp):
    runner = CliRunner()
    good = three_municipalities(tmp_path / "data")
    broken = write_dataset(tmp_path / "broken", ["X1,Faxe,1,W0,ledighedsydelse,2019-13-45,,,,,K,40-49"])
    targets = tmp_path / "targets.yml"
    targets.write_text("sc1: [unclosed\n", encoding="utf-8")
    deep = tmp_path / "a" / "b" / "c"
    for args in ([str(broken), "--out", str(deep)],
                 [str(good), "--out", str(deep), "--targets", str(targets)],
                 [str(good), "--out", str(deep), "--municipality", "Atlantis"]):
        result = runner.invoke(main, ["reports", *args])
        assert result.exit_code == 2, result.output
        assert not (tmp_path / "a").exists()
    assert not list(private_tmp.iterdir())


def test_an_out_folder_that_cannot_be_written_exits_2_naming_it(tmp_path, private_tmp, monkeypatch):
    """--out is a file, below a file, too long a name, or in a read-only folder: exit 2, the path named,
    no traceback, and no folder left behind."""
    monkeypatch.setenv("EVALKIT_NOTEBOOKS", str(RUNNER_NOTEBOOKS))
    data = three_municipalities(tmp_path / "data")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    too_long = tmp_path / "a" / "b" / ("c" * 300)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    # root writes into read-only folders; /sys refuses new folders even to root
    in_readonly = readonly / "out" if os.geteuid() != 0 else Path("/sys") / f"evalkit-test-{os.getpid()}"
    for out, named in ((a_file, a_file), (a_file / "out", a_file), (too_long, too_long),
                       (in_readonly, in_readonly)):
        result = CliRunner().invoke(main, ["reports", str(data), "--out", str(out)])
        assert result.exit_code == 2, (out, result.output)
        assert str(named) in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, OSError)
    assert not (tmp_path / "a").exists() and not list(readonly.iterdir()) and not in_readonly.exists()
    assert a_file.read_text(encoding="utf-8") == "x"
    assert not list(private_tmp.iterdir())
    # the other commands that write a folder: the same, through the command line's net for system errors
    result = CliRunner().invoke(main, ["sample", "--out", str(a_file / "out")])
    assert result.exit_code == 2 and str(a_file) in result.output and not isinstance(result.exception, OSError)
