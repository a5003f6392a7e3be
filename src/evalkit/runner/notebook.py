"""The context a report notebook shows: what its first cell calls (issue 12).

Run by `evalkit reports`, a notebook gets the run's context file as the papermill parameter
`context_cache` (`report.context.report_context` reads it with the run's key). Run by hand (in
JupyterLab, or with plain papermill) it gets its dataset's context from this user's cache
(runner.context_cache): built and stored the first time, read in seconds after that, also on national
data, so a project lead who runs a notebook again, or another municipality's, waits once. The
context is always of every municipality, because what a report hides depends on the counts of all of
them (the linked decision, report/grids.py), so a notebook run by hand hides what the runner's report
of the same municipality hides.
"""

from __future__ import annotations


def notebook_context(data=None, context_cache=None, targets_file=None):
    """The `ReportContext` of the dataset folder `data` (with the targets of `targets_file`), or the
    runner's context file `context_cache` when the runner gives one."""
    if context_cache:
        from evalkit.report.context import report_context

        return report_context(context_cache)
    if data is None:
        raise ValueError("give the dataset folder (data) or the runner's context file (context_cache)")
    from evalkit.runner.cache import load_dataset
    from evalkit.runner.context_cache import report_context as cached_context

    return cached_context(load_dataset(data), targets_file)
