"""evalkit: evaluate flexjob programmes from anonymised case data."""

from pathlib import Path

__version__ = "0.1.0"

PACKAGE_ROOT = Path(__file__).parent


def code_hash(root: Path = PACKAGE_ROOT) -> str:
    """Hash of evalkit's own source, settings and templates, subpackages included: what evalkit computes
    from a dataset (a report, a cached dataset or indicators) is redone when the code changes."""
    import hashlib

    root = Path(root)
    h = hashlib.sha256()
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and (p.suffix in (".py", ".yml") or "templates" in p.relative_to(root).parts)]
    for path in sorted(files):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()
