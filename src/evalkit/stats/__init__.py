"""The statistics: status, survival, progression, caseload, follow-up, criteria, indicators and series (numbers only: no Danish, no HTML)."""
