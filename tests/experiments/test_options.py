"""Backend options: a bad value is refused with the range it had to be in."""

import pytest

from lawloop.experiments._options import parse_float


@pytest.mark.parametrize(
    ("bounds", "raw", "message"),
    [
        ({"minimum": 0.0}, "-1", "expected a number >= 0, got '-1'"),
        ({"maximum": 1.0}, "2", "expected a number <= 1, got '2'"),
        (
            {"minimum": 0.0, "maximum": 1.0},
            "-1",
            r"expected a number in \[0, 1\], got '-1'",
        ),
        ({}, "inf", "expected a finite number, got 'inf'"),
    ],
)
def test_an_out_of_range_option_names_the_range(bounds, raw, message):
    with pytest.raises(ValueError, match=message):
        parse_float(**bounds)(raw)


def test_an_option_in_range_is_its_number():
    assert parse_float(minimum=0.0, maximum=1.0)("0.5") == 0.5
