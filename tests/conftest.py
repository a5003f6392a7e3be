"""Shared fixtures: a small valid dataset written as CSV text, and a writer for variants of it; the
reports of data/sample and of the small-cell dataset rendered once per session (`rendered_reports`).

The tables are literal CSV text (UTF-8, ',' separator, ISO dates), so a test that
breaks one rule edits one visible line and knows its row number (header = row 1).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SMALL_YML = """\
name: Lille testdatasæt
extraction_date: 2021-12-31
rounds:
  1: {start: 2019-04-01, end: 2020-09-30}
  2: {start: 2020-10-01, end: 2021-12-31}
"""

# Row numbers as a person counts them: header = 1, C1 = 2, C2 = 3, C3 = 4, C4 = 5.
SMALL_CASES = """\
case_id,municipality,round,caseworker_id,target_group,project_entry,benefit_start,flexjob_start,exit_date,exit_reason,sex,age_band,status
C1,Tønder,1,W1,ledighedsydelse,2019-05-01,2019-01-15,2019-11-04,,,K,40-49,
C2,Tønder,1,W1,rehab,2019-06-10,,,2020-02-28,flyttet til Århus,M,50-59,udgået
C3,Albertslund,1,W2,fleksjob,2019-04-15,2017-03-01,2018-09-01,,,K,60+,
C4,København,2,W3,ledighedsydelse,2020-11-02,2020-08-03,,,,M,18-29,
"""
SMALL_HOURS = """\
case_id,month,effective_hours,attended_hours
C1,2019-11,4.5,6
C1,2019-12-01,5,7.5
C3,2019-04-15,3,3
C3,2020-04-01,10.25,12
"""
SMALL_CONTACTS = """\
case_id,date,channel,kind
C1,2019-05-20,telefon,samtale
C1,2019-12-02,virksomhedsbesøg,opfølgning
C4,2021-06-01,fysisk,step_up
"""
SMALL_GOALS = """\
team,employee_id,week,indicator,realised,target
Team Syd,W1,2020-W03,jobåbninger,2,3
Team Syd,W2,2020-W53,virksomhedskontakter,12,10
"""
SMALL_TABLES = {"cases": SMALL_CASES, "hours": SMALL_HOURS, "contacts": SMALL_CONTACTS, "goals": SMALL_GOALS}


def write_dataset(folder: Path, tables: dict[str, str | bytes] | None = None, yml: str | None = SMALL_YML,
                  suffix: str = ".csv") -> Path:
    """Write dataset.yml and the tables into `folder` (text as UTF-8, bytes as given).

    `tables` defaults to the small dataset; a table mapped to None is left out,
    and `yml=None` leaves out dataset.yml.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if yml is not None:
        (folder / "dataset.yml").write_text(yml, encoding="utf-8")
    for table, content in (SMALL_TABLES if tables is None else tables).items():
        if content is None:
            continue
        path = folder / f"{table}{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def small_dataset(tmp_path) -> Path:
    """The small valid dataset as CSV in tmp_path/small."""
    return write_dataset(tmp_path / "small")


def typed(rows: list[dict], columns: dict) -> pd.DataFrame:
    """A frame with every column of `columns`, typed as the loader types them."""
    out = {}
    for col, kind in columns.items():
        values = pd.Series([r.get(col) for r in rows], dtype=object)
        if kind == "date":
            out[col] = pd.to_datetime(values).astype("datetime64[ns]")
        elif kind == "int":
            out[col] = values.astype("int64")
        elif kind == "float":
            out[col] = values.astype(float)
        else:
            out[col] = values.where(values.notna(), np.nan)
    return pd.DataFrame(out, columns=list(columns))


def pytest_terminal_summary(terminalreporter):
    """Say plainly when the browser tests (tests/test_browser.py) did not run, and why."""
    for report in terminalreporter.stats.get("skipped", []):
        if "test_browser.py" in report.nodeid:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            terminalreporter.write_sep("=", reason.removeprefix("Skipped: "), yellow=True, bold=True)
            return


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Every test (and every evalkit it starts) caches in a folder of the session, never in the user's."""
    import os

    previous = os.environ.get("EVALKIT_CACHE_DIR")
    os.environ["EVALKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("evalkit-cache"))
    yield
    if previous is None:
        os.environ.pop("EVALKIT_CACHE_DIR", None)
    else:
        os.environ["EVALKIT_CACHE_DIR"] = previous


@dataclass
class RenderedReports:
    """Every report of one dataset as `evalkit reports` wrote it: the data, the folder, file name -> HTML."""

    data: Path
    out: Path
    pages: dict[str, str]


@pytest.fixture(scope="session")
def rendered_reports(tmp_path_factory, worker_id):
    """Render every report of a dataset once per test run and share it, also across xdist workers.

    `rendered_reports("sample")` (data/sample) or `rendered_reports("small-cells")` (the small-cell
    dataset of test_suppression_everywhere), at the default threshold. The first worker to ask renders
    into the run's shared temporary folder under a file lock; the others wait and read the same files
    (pytest-xdist's recipe for session fixtures). Readers must not write under `out`.
    """
    import fcntl

    from evalkit.runner.build import build_reports

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    done: dict[str, RenderedReports] = {}

    def render(name: str) -> RenderedReports:
        if name not in done:
            root = shared / f"rendered-{name}"
            with open(shared / f"rendered-{name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (root / "complete").exists():
                    root.mkdir(exist_ok=True)
                    if name == "sample":
                        data = Path(__file__).resolve().parents[1] / "data" / "sample"
                    else:
                        from test_suppression_everywhere import write_small_cells_dataset

                        data = write_small_cells_dataset(root / "data")
                    assert build_reports(data, root / "reports", jobs=2, progress=False) == 0
                    (root / "complete").write_text(str(data), encoding="utf-8")
            data = Path((root / "complete").read_text(encoding="utf-8"))
            out = root / "reports"
            done[name] = RenderedReports(data, out, {p.name: p.read_text(encoding="utf-8")
                                                     for p in sorted(out.glob("*.html"))})
        return done[name]

    return render


def assert_same(a, b, where="value"):
    """Equal all the way down, with the same types (1 != 1.0 != True here; NaN equals NaN); frames
    exactly (index type and dtypes too); dataclasses by their compared fields and a context's linked
    decisions (a decision's search time aside)."""
    from evalkit.report import publication

    assert type(a) is type(b), (where, type(a), type(b))
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if isinstance(a, publication.Decision) and f.name in ("seconds", "stats"):
                continue  # how long the search took
            if f.compare or f.name == "linked":
                assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for (ka, va), kb in zip(a.items(), b):
            assert type(ka) is type(kb), (where, ka)
            assert_same(va, b[kb], f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True)
        assert type(a.index) is type(b.index) and a.index.name == b.index.name, where
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where
