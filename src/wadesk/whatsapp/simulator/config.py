"""What the simulator knows (phone numbers, templates) and how it behaves (delays, disorder, transport)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .ids import new_numeric_id

TEMPLATE_CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})


@dataclass
class SimulatedPhoneNumber:
    """A business phone number the simulated Graph API serves.

    `access_token`: when set, Graph calls for this number must carry it as the bearer token (anything else
    gets Meta's error 190); when None, any bearer token is accepted.
    """

    phone_number_id: str
    waba_id: str
    display_phone_number: str
    verified_name: str = "Test Number"
    messages_per_second: int = 80
    access_token: str | None = None
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_250"

    def __post_init__(self) -> None:
        if self.messages_per_second < 1:
            raise ValueError("messages_per_second must be at least 1")


@dataclass
class SimulatedTemplate:
    """A message template of a WABA, in the shape `GET /{waba-id}/message_templates` returns it."""

    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    status: str = "APPROVED"
    id: str = field(default_factory=new_numeric_id)
    parameter_format: str = "POSITIONAL"

    def __post_init__(self) -> None:
        self.category = self.category.upper()
        self.status = self.status.upper()
        self.parameter_format = self.parameter_format.upper()
        # Copies, so normalising the component types never touches the caller's dicts.
        self.components = [
            {**component, "type": component["type"].upper()}
            if isinstance(component.get("type"), str)
            else dict(component)
            for component in self.components
        ]

    def to_graph(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }


@dataclass
class StatusDelays:
    """Seconds after the send at which each status webhook is posted; None skips that status."""

    sent: float = 0.2
    delivered: float | None = 0.5
    read: float | None = 1.0


@dataclass
class AmbientSender:
    """A simulated customer who writes in now and then during a demo."""

    wa_id: str
    name: str


@dataclass
class SimulatorConfig:
    """Everything the simulator needs.

    Webhooks go to `app_webhook_url`, signed with `app_secret`. They are posted with the client that
    `http_client_factory` returns, or else with a client over `webhook_transport` (tests pass an
    `httpx.ASGITransport`), or else with a plain `httpx.AsyncClient`; at most `webhook_concurrency` at a time
    (the client keeps that many connections alive, where one connection per status opened and closed most).

    `duplicate_ratio` is the share of status webhooks delivered twice; `out_of_order_ratio` the share of sent
    messages whose status webhooks arrive with two of them swapped. `seed` makes those choices (and ambient
    traffic) repeatable. `status_batch_seconds` > 0 posts the statuses of a number that fall due within that
    many seconds together, in one webhook of up to 1,000 (Meta aggregates event notifications "in a batch with
    a maximum of 1000 updates", though it does not guarantee it); 0 posts each status on its own. `clock`
    (unix seconds) drives throughput windows and payload timestamps; delays are real `asyncio.sleep`s.

    `public_url` is the absolute URL the simulator is reachable at (e.g. `http://127.0.0.1:8000/simulator`);
    it is used for media URLs when there is no request to derive them from.
    """

    app_webhook_url: str
    app_secret: str
    phone_numbers: list[SimulatedPhoneNumber] = field(default_factory=list)
    templates: dict[str, list[SimulatedTemplate]] = field(default_factory=dict)
    status_delays: StatusDelays = field(default_factory=StatusDelays)
    template_review_delay: float = 1.0
    duplicate_ratio: float = 0.0
    out_of_order_ratio: float = 0.0
    status_batch_seconds: float = 0.0
    seed: int | None = None
    http_client_factory: Callable[[], httpx.AsyncClient] | None = None
    webhook_transport: httpx.AsyncBaseTransport | None = None
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 16
    webhook_max_attempts: int = 3
    webhook_retry_delay: float = 1.0
    clock: Callable[[], float] = time.time
    public_url: str | None = None
    media_max_total_bytes: int = 256 * 1024 * 1024
    media_url_ttl_seconds: float = 300.0
    ambient_interval: float | None = None
    ambient_phone_number_id: str | None = None
    ambient_senders: list[AmbientSender] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("duplicate_ratio", "out_of_order_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.status_batch_seconds < 0:
            raise ValueError("status_batch_seconds must not be negative")
        if self.webhook_concurrency < 1:
            raise ValueError("webhook_concurrency must be at least 1")
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        if self.ambient_interval is not None and self.ambient_interval <= 0:
            raise ValueError("ambient_interval must be positive")
