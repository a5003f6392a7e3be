"""Municipality names: one canonical key per municipality.

Two spellings name the same municipality when they agree after Unicode
normalisation (NFKC), case folding, æ/ø/å written as ae/oe/aa, accents dropped
and spaces and punctuation collapsed: "Tønder", "TØNDER", "Toender" and
"tønder " all have the key "toender". The key is file-name-safe ASCII and is
also the report's file name (`runner.plan.slug`), so two municipalities can never
share a report.

Loading never guesses which spelling is right: a table that spells one key in
more than one way is refused (`refuse_spelling_variants`). Every option that
names a municipality (`--municipality`, a targets file) matches through
`municipality_key`, so "toender" finds "Tønder" in every command.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

from evalkit.errors import InputError

if TYPE_CHECKING:  # the runner imports this module before pandas (its kernels start first)
    import pandas as pd

# Longest municipality or team name accepted: no Danish municipality comes near
# it, and a longer text would make file names and figure labels unusable.
MAX_NAME_LENGTH = 100

_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})


def municipality_key(name) -> str:
    """The canonical key of a municipality name: lowercase ASCII letters and
    digits joined by '-' ('' when the name has none, e.g. only punctuation)."""
    text = unicodedata.normalize("NFKC", str(name)).casefold().translate(_DANISH)
    # after decomposition a letter with an extra mark (ǿ) shows its base letter (ø)
    text = unicodedata.normalize("NFKD", text).translate(_DANISH)
    text = text.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def find_municipality(known: Iterable[str], wanted: str, option: str = "--municipality") -> str:
    """The spelling in `known` (the data's names) that has the key of `wanted`.

    InputError naming `option` and the known names when none does (or, for
    data that was never loaded, when several do).
    """
    names = sorted({str(n) for n in known})
    key = municipality_key(wanted)
    matches = [n for n in names if key and municipality_key(n) == key]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(option, f"municipality '{wanted}' matches more than one name ({', '.join(matches)})")
    raise InputError(option, f"unknown municipality '{wanted}' (known: {', '.join(names)})")


def refuse_spelling_variants(values: pd.Series, file: str, column: str = "municipality") -> None:
    """InputError when one municipality key is written in more than one way, or a
    name has no key at all (no letter or digit). The rows named are the first row
    of the most common spelling and every row of the other spellings."""
    present = values.dropna()
    if present.empty:
        return
    spellings = present.astype(str)
    keys = spellings.map({s: municipality_key(s) for s in spellings.unique()})
    no_key = keys == ""
    if no_key.any():
        raise InputError(file, f"{column} has no letter or digit (a-z, æ, ø, å, 0-9)", present.index[no_key])
    per_key = spellings.groupby(keys).nunique()
    clashing = per_key.index[per_key > 1]
    if clashing.empty:
        return
    rows = []
    for key in clashing:
        group = spellings[keys == key]
        counts = group.value_counts(sort=False)
        usual = counts.index[counts.to_numpy().argmax()]  # ties: the spelling met first
        rows.append(group.index[group == usual][0])
        rows.extend(group.index[group != usual])
    raise InputError(
        file,
        f"one {column} written in more than one way (names that differ only in case, accents, "
        "æ/ø/å against ae/oe/aa, spaces or punctuation are one name; write it one way)",
        rows,
    )


def refuse_long_names(values: pd.Series, file: str, column: str) -> None:
    """InputError naming the rows whose text is longer than MAX_NAME_LENGTH characters."""
    long = values.dropna().astype(str).str.len() > MAX_NAME_LENGTH
    if long.any():
        raise InputError(file, f"{column} longer than {MAX_NAME_LENGTH} characters", long.index[long])
