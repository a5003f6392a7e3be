"""Capacity calculator (SPEC section 4) against the source guide's worked example."""

import json

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import InputError
from evalkit.report.text import format_capacity
from evalkit.stats.capacity import capacity_tables, parse_share, round_half_up, staff_needed


def test_worked_example_of_the_source_guide():
    # N = 330, D = 3, W = 44, p = 30 %  ->  round(330 x 0.3) = 99 intensified, 231 at the legal minimum.
    t = capacity_tables(330, 3, 44, 0.3)
    assert t["inputs"] == {"citizens": 330, "days": 3, "weeks": 44, "intensive_share": 0.3}
    # everybody at 4 / 6 / 12 a year: 330 x 4, 330 x 6, 330 x 12
    assert t["everybody"] == {"4": 1320, "6": 1980, "12": 3960}
    # twice a month: 99 x 24 = 2,376 + 231 x 4 = 924 -> 3,300
    assert t["intensified"]["24"] == {"intensive": 2376, "regular": 924, "total": 3300}
    # monthly: 99 x 12 = 1,188 + 924 = 2,112
    assert t["intensified"]["12"] == {"intensive": 1188, "regular": 924, "total": 2112}
    # every second month: 99 x 6 = 594 + 924 = 1,518
    assert t["intensified"]["6"] == {"intensive": 594, "regular": 924, "total": 1518}
    # one full-time staff at 1 a day: 1 x 3 x 44 x 1 = 132; 5 staff at 5 a day: 5 x 3 x 44 x 5 = 3,300
    assert t["staff_table"]["1"]["1"] == 132
    assert t["staff_table"]["5"]["5"] == 3300


def test_staff_table_every_cell_and_whole_numbers_are_ints():
    t = capacity_tables(330, 3, 44, 0.3)
    assert list(t["staff_table"]) == [str(k) for k in range(1, 10)]
    for k in range(1, 10):
        assert list(t["staff_table"][str(k)]) == [str(c) for c in range(1, 9)]
        for c in range(1, 9):
            value = t["staff_table"][str(k)][str(c)]
            assert value == c * 3 * 44 * k and isinstance(value, int)
    assert all(isinstance(v, int) for v in t["everybody"].values())


def test_fractional_days_give_exact_decimals():
    # 2.5 days x 43.5 weeks x 1 x 1 = 108.75 exactly; 3 staff at 2 a day: 2 x 2.5 x 43.5 x 3 = 652.5
    t = capacity_tables(10, 2.5, 43.5, 0.1)
    assert t["staff_table"]["1"]["1"] == 108.75
    assert t["staff_table"]["3"]["2"] == 652.5
    assert t["inputs"]["days"] == 2.5


def test_rounding_halves_up():
    # N = 5, p = 0.5: 2.5 intensified citizens round up to 3 (Python's round(2.5) is 2)
    assert round(2.5) == 2 and round_half_up(2.5) == 3
    t = capacity_tables(5, 3, 44, 0.5)
    assert t["intensified"]["24"] == {"intensive": 3 * 24, "regular": 2 * 4, "total": 80}
    # N = 15, p = 0.1: 1.5 -> 2 (binary 15 x 0.1 is 1.5000000000000002, decimal arithmetic must not care)
    assert capacity_tables(15, 3, 44, 0.1)["intensified"]["12"]["intensive"] == 2 * 12
    # N = 25, p = 0.3: 7.5 -> 8
    assert capacity_tables(25, 3, 44, 0.3)["intensified"]["6"] == {"intensive": 48, "regular": 68, "total": 116}


@pytest.mark.parametrize("text, expected", [
    ("0.3", 0.3), ("30%", 0.3), ("30 %", 0.3), ("0,3", 0.3), ("12.5%", 0.125), ("1", 1.0), ("0", 0.0), ("100%", 1.0),
])
def test_parse_share_accepts_fraction_or_percentage(text, expected):
    assert parse_share(text) == expected


@pytest.mark.parametrize("text", ["30", "1.5", "-0.1", "abc", "", "120%", "0.3.1", "nan"])
def test_parse_share_refuses_bad_input(text):
    with pytest.raises(InputError) as err:
        parse_share(text)
    assert err.value.file == "--intensive-share"


def test_staff_needed():
    # 3,300 conversations at 5 a day, 3 days, 44 weeks: 3300 / 660 = 5 staff
    assert staff_needed(3300, 5, 3, 44) == 5
    # 2,112 at 2 a day: 2112 / 264 = 8
    assert staff_needed(2112, 2, 3, 44) == 8
    assert staff_needed(1518, 3, 3, 44) == pytest.approx(1518 / 396)


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError):
        capacity_tables(-1, 3, 44, 0.3)
    with pytest.raises(InputError):
        capacity_tables(10, 0, 44, 0.3)


def test_format_capacity_shows_the_numbers_in_danish():
    text = format_capacity(capacity_tables(330, 3, 44, 0.3))
    for number in ("1.320", "1.980", "3.960", "2.376", "924", "3.300", "2.112", "1.518", "132", "99 borgere"):
        assert number in text


def test_cli_capacity_json_fraction_and_percentage_agree():
    runner = CliRunner()
    args = ["capacity", "--citizens", "330", "--days", "3", "--weeks", "44", "--json", "--intensive-share"]
    pct, frac = runner.invoke(main, [*args, "30%"]), runner.invoke(main, [*args, "0.3"])
    assert pct.exit_code == 0 and frac.exit_code == 0
    assert pct.output == frac.output
    t = json.loads(pct.output)
    assert set(t) == {"inputs", "everybody", "intensified", "staff_table"}
    assert t["intensified"]["24"]["total"] == 3300 and t["staff_table"]["5"]["5"] == 3300


def test_cli_capacity_bad_share_exits_2():
    result = CliRunner().invoke(main, ["capacity", "--citizens", "330", "--days", "3", "--weeks", "44",
                                       "--intensive-share", "30"])
    assert result.exit_code == 2
    assert "--intensive-share" in result.output
