"""dataset.yml: name, extraction date E and optional rounds, read with a strict YAML loader (no aliases, no tags)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import pandas as pd
import yaml

from evalkit.data.convert import _parse_text_dates
from evalkit.data.readers import read_input
from evalkit.data.schema import DATE_FORMATS
from evalkit.errors import InputError

YML_MAX_BYTES = 64 * 1024  # dataset.yml is a few lines; a bigger file is not one
YML_KEYS = ("name", "extraction_date", "rounds")
NAME_MAX_LENGTH = 200
EARLIEST_DATE = dt.date(2000, 1, 1)  # no dataset.yml date before this is plausible
LATEST_ROUND_DATE = dt.date(2099, 12, 31)


class _RefusedYaml(yaml.YAMLError):
    """YAML that parses but that dataset.yml does not allow."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (a dozen lines of them can
    expand to gigabytes) and a key given twice in one mapping (which one counts
    would be a guess)."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _RefusedYaml(f"anchors and aliases (& and *) are not allowed (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):
            raise _RefusedYaml(f"a key is given twice in one mapping (line {node.start_mark.line + 1})")
        return mapping


def _yml_date(value, yml: str, key: str, latest: dt.date) -> pd.Timestamp:
    """A date from dataset.yml (a YAML date or text in one of DATE_FORMATS) between
    EARLIEST_DATE and `latest`; a time or a time zone is refused, not dropped."""
    if isinstance(value, dt.datetime):
        raise InputError(yml, f"{key} has a time or time zone; give a date only (YYYY-MM-DD)")
    day = None
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        parsed = _parse_text_dates(pd.Series([value.strip()], dtype=object), DATE_FORMATS).iloc[0]
        day = None if pd.isna(parsed) else parsed.date()
    if day is None:
        raise InputError(yml, f"{key} is not a date (YYYY-MM-DD)")
    if not EARLIEST_DATE <= day <= latest:
        raise InputError(yml, f"{key} is not a plausible date (expected {EARLIEST_DATE} to {latest})")
    return pd.Timestamp(day)


def _yml_name(value, yml: str) -> str:
    """The dataset's name: one line of text of at most NAME_MAX_LENGTH characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(yml, "missing name")
    if not isinstance(value, str):
        raise InputError(yml, "name must be text (put it in quotes)")
    name = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InputError(yml, "name must be one line of text (no line breaks or control characters)")
    if len(name) > NAME_MAX_LENGTH:
        raise InputError(yml, f"name longer than {NAME_MAX_LENGTH} characters")
    return name


def _yml_rounds(raw, yml: str) -> dict[int, tuple[pd.Timestamp, pd.Timestamp]]:
    """rounds: {round number (an integer): {start: date, end: date}} with start <= end."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(yml, "rounds must map a round number to {start, end}")
    rounds = {}
    for key, span in raw.items():
        if isinstance(key, bool) or not isinstance(key, int):
            raise InputError(yml, "rounds: a round number is not an integer")
        if not isinstance(span, dict) or set(span) != {"start", "end"}:
            raise InputError(yml, f"rounds: round {key} needs exactly start and end")
        start = _yml_date(span["start"], yml, f"rounds {key} start", LATEST_ROUND_DATE)
        end = _yml_date(span["end"], yml, f"rounds {key} end", LATEST_ROUND_DATE)
        if end < start:
            raise InputError(yml, f"rounds: round {key} ends before it starts")
        rounds[key] = (start, end)
    return rounds


def _read_yml(folder: Path) -> tuple[bytes, str, pd.Timestamp, dict]:
    """dataset.yml: its bytes, name, extraction_date and rounds {int: (start, end)}.

    Read with `_StrictLoader` (no aliases, no repeated keys), at most
    YML_MAX_BYTES, and checked fully: only the keys of YML_KEYS, each of its type,
    extraction_date a plain date from EARLIEST_DATE to a year from today.
    """
    path = folder / "dataset.yml"
    yml = str(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(yml, "missing dataset.yml")
    data = read_input(path, limit=YML_MAX_BYTES)
    try:
        meta = yaml.load(data.decode("utf-8-sig"), Loader=_StrictLoader)  # a SafeLoader subclass
    except _RefusedYaml as err:
        raise InputError(yml, str(err)) from None
    except RecursionError:
        raise InputError(yml, "not readable as YAML (nested too deeply)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise InputError(yml, f"not readable as UTF-8 YAML ({type(err).__name__}{where})") from None
    except (ValueError, OverflowError):  # PyYAML's constructors, e.g. for 2021-02-30
        raise InputError(yml, "not readable as YAML (a date that does not exist, or a value out of range)") from None
    if not isinstance(meta, dict):
        raise InputError(yml, "must be a mapping with name and extraction_date")
    unknown = [k for k in meta if k not in YML_KEYS]
    if unknown:
        key = unknown[0]
        shown = f" '{key}'" if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][\w-]{0,39}", key) else ""
        raise InputError(yml, f"unknown key{shown} (allowed: {', '.join(YML_KEYS)})")
    if meta.get("extraction_date") is None:
        raise InputError(yml, "missing extraction_date")
    name = _yml_name(meta.get("name"), yml)
    latest = dt.date.today() + dt.timedelta(days=366)
    extraction_date = _yml_date(meta["extraction_date"], yml, "extraction_date", latest)
    return data, name, extraction_date, _yml_rounds(meta.get("rounds"), yml)
