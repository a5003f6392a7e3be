"""The Jinja templates (evalkit.report.html) write the markup that views.py writes today.

Every table of every report section on a small dataset, the notes and the index
page are rendered both ways and compared as documents: the same elements,
attributes (the `data-kind` the suppression audit reads) and text. Only the
spelling of escaped quotes may differ (`&#39;` against `&#x27;`), and the blank
line inside the index's <style>.
"""

from __future__ import annotations

import re

import markupsafe
import nbformat
import pytest
from bs4 import BeautifulSoup
from test_reports import three_municipalities

import evalkit
from evalkit.data.dataset import load_dataset
from evalkit.report import html
from evalkit.report.blocks import Markup, Note, Section, Table
from evalkit.report.cells import met_text
from evalkit.report.context import build_context
from evalkit.report.format import fmt_date
from evalkit.report.index import index_page
from evalkit.report.municipality import MunicipalityReport
from evalkit.report.round_comparison import RoundComparison
from evalkit.report.status_report import StatusReport
from evalkit.runner.export import notebook_to_html


def document(page: str) -> str:
    """The page as a parsed document, written back one way (entities, attribute quotes, <style> ends)."""
    soup = BeautifulSoup(page, "html.parser")
    for style in soup.find_all("style"):
        style.string = style.get_text().strip()
    return soup.decode(formatter="minimal")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    folder = three_municipalities(tmp_path_factory.mktemp("templates") / "data")
    with open(folder / "cases.csv", "a", encoding="utf-8") as fh:  # a name that needs escaping
        fh.write("Q1,Ærø & \"Sø\" <by>,1,W9,ledighedsydelse,2019-05-01,2019-03-01,,,,K,40-49\n")
    return build_context(load_dataset(folder))


def tables(out):
    """The Tables of a section's output (a Section holds several)."""
    if isinstance(out, Table):
        return [out]
    if isinstance(out, Section):
        return [t for part in out.parts for t in tables(part)]
    return []


def every_table(ctx) -> list[Table]:
    found = []
    for m in ctx["municipalities"]:
        report = MunicipalityReport(ctx, m)
        for name in ("key_figures", "criteria", "status", "survival_table", "hours_table", "caseload_table",
                     "follow_up", "capacity", "goals_table"):
            found += tables(getattr(report, name)())
    status = StatusReport(ctx)
    found += tables(status.status_table()) + tables(status.criteria_table())
    rounds = RoundComparison(ctx)
    for name in ("overview", "logrank_table", "cox_table", "criteria_differences", "hours_table"):
        found += tables(getattr(rounds, name)())
    return found


def render(table: Table) -> str:
    """The table through the template; views' Markup (already HTML) handed over as markupsafe's."""
    frame = table.frame.map(lambda v: markupsafe.Markup(v) if isinstance(v, Markup) else v)
    return html.render_table(frame, table.title, table.note, total_rows=table.total_rows,
                             highlight_rows=table.highlight_rows, count_cols=table.count_cols,
                             count_rows=table.count_rows, total_cols=table.total_cols)


def test_every_report_table_renders_as_before(ctx):
    found = every_table(ctx)
    assert len(found) >= 20
    assert any(t.count_rows for t in found) and any(t.total_cols for t in found)
    assert any("Ærø &amp; &quot;Sø&quot; &lt;by&gt;" in t._repr_html_() for t in found)  # escaping is tested
    for table in found:
        assert document(render(table)) == document(table._repr_html_())


def test_table_markup_with_every_kind_of_cell():
    import pandas as pd

    frame = pd.DataFrame({"Kommune": ["A<b", "Projektet i alt"], "Antal": ["1.607", "<5"], "I alt": ["x", "–"],
                          "Vurdering": [met_text(True), "Kan 'ikke' vurderes"],
                          "Andel (95 % CI)": ["23,4 % (20,1–27,0 %)", "x"]})
    table = Table(frame, title="Titel & co", note="Note <5", total_rows=[1], highlight_rows=[0, 1],
                        count_cols=["Antal"], count_rows=[0], total_cols=["I alt"])
    new = render(table)
    assert document(new) == document(table._repr_html_())
    assert '<th data-kind="count total">I alt</th>' in new and '<tr class="highlight" data-kind="count">' in new
    assert '<td class="t"><span class="ek-met">Opfyldt</span></td>' in new
    assert "<td>23,4 % (20,1–27,0 %)</td>" in new  # a number with its interval stays right-aligned


def test_notes():
    for text, kind in (("For få borgere (<5) & ingen kurve", "missing"), ("Ikke vist: 'Ærø'", "note")):
        assert document(html.render_note(text, kind)) == document(Note(text, kind)._repr_html_())


def test_index_page_in_the_report_frame(ctx):
    municipalities = ctx["municipalities"]
    listed = [("statusrapport", "status", None, "Statusrapport: alle kommuner"),
              ("rundesammenligning", "rounds", None, "Sammenligning af runder")]
    listed += [(f"kommune-{i}", "municipality", m, f"Kommunerapport: {m}") for i, m in enumerate(municipalities)]
    entries = {"statusrapport": {"status": "ok"}, "rundesammenligning": {"status": "failed"},
               "kommune-0": {"status": "ok"}, "kommune-1": {"status": "failed"}}
    old = index_page(ctx, listed, entries)
    table = re.search(r"<h2>Kommunerapporter og succeskriterier</h2>\n(.*)\n</main>", old, re.DOTALL).group(1)
    meta = ctx["meta"]
    new = html.render_index(meta["name"], fmt_date(meta["extraction_date"]), evalkit.__version__,
                            meta["input_hash"], [{"name": n, "title": t, "status": entries.get(n, {}).get("status")}
                                                 for n, kind, _, t in listed if kind in ("status", "rounds")], table)
    assert document(new) == document(old)
    for i, m in enumerate(municipalities):  # the municipalities' links as views writes them in the table
        link = html.report_link(f"kommune-{i}", m, entries.get(f"kommune-{i}", {}).get("status"))
        assert document(str(link)) in document(table)


def test_reports_and_index_share_one_frame(ctx):
    """Everything before <main>'s content is the same on a report page and on the index (title aside)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Nøgletal")])
    report = notebook_to_html(nb, "Kommunerapport: Tønder")
    index = html.render_index("Testdata", "31.12.2021", "0.1.0", "ab" * 32, [], "")

    def frame(page):
        soup = BeautifulSoup(document(page), "html.parser")
        soup.title.string = ""
        return str(soup.head), soup.html.attrs, soup.find("main").attrs

    assert frame(report) == frame(index)
