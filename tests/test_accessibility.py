"""WCAG 2.1 AA in the published HTML, read without a browser (issue 11 point 5; the browser and
axe-core check the rendered pages in test_browser.py).

The reports of data/sample and of the small-cell dataset are rendered once per session
(conftest.rendered_reports, shared with test_browser and test_report_snapshot) and read back:

- every figure (<img>) has a Danish text alternative, not nbconvert's English placeholder, that
  names the figure's own numbers (S(39) of the municipality and the project, the rounds, mean
  hours, the project's value in a caterpillar plot) and has no number that the page does not
  publish elsewhere (so no suppressed or unpublished value);
- every table has a caption, column headers scoped to their column, row headers to their row, and
  its scroll region can be reached by keyboard and is named;
- heading levels in order: one h1 first, no level skipped;
- contrast by the WCAG formula: every text colour of report.css on every background of report.css
  at least 4.5:1, and every colour that carries meaning in a figure (plots.py palette, also the
  other caseworkers as drawn, blended at their alpha) at least 3:1 against the white background.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from evalkit.report import plots

ROOT = Path(__file__).resolve().parents[1]
CSS = ROOT / "src" / "evalkit" / "templates" / "report.css"
PLACEHOLDER = "No description has been provided for this image"
# A number as the reports write it: '1.607', '48,9', '-0,0478' (a percent sign or unit follows as text).
NUMBER = re.compile(r"(?<![\w,.])-?\d{1,3}(?:\.\d{3})*(?:,\d+)?(?![\w])|(?<![\w,.])-?\d+(?:,\d+)?(?![\w])")
IDENTIFIERS = re.compile(r"\b(succeskriterium|runde) \d\b")  # names, not values: 'succeskriterium 3', 'runde 2'
DANISH = re.compile(r"\b\w*(kurver?|diagram|diagrammer|plot)\b.*\b(andel|timer|mål|antal|flow)",
                    re.IGNORECASE)


class Pages(dict):
    """File name -> parsed page, of one dataset (`dataset`)."""

    dataset: str


@pytest.fixture(scope="module", params=["sample", "small-cells"])
def pages(request, rendered_reports) -> Pages:
    out = Pages((name, BeautifulSoup(page, "html.parser"))
                for name, page in rendered_reports(request.param).pages.items())
    out.dataset = request.param
    return out


def numbers(text: str) -> set[str]:
    return {m.group(0) for m in NUMBER.finditer(text)}


def published_text(soup: BeautifulSoup) -> str:
    """What a reader sees on the page besides the figures: text and table cells (not head, styles, alt)."""
    body = soup.body
    return " ".join(body.stripped_strings) if body else ""


def table_by_caption(soup: BeautifulSoup, start: str) -> list[dict]:
    """The rows of the table whose caption starts with `start` as {header: cell text}."""
    for table in soup.find_all("table"):
        caption = table.find("caption")
        if caption and caption.get_text().startswith(start):
            head = [th.get_text() for th in table.thead.find_all("th")]
            return [dict(zip(head, (c.get_text() for c in tr.find_all(["th", "td"])), strict=True))
                    for tr in table.tbody.find_all("tr")]
    raise AssertionError(f"no table captioned {start!r}")


# --- figures ------------------------------------------------------------------------------


def test_every_figure_has_a_danish_alt_with_only_published_numbers(pages):
    seen = 0
    for name, soup in pages.items():
        text = published_text(soup)
        shown = numbers(text)
        for img in soup.find_all("img"):
            seen += 1
            alt = img.get("alt", "")
            assert alt and PLACEHOLDER not in alt, f"{name}: an image without a Danish alt"
            assert DANISH.search(alt), f"{name}: alt does not say what the figure shows: {alt}"
            assert "." in alt and len(alt) > 120, f"{name}: alt too short to carry the figure's message: {alt}"
            unpublished = numbers(IDENTIFIERS.sub("", alt)) - shown
            assert not unpublished, f"{name}: alt names numbers the page does not publish: {unpublished}\n{alt}"
    assert seen >= 3 * 2


def alts(soup: BeautifulSoup) -> list[str]:
    return [img["alt"] for img in soup.find_all("img")]


def test_survival_alts_name_s39_and_the_median_of_each_curve(pages):
    checked = hidden = 0
    for name, soup in pages.items():
        if name.startswith("kommune-"):
            caption, label = "S(39) og median", ""
        elif name == "rundesammenligning.html":
            caption, label = "S(39), median og log-rank", "Runde"
        else:
            continue
        figure = [a for a in alts(soup) if a.startswith("Kaplan-Meier")]
        if not figure:
            continue
        (alt,) = figure
        for row in table_by_caption(soup, caption):
            who = row[label]
            who = f"runde {who}" if label else who[0].lower() + who[1:] if who == "Projektet i alt" else who
            if row["S(39)"] not in ("x", "–"):
                checked += 1
                assert f"{row['S(39)']}" in alt and who in alt, f"{name}: {who}'s S(39) {row['S(39)']} not in {alt}"
            elif row["S(39)"] == "x":
                hidden += 1
                assert "S(39) vises ikke" in alt and who in alt.split("S(39) vises ikke")[1], f"{name}: {alt}"
            if row["Median uger"] not in ("x", "–"):
                assert f"{row['Median uger']} uger i {who}" in alt, f"{name}: median of {who} not in {alt}"
    assert checked >= 20 if pages.dataset == "sample" else hidden >= 1  # the small cells hide S(39)


def test_hours_alt_names_the_mean_hours(pages):
    checked = 0
    for name, soup in pages.items():
        if not name.startswith("kommune-"):
            continue
        figure = [a for a in alts(soup) if a.startswith("Søjlediagram")]
        if not figure:
            continue
        row = table_by_caption(soup, "Effektive timer pr. uge")[0]
        first, last = row["Gns. første effektive timer"], row["Gns. seneste effektive timer"]
        if "x" not in (first, last):
            checked += 1
            assert f"{first} og {last} timer" in figure[0]
        else:
            assert "Gennemsnittene vises ikke" in figure[0]
    assert checked >= 10 or pages.dataset != "sample"


def test_caterpillar_alts_name_the_project_and_the_best_and_worst_municipality(pages):
    soup = pages["statusrapport.html"]
    rows = table_by_caption(soup, "Succeskriterier pr. kommune")
    project = next(r for r in rows if r["Kommune"] == "Projektet i alt")
    figures = [a for a in alts(soup) if a.startswith("Caterpillar-plot")]
    assert figures
    for alt in figures:
        n = re.search(r"succeskriterium (\d)", alt).group(1)
        column = {"1": "Andel i fleksjob", "2": "S(39)", "3": "Progression"}[n] + " (95 % CI)"
        value = project[column].split(" (")[0]
        assert f"projektets gennemsnit {value}" in alt, (column, value, alt)
        best = re.search(r"(?:Bedst|Eneste viste kommune): (.+?) med ([\d,]+ %)", alt)
        municipality = next(r for r in rows if r["Kommune"] == best.group(1))
        assert municipality[column].startswith(best.group(2))


def test_a_plot_carries_its_alt_as_png_metadata():
    from matplotlib.figure import Figure

    plot = plots.Plot(Figure(figsize=(1, 1)))
    assert isinstance(plot._repr_png_(), bytes)  # no alt: plain PNG (nbconvert writes its placeholder)
    plot.alt = "Kurve: andel 48,9 %"
    png, meta = plot._repr_png_()
    assert png.startswith(b"\x89PNG") and meta == {"alt": "Kurve: andel 48,9 %"}


# --- tables and headings ------------------------------------------------------------------------


def test_every_table_has_a_caption_scoped_headers_and_a_keyboard_scroll_region(pages):
    for name, soup in pages.items():
        tables = soup.find_all("table")
        assert tables
        for table in tables:
            caption = table.find("caption")
            assert caption and caption.get_text().strip(), f"{name}: a table without a caption"
            heads = table.find_all("th")
            assert heads, f"{name}: {caption.get_text()} has no header cells"
            for th in heads:
                expected = "col" if th.find_parent("thead") else "row"
                assert th.get("scope") == expected, f"{name}, {caption.get_text()}: {th}"
            region = table.find_parent("div", class_="ek-scroll")
            if region is not None:
                assert (region.get("tabindex"), region.get("role")) == ("0", "region")
                assert region.get("aria-label") == caption.get_text()


def test_heading_levels_in_order(pages):
    for name, soup in pages.items():
        levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
        assert levels and levels[0] == 1 and levels.count(1) == 1, f"{name}: {levels}"
        skipped = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
        assert not skipped, f"{name}: heading levels skipped {skipped}"


# --- contrast (WCAG 2.1: relative luminance and contrast ratio) --------------------------------


def luminance(color: str) -> float:
    h = color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def blend(color: str, alpha: float, background: str = "#ffffff") -> str:
    h, g = color.lstrip("#"), background.lstrip("#")
    mixed = [round(alpha * int(h[i:i + 2], 16) + (1 - alpha) * int(g[i:i + 2], 16)) for i in (0, 2, 4)]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def test_contrast_formula():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#777777", "#777777") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the known AA grey
    assert contrast("#d9822b", "#ffffff") < 3  # the old highlight orange: too light for a graphic
    assert blend("#000000", 0.5) == "#808080"


def css_colors() -> tuple[set[str], set[str]]:
    """Text colours and background colours of report.css."""
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.DOTALL)
    text = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})\b", css))
    background = set(re.findall(r"background(?:-color)?:\s*(#[0-9a-fA-F]{3,6})\b", css)) | {"#ffffff"}
    return text, background


def test_text_colors_have_4_5_to_1_on_every_background():
    text, background = css_colors()
    assert {"#1b7a3a", "#b03a2e"} <= text and len(background) >= 3  # met / not met, and the cell fills
    low = [(t, b, round(contrast(t, b), 2)) for t in text for b in background if contrast(t, b) < 4.5]
    assert low == []


def test_figure_colors_have_3_to_1_against_white():
    meaningful = {"series": plots.COLORS, "project": [plots.PROJECT_COLOR], "highlight": [plots.HIGHLIGHT],
                  "intervals": [plots.CI_COLOR], "other caseworkers": [blend(plots.PROJECT_COLOR, plots.OTHERS_ALPHA)]}
    low = [(what, c, round(contrast(c, "#ffffff"), 2)) for what, colors in meaningful.items() for c in colors
           if contrast(c, "#ffffff") < 3]
    assert low == []
    # the focus outline of a keyboard-reached scroll region is a graphic too
    outline = re.search(r"\.ek-scroll:focus-visible\s*{[^}]*outline:[^;]*?(#[0-9a-fA-F]{3,6})",
                        CSS.read_text(encoding="utf-8")).group(1)
    assert contrast(outline, "#ffffff") >= 3
