"""Wire-model base: camelCase JSON on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class StrictInput(WireModel):
    """Request bodies: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )


ItemT = TypeVar("ItemT")


class Page(WireModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI declarations of the error shape for the given status codes."""
    return {code: {"model": ErrorResponse} for code in codes}
