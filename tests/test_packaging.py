"""The package as a user installs it: a wheel that works outside the checkout, honest dependencies,
and a report key that sees every module.

The wheel test is slow (pip installs every dependency into a fresh virtual environment):
it is marked `slow`; `make test` leaves it out and `make test-wheel` (CI) runs it.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import write_dataset

from evalkit.runner.manifest import _code_hash
from evalkit.runner.plan import notebooks_dir

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "evalkit"
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "reports", "__pycache__",
                                    ".pytest_cache", ".hypothesis", ".ipynb_checkpoints", "out")


def test_code_hash_covers_modules_of_subpackages_and_templates(tmp_path):
    """A report is redone when any module changes, also one in a subpackage (report/format.py)."""
    root = tmp_path / "evalkit"
    (root / "report").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "cli.py").write_text("x = 1\n")
    (root / "report" / "format.py").write_text("y = 1\n")
    (root / "templates" / "table.html.j2").write_text("<table>")
    before = _code_hash(root)
    (root / "report" / "format.py").write_text("y = 2\n")
    after_module = _code_hash(root)
    (root / "templates" / "table.html.j2").write_text("<table class='t'>")
    after_template = _code_hash(root)
    (root / "report" / "__pycache__").mkdir()
    (root / "report" / "__pycache__" / "format.cpython-311.pyc").write_bytes(b"\0")
    assert len({before, after_module, after_template}) == 3
    assert _code_hash(root) == after_template  # compiled files are not code


def _third_party_imports() -> set[str]:
    """Top-level names of every module imported by evalkit's source (stdlib and evalkit left out)."""
    names = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("evalkit", "__future__")}


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_runtime_dependencies_are_what_the_runtime_imports():
    """Every imported distribution is declared; every declared one is imported (or says why not)."""
    requires = md.requires("evalkit") or []
    runtime = {_requirement_name(r) for r in requires if "extra ==" not in r}
    distributions = md.packages_distributions()
    imported = set()
    for name in _third_party_imports():
        dists = {d.lower().replace("_", "-") for d in distributions.get(name, [])}
        assert dists & runtime, f"evalkit imports {name} but declares none of {sorted(dists)}"
        imported |= dists & runtime
    not_imported = {"nbclient", "ipykernel"}  # papermill's executor we rely on; the kernel the notebooks run in
    assert runtime - imported == not_imported


def test_notebooks_are_found_in_the_checkout():
    assert notebooks_dir() == ROOT / "notebooks"


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_writes_reports_outside_the_checkout(tmp_path):
    """pip wheel, a fresh venv without the system's packages, `evalkit reports` from an unrelated folder."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_SOURCE)  # a clean tree: no stale build/ to ship
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "EVALKIT_NOTEBOOKS", "JUPYTER_PATH", "VIRTUAL_ENV")}
    env["JUPYTER_PREFER_ENV_PATH"] = "1"  # the venv's python3 kernel, not one of the user's

    def run(*cmd, cwd=tmp_path):
        result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{cmd}: {result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    run(sys.executable, "-m", "pip", "wheel", checkout, "--no-deps", "-w", tmp_path / "dist", "--quiet")
    wheel = next((tmp_path / "dist").glob("evalkit-*.whl"))
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-compile", wheel)

    work = tmp_path / "elsewhere"
    write_dataset(work / "data")
    where = run(python, "-c", "import evalkit, evalkit.runner.plan as r; print(evalkit.__file__); print(r.notebooks_dir())",
                cwd=work).split()
    assert all(str(tmp_path / "venv") in w and str(ROOT) not in w for w in where)
    assert where[1].endswith("evalkit/notebooks")
    result = subprocess.run([tmp_path / "venv" / "bin" / "evalkit", "reports", "data", "--out", "out", "--jobs", "1"],
                            cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    pages = {p.name for p in (work / "out").glob("*.html")}
    assert {"index.html", "statusrapport.html", "rundesammenligning.html", "kommune-toender.html"} <= pages
    assert "Kommunerapport: Tønder" in (work / "out" / "kommune-toender.html").read_text(encoding="utf-8")
