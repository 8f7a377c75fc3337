from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from wadesk.campaigns.models import CampaignStatus, PauseCode, RecipientStatus
from wadesk.kit.schemas import StrictInput, WireModel

TAG = Field(min_length=1, max_length=64)
PAUSED_CODE = Field(
    description="Why the campaign is paused, as a code: paused_by_user, template_not_approved, "
    "phone_number_refused, phone_number_quality_dropped, monthly_quota_used, or a readiness code "
    "(phone_number_disabled, phone_number_needs_credentials, parameter_mapping_invalid)"
)


class ParameterSource(StrictInput):
    """Where one placeholder's value comes from: a contact field, a CSV column, or a fixed value.

    `fallback` is used when the contact field or CSV cell is empty."""

    source: Literal["contact", "csv", "static"]
    field: str | None = Field(
        default=None,
        max_length=100,
        description="For `contact`: name, firstName, profileName, phone, waId or attributes.<key>",
    )
    column: str | None = Field(default=None, max_length=100, description="For `csv`: the column name")
    value: str | None = Field(default=None, max_length=1024, description="For `static`: the value")
    fallback: str | None = Field(default=None, max_length=1024)

    @model_validator(mode="after")
    def _needs_its_key(self) -> ParameterSource:
        key = {"contact": "field", "csv": "column", "static": "value"}[self.source]
        if not getattr(self, key):
            raise ValueError(f"a '{self.source}' source needs '{key}'")
        return self


class ParameterMapping(StrictInput):
    """Sources for the template's placeholders, keyed by placeholder (`"1"` or a named parameter)."""

    header: dict[str, ParameterSource] = Field(default_factory=dict)
    body: dict[str, ParameterSource] = Field(default_factory=dict)
    buttons: dict[str, dict[str, ParameterSource]] = Field(
        default_factory=dict, description="URL button index -> placeholder -> source"
    )
    header_media: ParameterSource | None = Field(
        default=None, description="The link of an image, video or document header"
    )

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ContactAudience(StrictInput):
    """Contacts of the company, filtered by tags and attributes; no filter means every contact."""

    source: Literal["contacts"]
    tags: list[str] = Field(default_factory=list, max_length=50)
    tag_match: Literal["any", "all"] = "any"
    exclude_tags: list[str] = Field(default_factory=list, max_length=50)
    attributes: dict[str, str] = Field(default_factory=dict, max_length=20, description="Exact matches")


class CsvAudienceSpec(StrictInput):
    """Numbers uploaded as a CSV file (POST /api/campaigns/{id}/audience/csv), with per-row parameters."""

    source: Literal["csv"]


AudienceIn = ContactAudience | CsvAudienceSpec


class CampaignCreate(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    phone_number_id: str = Field(min_length=1, max_length=64, description="Meta's id or ours")
    template_id: uuid.UUID
    audience: AudienceIn = Field(discriminator="source")
    parameter_mapping: ParameterMapping = Field(default_factory=ParameterMapping)
    scheduled_at: datetime | None = Field(
        default=None, description="When to start; without an offset it is read in `timezone`"
    )
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone, e.g. Europe/Paris")
    reply_window_hours: int = Field(default=24, ge=1, le=720)


class CampaignUpdate(StrictInput):
    """Changes to a draft campaign; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    template_id: uuid.UUID | None = None
    audience: AudienceIn | None = Field(default=None, discriminator="source")
    parameter_mapping: ParameterMapping | None = None
    scheduled_at: datetime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    reply_window_hours: int | None = Field(default=None, ge=1, le=720)


class CampaignPreviewIn(StrictInput):
    """An audience and mapping to preview before (or without) saving a campaign."""

    phone_number_id: str = Field(min_length=1, max_length=64)
    template_id: uuid.UUID
    audience: ContactAudience
    parameter_mapping: ParameterMapping = Field(default_factory=ParameterMapping)


class ScheduleIn(StrictInput):
    scheduled_at: datetime = Field(description="Without an offset it is read in `timezone`")
    timezone: str | None = Field(default=None, max_length=64)


class PhoneNumberRef(WireModel):
    id: uuid.UUID
    phone_number_id: str
    display_phone_number: str
    messages_per_second: int
    messaging_limit_tier: str | None
    quality_rating: str


class TemplateRef(WireModel):
    id: uuid.UUID
    name: str
    language: str
    category: str
    status: str


class RecipientCounts(WireModel):
    total: int = 0
    queued: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0
    failed: int = 0
    skipped: int = 0


class CampaignOut(WireModel):
    id: uuid.UUID
    name: str
    status: CampaignStatus
    phone_number: PhoneNumberRef
    template: TemplateRef
    audience: dict[str, Any]
    parameter_mapping: dict[str, Any]
    scheduled_at: datetime | None
    timezone: str | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    paused_reason: str | None
    paused_code: PauseCode | None = PAUSED_CODE
    waiting_reason: str | None = Field(description="Why a running campaign is holding back, e.g. its tier")
    waiting_until: datetime | None
    reply_window_hours: int
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    counts: RecipientCounts


class Funnel(WireModel):
    """Cumulative: a read message was also delivered and sent; a reply counts as read."""

    targeted: int
    skipped: int
    attempted: int
    sent: int
    delivered: int
    read: int
    replied: int
    failed: int


class Rates(WireModel):
    """Fractions (0..1), null when there is nothing to divide by.

    delivery = delivered / (sent + failed); read = read / delivered; reply = replied / delivered;
    failure = failed / (sent + failed)."""

    delivery: float | None
    read: float | None
    reply: float | None
    failure: float | None


class Throughput(WireModel):
    last_minute_per_second: float = Field(
        description="Messages accepted by Meta in the last 60 s, per second"
    )
    configured_per_second: int = Field(description="The phone number's messages-per-second limit")


class Eta(WireModel):
    remaining: int = Field(description="Recipients not handed to the sender yet or still in flight")
    seconds: float | None
    at: datetime | None
    limited_by: str | None = Field(description="'messaging_limit' when the tier, not speed, decides")


class ErrorCount(WireModel):
    code: int | None
    title: str | None
    retryable: bool
    count: int


class ReasonCount(WireModel):
    reason: str
    count: int


class CampaignStats(WireModel):
    campaign_id: uuid.UUID
    status: CampaignStatus
    paused_reason: str | None
    paused_code: PauseCode | None = PAUSED_CODE
    waiting_reason: str | None
    waiting_until: datetime | None
    counts: RecipientCounts
    funnel: Funnel
    rates: Rates
    throughput: Throughput
    eta: Eta
    failures_by_code: list[ErrorCount]
    skipped_by_reason: list[ReasonCount]
    started_at: datetime | None
    completed_at: datetime | None
    generated_at: datetime


class ContactRef(WireModel):
    id: uuid.UUID
    wa_id: str | None
    name: str


class RecipientError(WireModel):
    code: int | None
    title: str | None
    explanation: str | None
    retryable: bool


class RecipientOut(WireModel):
    id: uuid.UUID
    contact: ContactRef
    status: RecipientStatus
    message_id: uuid.UUID | None
    attempts: int
    error: RecipientError | None
    skip_reason: str | None
    parameters: dict[str, Any]
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    replied_at: datetime | None
    failed_at: datetime | None
    updated_at: datetime


class SampleMessage(WireModel):
    contact: ContactRef
    components: list[dict[str, Any]]
    rendered: str
    problems: list[str]


class AudiencePreview(WireModel):
    total: int = Field(
        description="What the audience names: the matching contacts, or the uploaded CSV's data rows; "
        "eligible plus the skipped counts make the total"
    )
    eligible: int = Field(description="Those that will be sent to")
    skipped: list[ReasonCount] = Field(
        description="Why the others are left out: opted_out, blocked; for a CSV also invalid_number and "
        "duplicate (a number already on an earlier row)"
    )
    sample: SampleMessage | None = Field(
        description="One eligible recipient's message as it will be sent: for a CSV, the first eligible row's"
    )
    mapping_problems: list[str]


class InvalidRow(WireModel):
    line: int
    value: str
    reason: str


class CsvUploadResult(WireModel):
    rows: int = Field(description="Data rows read (blank lines ignored)")
    recipients: int = Field(description="Distinct recipients stored")
    duplicates: int
    invalid: int
    invalid_rows: list[InvalidRow] = Field(description="The first invalid rows, with the reason")
    phone_column: str
    columns: list[str]
    mapping_problems: list[str] = Field(description="What the parameter mapping lacks for these columns")


class RetryResult(WireModel):
    requeued: int
    campaign: CampaignOut
