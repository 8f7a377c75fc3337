"""CSV in and out for contacts: records read incrementally from a byte stream, rows written one at a time.

Reading never holds the whole file: bytes are decoded incrementally and cut into records at line ends that
are outside quotes (a quoted field may contain newlines), then each record is parsed by the csv module.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from wadesk.errors import PayloadTooLarge, Unprocessable


class CsvTooLarge(PayloadTooLarge):
    code = "import_too_large"


@dataclass(frozen=True, slots=True)
class CsvRecord:
    line: int
    fields: list[str]


async def read_records(chunks: AsyncIterator[bytes], *, max_bytes: int) -> AsyncIterator[CsvRecord]:
    """The CSV records of a UTF-8 byte stream (a BOM is ignored), each with the line it starts on.

    Raises `CsvTooLarge` (413) past `max_bytes`, and 422 `csv_not_utf8` / `csv_malformed` for bytes that are
    not text or a quoted field that never ends.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    received = 0
    tail = ""  # text after the last line end, not yet a whole line
    record = ""  # the record being assembled across lines
    record_line = 1
    line = 1

    async def decoded() -> AsyncIterator[tuple[str, bool]]:
        nonlocal received
        async for chunk in chunks:
            received += len(chunk)
            if received > max_bytes:
                raise CsvTooLarge(
                    f"Contact imports are limited to {max_bytes} bytes; split the file and import each part.",
                    details={"maxBytes": max_bytes},
                )
            try:
                yield decoder.decode(chunk), False
            except UnicodeDecodeError as exc:
                raise _not_utf8() from exc
        try:
            yield decoder.decode(b"", final=True), True
        except UnicodeDecodeError as exc:
            raise _not_utf8() from exc

    async for text, final in decoded():
        lines = (tail + text).split("\n")
        tail = lines.pop()
        if final and tail:
            lines.append(tail)
            tail = ""
        for text_line in lines:
            if not record:
                record_line = line
            record += text_line + "\n"
            line += 1
            # An odd number of quotes so far means a quoted field continues on the next line.
            if record.count('"') % 2 == 0:
                fields = _parse(record)
                record = ""
                if fields is not None:
                    yield CsvRecord(record_line, fields)
    if record.strip():
        raise Unprocessable(
            f"The CSV file has a quoted field starting on line {record_line} that is never closed.",
            code="csv_malformed",
            details={"line": record_line},
        )


def _not_utf8() -> Unprocessable:
    return Unprocessable(
        "The file is not UTF-8 text; save the CSV as UTF-8 and try again.", code="csv_not_utf8"
    )


def _parse(record: str) -> list[str] | None:
    """The fields of one record; None for a blank line."""
    if not record.strip("\r\n"):
        return None
    try:
        return next(csv.reader(io.StringIO(record), strict=True))
    except (csv.Error, StopIteration) as exc:
        raise Unprocessable(f"The CSV file is malformed: {exc}.", code="csv_malformed") from exc


# Characters that make spreadsheet programs treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell value that a spreadsheet will not execute as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_line(values: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(list(values))
    return buffer.getvalue()
