"""Ship the report notebooks inside the package.

The notebooks live in notebooks/ at the top of the checkout, where JupyterLab
opens them beside data/sample. A wheel (and so `pip install .`) gets a copy in
evalkit/notebooks/, where `evalkit.runner.plan.notebooks_dir()` finds them when
evalkit runs outside a checkout. An editable install reads notebooks/ itself.
Everything else about the build is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


class BuildWithNotebooks(build_py):
    """build_py that also copies notebooks/*.ipynb into the built package (not for editable installs)."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "evalkit" / "notebooks"
        target.mkdir(parents=True, exist_ok=True)
        for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
            shutil.copyfile(notebook, target / notebook.name)


setup(cmdclass={"build_py": BuildWithNotebooks})
