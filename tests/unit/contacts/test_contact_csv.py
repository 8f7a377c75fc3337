"""Reading CSV from a byte stream in arbitrary chunks: records, their lines, and the file-level errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wadesk.contacts.csv_io import CsvTooLarge, read_records, safe_cell
from wadesk.errors import Unprocessable

SAMPLE = (
    'phone,name,note\r\n+15551230001,"Smith, Ana","line one\nline two"\n\n+15551230002,Bo,"said ""hi"""\n'
)


async def chunked(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for size in sizes:
        yield data[start : start + size]
        start += size
    yield data[start:]


async def records(data: bytes, sizes: list[int], max_bytes: int = 10_000) -> list[tuple[int, list[str]]]:
    return [
        (r.line, r.fields) for r in [r async for r in read_records(chunked(data, sizes), max_bytes=max_bytes)]
    ]


EXPECTED = [
    (1, ["phone", "name", "note"]),
    (2, ["+15551230001", "Smith, Ana", "line one\nline two"]),
    (5, ["+15551230002", "Bo", 'said "hi"']),
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=7), max_size=40))
async def test_records_do_not_depend_on_how_the_bytes_are_chunked(sizes: list[int]) -> None:
    data = ("\ufeff" + SAMPLE.replace("Bo", "Bø")).encode()
    expected = [*EXPECTED[:2], (5, ["+15551230002", "Bø", 'said "hi"'])]
    assert await records(data, sizes) == expected


async def test_a_file_over_the_limit_stops_reading() -> None:
    with pytest.raises(CsvTooLarge):
        await records(SAMPLE.encode() * 10, [50] * 20, max_bytes=100)


async def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(Unprocessable) as raised:
        await records(b"phone\n\xff\xfe\n", [])
    assert raised.value.code == "csv_not_utf8"


async def test_an_unclosed_quote_names_its_line() -> None:
    with pytest.raises(Unprocessable) as raised:
        await records(b'phone,name\n+1555,"open\nstill open\n', [])
    assert raised.value.code == "csv_malformed"
    assert raised.value.details == {"line": 2}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1 555", "'+1 555"),
        ("@x", "'@x"),
        ("plain", "plain"),
        (True, "true"),
        (None, ""),
    ],
)
def test_cells_that_spreadsheets_would_run_are_guarded(value: object, cell: str) -> None:
    assert safe_cell(value) == cell
