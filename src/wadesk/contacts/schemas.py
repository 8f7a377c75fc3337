from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from wadesk.conversations.schemas import ConversationOut
from wadesk.kit.schemas import StrictInput, WireModel

MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE_LENGTH = 1000
_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

AttributeValue = str | int | float | bool | None


def clean_tag(value: str) -> str:
    """Tags compare case-insensitively and ignore surrounding and repeated spaces."""
    return " ".join(value.split()).lower()


def clean_tags(values: list[str]) -> list[str]:
    tags: list[str] = []
    for value in values:
        tag = clean_tag(value)
        if not tag:
            raise ValueError("tags cannot be empty")
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tags are at most {MAX_TAG_LENGTH} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"a contact has at most {MAX_TAGS} tags")
    return tags


def check_attributes(values: dict[str, Any]) -> dict[str, Any]:
    if len(values) > MAX_ATTRIBUTES:
        raise ValueError(f"a contact has at most {MAX_ATTRIBUTES} attributes")
    for key, value in values.items():
        if not _ATTRIBUTE_KEY.match(key):
            raise ValueError(f"attribute name '{key}' must be 1-64 letters, digits, '_', '.' or '-'")
        if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_VALUE_LENGTH:
            raise ValueError(f"attribute '{key}' is longer than {MAX_ATTRIBUTE_VALUE_LENGTH} characters")
    return values


class ContactOut(WireModel):
    id: uuid.UUID
    name: str = Field(
        description="What to show: the saved name, else the WhatsApp profile name, else the number."
    )
    saved_name: str | None = Field(description="The name the team gave the contact (`name` when writing).")
    profile_name: str | None = Field(description="The name the user set in WhatsApp.")
    wa_id: str | None = Field(description="The WhatsApp id: E.164 digits without '+'.")
    phone: str | None = Field(description="The number in E.164 (`+` and digits).")
    bsuid: str | None
    username: str | None
    opted_out: bool
    blocked: bool
    tags: list[str]
    attributes: dict[str, Any]
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ContactDetail(ContactOut):
    conversations: list[ConversationOut] = Field(description="The contact's conversations, newest first.")


Tags = Annotated[list[str], Field(max_length=MAX_TAGS * 2)]


class ContactCreate(StrictInput):
    phone: str | None = Field(default=None, max_length=40, description="Any international format.")
    name: str | None = Field(default=None, max_length=200)
    tags: Tags = Field(default_factory=list)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    opted_out: bool = False
    blocked: bool = False

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return clean_tags(value)

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_attributes(value)


class ContactUpdate(StrictInput):
    phone: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200, description="Empty string clears the saved name.")
    tags: Tags | None = Field(default=None, description="Replaces the contact's tags.")
    attributes: dict[str, AttributeValue] | None = Field(
        default=None, description="Merged into the attributes; a null value removes that attribute."
    )
    opted_out: bool | None = None
    blocked: bool | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return clean_tags(value) if value is not None else None

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_attributes(value) if value is not None else None


class ContactMergeIn(StrictInput):
    source_contact_id: uuid.UUID = Field(
        description="The duplicate: its conversations, messages, tags and attributes move to this contact, "
        "then it is deleted."
    )


class ImportRowError(WireModel):
    row: int = Field(description="Line of the CSV file where the row starts (the header is line 1).")
    field: str | None
    message: str


class ContactImportReport(WireModel):
    rows: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[ImportRowError]
    errors_truncated: bool = Field(description="True when more rows failed than `errors` lists.")


class TagCount(WireModel):
    tag: str
    count: int


class AttributeKeyCount(WireModel):
    key: str
    count: int = Field(description="Contacts that have this attribute")
