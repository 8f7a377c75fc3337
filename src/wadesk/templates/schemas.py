from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from wadesk.kit.schemas import StrictInput, WireModel


class TemplateParameters(WireModel):
    """What a send of the template must supply (the composer builds its form from this)."""

    header_text: list[str]
    header_media: str | None
    body: list[str]
    buttons: dict[int, list[str]]


class TemplateOut(WireModel):
    id: uuid.UUID
    waba_id: str
    meta_template_id: str | None
    name: str
    language: str
    category: str
    status: str
    parameter_format: str
    components: list[dict[str, Any]]
    quality_score: str | None
    rejected_reason: str | None
    parameters: TemplateParameters
    created_at: datetime
    updated_at: datetime


class TemplateCreate(StrictInput):
    """Meta's template creation body, plus which WhatsApp Business Account it goes to."""

    phone_number_id: str | None = Field(
        default=None, max_length=64, description="A number of the WABA (Meta's id or ours)."
    )
    waba_id: str | None = Field(default=None, max_length=64, description="Or the WABA itself.")
    name: str = Field(max_length=600)
    language: str = Field(max_length=20)
    category: str = Field(max_length=30)
    parameter_format: Literal["POSITIONAL", "NAMED", "positional", "named"] = "POSITIONAL"
    components: list[dict[str, Any]] = Field(max_length=10)


class TemplateValidation(WireModel):
    valid: bool
    problems: list[dict[str, str]] = Field(description="`{path, message}` for each problem, in order.")


class TemplatePreviewIn(StrictInput):
    components: list[dict[str, Any]] | None = Field(
        default=None, description="Meta's send components (header/body/button parameters)."
    )
    parameters: list[str] | dict[str, str] | None = Field(
        default=None, description="Or body parameters only: a positional list or a name → value map."
    )


class PreviewButton(WireModel):
    type: str
    text: str
    url: str | None = None
    phone_number: str | None = None


class TemplatePreview(WireModel):
    rendered: str = Field(description="The message as the customer reads it (header, body, footer).")
    header: str | None
    body: str
    footer: str | None
    buttons: list[PreviewButton]
    components: list[dict[str, Any]] = Field(description="The send components the preview used.")
    problems: list[str] = Field(description="What a send with these parameters lacks; empty when complete.")
    sendable: bool = Field(description="Approved and given every parameter: a send would be accepted.")


class TemplateSyncIn(StrictInput):
    phone_number_id: str | None = Field(
        default=None,
        max_length=64,
        description="Only the WABA of this number; all of the company's otherwise.",
    )


class TemplateSyncReport(WireModel):
    wabas: int
    created: int
    updated: int
    removed: int
