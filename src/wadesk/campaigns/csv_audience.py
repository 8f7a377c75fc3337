"""Reading an uploaded audience CSV as a stream: a header row, one recipient per row, a phone column and any
number of parameter columns. Rows are yielded one at a time, so a large file never sits in memory."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from wadesk.contacts.service import normalize_wa_id
from wadesk.errors import AppError, Unprocessable

PHONE_COLUMN_NAMES = (
    "phone",
    "phone_number",
    "phonenumber",
    "number",
    "wa_id",
    "waid",
    "to",
    "mobile",
    "whatsapp",
)
MAX_COLUMNS = 50
MAX_CELL_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    wa_id: str | None
    values: dict[str, str]
    error: str | None = None
    raw_phone: str = ""


class CsvAudience:
    """A parsed header and an iterator over the rows of one uploaded file."""

    def __init__(self, file: IO[bytes], phone_column: str | None = None) -> None:
        text = codecs.getreader("utf-8-sig")(file, "strict")
        sample = text.read(8192)
        dialect: type[csv.Dialect] | csv.Dialect
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
        except csv.Error:
            dialect = csv.excel
        self._reader = csv.reader(_Chain(sample, text), dialect)
        try:
            header = next(self._reader)
        except StopIteration:
            raise Unprocessable("The CSV file is empty.", code="csv_empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Unprocessable(f"The CSV file cannot be read: {exc}.", code="csv_invalid") from None
        self.columns = [name.strip() for name in header]
        if not any(self.columns) or len(self.columns) > MAX_COLUMNS:
            raise Unprocessable(
                f"The first row must name the columns (1 to {MAX_COLUMNS}).", code="csv_invalid_header"
            )
        if len(set(self.columns)) != len(self.columns):
            raise Unprocessable("Two columns of the CSV file have the same name.", code="csv_invalid_header")
        self.phone_column = self._phone_column(phone_column)
        self.parameter_columns = [c for c in self.columns if c != self.phone_column and c]

    def _phone_column(self, wanted: str | None) -> str:
        if wanted:
            if wanted not in self.columns:
                raise Unprocessable(
                    f"The CSV file has no column '{wanted}'.",
                    code="csv_phone_column_missing",
                    details={"columns": self.columns},
                )
            return wanted
        by_name = {c.lower().replace(" ", "_"): c for c in self.columns}
        for name in PHONE_COLUMN_NAMES:
            if name in by_name:
                return by_name[name]
        return self.columns[0]

    def rows(self) -> Iterator[CsvRow]:
        index = self.columns.index(self.phone_column)
        line = 1
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise Unprocessable(
                    f"The CSV file cannot be read after line {line}: {exc}.", code="csv_invalid"
                ) from None
            line = self._reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            values = {
                column: cells[i].strip()[:MAX_CELL_LENGTH]
                for i, column in enumerate(self.columns)
                if column and column != self.phone_column and i < len(cells)
            }
            raw = cells[index].strip() if index < len(cells) else ""
            try:
                yield CsvRow(line, normalize_wa_id(raw), values, raw_phone=raw)
            except AppError as exc:
                yield CsvRow(line, None, values, error=exc.message, raw_phone=raw)


class _Chain:
    """The sniffed sample followed by the rest of the stream, read line by line."""

    def __init__(self, head: str, rest: codecs.StreamReader) -> None:
        self._lines = iter(head.splitlines(keepends=True))
        self._pending = ""
        self._rest = rest
        self._head_done = False

    def __iter__(self) -> _Chain:
        return self

    def __next__(self) -> str:
        if not self._head_done:
            for line in self._lines:
                if line.endswith(("\n", "\r")):
                    return line
                # The sample ended mid-line: finish that line from the stream.
                self._pending = line
                break
            self._head_done = True
        line = self._rest.readline()
        if self._pending:
            line, self._pending = self._pending + line, ""
        if not line:
            raise StopIteration
        return line
