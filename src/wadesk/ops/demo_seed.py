"""The demo tenant of API_CONTRACT.md: Demo Company, two users, one number, 5 conversations, 10 messages,
3 approved templates. Idempotent: when the tenant exists nothing is changed."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.contacts.models import Contact
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.conversations.window import customer_window_expiry
from wadesk.db.base import utcnow
from wadesk.kit.crypto import Keyring
from wadesk.kit.passwords import hash_password
from wadesk.messages.models import Direction, Message, MessageStatus
from wadesk.messages.service import message_preview, message_text
from wadesk.phone_numbers.models import PhoneNumber
from wadesk.phone_numbers.service import encrypt_credential
from wadesk.templates.models import Template
from wadesk.tenants.models import Tenant
from wadesk.tenants.service import create_tenant
from wadesk.users.models import Role, User

DEMO_SLUG = "demo-company"
DEMO_PHONE_NUMBER_ID = "1234567890"
DEMO_WABA_ID = "9876543210"
DEMO_ACCESS_TOKEN = "demo-simulator-access-token"

DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "hello_world",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {
                "type": "BODY",
                "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp "
                "message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test "
                "with us.",
            },
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ],
    },
    {
        "name": "order_update",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} is now {{3}}. Reply to this message if you have any questions.",
                "example": {"body_text": [["Maria", "#4521", "out for delivery"]]},
            },
            {"type": "FOOTER", "text": "Demo Company"},
        ],
    },
    {
        "name": "appointment_reminder",
        "category": "UTILITY",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Appointment on {{1}}",
                "example": {"header_text": ["Friday, 14 March"]},
            },
            {
                "type": "BODY",
                "text": "Hello {{1}}, this is a reminder of your appointment with {{2}} at {{3}}. "
                "Reply YES to confirm or NO to reschedule.",
                "example": {"body_text": [["James", "Dr. Patel", "10:30"]]},
            },
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": "YES"}, {"type": "QUICK_REPLY", "text": "NO"}],
            },
        ],
    },
]


@dataclass(frozen=True)
class _DemoMessage:
    direction: Direction
    type: str
    content: dict[str, Any]
    age: timedelta
    status: MessageStatus
    by_agent: bool = False


def _text(body: str) -> dict[str, Any]:
    return {"body": body, "preview_url": False}


def _template(name: str, params: list[str], rendered: str) -> dict[str, Any]:
    components = (
        [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}] if params else []
    )
    return {
        "name": name,
        "language": {"code": "en_US"},
        "components": components,
        "rendered": rendered,
        "category": "UTILITY",
    }


IN, OUT = Direction.INBOUND, Direction.OUTBOUND
H, M = timedelta(hours=1), timedelta(minutes=1)

# (wa_id, name, status, assignee role, messages oldest first). 10 messages in all; only the first
# conversation's last inbound message is inside the 24-hour window.
DEMO_CONVERSATIONS: list[tuple[str, str, ConversationStatus, Role | None, list[_DemoMessage]]] = [
    (
        "15551234001",
        "Maria Garcia",
        ConversationStatus.OPEN,
        Role.AGENT,
        [
            _DemoMessage(
                OUT,
                "template",
                _template(
                    "order_update",
                    ["Maria", "#4521", "shipped"],
                    "Hi Maria, your order #4521 is now shipped. Reply to this message if you have any questions.",
                ),
                50 * H,
                MessageStatus.READ,
                by_agent=True,
            ),
            _DemoMessage(IN, "text", _text("Thanks! When will it arrive?"), 40 * M, MessageStatus.READ),
            _DemoMessage(
                OUT,
                "text",
                _text("It's with the courier now and should arrive tomorrow before noon."),
                35 * M,
                MessageStatus.DELIVERED,
                by_agent=True,
            ),
            _DemoMessage(
                IN,
                "text",
                _text("Great, could you send me the tracking link?"),
                4 * M,
                MessageStatus.RECEIVED,
            ),
        ],
    ),
    (
        "15551234002",
        "James Wilson",
        ConversationStatus.PENDING,
        Role.AGENT,
        [
            _DemoMessage(
                IN,
                "text",
                _text("Hello, I'd like to book an appointment for Friday morning."),
                52 * H,
                MessageStatus.READ,
            ),
            _DemoMessage(
                OUT,
                "text",
                _text("Of course! We have 9:00 and 10:30 available on Friday. Which one suits you?"),
                51 * H,
                MessageStatus.READ,
                by_agent=True,
            ),
        ],
    ),
    (
        "15551234003",
        "Aisha Khan",
        ConversationStatus.RESOLVED,
        Role.ADMIN,
        [
            _DemoMessage(
                IN, "text", _text("Do you have the linen shirt in size M?"), 74 * H, MessageStatus.READ
            ),
            _DemoMessage(
                OUT,
                "text",
                _text("Yes, size M is in stock in white and sand. Shall I reserve one for you?"),
                73 * H,
                MessageStatus.READ,
                by_agent=True,
            ),
        ],
    ),
    (
        "15551234004",
        "Lucas Silva",
        ConversationStatus.OPEN,
        None,
        [
            _DemoMessage(
                IN,
                "text",
                _text("Hi, my promo code SAVE10 isn't working at checkout."),
                30 * H,
                MessageStatus.RECEIVED,
            ),
        ],
    ),
    (
        "15551234005",
        "Emma Johnson",
        ConversationStatus.OPEN,
        Role.ADMIN,
        [
            _DemoMessage(
                OUT,
                "template",
                _template(
                    "hello_world",
                    [],
                    "Hello World\nWelcome and congratulations!! This message demonstrates your ability to send a "
                    "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the "
                    "time to test with us.\nWhatsApp Business Platform sample message",
                ),
                96 * H,
                MessageStatus.DELIVERED,
                by_agent=True,
            ),
        ],
    ),
]


async def seed_demo(session: AsyncSession, keyring: Keyring, *, now: datetime | None = None) -> bool:
    """Create the demo tenant; False when it already exists (nothing is changed then)."""
    if (await session.execute(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))).first() is not None:
        return False
    now = now or utcnow()
    tenant = await create_tenant(session, "Demo Company", slug=DEMO_SLUG)
    admin = User(
        tenant_id=tenant.id, email="admin@demo.com", name="Alex Admin", role=Role.ADMIN,
        password_hash=hash_password("admin123"),
    )  # fmt: skip
    agent = User(
        tenant_id=tenant.id, email="agent@demo.com", name="Sam Agent", role=Role.AGENT,
        password_hash=hash_password("agent123"),
    )  # fmt: skip
    number = PhoneNumber(
        tenant_id=tenant.id,
        name="Demo support line",
        waba_id=DEMO_WABA_ID,
        phone_number_id=DEMO_PHONE_NUMBER_ID,
        display_phone_number="+1 555-000-0000",
        verified_name="Demo Company",
        access_token_encrypted=encrypt_credential(keyring, tenant.id, DEMO_ACCESS_TOKEN),
        messages_per_second=80,
        messaging_limit_tier="TIER_1K",
    )
    session.add_all([admin, agent, number])
    for spec in DEMO_TEMPLATES:
        session.add(
            Template(
                tenant_id=tenant.id,
                waba_id=DEMO_WABA_ID,
                meta_template_id=str(zlib.crc32(spec["name"].encode())),
                name=spec["name"],
                language="en_US",
                category=spec["category"],
                status="APPROVED",
                components=spec["components"],
                quality_score="GREEN",
            )
        )
    await session.flush()
    assignees = {Role.ADMIN: admin, Role.AGENT: agent}
    for index, (wa_id, name, status, assignee_role, messages) in enumerate(DEMO_CONVERSATIONS):
        contact = Contact(tenant_id=tenant.id, wa_id=wa_id, name=name, profile_name=name, tags=["demo"])
        session.add(contact)
        await session.flush()
        last = messages[-1]
        inbound = [m for m in messages if m.direction == IN]
        last_inbound_at = now - inbound[-1].age if inbound else None
        conversation = Conversation(
            tenant_id=tenant.id,
            contact_id=contact.id,
            phone_number_id=number.id,
            status=status,
            assignee_id=assignees[assignee_role].id if assignee_role else None,
            unread_count=sum(1 for m in messages if m.status == MessageStatus.RECEIVED),
            last_message_at=now - last.age,
            last_message_preview=message_preview(last.type, last.content),
            last_inbound_at=last_inbound_at,
            customer_window_expires_at=customer_window_expiry(last_inbound_at),
            resolved_at=now - last.age if status == ConversationStatus.RESOLVED else None,
            created_at=now - messages[0].age,
        )
        session.add(conversation)
        await session.flush()
        for position, spec_message in enumerate(messages):
            at = now - spec_message.age
            outbound = spec_message.direction == OUT
            session.add(
                Message(
                    tenant_id=tenant.id,
                    conversation_id=conversation.id,
                    phone_number_id=number.id,
                    contact_id=contact.id,
                    direction=spec_message.direction,
                    type=spec_message.type,
                    content=spec_message.content,
                    body_text=message_text(spec_message.type, spec_message.content),
                    wamid=f"wamid.DEMO{index + 1:02d}{position + 1:02d}{wa_id}",
                    status=spec_message.status,
                    created_at=at,
                    meta_timestamp=None if outbound else at,
                    sender_user_id=conversation.assignee_id or admin.id if spec_message.by_agent else None,
                    sent_at=at if outbound else None,
                    delivered_at=at + M
                    if spec_message.status in (MessageStatus.DELIVERED, MessageStatus.READ)
                    else None,
                    read_at=at + 2 * M if spec_message.status == MessageStatus.READ else None,
                )
            )
    return True
