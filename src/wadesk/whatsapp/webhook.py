"""Typed models of Meta's WhatsApp webhook deliveries, and their flattening into ordered updates.

A delivery is `{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field", "value"}]}]}`
where `entry[].id` is the WhatsApp Business Account (WABA) id and `value` depends on `field`. Parsing rules:

- Every model keeps keys it does not know (`extra="allow"`), so
  `model_dump(by_alias=True, exclude_unset=True)` gives back exactly what Meta sent, and nothing Meta adds
  later is lost.
- Unknown `field`s become `UnknownFieldChange`; unknown message types (and known types whose content object is
  missing, which Meta does send) become `UnsupportedMessage` keeping their `type` string and raw JSON.
- Enumerations Meta extends over time (status names, events, categories) are plain strings.
- Anything structurally wrong (not JSON, not an object, a wrong type where a shape is documented) raises
  `WebhookPayloadError` and nothing else.

`iter_updates` walks a parsed envelope in Meta's order and yields one typed item per message, status, error
and notification, each carrying its routing keys (WABA id, phone number id).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from wadesk.whatsapp.errors import CatalogueEntry, explain

WHATSAPP_OBJECT = "whatsapp_business_account"


class WebhookPayloadError(ValueError):
    """The webhook body is not a WhatsApp Business Account delivery we can read."""


# ------------------------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------------------------


class WebhookModel(BaseModel):
    """Base of every webhook model: immutable, and keeps unknown keys so nothing Meta sends is dropped."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def raw(self) -> dict[str, Any]:
        """The JSON object this model was parsed from (unknown keys included)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


_UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$")
_MAX_UNIX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z, the last second `datetime` can represent.


def _check_unix_seconds(value: str | int) -> str | int:
    # Kept as sent (string in messages/statuses, integer elsewhere) so the raw JSON round-trips; only checked.
    if isinstance(value, str) and not _UNIX_SECONDS.match(value):
        raise ValueError("expected unix seconds")
    if not 0 <= int(value) <= _MAX_UNIX_SECONDS:
        raise ValueError("unix seconds out of range")
    return value


UnixTime = Annotated[str | int, AfterValidator(_check_unix_seconds)]
"""Unix seconds as Meta sends them: a digit string in messages/statuses, an integer in other fields."""


def to_datetime(value: str | int) -> datetime:
    """An aware UTC datetime from (already validated) unix seconds."""
    return datetime.fromtimestamp(int(value), tz=UTC)


IdValue = int | str
"""Template ids arrive as JSON integers; other ids as strings. Both are accepted and kept as sent."""


@dataclass(frozen=True, slots=True)
class ContactIdentity:
    """Who a WhatsApp user is: a phone-based `wa_id` and/or a business-scoped user id (BSUID).

    Since 2026 users with a username may arrive with only a BSUID; older deliveries carry only `wa_id`.
    Store both and match on whichever is present.
    """

    wa_id: str | None = None
    bsuid: str | None = None
    parent_bsuid: str | None = None
    username: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when neither a phone-based id nor a BSUID is known."""
        return self.wa_id is None and self.bsuid is None

    def matches(self, other: ContactIdentity) -> bool:
        """True when both identities share a wa_id or a BSUID."""
        return (self.wa_id is not None and self.wa_id == other.wa_id) or (
            self.bsuid is not None and self.bsuid == other.bsuid
        )

    def conflicts(self, other: ContactIdentity) -> bool:
        """True when a key present on both sides differs, i.e. they are certainly different users."""
        return (self.wa_id is not None and other.wa_id is not None and self.wa_id != other.wa_id) or (
            self.bsuid is not None and other.bsuid is not None and self.bsuid != other.bsuid
        )

    def merged(self, other: ContactIdentity) -> ContactIdentity:
        """This identity with its missing parts filled from `other`."""
        return ContactIdentity(
            wa_id=self.wa_id or other.wa_id,
            bsuid=self.bsuid or other.bsuid,
            parent_bsuid=self.parent_bsuid or other.parent_bsuid,
            username=self.username or other.username,
        )


class Metadata(WebhookModel):
    """The business phone number a `messages`/`user_preferences` change belongs to."""

    display_phone_number: str
    phone_number_id: str


class Profile(WebhookModel):
    """The user's WhatsApp profile."""

    name: str | None = None
    username: str | None = None


class Contact(WebhookModel):
    """A user in `value.contacts[]`: the sender of inbound messages, or the recipient of statuses."""

    profile: Profile | None = None
    wa_id: str | None = None
    user_id: str | None = None
    """Business-scoped user id (BSUID), present from April 2026."""
    parent_user_id: str | None = None
    identity_key_hash: str | None = None

    @property
    def identity(self) -> ContactIdentity:
        """This contact's identity (wa_id and/or BSUID, plus username)."""
        return ContactIdentity(
            wa_id=self.wa_id,
            bsuid=self.user_id,
            parent_bsuid=self.parent_user_id,
            username=self.profile.username if self.profile else None,
        )


class ErrorData(WebhookModel):
    """Meta's `error_data` object."""

    details: str | None = None


class WebhookError(WebhookModel):
    """An error as Meta reports it in webhooks (`statuses[].errors`, `messages[].errors`, `value.errors`)."""

    code: int
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None
    href: str | None = None

    @property
    def details(self) -> str | None:
        """Meta's specific explanation (`error_data.details`), the part worth showing."""
        return self.error_data.details if self.error_data else None

    @property
    def catalogue(self) -> CatalogueEntry:
        """What this code means for the platform (category, retryable, explanation)."""
        return explain(self.code)


# ------------------------------------------------------------------------------------------------------------
# Inbound messages (`value.messages[]`)
# ------------------------------------------------------------------------------------------------------------


class ReferredProduct(WebhookModel):
    """The catalog product a user asked about ("Message business" on a product)."""

    catalog_id: str | None = None
    product_retailer_id: str | None = None


class MessageContext(WebhookModel):
    """Reply, forward and product-inquiry context of an inbound message."""

    from_: str | None = Field(default=None, alias="from")
    id: str | None = None
    """The wamid of the quoted message (ours or theirs)."""
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None
    referred_product: ReferredProduct | None = None

    @property
    def is_forwarded(self) -> bool:
        """True for forwarded and frequently forwarded messages."""
        return bool(self.forwarded or self.frequently_forwarded)


class WelcomeMessage(WebhookModel):
    """The welcome message an ad showed."""

    text: str | None = None


class Referral(WebhookModel):
    """Click-to-WhatsApp ad (or post) the user came from."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    body: str | None = None
    headline: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None
    welcome_message: WelcomeMessage | None = None


class MessageIdentity(WebhookModel):
    """Identity-change acknowledgement data on some messages."""

    acknowledged: bool | None = None
    created_timestamp: int | None = None
    hash: str | None = None


class BaseMessage(WebhookModel):
    """Fields every inbound message has."""

    id: str
    """The wamid: unique per message, the idempotency key."""
    timestamp: UnixTime
    type: str
    from_: str | None = Field(default=None, alias="from")
    """The user's phone-based WhatsApp id. May be absent for users known only by BSUID."""
    from_user_id: str | None = None
    from_parent_user_id: str | None = None
    context: MessageContext | None = None
    referral: Referral | None = None
    errors: list[WebhookError] | None = None
    group_id: str | None = None
    identity: MessageIdentity | None = None

    @property
    def sender(self) -> ContactIdentity:
        """The sender's identity as stated on the message itself (see also `InboundMessage.identity`)."""
        return ContactIdentity(
            wa_id=self.from_, bsuid=self.from_user_id, parent_bsuid=self.from_parent_user_id
        )

    @property
    def sent_at(self) -> datetime:
        """When the user sent the message (aware UTC)."""
        return to_datetime(self.timestamp)

    @property
    def reply_to(self) -> str | None:
        """The wamid this message quotes, if it is a reply."""
        return self.context.id if self.context else None


class TextContent(WebhookModel):
    body: str


class Media(WebhookModel):
    """A media object: download by `id` (7 days) or directly from `url` when present (5 minutes)."""

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    url: str | None = None


class ImageContent(Media):
    caption: str | None = None


class VideoContent(Media):
    caption: str | None = None


class AudioContent(Media):
    voice: bool | None = None
    """True for a push-to-talk voice note."""


class DocumentContent(Media):
    filename: str | None = None
    caption: str | None = None


class StickerContent(Media):
    animated: bool | None = None


class LocationContent(WebhookModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class SharedContactName(WebhookModel):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class SharedContactPhone(WebhookModel):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class SharedContactEmail(WebhookModel):
    email: str | None = None
    type: str | None = None


class SharedContactAddress(WebhookModel):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class SharedContactOrg(WebhookModel):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class SharedContactUrl(WebhookModel):
    url: str | None = None
    type: str | None = None


class SharedContact(WebhookModel):
    """A contact card the user shared."""

    name: SharedContactName | None = None
    phones: list[SharedContactPhone] | None = None
    emails: list[SharedContactEmail] | None = None
    addresses: list[SharedContactAddress] | None = None
    org: SharedContactOrg | None = None
    urls: list[SharedContactUrl] | None = None
    birthday: str | None = None

    @property
    def display_name(self) -> str | None:
        """The best available name for the card."""
        if self.name is None:
            return None
        if self.name.formatted_name:
            return self.name.formatted_name
        parts = [p for p in (self.name.first_name, self.name.last_name) if p]
        return " ".join(parts) or None


class ReplyPick(WebhookModel):
    """The button or list row a user picked."""

    id: str
    title: str | None = None
    description: str | None = None


class FlowReply(WebhookModel):
    """A WhatsApp Flow submission (`nfm_reply`)."""

    name: str | None = None
    body: str | None = None
    response_json: str | None = None
    """A JSON document encoded as a string (it includes `flow_token`)."""

    def response(self) -> dict[str, Any] | None:
        """`response_json` decoded, or None when it is absent or not a JSON object."""
        if not self.response_json:
            return None
        try:
            decoded = json.loads(self.response_json)
        except (ValueError, RecursionError):
            return None
        return decoded if isinstance(decoded, dict) else None


class InteractiveContent(WebhookModel):
    """A reply to one of our interactive messages; `type` says which member is set."""

    type: str
    button_reply: ReplyPick | None = None
    list_reply: ReplyPick | None = None
    nfm_reply: FlowReply | None = None

    @property
    def pick(self) -> ReplyPick | None:
        """The picked button or list row, if this is such a reply."""
        return self.button_reply or self.list_reply


class ButtonContent(WebhookModel):
    """A tap on a template quick-reply button."""

    payload: str | None = None
    text: str | None = None


class ReactionContent(WebhookModel):
    message_id: str
    emoji: str | None = None
    """Absent (current) or "" (older) when the user removed their reaction."""

    @property
    def removed(self) -> bool:
        """True when this reaction removes an earlier one."""
        return not self.emoji


class ProductItem(WebhookModel):
    product_retailer_id: str | None = None
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class OrderContent(WebhookModel):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] | None = None


class SystemContent(WebhookModel):
    """A system notice, e.g. `user_changed_number` (new number in `wa_id`)."""

    body: str | None = None
    type: str | None = None
    wa_id: str | None = None
    customer: str | None = None


class RevokeContent(WebhookModel):
    original_message_id: str


class EditContent(WebhookModel):
    original_message_id: str
    message: dict[str, Any] | None = None
    """The new version of the message, in inbound-message shape."""


class UnsupportedInfo(WebhookModel):
    type: str | None = None


class TextMessage(BaseMessage):
    type: Literal["text"]
    text: TextContent


class ImageMessage(BaseMessage):
    type: Literal["image"]
    image: ImageContent


class AudioMessage(BaseMessage):
    type: Literal["audio"]
    audio: AudioContent


class VideoMessage(BaseMessage):
    type: Literal["video"]
    video: VideoContent


class DocumentMessage(BaseMessage):
    type: Literal["document"]
    document: DocumentContent


class StickerMessage(BaseMessage):
    type: Literal["sticker"]
    sticker: StickerContent


class LocationMessage(BaseMessage):
    type: Literal["location"]
    location: LocationContent


class ContactsMessage(BaseMessage):
    type: Literal["contacts"]
    contacts: list[SharedContact]


class InteractiveMessage(BaseMessage):
    type: Literal["interactive"]
    interactive: InteractiveContent


class ButtonMessage(BaseMessage):
    type: Literal["button"]
    button: ButtonContent


class ReactionMessage(BaseMessage):
    type: Literal["reaction"]
    reaction: ReactionContent


class OrderMessage(BaseMessage):
    type: Literal["order"]
    order: OrderContent


class SystemMessage(BaseMessage):
    type: Literal["system"]
    system: SystemContent


class RevokeMessage(BaseMessage):
    """The user deleted a message (Coexistence numbers only)."""

    type: Literal["revoke"]
    revoke: RevokeContent


class EditMessage(BaseMessage):
    """The user edited a message (Coexistence numbers only)."""

    type: Literal["edit"]
    edit: EditContent


class RequestWelcomeMessage(BaseMessage):
    """The user opened a chat with the business for the first time."""

    type: Literal["request_welcome"]


class UnsupportedMessage(BaseMessage):
    """A message this platform cannot show: Meta's `unsupported`/`unknown`, a type we do not model, or a known
    type that arrived without its content object. `type` is kept as sent; `raw()` keeps everything else."""

    unsupported: UnsupportedInfo | None = None


# The key holding each modelled type's content; None when the type has no content object.
_CONTENT_KEY: dict[str, str | None] = {
    "text": "text",
    "image": "image",
    "audio": "audio",
    "video": "video",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "contacts": "contacts",
    "interactive": "interactive",
    "button": "button",
    "reaction": "reaction",
    "order": "order",
    "system": "system",
    "revoke": "revoke",
    "edit": "edit",
    "request_welcome": None,
}

_MESSAGE_CLASSES: dict[str, type[BaseMessage]] = {
    "text": TextMessage,
    "image": ImageMessage,
    "audio": AudioMessage,
    "video": VideoMessage,
    "document": DocumentMessage,
    "sticker": StickerMessage,
    "location": LocationMessage,
    "contacts": ContactsMessage,
    "interactive": InteractiveMessage,
    "button": ButtonMessage,
    "reaction": ReactionMessage,
    "order": OrderMessage,
    "system": SystemMessage,
    "revoke": RevokeMessage,
    "edit": EditMessage,
    "request_welcome": RequestWelcomeMessage,
}
_MESSAGE_TAGS: dict[type[BaseMessage], str] = {cls: tag for tag, cls in _MESSAGE_CLASSES.items()}


def _message_tag(value: Any) -> str:
    """Pick the model for a raw message (or, when serialising, for a model instance)."""
    if isinstance(value, BaseMessage):
        return _MESSAGE_TAGS.get(type(value), "unsupported")
    if isinstance(value, Mapping):
        kind = value.get("type")
        if isinstance(kind, str) and kind in _CONTENT_KEY:
            key = _CONTENT_KEY[kind]
            # Meta sends e.g. type "interactive" with no `interactive` object next to a value-level error.
            if key is None or key in value:
                return kind
    return "unsupported"


Message = Annotated[
    Annotated[TextMessage, Tag("text")]
    | Annotated[ImageMessage, Tag("image")]
    | Annotated[AudioMessage, Tag("audio")]
    | Annotated[VideoMessage, Tag("video")]
    | Annotated[DocumentMessage, Tag("document")]
    | Annotated[StickerMessage, Tag("sticker")]
    | Annotated[LocationMessage, Tag("location")]
    | Annotated[ContactsMessage, Tag("contacts")]
    | Annotated[InteractiveMessage, Tag("interactive")]
    | Annotated[ButtonMessage, Tag("button")]
    | Annotated[ReactionMessage, Tag("reaction")]
    | Annotated[OrderMessage, Tag("order")]
    | Annotated[SystemMessage, Tag("system")]
    | Annotated[RevokeMessage, Tag("revoke")]
    | Annotated[EditMessage, Tag("edit")]
    | Annotated[RequestWelcomeMessage, Tag("request_welcome")]
    | Annotated[UnsupportedMessage, Tag("unsupported")],
    Discriminator(_message_tag),
]
"""Any inbound message, typed by its `type`."""

MediaMessage = ImageMessage | AudioMessage | VideoMessage | DocumentMessage | StickerMessage


def message_media(message: BaseMessage) -> Media | None:
    """The downloadable media of a message, if it has any."""
    if isinstance(message, ImageMessage):
        return message.image
    if isinstance(message, AudioMessage):
        return message.audio
    if isinstance(message, VideoMessage):
        return message.video
    if isinstance(message, DocumentMessage):
        return message.document
    if isinstance(message, StickerMessage):
        return message.sticker
    return None


# ------------------------------------------------------------------------------------------------------------
# Statuses (`value.statuses[]`)
# ------------------------------------------------------------------------------------------------------------


class ConversationOrigin(WebhookModel):
    type: str | None = None


class Conversation(WebhookModel):
    """Conversation-based pricing info. Omitted from v24 on, except in free entry point windows."""

    id: str | None = None
    expiration_timestamp: UnixTime | None = None
    origin: ConversationOrigin | None = None


class Pricing(WebhookModel):
    billable: bool | None = None
    pricing_model: str | None = None
    type: str | None = None
    category: str | None = None


class Status(WebhookModel):
    """A delivery status of one of our outbound messages."""

    id: str
    """The wamid of our outbound message."""
    status: str
    """`sent`, `delivered`, `read`, `played` or `failed`; other values are kept as sent."""
    timestamp: UnixTime
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    recipient_parent_user_id: str | None = None
    recipient_type: str | None = None
    recipient_participant_id: str | None = None
    recipient_identity_key_hash: str | None = None
    biz_opaque_callback_data: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WebhookError] | None = None

    @property
    def recipient(self) -> ContactIdentity:
        """The recipient's identity as stated on the status (phone-based id and/or BSUID)."""
        return ContactIdentity(
            wa_id=self.recipient_id, bsuid=self.recipient_user_id, parent_bsuid=self.recipient_parent_user_id
        )

    @property
    def occurred_at(self) -> datetime:
        """When the status happened (aware UTC)."""
        return to_datetime(self.timestamp)


# ------------------------------------------------------------------------------------------------------------
# Change values per `field`
# ------------------------------------------------------------------------------------------------------------


class MessagesValue(WebhookModel):
    """`field == "messages"`: inbound messages, statuses of outbound ones, and system errors."""

    messaging_product: str | None = None
    metadata: Metadata
    contacts: list[Contact] | None = None
    messages: list[Message] | None = None
    statuses: list[Status] | None = None
    errors: list[WebhookError] | None = None


class UserPreference(WebhookModel):
    wa_id: str | None = None
    user_id: str | None = None
    detail: str | None = None
    category: str | None = None
    """E.g. `marketing_messages`."""
    value: str | None = None
    """`stop` or `resume`."""
    timestamp: UnixTime | None = None

    @property
    def identity(self) -> ContactIdentity:
        """The user whose preference changed."""
        return ContactIdentity(wa_id=self.wa_id, bsuid=self.user_id)


class UserPreferencesValue(WebhookModel):
    messaging_product: str | None = None
    metadata: Metadata
    contacts: list[Contact] | None = None
    user_preferences: list[UserPreference]


class TemplateDisableInfo(WebhookModel):
    disable_date: str | None = None


class TemplateOtherInfo(WebhookModel):
    title: str | None = None
    description: str | None = None


class TemplateRejectionInfo(WebhookModel):
    reason: str | None = None
    recommendation: str | None = None


class TemplateStatusValue(WebhookModel):
    event: str
    message_template_id: IdValue
    message_template_name: str | None = None
    message_template_language: str | None = None
    reason: str | None = None
    message_template_category: str | None = None
    disable_info: TemplateDisableInfo | None = None
    other_info: TemplateOtherInfo | None = None
    rejection_info: TemplateRejectionInfo | None = None


class TemplateCategoryValue(WebhookModel):
    message_template_id: IdValue
    message_template_name: str | None = None
    message_template_language: str | None = None
    previous_category: str | None = None
    new_category: str | None = None
    correct_category: str | None = None
    category_update_timestamp: UnixTime | None = None


class TemplateQualityValue(WebhookModel):
    message_template_id: IdValue
    message_template_name: str | None = None
    message_template_language: str | None = None
    previous_quality_score: str | None = None
    new_quality_score: str | None = None


class PhoneNumberQualityValue(WebhookModel):
    display_phone_number: str | None = None
    event: str | None = None
    current_limit: str | None = None
    old_limit: str | None = None
    max_daily_conversations_per_business: int | str | None = None


class PhoneNumberNameValue(WebhookModel):
    display_phone_number: str | None = None
    decision: str | None = None
    requested_verified_name: str | None = None
    rejection_reason: str | None = None


class RestrictionInfo(WebhookModel):
    restriction_type: str | None = None
    expiration: UnixTime | None = None


class ViolationInfo(WebhookModel):
    violation_type: str | None = None


class BanInfo(WebhookModel):
    waba_ban_state: str | None = None
    waba_ban_date: str | None = None


class AccountUpdateValue(WebhookModel):
    event: str
    restriction_info: list[RestrictionInfo] | None = None
    violation_info: ViolationInfo | None = None
    ban_info: BanInfo | None = None


class AccountReviewValue(WebhookModel):
    decision: str | None = None


class AlertInfo(WebhookModel):
    alert_severity: str | None = None
    alert_status: str | None = None
    alert_type: str | None = None
    alert_description: str | None = None


class AccountAlertsValue(WebhookModel):
    entity_type: str | None = None
    entity_id: str | None = None
    alert_info: AlertInfo | None = None


class BusinessCapabilityValue(WebhookModel):
    max_daily_conversations_per_business: int | str | None = None
    max_daily_conversation_per_phone: int | None = None
    max_phone_numbers_per_business: int | None = None
    max_phone_numbers_per_waba: int | None = None


# ------------------------------------------------------------------------------------------------------------
# Changes, entries, envelope
# ------------------------------------------------------------------------------------------------------------


class MessagesChange(WebhookModel):
    field: Literal["messages"]
    value: MessagesValue


class UserPreferencesChange(WebhookModel):
    field: Literal["user_preferences"]
    value: UserPreferencesValue


class TemplateStatusChange(WebhookModel):
    field: Literal["message_template_status_update"]
    value: TemplateStatusValue


class TemplateCategoryChange(WebhookModel):
    field: Literal["template_category_update"]
    value: TemplateCategoryValue


class TemplateQualityChange(WebhookModel):
    field: Literal["message_template_quality_update"]
    value: TemplateQualityValue


class PhoneNumberQualityChange(WebhookModel):
    field: Literal["phone_number_quality_update"]
    value: PhoneNumberQualityValue


class PhoneNumberNameChange(WebhookModel):
    field: Literal["phone_number_name_update"]
    value: PhoneNumberNameValue


class AccountUpdateChange(WebhookModel):
    field: Literal["account_update"]
    value: AccountUpdateValue


class AccountReviewChange(WebhookModel):
    field: Literal["account_review_update"]
    value: AccountReviewValue


class AccountAlertsChange(WebhookModel):
    field: Literal["account_alerts"]
    value: AccountAlertsValue


class BusinessCapabilityChange(WebhookModel):
    field: Literal["business_capability_update"]
    value: BusinessCapabilityValue


class UnknownFieldChange(WebhookModel):
    """A change for a `field` this platform does not model; `value` is kept exactly as sent."""

    field: str
    value: Any


_CHANGE_CLASSES: dict[str, type[WebhookModel]] = {
    "messages": MessagesChange,
    "user_preferences": UserPreferencesChange,
    "message_template_status_update": TemplateStatusChange,
    "template_category_update": TemplateCategoryChange,
    "message_template_quality_update": TemplateQualityChange,
    "phone_number_quality_update": PhoneNumberQualityChange,
    "phone_number_name_update": PhoneNumberNameChange,
    "account_update": AccountUpdateChange,
    "account_review_update": AccountReviewChange,
    "account_alerts": AccountAlertsChange,
    "business_capability_update": BusinessCapabilityChange,
}
_CHANGE_TAGS: dict[type[WebhookModel], str] = {cls: tag for tag, cls in _CHANGE_CLASSES.items()}


def _change_tag(value: Any) -> str:
    if isinstance(value, WebhookModel):
        return _CHANGE_TAGS.get(type(value), "unknown")
    if isinstance(value, Mapping):
        field = value.get("field")
        if isinstance(field, str) and field in _CHANGE_CLASSES:
            return field
    return "unknown"


Change = Annotated[
    Annotated[MessagesChange, Tag("messages")]
    | Annotated[UserPreferencesChange, Tag("user_preferences")]
    | Annotated[TemplateStatusChange, Tag("message_template_status_update")]
    | Annotated[TemplateCategoryChange, Tag("template_category_update")]
    | Annotated[TemplateQualityChange, Tag("message_template_quality_update")]
    | Annotated[PhoneNumberQualityChange, Tag("phone_number_quality_update")]
    | Annotated[PhoneNumberNameChange, Tag("phone_number_name_update")]
    | Annotated[AccountUpdateChange, Tag("account_update")]
    | Annotated[AccountReviewChange, Tag("account_review_update")]
    | Annotated[AccountAlertsChange, Tag("account_alerts")]
    | Annotated[BusinessCapabilityChange, Tag("business_capability_update")]
    | Annotated[UnknownFieldChange, Tag("unknown")],
    Discriminator(_change_tag),
]
"""One `entry[].changes[]` item, typed by its `field`."""


class Entry(WebhookModel):
    id: str
    """The WhatsApp Business Account id."""
    time: UnixTime | None = None
    changes: list[Change]

    @property
    def occurred_at(self) -> datetime | None:
        """`time` as an aware UTC datetime (present on non-`messages` fields)."""
        return to_datetime(self.time) if self.time is not None else None


class WebhookEnvelope(WebhookModel):
    object: str
    entry: list[Entry]


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = []
    for error in errors[:3]:
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        shown.append(f"{location}: {error['msg']}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(shown) + more


def parse_webhook(raw: bytes | str | Mapping[str, Any]) -> WebhookEnvelope:
    """Parse one webhook delivery (the raw POST body, or already-decoded JSON).

    Raises `WebhookPayloadError` for anything that is not a readable WhatsApp Business Account delivery.
    """
    data: Any = raw
    if isinstance(raw, bytes | str):
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise WebhookPayloadError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise WebhookPayloadError(f"webhook body must be a JSON object, not {type(data).__name__}")
    obj = data.get("object")
    if obj != WHATSAPP_OBJECT:
        raise WebhookPayloadError(f"webhook object is {obj!r}, expected {WHATSAPP_OBJECT!r}")
    try:
        return WebhookEnvelope.model_validate(data)
    except ValidationError as exc:
        raise WebhookPayloadError(f"invalid webhook payload: {_describe(exc)}") from None
    except RecursionError:
        raise WebhookPayloadError("invalid webhook payload: nested too deeply") from None


# ------------------------------------------------------------------------------------------------------------
# Flattened updates
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a user sent to one of our business numbers."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str
    identity: ContactIdentity
    """The sender: the message's own ids completed from the matching `contacts[]` entry."""
    contact: Contact | None
    """The matching `contacts[]` entry (profile), if Meta sent one."""
    message: Message

    @property
    def wamid(self) -> str:
        """The message id, unique per message."""
        return self.message.id

    @property
    def sent_at(self) -> datetime:
        """When the user sent it (aware UTC)."""
        return self.message.sent_at

    @property
    def profile_name(self) -> str | None:
        """The sender's WhatsApp profile name, if given."""
        return self.contact.profile.name if self.contact and self.contact.profile else None

    @property
    def preview(self) -> str:
        """A short text for the inbox's last-message column."""
        return message_preview(self.message)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of one of our outbound messages."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str
    recipient: ContactIdentity
    """The recipient: the status's own ids completed from the matching `contacts[]` entry."""
    contact: Contact | None
    status: Status

    @property
    def wamid(self) -> str:
        """Our outbound message's id."""
        return self.status.id

    @property
    def occurred_at(self) -> datetime:
        """When the status happened (aware UTC)."""
        return self.status.occurred_at


@dataclass(frozen=True, slots=True)
class ErrorNotice:
    """A system- or app-level error Meta reported for a business number (`value.errors[]`); no wamid."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str
    error: WebhookError


@dataclass(frozen=True, slots=True)
class UserPreferencesUpdate:
    """A user stopped or resumed a category of messages (e.g. marketing)."""

    waba_id: str
    phone_number_id: str
    display_phone_number: str
    identity: ContactIdentity
    preference: UserPreference

    @property
    def occurred_at(self) -> datetime | None:
        """When the user changed the preference (aware UTC)."""
        ts = self.preference.timestamp
        return to_datetime(ts) if ts is not None else None


@dataclass(frozen=True, slots=True)
class TemplateStatusUpdate:
    """A template was approved, rejected, paused, disabled, …"""

    waba_id: str
    occurred_at: datetime | None
    value: TemplateStatusValue

    @property
    def template_id(self) -> str:
        """Meta's template id as a string."""
        return str(self.value.message_template_id)


@dataclass(frozen=True, slots=True)
class TemplateCategoryUpdate:
    """A template's category will change or has changed."""

    waba_id: str
    occurred_at: datetime | None
    value: TemplateCategoryValue

    @property
    def template_id(self) -> str:
        """Meta's template id as a string."""
        return str(self.value.message_template_id)


@dataclass(frozen=True, slots=True)
class TemplateQualityUpdate:
    """A template's quality score changed."""

    waba_id: str
    occurred_at: datetime | None
    value: TemplateQualityValue

    @property
    def template_id(self) -> str:
        """Meta's template id as a string."""
        return str(self.value.message_template_id)


@dataclass(frozen=True, slots=True)
class PhoneNumberQualityUpdate:
    """A business number's throughput or messaging limit changed (keyed by display number only)."""

    waba_id: str
    occurred_at: datetime | None
    value: PhoneNumberQualityValue


@dataclass(frozen=True, slots=True)
class PhoneNumberNameUpdate:
    """A business number's display name review finished."""

    waba_id: str
    occurred_at: datetime | None
    value: PhoneNumberNameValue


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """The WhatsApp Business Account was restricted, banned, reinstated, shared, deleted, …"""

    waba_id: str
    occurred_at: datetime | None
    value: AccountUpdateValue


@dataclass(frozen=True, slots=True)
class AccountReviewUpdate:
    """The WhatsApp Business Account's policy review finished."""

    waba_id: str
    occurred_at: datetime | None
    value: AccountReviewValue


@dataclass(frozen=True, slots=True)
class AccountAlert:
    """An alert about messaging limits, business profile or Official Business Account status."""

    waba_id: str
    occurred_at: datetime | None
    value: AccountAlertsValue


@dataclass(frozen=True, slots=True)
class BusinessCapabilityUpdate:
    """The portfolio's messaging limit or phone number cap changed."""

    waba_id: str
    occurred_at: datetime | None
    value: BusinessCapabilityValue


@dataclass(frozen=True, slots=True)
class UnknownChange:
    """A change for a `field` this platform does not model: store it, surface it, never drop it."""

    waba_id: str
    occurred_at: datetime | None
    field: str
    value: Any


WebhookUpdate = (
    InboundMessage
    | StatusUpdate
    | ErrorNotice
    | UserPreferencesUpdate
    | TemplateStatusUpdate
    | TemplateCategoryUpdate
    | TemplateQualityUpdate
    | PhoneNumberQualityUpdate
    | PhoneNumberNameUpdate
    | AccountUpdate
    | AccountReviewUpdate
    | AccountAlert
    | BusinessCapabilityUpdate
    | UnknownChange
)
"""One item of a flattened delivery."""


def _find_contact(contacts: Sequence[Contact], who: ContactIdentity, *, single_item: bool) -> Contact | None:
    # With several messages in one value, contacts[0] is not necessarily the sender: match on ids.
    for contact in contacts:
        if who.matches(contact.identity):
            return contact
    # One item and one contact that cannot be someone else (e.g. a status keyed by phone, a contact by BSUID).
    if single_item and len(contacts) == 1 and not who.conflicts(contacts[0].identity):
        return contacts[0]
    return None


def _with_contact(who: ContactIdentity, contact: Contact | None) -> ContactIdentity:
    return who.merged(contact.identity) if contact is not None else who


def _messages_updates(waba_id: str, value: MessagesValue) -> Iterator[WebhookUpdate]:
    meta = value.metadata
    contacts = value.contacts or []
    messages = value.messages or []
    statuses = value.statuses or []
    single_item = len(messages) + len(statuses) == 1
    for message in messages:
        contact = _find_contact(contacts, message.sender, single_item=single_item)
        yield InboundMessage(
            waba_id=waba_id,
            phone_number_id=meta.phone_number_id,
            display_phone_number=meta.display_phone_number,
            identity=_with_contact(message.sender, contact),
            contact=contact,
            message=message,
        )
    for status in statuses:
        contact = _find_contact(contacts, status.recipient, single_item=single_item)
        yield StatusUpdate(
            waba_id=waba_id,
            phone_number_id=meta.phone_number_id,
            display_phone_number=meta.display_phone_number,
            recipient=_with_contact(status.recipient, contact),
            contact=contact,
            status=status,
        )
    for error in value.errors or []:
        yield ErrorNotice(
            waba_id=waba_id,
            phone_number_id=meta.phone_number_id,
            display_phone_number=meta.display_phone_number,
            error=error,
        )


def _user_preferences_updates(waba_id: str, value: UserPreferencesValue) -> Iterator[WebhookUpdate]:
    contacts = value.contacts or []
    single_item = len(value.user_preferences) == 1
    for preference in value.user_preferences:
        contact = _find_contact(contacts, preference.identity, single_item=single_item)
        yield UserPreferencesUpdate(
            waba_id=waba_id,
            phone_number_id=value.metadata.phone_number_id,
            display_phone_number=value.metadata.display_phone_number,
            identity=_with_contact(preference.identity, contact),
            preference=preference,
        )


def _change_updates(entry: Entry, change: Change) -> Iterator[WebhookUpdate]:
    waba_id, at = entry.id, entry.occurred_at
    if isinstance(change, MessagesChange):
        yield from _messages_updates(waba_id, change.value)
    elif isinstance(change, UserPreferencesChange):
        yield from _user_preferences_updates(waba_id, change.value)
    elif isinstance(change, TemplateStatusChange):
        yield TemplateStatusUpdate(waba_id, at, change.value)
    elif isinstance(change, TemplateCategoryChange):
        yield TemplateCategoryUpdate(waba_id, at, change.value)
    elif isinstance(change, TemplateQualityChange):
        yield TemplateQualityUpdate(waba_id, at, change.value)
    elif isinstance(change, PhoneNumberQualityChange):
        yield PhoneNumberQualityUpdate(waba_id, at, change.value)
    elif isinstance(change, PhoneNumberNameChange):
        yield PhoneNumberNameUpdate(waba_id, at, change.value)
    elif isinstance(change, AccountUpdateChange):
        yield AccountUpdate(waba_id, at, change.value)
    elif isinstance(change, AccountReviewChange):
        yield AccountReviewUpdate(waba_id, at, change.value)
    elif isinstance(change, AccountAlertsChange):
        yield AccountAlert(waba_id, at, change.value)
    elif isinstance(change, BusinessCapabilityChange):
        yield BusinessCapabilityUpdate(waba_id, at, change.value)
    elif isinstance(change, UnknownFieldChange):
        yield UnknownChange(waba_id, at, change.field, change.value)


def iter_updates(envelope: WebhookEnvelope) -> Iterator[WebhookUpdate]:
    """Every update in a delivery, in Meta's order: entries, then changes, then within a `messages` change its
    messages, statuses and errors. Nothing is skipped; unknown fields come out as `UnknownChange`."""
    for entry in envelope.entry:
        for change in entry.changes:
            yield from _change_updates(entry, change)


def parse_updates(raw: bytes | str | Mapping[str, Any]) -> list[WebhookUpdate]:
    """`parse_webhook` then `iter_updates`, as a list. Raises `WebhookPayloadError` on unreadable input."""
    return list(iter_updates(parse_webhook(raw)))


# ------------------------------------------------------------------------------------------------------------
# Preview text
# ------------------------------------------------------------------------------------------------------------

PREVIEW_LENGTH = 80
_WHITESPACE = re.compile(r"\s+")


def _clip(text: str, limit: int) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def _labelled(icon: str, text: str | None, fallback: str, limit: int) -> str:
    label = _clip(text, limit - len(icon) - 1) if text and text.strip() else fallback
    return f"{icon} {label}"


def _preview_of(message: BaseMessage, limit: int) -> str:
    if isinstance(message, TextMessage):
        return _clip(message.text.body, limit) or "Message"
    if isinstance(message, ImageMessage):
        return _labelled("📷", message.image.caption, "Photo", limit)
    if isinstance(message, VideoMessage):
        return _labelled("🎥", message.video.caption, "Video", limit)
    if isinstance(message, AudioMessage):
        return "🎤 Voice message" if message.audio.voice else "🎵 Audio"
    if isinstance(message, DocumentMessage):
        return _labelled("📄", message.document.filename or message.document.caption, "Document", limit)
    if isinstance(message, StickerMessage):
        return "💟 Sticker"
    if isinstance(message, LocationMessage):
        return _labelled("📍", message.location.name or message.location.address, "Location", limit)
    if isinstance(message, ContactsMessage):
        cards = message.contacts
        if len(cards) == 1:
            return _labelled("👤", cards[0].display_name, "Contact", limit)
        return f"👤 {len(cards)} contacts"
    if isinstance(message, InteractiveMessage):
        pick = message.interactive.pick
        if pick is not None:
            return _clip(pick.title or pick.id, limit)
        if message.interactive.nfm_reply is not None:
            return "📝 Form submitted"
        return "Interactive reply"
    if isinstance(message, ButtonMessage):
        return _clip(message.button.text or message.button.payload or "", limit) or "Button reply"
    if isinstance(message, ReactionMessage):
        if message.reaction.removed:
            return "Removed a reaction"
        return f"Reacted {message.reaction.emoji} to a message"
    if isinstance(message, OrderMessage):
        count = len(message.order.product_items or [])
        return f"🛒 Order ({count} item{'s' if count != 1 else ''})"
    if isinstance(message, SystemMessage):
        return _clip(message.system.body or "", limit) or "System notification"
    if isinstance(message, RevokeMessage):
        return "🚫 Message deleted"
    if isinstance(message, EditMessage):
        inner = message.edit.message or {}
        text = inner.get("text")
        body = text.get("body") if isinstance(text, Mapping) else None
        return _labelled("✏️", body if isinstance(body, str) else None, "Edited a message", limit)
    if isinstance(message, RequestWelcomeMessage):
        return "👋 Started a chat"
    if message.type in ("deleted", "revoke"):
        return "🚫 Message deleted"
    return "⚠️ Unsupported message"


def message_preview(message: BaseMessage, *, limit: int = PREVIEW_LENGTH) -> str:
    """A short human text for an inbound message (e.g. "📷 Photo", "Reacted 👍 to a message")."""
    return _preview_of(message, max(limit, 8))
