"""`build_reports`: the report runner behind `evalkit reports` (SPEC section 6).

The parts live beside it: plan.py (which reports, their file names), manifest.py
(the out folder's manifest and keys), kernels.py (warm kernels), engine.py
(papermill's warm engine), export.py (HTML and the index).

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
  (`evalkit.report.context.build_context`); every notebook gets the context file as the
  papermill parameter `context_cache`.
- Warm kernels: each of N worker threads starts ONE Jupyter kernel, which
  pre-imports evalkit's report modules, pandas, matplotlib and statsmodels,
  and executes many notebooks in it through papermill (a kernel manager passed
  to papermill is not shut down after the notebook: nbclient's `owns_km`; our
  papermill engine also reuses the connected client). The user namespace is
  reset before each notebook; imported modules stay warm. They take longest to be ready, so into
  a new --out folder they start first, before the dataset is loaded (the runner imports pandas only
  after launching them); into an earlier run's folder once the plan shows a report to make.
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

import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import evalkit
from evalkit.runner.kernels import KernelPool
from evalkit.runner.manifest import (
    INDEX,
    MANIFEST,
    _code_hash,
    _create_out,
    _manifest_entry,
    _report_key,
    _save_manifest,
    _sha256_file,
    check_out_folder,
)
from evalkit.runner.plan import JobResult, ReportJob, _check_request, notebooks_dir, plan_reports

PRIVATE_PREFIX = "evalkit-run-"  # the run's private working folder, in the system's temporary folder
FAILED_PREFIX = "evalkit-failed-"  # executed notebooks of failed reports, kept for the analyst




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
    cache=True,
    overview: bool = True,
) -> int:
    """Write every report of `data` into `out`; returns the exit code (0, or 1 when a report failed).

    Bad input (dataset, targets, municipalities, an --out folder that may not or
    cannot be written) raises InputError before anything is created. `notebook_dir`
    replaces notebooks (tests use it for notebooks that fail on purpose);
    `threshold` is the suppression threshold (default suppression.THRESHOLD);
    `progress` shows a progress bar (default: when stderr is a terminal); `cache` (runner.cache: True
    for the user's cache, False for none) holds the validated dataset and the indicators. `overview=False`
    leaves out the status report and the round comparison (a run for a few municipalities).
    """
    t0 = time.perf_counter()
    key = secrets.token_bytes(32)
    # The kernels take longest to be ready. Into a new --out folder (or with force) every planned report is
    # made, so they start first, before the data is loaded (they write nothing; bad input stops them);
    # into an earlier run's folder, once the plan shows which reports changed (maybe none).
    early = None
    if force or not (Path(out) / MANIFEST).exists():
        n = len(municipalities) if municipalities and not overview else None
        early = _start_kernels(jobs, n, key)
    try:
        return _build(data, out, municipalities, jobs, targets_file, force, notebook_dir, threshold, progress,
                      cache, overview, early, key, t0)
    finally:
        if early is not None:
            early.close(timeout=60)


def _start_kernels(jobs: int, reports: int | None, key: bytes) -> KernelPool:
    """One warm kernel per job, at most one per report (`reports`, when known); they get the run's key."""
    from evalkit.report.context_file import CONTEXT_KEY_ENV

    n = max(1, int(jobs or 1))
    if reports:
        n = min(n, reports)
    return KernelPool(n, env={**os.environ, CONTEXT_KEY_ENV: key.hex()})


def _build(data, out, municipalities, jobs, targets_file, force, notebook_dir, threshold, progress, cache,
           overview, pool: KernelPool | None, key: bytes, t0: float) -> int:
    from evalkit.report.suppression import THRESHOLD
    from evalkit.runner import exports
    from evalkit.runner.cache import load_dataset
    from evalkit.runner.export import _index_key
    from evalkit.stats.criteria import targets_without_cases

    data, out = Path(data), Path(out)
    # 1. validate everything before creating anything
    ds = load_dataset(data, cache=cache)
    chosen = _check_request(ds, municipalities)
    warning = targets_without_cases(ds, targets_file)  # (reads and checks the targets file)
    if warning:
        _echo(f"evalkit: warning: {warning}")
    try:
        nb_dir = Path(notebook_dir) if notebook_dir else notebooks_dir()
    except FileNotFoundError as err:
        _echo(f"evalkit: error: {err}")
        return 1
    threshold = THRESHOLD if threshold is None else int(threshold)
    plan = plan_reports(ds, data, chosen, targets_file, nb_dir, threshold, overview)
    # issue 11: the workbooks, figure folders (listed as 'name/') and the run's tidy files too
    own_files = [INDEX, *(j.html for j in plan), *exports.planned_files([j.name for j in plan])]
    manifest = check_out_folder(out, own_files)

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
        return (entry.get("status") == "ok" and entry.get("key") == job.key and (out / job.html).exists()
                and (out / exports.workbook_name(job.name)).exists())

    todo = [j for j in plan if force or not unchanged(j)]
    skipped = [j for j in plan if j not in todo]

    # 3. write: the out folder with its manifest (listing every file this run may write), then the reports
    manifest.update({"evalkit_version": evalkit.__version__,
                     "dataset": {"name": ds.name, "folder": Path(data).resolve().name}})
    manifest["files"] = sorted(set(manifest["files"]) | set(own_files))
    _create_out(out, manifest)
    index_salt = [code_hash, targets_hash, threshold]
    if not todo and manifest.get("index_key") == _index_key(out, ds.input_hash, plan, manifest, index_salt) \
            and all((out / f).exists() for f in (INDEX, *exports.RUN_FILES)):
        return _summary(out, {}, skipped, t0)  # nothing changed: no context to compute, no kernel to start
    with _PrivateFolder() as work:
        if todo and pool is None:
            pool = _start_kernels(jobs, len(todo), key)
        return _run(ds, out, work, plan, todo, skipped, manifest, targets_file, pool, key, threshold, progress, t0,
                    index_salt, cache)


def _run(ds, out: Path, work: Path, plan, todo, skipped, manifest, targets_file, pool: KernelPool | None, key: bytes,
         threshold, progress, t0, index_salt, cache=True) -> int:
    """Compute the context, run the notebooks of `todo` in the pool's kernels, write the index; the exit code."""
    from tqdm import tqdm

    from evalkit.report import context
    from evalkit.runner import exports
    from evalkit.runner.export import _write_index

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
            manifest["files"] = sorted(set(manifest["files"]) | set(result.files))
        else:
            result.kept = keep_failed(result)
            (out / job.html).unlink(missing_ok=True)  # a stale report must not pass for a current one
            exports.remove_report_exports(out, job.name)  # nor its workbook and figures
            entry = _manifest_entry(job, ds, result, "failed")
        results[job.name] = result
        done[job.name] = entry
        _save_manifest(out, manifest)

    context_file = work / "context.pkl"
    for job in plan:
        job.parameters["context_cache"] = str(context_file)
    if not todo and pool is not None:
        pool.close()
        pool = None
    try:
        from evalkit.runner.context_cache import report_context

        # every municipality, also in a run for a few: the suppression of a report's counts depends on the
        # counts of all (grids.py), and a report must be the same page whether made alone or with the others
        # and the suppression across all reports, decided before any renders (grids.linked_decision)
        ctx = report_context(ds, targets_file, threshold, cache)
        context.write_context(context_file, ctx, key)
        ordered = sorted(todo, key=lambda j: -j.weight)
        finished = pool.run(ordered, out, work) if pool is not None else []
        # what needs the context only, while the reports render: the tidy indicators, the index page's modules
        exports.write_tidy_of_run(out, ctx, threshold)
        import evalkit.report.index  # noqa: F401
        if pool is not None:
            bar = tqdm(total=len(ordered), desc="Rapporter", unit="rapport",
                       disable=(not sys.stderr.isatty()) if progress is None else not progress)
            for result in finished:
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
