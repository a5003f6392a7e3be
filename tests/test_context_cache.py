"""The cached report context and linked decision (evalkit.runner.context_cache.report_context; issue 12).

A context from the cache must equal the one built from the data in every field (frames exactly, with
their index and dtypes; survival summaries; the linked decision), so a report made from it is the same
page; a changed input file, evalkit source file or threshold is a new entry; changed targets and another
folder name are put on the stored context (equal to a context built with them); a damaged entry is
ignored, removed and rebuilt.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_same, write_dataset

import evalkit
from evalkit.report import context as context_module
from evalkit.report import grids, linked
from evalkit.report import suppression as sup
from evalkit.report.grids import linked_decision
from evalkit.runner import cache_store
from evalkit.runner import context_cache as cache
from evalkit.runner.cache_store import Cache

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def entries(store: Cache, kind: str) -> list[Path]:
    return sorted(p for p in store.root.iterdir() if cache_store._ENTRY.fullmatch(p.name)
                  and p.name.startswith(f"{kind}-"))


@pytest.fixture(scope="module")
def sample_built():
    """The sample's context built from the data, with its linked decision at the default threshold."""
    from evalkit.data.dataset import load_dataset

    ds = load_dataset(SAMPLE)
    ctx = context_module.build_context(ds)
    linked_decision(ctx, sup.THRESHOLD)
    return ds, ctx


def refuse_building(monkeypatch):
    """Building a context, searching a decision or suppressing a grid fails: what still comes, comes
    from the cache."""
    monkeypatch.setattr(context_module, "build_context", lambda *a, **k: pytest.fail("context built"))
    monkeypatch.setattr(linked.LinkedCounts, "protect", lambda *a, **k: pytest.fail("decision searched"))
    monkeypatch.setattr(sup, "suppress_counts", lambda *a, **k: pytest.fail("grid suppressed"))


def test_cached_context_equals_the_built_one(sample_built, tmp_path, monkeypatch):
    ds, expected = sample_built
    store = Cache(tmp_path / "cache")
    first = cache.report_context(ds, cache=store)  # built and stored
    assert len(entries(store, "context")) == 1
    refuse_building(monkeypatch)
    second = cache.report_context(ds, cache=store)  # read from the cache only
    assert second is not first
    for got in (first, second):
        assert_same(expected.meta.__class__(**{**dataclasses.asdict(expected.meta), "built": ""}),
                    got.meta.__class__(**{**dataclasses.asdict(got.meta), "built": ""}), "meta")
        for f in dataclasses.fields(expected):
            if f.name != "meta":
                assert_same(getattr(expected, f.name), getattr(got, f.name), f.name)
    # the frames of the units keep their own row labels (a selection of the project's rows)
    unit = second.units[(second.municipalities[0], None)]
    assert not isinstance(unit.progression.index, pd.RangeIndex) or unit.progression.empty
    assert second.meta.built == first.meta.built  # when the stored context was computed
    # the costly masks come with it: the status grid (some 250 LP solves on national data) is not worked out again
    status, mask = grids.status_grid(second)
    expected_status, expected_mask = grids.status_grid(expected)
    pd.testing.assert_frame_equal(status, expected_status)
    pd.testing.assert_frame_equal(mask, expected_mask)


def test_a_changed_parameter_input_or_source_is_a_new_context(tmp_path, monkeypatch):
    from evalkit.data.dataset import load_dataset

    ds = load_dataset(write_dataset(tmp_path / "data"))
    store = Cache(tmp_path / "cache")
    cache.report_context(ds, cache=store)
    with monkeypatch.context() as patched:  # changed targets compute nothing again (`context.with_targets`)
        refuse_building(patched)
        targets = tmp_path / "mål.yml"
        targets.write_text("default:\n  sc1: 0.5\n", encoding="utf-8")
        a = cache.report_context(ds, targets_file=targets, cache=store)
        targets.write_text("default:\n  sc1: 0.9\n", encoding="utf-8")  # the same file, other bytes
        b = cache.report_context(ds, targets_file=targets, cache=store)
        assert (a.targets["default"]["sc1"], b.targets["default"]["sc1"]) == (0.5, 0.9)
        assert (a.indicators["project"]["sc1"]["target"], b.indicators["project"]["sc1"]["target"]) == (0.5, 0.9)
        assert b.meta.targets_file == "mål.yml"
        other_name = tmp_path / "andre-mål.yml"
        shutil.copy(targets, other_name)
        assert cache.report_context(ds, targets_file=other_name, cache=store).meta.targets_file == "andre-mål.yml"
        moved = tmp_path / "flyttet"  # the same files in another folder: the footer names the new one
        shutil.copytree(tmp_path / "data", moved)
        elsewhere = cache.report_context(load_dataset(moved), cache=store)
        assert (elsewhere.meta.folder, a.meta.folder) == ("flyttet", "data")
    assert len(entries(store, "context")) == 1
    three = cache.report_context(ds, threshold=3, cache=store)
    assert 3 in three.linked and sup.THRESHOLD not in three.linked
    assert len(entries(store, "context")) == 2

    changed = write_dataset(tmp_path / "other")  # a changed input file: its own context
    (changed / "cases.csv").write_text((changed / "cases.csv").read_text(encoding="utf-8").replace(
        "C4,København,2,W3", "C4,København,2,W9"), encoding="utf-8")
    other = load_dataset(changed)
    assert other.input_hash != ds.input_hash
    assert cache.report_context(other, cache=store).meta.input_hash == other.input_hash
    assert len(entries(store, "context")) == 3

    real = evalkit.code_hash
    monkeypatch.setattr(evalkit, "code_hash", lambda *a, **k: "changed-" + real(*a, **k))
    cache.report_context(ds, cache=store)  # a changed evalkit source: a new entry
    assert len(entries(store, "context")) == 4


def test_a_damaged_context_entry_is_removed_and_rebuilt(tmp_path, capsys):
    from evalkit.data.dataset import load_dataset

    ds = load_dataset(write_dataset(tmp_path / "data"))
    expected = context_module.build_context(ds)
    linked_decision(expected, sup.THRESHOLD)
    store = Cache(tmp_path / "cache")
    cache.report_context(ds, cache=store)
    (entry,) = entries(store, "context")
    frames = sorted(entry.glob("frames-*.parquet"))
    assert len(frames) >= 2  # frames of the same columns share a file
    frames[0].write_bytes(frames[0].read_bytes()[:-10])  # truncated
    again = cache.report_context(ds, cache=store)
    assert "ignored" in capsys.readouterr().err
    assert_same(expected.linked, again.linked, "linked")
    assert_same(expected.units, again.units, "units")
    assert len(entries(store, "context")) == 1  # the damaged one removed, the rebuilt one stored


def test_a_context_with_other_targets_equals_one_built_with_them(sample_built, tmp_path):
    """`context.with_targets` (what the cache does for a --targets file) against a context computed
    with the targets from the start: equal in every field, the quarterly series' verdicts included."""
    from evalkit.data.dataset import load_dataset

    ds, plain = sample_built
    targets = tmp_path / "mål.yml"
    # a default, a round's and a municipality's target (spelt without ø), each of them deciding verdicts
    targets.write_text("default:\n  sc1: 0.25\n  sc2: 0.6\n  sc3: 0.3\nrounds:\n  2: {sc1: 0.5, sc3: 0.1}\n"
                       "municipalities:\n  Toender: {sc2: 0.95, sc1: 0.05}\n", encoding="utf-8")
    expected = context_module.build_context(load_dataset(SAMPLE), targets_file=targets)
    got = context_module.with_targets(plain, ds, targets)
    for f in dataclasses.fields(expected):
        if f.name not in ("meta", "linked", "masks"):  # masks: worked out when asked
            assert_same(getattr(expected, f.name), getattr(got, f.name), f.name)
    assert got.meta.targets_file == expected.meta.targets_file == "mål.yml"
    assert got.linked == plain.linked
    verdicts = {(m, k): expected.indicators["municipalities"][m][k]["met"] for m in expected.municipalities
                for k in ("sc1", "sc2", "sc3")}
    assert verdicts != {(m, k): plain.indicators["municipalities"][m][k]["met"] for m, k in verdicts}
    assert expected.indicators["municipalities"]["Tønder"]["sc2"]["target"] == 0.95
    back = context_module.with_targets(got, ds, None)  # and back to the shipped targets
    for name in ("indicators", "units", "series", "targets"):
        assert_same(getattr(plain, name), getattr(back, name), name)


def test_a_notebook_run_by_hand_takes_its_context_from_the_users_cache(sample_built, tmp_path, monkeypatch):
    """A project lead who runs a notebook again (or another municipality's) waits once: the first cell
    (`notebook_context`) builds the dataset's context and stores it, then reads it; the same context as
    one built from the data, with the targets file's targets and its name."""
    from evalkit.runner.notebook import notebook_context

    def unstamped(ctx):  # (meta.built: when it was computed)
        return dataclasses.replace(ctx, meta=dataclasses.replace(ctx.meta, built=""))

    expected = unstamped(sample_built[1])
    monkeypatch.setenv(cache_store.CACHE_ENV, str(tmp_path / "cache"))
    assert_same(unstamped(notebook_context(SAMPLE)), expected, "built by hand")
    assert len(entries(Cache(), "context")) == 1
    refuse_building(monkeypatch)
    assert_same(unstamped(notebook_context(SAMPLE)), expected, "again")
    targets = tmp_path / "mine.yml"
    targets.write_text("default: {sc1: 0.2}\n", encoding="utf-8")
    mine = notebook_context(SAMPLE, targets_file=targets)
    assert mine.meta.targets_file == "mine.yml" and mine.indicators["project"]["sc1"]["target"] == 0.2
    with pytest.raises(ValueError, match="dataset folder"):
        notebook_context()
