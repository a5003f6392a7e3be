"""Executed notebooks to self-contained HTML (nbconvert with templates/report.html.j2), and the index page."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from evalkit.iorw import write_atomic
from evalkit.report.context import ReportContext
from evalkit.runner.manifest import INDEX, _save_manifest
from evalkit.runner.plan import PACKAGE_ROOT, ROUND_REPORT, STATUS_REPORT, ReportJob

TEMPLATE = PACKAGE_ROOT / "templates" / "report.html.j2"


def _report_exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        """HTMLExporter without its last step, a BeautifulSoup pass over the whole page (three quarters of
        a report's conversion): it gives images without alt text a stock English one and JupyterLab's
        cell elements a tabindex. evalkit's template (classic) makes no such elements and every figure
        has its own Danish alt text (report/alt_text.py); tests/test_templates.py checks the page equals
        HTMLExporter's."""

        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter.from_notebook_node (nbconvert 7.16-7.17) up to its BeautifulSoup pass
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return ReportExporter


def make_exporter(exporter_class=None):
    """nbconvert HTMLExporter (`ReportExporter`, without its page-wide BeautifulSoup pass): evalkit's
    template, code cells and prompts hidden."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = (exporter_class or _report_exporter_class())(
        template_file=str(TEMPLATE),
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    # notes for whoever runs the notebook by hand, and the runner's reset cell
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"evalkit-hide", "evalkit-reset"}), enabled=True)
    return exporter


def notebook_to_html(nb, title: str, exporter=None) -> str:
    """The executed notebook as one self-contained HTML page."""
    exporter = exporter or make_exporter()
    nb.metadata["title"] = title
    for number, cell in enumerate(nb.cells):  # papermill's parameters cell has a random id: the same report,
        cell["id"] = f"celle-{number}"  # made twice, is the same page
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


_REPORT_NAME = re.compile(rf"(kommune-[a-z0-9-]+|{STATUS_REPORT}|{ROUND_REPORT})")


def _index_listing(out: Path, input_hash: str, plan: list[ReportJob], manifest: dict) -> list[tuple]:
    """(name, kind, municipality, title) of every report index.html links or names."""
    entries = manifest["reports"]
    current = {j.name for j in plan}
    # reports of earlier runs on the same data stay listed (e.g. after --municipality)
    others = [
        name for name, e in entries.items()
        if name not in current and _REPORT_NAME.fullmatch(name) and e.get("status") == "ok"
        and e.get("input_hash") == input_hash and f"{name}.html" in manifest["files"]
        and (out / f"{name}.html").exists()
    ]
    listed = [(j.name, j.kind, j.municipality, j.title) for j in plan]
    return listed + [(n, entries[n].get("kind"), entries[n].get("municipality"), entries[n].get("title", n))
                     for n in others]


def _index_key(out: Path, input_hash: str, plan: list[ReportJob], manifest: dict, salt: list) -> str:
    """Hash of everything index.html shows: the data, code, targets, threshold and the reports' states."""
    listed = _index_listing(out, input_hash, plan, manifest)
    states = [manifest["reports"].get(name, {}).get("status") for name, *_ in listed]
    payload = json.dumps([input_hash, salt, listed, states], ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _write_index(out: Path, ctx: ReportContext, plan: list[ReportJob], manifest: dict, threshold: int, salt: list) -> None:
    """index.html: a link to every report, each municipality's criteria at a glance; its key in the manifest."""
    from evalkit.report.index import index_page, index_table
    from evalkit.runner import exports

    input_hash = ctx.meta.input_hash
    listing = _index_listing(out, input_hash, plan, manifest)
    table = index_table(ctx, listing, manifest["reports"], threshold)
    html = index_page(ctx, listing, manifest["reports"], threshold, workbook=exports.INDEX_XLSX, table=table)
    write_atomic(out / INDEX, html)
    exports.write_index_workbook_of_run(out, ctx, table, threshold)  # issue 11
    manifest["index_key"] = _index_key(out, input_hash, plan, manifest, salt)
    _save_manifest(out, manifest)
