"""A built-in fake of Meta's WhatsApp Cloud API (Graph API), so the whole product runs offline.

`create_simulator_app(config)` gives an ASGI app to mount at `/simulator`; `get_simulator(app)` the object
behind it (registration of numbers and templates, stats, `drain()`, `aclose()`). `simulate_inbound(...)` makes
a customer message a running application.
"""

from .app import create_simulator_app, get_simulator
from .config import (
    AmbientSender,
    SimulatedPhoneNumber,
    SimulatedTemplate,
    SimulatorConfig,
    StatusDelays,
)
from .delivery import post_webhook, webhook_headers
from .engine import (
    RESERVED_FAILED_RECIPIENTS,
    RESERVED_RATE_LIMITED_RECIPIENT,
    SentMessage,
    Simulator,
)
from .graph_errors import GraphError
from .inbound import (
    InboundMessage,
    MediaRef,
    build_inbound_message,
    build_inbound_message_payload,
    inbound_wamid,
    send_inbound,
    simulate_inbound,
)
from .stats import SimulatorStats

__all__ = [
    "RESERVED_FAILED_RECIPIENTS",
    "RESERVED_RATE_LIMITED_RECIPIENT",
    "AmbientSender",
    "GraphError",
    "InboundMessage",
    "MediaRef",
    "SentMessage",
    "SimulatedPhoneNumber",
    "SimulatedTemplate",
    "Simulator",
    "SimulatorConfig",
    "SimulatorStats",
    "StatusDelays",
    "build_inbound_message",
    "build_inbound_message_payload",
    "create_simulator_app",
    "get_simulator",
    "inbound_wamid",
    "post_webhook",
    "send_inbound",
    "simulate_inbound",
    "webhook_headers",
]
