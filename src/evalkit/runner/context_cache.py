"""The report context in the cache (issue 12): `report_context` gives the context a run's reports read,
with its linked decision, from the cache when this user's evalkit made it from the same files, code
and threshold before (kept with the shipped targets; the targets file and the folder's name are put on
it).

Written as JSON with its frames as Parquet (`_ContextCodec`), never pickled; stored and trusted as every
entry of evalkit.runner.cache is (evalkit.runner.cache_store).
"""

from __future__ import annotations

import json

from evalkit.report.suppression import THRESHOLD
from evalkit.runner.cache import (
    _cache,
    _decode,
    _encode,
    _key,
    compute_series,
    frame_from_parquet,
    frame_to_parquet,
    lookup_all,
    store_all,
)
from evalkit.runner.cache_store import CacheError, _note, _remove

_FRAME, _TIME, _RECORD = "\u0000frame", "\u0000time", "\u0000record"
_INDEX = "\u0000index"  # a frame's index, kept as a column of its Parquet file


def _records() -> dict:
    """The dataclasses a cached report context holds, by name: the only classes decoding makes."""
    from evalkit.report.context import Meta, ReportContext, Unit
    from evalkit.report.publication import Decision
    from evalkit.stats.survival import SurvivalSummary

    return {cls.__name__: cls for cls in (ReportContext, Meta, Unit, SurvivalSummary, Decision)}


class _ContextCodec:
    """A `ReportContext` as JSON with its frames as Parquet, and back.

    Frames keep their columns exactly (`frame_to_parquet`) and a one-level index; frames with the
    same columns and dtypes share one Parquet file (`frames-N.parquet`, row-wise, so a context of a
    hundred municipalities is a few files, not hundreds); timestamps are ISO text; dataclasses are
    written by field, and only those of `_records` are made again."""

    def __init__(self, files: dict | None = None, info: dict | None = None):
        self.files = files if files is not None else {}
        self.info = info if info is not None else {}
        self.records = _records()
        self.frames: list = []  # encoding: the frames met, in order; decoding: the frames read
        self._groups: dict = {}  # decoding: group number -> its frames

    def encode(self, obj):
        import dataclasses

        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            if isinstance(obj.index, pd.MultiIndex) or _INDEX in obj.columns:
                raise TypeError("a frame with a multi-level index")
            self.frames.append(obj)
            return {_FRAME: len(self.frames) - 1}
        if type(obj) is pd.Timestamp and obj.tz is None:
            return {_TIME: obj.isoformat()}
        name = type(obj).__name__
        if dataclasses.is_dataclass(obj) and self.records.get(name) is type(obj):
            # what makes it, and of what it works out when asked the costly parts: the context's linked
            # decisions and suppression masks
            fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
                      if f.init and (f.compare or f.name in ("linked", "masks"))}
            return {_RECORD: [name, _encode(fields, self.encode)]}
        raise TypeError(f"cannot cache a {name}")

    def write_frames(self) -> None:
        """The frames met as Parquet files, one per set of columns and dtypes (index as a column)."""
        import pandas as pd

        groups: dict = {}
        for n, frame in enumerate(self.frames):
            signature = (tuple(frame.columns), tuple(map(str, frame.dtypes)), str(frame.index.dtype))
            groups.setdefault(signature, []).append(n)
        self.info["frames"] = [None] * len(self.frames)
        self.info["groups"] = []
        for g, members in enumerate(groups.values()):
            parts = []
            for position, n in enumerate(members):
                frame = self.frames[n]
                part = frame.reset_index(drop=True)
                part.insert(0, _INDEX, frame.index.to_numpy())
                parts.append(part)
                self.info["frames"][n] = [g, position]
            data, info = frame_to_parquet(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])
            self.files[f"frames-{g}.parquet"] = data
            self.info["groups"].append({**info, "sizes": [len(p) for p in parts],
                                        "index_names": [self.frames[n].index.name for n in members],
                                        "ranges": [isinstance(self.frames[n].index, pd.RangeIndex)
                                                   for n in members]})

    def _group(self, g: int) -> list:
        import numpy as np
        import pandas as pd

        if g not in self._groups:
            info = self.info["groups"][g]
            whole = frame_from_parquet(self.files[f"frames-{g}.parquet"], info)
            ends = np.cumsum(info["sizes"])
            if len(info["sizes"]) != len(info["index_names"]) or (len(ends) and ends[-1] != len(whole)):
                raise CacheError("a frame file's parts differ from its metadata")
            frames = []
            for end, size, name, ranged in zip(ends, info["sizes"], info["index_names"], info["ranges"]):
                frame = whole.iloc[end - size:end].reset_index(drop=True)
                index = frame.pop(_INDEX).to_numpy()
                frame.index = pd.RangeIndex(size, name=name) if ranged else pd.Index(index, name=name)
                frames.append(frame)
            self._groups[g] = frames
        return self._groups[g]

    def decode(self, tag: str, value):
        import pandas as pd

        if tag == _FRAME:
            g, position = self.info["frames"][value]
            return self._group(g)[position]
        if tag == _TIME:
            return pd.Timestamp(value)
        if tag == _RECORD:
            name, fields = value
            return self.records[name](**fields)
        raise CacheError(f"unknown tag {tag!r}")


def context_files(ctx) -> tuple[dict[str, bytes], dict]:
    """A report context as cache files: context.json and its frames as Parquet. TypeError when it
    holds something that cannot be written so (then it is not cached)."""
    codec = _ContextCodec()
    codec.files["context.json"] = json.dumps(_encode(ctx, codec.encode), ensure_ascii=False).encode("utf-8")
    codec.write_frames()
    return codec.files, codec.info


def context_from_files(files: dict[str, bytes], info: dict):
    codec = _ContextCodec(files, info)
    ctx = _decode(json.loads(files["context.json"].decode("utf-8")), codec.decode)
    if type(ctx) is not codec.records["ReportContext"]:
        raise CacheError("not a report context")
    return ctx


def report_context(ds, targets_file=None, threshold: int | None = None, cache=True):
    """`context.build_context(ds, targets_file)` (every indicator, frame and series the reports show)
    with the linked decision of `threshold` made (`grids.linked_decision`).

    The cache holds the context with the shipped targets, made by this user's evalkit from the same
    files, code and threshold; a --targets file is put on it (`context.with_targets`: targets
    change verdicts, not what is computed or counted), so changed targets compute nothing again,
    and so is the name of the dataset's folder (the footer names it; the same files in another
    folder are the same context). Else it is built (with the cached indicators and series) and stored."""
    import dataclasses

    from evalkit.report.context import dataset_folder, with_targets

    ctx = _shipped_targets_context(ds, THRESHOLD if threshold is None else int(threshold), cache)
    if ctx.meta.folder != dataset_folder(ds):
        ctx = dataclasses.replace(ctx, meta=dataclasses.replace(ctx.meta, folder=dataset_folder(ds)))
    return ctx if targets_file is None else with_targets(ctx, ds, targets_file)


def _shipped_targets_context(ds, threshold: int, cache):
    from evalkit.report.context import build_context
    from evalkit.report.grids import linked_decision

    store = _cache(cache)
    key = None
    if store is not None and ds.input_hash:
        key = _key("context", ds.input_hash, {"threshold": threshold})
        hit = store.get("context", key)
        if hit is not None:
            try:
                ctx = context_from_files(*hit)
                if threshold in ctx.linked:
                    return ctx
                raise CacheError("no linked decision")
            except (CacheError, ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as err:
                _note(f"context entry ignored and removed ({type(err).__name__}: {err})")
                _remove(store.root / store.entry_name("context", key))
    cached = lookup_all(ds, None, cache)
    ctx = build_context(ds, cached_indicators=cached, series=compute_series(ds, cache=cache))
    if cached is None:
        store_all(ds, ctx.indicators, None, cache)
    linked_decision(ctx, threshold)
    if key is not None:
        try:
            files, info = context_files(ctx)
        except (TypeError, ValueError) as err:
            _note(f"report context not cached ({err})")
            return ctx
        store.put("context", key, files, info)
    return ctx
