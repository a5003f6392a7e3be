"""Benchmark: every indicator for a national-scale dataset (60,000 cases, 98 municipalities).

Usage: python benchmarks/bench_indicators.py [DATASET_FOLDER]

Without a folder, generates the national sample (`evalkit sample --scale national`)
in a temporary folder, in a separate process so that the peak memory measured
here is that of loading and computing only. Prints the load time, the time of
`compute_all` (project, every municipality, every round) and the peak resident
memory of this process. Exits 1 when compute_all takes over 10 s or the peak
memory exceeds 2 GB.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10.0
TARGET_BYTES = 2 * 1024**3


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def run(folder: Path) -> int:
    from evalkit.data.dataset import load_dataset
    from evalkit.stats.indicators import compute_all

    t0 = time.perf_counter()
    ds = load_dataset(folder)
    t1 = time.perf_counter()
    result = compute_all(ds)
    t2 = time.perf_counter()
    peak = peak_rss_bytes()
    n_munis = len(result["municipalities"])
    print(f"dataset: {len(ds.cases):,} cases, {len(ds.hours):,} hours rows, {len(ds.contacts):,} contacts, "
          f"{n_munis} municipalities, {len(result['rounds'])} rounds")
    print(f"load_dataset: {t1 - t0:.2f} s")
    print(f"compute_all:  {t2 - t1:.2f} s (target < {TARGET_SECONDS:.0f} s)")
    print(f"peak memory:  {peak / 1024**2:,.0f} MiB (target < {TARGET_BYTES / 1024**3:.0f} GiB)")
    ok = (t2 - t1) < TARGET_SECONDS and peak < TARGET_BYTES
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


def main() -> int:
    if len(sys.argv) > 1:
        return run(Path(sys.argv[1]))
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as tmp:
        folder = Path(tmp) / "national"
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "evalkit.cli", "sample", "--out", str(folder), "--scale", "national"],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"generated national sample: {time.perf_counter() - t:.1f} s")
        return run(folder)


if __name__ == "__main__":
    sys.exit(main())
