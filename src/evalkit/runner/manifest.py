"""The out folder's manifest.json: evalkit's marker, the files it wrote, and per report the key
over everything that decides it (inputs, parameters, notebook, targets, evalkit's code), so unchanged
reports are skipped and a folder evalkit did not write is refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import evalkit
from evalkit.errors import InputError
from evalkit.iorw import write_atomic
from evalkit.runner.plan import PACKAGE_ROOT, JobResult, ReportJob

MANIFEST = "manifest.json"
INDEX = "index.html"
MARKER_KEY, MARKER = "written_by", "evalkit"  # in manifest.json: this folder is evalkit's output
LEGACY_WORK_DIR = ".evalkit"  # evalkit 0.1.0 kept case-level data here, inside the out folder


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _code_hash(root: Path = PACKAGE_ROOT) -> str:
    """Hash of evalkit's own source (evalkit.code_hash): a report is redone when the code changes."""
    return evalkit.code_hash(root)


def _report_key(job: ReportJob, input_hash: str, notebook_hash: str, code_hash: str, targets_hash: str | None) -> str:
    """Hash of inputs, parameters (paths excluded: the data is identified by its hash),
    notebook, targets and evalkit version and code."""
    stable = {k: v for k, v in job.parameters.items() if k not in ("data", "context_cache", "targets_file")}
    payload = {
        "input_hash": input_hash,
        "parameters": stable,
        "notebook": notebook_hash,
        "targets": targets_hash,
        "evalkit_version": evalkit.__version__,
        "code": code_hash,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def new_manifest() -> dict:
    """The manifest of a new out folder: evalkit's marker, no files, no reports."""
    return {MARKER_KEY: MARKER, "evalkit_version": evalkit.__version__, "files": [], "reports": {}}


def read_manifest(out: Path) -> dict:
    """The manifest of an out folder ({"reports": {}} when absent or unreadable)."""
    try:
        manifest = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("reports"), dict):
            return manifest
    except (OSError, ValueError):
        pass
    return {"reports": {}}


def is_evalkit_folder(manifest: dict) -> bool:
    """True for a manifest evalkit wrote (its marker, and lists of files and reports)."""
    return (manifest.get(MARKER_KEY) == MARKER and isinstance(manifest.get("files"), list)
            and isinstance(manifest.get("reports"), dict))


def _save_manifest(out: Path, manifest: dict) -> None:
    write_atomic(Path(out) / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))




CHOOSE = "choose a new or empty folder for --out"


def check_out_folder(out: Path, files: list[str]) -> dict:
    """The manifest to continue from, or InputError when --out may not or cannot be written.

    Checked before anything is created. Allowed: a folder that does not exist yet
    (its nearest existing parent must be a folder), an empty folder, or an
    evalkit output folder (manifest.json with evalkit's marker) in which every
    one of `files` that exists is listed in the manifest as written by evalkit.
    """
    out = Path(out)
    if not (out.exists() or out.is_symlink()):
        parent = out.parent
        while not (parent.exists() or parent.is_symlink()) and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(str(parent), f"is not a folder, so --out {out} cannot be created; {CHOOSE}")
        return new_manifest()
    if not out.is_dir():
        raise InputError(str(out), f"--out exists and is not a folder; {CHOOSE}")
    try:
        empty = next(out.iterdir(), None) is None
    except OSError as err:
        raise InputError(str(out), f"cannot read the --out folder ({err.strerror}); {CHOOSE}") from None
    if empty:
        return new_manifest()
    manifest = read_manifest(out)
    if not is_evalkit_folder(manifest):
        legacy = (out / LEGACY_WORK_DIR).exists()
        raise InputError(str(out), (
            "--out is not empty and has no manifest.json of this evalkit"
            + (" (a .evalkit/ folder of evalkit 0.1.0 holds case-level data that must not be published: "
               "delete it)" if legacy else "")
            + f"; {CHOOSE}: evalkit never overwrites or deletes files it did not write"))
    ours = set(manifest["files"])
    foreign = [f for f in files if f not in ours and ((out / f).exists() or (out / f).is_symlink())]
    if foreign:
        raise InputError(str(out / foreign[0]), "exists but was not written by evalkit (not listed in the folder's "
                         f"manifest.json); move it away or {CHOOSE}")
    return manifest


def _create_out(out: Path, manifest: dict) -> None:
    """Create --out (and its missing parents) and write its first manifest.

    On failure, the folders created here are removed again and InputError names
    the path: a run that cannot write leaves nothing behind.
    """
    missing = []
    folder = Path(out)
    while not (folder.exists() or folder.is_symlink()):
        missing.append(folder)
        folder = folder.parent
    created = []
    target = Path(out)
    try:
        for target in reversed(missing):
            target.mkdir()
            created.append(target)
        target = Path(out)
        _save_manifest(out, manifest)
    except OSError as err:
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass  # not empty: something else wrote there meanwhile
        raise InputError(str(target), f"cannot write the --out folder ({err.strerror or err}); {CHOOSE}") from None


def _manifest_entry(job: ReportJob, ds, result: JobResult, status: str) -> dict:
    """A report's record in manifest.json: what it was made from, without paths of this machine."""
    from evalkit.report.provenance import public_parameters

    return {
        "status": status,
        "title": job.title,
        "kind": job.kind,
        "municipality": job.municipality,
        "html": job.html if status == "ok" else None,
        "key": job.key,
        "input_hash": ds.input_hash,
        "evalkit_version": evalkit.__version__,
        "parameters": public_parameters(job.parameters),
        "seconds": round(result.seconds, 2),
        "finished": datetime.now().isoformat(timespec="seconds"),
    }
