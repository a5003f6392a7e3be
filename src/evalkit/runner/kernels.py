"""Warm kernels: each worker thread starts one Jupyter kernel, pre-imports the heavy modules and runs
many notebooks in it (the namespace reset between notebooks); a `KernelPool` hands the jobs out.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
import traceback
from pathlib import Path

from evalkit.iorw import write_atomic
from evalkit.runner.engine import _register_warm_engine
from evalkit.runner.plan import JobResult, ReportJob

CELL_TIMEOUT = 1800  # seconds per notebook cell
KERNEL_NAME = "python3"

# Executed in each warm kernel once: pre-import the heavy modules so that every
# notebook finds them imported, and define the namespace reset run before each notebook.
WARMUP_CODE = """\
import importlib
for _name in ("numpy", "pandas", "matplotlib.pyplot", "evalkit.report.context", "evalkit.runner.notebook",
              "evalkit.report.municipality", "evalkit.report.status_report", "evalkit.report.round_comparison",
              "scipy.optimize"):  # the reports' suppression solves linear programmes (report/suppression.py)
    try:
        importlib.import_module(_name)
    except Exception:  # a real import error shows in the notebook that needs the module
        pass

try:  # issue 11: tables, figures and footer also as data for the workbook and figure files (report/workbook.py)
    importlib.import_module("evalkit.report.workbook").install(get_ipython())
except Exception:  # without them the report still renders; its workbook then has no sheets
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


def _failed(nb) -> tuple[bool, str]:
    """(True, message) when any cell raised, including a sys.exit (papermill lets sys.exit(0) pass)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return True, f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return True, "cell raised an exception"
    return False, ""


class Worker:
    """One warm kernel and one HTML exporter, executing notebooks one after another."""

    def __init__(self, kernel_name: str = KERNEL_NAME, env: dict | None = None,
                 stop: threading.Event | None = None):
        """Start the kernel; with `stop` set meanwhile (the run needs no kernel after all), it is shut
        down after the step under way and `Cancelled` raised."""
        self.kernel_name = kernel_name
        self.env = env  # the kernel's environment (default: this process's)
        self.km = None
        self.kc = None
        # the kernel process first, and its pre-imports sent: it warms up (on the other core) while this
        # thread imports nbconvert and papermill
        self.launch_kernel()
        self._unless(stop)
        warmup = self.send_warmup()
        self._unless(stop)
        from evalkit.runner.export import make_exporter  # pandas and the report modules: after the launch

        self.exporter = make_exporter()
        self.engine = _register_warm_engine()
        self._unless(stop)
        self.wait_warmup(warmup)

    def _unless(self, stop: threading.Event | None) -> None:
        if stop is not None and stop.is_set():
            self.shutdown()
            raise Cancelled

    def start_kernel(self) -> None:
        self.launch_kernel()
        self.wait_warmup(self.send_warmup())

    def launch_kernel(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        # the kernel's own log (e.g. its TCP notice) is not ours to print
        run_sync(self.km.start_kernel)(stderr=subprocess.DEVNULL, **({"env": self.env} if self.env else {}))

    def send_warmup(self) -> str:
        """Connect to the launched kernel, wait until it answers, and send it the pre-imports
        (WARMUP_CODE) without waiting for them; the request's id."""
        from jupyter_core.utils import run_sync

        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=120)
        return self.kc.execute(WARMUP_CODE, silent=True, store_history=False)

    def wait_warmup(self, msg_id: str) -> None:
        """Wait for the reply to the pre-imports (an error there shows in the notebook that needs the module)."""
        from jupyter_core.utils import run_sync

        deadline = time.monotonic() + CELL_TIMEOUT
        while time.monotonic() < deadline:
            reply = run_sync(self.kc.get_shell_msg)(timeout=max(1.0, deadline - time.monotonic()))
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return
        raise TimeoutError("the kernel did not finish its pre-imports")

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

        from evalkit.runner import exports
        from evalkit.runner.export import notebook_to_html

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
        # issue 11: link the workbook, head the printed pages; then the workbook and figure files
        executed.metadata["title"] = job.title
        executed.metadata["evalkit"] = exports.page_metadata(job.name, executed)
        write_atomic(out / job.html, notebook_to_html(executed, job.title, self.exporter))
        files = exports.write_report_exports(out, job.name, job.title, executed,
                                             exports.suppression_note(job.parameters.get("suppression_threshold")))
        tmp_ipynb.unlink(missing_ok=True)
        return JobResult(job.name, True, time.perf_counter() - t0, "", os.getpid(), files=files)


class Cancelled(Exception):
    """A kernel's start was stopped: the run needs no kernel (nothing to do, or bad input)."""


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
            worker = Worker(self.kernel_name, self.env, self.stop)
        except Cancelled:
            return
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
        """Start the jobs (heavier jobs first: they are queued first) and return an iterator giving a
        JobResult per job as each finishes.

        Reports go to `out`; executed notebooks to the private folder `work`.
        """
        for job in jobs:
            self.jobs.put((job, out, work))
        self.ready.set()
        return (self.results.get() for _ in jobs)

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
