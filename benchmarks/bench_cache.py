"""Benchmark: the cache of issue 12 on the national sample, cold against warm, in one run.

Usage: python benchmarks/bench_cache.py [DATASET_FOLDER]

Without a folder, generates the national sample (`evalkit sample --scale
national`: 98 municipalities, 60,000 cases) in a temporary folder. Uses a new,
empty cache folder of its own (EVALKIT_CACHE_DIR), so "cold" is a first run and
"warm" the run after it. Times, in this process: loading the dataset (without
the cache, cold = load and store, warm = read back) and compute_all (the same
three ways); then the wall time of the commands as a user starts them
(`evalkit validate`, `evalkit indicators --json`, `evalkit series --json`,
`evalkit capacity`). Prints a table; exits 1 when a target of the issue is
missed (validate warm <= 5 s, capacity <= 1 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"evalkit validate (warm cache)": 5.0, "evalkit capacity": 1.0}
EVALKIT = [sys.executable, "-m", "evalkit.cli"]


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def wall(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([*EVALKIT, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run(folder: Path, cache_dir: Path) -> int:
    os.environ["EVALKIT_CACHE_DIR"] = str(cache_dir)
    from evalkit.runner import cache, dataset, indicators
    from evalkit.runner.cache_store import Cache

    store = Cache(cache_dir)
    rows: list[tuple[str, float]] = []
    t, ds = timed(lambda: dataset.load_dataset(folder))
    rows.append(("load_dataset, no cache", t))
    rows.append(("load_dataset, cold cache (load + store)", timed(lambda: cache.load_dataset(folder, cache=store))[0]))
    t, warm = timed(lambda: cache.load_dataset(folder, cache=store))
    rows.append(("load_dataset, warm cache", t))
    assert warm.input_hash == ds.input_hash
    rows.append(("compute_all, no cache", timed(lambda: indicators.compute_all(ds))[0]))
    rows.append(("compute_all, cold cache (compute + store)", timed(lambda: cache.compute_all(ds, cache=store))[0]))
    rows.append(("compute_all, warm cache", timed(lambda: cache.compute_all(ds, cache=store))[0]))

    data = str(folder)
    rows.append(("evalkit validate --no-cache", wall(["validate", "--no-cache", data])))
    store.clear()
    rows.append(("evalkit validate (cold cache)", wall(["validate", data])))
    rows.append(("evalkit validate (warm cache)", wall(["validate", data])))
    rows.append(("evalkit indicators --json --no-cache", wall(["indicators", data, "--json", "--no-cache"])))
    rows.append(("evalkit indicators --json (dataset cached)", wall(["indicators", data, "--json"])))
    rows.append(("evalkit indicators --json (warm cache)", wall(["indicators", data, "--json"])))
    rows.append(("evalkit series --json (dataset cached)", wall(["series", data, "--json"])))
    rows.append(("evalkit series --json (warm cache)", wall(["series", data, "--json"])))
    rows.append(("evalkit capacity", wall(["capacity", "--citizens", "1000", "--days", "2", "--weeks", "43",
                                           "--intensive-share", "30%"])))
    size = sum(e[1] for e in store.entries())

    print(f"dataset: {len(ds.cases):,} cases, {len(ds.hours):,} hours rows, {len(ds.contacts):,} contacts; "
          f"cache: {len(store.entries())} entries, {size / 2**20:.1f} MiB")
    print(f"{'step':<48} {'seconds':>8}  target")
    ok = True
    for name, seconds in rows:
        target = TARGETS.get(name)
        missed = target is not None and seconds > target
        ok &= not missed
        note = "" if target is None else f"<= {target:.0f} s" + (" MISSED" if missed else "")
        print(f"{name:<48} {seconds:8.2f}  {note}")
    return 0 if ok else 1


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-cache-") as tmp:
        cache_dir = Path(tmp) / "cache"
        if len(sys.argv) > 1:
            return run(Path(sys.argv[1]), cache_dir)
        folder = Path(tmp) / "national"
        subprocess.run([*EVALKIT, "sample", "--out", str(folder), "--scale", "national"],
                       check=True, stdout=subprocess.DEVNULL)
        try:
            return run(folder, cache_dir)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
