"""notebooks/monitoring.ipynb (issue 10): run as a project lead runs it, with papermill on the sample,
for a period given as a parameter; calls library functions only."""

from __future__ import annotations

import re

import nbformat
import papermill as pm
from test_notebooks import sections
from test_reports import assert_no_code, assert_self_contained

from evalkit.runner.export import notebook_to_html
from evalkit.runner.plan import notebooks_dir

SECTIONS = ["Status ved udtræksdatoen", "Bestand pr. måned", "Succeskriterier pr. kvartal",
            "Flowet i indsatsmodellen"]


def test_the_notebook_holds_calls_and_displays_only():
    """A parameters cell with data, municipality and period; every other code cell calls evalkit."""
    nb = nbformat.read(notebooks_dir() / "monitoring.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert {"data", "municipality", "period"} <= set(re.findall(r"^(\w+) =", code[0].source, re.MULTILINE))
    for cell in code[1:]:
        lines = [line for line in cell.source.splitlines() if line.strip() and not line.startswith(("from ", "import "))]
        assert all(re.match(r"^(\w+ = )?(notebook_context|MunicipalityTrend|MunicipalityReport)\(", line)
                   or line.startswith("monitor.")
                   for line in lines), cell.source


def test_monitoring_notebook_runs_on_the_sample(tmp_path):
    """One run, with a period (the whole period's points are the reports' and test_trends'); one kernel."""
    period, months = "2021-01-01/2021-06-30", 6
    folder = notebooks_dir()
    executed = pm.execute_notebook(str(folder / "monitoring.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"municipality": "viborg", "period": period},
                                   kernel_name="python3", cwd=str(folder), progress_bar=False)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    page = notebook_to_html(executed, "Månedlig opfølgning: Viborg")
    assert sections(page) == SECTIONS
    assert_no_code(page)
    assert_self_contained(page)
    assert "Månedlig opfølgning: Viborg" in page
    figures = re.findall(r'<img\b[^>]*>', page)
    assert len(figures) == 2  # stocks, criteria
    assert all(re.search(r'alt="[^"]*\d[^"]*"', f) and "data:image/png;base64," in f for f in figures)
    month_rows = re.findall(r"<td>\d\d\.\d\d\.\d{4}</td>(?:<td>(?:\d[\d.]*|x)</td>){5}</tr>", page)
    assert len(month_rows) == months
