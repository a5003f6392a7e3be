"""The report runner behind `evalkit reports` (SPEC section 6).

`build_reports` turns a dataset into self-contained HTML reports: one per
municipality (notebooks/municipality.ipynb), the cross-municipality status
report, the round comparison and an index.html linking them with each
municipality's success criteria at a glance.

How it stays fast and safe:
- Everything is checked before anything is created: the dataset, the targets,
  the municipalities asked for, and the --out folder (see `check_out_folder`).
  Bad input raises InputError: exit 2, nothing written, no folder created.
- The out folder holds only what is published: the HTML reports, index.html and
  manifest.json. It is evalkit's when its manifest.json carries the marker
  `"written_by": "evalkit"`; a non-empty folder without it is refused, and a
  file evalkit is about to write but did not write itself (not listed under
  `files` in the manifest) is refused, never overwritten or deleted.
- The run's private working state (the report context with case-level rows,
  the executed notebooks) lives in a private folder (`tempfile.mkdtemp`, mode
  0700) outside --out, removed when the run ends, also on failure, Ctrl-C or
  SIGTERM. The context is pickled there with an HMAC tag under a random per-run
  key that only this run's kernels get (in their environment), so a kernel
  never unpickles a file this run did not write.
- Indicators and the frames behind every figure are computed once
  (`views.build_context`); every notebook gets the context file as the
  papermill parameter `context_cache`.
- Warm kernels: each of N worker threads starts ONE Jupyter kernel, which
  pre-imports evalkit, pandas, matplotlib, seaborn, lifelines and statsmodels,
  and executes many notebooks in it through papermill (a kernel manager passed
  to papermill is not shut down after the notebook: nbclient's `owns_km`; our
  papermill engine also reuses the connected client). The user namespace is
  reset before each notebook; imported modules stay warm.
- Each worker converts with one reused nbconvert HTMLExporter and evalkit's
  template (code hidden, images embedded, nothing fetched from the network).
- Files in --out are written under a temporary name beside them
  (`.NAME.XXXXXXXX.tmp`) and renamed, so no partial HTML is ever left. A failing
  notebook does not stop the others: its executed notebook (with the error, and
  possibly unsuppressed data) is kept OUTSIDE --out, in a private
  `evalkit-failed-*` folder in the system's temporary folder; the summary names
  it and the exit code is 1.
- OUT/manifest.json records, per report, the input hash, evalkit version,
  parameters (no paths: the dataset is named by its name and folder name) and a
  key over everything that determines the report; it is rewritten atomically
  after each finished report, so an interrupted run resumes where it stopped and
  unchanged reports are skipped (force=True redoes all).
- Report file names are capped (`slug`): a long municipality name is cut and
  given a short hash, so names never get too long and never collide.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import evalkit
from evalkit.errors import InputError
from evalkit.names import find_municipality, municipality_key

NOTEBOOK_FILES = {
    "municipality": "municipality.ipynb",
    "status": "status_report.ipynb",
    "rounds": "round_comparison.ipynb",
}
STATUS_REPORT = "statusrapport"
ROUND_REPORT = "rundesammenligning"
MANIFEST = "manifest.json"
INDEX = "index.html"
MARKER_KEY, MARKER = "written_by", "evalkit"  # in manifest.json: this folder is evalkit's output
LEGACY_WORK_DIR = ".evalkit"  # evalkit 0.1.0 kept case-level data here, inside the out folder
PRIVATE_PREFIX = "evalkit-run-"  # the run's private working folder, in the system's temporary folder
FAILED_PREFIX = "evalkit-failed-"  # executed notebooks of failed reports, kept for the analyst
SLUG_MAX = 60  # characters of a municipality's part of a file name
CELL_TIMEOUT = 1800  # seconds per notebook cell
KERNEL_NAME = "python3"
TEMPLATE = Path(__file__).parent / "templates" / "report.html.j2"

# Executed in each warm kernel once: pre-import the heavy modules so that every
# notebook finds them imported, and define the namespace reset run before each notebook.
WARMUP_CODE = """\
import importlib
for _name in ("numpy", "pandas", "scipy.stats", "matplotlib.pyplot", "seaborn", "lifelines",
              "statsmodels.api", "evalkit.dataset", "evalkit.indicators", "evalkit.views", "evalkit.plots"):
    try:
        importlib.import_module(_name)
    except Exception:  # a real import error shows in the notebook that needs the module
        pass


def _evalkit_reset(_ip=get_ipython()):
    \"\"\"Forget the previous notebook's variables and figures; imported modules stay loaded.

    Like %reset -f without its gc.collect() and history reset, which cost up to a
    second per notebook in a kernel with pandas and matplotlib loaded.
    \"\"\"
    for _k in [k for k in _ip.user_ns if not k.startswith("_") and k not in _ip.user_ns_hidden]:
        del _ip.user_ns[_k]
    _ip.user_ns["_oh"].clear()
    _ip.user_ns.update({"_": None, "__": None, "___": None})
    __import__("matplotlib.pyplot").pyplot.close("all")
"""
# Injected as the first cell of every notebook run in a warm kernel.
RESET_CODE = "_evalkit_reset()"


# --- finding notebooks and naming reports -------------------------------------


def notebooks_dir() -> Path:
    """The folder holding the report notebooks.

    One source of truth, the repository's notebooks/ folder; an installed package
    may ship them as evalkit/notebooks (package data), and EVALKIT_NOTEBOOKS
    overrides both.
    """
    candidates = []
    if os.environ.get("EVALKIT_NOTEBOOKS"):
        candidates.append(Path(os.environ["EVALKIT_NOTEBOOKS"]))
    here = Path(__file__).resolve().parent
    candidates += [here / "notebooks", here.parents[1] / "notebooks"]
    for folder in candidates:
        if (folder / NOTEBOOK_FILES["municipality"]).is_file():
            return folder
    raise FileNotFoundError(
        "report notebooks not found (looked in " + ", ".join(str(c) for c in candidates) + "); "
        "run from a repository checkout or set EVALKIT_NOTEBOOKS"
    )


def slug(text: str, max_len: int = SLUG_MAX) -> str:
    """A file-name-safe ASCII form of a municipality name: 'Tønder' -> 'toender'.

    The municipality's canonical key (evalkit.names), so two municipalities of a
    loaded dataset never share a file: loading refuses names with the same key.
    At most `max_len` characters: a longer one is cut and ends in 8 hex digits of
    the hash of the whole key, so two long names never share a file name.
    """
    full = municipality_key(text) or "x"
    if len(full) <= max_len:
        return full
    return full[:max_len - 9].rstrip("-") + "-" + hashlib.sha256(full.encode()).hexdigest()[:8]


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _code_hash(root: Path = Path(__file__).parent) -> str:
    """Hash of evalkit's own source, settings and templates, subpackages included: a report is redone
    when the code changes."""
    h = hashlib.sha256()
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and (p.suffix in (".py", ".yml") or "templates" in p.relative_to(root).parts)]
    for path in sorted(files):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


# --- jobs and the manifest ---------------------------------------------------


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


def _report_key(job: ReportJob, input_hash: str, notebook_hash: str, code_hash: str, targets_hash: str | None) -> str:
    """Hash of inputs, parameters (paths excluded: the data is identified by its hash),
    notebook, targets and evalkit version and code."""
    stable = {k: v for k, v in job.parameters.items() if k not in ("data", "context_cache", "targets_file")}
    payload = {
        "input_hash": input_hash,
        "parameters": stable,
        "notebook": notebook_hash,
        "targets": targets_hash,
        "evalkit_version": evalkit.__version__,
        "code": code_hash,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file under a temporary name beside it (same file system), then rename it into place.

    The temporary file is new (O_EXCL, random name) and removed again if writing fails.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def new_manifest() -> dict:
    """The manifest of a new out folder: evalkit's marker, no files, no reports."""
    return {MARKER_KEY: MARKER, "evalkit_version": evalkit.__version__, "files": [], "reports": {}}


def read_manifest(out: Path) -> dict:
    """The manifest of an out folder ({"reports": {}} when absent or unreadable)."""
    try:
        manifest = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("reports"), dict):
            return manifest
    except (OSError, ValueError):
        pass
    return {"reports": {}}


def is_evalkit_folder(manifest: dict) -> bool:
    """True for a manifest evalkit wrote (its marker, and lists of files and reports)."""
    return (manifest.get(MARKER_KEY) == MARKER and isinstance(manifest.get("files"), list)
            and isinstance(manifest.get("reports"), dict))


def _save_manifest(out: Path, manifest: dict) -> None:
    _write_atomic(Path(out) / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))


# --- the out folder ----------------------------------------------------------


CHOOSE = "choose a new or empty folder for --out"


def check_out_folder(out: Path, files: list[str]) -> dict:
    """The manifest to continue from, or InputError when --out may not or cannot be written.

    Checked before anything is created. Allowed: a folder that does not exist yet
    (its nearest existing parent must be a folder), an empty folder, or an
    evalkit output folder (manifest.json with evalkit's marker) in which every
    one of `files` that exists is listed in the manifest as written by evalkit.
    """
    out = Path(out)
    if not (out.exists() or out.is_symlink()):
        parent = out.parent
        while not (parent.exists() or parent.is_symlink()) and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(str(parent), f"is not a folder, so --out {out} cannot be created; {CHOOSE}")
        return new_manifest()
    if not out.is_dir():
        raise InputError(str(out), f"--out exists and is not a folder; {CHOOSE}")
    try:
        empty = next(out.iterdir(), None) is None
    except OSError as err:
        raise InputError(str(out), f"cannot read the --out folder ({err.strerror}); {CHOOSE}") from None
    if empty:
        return new_manifest()
    manifest = read_manifest(out)
    if not is_evalkit_folder(manifest):
        legacy = (out / LEGACY_WORK_DIR).exists()
        raise InputError(str(out), (
            "--out is not empty and has no manifest.json of this evalkit"
            + (" (a .evalkit/ folder of evalkit 0.1.0 holds case-level data that must not be published: "
               "delete it)" if legacy else "")
            + f"; {CHOOSE}: evalkit never overwrites or deletes files it did not write"))
    ours = set(manifest["files"])
    foreign = [f for f in files if f not in ours and ((out / f).exists() or (out / f).is_symlink())]
    if foreign:
        raise InputError(str(out / foreign[0]), "exists but was not written by evalkit (not listed in the folder's "
                         f"manifest.json); move it away or {CHOOSE}")
    return manifest


def _create_out(out: Path, manifest: dict) -> None:
    """Create --out (and its missing parents) and write its first manifest.

    On failure, the folders created here are removed again and InputError names
    the path: a run that cannot write leaves nothing behind.
    """
    missing = []
    folder = Path(out)
    while not (folder.exists() or folder.is_symlink()):
        missing.append(folder)
        folder = folder.parent
    created = []
    target = Path(out)
    try:
        for target in reversed(missing):
            target.mkdir()
            created.append(target)
        target = Path(out)
        _save_manifest(out, manifest)
    except OSError as err:
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass  # not empty: something else wrote there meanwhile
        raise InputError(str(target), f"cannot write the --out folder ({err.strerror or err}); {CHOOSE}") from None


# --- the warm-kernel worker ------------------------------------------------


@dataclass
class JobResult:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    worker_pid: int = 0
    kept: str = ""  # a failed report's executed notebook, in the run's private folder


def make_exporter():
    """nbconvert HTMLExporter: evalkit's template, code cells and prompts hidden."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_file=str(TEMPLATE),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    # notes for whoever runs the notebook by hand, and the runner's reset cell
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"evalkit-hide", "evalkit-reset"}), enabled=True)
    return exporter


def notebook_to_html(nb, title: str, exporter=None) -> str:
    """The executed notebook as one self-contained HTML page."""
    exporter = exporter or make_exporter()
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def _failed(nb) -> tuple[bool, str]:
    """(True, message) when any cell raised, including a sys.exit (papermill lets sys.exit(0) pass)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return True, f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return True, "cell raised an exception"
    return False, ""


def _register_warm_engine() -> str:
    """A papermill engine that runs a notebook on an already connected kernel client.

    papermill passes our kernel manager to nbclient, which then leaves the kernel
    running (`owns_km` is False); but nbclient would still connect a new client
    for every notebook, and its wait_for_ready flushes IOPub with 0.2 s timeouts.
    Handing over the worker's client skips that.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmClient(PapermillNotebookClient):
        def __init__(self, nb_man, kc=None, **kw):
            super().__init__(nb_man, **kw)
            self.kc = kc

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, kc=None, **kwargs):
            kwargs.pop("input_path", None)
            return WarmClient(
                nb_man, kc=kc, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file, **kwargs,
            ).execute()

    papermill_engines.register("evalkit-warm", WarmEngine)
    return "evalkit-warm"


class Worker:
    """One warm kernel and one HTML exporter, executing notebooks one after another."""

    def __init__(self, kernel_name: str = KERNEL_NAME, env: dict | None = None):
        self.kernel_name = kernel_name
        self.env = env  # the kernel's environment (default: this process's)
        self.exporter = make_exporter()
        self.engine = _register_warm_engine()
        self.km = None
        self.kc = None
        self.start_kernel()

    def start_kernel(self) -> None:
        import nbformat
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        # the kernel's own log (e.g. its TCP notice) is not ours to print
        run_sync(self.km.start_kernel)(stderr=subprocess.DEVNULL, **({"env": self.env} if self.env else {}))
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=120)
        warm = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WARMUP_CODE)])
        warm.metadata["kernelspec"] = {"name": self.kernel_name, "display_name": "Python 3", "language": "python"}
        self._execute(warm, None, {})

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001, S110 - the kernel may already be gone; nothing left to stop
                pass
            self.km = None

    def _execute(self, nb, output_path, parameters):
        import papermill as pm

        return pm.execute_notebook(
            nb,
            output_path,
            parameters=parameters,
            kernel_name=self.kernel_name,
            engine_name=self.engine,
            km=self.km,
            kc=self.kc,
            progress_bar=False,
            request_save_on_cell_execute=False,
            execution_timeout=CELL_TIMEOUT,
        )

    def run(self, job: ReportJob, out: Path, work: Path) -> JobResult:
        """Execute one report notebook and write its HTML into `out`.

        The executed notebook goes to the private folder `work`; a failed one stays
        there (JobResult.kept) for the runner to keep outside `out`.
        """
        import nbformat
        from papermill.exceptions import PapermillExecutionError

        t0 = time.perf_counter()
        out, work = Path(out), Path(work)
        tmp_ipynb = work / f"{job.name}.ipynb"
        nb = nbformat.read(job.notebook, as_version=4)
        reset = nbformat.v4.new_code_cell(RESET_CODE, metadata={"tags": ["evalkit-reset"]})
        nb.cells.insert(0, reset)
        error = ""
        executed = None
        try:
            executed = self._execute(nb, str(tmp_ipynb), job.parameters)
            failed, error = _failed(executed)
        except PapermillExecutionError as err:
            failed, error = True, f"{err.ename}: {err.evalue}"
        except Exception as err:  # noqa: BLE001 - kernel died, timeout, ...: restart the kernel for the next job
            failed, error = True, f"{type(err).__name__}: {err}"
            if not tmp_ipynb.exists():
                nbformat.write(nb, str(tmp_ipynb))
            self.shutdown()
            self.start_kernel()
        if failed:
            if executed is not None:
                nbformat.write(executed, str(tmp_ipynb))
            kept = work / job.failed_notebook
            os.replace(tmp_ipynb, kept)
            return JobResult(job.name, False, time.perf_counter() - t0, error.strip()[:500], os.getpid(), str(kept))
        _write_atomic(out / job.html, notebook_to_html(executed, job.title, self.exporter))
        tmp_ipynb.unlink(missing_ok=True)
        return JobResult(job.name, True, time.perf_counter() - t0, "", os.getpid())


class KernelPool:
    """N threads, each owning one warm kernel (a `Worker`), running report jobs from a queue.

    Threads rather than processes: the heavy work happens in the kernel
    processes, the threads only pass messages and convert to HTML; and a caller's
    script needs no `if __name__ == "__main__"` guard. The kernels start (and
    pre-import) as soon as the pool exists, while the caller computes the context;
    `run` releases the jobs.
    """

    def __init__(self, n: int, kernel_name: str = KERNEL_NAME, env: dict | None = None):
        self.n = n
        self.kernel_name = kernel_name
        self.env = env
        self.jobs: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._failed_starts = 0
        self.threads = [threading.Thread(target=self._loop, name=f"evalkit-kernel-{i}", daemon=True)
                        for i in range(n)]
        for thread in self.threads:
            thread.start()

    def _loop(self) -> None:
        worker, error = None, ""
        try:
            worker = Worker(self.kernel_name, self.env)
        except Exception:  # noqa: BLE001 - reported as the failure of the jobs it cannot run
            error = "could not start a Jupyter kernel: " + traceback.format_exc(limit=2).strip().splitlines()[-1]
            with self._lock:
                self._failed_starts += 1
                if self._failed_starts < self.n:
                    return  # another thread's kernel does the work
        try:
            self.ready.wait()
            while not self.stop.is_set():
                try:
                    job, out, work = self.jobs.get_nowait()
                except queue.Empty:
                    return
                if worker is None:
                    self.results.put(JobResult(job.name, False, 0.0, error))
                    continue
                try:
                    self.results.put(worker.run(job, out, work))
                except Exception as err:  # noqa: BLE001 - never let one report stop the others
                    self.results.put(JobResult(job.name, False, 0.0, f"{type(err).__name__}: {err}"))
        finally:
            if worker is not None:
                worker.shutdown()

    def run(self, jobs: list[ReportJob], out: Path, work: Path):
        """Yield a JobResult per job as each finishes (heavier jobs first: they are queued first).

        Reports go to `out`; executed notebooks to the private folder `work`.
        """
        for job in jobs:
            self.jobs.put((job, out, work))
        self.ready.set()
        for _ in jobs:
            yield self.results.get()

    def close(self, timeout: float | None = None) -> list[JobResult]:
        """Stop taking jobs, let the running ones finish, and return their results."""
        self.stop.set()
        self.ready.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        late = []
        while not self.results.empty():
            late.append(self.results.get_nowait())
        return late


# --- planning ------------------------------------------------------------------


def plan_reports(ds, data: Path, municipalities: list[str], targets_file, notebook_dir: Path,
                 threshold: int) -> list[ReportJob]:
    """The jobs of a run: every (chosen) municipality, the status report and the round comparison.

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
    ]
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


# --- the run -----------------------------------------------------------------


def _echo(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class _PrivateFolder:
    """The run's private working folder (mode 0700, outside --out), removed on exit.

    SIGTERM is turned into KeyboardInterrupt meanwhile, so a killed run (e.g. by
    a job scheduler) cleans up as Ctrl-C does.
    """

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX))
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self.path

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        shutil.rmtree(self.path, ignore_errors=True)


def build_reports(
    data,
    out,
    municipalities: list[str] | None = None,
    jobs: int = 2,
    targets_file=None,
    force: bool = False,
    *,
    notebook_dir=None,
    threshold: int | None = None,
    progress: bool | None = None,
) -> int:
    """Write every report of `data` into `out`; returns the exit code (0, or 1 when a report failed).

    Bad input (dataset, targets, municipalities, an --out folder that may not or
    cannot be written) raises InputError before anything is created. `notebook_dir`
    replaces notebooks (tests use it for notebooks that fail on purpose);
    `threshold` is the suppression threshold (default suppression.THRESHOLD);
    `progress` shows a progress bar (default: when stderr is a terminal).
    """
    from evalkit.criteria import load_targets
    from evalkit.dataset import load_dataset
    from evalkit.suppression import THRESHOLD

    t0 = time.perf_counter()
    data, out = Path(data), Path(out)
    # 1. validate everything before creating anything
    ds = load_dataset(data)
    chosen = _check_request(ds, municipalities)
    load_targets(targets_file)
    try:
        nb_dir = Path(notebook_dir) if notebook_dir else notebooks_dir()
    except FileNotFoundError as err:
        _echo(f"evalkit: error: {err}")
        return 1
    threshold = THRESHOLD if threshold is None else int(threshold)
    plan = plan_reports(ds, data, chosen, targets_file, nb_dir, threshold)
    manifest = check_out_folder(out, [INDEX, *(j.html for j in plan)])

    # 2. plan: which reports are unchanged since the last run
    code_hash = _code_hash()
    targets_hash = _sha256_file(Path(targets_file)) if targets_file else None
    nb_hashes = {}
    for job in plan:
        nb_hashes.setdefault(job.notebook, _sha256_file(Path(job.notebook)))
        job.key = _report_key(job, ds.input_hash, nb_hashes[job.notebook], code_hash, targets_hash)
    done = manifest["reports"]

    def unchanged(job: ReportJob) -> bool:
        entry = done.get(job.name, {})
        return entry.get("status") == "ok" and entry.get("key") == job.key and (out / job.html).exists()

    todo = [j for j in plan if force or not unchanged(j)]
    skipped = [j for j in plan if j not in todo]

    # 3. write: the out folder with its manifest (listing every file this run may write), then the reports
    manifest.update({"evalkit_version": evalkit.__version__,
                     "dataset": {"name": ds.name, "folder": Path(data).resolve().name}})
    manifest["files"] = sorted(set(manifest["files"]) | {INDEX, *(j.html for j in plan)})
    _create_out(out, manifest)
    index_salt = [code_hash, targets_hash, threshold]
    if not todo and manifest.get("index_key") == _index_key(out, ds.input_hash, plan, manifest, index_salt) \
            and (out / INDEX).exists():
        return _summary(out, {}, skipped, t0)  # nothing changed: no context to compute, no kernel to start
    with _PrivateFolder() as work:
        return _run(ds, out, work, plan, todo, skipped, manifest, targets_file, jobs, threshold, progress, t0,
                    index_salt)


def _run(ds, out: Path, work: Path, plan, todo, skipped, manifest, targets_file, jobs, threshold, progress,
         t0, index_salt) -> int:
    """Compute the context, run the notebooks of `todo`, write the index; the exit code."""
    from tqdm import tqdm

    # the context's heavy imports (statsmodels, scipy) happen here, before the kernel threads start:
    # importing them while those threads import could race in CPython 3.11's ast.parse (seen under pytest)
    from evalkit import indicators, views  # noqa: F401

    done = manifest["reports"]
    results: dict[str, JobResult] = {}
    by_name = {j.name: j for j in todo}
    failed_dir: list[Path] = []  # created when the first report fails

    def keep_failed(result: JobResult) -> str:
        """Move a failed report's executed notebook out of the private folder (which is removed) and
        out of --out (it may hold unsuppressed data): into a private evalkit-failed-* folder."""
        if not result.kept or not Path(result.kept).exists():
            return ""
        if not failed_dir:
            failed_dir.append(Path(tempfile.mkdtemp(prefix=FAILED_PREFIX)))
        target = failed_dir[0] / Path(result.kept).name
        shutil.move(result.kept, target)
        return str(target)

    def record(result: JobResult) -> None:
        """Note a finished report in the manifest (atomically), so an interrupted run resumes after it."""
        job = by_name[result.name]
        if result.ok:
            entry = _manifest_entry(job, ds, result, "ok")
        else:
            result.kept = keep_failed(result)
            (out / job.html).unlink(missing_ok=True)  # a stale report must not pass for a current one
            entry = _manifest_entry(job, ds, result, "failed")
        results[job.name] = result
        done[job.name] = entry
        _save_manifest(out, manifest)

    key = secrets.token_bytes(32)
    context_file = work / "context.pkl"
    for job in plan:
        job.parameters["context_cache"] = str(context_file)
    # start the kernels first: they warm up while the context is computed
    pool = None
    if todo:
        pool = KernelPool(max(1, min(int(jobs or 1), len(todo))),
                          env={**os.environ, views.CONTEXT_KEY_ENV: key.hex()})
    try:
        ctx = views.build_context(ds, targets_file=targets_file)
        views.write_context(context_file, ctx, key)
        if pool is not None:
            ordered = sorted(todo, key=lambda j: -j.weight)
            bar = tqdm(total=len(ordered), desc="Rapporter", unit="rapport",
                       disable=(not sys.stderr.isatty()) if progress is None else not progress)
            for result in pool.run(ordered, out, work):
                record(result)
                bar.update(1)
            bar.close()
            pool.close()
            pool = None
        _write_index(out, ctx, plan, manifest, threshold, index_salt)
    except KeyboardInterrupt:
        if pool is not None:
            _echo("evalkit: interrupted; finishing the reports that are running ...")
            for result in pool.close(timeout=60):
                record(result)
            pool = None
        _echo(f"evalkit: interrupted; {len(results)} finished report(s) are kept, run again to resume")
        return 130
    finally:
        if pool is not None:
            pool.close(timeout=60)

    return _summary(out, results, skipped, t0)


def _summary(out: Path, results: dict[str, JobResult], skipped: list, t0: float) -> int:
    """Print what the run did (where a failed report's notebook is kept); the exit code."""
    failed = [n for n, r in results.items() if not r.ok]
    n_ok = sum(r.ok for r in results.values())
    _echo(f"evalkit reports: {n_ok} written, {len(skipped)} unchanged, {len(failed)} failed "
          f"in {time.perf_counter() - t0:.1f} s -> {out / INDEX}")
    for name in failed:
        kept = results[name].kept
        where = (f"executed notebook kept outside the report folder, it may hold unsuppressed data: {kept}"
                 if kept else "no executed notebook")
        _echo(f"  FAILED {name}: {results[name].error} ({where})")
    return 1 if failed else 0


def _manifest_entry(job: ReportJob, ds, result: JobResult, status: str) -> dict:
    """A report's record in manifest.json: what it was made from, without paths of this machine."""
    from evalkit import views

    return {
        "status": status,
        "title": job.title,
        "kind": job.kind,
        "municipality": job.municipality,
        "html": job.html if status == "ok" else None,
        "key": job.key,
        "input_hash": ds.input_hash,
        "evalkit_version": evalkit.__version__,
        "parameters": views.public_parameters(job.parameters),
        "seconds": round(result.seconds, 2),
        "finished": datetime.now().isoformat(timespec="seconds"),
    }


_REPORT_NAME = re.compile(rf"(kommune-[a-z0-9-]+|{STATUS_REPORT}|{ROUND_REPORT})")


def _index_listing(out: Path, input_hash: str, plan: list[ReportJob], manifest: dict) -> list[tuple]:
    """(name, kind, municipality, title) of every report index.html links or names."""
    entries = manifest["reports"]
    current = {j.name for j in plan}
    # reports of earlier runs on the same data stay listed (e.g. after --municipality)
    others = [
        name for name, e in entries.items()
        if name not in current and _REPORT_NAME.fullmatch(name) and e.get("status") == "ok"
        and e.get("input_hash") == input_hash and f"{name}.html" in manifest["files"]
        and (out / f"{name}.html").exists()
    ]
    listed = [(j.name, j.kind, j.municipality, j.title) for j in plan]
    return listed + [(n, entries[n].get("kind"), entries[n].get("municipality"), entries[n].get("title", n))
                     for n in others]


def _index_key(out: Path, input_hash: str, plan: list[ReportJob], manifest: dict, salt: list) -> str:
    """Hash of everything index.html shows: the data, code, targets, threshold and the reports' states."""
    listed = _index_listing(out, input_hash, plan, manifest)
    states = [manifest["reports"].get(name, {}).get("status") for name, *_ in listed]
    payload = json.dumps([input_hash, salt, listed, states], ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _write_index(out: Path, ctx: dict, plan: list[ReportJob], manifest: dict, threshold: int, salt: list) -> None:
    """index.html: a link to every report, each municipality's criteria at a glance; its key in the manifest."""
    from evalkit import views

    input_hash = ctx["meta"]["input_hash"]
    html = views.index_page(ctx, _index_listing(out, input_hash, plan, manifest), manifest["reports"], threshold)
    _write_atomic(out / INDEX, html)
    manifest["index_key"] = _index_key(out, input_hash, plan, manifest, salt)
    _save_manifest(out, manifest)
