"""Every published report read in a real browser: WCAG 2.1 AA, self-contained, printable (issue 11).

The reports of data/sample and of the small-cell dataset of
test_suppression_everywhere are rendered once each; one headless Chromium
(Debian's chromium and chromium-driver, driven by Selenium) opens every page
once and records, per page:

- axe-core 4.x violations for the tags wcag2a, wcag2aa, wcag21a and wcag21aa;
- every network request the page made (the DevTools Network events of the
  performance log): each must stay in the file (file: or data: URLs);
- console messages of level SEVERE (script errors, failed loads);
- the number of A4 pages Chrome's Page.printToPDF makes of it, and the tables
  wider than an A4 page's text (laid out for print at that width): they would
  be cut at the right edge.

Sanity tests feed the same checks hand-written pages that break each rule, so
a check that finds nothing is known to be able to find something.

The module is skipped, and the test summary says so (conftest.py), when no
Chromium or chromedriver is installed (`.ci/browser` installs them) or when
axe-core is missing (`make test` installs it with npm into .venv/node).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
AXE_JS = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SKIP_PREFIX = "browser tests skipped"
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "no chromium installed (Debian: chromium and chromium-driver; .ci/browser installs them)"
    if not AXE_JS.is_file():
        return f"no axe-core in {AXE_JS.relative_to(ROOT)} (`make test` installs it with npm)"
    version = json.loads((AXE_JS.parent / "package.json").read_text(encoding="utf-8"))["version"]
    if not version.startswith("4."):
        return f"axe-core {version} found, 4.x needed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (test extra of pyproject.toml)"
    return None


if (_reason := _missing()) is not None:
    pytest.skip(f"{SKIP_PREFIX}: {_reason}", allow_module_level=True)

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]
A4 = {"paperWidth": 210 / 25.4, "paperHeight": 297 / 25.4}  # inches
A4_TEXT_PX = round((210 - 2 * 14) / 25.4 * 96)  # width of the text on A4 with report.css's @page margins
# Plausible printed length in A4 pages, by kind of report. Measured: 5 (municipality), 6 (status),
# 3 (rounds) and 1 (index) on the sample; the same or fewer on the small-cell dataset.
PAGES = {"kommune": (3, 15), "statusrapport": (3, 30), "rundesammenligning": (2, 12), "index": (1, 4)}
LOCAL = ("file:", "data:")

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          nodes: v.nodes.map(n => n.target.join(' '))}))))
  .catch(e => done({error: String(e)}));
"""
WIDER_THAN_PAGE = """
const width = document.documentElement.clientWidth;
return [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right > width + 1)
  .map(t => (t.caption ? t.caption.textContent : t.rows[0].textContent).slice(0, 60));
"""


@dataclass
class Visit:
    """What one page did in the browser."""

    violations: list[dict]
    requests: list[str]
    console_errors: list[str]
    cut_tables: list[str]  # caption (or first row) of the tables wider than the text of an A4 page
    pages: int
    page_size: tuple[float, float]  # points, of the first PDF page


@dataclass
class Browser:
    driver: webdriver.Chrome
    axe: str  # axe.min.js

    def visit(self, page: Path) -> Visit:
        """Open `page`, run axe-core, print it to PDF; collect what it requested and logged."""
        d = self.driver
        for log in ("performance", "browser"):
            d.get_log(log)  # drain what an earlier page left
        d.get(page.as_uri())
        d.execute_script(self.axe)
        violations = d.execute_async_script(RUN_AXE, AXE_TAGS)
        assert not isinstance(violations, dict), f"axe-core failed on {page.name}: {violations}"
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": A4_TEXT_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        cut = d.execute_script(WIDER_THAN_PAGE)
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        pdf = base64.b64decode(d.execute_cdp_cmd("Page.printToPDF", {**A4, "printBackground": True,
                                                                     "preferCSSPageSize": True})["data"])
        requests = [m["params"]["request"]["url"] for m in map(_message, d.get_log("performance"))
                    if m["method"] == "Network.requestWillBeSent"]
        errors = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
        return Visit(violations, requests, errors, cut, *pdf_pages(pdf))


def _message(entry: dict) -> dict:
    return json.loads(entry["message"])["message"]


def pdf_pages(pdf: bytes) -> tuple[int, tuple[float, float]]:
    """Number of pages of a PDF Chrome wrote, and the size of the first (width, height in points)."""
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", pdf)
    x0, y0, x1, y1 = map(float, box.groups())
    return pages, (x1 - x0, y1 - y0)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the whole module, with a fresh profile and the logs the checks read."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(120)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    try:
        yield Browser(driver, AXE_JS.read_text(encoding="utf-8"))
    finally:
        driver.quit()


DATASETS = ("sample", "small-cells")  # conftest.rendered_reports renders them


@pytest.fixture(scope="module", params=sorted(DATASETS))
def visits(request, browser, rendered_reports) -> dict[str, Visit]:
    """Every report of one dataset rendered (as `evalkit reports` does, once per session) and opened once:
    file name -> Visit."""
    rendered = rendered_reports(request.param)
    data, out = rendered.data, rendered.out
    municipalities = pd.read_csv(data / "cases.csv", usecols=["municipality"])["municipality"].nunique()
    pages = sorted(out.glob("*.html"))
    assert len(pages) == municipalities + 3, "one report per municipality, status, rounds and index"
    t0 = time.perf_counter()
    result = {page.name: browser.visit(page) for page in pages}
    lengths = {k: sorted({v.pages for name, v in result.items() if kind(name) == k}) for k in PAGES}
    print(f"\n{request.param}: {len(pages)} pages in the browser in {time.perf_counter() - t0:.1f} s; "
          f"A4 pages by kind: {lengths}")
    return result


def kind(name: str) -> str:
    return name.split("-")[0].removesuffix(".html")


# --- the checks --------------------------------------------------------------------------


def _short(selector: str) -> str:
    """'#cell-id\\=x-04 > .output_wrapper > ... > .ek-scroll' -> '#cell-id=x-04 … .ek-scroll'."""
    parts = selector.replace("\\", "").split(" > ")
    return parts[0] if len(parts) == 1 else f"{parts[0]} … {parts[-1]}"


def axe_failures(visits: dict[str, Visit]) -> list[str]:
    """One line per page and rule: rule id, impact, help text and (up to 5) elements."""
    return [f"{name}: {v['id']} ({v['impact']}: {v['help']}), {len(v['nodes'])} elements: "
            + ", ".join(map(_short, v["nodes"][:5])) + (" …" if len(v["nodes"]) > 5 else "")
            for name, visit in visits.items() for v in visit.violations]


def request_failures(visits: dict[str, Visit]) -> list[str]:
    return [f"{name}: {url[:120]}" for name, visit in visits.items() for url in visit.requests
            if not url.startswith(LOCAL)]


def console_failures(visits: dict[str, Visit]) -> list[str]:
    return [f"{name}: {message[:300]}" for name, visit in visits.items() for message in visit.console_errors]


def print_failures(visits: dict[str, Visit]) -> list[str]:
    out = []
    for name, visit in visits.items():
        low, high = PAGES[kind(name)]
        if not low <= visit.pages <= high:
            out.append(f"{name}: {visit.pages} pages, expected {low}-{high}")
        if not all(abs(a - b) < 2 for a, b in zip(visit.page_size, (595.28, 841.89))):
            out.append(f"{name}: page size {visit.page_size} pt, not A4")
        out += [f"{name}: table wider than the page, cut in print: {caption}" for caption in visit.cut_tables]
    return out


def test_no_accessibility_violations(visits):
    failures = axe_failures(visits)
    assert not failures, f"axe-core {AXE_TAGS}: {len(failures)} violations\n" + "\n".join(failures)


def test_no_request_leaves_the_file(visits):
    assert all(v.requests for v in visits.values()), "every page at least requests itself"
    failures = request_failures(visits)
    assert not failures, "requests beyond the file:\n" + "\n".join(failures)


def test_no_console_error(visits):
    failures = console_failures(visits)
    assert not failures, "console errors:\n" + "\n".join(failures)


def test_prints_to_a_plausible_number_of_a4_pages(visits):
    failures = print_failures(visits)
    assert not failures, "\n".join(failures)


# --- the checks can fail ---------------------------------------------------------------------

BAD_PAGE = """<!DOCTYPE html>
<html><head><title>x</title></head><body>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==">
<div style="overflow-x:auto;width:100px"><table><tr><td style="white-space:nowrap">{wide}</td></tr></table></div>
<img alt="ekstern" src="https://example.invalid/x.png">
<script>console.error("evalkit sanity error")</script>
</body></html>
"""


def test_checks_find_what_they_look_for(browser, tmp_path):
    page = tmp_path / "kommune-bad.html"
    page.write_text(BAD_PAGE.replace("{wide}", "bred tabel " * 60), encoding="utf-8")
    visit = {page.name: browser.visit(page)}
    rules = {v["id"] for v in visit[page.name].violations}
    assert {"html-has-lang", "image-alt", "scrollable-region-focusable"} <= rules
    assert any("example.invalid" in f for f in request_failures(visit))
    assert any("evalkit sanity error" in f for f in console_failures(visit))
    assert visit[page.name].pages == 1 and print_failures(visit) == [
        f"{page.name}: 1 pages, expected 3-15", f"{page.name}: table wider than the page, cut in print: {('bred tabel ' * 6)[:60]}"]


def test_pdf_page_count_reads_chromes_pdf(browser, tmp_path):
    page = tmp_path / "three.html"
    page.write_text('<!DOCTYPE html><html lang="da"><head><title>t</title></head><body>'
                    + '<p style="break-after: page">side</p>' * 3 + "</body></html>", encoding="utf-8")
    visit = browser.visit(page)
    assert visit.pages == 3 and visit.violations == [] and visit.console_errors == []
