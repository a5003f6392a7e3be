"""Small-cell suppression holds in every published report (SPEC section 5).

Every report is rendered once (`evalkit.runner.build.build_reports`) on a dataset cut
from data/sample so that it is full of small cells: Viborg at full size (so the
project and round 1 have real totals), every other municipality cut to 1-7
cases, and round 2 made of tiny municipalities only (so round totals are small
too). Then every HTML page is read back with the standard library's HTML parser
and checked as a reader would attack it:

- which cells count persons is read from the markers `Table` writes:
  ``<th data-kind="count">`` (the column's body cells), ``<tr data-kind="count">``
  (the row's cells after its label), ``data-kind="count total"`` (a total
  column) and ``<tr class="total">`` (a total row). As a second net, a column
  whose header names persons (COUNT_HEADER) must carry the marker;
- no count cell shows 1-4;
- no suppressed count can be worked out from the totals: no row or column with
  a shown total has exactly one suppressed cell, and, more generally, no "<5"
  has a single possible value given every shown cell, every total and what the
  symbols tell ("<5" is 1-4, "x" is at least 5), found by linear programming;
- no share, mean, median or interval is shown where a count it is computed
  from is suppressed (STAT_SOURCES, explicit per column), and success
  criterion 1 is hidden wherever its numerator or the rest of its denominator
  is 1-4 (computed here from the CSV, not by evalkit);
- a count is not hidden in one report and shown in another (the status grid,
  the numbers of cases);
- no 1-4 persons in running text (notes, footers);
- survival curves are drawn only while at least 5 are at risk (the masking
  function the figures use, and the lines of the drawn figures, against numbers
  at risk counted here from the CSV).
- every other file under --out (issue 11): each workbook shows exactly the cells of its
  report's HTML tables and no count cell of 1-4; the tidy indikatorer.csv/.xlsx show no count
  of 1-4 and nothing beside a hidden count; an SVG's text names no 1-4 persons; a PNG is one of
  the images embedded in its report (drawn from masked data, as checked above).
A sanity test feeds the checkers hand-written tables that leak, so a checker
that finds nothing is known to be able to find something.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from evalkit.data.dataset import load_dataset
from evalkit.report import plots
from evalkit.report import suppression as sup
from evalkit.report.blocks import Section
from evalkit.report.context import build_context
from evalkit.report.municipality import MunicipalityReport
from evalkit.report.round_comparison import RoundComparison

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
E = pd.Timestamp("2021-12-31")  # extraction_date of data/sample
T = 5  # the threshold the reports are rendered with (SPEC section 5 default)
SMALL = "<5"
HIDDEN = "x"
MISSING = "–"

# --- the dataset -------------------------------------------------------------------

FULL_SIZE = "Viborg"  # kept whole (410 cases, round 1)
# municipality -> number of cases kept, mixing target groups and outcomes (round robin)
ROUND_ROBIN = {
    "Albertslund": 1, "Ballerup": 2, "Faxe": 3, "Frederikshavn": 4, "Thisted": 6, "Tønder": 7,  # round 1
    "Glostrup": 1, "Helsingør": 2, "Herlev": 3, "Hvidovre": 4, "København": 1, "Lemvig": 2,  # round 2
    "Middelfart": 1, "Nordfyn": 2, "Odense": 1, "Vejen": 1,
}
# municipality -> (ledighedsydelse cases with a valid flexjob, without): shares from 1-4 persons
SC1_MIX = {"Gentofte": (2, 5), "Stevns": (5, 1)}  # k = 2 of 7; n - k = 1 of 6
NO_HOURS = {"Herlev", "Hvidovre"}  # their hours rows are left out: under 5 in round 2 show progression


def valid_flexjob(cases: pd.DataFrame) -> pd.Series:
    """SPEC section 3: a flexjob started on or before E and not after the exit."""
    start, exit_ = cases["flexjob_start"], cases["exit_date"]
    return start.notna() & (start <= E) & (exit_.isna() | (start <= exit_))


def read_cases(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "cases.csv", dtype=str).assign(**{
        c: lambda d, c=c: pd.to_datetime(d[c]) for c in ("project_entry", "benefit_start", "flexjob_start", "exit_date")
    })


def write_small_cells_dataset(folder: Path) -> Path:
    """data/sample cut down to many tiny municipalities (see the module docstring), with hours and contacts."""
    folder.mkdir(parents=True)
    raw = pd.read_csv(SAMPLE / "cases.csv", dtype=str)
    cases = read_cases(SAMPLE)
    flex = valid_flexjob(cases)
    # outcome class for the round robin: target group x (flexjob, exit, neither)
    kind = cases["target_group"] + "/" + np.where(flex, "flex", np.where(cases["exit_date"].notna(), "exit", "open"))
    keep = [raw.index[raw["municipality"] == FULL_SIZE]]
    for m, size in ROUND_ROBIN.items():
        own = kind[raw["municipality"] == m].sort_index()
        order = own.groupby(own).cumcount().sort_values(kind="stable").index
        keep.append(order[:size])
    for m, (with_flex, without) in SC1_MIX.items():
        ly = (raw["municipality"] == m) & (raw["target_group"] == "ledighedsydelse")
        keep += [raw.index[ly & flex][:with_flex], raw.index[ly & ~flex][:without]]
    kept = raw.loc[np.concatenate(keep)]
    kept.to_csv(folder / "cases.csv", index=False)
    for table, ids in (("hours", kept.loc[~kept["municipality"].isin(NO_HOURS), "case_id"]),
                       ("contacts", kept["case_id"])):
        rows = pd.read_csv(SAMPLE / f"{table}.csv", dtype=str)
        rows[rows["case_id"].isin(ids)].to_csv(folder / f"{table}.csv", index=False)
    for name in ("goals.csv", "dataset.yml"):
        shutil.copy(SAMPLE / name, folder / name)
    return folder


@dataclass
class Rendered:
    data: Path
    out: Path
    pages: dict[str, str]  # file name -> HTML
    ctx: dict  # the runner's context: what the reports were rendered from


@pytest.fixture(scope="module")
def rendered(rendered_reports) -> Rendered:
    """The small-cell dataset's reports, rendered once per test run (conftest.rendered_reports, at the
    default threshold T), and the context the runner rendered them from."""
    run = rendered_reports("small-cells")
    ctx = build_context(load_dataset(run.data))  # what the runner computed (it keeps no copy under --out)
    return Rendered(run.data, run.out, run.pages, ctx)


# --- reading tables back from HTML -----------------------------------------------------


@dataclass
class Cell:
    text: str
    header: bool


@dataclass
class Row:
    cells: list[Cell]
    total: bool = False
    count: bool = False  # <tr data-kind="count">


@dataclass
class HtmlTable:
    header: list[str] = field(default_factory=list)
    kinds: list[set] = field(default_factory=list)  # data-kind tokens of each header cell
    rows: list[Row] = field(default_factory=list)  # body rows
    caption: str = ""

    def col(self, name: str) -> int:
        return self.header.index(name)

    def count_col(self, j: int) -> bool:
        return "count" in self.kinds[j]

    def total_col(self) -> int | None:
        found = [j for j, k in enumerate(self.kinds) if {"count", "total"} <= k]
        return found[0] if found else None

    def is_count(self, i: int, j: int) -> bool:
        return (bool(self.kinds) and j < len(self.kinds) and self.count_col(j)) or (self.rows[i].count and j > 0)

    def label(self, i: int) -> str:
        return self.rows[i].cells[0].text if self.rows[i].cells else ""


class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[HtmlTable] = []
        self.stack: list[HtmlTable] = []
        self.in_head = False
        self.head_kinds: list[set] = []
        self.row: Row | None = None
        self.cell: Cell | None = None
        self.in_caption = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.stack.append(HtmlTable())
            self.tables.append(self.stack[-1])
        elif not self.stack:
            return
        elif tag == "thead":
            self.in_head = True
        elif tag == "caption":
            self.in_caption = True
        elif tag == "tr":
            self.row = Row([], total="total" in (a.get("class") or "").split(),
                           count="count" in (a.get("data-kind") or "").split())
            self.head_kinds = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = Cell("", tag == "th")
            self.row.cells.append(self.cell)
            if self.in_head:
                self.head_kinds.append(set((a.get("data-kind") or "").split()))

    def handle_endtag(self, tag):
        if not self.stack:
            return
        table = self.stack[-1]
        if tag in ("td", "th") and self.cell is not None:
            self.cell.text = " ".join(self.cell.text.split())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.in_head:
                table.header = [c.text for c in self.row.cells]
                table.kinds = self.head_kinds
            else:
                table.rows.append(self.row)
            self.row = None
        elif tag == "thead":
            self.in_head = False
        elif tag == "caption":
            self.in_caption = False
        elif tag == "table":
            self.stack.pop()

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.text += data
        elif self.in_caption and self.stack:
            self.stack[-1].caption += data


def parse_tables(page: str) -> list[HtmlTable]:
    parser = _TableParser()
    parser.feed(page)
    return parser.tables


def visible_text(page: str) -> str:
    """The page's text, cells separated by ' | ' (no style or script content)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    page = re.sub(r"</?(td|th|tr|p|li|h\d|div|caption)\b[^>]*>", " | ", page, flags=re.IGNORECASE)
    import html as _html

    return " ".join(_html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- reading a count cell ------------------------------------------------------------


def count_value(text: str):
    """A count cell's content: an int, SMALL, HIDDEN or MISSING; ValueError for anything else."""
    if text in (SMALL, HIDDEN, MISSING):
        return text
    if re.fullmatch(r"\d{1,3}(\.\d{3})*", text):
        return int(text.replace(".", ""))
    raise ValueError(text)


def is_suppressed(text: str) -> bool:
    return text in (SMALL, HIDDEN)


def where(name: str, table: HtmlTable, i: int | None = None, j: int | None = None) -> str:
    place = f"{name}, table [{' | '.join(table.header[:4])}...]"
    if i is not None:
        place += f", row {table.label(i)!r}"
    if j is not None and j < len(table.header):
        place += f", column {table.header[j]!r}"
    return place


# --- checker 1: no count of 1-4 --------------------------------------------------------


def small_count_cells(name: str, page: str) -> list[str]:
    """Count cells that show 1 to T-1, or something that is not a count at all."""
    problems = []
    for table in parse_tables(page):
        for i, row in enumerate(table.rows):
            for j, cell in enumerate(row.cells):
                if not table.is_count(i, j):
                    continue
                try:
                    value = count_value(cell.text)
                except ValueError:
                    problems.append(f"{where(name, table, i, j)}: not a count: {cell.text!r}")
                    continue
                if isinstance(value, int) and 0 < value < T:
                    problems.append(f"{where(name, table, i, j)}: shows {value}")
    return problems


# Headers that name a number of persons: such a column must be marked data-kind="count".
COUNT_HEADER = re.compile(r"^(Antal|Antal, .+|Personer|Personer, .+|Borgere|Borgere i analysen|Forløb|"
                          r"Kommet i fleksjob|I fleksjob|I risiko ved 39 uger|Fleksjob fulgt 26 uger|"
                          r"Ledige i 26\+ uger uden fleksjob|I alt)$")
# Row labels (first column) that name a number of persons: such a row must be marked.
COUNT_ROW = re.compile(r"^(Forløb i projektet|Borgere på ledighedsydelse ved start)$")


def unmarked_counts(name: str, page: str) -> list[str]:
    """Columns and rows that by their header or label hold person counts but carry no marker."""
    problems = []
    for table in parse_tables(page):
        if not table.header:  # a footer's label/value table
            continue
        goals_or_capacity = {"Realiseret", "Samtaler om året", "Intensiveret", "Årsværk"} & set(table.header)
        for j, h in enumerate(table.header):
            if COUNT_HEADER.match(h) and not table.count_col(j) and not goals_or_capacity:
                problems.append(f"{where(name, table, None, j)}: person counts without data-kind=\"count\"")
        for i, row in enumerate(table.rows):
            if COUNT_ROW.match(table.label(i)) and not row.count:
                problems.append(f"{where(name, table, i)}: person counts without data-kind=\"count\"")
    return problems


# --- checker 2: nothing recoverable from a total ---------------------------------------------------


def total_lines(table: HtmlTable) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """(cells, total cell) of every line whose count cells add up to a total in the table.

    Columns: each count column whose total-row cell is a count. Rows: each row,
    when a column is marked as the total column. Raises when a table with count
    columns has several total rows (which cells add up to which is then unclear).
    """
    count_cols = [j for j in range(len(table.header)) if table.count_col(j)]
    totals = [i for i, r in enumerate(table.rows) if r.total]
    lines = []
    if count_cols and totals:
        if len(totals) > 1:
            raise AssertionError(f"table [{' | '.join(table.header[:4])}...]: several total rows with counts")
        ti = totals[0]
        body = [i for i in range(len(table.rows)) if i != ti]
        lines += [([(i, j) for i in body] + [(ti, j)], (ti, j)) for j in count_cols]
    tj = table.total_col()
    if tj is not None:
        parts = [j for j in count_cols if j != tj]
        lines += [([(i, j) for j in parts] + [(i, tj)], (i, tj)) for i in range(len(table.rows))]
    return lines


def single_suppressed_lines(name: str, table: HtmlTable) -> list[str]:
    """Lines with a shown total and exactly one suppressed cell (total minus the shown cells gives it)."""
    problems = []
    for cells, total in total_lines(table):
        texts = {c: table.rows[c[0]].cells[c[1]].text for c in cells}
        if is_suppressed(texts[total]):
            continue
        hidden = [c for c in cells if c != total and is_suppressed(texts[c])]
        if len(hidden) == 1:
            i, j = hidden[0]
            problems.append(f"{where(name, table, i, j)}: the only suppressed cell next to total {texts[total]}")
    return problems


def pinned_small_cells(grid: list[list[str]], lines, threshold: int = T,
                       hidden_low: int = T) -> list[tuple[int, int, int]]:
    """(i, j, value) of every "<5" whose value follows from the shown cells and the line totals.

    `grid` holds the cell texts, `lines` (cells, total cell) pairs. The unknowns
    are the suppressed cells: "<5" within 1..threshold-1, "x" at least `hidden_low` (a table of
    `suppress_counts` hides only cells of `threshold` or more as "x"; a published report may show
    a small count as "x" too, when what its "<5" neighbours tell would pin it: there "x" is >= 0).
    Each "<5" is minimised and maximised by linear programming (the constraint
    matrix of a table with totals has whole-number vertices); equal bounds
    disclose it. Lines that do not add up when nothing is hidden are reported
    by `totals_add_up`.
    """
    hidden = sorted({c for cells, _ in lines for c in cells if is_suppressed(grid[c[0]][c[1]])})
    if not any(grid[i][j] == SMALL for i, j in hidden):
        return []
    index = {c: k for k, c in enumerate(hidden)}
    a_eq, b_eq = [], []
    for cells, total in lines:
        coef, rhs = np.zeros(len(hidden)), 0.0
        for c in cells:
            sign = -1.0 if c == total else 1.0
            text = grid[c[0]][c[1]]
            if c in index:
                coef[index[c]] += sign
            else:
                value = count_value(text)
                if not isinstance(value, int):
                    break  # a missing value: this line says nothing
                rhs -= sign * value
        else:
            if coef.any():
                a_eq.append(coef)
                b_eq.append(rhs)
    if not a_eq:
        return []
    bounds = [(1, threshold - 1) if grid[i][j] == SMALL else (hidden_low, None) for i, j in hidden]
    found = []
    for c in hidden:
        if grid[c[0]][c[1]] != SMALL:
            continue
        goal = np.zeros(len(hidden))
        goal[index[c]] = 1.0
        low = linprog(goal, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-goal, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0 and high.status == 0, "the published table has no solution: totals do not add up"
        if round(-high.fun) == round(low.fun):
            found.append((c[0], c[1], round(low.fun)))
    return found


def totals_add_up(name: str, table: HtmlTable) -> list[str]:
    """Lines with nothing suppressed must add up: else the markers name the wrong total."""
    problems = []
    for cells, total in total_lines(table):
        values = [count_value(table.rows[i].cells[j].text) for i, j in cells]
        if all(isinstance(v, int) for v in values):
            parts = sum(v for c, v in zip(cells, values) if c != total)
            if parts != values[cells.index(total)]:
                problems.append(f"{where(name, table, *total)}: cells add up to {parts}, total says "
                                f"{values[cells.index(total)]}")
    return problems


def recoverable_cells(name: str, page: str) -> list[str]:
    """Every way a suppressed count of this page's tables can be worked out from a total."""
    problems = []
    for table in parse_tables(page):
        lines = total_lines(table)
        if not lines:
            continue
        problems += totals_add_up(name, table) + single_suppressed_lines(name, table)
        grid = [[c.text for c in r.cells] for r in table.rows]
        problems += [f"{where(name, table, i, j)}: '<5' is exactly {v} given the totals"
                     for i, j, v in pinned_small_cells(grid, lines, hidden_low=0)]
    return problems


# --- checker 3: no statistic computed from suppressed counts --------------------------------------

# statistic column -> the count columns of the same row it is computed from (those present in the table)
STAT_SOURCES = {
    "Værdi": ["Personer"],
    "Mindst 2 opfølgninger": ["Fleksjob fulgt 26 uger"],
    "Mindst 4 opfølgninger": ["Fleksjob fulgt 26 uger"],
    "Heraf med Step Up": ["Ledige i 26+ uger uden fleksjob"],
    "S(39)": ["Borgere i analysen", "Kommet i fleksjob", "I risiko ved 39 uger", "Borgere", "I fleksjob"],
    "Median uger": ["Borgere i analysen", "Kommet i fleksjob", "I risiko ved 39 uger", "Borgere", "I fleksjob"],
    "95 % CI": ["Personer", "Borgere i analysen", "Kommet i fleksjob", "I risiko ved 39 uger", "Borgere",
                "I fleksjob", "Forløb", "Personer, runde *"],
    "Gns. første effektive timer": ["Borgere"],
    "Gns. seneste effektive timer": ["Borgere"],
    "Gns. ændring": ["Borgere"],
    "Median ændring": ["Borgere"],
    "Hazard ratio": ["Borgere"],
    "p-værdi": ["Borgere", "Forløb"],
    "Hældning pr. sag": ["Forløb"],
    "Forskel": ["Personer, runde *"],
}
# statistic row -> the count row of the same column it is computed from (key figures)
STAT_ROW_SOURCES = {"Andel i fleksjob (succeskriterium 1)": "Borgere på ledighedsydelse ved start"}


def stat_sources(stat: str, header: list[str]) -> list[int]:
    """Columns (present in `header`) that the statistic column `stat` is computed from."""
    if stat.startswith("Andel"):  # "Andel" <- "Antal", "Andel, Tønder" <- "Antal, Tønder"
        names = ["Antal" + stat[len("Andel"):]]
    elif re.fullmatch(r"Runde \d+", stat):
        names = [f"Personer, runde {stat.split()[1]}"]
    else:
        names = STAT_SOURCES.get(stat, [])
    return [j for j, h in enumerate(header)
            if any(h == n or (n.endswith("*") and h.startswith(n[:-1])) for n in names)]


def unprotected_statistics(name: str, page: str) -> list[str]:
    """Shares, means, medians and intervals shown next to a suppressed count they are computed from."""
    problems = []
    for table in parse_tables(page):
        for j, stat in enumerate(table.header):
            sources = [s for s in stat_sources(stat, table.header) if table.count_col(s)]
            for i, row in enumerate(table.rows):
                if any(is_suppressed(row.cells[s].text) for s in sources) and row.cells[j].text not in (HIDDEN, MISSING):
                    problems.append(f"{where(name, table, i, j)}: {row.cells[j].text!r} beside a suppressed count")
        labels = [table.label(i) for i in range(len(table.rows))]
        for stat, source in STAT_ROW_SOURCES.items():
            if stat in labels and source in labels:
                si, ci = labels.index(stat), labels.index(source)
                for j in range(1, len(table.header)):
                    text = table.rows[si].cells[j].text
                    if is_suppressed(table.rows[ci].cells[j].text) and text not in (HIDDEN, MISSING):
                        problems.append(f"{where(name, table, si, j)}: {text!r} beside a suppressed count")
    return problems


# --- checker 4: no small count in running text -------------------------------------------------

NOUNS = r"(borgere|borger|forløb|personer|person|i fleksjob|åbne forløb|jobformidlere)"
AFTER_NOUN = r"(forløb|ledighedsydelse|timeregistreringer|kontakter|uden køn|uden aldersgruppe)"


def small_counts_in_text(name: str, page: str) -> list[str]:
    """'3 borgere', 'forløb 2' and the like in notes, titles and footers."""
    text = visible_text(page)
    hits = [*re.finditer(rf"(?<![\d.,<-])[1-{T - 1}] {NOUNS}\b", text, flags=re.IGNORECASE),
            *re.finditer(rf"\b{AFTER_NOUN} [1-{T - 1}](?![\d.,])", text, flags=re.IGNORECASE)]
    return [f"{name}: {h.group(0)!r} in the text" for h in hits]


def all_problems(name: str, page: str) -> list[str]:
    return (small_count_cells(name, page) + unmarked_counts(name, page) + recoverable_cells(name, page)
            + unprotected_statistics(name, page) + small_counts_in_text(name, page))


# --- the checkers can fail ------------------------------------------------------------------


def html_table(header: list[str], rows: list[list[str]], count_cols=(), total_rows=(), total_cols=()) -> str:
    """A hand-written table in the markup `Table` writes."""
    def th(h):
        kind = "count total" if h in total_cols else "count" if h in count_cols else ""
        return f'<th data-kind="{kind}">{h}</th>' if kind else f"<th>{h}</th>"
    body = "".join(
        ('<tr class="total">' if i in total_rows else "<tr>")
        + "".join(f"<td>{c.replace('<', '&lt;')}</td>" for c in r) + "</tr>" for i, r in enumerate(rows))
    return f"<table><thead><tr>{''.join(th(h) for h in header)}</tr></thead><tbody>{body}</tbody></table>"


def test_checkers_flag_leaking_tables():
    # 1. an unsuppressed 3 in a count column
    page = html_table(["Statuskategori", "Antal"], [["Ledighedsydelse", "3"], ["Udgået", "12"]], count_cols=["Antal"])
    assert small_count_cells("a", page) == [
        "a, table [Statuskategori | Antal...], row 'Ledighedsydelse', column 'Antal': shows 3"]
    # ... also in a marked row, and an unmarked count column is noticed
    rows = html_table(["Nøgletal", "Tønder"], [["Forløb i projektet", "2"]])
    assert unmarked_counts("b", rows) == [
        "b, table [Nøgletal | Tønder...], row 'Forløb i projektet': person counts without data-kind=\"count\""]
    assert small_count_cells("b", rows.replace("<tr><td>Forløb", '<tr data-kind="count"><td>Forløb')) != []
    assert unmarked_counts("c", html_table(["Kommune", "Borgere"], [["Tønder", "7"]])) != []

    # 2. one suppressed cell next to its total: 20 - 12 - 5 = 3
    status = html_table(["Statuskategori", "Antal", "Andel"],
                        [["Ledighedsydelse", "<5", "x"], ["Udgået", "12", "60,0 %"], ["Fleksjob", "5", "25,0 %"],
                         ["I alt", "20", "100,0 %"]], count_cols=["Antal"], total_rows=[3])
    assert [p.split(": ", 1)[1] for p in recoverable_cells("d", status)] == [
        "the only suppressed cell next to total 20", "'<5' is exactly 3 given the totals"]
    # two "<5" protect each other only as a pair: here they must add up to 2, so both are 1
    pair = html_table(["Kommune", "a", "b", "c", "I alt"],
                      [["X", "<5", "<5", "10", "12"], ["Y", "6", "7", "8", "21"], ["I alt", "x", "x", "18", "33"]],
                      count_cols=["a", "b", "c"], total_rows=[2], total_cols=["I alt"])
    assert [p.split(": ", 1)[1] for p in recoverable_cells("e", pair)] == [
        "'<5' is exactly 1 given the totals", "'<5' is exactly 1 given the totals"]
    # markers naming the wrong total are noticed
    wrong = html_table(["Statuskategori", "Antal"], [["A", "7"], ["B", "8"], ["I alt", "16"]],
                       count_cols=["Antal"], total_rows=[2])
    assert "add up to 15" in recoverable_cells("f", wrong)[0]
    # a protected table passes: 2 + 3 hidden behind two "<5" with a shown total (1+4, 2+3, 3+2, 4+1)
    safe = html_table(["Statuskategori", "Antal"], [["A", "<5"], ["B", "<5"], ["C", "15"], ["I alt", "20"]],
                      count_cols=["Antal"], total_rows=[3])
    assert recoverable_cells("g", safe) == []

    # 3. a share shown beside a suppressed count, and a share of a count hidden in its row
    assert unprotected_statistics("h", status.replace("<td>&lt;5</td><td>x</td>", "<td>&lt;5</td><td>15,0 %</td>"))
    follow = html_table(["", "Fleksjob fulgt 26 uger", "Mindst 2 opfølgninger"], [["Tønder", "<5", "75,0 %"]],
                        count_cols=["Fleksjob fulgt 26 uger"])
    assert unprotected_statistics("i", follow) != []
    # 4. running text
    assert small_counts_in_text("j", "<p>Cox-model ... 3 borgere, 2 i fleksjob.</p>") == [
        "j: '3 borgere' in the text", "j: '2 i fleksjob' in the text"]
    assert small_counts_in_text("k", "<td>forløb 4; med kontakter 7</td>") == ["k: 'forløb 4' in the text"]
    assert small_counts_in_text("l", "<p>forløb &lt;5; 12 borgere; runde 2; antal på 1-4 personer</p>") == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=2, max_size=5), min_size=2, max_size=6).filter(
    lambda rows: len({len(r) for r in rows}) == 1))
def test_suppress_counts_leaves_nothing_recoverable(rows):
    """Random tables with both totals: after `suppress_counts`, the reader's linear programme
    (this file's, written apart from evalkit's audit) pins no '<5' and no line has one suppressed cell."""
    counts = pd.DataFrame(rows, dtype=float)
    counts["T"] = counts.sum(axis=1)
    counts.loc["T"] = counts.sum(axis=0)
    mask = sup.suppress_counts(counts, T, total_row="T", total_col="T").to_numpy()
    grid = [[SMALL if m == sup.PRIMARY else HIDDEN if m == sup.SECONDARY else str(int(v))
             for v, m in zip(vr, mr)] for vr, mr in zip(counts.to_numpy(), mask)]
    nrow, ncol = counts.shape
    lines = [([(i, j) for j in range(ncol)], (i, ncol - 1)) for i in range(nrow)]
    lines += [([(i, j) for i in range(nrow)], (nrow - 1, j)) for j in range(ncol)]
    # what "<5" tells can pin a cell however much is hidden (a table of four 1s with grand total 4):
    # only those inherent pins, found with every cell hidden, may remain
    everything_hidden = [[SMALL if 0 < v < T else HIDDEN if v > 0 else "0" for v in vr] for vr in counts.to_numpy()]
    inherent = pinned_small_cells(everything_hidden, lines)
    assert set(pinned_small_cells(grid, lines)) <= set(inherent)
    assert all(sum(is_suppressed(grid[i][j]) for i, j in cells) != 1 for cells, _ in lines)
    values = counts.to_numpy()
    assert np.all((mask == sup.PRIMARY) == ((values > 0) & (values < T)))


def test_two_small_cells_that_must_add_up_to_2_get_a_third():
    # Hand-worked: X.a = X.b = 1 are small. The line rule alone ("no line with a single
    # suppressed cell") is content with row X holding two, and protects columns a and b
    # with Y.a = 6 and Y.b = 7 (all shown totals). A reader then has X.a + X.b = 12 - 10 = 2
    # with each "<5" at least 1: both are 1.
    counts = pd.DataFrame([[1, 1, 10, 12], [6, 7, 8, 21], [7, 8, 18, 33]], index=["X", "Y", "T"],
                          columns=["a", "b", "c", "T"], dtype=float)
    lines = [([(i, j) for j in range(4)], (i, 3)) for i in range(3)] + [([(i, j) for i in range(3)], (2, j))
                                                                        for j in range(4)]
    line_rule_only = [[SMALL, SMALL, "10", "12"], [HIDDEN, HIDDEN, "8", "21"], ["7", "8", "18", "33"]]
    assert pinned_small_cells(line_rule_only, lines) == [(0, 0, 1), (0, 1, 1)]
    mask = sup.suppress_counts(counts, T, total_row="T", total_col="T").to_numpy()
    grid = [[SMALL if m == sup.PRIMARY else HIDDEN if m == sup.SECONDARY else str(int(v))
             for v, m in zip(vr, mr)] for vr, mr in zip(counts.to_numpy(), mask)]
    assert pinned_small_cells(grid, lines) == []
    assert (mask == sup.SECONDARY).sum() > 2  # more than the line rule's two


# --- the rendered reports --------------------------------------------------------------------


def test_dataset_has_small_cells_in_every_report(rendered):
    """The checks below are not vacuous: every kind of report shows many '<5' and some 'x'."""
    pages = rendered.pages
    assert len(pages) == 1 + 1 + 1 + len(ROUND_ROBIN) + len(SC1_MIX) + 1  # index, status, rounds, municipalities

    def count_cells(name, symbol):
        return sum(row.cells[j].text == symbol for t in parse_tables(pages[name]) for i, row in enumerate(t.rows)
                   for j in range(len(row.cells)) if t.is_count(i, j))

    assert count_cells("statusrapport.html", SMALL) >= 40 and count_cells("statusrapport.html", HIDDEN) >= 1
    assert count_cells("index.html", SMALL) >= 8
    assert count_cells("rundesammenligning.html", SMALL) >= 2
    for m in [*ROUND_ROBIN, *SC1_MIX]:
        assert count_cells(f"kommune-{views_slug(m)}.html", SMALL) >= 3, m
    # secondary suppression and totals were exercised in the municipality reports too
    assert sum(count_cells(n, HIDDEN) for n in pages if n.startswith("kommune-")) >= 1
    # the status grid (20 rows, 6 columns) and every municipality's status table add up to totals
    assert sum(len(total_lines(t)) for n in pages for t in parse_tables(pages[n])) >= 26 + 19


def views_slug(m: str) -> str:
    from evalkit.runner.plan import slug

    return slug(m)


def test_no_count_cell_shows_1_to_4(rendered):
    problems = [p for name, page in rendered.pages.items() for p in small_count_cells(name, page)]
    assert problems == []


def test_every_person_count_column_is_marked(rendered):
    problems = [p for name, page in rendered.pages.items() for p in unmarked_counts(name, page)]
    assert problems == []
    marked = sum(t.count_col(j) for page in rendered.pages.values() for t in parse_tables(page)
                 for j in range(len(t.header)))
    assert marked >= 5 * len(rendered.pages)


def test_no_suppressed_count_is_recoverable_from_a_total(rendered):
    problems = [p for name, page in rendered.pages.items() for p in recoverable_cells(name, page)]
    assert problems == []


def test_no_statistic_shown_from_suppressed_counts(rendered):
    problems = [p for name, page in rendered.pages.items() for p in unprotected_statistics(name, page)]
    assert problems == []


def test_no_small_count_in_running_text(rendered):
    problems = [p for name, page in rendered.pages.items() for p in small_counts_in_text(name, page)]
    assert problems == []


def test_criterion_1_hidden_where_computed_from_1_to_4(rendered):
    """Success criterion 1 per municipality, worked out from the CSV: hidden wherever fewer than 5
    are on ledighedsydelse, or 1-4 of them got a valid flexjob, or 1-4 did not."""
    cases = read_cases(rendered.data)
    ly = cases[cases["target_group"] == "ledighedsydelse"]
    k = valid_flexjob(ly).groupby(ly["municipality"]).sum()
    n = ly.groupby("municipality").size()
    must_hide = {m for m in n.index if n[m] < T or 0 < k[m] < T or 0 < n[m] - k[m] < T}
    assert {"Gentofte", "Stevns"} <= must_hide  # n >= 5: hidden for k = 2 and for n - k = 1
    assert n["Gentofte"] >= T and n["Stevns"] >= T

    def cell(page, header_col, row_label, col_label=None):
        for t in parse_tables(page):
            if header_col in t.header:
                for i in range(len(t.rows)):
                    if t.label(i) == row_label:
                        return t.rows[i].cells[t.col(col_label or header_col)].text
        raise AssertionError(f"no cell {row_label!r} / {col_label or header_col!r}")

    shown = []
    for m in must_hide:
        page = rendered.pages[f"kommune-{views_slug(m)}.html"]
        texts = {
            "index": cell(rendered.pages["index.html"], "Andel i fleksjob", m),
            "status report": cell(rendered.pages["statusrapport.html"], "Andel i fleksjob (95 % CI)", m),
            "key figures": cell(page, "Nøgletal", "Andel i fleksjob (succeskriterium 1)", m),
            "criteria": cell(page, "Værdi", "1. Andel i fleksjob blandt borgere på ledighedsydelse"),
        }
        shown += [f"{m}: {where_} shows {text!r}" for where_, text in texts.items() if text not in (HIDDEN, MISSING)]
    assert shown == []


def test_a_count_hidden_in_one_report_is_hidden_in_all(rendered):
    """The status grid and the numbers of cases appear in several reports; a cell hidden (secondary
    suppression) in one and shown in another would undo the protection."""
    seen: dict[tuple, set] = {}

    def note(key, text, source):
        seen.setdefault(key, set()).add(("hidden" if is_suppressed(text) else "shown", source))

    pages = rendered.pages
    grid = next(t for t in parse_tables(pages["statusrapport.html"]) if "Ledighedsydelse" in t.header)
    for i, row in enumerate(grid.rows):
        m = "Projektet" if row.total else grid.label(i)
        for j, h in enumerate(grid.header):
            if grid.count_col(j):
                note((m, h), row.cells[j].text, "statusrapport")
    for name, page in pages.items():
        if not name.startswith("kommune-"):
            continue
        tables = parse_tables(page)
        status = next(t for t in tables if "Statuskategori" in t.header)
        m = next(t for t in tables if "Nøgletal" in t.header).header[1]
        for i, row in enumerate(status.rows):
            note((m, status.label(i)), row.cells[status.col("Antal")].text, name)
            share = row.cells[status.col("Andel, projektet")].text  # a project share reveals the project count
            note(("Projektet", status.label(i)), share, name)
        key = next(t for t in tables if "Nøgletal" in t.header)
        note((m, "I alt"), key.rows[0].cells[1].text, name)
        note(("Projektet", "I alt"), key.rows[0].cells[-1].text, name)
        quality = re.search(r"Datakvalitet i udvalget[ |]+forløb (\S+);", visible_text(page))
        note((m, "I alt"), quality.group(1), name)
    index = next(t for t in parse_tables(pages["index.html"]) if "Forløb" in t.header)
    for i, row in enumerate(index.rows):
        note((index.label(i), "I alt"), row.cells[index.col("Forløb")].text, "index")
    title = re.search(r"kommuner · (\S+) forløb", visible_text(pages["statusrapport.html"]))
    note(("Projektet", "I alt"), title.group(1), "statusrapport title")

    mixed = {key: sorted(v) for key, v in seen.items() if len({state for state, _ in v}) > 1}
    assert mixed == {}
    assert len(seen) >= 6 * len(ROUND_ROBIN)


# --- survival curves ---------------------------------------------------------------------


def survival_rows(cases: pd.DataFrame) -> pd.DataFrame:
    """SPEC section 3, written out: entry and time in weeks since benefit_start for the survival population."""
    employed_before = (cases["target_group"] == "fleksjob") & (cases["flexjob_start"] < cases["project_entry"])
    pop = cases[cases["benefit_start"].notna() & ~employed_before]
    event = valid_flexjob(pop)
    censor = pop["exit_date"].where(pop["exit_date"].notna() & (pop["exit_date"] < E), E)
    end = pop["flexjob_start"].where(event, censor)
    weeks = lambda d: d.dt.days / 7
    return pd.DataFrame({"entry": weeks(pop["project_entry"] - pop["benefit_start"]).clip(lower=0),
                         "time": weeks(end - pop["benefit_start"]),
                         "municipality": pop["municipality"], "round": pop["round"].astype(int)})


def at_risk(rows: pd.DataFrame, t: float) -> int:
    """Cases with entry < t <= time, counted one by one."""
    return sum(1 for e, x in zip(rows["entry"], rows["time"]) if e < t <= x)


def low_risk_points(curve: pd.DataFrame, rows: pd.DataFrame) -> list[float]:
    """Drawn points (after time 0) of a masked curve at which fewer than T are at risk, and drawn
    points after the first time a risk set below T was cut (the curve must not reappear)."""
    later = curve[curve["weeks"] > 0]
    drawn = later.loc[later["survival"].notna(), "weeks"]
    small = [t for t in drawn if at_risk(rows, t) < T]
    cut = [t for t in later["weeks"] if at_risk(rows, t) < T]
    return small + [t for t in drawn if cut and t > cut[0]]


def test_survival_curves_drawn_only_while_5_at_risk(rendered):
    ctx = rendered.ctx
    rows = survival_rows(read_cases(rendered.data))
    curves = {"Projektet i alt": (ctx.survival["project"], rows)}
    curves.update({f"Runde {r}": (ctx.survival["rounds"][r], rows[rows["round"] == r]) for r in ctx.rounds})
    curves.update({m: (ctx.units[(m, None)].survival, rows[rows["municipality"] == m])
                   for m in ctx.municipalities})
    problems, drawn_any, cut_any = [], 0, 0
    for label, (bundle, own) in curves.items():
        curve = bundle["summary"].curve
        visible = sup.mask_curve(curve, T)  # what the reports pass to survival_plot and survival_grid
        visible = visible[visible["weeks"] <= plots.MAX_WEEKS]
        problems += [f"{label}: drawn at {t:.1f} weeks with fewer than {T} at risk"
                     for t in low_risk_points(visible, own)]
        hidden_values = visible[["survival", "ci_low", "ci_high"]].notna().any(axis=1) & visible["survival"].isna()
        problems += [f"{label}: a CI drawn where the curve is hidden"] if hidden_values.any() else []
        drawn_any += visible["survival"].notna().sum() > 1
        cut_any += curve["survival"].notna().sum() > visible["survival"].notna().sum()
    assert problems == []
    assert drawn_any >= 3 and cut_any >= 5  # curves were drawn, and many were cut

    # the figures themselves: every finite point of every drawn curve line
    figures = [MunicipalityReport(ctx, m, threshold=T).survival_figure() for m in ctx.municipalities]
    figures.append(RoundComparison(ctx, threshold=T).survival_figure())
    lines = 0
    for fig in figures:
        parts = fig.parts if isinstance(fig, Section) else [fig]
        for part in parts:
            if not isinstance(part, plots.Plot):
                continue
            for line in part.figure.axes[0].get_lines():
                if line.get_label() not in curves:
                    continue  # the 39-week line
                lines += 1
                x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
                own = curves[line.get_label()][1]
                problems += [f"{line.get_label()}: point at {t:.1f} weeks with fewer than {T} at risk"
                             for t in x[np.isfinite(y) & (x > 0)] if at_risk(own, t) < T]
    assert problems == []
    assert lines >= 4


# --- person counts shown per municipality, per round and for the project ---------------------
#
# Each municipality report shows its own count of a population (cases, on ledighedsydelse at
# start, in the survival analysis, ...) beside each round's and the project's. A reader who puts
# all municipality reports side by side has a municipality x round table with totals: a count hidden
# in one report must not follow from the others and the totals.

# table (recognised by a header cell) -> {row label or prefix: population}; the column picks whose count
PERSON_COUNT_CELLS = [
    ("Nøgletal", {"Forløb i projektet": "cases", "Borgere på ledighedsydelse ved start": "on benefit"}),
    ("Borgere i analysen", {"Borgere i analysen": "survival", "Kommet i fleksjob": "in flexjob"}),
    ("Fleksjob fulgt 26 uger", {"Fleksjob fulgt 26 uger": "followed up", "Ledige i 26+ uger uden fleksjob": "step up"}),
]
CRITERIA_PERSONS = {"1.": "on benefit", "2.": "survival", "3.": "progression"}


def published_person_counts(pages: dict[str, str], rounds_of: dict[str, list[int]]) -> dict[tuple, set]:
    """(population, municipality or "I alt", round or "I alt") -> the texts the reports show for it."""
    seen: dict[tuple, set] = {}

    def note(key, text):
        seen.setdefault(key, set()).add(text)

    for name, page in pages.items():
        if not name.startswith("kommune-"):
            continue
        tables = parse_tables(page)
        m = next(t for t in tables if "Nøgletal" in t.header).header[1]
        own = (m, "I alt")
        for marker, rows in PERSON_COUNT_CELLS:
            table = next((t for t in tables if marker in t.header), None)
            if table is None:
                continue
            if marker == "Nøgletal":  # populations are rows, the municipality, rounds and project are columns
                for i in range(len(table.rows)):
                    if table.label(i) in rows:
                        for j, h in enumerate(table.header[1:], start=1):
                            r = re.match(r"Runde (\d+)", h)
                            key = own if j == 1 else ("I alt", int(r.group(1))) if r else ("I alt", "I alt")
                            note((rows[table.label(i)], *key), table.rows[i].cells[j].text)
            else:  # populations are columns, the municipality and the project rows
                for i in range(len(table.rows)):
                    key = ("I alt", "I alt") if table.label(i) == "Projektet i alt" else own
                    for col, population in rows.items():
                        note((population, *key), table.rows[i].cells[table.col(col)].text)
        criteria = next(t for t in tables if "Personer" in t.header and "Værdi" in t.header)
        for i in range(len(criteria.rows)):
            note((CRITERIA_PERSONS[criteria.label(i)[:2]], *own), criteria.rows[i].cells[criteria.col("Personer")].text)
        hours = next((t for t in tables if "Gns. første effektive timer" in t.header), None)
        for i in range(len(hours.rows) if hours else 0):
            key = ("I alt", "I alt") if hours.label(i) == "Projektet i alt" else own
            note(("progression", *key), hours.rows[i].cells[hours.col("Borgere")].text)
    rounds = parse_tables(pages["rundesammenligning.html"])
    for marker, col, population in (("Kommuner", "Forløb", "cases"), ("S(39)", "Borgere", "survival"),
                                    ("S(39)", "I fleksjob", "in flexjob"),
                                    ("Gns. første effektive timer", "Borgere", "progression")):
        for t in rounds:
            if col in t.header and "Runde" in t.header and marker in t.header:
                for i in range(len(t.rows)):
                    note((population, "I alt", int(t.label(i))), t.rows[i].cells[t.col(col)].text)
    return seen


def cross_report_leaks(seen: dict[tuple, set], rounds_of: dict[str, list[int]]) -> list[str]:
    """Counts recoverable from the municipality x round table a reader assembles from every report:
    a line with one suppressed cell, or a '<5' with one possible value (`pinned_small_cells`)."""
    problems = []
    rounds = sorted({r for rs in rounds_of.values() for r in rs})
    munis = sorted(rounds_of)
    for population in sorted({k[0] for k in seen}):
        def text(m, r, population=population):
            texts = seen.get((population, m, r), set())
            return next(iter(texts)) if len(texts) == 1 else HIDDEN  # not published here: the reader lacks it
        grid = [[text(m, "I alt") if r in rounds_of[m] and len(rounds_of[m]) == 1 else
                 "0" if r not in rounds_of[m] else HIDDEN for r in rounds] + [text(m, "I alt")] for m in munis]
        grid.append([text("I alt", r) for r in rounds] + [text("I alt", "I alt")])
        nrow, ncol = len(grid), len(grid[0])
        lines = [([(i, j) for j in range(ncol)], (i, ncol - 1)) for i in range(nrow)]
        lines += [([(i, j) for i in range(nrow)], (nrow - 1, j)) for j in range(ncol)]
        lines = [(cells, total) for cells, total in lines if grid[total[0]][total[1]] not in (HIDDEN, SMALL)]
        for cells, total in lines:
            hidden = [c for c in cells if is_suppressed(grid[c[0]][c[1]])]
            if len(hidden) == 1:
                i, j = hidden[0]
                problems.append(f"{population}: {(munis + ['I alt'])[i]} / {(rounds + ['I alt'])[j]} is the total "
                                "minus the cells shown")
        problems += [f"{population}: {(munis + ['I alt'])[i]} / {(rounds + ['I alt'])[j]} must be {v}"
                     for i, j, v in pinned_small_cells(grid, lines, hidden_low=0)]
    return problems


def test_cross_report_checker_finds_a_leak():
    """One small municipality beside shown ones and the total: the checker recovers it."""
    rounds_of = {"A": [1], "B": [1], "C": [1]}
    seen = {("cases", "A", "I alt"): {SMALL}, ("cases", "B", "I alt"): {"7"}, ("cases", "C", "I alt"): {"9"},
            ("cases", "I alt", 1): {"19"}, ("cases", "I alt", "I alt"): {"19"}}
    assert cross_report_leaks(seen, rounds_of) == ["cases: A / 1 is the total minus the cells shown",
                                                   "cases: A / I alt is the total minus the cells shown",
                                                   "cases: A / 1 must be 3", "cases: A / I alt must be 3"]
    seen[("cases", "B", "I alt")] = {HIDDEN}  # the other one hidden too: 19 - 9 = 10 = A + B, A in 1-4
    assert cross_report_leaks(seen, rounds_of) == []


def test_a_person_count_hidden_in_one_report_is_not_recoverable_from_the_others(rendered):
    """Per-municipality counts of every population, the round totals and the project total, read
    from all municipality reports and the round comparison: each is shown the same everywhere, and
    none hidden is recoverable from the rest (totals minus shown cells, or what '<5' tells)."""
    rounds_of = {m: list(rs) for m, rs in rendered.ctx.rounds_of.items()}
    seen = published_person_counts(rendered.pages, rounds_of)
    differing = {k: sorted(v) for k, v in seen.items() if len(v) > 1}
    assert differing == {}
    populations = {k[0] for k in seen}
    assert populations == {"cases", "on benefit", "survival", "in flexjob", "progression", "followed up", "step up"}
    assert len(seen) >= len(populations) * len(rounds_of)
    assert cross_report_leaks(seen, rounds_of) == []
    assert sum(HIDDEN in v for v in seen.values()) >= 5  # secondary suppression across reports was exercised


# --- a subset beside its whole --------------------------------------------------------------

FOOTER_SUBSETS = ("med start på ledighedsydelse", "med timeregistreringer", "med kontakter", "uden køn",
                  "uden aldersgruppe")


def small_complements(name: str, page: str) -> list[str]:
    """Subset counts shown beside their whole where the rest (whole minus subset) is 1 to T-1."""
    problems = []

    def check(label, whole, part):
        if re.fullmatch(r"[\d.]+", whole) and re.fullmatch(r"[\d.]+", part):
            rest = int(whole.replace(".", "")) - int(part.replace(".", ""))
            if 0 < rest < T:
                problems.append(f"{name}: {label}: {part} of {whole} leaves {rest}")

    footer = re.search(r"Datakvalitet i udvalget \| \| forløb ([^;|]+);([^|]*)", visible_text(page))
    if footer:
        for item in footer.group(2).split(";"):
            label, _, value = item.strip().rpartition(" ")
            if label in FOOTER_SUBSETS:
                check(f"footer '{label}'", footer.group(1).strip(), value)
    for table in parse_tables(page):
        labels = [table.label(i) for i in range(len(table.rows))]
        if "Forløb i projektet" in labels:  # key figures: on ledighedsydelse at start of all cases, per column
            whole, part = labels.index("Forløb i projektet"), labels.index("Borgere på ledighedsydelse ved start")
            for j in range(1, len(table.header)):
                check(f"key figures, {table.header[j]}", table.rows[whole].cells[j].text,
                      table.rows[part].cells[j].text)
        for whole_col, part_col in (("Borgere i analysen", "Kommet i fleksjob"), ("Borgere", "I fleksjob")):
            if whole_col in table.header and part_col in table.header:
                for i, row in enumerate(table.rows):
                    check(f"{table.label(i)}: {part_col}", row.cells[table.col(whole_col)].text,
                          row.cells[table.col(part_col)].text)
    return problems


def test_complement_checker_finds_a_leak():
    page = ("<table><tr><th>Datakvalitet i udvalget</th><td>forløb 7; med start på ledighedsydelse 6; "
            "med kontakter 7; uden køn 0</td></tr></table>")
    assert small_complements("p", page) == ["p: footer 'med start på ledighedsydelse': 6 of 7 leaves 1"]
    table = html_table(["", "Borgere i analysen", "Kommet i fleksjob"], [["A", "9", "6"], ["B", "9", "x"]])
    assert small_complements("t", table) == ["t: A: Kommet i fleksjob: 6 of 9 leaves 3"]


def test_no_subset_count_leaves_a_complement_of_1_to_4(rendered):
    """'7 forløb; 6 med ledighedsydelse' reveals 1: the footer's subsets, the key figures' population
    on ledighedsydelse and the survival tables' flexjobs are hidden where the rest is 1-4."""
    problems = [p for name, page in rendered.pages.items() for p in small_complements(name, page)]
    assert problems == []
    # not vacuous: the dataset has such pairs (counted here from the CSV) and the footers hide them
    cases = read_cases(rendered.data)
    per = cases.groupby("municipality").agg(n=("case_id", "size"), benefit=("benefit_start", "count"))
    close = per[(per["n"] >= T) & (per["benefit"] >= T) & (per["n"] - per["benefit"]).between(1, T - 1)]
    assert len(close) >= 1
    for m in close.index:
        text = visible_text(rendered.pages[f"kommune-{views_slug(m)}.html"])
        assert re.search(r"med start på ledighedsydelse x;", text), m


# --- counts implied across sections and reports (issue 8, point 1) ---------------------------
#
# A reader with every published file sees more than tables with totals: success criterion 3 as a
# share with its number of persons gives its numerator (45,7 % of 35 is 16), which the change bands
# from one hour up add up to; the hours table's "Borgere" is the bands' total; the numbers at risk
# at 39 weeks of every municipality add up to the project's, shown in each municipality report.
# This reader (written apart from evalkit.report.linked: its own equations over the texts of the HTML)
# solves them with integer programming and reports any "<5" with one possible value and any "x"
# that must be 1-4.

PROGRESSION_BANDS = ("1 til under 2 timer", "2 til under 3 timer", "3 timer eller mere")


def danish_number(text: str) -> float | None:
    text = text.replace(" %", "").replace("−", "-")
    if not re.fullmatch(r"-?[\d.]+(,\d+)?", text):
        return None
    return float(text.replace(".", "").replace(",", "."))


def numerators(share_text: str, n: int) -> list[int]:
    """Every k in 0..n whose share k/n, in percent with one decimal, reads as `share_text`."""
    value = danish_number(share_text)
    if value is None:
        return []
    return [k for k in range(n + 1) if abs(100 * k / n - value) <= 0.05 + 1e-9]


@dataclass
class Reader:
    """The counts a reader can name (key -> published text) and the equations between them."""

    texts: dict = field(default_factory=dict)
    equations: list = field(default_factory=list)  # (total key, [part keys])

    def see(self, key, text: str) -> None:
        self.texts.setdefault(key, set()).add(text)

    def equal(self, total, parts) -> None:
        self.equations.append((total, list(parts)))

    def solve(self) -> list[str]:
        """Disclosed counts: a '<5' with one possible value, an 'x' or an unnamed count confined to 1..T-1."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        keys = sorted({k for total, parts in self.equations for k in (total, *parts)}, key=repr)
        index = {k: i for i, k in enumerate(keys)}

        def symbol(k):
            texts = self.texts.get(k, set())
            return next(iter(texts)) if len(texts) == 1 else None  # None: unnamed or shown differently

        lo, hi = [], []
        for k in keys:
            s = symbol(k)
            v = count_value(s) if s is not None and s != MISSING else None
            if isinstance(v, int):
                lo.append(v), hi.append(v)
            elif s == SMALL:
                lo.append(1), hi.append(T - 1)
            else:
                lo.append(0), hi.append(1e7)  # no bound above: a large one (HiGHS never says "unbounded")
        a = np.zeros((len(self.equations), len(keys)))
        for r, (total, parts) in enumerate(self.equations):
            a[r, index[total]] -= 1
            for p in parts:
                a[r, index[p]] += 1
        cons = [LinearConstraint(a, 0, 0)] if len(self.equations) else []
        found = []
        for k in keys:
            s = symbol(k)
            if s is not None and isinstance(count_value(s) if s != MISSING else None, int):
                continue
            goal = np.zeros(len(keys))
            goal[index[k]] = 1
            ends = []
            for sign in (1, -1):
                res = milp(sign * goal, constraints=cons, integrality=np.ones(len(keys)), bounds=Bounds(lo, hi))
                assert res.status == 0, f"the published counts contradict each other at {k}"
                ends.append(sign * round(res.fun))
            low, high = ends
            if s == SMALL and low == high:
                found.append(f"{k}: '<5' must be {low}")
            elif s != SMALL and 1 <= low and high <= T - 1:
                found.append(f"{k}: {s or 'not shown'} must be {low}-{high}")
        return found


def implied_counts(pages: dict[str, str]) -> Reader:
    """The equations a reader gets from the municipality reports (see above)."""
    reader = Reader()
    municipalities = []
    for name, page in pages.items():
        if not name.startswith("kommune-"):
            continue
        tables = parse_tables(page)
        m = next(t for t in tables if "Nøgletal" in t.header).header[1]
        municipalities.append(m)
        criteria = next(t for t in tables if "Personer" in t.header and "Værdi" in t.header)
        for i in range(len(criteria.rows)):
            if criteria.label(i).startswith("3."):
                n = count_value(criteria.rows[i].cells[criteria.col("Personer")].text)
                share = criteria.rows[i].cells[criteria.col("Værdi")].text
                ks = numerators(share, n) if isinstance(n, int) and n > 0 else []
                if len(ks) == 1:
                    reader.see(("criterion 3 k", m), str(ks[0]) if ks[0] >= T or ks[0] == 0 else SMALL)
                    reader.texts[("criterion 3 k", m)] = {f"{ks[0]}"}  # the exact value, whatever its size
                reader.see(("criterion 3 n", m), criteria.rows[i].cells[criteria.col("Personer")].text)
        bands = next((t for t in tables if t.header and t.header[0] == "Ændring i effektive timer"), None)
        if bands is not None:
            col = bands.col(f"Antal, {m}")
            labels = [bands.label(i) for i in range(len(bands.rows))]
            for i, label in enumerate(labels):
                reader.see(("band", label, m), bands.rows[i].cells[col].text)
            body = [label for label in labels if label != "I alt"]
            reader.equal(("band", "I alt", m), [("band", label, m) for label in body])
            reader.equal(("criterion 3 n", m), [("band", label, m) for label in body])
            reader.equal(("criterion 3 k", m), [("band", label, m) for label in PROGRESSION_BANDS])
        hours = next((t for t in tables if "Gns. første effektive timer" in t.header), None)
        for i in range(len(hours.rows) if hours else 0):
            who = "Projektet" if hours.label(i) == "Projektet i alt" else m
            reader.see(("progression n", who), hours.rows[i].cells[hours.col("Borgere")].text)
        if hours is not None and bands is not None:
            reader.equal(("progression n", m), [("band", "I alt", m)])
        survival = next((t for t in tables if "I risiko ved 39 uger" in t.header), None)
        for i in range(len(survival.rows) if survival else 0):
            who = "Projektet" if survival.label(i) == "Projektet i alt" else m
            reader.see(("at risk 39", who), survival.rows[i].cells[survival.col("I risiko ved 39 uger")].text)
    if municipalities and ("at risk 39", "Projektet") in reader.texts:
        reader.equal(("at risk 39", "Projektet"), [("at risk 39", m) for m in municipalities])
    return reader


def test_implied_count_reader_finds_the_0_1_0_leak():
    """Hand-made: criterion 3 is 45,7 % of 35 (16 progressed) and the change bands show the three bands
    from one hour up as '<5', 8 and 5: the '<5' must be 3 (evalkit 0.1.0 published exactly this),
    although table by table the two '<5' of the column (2 and 3) are protected."""
    criteria = html_table(["Succeskriterium", "Værdi", "Personer"],
                          [["3. Andel med progression i effektive timer", "45,7 %", "35"]], count_cols=["Personer"])
    key = html_table(["Nøgletal", "Tønder"], [["Forløb i projektet", "50"]])
    bands = html_table(["Ændring i effektive timer", "Antal, Tønder", "Andel, Tønder"],
                       [["Fald", "<5", "x"], ["Uændret", "11", "x"], ["Stigning under 1 time", "6", "x"],
                        ["1 til under 2 timer", "<5", "x"], ["2 til under 3 timer", "8", "x"],
                        ["3 timer eller mere", "5", "x"], ["I alt", "35", "100,0 %"]],
                       count_cols=["Antal, Tønder"], total_rows=[6])
    page = criteria + key + bands
    assert recoverable_cells("kommune-toender.html", page) == []  # table by table, nothing is wrong
    assert implied_counts({"kommune-toender.html": page}).solve() == [
        "('band', '1 til under 2 timer', 'Tønder'): '<5' must be 3", "('band', 'Fald', 'Tønder'): '<5' must be 2"]
    # one band more hidden from one hour up (16 - 5 = 11 shared by a '<5' and an 'x') still leaves
    # 35 - 16 - 11 - 6 = 2 for "Fald"; one more hidden below one hour too, and nothing is pinned
    one = page.replace("<td>2 til under 3 timer</td><td>8</td>", "<td>2 til under 3 timer</td><td>x</td>")
    assert implied_counts({"kommune-toender.html": one}).solve() == ["('band', 'Fald', 'Tønder'): '<5' must be 2"]
    safe = one.replace("<td>Uændret</td><td>11</td>", "<td>Uændret</td><td>x</td>")
    assert implied_counts({"kommune-toender.html": safe}).solve() == []
    # the numbers at risk at 39 weeks of every municipality add up to the project's
    risk = lambda m, own, project: html_table(
        ["", "Borgere i analysen", "I risiko ved 39 uger"], [[m, "20", own], ["Projektet i alt", "40", project]],
        count_cols=["Borgere i analysen", "I risiko ved 39 uger"])
    nav = lambda m: html_table(["Nøgletal", m], [["Forløb i projektet", "30"]])
    crit = html_table(["Succeskriterium", "Værdi", "Personer"], [["1. x", "x", "20"]], count_cols=["Personer"])
    pages = {"kommune-a.html": nav("A") + crit + risk("A", "<5", "15"),
             "kommune-b.html": nav("B") + crit + risk("B", "12", "15")}
    assert implied_counts(pages).solve() == ["('at risk 39', 'A'): '<5' must be 3"]


def test_no_count_is_implied_across_sections_and_reports(rendered):
    """Every municipality report's criterion 3, change bands, progression and numbers at risk, read
    together with the other reports: nothing hidden has one possible value."""
    reader = implied_counts(rendered.pages)
    # not vacuous: Viborg's bands with criterion 3, and the numbers at risk of every municipality
    assert len(reader.equations) >= 5
    assert any(len(parts) == len(rendered.ctx.municipalities) for _, parts in reader.equations)
    assert reader.solve() == []


def published_files_problems(out: Path) -> list[str]:
    """Every file under --out: HTML pages (figures' alt text included) and manifest.json carry no 1-4."""
    import json

    problems = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        name = str(path.relative_to(out))
        if path.suffix == ".html":
            page = path.read_text(encoding="utf-8")
            for alt in re.findall(r'<img\b[^>]*\balt="([^"]*)"', page):
                problems += [f"{name}: image alt text: {p}" for p in small_counts_in_text(name, f"<p>{alt}</p>")]
        elif name == "manifest.json":
            text = " | ".join(str(v) for v in _json_strings(json.loads(path.read_text(encoding="utf-8"))))
            problems += small_counts_in_text(name, f"<p>{text}</p>")
        elif path.suffix in (".xlsx", ".csv", ".png", ".svg"):
            continue  # the exports: read by the issue 11 checks below
        else:
            problems.append(f"{name}: a published file the audit cannot read")
    return problems


def _json_strings(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)
    elif isinstance(value, str):
        yield value


def test_every_published_file_is_read_and_clean(rendered):
    assert published_files_problems(rendered.out) == []
    assert {p.name for p in rendered.out.iterdir()} >= {"index.html", "manifest.json"}


@pytest.fixture(scope="module")
def sample_rendered(rendered_reports) -> Path:
    """The sample's --out folder, rendered once per session (conftest.rendered_reports)."""
    return rendered_reports("sample").out


def test_the_committed_sample_has_nothing_recoverable(sample_rendered):
    """The committed sample (13 of 19 municipality reports leaked a change band in 0.1.0): every page
    and every file passes the table checks and the implied-count reader."""
    out = sample_rendered
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.html"))}
    problems = [p for name, page in pages.items() for p in all_problems(name, page)]
    assert problems == []
    reader = implied_counts(pages)
    assert sum(SMALL in v for v in reader.texts.values()) >= 10  # '<5' bands were read
    assert reader.solve() == []
    assert published_files_problems(out) == []


def test_the_series_publish_no_recoverable_count_over_time(rendered):
    """Disclosure across time (issue 10): tests/test_trend_disclosure.py's own reader and audit of the
    series, figures and index arrows, on these reports (rendered once, by this module)."""
    from test_trend_disclosure import check_small_cell_reports

    check_small_cell_reports(rendered.data, rendered.pages)


# --- issue 11: the workbooks, the tidy file and the figure files under --out ------------------
#
# Every file under --out is read: HTML (above), manifest.json (no data), and the exports. A
# workbook must show exactly the cells of its report's HTML tables (so every check above holds
# for it), and no count cell of it, no count of the tidy file, no text of an SVG shows 1-4
# persons; a PNG must be one of the images embedded in its report, whose data were masked
# (test_survival_curves_drawn_only_while_5_at_risk).

AUDITED_KINDS = {".html", ".json", ".xlsx", ".csv", ".png", ".svg"}


def test_every_file_under_out_is_a_kind_the_audit_reads(rendered):
    files = [p for p in rendered.out.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert kinds <= AUDITED_KINDS
    assert {".xlsx", ".csv", ".png", ".svg"} <= kinds
    assert [p.name for p in files if p.suffix == ".json"] == ["manifest.json"]


def exported_sheets(rendered, name: str):
    """(HTML table, sheet rows) pairs of a report, in order (the workbook's first sheet is "Om data")."""
    from export_reading import workbook_sheets

    tables = [t for t in parse_tables(rendered.pages[name]) if t.header]
    sheets = workbook_sheets(rendered.out / name.replace(".html", ".xlsx"))
    names = list(sheets)
    assert names[0] == "Om data" and len(names) == len(tables) + 1, name
    return list(zip(tables, [sheets[s] for s in names[1:]])), sheets["Om data"]


def test_workbooks_show_exactly_the_cells_of_the_html(rendered):
    from export_reading import cell_mismatches, sheet_table

    problems, cells = [], 0
    for name in rendered.pages:
        pairs, _ = exported_sheets(rendered, name)
        for table, rows in pairs:
            header, body = sheet_table(rows)
            if header != table.header:
                problems.append(f"{name}: sheet header {header} against {table.header}")
            problems += cell_mismatches(name, [[c.text for c in r.cells] for r in table.rows], body)
            cells += sum(len(r) for r in body)
    assert problems == []
    assert cells >= 1000


def test_no_workbook_shows_a_count_of_1_to_4(rendered):
    problems, checked = [], 0
    for name in rendered.pages:
        pairs, about = exported_sheets(rendered, name)
        for table, rows in pairs:
            header = [c.value for c in rows[0]]
            for i, row in enumerate(rows[1:len(table.rows) + 1]):
                for j, cell in enumerate(row[:len(header)]):
                    named = isinstance(header[j], str) and COUNT_HEADER.match(header[j]) and j > 0
                    if not (table.is_count(i, j) or named) or isinstance(cell.value, str) or cell.value is None:
                        continue
                    checked += 1
                    if cell.value != int(cell.value) or 0 < cell.value < T:
                        problems.append(f"{name} {header[:3]}, row {i}, col {j}: {cell.value!r}")
        text = " | ".join(str(c.value) for row in about for c in row if c.value is not None)
        problems += small_counts_in_text(f"{name} 'Om data'", f"<p>{text}</p>")
    assert problems == []
    assert checked >= 200


def test_the_tidy_files_show_no_count_of_1_to_4_and_nothing_from_a_hidden_count(rendered):
    from export_reading import sheet_table, workbook_sheets

    tidy = pd.read_csv(rendered.out / "indikatorer.csv", dtype=str, keep_default_na=False)
    problems = []
    for row in tidy.itertuples(index=False):
        counts = [row.n] + ([row.værdi] if row.indikator == "n_cases" else [])
        for text in counts:
            if text not in ("", SMALL, HIDDEN) and 0 < int(text) < T:
                problems.append(f"{row.omfang} {row.kommune} {row.runde} {row.indikator}: count {text}")
        if row.n in (SMALL, HIDDEN) and row.indikator != "n_cases":
            shown = [v for v in (row.værdi, row.ci_nedre, row.ci_øvre, row.opfyldt) if v not in ("", HIDDEN)]
            if shown:
                problems.append(f"{row.omfang} {row.kommune} {row.indikator}: {shown} beside a hidden count")
    assert problems == []
    assert (tidy["n"] == SMALL).sum() >= 10 and (tidy["værdi"] == HIDDEN).sum() >= 10
    # the number of cases per municipality as index.html shows it (a count hidden there is hidden here)
    index = next(t for t in parse_tables(rendered.pages["index.html"]) if "Forløb" in t.header)
    shown = {index.label(i): index.rows[i].cells[index.col("Forløb")].text for i in range(len(index.rows))}
    own = tidy[(tidy["omfang"] == "kommune") & (tidy["indikator"] == "n_cases")]
    assert {m: v if v in (SMALL, HIDDEN) else f"{int(v):,}".replace(",", ".") for m, v in
            zip(own["kommune"], own["værdi"])} == shown
    header, body = sheet_table(workbook_sheets(rendered.out / "indikatorer.xlsx")["Indikatorer"])
    n = header.index("n")
    assert [("" if r[n].value is None else str(r[n].value)) for r in body] == list(tidy["n"])


def test_figure_files_are_the_masked_figures_of_the_reports(rendered):
    from export_reading import embedded_pngs, svg_size_and_text

    problems, pngs = [], 0
    for folder in rendered.out.glob("*-figurer"):
        page = rendered.pages[folder.name.removesuffix("-figurer") + ".html"]
        embedded = embedded_pngs(page)
        for png in folder.glob("*.png"):
            pngs += 1
            if png.read_bytes() not in embedded:
                problems.append(f"{png.name}: not an image of {folder.name}'s report")
        for svg in folder.glob("*.svg"):
            _, texts = svg_size_and_text(svg)
            problems += small_counts_in_text(f"{folder.name}/{svg.name}", "<p>" + " | ".join(texts) + "</p>")
    assert problems == []
    assert pngs >= len(ROUND_ROBIN)
