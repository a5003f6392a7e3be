"""Small linear programmes for the suppression checks (report/linked.py, suppression.pinned_cells),
solved by the HiGHS inside scipy.

scipy's `linprog(method="highs")` makes a new HiGHS instance and checks each of its options on every
call. For the ~1,600 small LPs of the linked search on national data (report/linked.py) that took
longer than the solving: 8.2 s, of which HiGHS's own work 4.2 s. `minimize` passes each problem to
one HiGHS instance per thread, kept for the next: the same HiGHS build with the same default options
as `linprog`, so the same optima (tests/test_lp.py checks it against `linprog`; the national
decision came out the same, 10.4 s -> 6.5 s). scipy's binding of HiGHS is not public
(`scipy.optimize._highspy._core`, scipy >= 1.15); without it, `minimize` calls `linprog`.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.sparse import csc_matrix

try:
    from scipy.optimize._highspy import _core as _highs
except ImportError:  # an older scipy: linprog then
    _highs = None

_local = threading.local()


def minimize(cost, a_eq, b_eq, lower, upper) -> tuple[float, np.ndarray] | None:
    """min cost @ x subject to a_eq @ x == b_eq (a_eq None: no equations) and lower <= x <= upper:
    (the optimum, an optimal x), or None when there is no optimum (infeasible, unbounded)."""
    if _highs is None:
        return _by_linprog(cost, a_eq, b_eq, lower, upper)
    lp = _highs.HighsLp()
    lp.num_col_ = len(cost)
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_ = np.asarray(lower, float)
    lp.col_upper_ = np.asarray(upper, float)
    lp.num_row_ = 0
    if a_eq is not None:
        matrix = csc_matrix(a_eq)
        lp.num_row_ = matrix.shape[0]
        lp.row_lower_ = lp.row_upper_ = np.asarray(b_eq, float)
        lp.a_matrix_.format_ = _highs.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = matrix.shape[1], matrix.shape[0]
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    solver = _solver()
    solver.passModel(lp)
    solver.run()
    if solver.getModelStatus() != _highs.HighsModelStatus.kOptimal:
        return None
    return solver.getInfo().objective_function_value, np.array(solver.getSolution().col_value)


def _solver():
    """This thread's HiGHS instance, silent (linprog's options: HiGHS's defaults, nothing printed)."""
    if getattr(_local, "solver", None) is None:
        solver = _highs._Highs()
        options = _highs.HighsOptions()
        options.output_flag = False
        options.log_to_console = False
        solver.passOptions(options)
        _local.solver = solver
    return _local.solver


def _by_linprog(cost, a_eq, b_eq, lower, upper) -> tuple[float, np.ndarray] | None:
    from scipy.optimize import linprog

    res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=np.column_stack([lower, upper]), method="highs")
    return (res.fun, res.x) if res.status == 0 else None
