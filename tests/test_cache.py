"""The cache of validated datasets and computed results (evalkit.runner.cache, issue 12), and what the quick
commands import.

Cached results must equal uncached ones exactly (frames with their dtypes and the very missing values,
JSON results with their types); a changed input file, a changed evalkit source file and a changed
parameter each make a new entry; an entry this user's evalkit did not write (planted, corrupted, a
link, another owner, loose modes) is ignored, removed and the result computed afresh.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SMALL_CASES, assert_same, write_dataset

import evalkit
from evalkit.cli import main
from evalkit.data import dataset as dataset_module
from evalkit.runner import cache, cache_store
from evalkit.runner.cache_store import META, SECRET, Cache

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture
def store(tmp_path) -> Cache:
    return Cache(tmp_path / "cache")


def entries(store: Cache, kind: str | None = None) -> list[Path]:
    return sorted(p for p in store.root.iterdir() if cache_store._ENTRY.fullmatch(p.name)
                  and (kind is None or p.name.startswith(f"{kind}-")))


@pytest.fixture
def no_loading(monkeypatch):
    """Makes dataset.load_dataset fail: what still loads comes from the cache."""

    def refuse(*a, **k):
        raise AssertionError("load_dataset called: the cache was not used")

    def arm():
        monkeypatch.setattr(dataset_module, "load_dataset", refuse)

    return arm


def assert_same_dataset(a, b):
    assert (a.name, a.extraction_date, a.rounds, a.input_hash) == (b.name, b.extraction_date, b.rounds, b.input_hash)
    assert a.input_hash  # the fingerprint of the files
    for table in cache.TABLES:
        fa, fb = getattr(a, table), getattr(b, table)
        pd.testing.assert_frame_equal(fa, fb, check_dtype=True, check_exact=True, check_index_type=True)
        for column in fa.columns:  # missing text stays NaN (not None), text stays str
            assert [type(v) for v in fa[column]] == [type(v) for v in fb[column]], (table, column)


# --------------------------------------------------------------------------- equal results


def test_cached_dataset_equals_the_loaded_one(store, no_loading):
    fresh = dataset_module.load_dataset(SAMPLE)
    first = cache.load_dataset(SAMPLE, cache=store)  # loads and stores
    assert [p.name.split("-")[0] for p in entries(store)] == ["dataset"]
    no_loading()
    second = cache.load_dataset(SAMPLE, cache=store)  # from the cache only
    for got in (first, second):
        assert_same_dataset(fresh, got)
        assert got.source == SAMPLE
    assert fresh.input_hash == dataset_module.input_fingerprint(SAMPLE)


def test_cached_results_equal_computed_ones(store, tmp_path, monkeypatch):
    from evalkit.stats.asof import indicators_as_of
    from evalkit.stats.indicators import compute_all, compute_indicators
    from evalkit.stats.series import compute_series

    ds = cache.load_dataset(SAMPLE, cache=store)
    expected = {
        "all": compute_all(ds),
        "tønder": compute_indicators(ds, municipality="Tønder"),
        "round 2": compute_indicators(ds, round_=2),
        "as of": indicators_as_of(ds, pd.Timestamp("2021-06-30"), municipality="Tønder"),
        "series": compute_series(ds, municipality="Tønder"),
    }
    calls = {
        "all": lambda: cache.compute_all(ds, cache=store),
        "tønder": lambda: cache.compute_indicators(ds, municipality="Tønder", cache=store),
        "round 2": lambda: cache.compute_indicators(ds, round_=2, cache=store),
        "as of": lambda: cache.compute_indicators(ds, municipality="Tønder", as_of=pd.Timestamp("2021-06-30"),
                                                  cache=store),
        "series": lambda: cache.compute_series(ds, municipality="Tønder", cache=store),
    }
    stored = {name: call() for name, call in calls.items()}
    assert len(entries(store)) == 1 + len(calls)
    assert sorted(expected["all"]["rounds"]) == [1, 2]  # round numbers are int keys: they must stay so

    import evalkit.stats.asof
    import evalkit.stats.indicators
    import evalkit.stats.series

    for module, name in ((evalkit.stats.indicators, "compute_all"), (evalkit.stats.indicators, "compute_indicators"),
                         (evalkit.stats.asof, "indicators_as_of"), (evalkit.stats.series, "compute_series")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("computed: the cache was not used"))
    for name, call in calls.items():
        assert_same(expected[name], stored[name], name)
        assert_same(expected[name], call(), name)


def test_json_round_trip_keeps_key_and_value_types():
    value = {"a": [1, 1.5, True, None, "x", float("nan"), float("inf")], 1: {2: "b"}, (3, "c"): (4, [5]),
             "\u0000dict": "a key that looks like the tag"}
    assert_same(value, cache.from_json_bytes(cache.to_json_bytes(value)))
    import numpy as np

    with pytest.raises(TypeError):
        cache.to_json_bytes({"n": np.int64(1)})  # not plain: never cached, never silently changed


def test_frames_keep_missing_values_and_dtypes():
    frame = pd.DataFrame({
        "text_nan": ["a", float("nan"), "c"], "text_none": ["a", None, "c"], "empty": [None, None, None],
        "when": pd.to_datetime(["2021-01-01", None, "2021-03-01"]), "n": [1, 2, 3], "x": [0.1, float("nan"), 3.0],
    }).astype({"empty": object})
    data, info = cache.frame_to_parquet(frame)
    back = cache.frame_from_parquet(data, info)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    for column in frame:
        assert [type(v) for v in frame[column]] == [type(v) for v in back[column]], column
    with pytest.raises(TypeError):
        cache.frame_to_parquet(pd.DataFrame({"mixed": [1, "a"]}))


# --------------------------------------------------------------------------- invalidation


def test_a_changed_input_file_is_a_new_entry(tmp_path, store, no_loading):
    folder = write_dataset(tmp_path / "data")
    before = cache.load_dataset(folder, cache=store)
    (folder / "cases.csv").write_text(SMALL_CASES.replace("C4,København,2,W3", "C4,København,2,W9"), encoding="utf-8")
    after = cache.load_dataset(folder, cache=store)
    assert after.input_hash != before.input_hash
    assert after.cases.loc[3, "caseworker_id"] == "W9"
    assert_same_dataset(dataset_module.load_dataset(folder), after)
    (folder / "dataset.yml").write_text((folder / "dataset.yml").read_text(encoding="utf-8").replace(
        "Lille testdatasæt", "Et andet navn"), encoding="utf-8")
    assert cache.load_dataset(folder, cache=store).name == "Et andet navn"
    assert len(entries(store, "dataset")) == 3
    no_loading()
    assert cache.load_dataset(folder, cache=store).name == "Et andet navn"  # unchanged now: from the cache


def test_a_changed_evalkit_source_file_is_a_new_entry(tmp_path, store, monkeypatch):
    """The key holds evalkit.code_hash over every module, subpackages included: here over a copy of the
    package, whose files the test changes."""
    copy = tmp_path / "evalkit"
    shutil.copytree(evalkit.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    real = evalkit.code_hash
    monkeypatch.setattr(evalkit, "code_hash", lambda root=copy: real(root))
    folder = write_dataset(tmp_path / "data")
    loads = []
    original = dataset_module.load_dataset
    monkeypatch.setattr(dataset_module, "load_dataset", lambda path: loads.append(path) or original(path))

    cache.load_dataset(folder, cache=store)
    cache.load_dataset(folder, cache=store)
    assert len(loads) == 1  # the second came from the cache
    for changed in (copy / "stats" / "status.py", copy / "report" / "format.py", copy / "templates" / "report.css"):
        with open(changed, "a", encoding="utf-8") as fh:
            fh.write("\n# changed\n")
        before = len(loads)
        cache.load_dataset(folder, cache=store)
        assert len(loads) == before + 1, changed
    assert len(entries(store, "dataset")) == 4


def test_a_changed_parameter_is_a_new_entry(tmp_path, store):
    from evalkit.stats.indicators import compute_indicators

    ds = cache.load_dataset(write_dataset(tmp_path / "data"), cache=store)
    a = cache.compute_indicators(ds, municipality="Tønder", cache=store)
    b = cache.compute_indicators(ds, municipality="Albertslund", cache=store)
    assert (a["n_cases"], b["n_cases"]) == (2, 1)
    targets = tmp_path / "targets.yml"
    targets.write_text("default:\n  sc1: 0.5\n", encoding="utf-8")
    t1 = cache.compute_indicators(ds, municipality="Tønder", targets_file=targets, cache=store)
    targets.write_text("default:\n  sc1: 0.9\n", encoding="utf-8")  # same file, other bytes
    t2 = cache.compute_indicators(ds, municipality="Tønder", targets_file=targets, cache=store)
    assert (t1["sc1"]["target"], t2["sc1"]["target"]) == (0.5, 0.9)
    assert_same(t2, compute_indicators(ds, municipality="Tønder", targets_file=targets))
    r1 = cache.compute_indicators(ds, round_=1, cache=store)
    assert r1["selection"]["round"] == 1
    assert len(entries(store, "indicators")) == 5


# --------------------------------------------------------------------------- trust


def _stored_dataset(tmp_path, store) -> tuple[Path, Path]:
    folder = write_dataset(tmp_path / "data")
    cache.load_dataset(folder, cache=store)
    (entry,) = entries(store, "dataset")
    return folder, entry


def _loads_afresh(folder, store, monkeypatch) -> None:
    """The next load reads the files (the entry was not used) and gives the right dataset."""
    loads = []
    original = dataset_module.load_dataset
    monkeypatch.setattr(dataset_module, "load_dataset", lambda path: loads.append(path) or original(path))
    assert_same_dataset(original(folder), cache.load_dataset(folder, cache=store))
    assert loads == [folder]


def test_folder_and_entries_are_private(tmp_path, store):
    _, entry = _stored_dataset(tmp_path, store)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in entry.iterdir()} == {0o600}
    assert stat.S_IMODE((store.root / SECRET).stat().st_mode) == 0o600
    assert not list(store.root.glob(".tmp-*"))  # written atomically: nothing half-written left


@pytest.mark.parametrize("damage", ["truncated table", "altered table", "garbage metadata", "extra file",
                                    "missing file", "file readable by others", "table is a link",
                                    "entry is a link", "another owner", "another evalkit version"])
def test_an_entry_not_written_by_this_users_evalkit_is_removed_and_never_used(tmp_path, store, monkeypatch,
                                                                             capsys, damage):
    folder, entry = _stored_dataset(tmp_path, store)
    table = entry / "cases.parquet"
    outside = tmp_path / "outside"
    if damage == "truncated table":
        table.write_bytes(table.read_bytes()[:100])
    elif damage == "altered table":
        data = bytearray(table.read_bytes())
        data[len(data) // 2] ^= 0xFF
        table.write_bytes(bytes(data))
    elif damage == "garbage metadata":
        (entry / META).write_bytes(b"\x00not json")
    elif damage == "extra file":
        (entry / "extra.json").write_bytes(b"{}")
        os.chmod(entry / "extra.json", 0o600)
    elif damage == "missing file":
        (entry / "goals.parquet").unlink()
    elif damage == "file readable by others":
        os.chmod(table, 0o644)
    elif damage == "table is a link":
        shutil.copy(table, tmp_path / "elsewhere.parquet")
        table.unlink()
        table.symlink_to(tmp_path / "elsewhere.parquet")
    elif damage == "entry is a link":
        shutil.copytree(entry, outside)
        shutil.rmtree(entry)
        entry.symlink_to(outside, target_is_directory=True)
    elif damage == "another owner":
        store.usable()  # the folder was checked when this user opened it ...
        uid = os.getuid() + 1
        monkeypatch.setattr(os, "getuid", lambda: uid)  # ... the entry now belongs to someone else
    elif damage == "another evalkit version":
        monkeypatch.setattr(evalkit, "__version__", "0.0.0-other")
        # the same key (as if another version had written under it)
        monkeypatch.setattr(cache, "_key", lambda kind, h, p, real=cache._key: entry.name.split("-", 1)[1])
    if damage == "another owner":
        assert store.get("dataset", entry.name.split("-", 1)[1]) is None
        monkeypatch.undo()
    else:
        _loads_afresh(folder, store, monkeypatch)
    assert "ignored and removed" in capsys.readouterr().err
    if damage == "entry is a link":
        assert (outside / META).exists() and (outside / "cases.parquet").exists()  # only the link was removed
    if damage != "another owner":
        assert len(entries(store, "dataset")) == 1 and not entries(store, "dataset")[0].is_symlink()  # rewritten


def test_a_planted_entry_is_never_used(tmp_path, store, monkeypatch, capsys):
    """An entry written by evalkit under another cache's secret (another user, another machine, or
    crafted to look like one) fails the signature, even with the right name, owner and modes."""
    folder = write_dataset(tmp_path / "data")
    other = Cache(tmp_path / "other-cache")
    planted_ds = cache.load_dataset(folder, cache=other)
    (planted,) = entries(other, "dataset")
    meta = json.loads((planted / META).read_text())
    body = json.loads(meta["body"])
    body["info"]["name"] = "Planted"  # what a forger would change: same files, other meaning
    meta["body"] = json.dumps(body)
    (planted / META).write_text(json.dumps(meta))
    store.usable()
    shutil.copytree(planted, store.root / planted.name)
    assert cache.load_dataset(folder, cache=store).name == planted_ds.name == "Lille testdatasæt"
    assert "not signed by this user's evalkit" in capsys.readouterr().err


def test_a_loose_secret_key_or_cache_folder_is_not_trusted(tmp_path, monkeypatch, capsys):
    folder = write_dataset(tmp_path / "data")
    store = Cache(tmp_path / "cache")
    _stored_dataset(tmp_path / "a", store)
    os.chmod(store.root / SECRET, 0o644)  # someone else may have read it: a new key, old entries fail
    again = Cache(store.root)
    _loads_afresh(tmp_path / "a" / "data", again, monkeypatch)
    assert stat.S_IMODE((store.root / SECRET).stat().st_mode) == 0o600
    assert "metadata not signed by this user's evalkit" in capsys.readouterr().err  # the old entry: removed
    assert len(entries(again)) == 1  # and written again under the new key

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.undo()
    ds = cache.load_dataset(folder, cache=Cache(shared))  # works, without the cache
    assert ds.name == "Lille testdatasæt"
    assert sorted(os.listdir(shared)) == []
    assert "not used" in capsys.readouterr().err


def test_the_folder_keeps_to_its_size_bound_least_recently_used_first(tmp_path):
    store = Cache(tmp_path / "cache", max_bytes=10**6)
    keys = [f"{i:064x}" for i in range(4)]
    for i, key in enumerate(keys[:3]):
        store.put("t", key, {"a.json": b"x" * 1000}, {})
        os.utime(store.root / f"t-{key}", (1000 + i, 1000 + i))
        if i == 0:  # room for two entries and a half (an entry: its file and its metadata)
            ((_, size, _),) = store.entries()
            store.max_bytes = int(size * 2.5)
    assert [p.name for p in entries(store)] == [f"t-{k}" for k in keys[1:3]]  # the oldest went
    assert store.get("t", keys[1]) is not None  # used now: the newest
    store.put("t", keys[3], {"a.json": b"x" * 1000}, {})
    assert sorted(p.name for p in entries(store)) == sorted([f"t-{keys[1]}", f"t-{keys[3]}"])


# --------------------------------------------------------------------------- the command line


def test_cache_clear_and_no_cache(tmp_path):
    root = tmp_path / "cache"
    env = {"EVALKIT_CACHE_DIR": str(root)}
    folder = write_dataset(tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(main, ["validate", "--no-cache", str(folder)], env=env)
    assert result.exit_code == 0 and "Lille testdatasæt" in result.output
    assert not root.exists()
    for args in (["validate", str(folder)], ["indicators", str(folder), "--json"], ["series", str(folder), "--json"]):
        first = runner.invoke(main, args, env=env)
        second = runner.invoke(main, args, env=env)
        uncached = runner.invoke(main, [*args, "--no-cache"], env=env)
        assert first.exit_code == 0, first.output
        assert first.output == second.output == uncached.output
    store = Cache(root)
    assert sorted(p.name.split("-")[0] for p in entries(store)) == ["dataset", "indicators", "series"]
    (root / "notes.txt").write_text("not evalkit's")
    result = runner.invoke(main, ["cache", "clear"], env=env)
    assert result.exit_code == 0 and f"3 entries removed from {root}" in result.output
    assert entries(store) == [] and (root / "notes.txt").exists()  # only evalkit's entries are removed
    info = runner.invoke(main, ["cache", "info"], env=env)
    assert str(root) in info.output and "0 entries" in info.output


def test_the_default_folder_is_the_users_cache_folder(monkeypatch):
    import platformdirs

    monkeypatch.delenv("EVALKIT_CACHE_DIR", raising=False)
    assert cache_store.default_dir() == Path(platformdirs.user_cache_dir("evalkit", appauthor=False))
    monkeypatch.setenv("EVALKIT_CACHE_DIR", "/somewhere/else")
    assert cache_store.default_dir() == Path("/somewhere/else")


HEAVY = ("statsmodels", "matplotlib", "papermill", "nbconvert", "lifelines")


def _imported(args: list[str], env: dict) -> tuple[set[str], str]:
    """The top-level modules an `evalkit ARGS` process imports (python -X importtime), and its output."""
    code = "import sys; from evalkit.cli import main; main(sys.argv[1:])"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    assert "evalkit" in names and "click" in names  # the reader sees the imports
    return names, proc.stdout


@pytest.mark.parametrize("args", [["validate", "--no-cache", str(SAMPLE)], ["validate", str(SAMPLE)],
                                  ["capacity", "--citizens", "100", "--days", "2", "--weeks", "43",
                                   "--intensive-share", "30%"]])
def test_quick_commands_import_no_statistics_plots_or_notebooks(args, tmp_path):
    env = {"EVALKIT_CACHE_DIR": str(tmp_path / "cache")}
    if args[1:2] == [str(SAMPLE)]:
        _imported(args, env)  # fills the cache: the next run is the warm one
    names, out = _imported(args, env)
    assert out.strip()
    assert sorted(set(HEAVY) & names) == []
    if args[0] == "capacity":
        assert "pandas" not in names  # the calculator needs no data frames
