"""A per-user cache of what evalkit computes from a dataset (issue 12).

What is cached: the validated, typed `Dataset` of a dataset folder, the indicators
of `compute_all` (the report runner), and the results of `evalkit indicators` and
`evalkit series`. Each entry is a folder of Parquet files (frames) and JSON files
(everything else): formats that hold data only, never code (no pickle).

Where: `$EVALKIT_CACHE_DIR`, else the user's cache folder (platformdirs:
~/.cache/evalkit on Linux). Never under a report's --out folder. `evalkit cache
clear` empties it; `--no-cache` bypasses it for one command.

The key of an entry is a hash of
- the bytes of the input files and dataset.yml (`dataset.input_fingerprint`,
  the same hash as the loaded dataset's `input_hash`),
- evalkit's version and a hash of its own source, subpackages, settings and
  templates included (`evalkit.code_hash`),
- the parameters that change the result (municipality, round, --as-of, the
  bytes of a --targets file).
Any change to one of them is a different key: an old entry is never used, and
ages out (the folder is bounded, least recently used entries go first).

Trust: an entry is used only when everything about it says this user's evalkit
wrote it (owner, modes, no links, an HMAC-signed metadata file under a per-user
secret, each file's SHA-256), and removed otherwise: see evalkit.runner.cache_store.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import evalkit
from evalkit.runner.cache_store import FORMAT, Cache, CacheError, _note, _remove, default_dir

TABLES = ("cases", "hours", "contacts", "goals")


# --------------------------------------------------------------------------- lossless JSON

_DICT = "\u0000dict"  # a dict whose keys are not all text: {"\0dict": [[key, value], ...]}
_TUPLE = "\u0000tuple"


def _encode(obj, more=None):
    """obj as JSON types, reversibly: dicts with non-text keys and tuples are tagged. TypeError for
    anything else than dict, list, tuple, str, int, float, bool and None (then nothing is cached),
    unless `more(obj)` encodes it (a tagged dict; `_ContextCodec`)."""
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("\u0000") for k in obj):
            return {k: _encode(v, more) for k, v in obj.items()}
        return {_DICT: [[_encode(k, more), _encode(v, more)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {_TUPLE: [_encode(v, more) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, more) for v in obj]
    if obj is None or type(obj) in (str, int, float, bool):
        return obj
    if more is not None:
        return more(obj)
    raise TypeError(f"cannot cache a {type(obj).__name__}")


def _decode(obj, more=None):
    """The inverse of `_encode` (`more(tag, value)` decodes what `more` encoded)."""
    if isinstance(obj, dict):
        if len(obj) == 1 and _DICT in obj:
            return {_hashable(_decode(k, more)): _decode(v, more) for k, v in obj[_DICT]}
        if len(obj) == 1 and _TUPLE in obj:
            return tuple(_decode(v, more) for v in obj[_TUPLE])
        if more is not None and len(obj) == 1 and next(iter(obj)).startswith("\u0000"):
            tag, value = next(iter(obj.items()))
            return more(tag, _decode(value, more))
        return {k: _decode(v, more) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, more) for v in obj]
    return obj


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def to_json_bytes(obj) -> bytes:
    return json.dumps(_encode(obj), ensure_ascii=False, sort_keys=False).encode("utf-8")


def from_json_bytes(data: bytes):
    return _decode(json.loads(data.decode("utf-8")))


# --------------------------------------------------------------------------- frames as Parquet


def frame_to_parquet(frame) -> tuple[bytes, dict]:
    """A frame with a 0..n-1 index as Parquet bytes, and what `frame_from_parquet` needs to restore it
    exactly: each column's dtype and how its missing text values are written (NaN or None)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        raise TypeError("only frames with a 0..n-1 index are cached")
    columns = []
    for name in frame.columns:
        if not isinstance(name, str):
            raise TypeError("only frames with text column names are cached")
        col = frame[name]
        missing = None
        if col.dtype == object:  # text: pyarrow refuses anything else below; missing values all NaN or all None
            values = col.to_numpy()
            gaps = col.isna().to_numpy()
            nones = np.equal(values, None)
            nans = gaps & ~nones
            if nones.any() and nans.any():
                raise TypeError(f"column {name}: both None and NaN")
            if nans.any() and not all(isinstance(v, float) for v in values[nans]):
                raise TypeError(f"column {name}: a missing value that is not NaN")
            missing = "none" if nones.any() else "nan" if nans.any() else None
        columns.append([name, str(col.dtype), missing])
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, ValueError) as err:
        raise TypeError(f"not a frame of plain columns ({type(err).__name__})") from None
    for field in table.schema:
        if frame[field.name].dtype == object and not (pa.types.is_string(field.type) or pa.types.is_null(field.type)):
            raise TypeError(f"column {field.name}: not only text")
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue(), {"columns": columns, "rows": len(frame)}


def frame_from_parquet(data: bytes, info: dict):
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = [name for name, dtype, _ in info["columns"] if dtype == "object"]
    # text read as categories and then expanded: each distinct value becomes a Python str once, not once a row
    frame = pq.read_table(pa.BufferReader(data), read_dictionary=text).to_pandas()
    names = [c[0] for c in info["columns"]]
    if list(frame.columns) != names or len(frame) != info["rows"]:
        raise CacheError("a table's columns or rows differ from its metadata")
    for name, dtype, missing in info["columns"]:
        if dtype == "object":
            col = frame[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                gaps = col.cat.codes.to_numpy() < 0
                col = col.astype(object)  # missing values become NaN
            else:  # a column without a single value (null): missing values are None
                col = col.astype(object)
                gaps = col.isna().to_numpy()
            if missing is not None and gaps.any():  # put back what was there
                col = col.where(~gaps, np.nan if missing == "nan" else None)
            frame[name] = col
        elif str(frame[name].dtype) != dtype:
            frame[name] = frame[name].astype(dtype)
    return frame


# --------------------------------------------------------------------------- keys


def _key(kind: str, input_hash: str, params: dict) -> str:
    payload = {"kind": kind, "format": FORMAT, "input_hash": input_hash, "evalkit_version": evalkit.__version__,
               "code": evalkit.code_hash(), "params": params}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _targets_hash(targets_file) -> str | None:
    """sha256 of a --targets file (None: the shipped targets, covered by the code hash). OSError when it
    cannot be read: the caller then computes without the cache, which reports the error."""
    return None if targets_file is None else hashlib.sha256(Path(targets_file).read_bytes()).hexdigest()


_OPENED: dict[Path, Cache] = {}


def _cache(cache) -> Cache | None:
    """A Cache from `cache`: True (the default folder), False/None (no cache), a Cache or a folder."""
    if cache is True:  # one per folder and process: checked, and its key read, once
        root = default_dir()
        if root not in _OPENED:
            _OPENED[root] = Cache(root)
        return _OPENED[root]
    if not cache:
        return None
    return cache if isinstance(cache, Cache) else Cache(cache)


# --------------------------------------------------------------------------- the dataset


def dataset_files(ds) -> tuple[dict[str, bytes], dict]:
    files, tables = {}, {}
    for table in TABLES:
        files[f"{table}.parquet"], tables[table] = frame_to_parquet(getattr(ds, table))
    info = {
        "name": ds.name,
        "extraction_date": ds.extraction_date.isoformat(),
        "rounds": [[r, a.isoformat(), b.isoformat()] for r, (a, b) in ds.rounds.items()],
        "input_hash": ds.input_hash,
        "tables": tables,
    }
    return files, info


def dataset_from_files(files: dict[str, bytes], info: dict, source: Path):
    import pandas as pd

    from evalkit.data.dataset import Dataset

    tables = {t: frame_from_parquet(files[f"{t}.parquet"], info["tables"][t]) for t in TABLES}
    return Dataset(
        name=info["name"],
        extraction_date=pd.Timestamp(info["extraction_date"]),
        rounds={int(r): (pd.Timestamp(a), pd.Timestamp(b)) for r, a, b in info["rounds"]},
        input_hash=info["input_hash"],
        source=source,
        **tables,
    )


def load_dataset(data, cache=True):
    """`dataset.load_dataset(data)`, from the cache when this user's evalkit validated the same files
    before; else loaded, validated and stored. `cache`: True (the user's cache), False (none), a folder."""
    from evalkit.data.dataset import input_fingerprint
    from evalkit.data.dataset import load_dataset as load

    store = _cache(cache)
    if store is None:
        return load(data)
    folder = Path(data)
    key = _key("dataset", input_fingerprint(folder), {})
    hit = store.get("dataset", key)
    if hit is not None:
        try:
            return dataset_from_files(*hit, source=folder)
        except (CacheError, ValueError, KeyError, TypeError, OSError) as err:
            _note(f"dataset entry ignored and removed ({type(err).__name__}: {err})")
            _remove(store.root / store.entry_name("dataset", key))
    ds = load(folder)
    try:
        files, info = dataset_files(ds)
    except TypeError as err:
        _note(f"dataset not cached ({err})")
        return ds
    # keyed by the bytes load_dataset read (a file changed since the fingerprint gets its own key)
    store.put("dataset", _key("dataset", ds.input_hash, {}), files, info)
    return ds


# --------------------------------------------------------------------------- results (plain JSON data)


def read_json(store: Cache, kind: str, key: str, name: str = "result.json"):
    """The JSON file `name` of the entry kind/key, or None: missing, or unreadable (then removed)."""
    hit = store.get(kind, key)
    if hit is None:
        return None
    try:
        return from_json_bytes(hit[0][name])
    except (ValueError, KeyError, UnicodeDecodeError) as err:
        _note(f"{kind} entry ignored and removed ({type(err).__name__})")
        _remove(store.root / store.entry_name(kind, key))
        return None


def _cached_result(kind: str, ds, params: dict, compute, cache):
    """compute() from the cache entry of kind/params on `ds`, or computed and stored."""
    store = _cache(cache)
    if store is None or not ds.input_hash:  # an in-memory dataset has no fingerprint
        return compute()
    try:
        params = {**params, "targets": _targets_hash(params.pop("targets_file"))}
    except OSError:
        return compute()
    key = _key(kind, ds.input_hash, params)
    found = read_json(store, kind, key)
    if found is not None:
        return found
    result = compute()
    try:
        data = to_json_bytes(result)
    except (TypeError, ValueError) as err:
        _note(f"{kind} not cached ({err})")
        return result
    store.put(kind, key, {"result.json": data}, {})
    return result


def lookup_all(ds, targets_file=None, cache=True) -> dict | None:
    """The cached `indicators.compute_all(ds, targets_file)`, or None (then the caller computes it and
    gives it to `store_all`)."""
    store = _cache(cache)
    if store is None or not ds.input_hash:
        return None
    try:
        key = _key("all", ds.input_hash, {"targets": _targets_hash(targets_file)})
    except OSError:
        return None
    return read_json(store, "all", key)


def store_all(ds, result: dict, targets_file=None, cache=True) -> None:
    """Store `compute_all`'s result for `lookup_all`."""
    store = _cache(cache)
    if store is None or not ds.input_hash:
        return
    try:
        key = _key("all", ds.input_hash, {"targets": _targets_hash(targets_file)})
        data = to_json_bytes(result)
    except (OSError, TypeError, ValueError) as err:
        _note(f"indicators not cached ({err})")
        return
    store.put("all", key, {"result.json": data}, {})


def compute_all(ds, targets_file=None, cache=True) -> dict:
    """`indicators.compute_all(ds, targets_file)` through the cache."""
    found = lookup_all(ds, targets_file, cache)
    if found is not None:
        return found
    from evalkit.stats.indicators import compute_all as compute

    result = compute(ds, targets_file=targets_file)
    store_all(ds, result, targets_file, cache)
    return result


def compute_indicators(ds, municipality=None, round_=None, targets_file=None, as_of=None, cache=True) -> dict:
    """`evalkit indicators`: `indicators.compute_indicators` (or `asof.indicators_as_of` with `as_of`)
    through the cache."""

    def compute():
        if as_of is not None:
            from evalkit.stats.asof import indicators_as_of

            return indicators_as_of(ds, as_of, municipality=municipality, round_=round_, targets_file=targets_file)
        from evalkit.stats.indicators import compute_indicators as indicators

        return indicators(ds, municipality=municipality, round_=round_, targets_file=targets_file)

    params = {"municipality": municipality, "round": round_, "targets_file": targets_file,
              "as_of": None if as_of is None else str(as_of)}
    return _cached_result("indicators", ds, params, compute, cache)


def compute_series(ds, municipality=None, round_=None, targets_file=None, cache=True) -> dict:
    """`series.compute_series` through the cache."""

    def compute():
        from evalkit.stats.series import compute_series as series

        return series(ds, municipality=municipality, round_=round_, targets_file=targets_file)

    params = {"municipality": municipality, "round": round_, "targets_file": targets_file}
    return _cached_result("series", ds, params, compute, cache)


def clear(cache=True) -> tuple[Path, int]:
    """Empty the cache folder: (its path, entries removed)."""
    store = _cache(cache) or Cache()
    return store.root, store.clear()
