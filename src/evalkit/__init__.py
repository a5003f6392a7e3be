"""evalkit: evaluate flexjob programmes from anonymised case data."""

__version__ = "0.1.0"
