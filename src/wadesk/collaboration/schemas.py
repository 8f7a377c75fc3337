from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal, get_args

from pydantic import Field, field_validator

from wadesk.conversations.schemas import UserRef
from wadesk.kit.schemas import StrictInput, WireModel

MAX_LABELS = 20
MAX_LABEL_LENGTH = 64
SHORT_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")


def clean_label(value: str) -> str:
    """Labels compare case-insensitively and ignore surrounding and repeated spaces."""
    return " ".join(value.split()).lower()


def _label_name(value: str) -> str:
    label = clean_label(value)
    if not label:
        raise ValueError("labels cannot be empty")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"labels are at most {MAX_LABEL_LENGTH} characters")
    return label


def clean_short_code(value: str) -> str:
    code = value.strip().lstrip("/").lower()
    if not SHORT_CODE.match(code):
        raise ValueError("short codes are 1-32 lowercase letters, digits, '_' or '-' (typed as /code)")
    return code


class NoteCreate(StrictInput):
    body: str = Field(min_length=1, max_length=10_000)
    mentions: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Users to notify; `@name` words matching a teammate's email name are mentions too.",
    )


class NoteUpdate(StrictInput):
    body: str = Field(min_length=1, max_length=10_000)


class NoteOut(WireModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    author: UserRef | None
    body: str
    mentions: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class CannedResponseCreate(StrictInput):
    short_code: str = Field(min_length=1, max_length=33, description="Typed as `/code` in the composer.")
    title: str = Field(default="", max_length=200)
    body: str = Field(
        min_length=1,
        max_length=4096,
        description="May use {{contact.name}}, {{contact.first_name}}, {{contact.phone}} and {{agent.name}}.",
    )

    @field_validator("short_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return clean_short_code(value)


class CannedResponseUpdate(StrictInput):
    short_code: str | None = Field(default=None, min_length=1, max_length=33)
    title: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=4096)

    @field_validator("short_code")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        return clean_short_code(value) if value is not None else None


class CannedResponseOut(WireModel):
    id: uuid.UUID
    short_code: str
    title: str
    body: str
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ExpandIn(StrictInput):
    text: str = Field(max_length=10_000)
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Fills {{contact.…}} from this conversation's contact."
    )


class ExpandOut(WireModel):
    text: str
    used: list[str] = Field(description="The short codes that were expanded.")


class LabelsIn(StrictInput):
    labels: list[str] = Field(max_length=MAX_LABELS * 2)

    @field_validator("labels")
    @classmethod
    def _labels(cls, values: list[str]) -> list[str]:
        labels: list[str] = []
        for value in values:
            label = _label_name(value)
            if label not in labels:
                labels.append(label)
        if len(labels) > MAX_LABELS:
            raise ValueError(f"a conversation has at most {MAX_LABELS} labels")
        return labels


LabelColor = Literal[
    "gray", "red", "pink", "grape", "violet", "indigo", "blue", "cyan", "teal", "green", "lime", "yellow", "orange",
]  # fmt: skip
LABEL_COLORS: tuple[str, ...] = get_args(LabelColor)


class LabelCreate(StrictInput):
    label: str = Field(min_length=1, max_length=MAX_LABEL_LENGTH * 2)
    color: LabelColor = "blue"

    @field_validator("label")
    @classmethod
    def _clean(cls, value: str) -> str:
        return _label_name(value)


class LabelUpdate(StrictInput):
    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LABEL_LENGTH * 2,
        description="A new name: every conversation carrying the label is renamed with it.",
    )
    color: LabelColor | None = None

    @field_validator("label")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _label_name(value) if value is not None else None


class LabelOut(WireModel):
    id: uuid.UUID
    label: str
    color: LabelColor
    count: int = Field(description="How many conversations carry the label.")


class ParticipantIn(StrictInput):
    user_id: uuid.UUID


class ParticipantOut(WireModel):
    user: UserRef
    added_by_id: uuid.UUID | None
    created_at: datetime


class PresenceIn(StrictInput):
    state: Literal["typing", "viewing", "idle"]
