"""The report layer: Danish formats, suppressed tables and figures, one module per report."""
