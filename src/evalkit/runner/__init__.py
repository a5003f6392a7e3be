"""The report runner behind `evalkit reports`: plan, manifest, warm kernels, export (SPEC section 6)."""

import sys

# nbformat validates notebooks with jsonschema, which imports `rfc3987_syntax` (an optional format
# checker of "iri" strings, installed with jupyterlab) when it is there; that package compiles a lark
# grammar on import: 2.3 s of every runner start on this machine, for a format no notebook schema uses.
# Marked as absent for this process (jsonschema skips the checker on ImportError), before anything
# here imports nbformat.
sys.modules.setdefault("rfc3987_syntax", None)
