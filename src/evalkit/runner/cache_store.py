"""The cache folder of evalkit.runner.cache: entries of files this user's evalkit wrote, and nothing else.

An entry is a folder `KIND-KEY` of files and a signed meta.json. It is used only
when everything about it says this user's evalkit wrote it, and removed
otherwise, never read further:
- the cache folder is created 0700; one that belongs to another user or that
  others may write to is not used at all (a note on stderr);
- an entry folder and each of its files belong to this user, are not readable
  or writable by anyone else, are plain files (no links) and are exactly the
  files its metadata lists;
- the metadata is signed with HMAC-SHA256 under a random key kept in the cache
  folder (`secret.key`, 0600): an entry copied or planted from anywhere else
  fails, as does one whose key, kind or evalkit version is not the one asked for;
- each file's SHA-256 is in the signed metadata: a truncated or altered file fails.
Entries are written into a private temporary folder beside them and renamed into
place, so a reader never sees half an entry; the folder is kept under a size
bound (least recently used entries go first).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

import evalkit

CACHE_ENV = "EVALKIT_CACHE_DIR"
MAX_BYTES_ENV = "EVALKIT_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB
FORMAT = 1
META = "meta.json"
SECRET = "secret.key"
_ENTRY = re.compile(r"[a-z_]+-[0-9a-f]{64}")
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 3600


class CacheError(Exception):
    """An entry that is not to be trusted (the reason is the message)."""


def _note(msg: str) -> None:
    sys.stderr.write(f"evalkit: cache: {msg}\n")


def default_dir() -> Path:
    """$EVALKIT_CACHE_DIR, else the user's cache folder for evalkit (platformdirs)."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("evalkit", appauthor=False))


def _max_bytes() -> int:
    try:
        return int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


def _private(st: os.stat_result) -> bool:
    """Owned by this user and nobody else may read or write it."""
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def _remove(path: Path) -> None:
    """Remove an entry (or anything in its place) without following links: a link is unlinked, a folder
    removed with shutil.rmtree (which never follows links inside it)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    try:
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass



class Cache:
    """The cache folder: `get` an entry's files by kind and key, `put` them, `clear` it."""

    def __init__(self, root=None, max_bytes: int | None = None):
        self.root = Path(root) if root is not None else default_dir()
        self.max_bytes = _max_bytes() if max_bytes is None else int(max_bytes)
        self._secret: bytes | None = None
        self._usable: bool | None = None

    # -- the folder and its key

    def usable(self) -> bool:
        """Create the folder (0700) and its secret key if needed; False (with a note) when the folder
        is not this user's private folder or cannot be made, so evalkit runs without the cache."""
        if self._usable is None:
            try:
                self._usable = self._open()
            except OSError as err:
                _note(f"not used ({self.root}: {err.strerror or err})")
                self._usable = False
        return self._usable

    def _open(self) -> bool:
        if not hasattr(os, "getuid") or not hasattr(os, "O_NOFOLLOW"):
            _note("not used: this system has no POSIX file owners and modes to keep it private")
            return False
        root = self.root
        if not os.path.lexists(root):
            root.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(root, 0o700)
            except FileExistsError:
                pass
        st = os.stat(root)  # a link to a folder is followed: the folder itself is checked
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            _note(f"not used: {root} is not a folder of this user that only this user may write to")
            return False
        self._secret = self._read_secret() or self._new_secret()
        return self._secret is not None

    def _read_secret(self) -> bytes | None:
        path = self.root / SECRET
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError:  # a link, or not readable: not ours
            _remove(path)
            return None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read(65)
        if stat.S_ISREG(st.st_mode) and _private(st) and len(data) == 32:
            return data
        _note("secret key not this user's private file: removed (every entry is rebuilt)")
        _remove(path)
        return None

    def _new_secret(self) -> bytes | None:
        key = secrets.token_bytes(32)
        path = self.root / SECRET
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another evalkit made it just now
            return self._read_secret()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    # -- entries

    def entry_name(self, kind: str, key: str) -> str:
        return f"{kind}-{key}"

    def get(self, kind: str, key: str) -> tuple[dict[str, bytes], dict] | None:
        """The files and the info of the entry `kind`/`key`, or None (a missing entry, or one that is not to
        be trusted: that one is removed)."""
        if not self.usable():
            return None
        path = self.root / self.entry_name(kind, key)
        if not os.path.lexists(path):
            return None
        try:
            files, info = self._read_entry(path, kind, key)
        except (CacheError, OSError, ValueError, KeyError, TypeError) as err:
            _note(f"entry {path.name} ignored and removed ({err})")
            _remove(path)
            return None
        try:
            os.utime(path)  # least recently used goes first
        except OSError:
            pass
        return files, info

    def _read_entry(self, path: Path, kind: str, key: str) -> tuple[dict[str, bytes], dict]:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or not _private(st):
            raise CacheError("not a private folder of this user")
        names = set(os.listdir(path))
        raw = _read_private(path / META)
        try:
            signed = json.loads(raw.decode("utf-8"))
            body = signed["body"].encode("utf-8")
            tag = signed["tag"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CacheError("metadata not readable") from None
        if not isinstance(tag, str) or not hmac.compare_digest(tag, self._sign(body)):
            raise CacheError("metadata not signed by this user's evalkit")
        meta = json.loads(body.decode("utf-8"))
        expected = {"written_by": "evalkit", "format": FORMAT, "kind": kind, "key": key,
                    "evalkit_version": evalkit.__version__}
        for field, value in expected.items():
            if meta.get(field) != value:
                raise CacheError(f"metadata names another {field}")
        listed = meta["files"]
        if names != set(listed) | {META}:
            raise CacheError("files other than those of the metadata")
        files = {}
        for name, digest in listed.items():
            data = _read_private(path / name)
            if hashlib.sha256(data).hexdigest() != digest:
                raise CacheError(f"{name} is not the file that was written")
            files[name] = data
        return files, meta["info"]

    def put(self, kind: str, key: str, files: dict[str, bytes], info: dict) -> None:
        """Write an entry atomically (a private temporary folder renamed into place); then keep the folder
        within its size bound. A failure to write is noted, never an error of the command."""
        if not self.usable():
            return
        target = self.root / self.entry_name(kind, key)
        tmp = None
        try:
            tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=self.root))  # 0700
            for name, data in files.items():
                _write_private(tmp / name, data)
            body = json.dumps({
                "written_by": "evalkit", "format": FORMAT, "kind": kind, "key": key,
                "evalkit_version": evalkit.__version__, "created": time.time(),
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
                "info": info,
            }, ensure_ascii=False, sort_keys=True)
            _write_private(tmp / META, json.dumps({"body": body, "tag": self._sign(body.encode("utf-8"))}).encode())
            try:
                os.rename(tmp, target)
                tmp = None
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                # another evalkit wrote the same entry just now: keep that one
        except OSError as err:
            _note(f"could not write an entry ({err.strerror or err})")
        finally:
            if tmp is not None:
                _remove(tmp)
        self.trim(keep=target.name)

    def entries(self) -> list[tuple[str, int, float]]:
        """(name, bytes, last used) of every entry folder."""
        found = []
        for name in os.listdir(self.root):
            if not _ENTRY.fullmatch(name):
                continue
            path = self.root / name
            try:
                st = os.lstat(path)
                size = sum(os.lstat(path / f).st_size for f in os.listdir(path)) if stat.S_ISDIR(st.st_mode) else 0
            except OSError:
                continue
            found.append((name, size, st.st_mtime))
        return found

    def trim(self, keep: str | None = None) -> None:
        """Remove the least recently used entries until the folder holds at most max_bytes (the entry
        `keep` last of all), and temporary folders left by an evalkit that was stopped."""
        try:
            now = time.time()
            for name in os.listdir(self.root):
                if name.startswith(_TMP_PREFIX):
                    try:
                        if now - os.lstat(self.root / name).st_mtime > _STALE_TMP_SECONDS:
                            _remove(self.root / name)
                    except OSError:
                        pass
            entries = sorted(self.entries(), key=lambda e: (e[0] == keep, e[2]))
            total = sum(size for _, size, _ in entries)
            for name, size, _ in entries:
                if total <= self.max_bytes:
                    break
                _remove(self.root / name)
                total -= size
        except OSError as err:
            _note(f"could not trim ({err.strerror or err})")

    def clear(self) -> int:
        """Remove every entry (and temporary folder); the number of entries removed. Other files in the
        folder (it may be a folder given in $EVALKIT_CACHE_DIR) are left alone."""
        if not os.path.isdir(self.root):
            return 0
        n = 0
        for name in os.listdir(self.root):
            if _ENTRY.fullmatch(name) or name.startswith(_TMP_PREFIX):
                _remove(self.root / name)
                n += _ENTRY.fullmatch(name) is not None
        return n


def _read_private(path: Path) -> bytes:
    """A file's bytes if it is a plain file of this user that nobody else may read or write (links are
    not followed); CacheError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        raise CacheError(f"{path.name}: {err.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or not _private(st):
            raise CacheError(f"{path.name} is not a private file of this user")
        return fh.read()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
