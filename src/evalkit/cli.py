"""The command line (SPEC section 6).

Exit codes: 0 success, 2 bad input (message on stderr, nothing written),
1 when some report failed. A file or folder the system refuses (unwritable or
impossible --out, unreadable file) is bad input too: exit 2 naming the path,
never a traceback. Heavy modules are imported inside each command so that
`evalkit --help` and `evalkit capacity` start fast, and `evalkit validate` and
`evalkit capacity` never import statsmodels, matplotlib, papermill, nbconvert or
lifelines (tests/test_cache.py checks it).

validate, indicators, series and reports keep the validated dataset and their
results in the user's cache (evalkit.runner.cache); `--no-cache` bypasses it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evalkit.errors import InputError


class _Group(click.Group):
    """Turns InputError, and an OSError about a named path, from any command into exit code 2
    with the message on stderr."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as err:
            click.echo(f"evalkit: error: {err}", err=True)
            ctx.exit(2)
        except OSError as err:
            if err.filename is None:
                raise
            click.echo(f"evalkit: error: {err.filename}: {err.strerror or err}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="evalkit")
def main():
    """Evaluate flexjob programmes from anonymised case data."""


@main.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder to write the dataset to.")
@click.option("--scale", type=click.Choice(["sample", "national"]), default="sample", show_default=True)
@click.option("--seed", type=int, default=None, help="Random seed (default: the committed sample's seed).")
def sample(out: Path, scale: str, seed: int | None):
    """Generate a realistic synthetic dataset."""
    from evalkit.data.sample import DEFAULT_SEED, write_sample

    summary = write_sample(out, scale=scale, seed=DEFAULT_SEED if seed is None else seed)
    click.echo(summary)


_no_cache = click.option("--no-cache", "no_cache", is_flag=True,
                         help="Neither read nor write evalkit's cache (see `evalkit cache`).")


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@_no_cache
def validate(data: Path, no_cache: bool):
    """Check a dataset folder against the data contract and summarise it."""
    from evalkit.data.dataset import summarise
    from evalkit.runner.cache import load_dataset

    click.echo(summarise(load_dataset(data, cache=not no_cache)))


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--municipality", default=None, help="Only this municipality.")
@click.option("--round", "round_", type=int, default=None, help="Only this round.")
@click.option("--targets", type=click.Path(path_type=Path), default=None, help="YAML file overriding the shipped targets.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Every figure as if the data had been extracted on this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (not suppressed).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the tidy table of indikatorer.csv for every scope "
              "(project, rounds, municipalities, municipality x round), not suppressed.")
@_no_cache
def indicators(data: Path, municipality: str | None, round_: int | None, targets: Path | None, as_of, as_json: bool,
               as_csv: bool, no_cache: bool):
    """Compute every indicator of SPEC section 3."""
    from evalkit.runner.cache import compute_indicators, load_dataset

    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    ds = load_dataset(data, cache=not no_cache)
    _warn_unused_targets(ds, targets)
    if as_csv:  # issue 11: the whole run's tidy table (the rows of --municipality / --round only, when given)
        from evalkit.report.tidy import compute_tidy, select

        if as_of is not None:
            from evalkit.stats.asof import as_of as cut_back

            frame = compute_tidy(cut_back(ds, as_of), targets)
        else:
            from evalkit.runner.cache import compute_all

            frame = compute_tidy(ds, targets, compute_all(ds, targets, cache=not no_cache))
        click.echo(select(frame, ds, municipality, round_), nl=False)
        return
    result = compute_indicators(ds, municipality=municipality, round_=round_, targets_file=targets, as_of=as_of,
                                cache=not no_cache)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, sort_keys=True, indent=2))
    else:  # (imported here: with a warm cache, --json imports no statistics at all)
        from evalkit.report.text import format_indicators

        click.echo(format_indicators(result))


def _warn_unused_targets(ds, targets: Path | None) -> None:
    """Say on stderr which entries of a --targets file have no cases in the data (a misspelt name)."""
    if targets is not None:
        from evalkit.stats.criteria import targets_without_cases

        warning = targets_without_cases(ds, targets)
        if warning:
            click.echo(f"evalkit: warning: {warning}", err=True)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--municipality", default=None, help="Only this municipality.")
@click.option("--round", "round_", type=int, default=None, help="Only this round.")
@click.option("--targets", type=click.Path(path_type=Path), default=None, help="YAML file overriding the shipped targets.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (not suppressed).")
@click.option("--csv", "as_csv", is_flag=True, help="Print a tidy CSV: scope, period, measure, value, ci_low, ci_high, n, reason.")
@_no_cache
def series(data: Path, municipality: str | None, round_: int | None, targets: Path | None, as_json: bool, as_csv: bool,
           no_cache: bool):
    """Monthly stocks and flows and quarterly success criteria (SPEC section 7)."""
    from evalkit.runner.cache import compute_series, load_dataset

    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    ds = load_dataset(data, cache=not no_cache)
    _warn_unused_targets(ds, targets)
    result = compute_series(ds, municipality=municipality, round_=round_, targets_file=targets, cache=not no_cache)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif as_csv:
        from evalkit.stats.series import series_table

        click.echo(series_table(result).to_csv(index=False, lineterminator="\n"), nl=False)
    else:
        from evalkit.report.text import format_series

        click.echo(format_series(result))


@main.command()
@click.option("--citizens", type=int, required=True, help="Citizens in the caseload (N).")
@click.option("--days", type=float, required=True, help="Conversation days per week (D).")
@click.option("--weeks", type=float, required=True, help="Weeks per full-time year (W), typically 43-44.")
@click.option("--intensive-share", "share", required=True, help="Share needing intensified effort: 0.3 or 30%.")
@click.option("--json", "as_json", is_flag=True, help="Print the tables as JSON.")
def capacity(citizens: int, days: float, weeks: float, share: str, as_json: bool):
    """The capacity calculator (Ressourceberegner, SPEC section 4)."""
    from evalkit.report.text import format_capacity
    from evalkit.stats.capacity import capacity_tables, parse_share

    tables = capacity_tables(citizens, days, weeks, parse_share(share))
    if as_json:
        click.echo(json.dumps(tables, ensure_ascii=False, indent=2))
    else:
        click.echo(format_capacity(tables))


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for the HTML reports: new, empty, or one evalkit wrote before.")
@click.option("--municipality", "municipalities", multiple=True,
              help="Only these municipalities' reports and the index (repeatable).")
@click.option("--with-overview", is_flag=True,
              help="With --municipality: also the status report and the round comparison (all municipalities).")
@click.option("--jobs", type=int, default=2, show_default=True, help="Notebooks run in parallel.")
@click.option("--targets", type=click.Path(path_type=Path), default=None, help="YAML file overriding the shipped targets.")
@click.option("--force", is_flag=True, help="Regenerate every report, even unchanged ones.")
@_no_cache
def reports(data: Path, out: Path, municipalities: tuple[str, ...], with_overview: bool, jobs: int,
            targets: Path | None, force: bool, no_cache: bool):
    """Write the HTML reports: one per municipality, status report, round comparison, index.

    With --municipality only those municipalities' reports and the index are made (a project lead's
    report in seconds); --with-overview adds the status report and the round comparison.
    """
    from evalkit.runner.build import build_reports

    sys.exit(build_reports(data, out, municipalities=list(municipalities), jobs=jobs, targets_file=targets, force=force,
                           cache=not no_cache, overview=with_overview or not municipalities))


@main.group()
def cache():
    """evalkit's cache of validated datasets and computed results ($EVALKIT_CACHE_DIR, else the user's
    cache folder, e.g. ~/.cache/evalkit)."""


@cache.command("clear")
def cache_clear():
    """Remove every entry of the cache."""
    from evalkit.runner.cache import clear

    root, n = clear()
    click.echo(f"evalkit cache: {n} entries removed from {root}")


@cache.command("info")
def cache_info():
    """Where the cache is, its entries and their size."""
    from evalkit.runner.cache import Cache

    store = Cache()
    entries = store.entries() if store.root.is_dir() else []
    size = sum(e[1] for e in entries)
    click.echo(f"evalkit cache: {store.root}\n{len(entries)} entries, {size / 2**20:.1f} MiB "
               f"(at most {store.max_bytes / 2**20:.0f} MiB, least recently used removed first)")


@main.command()
@click.argument("raw", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--key-file", required=True, type=click.Path(path_type=Path), help="Secret key for the keyed hash.")
def pseudonymise(raw: Path, out: Path, key_file: Path):
    """Turn a raw municipal extract into a pseudonymised dataset."""
    from evalkit.data.pseudonymise import pseudonymise_extract

    click.echo(pseudonymise_extract(raw, out, key_file))


@main.command("new-key")
@click.argument("key_file", type=click.Path(path_type=Path))
def new_key(key_file: Path):
    """Write a new random key file for `pseudonymise` (never overwrites one)."""
    from evalkit.data.pseudonymise import write_new_key

    click.echo(write_new_key(key_file))


def run() -> None:
    """The `evalkit` command: `main`, then the process ends at once with its exit code.

    Every file is written and closed when a command returns; what Python would still do, take apart
    the modules loaded (pandas, matplotlib, nbconvert, ...), takes 0.4 s of a report run for nothing.
    """
    import os

    try:
        main()
        code = 0
    except SystemExit as done:  # what sys.exit would make of it
        code = done.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    run()
