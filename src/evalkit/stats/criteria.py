"""Success criteria 1 (share into flexjob), Wilson intervals and targets (SPEC section 3).

Targets live in YAML: the shipped `targets.yml` next to this module, merged with
an optional user file of the same shape. The most specific value wins:
municipality over round over default.
"""

from __future__ import annotations

import difflib
import math
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from evalkit.data.names import municipality_key
from evalkit.errors import InputError
from evalkit.spec import Z
from evalkit.stats.status import valid_flexjob

# Whether a higher (">=") or lower ("<=") value meets the target.
TARGET_DIRECTION = {"sc1": ">=", "sc2": "<=", "sc3": ">="}
_SECTIONS = ("default", "rounds", "municipalities")


def wilson_interval(k: int, n: int, z: float = Z) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes out of n; (None, None) when n = 0.

    centre = (k + z^2/2) / (n + z^2),
    half   = z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4).
    """
    if n == 0:
        return None, None
    z2 = z * z
    centre = (k + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(k: int, n: int) -> dict:
    """{n, k, value, ci_low, ci_high}: a share with its Wilson 95 % interval."""
    low, high = wilson_interval(k, n)
    return {"n": int(n), "k": int(k), "value": k / n if n else None, "ci_low": low, "ci_high": high}


def sc1_flags(cases: pd.DataFrame, extraction_date: pd.Timestamp) -> pd.DataFrame:
    """Per case: `member` (target group ledighedsydelse) and `event` (member with a valid flexjob)."""
    member = cases["target_group"] == "ledighedsydelse"
    return pd.DataFrame({"member": member, "event": member & valid_flexjob(cases, extraction_date)})


def sc1(cases: pd.DataFrame, extraction_date: pd.Timestamp) -> dict:
    """Success criterion 1: among `ledighedsydelse` cases, the share with a valid flexjob."""
    flags = sc1_flags(cases, extraction_date)
    return proportion(int(flags["event"].sum()), int(flags["member"].sum()))


# --- targets -----------------------------------------------------------------


def _read_targets_file(path) -> dict:
    """Read and check one targets YAML; returns {default, rounds, municipalities}."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError:
        raise InputError(name, "targets file cannot be read") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise InputError(name, "targets file is not valid YAML") from None
    if not isinstance(raw, dict):
        raise InputError(name, "targets file must be a mapping with default, rounds, municipalities")
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise InputError(name, f"unknown section(s) {sorted(map(str, unknown))}; allowed: {list(_SECTIONS)}")

    def values(block, where):
        block = block or {}
        if not isinstance(block, dict):
            raise InputError(name, f"{where} must be a mapping of criterion: target")
        out = {}
        for key, value in block.items():
            if key not in TARGET_DIRECTION:
                raise InputError(name, f"{where}: unknown criterion {key!r}; allowed: {list(TARGET_DIRECTION)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise InputError(name, f"{where}.{key}: target must be a share between 0 and 1")
            out[key] = float(value)
        return out

    rounds = {}
    for r, block in (raw.get("rounds") or {}).items():
        try:
            rounds[int(r)] = values(block, f"rounds.{r}")
        except (TypeError, ValueError):
            raise InputError(name, f"rounds: {r!r} is not a round number") from None
    municipalities = {str(m): values(block, f"municipalities.{m}") for m, block in (raw.get("municipalities") or {}).items()}
    keys = [municipality_key(m) for m in municipalities]
    if len(set(keys)) != len(keys) or "" in keys:
        raise InputError(name, "municipalities: one municipality is written in more than one way (or has no letters)")
    return {"default": values(raw.get("default"), "default"), "rounds": rounds, "municipalities": municipalities}


def load_targets(path=None) -> dict:
    """The shipped targets, overridden key by key by the user's YAML at `path` (if given).

    Shape (both files): {default: {sc1, sc2, sc3}, rounds: {n: {...}}, municipalities: {name: {...}}}.
    """
    shipped = resources.files("evalkit.stats").joinpath("targets.yml")
    with resources.as_file(shipped) as shipped_path:
        targets = _read_targets_file(shipped_path)
    if path is not None:
        user = _read_targets_file(path)
        targets["default"].update(user["default"])
        for k, block in user["rounds"].items():
            targets["rounds"].setdefault(k, {}).update(block)
        shipped_names = {municipality_key(m): m for m in targets["municipalities"]}
        for k, block in user["municipalities"].items():
            targets["municipalities"].setdefault(shipped_names.get(municipality_key(k), k), {}).update(block)
    return targets


def targets_without_cases(ds, path) -> str | None:
    """A warning naming the entries of the targets file at `path` whose municipality or round has no
    cases in `ds` (None when every entry is used): a misspelt name would else leave its municipality
    on the default targets without a word. Not an error: one targets file may serve several datasets."""
    if path is None:
        return None
    user = _read_targets_file(path)
    names = sorted(str(m) for m in ds.cases["municipality"].unique())
    known = {municipality_key(m): m for m in names}
    rounds = {int(r) for r in ds.cases["round"].unique()}
    unused = []
    for m in user["municipalities"]:
        if municipality_key(m) not in known:
            close = difflib.get_close_matches(municipality_key(m), known, n=1)
            unused.append(f"municipalities.{m}" + (f" (did you mean {known[close[0]]}?)" if close else ""))
    unused += [f"rounds.{r}" for r in user["rounds"] if r not in rounds]
    if not unused:
        return None
    return (f"{path}: no cases in the data for {', '.join(unused)}; "
            "these targets are not used (the default or round targets apply)")


def target_for(targets: dict, key: str, round_: int | None = None, municipality: str | None = None) -> float | None:
    """The target of criterion `key`: municipality's, else round's, else the default (None if unset).

    The municipality is matched by its canonical key (evalkit.data.names), so a targets
    file may write "Toender" for "Tønder"."""
    if municipality is not None:
        wanted = municipality_key(municipality)
        for name, block in targets["municipalities"].items():
            if municipality_key(name) == wanted and key in block:
                return block[key]
    if round_ is not None and key in targets["rounds"].get(int(round_), {}):
        return targets["rounds"][int(round_)][key]
    return targets["default"].get(key)


def target_met(key: str, value: float | None, target: float | None) -> bool | None:
    """value >= target (value <= target for sc2, lower is better); None when either is missing."""
    if value is None or target is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value <= target) if TARGET_DIRECTION[key] == "<=" else bool(value >= target)


def share_difference(k1: int, n1: int, k2: int, n2: int) -> dict:
    """Difference of two shares k2/n2 - k1/n1 with Newcombe's hybrid score 95 % interval (Wilson based)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if not n1 or not n2:
        return {"diff": None, "ci_low": None, "ci_high": None}
    low, high = confint_proportions_2indep(k2, n2, k1, n1, method="newcomb", compare="diff", alpha=0.05)
    return {"diff": k2 / n2 - k1 / n1, "ci_low": float(low), "ci_high": float(high)}
