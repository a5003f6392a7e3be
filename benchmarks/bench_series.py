"""Benchmark: the monthly and quarterly series next to today's indicators, national scale.

Usage: python benchmarks/bench_series.py [DATASET_FOLDER]

Without a folder, generates the national sample (`evalkit sample --scale
national`: 98 municipalities, 60,000 cases, 33 months) in a temporary folder.
Loads it once, then times `compute_all` (every indicator for the project, every
municipality and every round, as of E) and `compute_series` (stocks and flows at
every month-end and the criteria at every quarter-end, for the same scopes) in
the same run. Exits 1 when the series take over 15 s.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 15.0


def run(folder: Path) -> int:
    from evalkit.data.dataset import load_dataset
    from evalkit.stats.indicators import compute_all
    from evalkit.stats.series import compute_series

    t0 = time.perf_counter()
    ds = load_dataset(folder)
    t1 = time.perf_counter()
    indicators = compute_all(ds)
    t2 = time.perf_counter()
    series = compute_series(ds)
    t3 = time.perf_counter()
    scope = series["scopes"]["project"]
    print(f"dataset: {len(ds.cases):,} cases, {len(ds.hours):,} hours rows, "
          f"{len(indicators['municipalities'])} municipalities, {len(indicators['rounds'])} rounds")
    print(f"series: {len(series['scopes'])} scopes x {len(scope['monthly'])} months "
          f"({len(scope['quarterly'])} quarter-ends)")
    print(f"load_dataset:             {t1 - t0:6.2f} s")
    print(f"indicators (compute_all): {t2 - t1:6.2f} s")
    print(f"series (compute_series):  {t3 - t2:6.2f} s (target <= {TARGET_SECONDS:.0f} s beyond the indicators)")
    ok = (t3 - t2) <= TARGET_SECONDS
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


def main() -> int:
    if len(sys.argv) > 1:
        return run(Path(sys.argv[1]))
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        folder = Path(tmp) / "national"
        subprocess.run([sys.executable, "-m", "evalkit.cli", "sample", "--out", str(folder), "--scale", "national"],
                       check=True, stdout=subprocess.DEVNULL)
        return run(folder)


if __name__ == "__main__":
    sys.exit(main())
