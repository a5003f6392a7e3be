"""What a reader sees in the reports of a run: visible text and tables, for before/after comparisons.

`extract(page)` reads one HTML page (a report or index.html) back into plain
data: the visible text outside tables, line by line, and every table with its
caption, its header cells' `data-kind`, and its rows (cells as text, with the
row's classes and `data-kind`). Code, styles and images are not text; the
number of images is kept. Time stamps and the dataset's path (the provenance
footer) are replaced by placeholders, so two runs on the same data compare equal.

Regenerate the committed snapshot of the sample's reports (after a change that
is meant to change what the reports say, e.g. more suppression):

    .venv/bin/python tests/report_snapshot.py

It renders every report of data/sample with `evalkit reports` into a temporary
folder and writes tests/snapshots/sample_reports.json; commit that file with
the change and say in the commit message why the reports changed.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "sample_reports.json"

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
_PATHS = re.compile(r"\b(data|targets_file)='[^']*'")


def _clean(text: str) -> str:
    text = " ".join(text.replace("¶", " ").split())
    return _PATHS.sub(r"\1='…'", _TIMESTAMP.sub("<tidspunkt>", text))


def _marks(tag) -> str:
    """A row's classes and data-kind, e.g. 'total' or 'count' ('' for a plain row)."""
    return " ".join([*tag.get("class", []), *([f"kind={tag['data-kind']}"] if tag.get("data-kind") else [])])


def _table(table) -> dict:
    caption = table.find("caption")
    header = table.find("thead")
    rows = table.find("tbody") or table
    return {
        "caption": _clean(caption.get_text()) if caption else "",
        "header": [_clean(th.get_text()) for th in header.find_all("th")] if header else [],
        "header_kinds": [th.get("data-kind", "") for th in header.find_all("th")] if header else [],
        "rows": [[_marks(tr), *(_clean(c.get_text()) for c in tr.find_all(["th", "td"]))]
                 for tr in rows.find_all("tr", recursive=False)],
    }


def extract(page: str) -> dict:
    """The visible text (outside tables), the tables and the number of images of one HTML page."""
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup.find_all(["script", "style", "head"]):
        tag.decompose()
    images = len(soup.find_all("img"))
    tables = []
    for table in soup.find_all("table"):
        if table.find_parent("table") is None:
            tables.append(_table(table))
    for table in soup.find_all("table"):
        table.decompose()
    lines = [_clean(line) for line in soup.get_text("\n").splitlines()]
    return {"text": [line for line in lines if line], "tables": tables, "images": images}


def render(data: Path, out: Path) -> dict[str, dict]:
    """Every report of `data` written by `evalkit reports` into `out`, read back with `extract`."""
    from evalkit.runner.build import build_reports

    code = build_reports(data, out, jobs=2, progress=False)
    if code != 0:
        raise RuntimeError(f"evalkit reports exited with {code}")
    return {p.name: extract(p.read_text(encoding="utf-8")) for p in sorted(Path(out).glob("*.html"))}


def first_difference(old: dict, new: dict) -> str:
    """A short account of where two extracts of the same reports differ ('' when they do not)."""
    if sorted(old) != sorted(new):
        return f"reports: {sorted(set(old) ^ set(new))}"
    for page in sorted(old):
        a, b = old[page], new[page]
        for key in ("text", "tables", "images"):
            if a[key] != b[key]:
                if key == "images":
                    return f"{page}: {a[key]} images before, {b[key]} now"
                for i, (x, y) in enumerate(zip(a[key], b[key], strict=False)):
                    if x != y:
                        return f"{page}, {key} #{i}:\n  before: {x}\n  now:    {y}"
                return f"{page}: {len(a[key])} {key} before, {len(b[key])} now"
    return ""


def dumps(obj, indent: str = "") -> str:
    """JSON with a short list of plain values (a table row, a header) on one line, so a diff shows
    one changed row or line of text as one changed line."""
    inner = indent + " "
    if isinstance(obj, dict) and obj:
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    flat = json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, list) and obj and (any(isinstance(v, (dict, list)) for v in obj) or len(flat) > 160):
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in obj) + f"\n{indent}]"
    return flat


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pages = render(SAMPLE, Path(tmp) / "reports")
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(dumps(pages) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: {len(pages)} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
