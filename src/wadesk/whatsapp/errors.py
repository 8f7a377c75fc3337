"""The Cloud API error catalogue and the exception raised for failed Graph API calls.

Meta reports errors by numeric `code` (plus a free-text `details`), synchronously in an HTTP error body or
asynchronously in `failed` status webhooks and `value.errors`. Every place in the platform that has to decide
"retry, fall back to a template, tell the agent, or alert the tenant" asks `explain(code)`; the decision
lives in `CATALOGUE` and nowhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import httpx


class ErrorCategory(StrEnum):
    """What kind of problem an error is, which decides what the platform does about it."""

    RATE_LIMITED = "rate_limited"
    """Throughput, pair or API-call limits: retry the same request later with backoff."""
    TRANSIENT = "transient"
    """Meta-side or network trouble: retry with bounded exponential backoff."""
    REENGAGEMENT_REQUIRED = "reengagement_required"
    """The 24-hour customer service window is closed: only an approved template can reach the user."""
    RECIPIENT = "recipient"
    """Something about this recipient (not on WhatsApp, opted out, capped): do not retry."""
    TEMPLATE = "template"
    """The template or its parameters are wrong, missing, paused or disabled."""
    MEDIA = "media"
    """The media could not be fetched, uploaded or downloaded."""
    AUTH = "auth"
    """The access token is invalid or lacks permissions: the tenant must reconnect."""
    ACCOUNT = "account"
    """The WhatsApp Business Account or phone number is restricted, locked or misconfigured."""
    INVALID_REQUEST = "invalid_request"
    """The request itself is malformed: a bug or bad input, never fixed by retrying."""
    UNKNOWN = "unknown"
    """A code this catalogue does not know: treated as permanent until someone looks at it."""


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What one Meta error code means and what to do about it."""

    code: int | None
    category: ErrorCategory
    retryable: bool
    title: str
    explanation: str
    """A sentence an agent or tenant admin can act on."""
    retry_after_seconds: float | None = None
    """For retryable errors, the shortest sensible wait before the first retry."""


def _entry(
    code: int,
    category: ErrorCategory,
    title: str,
    explanation: str,
    *,
    retry_after: float | None = None,
) -> tuple[int, CatalogueEntry]:
    retryable = category in (ErrorCategory.RATE_LIMITED, ErrorCategory.TRANSIENT)
    return code, CatalogueEntry(code, category, retryable, title, explanation, retry_after)


_C = ErrorCategory

# fmt: off
CATALOGUE: Mapping[int, CatalogueEntry] = dict(
    [
        # Throttling. Retrying the same request later succeeds; hammering it makes things worse.
        _entry(4, _C.RATE_LIMITED, "Application request limit reached",
               "The app made too many Graph API calls. Calls are slowed down and retried automatically.",
               retry_after=60),
        _entry(80007, _C.RATE_LIMITED, "WhatsApp Business Account rate limit reached",
               "Too many management calls for this WhatsApp Business Account. They will be retried later.",
               retry_after=60),
        _entry(130429, _C.RATE_LIMITED, "Rate limit hit",
               "The phone number reached its messages-per-second throughput. The message is queued and "
               "retried automatically.", retry_after=1),
        _entry(131056, _C.RATE_LIMITED, "Pair rate limit hit",
               "Too many messages to this contact in a short time. The next message to them is delayed a "
               "few seconds; other contacts are not affected.", retry_after=6),
        _entry(132069, _C.RATE_LIMITED, "Flow is throttled",
               "The Flow is sending too many messages right now. Try again later.", retry_after=60),
        # Meta-side trouble: retry with backoff, a bounded number of times.
        _entry(1, _C.TRANSIENT, "Unknown API error",
               "WhatsApp had a temporary problem. The message is retried automatically.", retry_after=2),
        _entry(2, _C.TRANSIENT, "Temporary service error",
               "WhatsApp is temporarily unavailable. The message is retried automatically.", retry_after=2),
        _entry(131000, _C.TRANSIENT, "Something went wrong",
               "WhatsApp failed to process the message for an unknown reason. It is retried automatically; "
               "if it keeps failing, check WhatsApp's status page.", retry_after=2),
        _entry(131016, _C.TRANSIENT, "Service unavailable",
               "WhatsApp is temporarily overloaded. The message is retried automatically.", retry_after=5),
        _entry(133004, _C.TRANSIENT, "Server temporarily unavailable",
               "WhatsApp's servers are temporarily unavailable. The message is retried automatically.",
               retry_after=5),
        _entry(131057, _C.TRANSIENT, "Business account in maintenance mode",
               "The number is briefly in maintenance (for example a throughput upgrade). Sending resumes "
               "within about a minute.", retry_after=60),
        # The customer service window.
        _entry(131047, _C.REENGAGEMENT_REQUIRED, "Re-engagement message",
               "More than 24 hours have passed since the customer last wrote. Send an approved template to "
               "restart the conversation."),
        # The recipient.
        _entry(131026, _C.RECIPIENT, "Message undeliverable",
               "The message could not be delivered: the number may not be on WhatsApp, the customer may not "
               "have accepted the latest terms, or their app is too old."),
        _entry(131049, _C.RECIPIENT, "Marketing message not delivered",
               "WhatsApp limits how many marketing messages a customer receives. Do not resend this for at "
               "least 24 hours."),
        _entry(131050, _C.RECIPIENT, "Customer stopped marketing messages",
               "The customer opted out of marketing messages from this business. Only service messages "
               "and non-marketing templates can reach them."),
        _entry(130472, _C.RECIPIENT, "Customer is part of an experiment",
               "WhatsApp withheld this marketing message as part of an experiment. Do not retry."),
        _entry(130403, _C.RECIPIENT, "Customer is blocked",
               "This business has blocked the customer. Unblock them before messaging."),
        _entry(131062, _C.RECIPIENT, "Business-scoped user ID not supported here",
               "This message type cannot be sent to a business-scoped user ID. Send to the phone number."),
        _entry(137000, _C.RECIPIENT, "Customer identity changed",
               "The customer's identity key no longer matches. Verify who they are before messaging."),
        # Templates.
        _entry(132000, _C.TEMPLATE, "Template parameter count mismatch",
               "The number of template variables sent does not match the approved template."),
        _entry(132001, _C.TEMPLATE, "Template does not exist",
               "The template does not exist in this language or is not approved. Refresh the template list."),
        _entry(132005, _C.TEMPLATE, "Template hydrated text too long",
               "With the variables filled in, the template text is too long. Shorten the variable "
               "values."),
        _entry(132007, _C.TEMPLATE, "Template format character policy violated",
               "The variables break WhatsApp's formatting policy (for example new lines or too many "
               "spaces)."),
        _entry(132012, _C.TEMPLATE, "Template parameter format mismatch",
               "A template variable has the wrong type, for example a header image where text is expected."),
        _entry(132015, _C.TEMPLATE, "Template is paused",
               "The template was paused because of low quality. Edit it or use another template."),
        _entry(132016, _C.TEMPLATE, "Template is disabled",
               "The template was permanently disabled because of low quality. Use another template."),
        _entry(132068, _C.TEMPLATE, "Flow is blocked",
               "The Flow attached to this message is blocked. Fix the Flow before sending it."),
        _entry(2388019, _C.TEMPLATE, "Template limit reached",
               "This WhatsApp Business Account has reached its maximum number of templates. Delete unused "
               "templates first."),
        _entry(2388039, _C.TEMPLATE, "Template cannot be edited now",
               "The template is under review or was edited too often today. Try again later."),
        # Media.
        _entry(131052, _C.MEDIA, "Media download error",
               "The customer's media could not be downloaded (it may be larger than 100 MB). Ask them to "
               "send it another way."),
        _entry(131053, _C.MEDIA, "Media upload error",
               "The media could not be used: the file type is unsupported or does not match its content, or "
               "the link could not be fetched. Upload a supported file and send it again."),
        # Authentication and permissions: the tenant has to reconnect or fix the app's access.
        _entry(0, _C.AUTH, "Authentication error",
               "WhatsApp could not authenticate this account's access token. Reconnect the WhatsApp "
               "account."),
        _entry(3, _C.AUTH, "Capability not granted",
               "The app lacks a capability this action needs. Check the app's permissions."),
        _entry(10, _C.AUTH, "Permission denied",
               "The access token lacks permission for this action or asset. Reconnect the WhatsApp account."),
        _entry(190, _C.AUTH, "Access token expired or invalid",
               "The WhatsApp access token expired or was revoked. Reconnect the WhatsApp account."),
        _entry(200, _C.AUTH, "Permission error",
               "The access token lacks a required permission or asset assignment. Reconnect the WhatsApp "
               "account."),
        # The business account or number.
        _entry(368, _C.ACCOUNT, "Temporarily blocked for policy violations",
               "The WhatsApp Business Account is restricted for policy violations. Sending is blocked until "
               "the restriction ends."),
        _entry(131031, _C.ACCOUNT, "Account locked",
               "The WhatsApp Business Account is locked (policy violation or two-step verification "
               "mismatch). Check the account in WhatsApp Manager."),
        _entry(131048, _C.ACCOUNT, "Spam rate limit hit",
               "Messages from this number were blocked or reported as spam, so sending is restricted. Pause "
               "campaigns and check the number's quality."),
        _entry(131064, _C.ACCOUNT, "Messaging limit reached for template violations",
               "Messaging is limited because of template classification violations. Wait until the "
               "enforcement period ends."),
        _entry(130497, _C.ACCOUNT, "Country restricted",
               "This business cannot message users in the recipient's country."),
        _entry(131042, _C.ACCOUNT, "Business eligibility payment issue",
               "There is a problem with the account's payment method. Fix billing in WhatsApp Manager."),
        _entry(131045, _C.ACCOUNT, "Phone number registration error",
               "The business phone number is not correctly registered. Register it again."),
        _entry(133010, _C.ACCOUNT, "Phone number not registered",
               "The business phone number is not registered on the WhatsApp Business Platform. Register it "
               "before sending."),
        _entry(133016, _C.ACCOUNT, "Too many registration attempts",
               "The number was registered or deregistered too often. Wait before trying again."),
        _entry(131037, _C.ACCOUNT, "Display name not approved",
               "The number needs an approved display name before it can send messages."),
        _entry(131063, _C.ACCOUNT, "Marketing messages disabled",
               "Marketing templates are disabled for this number on the Cloud API."),
        # The request itself.
        _entry(100, _C.INVALID_REQUEST, "Invalid parameter",
               "The request has an unsupported, misspelled or too long parameter. See the details."),
        _entry(131008, _C.INVALID_REQUEST, "Required parameter is missing",
               "The request is missing a required parameter. See the details."),
        _entry(131009, _C.INVALID_REQUEST, "Parameter value is not valid",
               "A parameter has an invalid value. See the details."),
        _entry(131021, _C.INVALID_REQUEST, "Recipient cannot be sender",
               "A number cannot message itself."),
        _entry(131051, _C.INVALID_REQUEST, "Unsupported message type",
               "This message type is not supported by WhatsApp Cloud API."),
        _entry(135000, _C.INVALID_REQUEST, "Generic user error",
               "WhatsApp rejected the request parameters. See the details."),
    ]
)
# fmt: on

_PERMISSION_CODES = range(200, 300)
"""Graph permission errors are the whole 200-299 block; entry 200 speaks for all of them."""


def explain(code: int | None) -> CatalogueEntry:
    """What `code` means and whether to retry. Unknown codes are permanent and categorised UNKNOWN."""
    if code is not None:
        entry = CATALOGUE.get(code)
        if entry is not None:
            return entry
        if code in _PERMISSION_CODES:
            return replace(CATALOGUE[200], code=code)
    return CatalogueEntry(
        code=code,
        category=ErrorCategory.UNKNOWN,
        retryable=False,
        title="Unknown error",
        explanation="WhatsApp returned an error this platform does not recognise. See the details.",
    )


_SERVER_ERROR = CatalogueEntry(
    code=None,
    category=ErrorCategory.TRANSIENT,
    retryable=True,
    title="WhatsApp server error",
    explanation="WhatsApp returned a server error. The request is retried automatically.",
    retry_after_seconds=2,
)
_TOO_MANY_REQUESTS = CatalogueEntry(
    code=None,
    category=ErrorCategory.RATE_LIMITED,
    retryable=True,
    title="Too many requests",
    explanation="WhatsApp asked to slow down. The request is retried later.",
    retry_after_seconds=60,
)
_NOT_AUTHORISED = CatalogueEntry(
    code=None,
    category=ErrorCategory.AUTH,
    retryable=False,
    title="Not authorised",
    explanation="WhatsApp refused the access token. Reconnect the WhatsApp account.",
)
NETWORK_ERROR = CatalogueEntry(
    code=None,
    category=ErrorCategory.TRANSIENT,
    retryable=True,
    title="Network error",
    explanation="WhatsApp could not be reached. The request is retried automatically.",
    retry_after_seconds=2,
)


def _explain_http_status(status: int) -> CatalogueEntry:
    """The best guess when Meta's body carries no code: branch on HTTP status only as a last resort."""
    if status >= 500:
        return _SERVER_ERROR
    if status == 429:
        return _TOO_MANY_REQUESTS
    if status in (401, 403):
        return _NOT_AUTHORISED
    return explain(None)


def _classify(code: int | None, http_status: int | None) -> CatalogueEntry:
    """The code decides; the HTTP status only fills in when the code is missing or unknown."""
    entry = explain(code)
    if entry.category is ErrorCategory.UNKNOWN and http_status is not None:
        by_status = _explain_http_status(http_status)
        if by_status.category is not ErrorCategory.UNKNOWN:
            return replace(by_status, code=code)
    return entry


_TITLE_IN_MESSAGE = re.compile(r"^\(#(\d+)\)\s*(.*)$", re.DOTALL)


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class GraphApiError(Exception):
    """A Graph API call failed: Meta's error body, an unexpected HTTP status, or a network failure.

    `category`/`retryable` come from the catalogue by `code`; `is_transient` (Meta's own hint) also makes an
    error retryable. `outcome_unknown` is set when the request may have reached Meta before the connection
    broke (a read timeout): retrying a send then risks a duplicate, so callers reconcile through webhooks.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        title: str | None = None,
        details: str | None = None,
        error_type: str | None = None,
        fbtrace_id: str | None = None,
        is_transient: bool = False,
        outcome_unknown: bool = False,
        entry: CatalogueEntry | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.details = details
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.is_transient = is_transient
        self.outcome_unknown = outcome_unknown
        if entry is None:
            entry = _classify(code, http_status)
        self.entry = entry
        self.title = title or entry.title
        self.body = body

    @property
    def category(self) -> ErrorCategory:
        """The catalogue category."""
        return self.entry.category

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later."""
        return self.entry.retryable or self.is_transient

    @property
    def explanation(self) -> str:
        """A human sentence an agent can act on."""
        return self.entry.explanation

    def __str__(self) -> str:
        parts = [f"Graph API error {self.code if self.code is not None else '-'}"]
        if self.http_status is not None:
            parts.append(f"(HTTP {self.http_status})")
        parts.append(f"{self.title}: {self.details or self.message}")
        if self.fbtrace_id:
            parts.append(f"[fbtrace_id={self.fbtrace_id}]")
        return " ".join(parts)

    @classmethod
    def from_error_object(cls, error: Mapping[str, Any], *, http_status: int | None = None) -> GraphApiError:
        """Build from the object inside Meta's `{"error": {...}}` body."""
        code = _optional_int(error.get("code"))
        raw_message = _optional_str(error.get("message")) or "Graph API error"
        title = _optional_str(error.get("error_user_title"))
        # Meta puts the title in the message as "(#130429) Rate limit hit"; the prefix is noise once parsed.
        match = _TITLE_IN_MESSAGE.match(raw_message)
        if match and title is None:
            title = match.group(2).strip() or None
        error_data = error.get("error_data")
        details = None
        if isinstance(error_data, Mapping):
            details = _optional_str(error_data.get("details"))
        elif isinstance(error_data, str):
            details = error_data or None
        details = details or _optional_str(error.get("error_user_msg"))
        return cls(
            raw_message,
            http_status=http_status,
            code=code,
            subcode=_optional_int(error.get("error_subcode")),
            title=title,
            details=details,
            error_type=_optional_str(error.get("type")),
            fbtrace_id=_optional_str(error.get("fbtrace_id")),
            is_transient=error.get("is_transient") is True,
            body={"error": dict(error)},
        )

    @classmethod
    def from_response(cls, http_status: int, body: bytes | str | Mapping[str, Any] | None) -> GraphApiError:
        """Build from an HTTP response: Meta's error body when there is one, else the status alone."""
        data: Any = body
        if isinstance(body, bytes | str):
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = None
        if isinstance(data, Mapping):
            error = data.get("error")
            if isinstance(error, Mapping):
                return cls.from_error_object(error, http_status=http_status)
        return cls(f"HTTP {http_status} without a Graph error body", http_status=http_status, body=data)

    @classmethod
    def from_transport_error(cls, exc: httpx.TransportError) -> GraphApiError:
        """A network failure or timeout: always retryable, and flagged when the request may have landed."""
        # A read-side failure means the request was fully written; Meta may have acted on it.
        outcome_unknown = isinstance(exc, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError)
        return cls(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            outcome_unknown=outcome_unknown,
            entry=NETWORK_ERROR,
        )
