"""Benchmark: every target of the fast-start issue (12), measured in one run, printed as one table.

    python benchmarks/bench_targets.py [--data NATIONAL] [--suite] [--naive N]

On the national-scale dataset (`evalkit sample --scale national`: 98 municipalities,
60,000 cases; generated into a temporary folder unless --data names one), with a
cache folder of its own (EVALKIT_CACHE_DIR, new and empty: "cold" is the first run,
"warm" a later one), the wall time of the commands as a user starts them:

- `evalkit validate` without the cache, with a cold and with a warm cache (target: 5 s);
- `evalkit capacity` (target: 1 s);
- one municipality's report (`evalkit reports DATA --municipality M`, report and index)
  from a cold cache (target: 15 s), and warm when only the report's parameters changed:
  another municipality, and a changed --targets file (target: 5 s);
- all reports (every municipality, status report, round comparison, index; target: 45 s),
  and the naive loop (papermill with a fresh kernel, then nbconvert, per report) for the
  status report, the round comparison and the first N municipalities: their embedded
  figures must be byte-identical to the runner's;
- with --suite, the whole test suite as the README runs it (`make test`; target: 240 s).

Exits 1 when a target is missed or a figure differs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reports import figures, naive_loop

ROOT = Path(__file__).resolve().parents[1]
EVALKIT = [sys.executable, "-m", "evalkit.cli"]


def wall(args: list[str], env: dict, cwd: Path | None = None, cmd: list[str] | None = None) -> float:
    """Seconds of one command, run to the end (exit 1 from this script when it fails)."""
    t0 = time.perf_counter()
    result = subprocess.run([*(cmd or EVALKIT), *args], check=False, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(args)}\n{result.stderr[-3000:]}")
    return seconds


def reference_loop() -> float:
    """Seconds of a plain Python loop (10^7 additions): how fast this machine is at the moment, so that
    runs on a busy or slowed machine can be told apart (the development VM varies by a third)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(10**7):
        total += i
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="an existing national dataset folder")
    parser.add_argument("--municipality", default="Faxe", help="the one municipality's report")
    parser.add_argument("--other", default="Aarhus", help="the municipality of the warm run")
    parser.add_argument("--naive", type=int, default=3, help="municipalities in the naive loop (0: none)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--suite", action="store_true", help="also time `make test`")
    args = parser.parse_args()

    rows: list[tuple[str, float | None, float | str]] = []  # (what, target, seconds or a text)
    rows.append(("reference loop, at the start (machine speed)", None, reference_loop()))
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "EVALKIT_CACHE_DIR": str(tmp / "cache")}
        data = args.data
        if data is None:
            data = tmp / "national"
            wall(["sample", "--out", str(data), "--scale", "national"], env)
        data = data.resolve()

        rows.append(("validate, no cache", None, wall(["validate", str(data), "--no-cache"], env)))
        rows.append(("validate, cold cache", None, wall(["validate", str(data)], env)))
        rows.append(("validate, warm cache", 5.0, wall(["validate", str(data)], env)))
        rows.append(("capacity", 1.0, wall(["capacity", "--citizens", "120", "--days", "3", "--weeks", "44",
                                            "--intensive-share", "25%"], env)))

        env_cold = {**env, "EVALKIT_CACHE_DIR": str(tmp / "cache-one")}
        one = ["reports", str(data), "--jobs", str(args.jobs), "--municipality"]
        rows.append((f"one report ({args.municipality}), cold cache", 15.0,
                     wall([*one, args.municipality, "--out", str(tmp / "one-cold")], env_cold)))
        rows.append((f"one report, warm: another municipality ({args.other})", 5.0,
                     wall([*one, args.other, "--out", str(tmp / "one-other")], env_cold)))
        targets = tmp / "targets.yml"
        targets.write_text("default:\n  sc1: 0.30\n  sc2: 0.40\n  sc3: 0.25\n", encoding="utf-8")
        rows.append((f"one report, warm: a changed --targets ({args.municipality})", 5.0,
                     wall([*one, args.municipality, "--out", str(tmp / "one-targets"), "--targets", str(targets)],
                          env_cold)))

        runner = tmp / "all"
        # the report context and its suppression decision are cached by the one-report runs above
        rows.append(("all reports (dataset and context cached)", 45.0,
                     wall(["reports", str(data), "--out", str(runner), "--jobs", str(args.jobs)], env_cold)))
        if args.naive:
            from evalkit.data.dataset import load_dataset

            ds = load_dataset(data)
            names = sorted(str(m) for m in ds.cases["municipality"].unique())[: args.naive]
            rounds_of = {m: sorted(int(r) for r in ds.cases.loc[ds.cases["municipality"] == m, "round"].unique())
                         for m in names}
            naive = tmp / "naive"
            seconds = naive_loop(data, naive, names, rounds_of)
            rows.append((f"naive loop, {len(names) + 2} reports", None, seconds))
            same = differ = 0
            for page in naive.glob("*.html"):
                a = figures(page.read_text(encoding="utf-8"))
                b = figures((runner / page.name).read_text(encoding="utf-8"))
                same, differ = (same + 1, differ) if a == b and a else (same, differ + 1)
            rows.append(("figures byte-identical to the naive loop", None, f"{same} of {same + differ} reports"))
            if differ:
                rows.append(("FIGURES DIFFER", None, f"{differ} reports"))

    if args.suite:
        rows.append(("test suite (make test)", 240.0, wall(["test"], {**os.environ}, cwd=ROOT, cmd=["make"])))

    rows.append(("reference loop, at the end", None, reference_loop()))
    print(f"\n{'measure':58s} {'target':>8s} {'measured':>16s}  ok")
    failed = False
    for what, target, value in rows:
        if isinstance(value, float):
            ok = target is None or value <= target
            failed |= not ok
            shown = f"{value:.1f} s"
        else:
            ok = not what.startswith("FIGURES")
            failed |= not ok
            shown = value
        print(f"{what:58s} {'' if target is None else f'{target:.0f} s':>8s} {shown:>16s}  {'yes' if ok else 'NO'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
