"""The run's context file: the report context pickled into the run's private folder with an HMAC tag
under a key only the run and its kernels know (evalkit.runner.build).

Apart from evalkit.report.context so that the runner can hand its kernels the key before it imports
pandas (its kernels start first).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
from pathlib import Path

CONTEXT_KEY_ENV = "EVALKIT_CONTEXT_KEY"  # the run's key for the context file, in the kernels' environment
_TAG_SIZE = hashlib.sha256().digest_size


def write_context(path, ctx, key: bytes) -> None:
    """Pickle the context to `path`, prefixed with its HMAC-SHA256 under the run's secret `key`.

    The file lives in the run's private folder (see evalkit.runner.build); the tag means a
    kernel unpickles only what this run wrote, never a file put there by anyone else.
    """
    payload = pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(hmac.new(key, payload, hashlib.sha256).digest() + payload)


def read_context(path, key: bytes):
    """The context written by `write_context` with the same key; ValueError (nothing unpickled) otherwise."""
    blob = Path(path).read_bytes()
    tag, payload = blob[:_TAG_SIZE], blob[_TAG_SIZE:]
    if not key or not hmac.compare_digest(tag, hmac.new(key, payload, hashlib.sha256).digest()):
        raise ValueError(f"{path}: not a context written by this evalkit run; refusing to load it")
    return pickle.loads(payload)  # authenticated above: this run wrote it
