"""The report runner behind `evalkit reports`: plan, manifest, warm kernels, export (SPEC section 6)."""
