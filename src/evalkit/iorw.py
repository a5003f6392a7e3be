"""Writing files and folders so that a reader never finds a half-written one.

A file is written under a temporary name in its own folder and renamed into
place (`os.replace` is atomic within one file system); a folder of several
files is written into a staged folder beside its target and moved at the end.
An interrupted run leaves the old file or folder, or the new one, never a mix.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path, data: bytes | str) -> None:
    """Write `data` (text as UTF-8) to `path` under a temporary name beside it, then rename it into place.

    The temporary file is new (O_EXCL, a random name `.NAME.XXXXXXXX.tmp`: never another
    writer's file, never a file planted there) and removed again if writing fails.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(target) -> Iterator[Path]:
    """A new empty folder beside `target` to write into; the caller moves it (or its content) into place.

    Whatever is left of it is removed on the way out, also after an error or an interrupt.
    """
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
