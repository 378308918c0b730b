"""seqselect.formatting: the number formatter shared by the CLI, report and verify."""

import math

from seqselect.formatting import format_compact, format_number


def test_format_number():
    assert format_number(12345) == "12,345"
    assert format_number(0.977777) == "0.9778"
    assert format_number(None) == "-"
    assert format_number(None, missing="n/a") == "n/a"
    assert format_number(True) == "yes"
    assert format_number(math.nan) == "-"
    assert format_number(math.inf) == "inf"
    assert format_number(123456.7) == "123,457"
    assert format_number("tcn") == "tcn"


def test_format_compact_fits_five_characters():
    assert format_compact(13495.2) == "13,495"
    assert format_compact(138.46) == "138"
    assert format_compact(13.84) == "13.8"
    assert format_compact(4.789) == "4.79"
    assert format_compact(0.3991) == "0.399"
    assert format_compact(None) == "-"
