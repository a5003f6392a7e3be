"""evalkit.report.lp.minimize against scipy's linprog: the same optimum (or none) on random small
equality systems with bounds, like those of the linked search; also through its fallback (linprog)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from evalkit.report import lp


def systems(n: int = 300, seed: int = 7):
    """Random systems: 0/±1 equations over whole-number true values (so most are feasible), bounds from
    0 or 1 to none, a cap or a small number, some without equations, some made infeasible on purpose
    (like those of report/linked.py and suppression.pinned_cells)."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        cols = int(rng.integers(1, 12))
        rows = 0 if k % 10 == 0 else int(rng.integers(1, 6))
        truth = rng.integers(0, 40, cols).astype(float)
        a = rng.choice([0.0, 0.0, 1.0, 1.0, -1.0], size=(rows, cols))
        b = a @ truth + (7.0 if k % 17 == 0 else 0.0)  # every 17th: no longer solved by the truth
        lower = np.where(rng.random(cols) < 0.3, 1.0, 0.0)
        kind = rng.random(cols)  # no bound above (unbounded maxima), a cap, or a small bound
        upper = np.where(kind < 0.25, np.inf, np.where(kind < 0.5, 1e7, truth + rng.integers(0, 5, cols)))
        cost = np.zeros(cols)
        cost[int(rng.integers(cols))] = rng.choice([-1.0, 1.0])
        yield cost, (a if rows else None), (b if rows else None), lower, upper


def expected(cost, a, b, lower, upper):
    res = linprog(cost, A_eq=a, b_eq=b, bounds=np.column_stack([lower, upper]), method="highs")
    return res.fun if res.status == 0 else None


@pytest.mark.parametrize("binding", ["highs", "linprog"])
def test_minimize_gives_linprogs_optimum(binding, monkeypatch):
    if binding == "linprog":
        monkeypatch.setattr(lp, "_highs", None)
    elif lp._highs is None:
        pytest.fail("this scipy has no HiGHS binding: the fast path is untested")
    found = {"optimum": 0, "none": 0}
    for cost, a, b, lower, upper in systems():
        want = expected(cost, a, b, lower, upper)
        got = lp.minimize(cost, a, b, lower, upper)
        if want is None:
            assert got is None
            found["none"] += 1
            continue
        fun, x = got
        assert fun == pytest.approx(want, abs=1e-9)
        assert cost @ x == pytest.approx(fun, abs=1e-9)  # x attains it ...
        assert np.all(x >= lower - 1e-9) and np.all(x <= upper + 1e-9)  # ... within the bounds
        if a is not None:
            np.testing.assert_allclose(a @ x, b, atol=1e-7)  # ... and solves the equations
        found["optimum"] += 1
    assert found["optimum"] > 200 and found["none"] > 10  # both kinds were met
