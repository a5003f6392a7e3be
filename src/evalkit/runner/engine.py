"""papermill's warm engine: runs a notebook in a kernel that is already started and keeps it running."""

from __future__ import annotations


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
