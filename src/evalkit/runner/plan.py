"""Which reports a run makes: the notebooks, the report names and file names (`slug`), one `ReportJob` each."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import evalkit
from evalkit.data.names import find_municipality, municipality_key

PACKAGE_ROOT = Path(evalkit.__file__).resolve().parent  # src/evalkit in a checkout
NOTEBOOK_FILES = {
    "municipality": "municipality.ipynb",
    "status": "status_report.ipynb",
    "rounds": "round_comparison.ipynb",
}
STATUS_REPORT = "statusrapport"
ROUND_REPORT = "rundesammenligning"
SLUG_MAX = 60  # characters of a municipality's part of a file name




def notebooks_dir() -> Path:
    """The folder holding the report notebooks.

    One source of truth, the repository's notebooks/ folder; an installed package
    may ship them as evalkit/notebooks (package data), and EVALKIT_NOTEBOOKS
    overrides both.
    """
    candidates = []
    if os.environ.get("EVALKIT_NOTEBOOKS"):
        candidates.append(Path(os.environ["EVALKIT_NOTEBOOKS"]))
    candidates += [PACKAGE_ROOT / "notebooks", PACKAGE_ROOT.parents[1] / "notebooks"]
    for folder in candidates:
        if (folder / NOTEBOOK_FILES["municipality"]).is_file():
            return folder
    raise FileNotFoundError(
        "report notebooks not found (looked in " + ", ".join(str(c) for c in candidates) + "); "
        "run from a repository checkout or set EVALKIT_NOTEBOOKS"
    )


def slug(text: str, max_len: int = SLUG_MAX) -> str:
    """A file-name-safe ASCII form of a municipality name: 'Tønder' -> 'toender'.

    The municipality's canonical key (evalkit.data.names), so two municipalities of a
    loaded dataset never share a file: loading refuses names with the same key.
    At most `max_len` characters: a longer one is cut and ends in 8 hex digits of
    the hash of the whole key, so two long names never share a file name.
    """
    full = municipality_key(text) or "x"
    if len(full) <= max_len:
        return full
    return full[:max_len - 9].rstrip("-") + "-" + hashlib.sha256(full.encode()).hexdigest()[:8]




@dataclass
class ReportJob:
    """One report: the notebook to run, its papermill parameters, and where it goes."""

    name: str  # file stem in the out folder
    title: str  # Danish title (index and <title>)
    kind: str  # municipality | status | rounds
    notebook: str  # path of the notebook to execute
    parameters: dict  # papermill parameters
    key: str = ""  # hash of everything that determines the report
    municipality: str | None = None
    weight: float = 1.0  # expected cost, heavier jobs start first

    @property
    def html(self) -> str:
        return f"{self.name}.html"

    @property
    def failed_notebook(self) -> str:
        return f"{self.name}.failed.ipynb"




@dataclass
class JobResult:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    worker_pid: int = 0
    kept: str = ""  # a failed report's executed notebook, in the run's private folder
    files: list = field(default_factory=list)  # the workbook and figure files written beside the HTML (issue 11)




def plan_reports(ds, data: Path, municipalities: list[str], targets_file, notebook_dir: Path,
                 threshold: int, overview: bool = True) -> list[ReportJob]:
    """The jobs of a run: every (chosen) municipality and, with `overview`, the status report and the
    round comparison.

    `context_cache` is filled in once the run's private folder exists.
    """
    common = {
        "data": str(Path(data).resolve()),
        "context_cache": None,
        "targets_file": str(Path(targets_file).resolve()) if targets_file else None,
        "suppression_threshold": int(threshold),
    }

    def notebook(kind: str) -> str:
        path = Path(notebook_dir) / NOTEBOOK_FILES[kind]
        if not path.is_file():
            path = notebooks_dir() / NOTEBOOK_FILES[kind]
        return str(path)

    sizes = ds.cases["municipality"].value_counts()
    jobs = [
        ReportJob(STATUS_REPORT, "Statusrapport: alle kommuner", "status", notebook("status"), dict(common),
                  weight=float(len(ds.cases)) + 1e9),
        ReportJob(ROUND_REPORT, "Sammenligning af runder", "rounds", notebook("rounds"), dict(common),
                  weight=float(len(ds.cases)) + 1e8),
    ] if overview else []
    for m in municipalities:
        rounds = sorted(int(r) for r in ds.cases.loc[ds.cases["municipality"] == m, "round"].unique())
        params = {**common, "municipality": m, "round": rounds[0] if len(rounds) == 1 else None}
        jobs.append(ReportJob(f"kommune-{slug(m)}", f"Kommunerapport: {m}", "municipality",
                              notebook("municipality"), params, municipality=m, weight=float(sizes.get(m, 0))))
    return jobs


def _check_request(ds, municipalities: list[str] | None) -> list[str]:
    """The municipalities to report on, in the data's spelling (matched as every
    --municipality is, by `names.find_municipality`); InputError for a name that has no cases."""
    present = sorted(str(m) for m in ds.cases["municipality"].unique())
    if not municipalities:
        return present
    return list(dict.fromkeys(find_municipality(present, m) for m in municipalities))
