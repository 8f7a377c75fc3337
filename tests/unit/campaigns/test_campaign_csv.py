"""Reading an uploaded audience: header, phone column, delimiters, invalid numbers, large files streamed."""

from __future__ import annotations

import io

import pytest

from wadesk.campaigns.csv_audience import CsvAudience
from wadesk.errors import Unprocessable


def read(text: str, phone_column: str | None = None) -> tuple[CsvAudience, list]:  # type: ignore[type-arg]
    audience = CsvAudience(io.BytesIO(text.encode("utf-8-sig")), phone_column)
    return audience, list(audience.rows())


def test_the_phone_column_is_found_by_name_and_the_others_are_parameters() -> None:
    audience, rows = read("Name;Mobile;Order\nAna;+1 555 710 0001;#1\nBruno;0015557100002;#2\n")
    assert audience.phone_column == "Mobile"
    assert audience.parameter_columns == ["Name", "Order"]
    assert [(r.line, r.wa_id, r.values) for r in rows] == [
        (2, "15557100001", {"Name": "Ana", "Order": "#1"}),
        (3, "15557100002", {"Name": "Bruno", "Order": "#2"}),
    ]


def test_invalid_numbers_are_reported_with_their_line_and_blank_lines_skipped() -> None:
    _, rows = read('phone,note\n+15557100001,"a, quoted\\nnote"\n\nhello,x\n')
    assert [r.wa_id for r in rows] == ["15557100001", None]
    assert rows[1].line == 4
    assert rows[1].error is not None
    assert "is not a phone number" in rows[1].error


def test_an_explicit_phone_column_must_exist() -> None:
    with pytest.raises(Unprocessable) as raised:
        read("a,b\n1,2\n", phone_column="phone")
    assert raised.value.code == "csv_phone_column_missing"
    with pytest.raises(Unprocessable):
        read("")
    with pytest.raises(Unprocessable):
        read("phone,phone\n1,2\n")


def test_a_file_larger_than_the_sniffed_sample_is_read_whole() -> None:
    lines = ["phone,code"] + [f"+1555{7000000 + n},{'x' * 40}{n}" for n in range(2000)]
    _, rows = read("\n".join(lines) + "\n")
    assert len(rows) == 2000
    assert rows[-1].wa_id == "15557001999"
    assert rows[-1].values["code"].endswith("1999")
