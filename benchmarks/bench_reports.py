"""Benchmark: `evalkit reports` against the loop a user would write by hand.

The national-scale synthetic dataset (98 municipalities, `evalkit sample --scale
national`) goes through
  1. `evalkit reports DATA --out DIR --jobs N --force` (warm kernels, indicators
     computed once), for all chosen municipalities and again for the first 10,
     which gives the marginal cost of one more report;
  2. the naive loop: for each report, sequentially, papermill with a fresh kernel
     (the notebook computes what it shows from the data, as when run by hand), then
     nbconvert to HTML.
Both produce the same reports (every municipality, the status report, the round
comparison); the figures (embedded PNGs) of both are compared byte for byte.

    python benchmarks/bench_reports.py              # all 98 municipalities (the naive loop takes long)
    python benchmarks/bench_reports.py --limit 10   # a quick run on the first 10
    python benchmarks/bench_reports.py --data DIR   # reuse a generated national dataset
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVALKIT = [sys.executable, "-m", "evalkit.cli"]


def run_reports(data: Path, out: Path, municipalities: list[str], jobs: int) -> float:
    """Wall time of one `evalkit reports` run (all reports redone)."""
    cmd = [*EVALKIT, "reports", str(data), "--out", str(out), "--jobs", str(jobs), "--force", "--with-overview"]
    for m in municipalities:
        cmd += ["--municipality", m]
    t0 = time.perf_counter()
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(f"evalkit reports failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds


def naive_loop(data: Path, out: Path, municipalities: list[str], rounds_of: dict[str, list[int]]) -> float:
    """Wall time of: for each report, papermill (fresh kernel) then nbconvert, one after another."""
    import papermill as pm
    from evalkit.runner.plan import notebooks_dir, slug
    from nbconvert import HTMLExporter

    folder = notebooks_dir()
    jobs = [("statusrapport", "status_report.ipynb", {"data": str(data)}),
            ("rundesammenligning", "round_comparison.ipynb", {"data": str(data)})]
    for m in municipalities:
        r = rounds_of[m]
        jobs.append((f"kommune-{slug(m)}", "municipality.ipynb",
                     {"data": str(data), "municipality": m, "round": r[0] if len(r) == 1 else None}))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for name, notebook, params in jobs:
        executed = out / f"{name}.ipynb"
        pm.execute_notebook(str(folder / notebook), str(executed), parameters=params, kernel_name="python3",
                            progress_bar=False)
        body, _ = HTMLExporter(exclude_input=True).from_filename(str(executed))
        (out / f"{name}.html").write_text(body, encoding="utf-8")
    return time.perf_counter() - t0


def figures(page: str) -> list[str]:
    """The embedded PNG figures of a report (img tags only: nbconvert's own CSS holds a PNG too)."""
    return re.findall(r"""<img[^>]*src=["']data:image/png;base64,([A-Za-z0-9+/=\s]+)""", page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N municipalities")
    parser.add_argument("--jobs", type=int, default=2, help="parallel notebooks for evalkit reports")
    parser.add_argument("--data", type=Path, default=None, help="an existing national dataset folder")
    parser.add_argument("--skip-naive", action="store_true", help="time evalkit reports only")
    args = parser.parse_args()

    from evalkit.data.dataset import load_dataset

    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            data = tmp / "national"
            t0 = time.perf_counter()
            subprocess.run([*EVALKIT, "sample", "--out", str(data), "--scale", "national"], check=True,
                           capture_output=True)
            print(f"generated the national dataset in {time.perf_counter() - t0:.1f} s")
        ds = load_dataset(data)
        names = sorted(str(m) for m in ds.cases["municipality"].unique())
        rounds_of = {m: sorted(int(r) for r in ds.cases.loc[ds.cases["municipality"] == m, "round"].unique())
                     for m in names}
        chosen = names[: args.limit] if args.limit else names
        n = len(chosen)
        print(f"{len(ds.cases):,} cases; {n} municipality reports + status report + round comparison; "
              f"{args.jobs} jobs")

        t_all = run_reports(data, tmp / "runner", chosen, args.jobs)
        print(f"evalkit reports, {n} municipalities: {t_all:.1f} s ({t_all / (n + 2):.2f} s per report)")
        small = min(10, n)
        if n > small:
            t_small = run_reports(data, tmp / "runner_small", chosen[:small], args.jobs)
            marginal = (t_all - t_small) / (n - small)
            print(f"evalkit reports, {small} municipalities: {t_small:.1f} s; "
                  f"marginal cost per extra report: {marginal:.2f} s")
        if args.skip_naive:
            return

        t_naive = naive_loop(data, tmp / "naive", chosen, rounds_of)
        print(f"naive loop (papermill + nbconvert per report, fresh kernel): {t_naive:.1f} s "
              f"({t_naive / (n + 2):.2f} s per report)")
        print(f"speed-up: {t_naive / t_all:.1f} x")

        same = total = 0
        for page in (tmp / "runner").glob("*.html"):
            if page.name == "index.html":
                continue
            other = tmp / "naive" / page.name
            a, b = figures(page.read_text(encoding="utf-8")), figures(other.read_text(encoding="utf-8"))
            total += 1
            same += a == b and len(a) > 0
        print(f"reports whose figures are byte-identical in both: {same} of {total}")


if __name__ == "__main__":
    main()
