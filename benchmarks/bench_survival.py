"""Time time_to_flexjob on 60,000 synthetic cases and on 98 group subsets.

Run: .venv/bin/python benchmarks/bench_survival.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from evalkit.stats.survival import logrank_test, time_to_flexjob

E = pd.Timestamp("2021-12-31")


def synthetic_cases(n: int = 60_000, groups: int = 98, seed: int = 1) -> pd.DataFrame:
    """Cases with benefit spells, left-truncated entry, flexjobs and exits (dates, vectorised)."""
    rng = np.random.default_rng(seed)
    benefit_start = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 1200, n), unit="D")
    entry_days = np.maximum(0, rng.integers(-60, 300, n))
    on_benefit = rng.exponential(300, n).astype(int) + entry_days + 1
    exit_days = entry_days + rng.integers(1, 900, n)
    flex = rng.random(n) < 0.6
    return pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "target_group": "ledighedsydelse",
            "round": rng.integers(1, 3, n),
            "group": rng.integers(0, groups, n),
            "benefit_start": benefit_start,
            "project_entry": benefit_start + pd.to_timedelta(entry_days, unit="D"),
            "flexjob_start": (benefit_start + pd.to_timedelta(on_benefit, unit="D")).where(flex),
            "exit_date": (benefit_start + pd.to_timedelta(exit_days, unit="D")).where(~flex | (exit_days < on_benefit)),
        }
    )


def main() -> None:
    cases = synthetic_cases()
    t0 = time.perf_counter()
    whole = time_to_flexjob(cases, E)
    t1 = time.perf_counter()
    for _, sub in cases.groupby("group"):
        time_to_flexjob(sub, E)
    t2 = time.perf_counter()
    lr = logrank_test(cases, E, "round")
    t3 = time.perf_counter()
    print(f"n={whole.n} events={whole.events} s39={whole.s39:.4f} curve rows={len(whole.curve)}")
    print(f"time_to_flexjob, 60,000 cases: {t1 - t0:.3f} s")
    print(f"time_to_flexjob, 98 subsets:   {t2 - t1:.3f} s")
    print(f"logrank_test by round, 60,000: {t3 - t2:.3f} s (statistic {lr['statistic']:.2f})")


if __name__ == "__main__":
    main()
