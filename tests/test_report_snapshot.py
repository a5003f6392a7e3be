"""Every report of the sample says what the committed snapshot says: the same visible text and the
same tables, cell by cell, with the same `data-kind` marks (time stamps and paths aside).

The snapshot (tests/snapshots/sample_reports.json) pins what the reports say, so a change
of structure (a module moved, a template instead of an f-string) is seen to change nothing.
When a change is meant to change what the reports say, regenerate it and commit it with
the change:

    .venv/bin/python tests/report_snapshot.py
"""

from __future__ import annotations

import json

from report_snapshot import SNAPSHOT, extract, first_difference


def test_extract_reads_text_tables_and_marks():
    page = ('<html><head><style>p {}</style></head><body><h2 id="x">Nøgletal<a>¶</a></h2><p>Beregnet '
            '2021-12-31T10:11:12, data=\'/tmp/a\'</p><div class="ek-scroll"><table><caption>T</caption>'
            '<thead><tr><th>Kommune</th><th data-kind="count">Antal</th></tr></thead><tbody>'
            '<tr class="total" data-kind="count"><td>I alt</td><td>&lt;5</td></tr></tbody></table></div>'
            '<img src="data:image/png;base64,AA"></body></html>')
    assert extract(page) == {
        "text": ["Nøgletal", "Beregnet <tidspunkt>, data='…'"],
        "tables": [{"caption": "T", "header": ["Kommune", "Antal"], "header_kinds": ["", "count"],
                    "rows": [["total kind=count", "I alt", "<5"]]}],
        "images": 1,
    }


def test_every_report_of_the_sample_says_what_the_snapshot_says(rendered_reports):
    pages = {name: extract(page) for name, page in rendered_reports("sample").pages.items()}  # as `render` reads them
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert len(pages) == 22  # 19 municipalities, the status report, the round comparison, the index
    assert first_difference(expected, pages) == ""
    assert pages == expected
