"""The Jinja templates (evalkit.report.html): what tables, rows, notes and the index page write.

Every table of every report section on a small dataset is read back from its
HTML: the same cells as its frame, the `data-kind` marks the suppression audit
reads, and the keyboard-reachable scroll region. What the reports say as a whole
is held by the snapshot (test_report_snapshot.py).
"""

from __future__ import annotations

import nbformat
import pytest
from bs4 import BeautifulSoup
from test_reports import three_municipalities

from evalkit.data.dataset import load_dataset
from evalkit.report import html
from evalkit.report.blocks import Note, Row, Section, Table
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
    for m in ctx.municipalities:
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


def test_every_report_table_renders_its_cells_and_marks(ctx):
    """Every table of every report section: the frame's cells as text, the count marks, a keyboard scroll region."""
    found = every_table(ctx)
    assert len(found) >= 20
    assert any(t.count_rows for t in found) and any(t.total_cols for t in found)
    for table in found:
        page = table._repr_html_()
        soup = BeautifulSoup(page, "html.parser")
        region = soup.find("div", class_="ek-scroll")
        assert (region["tabindex"], region["role"], region["aria-label"]) == ("0", "region", table.title)
        assert table.title  # every table is named by its caption (WCAG 2.1 AA)
        head = soup.find("thead").find_all("th")
        assert {th.get("scope") for th in head} == {"col"}
        assert [th.get_text() for th in head] == [str(c) for c in table.frame.columns]
        assert {th.get_text() for th in head if th.get("data-kind")} == {str(c) for c in table.count_cols}
        assert {th.get_text() for th in head if th.get("data-kind") == "count total"} == set(table.total_cols)
        body = soup.find("tbody").find_all("tr")
        assert [[td.get_text() for td in tr.find_all("td")] for tr in body] == [
            [BeautifulSoup(v, "html.parser").get_text() if hasattr(v, "__html__") else str(v) for v in row]
            for row in table.frame.itertuples(index=False)]
        assert {i for i, tr in enumerate(body) if tr.get("data-kind") == "count"} == table.count_rows
        assert {i for i, tr in enumerate(body) if "total" in tr.get("class", [])} == table.total_rows
    named = [t for t in found if "Ærø" in t._repr_html_()]
    assert named and all("<by>" not in t._repr_html_() for t in named)  # the name is escaped ...
    assert any('Ærø & "Sø" <by>' in BeautifulSoup(t._repr_html_(), "html.parser").get_text() for t in named)  # ... and reads as written


def test_table_markup_with_every_kind_of_cell():
    import pandas as pd

    frame = pd.DataFrame({"Kommune": ["A<b", "Projektet i alt"], "Antal": ["1.607", "<5"], "I alt": ["x", "–"],
                          "Vurdering": [met_text(True), "Kan 'ikke' vurderes"],
                          "Andel (95 % CI)": ["23,4 % (20,1–27,0 %)", "x"]})
    table = Table(frame, title="Titel & co", note="Note <5", total_rows=[1], highlight_rows=[0, 1],
                  count_cols=["Antal"], count_rows=[0], total_cols=["I alt"])
    new = table._repr_html_()
    assert '<th scope="col" data-kind="count total">I alt</th>' in new and '<tr class="highlight" data-kind="count">' in new
    assert '<tr class="total highlight">' in new and '<th scope="col" data-kind="count">Antal</th>' in new
    assert 'role="region" aria-label="Titel &amp; co"><table' in new
    assert '<td class="t"><span class="ek-met">Opfyldt</span></td>' in new  # Markup is written as it is
    assert "<td>23,4 % (20,1–27,0 %)</td>" in new  # a number with its interval stays right-aligned
    assert "<td>A&lt;b</td>" in new and "<caption>Titel &amp; co</caption>" in new
    assert '<p class="ek-note">Note &lt;5</p>' in new and "<td>&lt;5</td>" in new


def test_rows_bring_their_own_marks():
    rows = [Row("Forløb", ("12", "<5"), counts=True, sources=("n_cases",)),
            Row("Andel", ("50,0 %", "x"), sources=("n_cases",)),
            Row("I alt", ("14", "x"), counts=True, total=True, highlight=True)]
    table = Table.from_rows(rows, ["Nøgletal", "A", "B"], note="n")
    assert list(table.frame.columns) == ["Nøgletal", "A", "B"] and table.frame.iloc[1, 2] == "x"
    assert (table.count_rows, table.total_rows, table.highlight_rows) == ({0, 2}, {2}, {2})
    body = BeautifulSoup(table._repr_html_(), "html.parser").find("tbody").find_all("tr")
    assert [tr.get("data-kind") for tr in body] == ["count", None, "count"]
    with pytest.raises(ValueError):
        Table.from_rows([Row("Forløb", ("12",))], ["Nøgletal", "A", "B"])


def test_notes():
    for text, kind in (("For få borgere (<5) & ingen kurve", "missing"), ("Ikke vist: 'Ærø'", "note")):
        soup = BeautifulSoup(Note(text, kind)._repr_html_(), "html.parser")
        assert soup.div["class"] == [f"ek-{kind}"] and soup.div.p.get_text() == text
    assert "<p>For få borgere (&lt;5) &amp; ingen kurve</p>" in html.render_note("For få borgere (<5) & ingen kurve")


def test_index_page_in_the_report_frame(ctx):
    municipalities = ctx.municipalities
    listed = [("statusrapport", "status", None, "Statusrapport: alle kommuner"),
              ("rundesammenligning", "rounds", None, "Sammenligning af runder")]
    listed += [(f"kommune-{i}", "municipality", m, f"Kommunerapport: {m}") for i, m in enumerate(municipalities)]
    entries = {"statusrapport": {"status": "ok"}, "rundesammenligning": {"status": "failed"},
               "kommune-0": {"status": "ok"}, "kommune-1": {"status": "failed"}}
    page = index_page(ctx, listed, entries)
    soup = BeautifulSoup(page, "html.parser")
    meta = ctx.meta
    assert soup.title.get_text() == f"Rapporter: {meta.name}" and soup.html["lang"] == "da"
    assert f"Udtræksdato {fmt_date(meta.extraction_date)}" in soup.get_text()
    general = soup.find("ul").find_all("li")
    assert general[0].a["href"] == "statusrapport.html" and "fejlede" in general[1].get_text()
    links = {a["href"]: a.get_text() for a in soup.find("table").find_all("a")}
    assert links == {"kommune-0.html": municipalities[0]}  # failed and unlisted reports get no link
    assert "fejlede" in soup.find("table").find_all("tr")[2].get_text()
    assert soup.find("th", attrs={"data-kind": "count"}).get_text() == "Forløb"


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


def test_report_page_equals_nbconverts_own(ctx):
    """The runner's exporter skips HTMLExporter's closing BeautifulSoup pass (alt text for images without,
    tabindex for JupyterLab cells); on a report's kinds of output the page is the same document as
    HTMLExporter makes, and every figure keeps its own alt text."""
    import base64

    from nbconvert import HTMLExporter

    from evalkit.runner.export import make_exporter

    report = MunicipalityReport(ctx, ctx.municipalities[0])
    plot = report.survival_figure()
    png, meta = plot._repr_png_()
    outputs = [nbformat.v4.new_output("display_data", data={"text/html": report.title()._repr_html_(),
                                                            "text/plain": "x"}),
               nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode(),
                                                            "text/plain": "plot"}, metadata={"image/png": meta}),
               nbformat.v4.new_output("stream", name="stdout", text="en linje\n")]
    for block in (report.criteria(), report.key_figures()):
        for part in getattr(block, "parts", [block]):
            outputs.append(nbformat.v4.new_output("display_data", data={"text/html": part._repr_html_(),
                                                                        "text/plain": "x"}))
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("**Skjult**", metadata={"tags": ["evalkit-hide"]}),
        nbformat.v4.new_markdown_cell("## Nøgletal\n\nTekst med *fremhævning* & <tegn>."),
        nbformat.v4.new_code_cell("report.title()", outputs=outputs)])
    ours = notebook_to_html(nbformat.from_dict(nb), "Kommunerapport: Tønder", make_exporter())
    stock = notebook_to_html(nbformat.from_dict(nb), "Kommunerapport: Tønder", make_exporter(HTMLExporter))
    assert ours != stock  # written differently (the pass re-serialises the page) ...
    assert document(ours) == document(stock)  # ... the same document
    (img,) = BeautifulSoup(ours, "html.parser").find_all("img")
    assert img["alt"] == plot.alt and "Skjult" not in ours
