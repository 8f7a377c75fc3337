"""Wire-model base: camelCase JSON on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class StrictInput(WireModel):
    """Request bodies: unknown fields are an error, so typos never pass silently, and no text may contain a
    NUL character (PostgreSQL cannot store one in text or JSON; it would fail as a server error)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _contains_nul(data):
            raise ValueError("text must not contain NUL (\\u0000) characters")
        return data


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return False


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
