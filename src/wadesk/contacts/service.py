"""Contacts: identity resolution by phone (wa_id) or business-scoped user id, and phone normalisation."""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.contacts.models import Contact
from wadesk.errors import Unprocessable

_NON_DIGITS = re.compile(r"[\s\-().]")


def normalize_wa_id(value: str) -> str:
    """A phone number as WhatsApp ids it: country code and number, digits only (E.164 without the '+')."""
    cleaned = _NON_DIGITS.sub("", value.strip())
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    elif cleaned.startswith("00"):
        cleaned = cleaned[2:]
    if not cleaned.isdigit() or not 8 <= len(cleaned) <= 15:
        raise Unprocessable(
            f"'{value}' is not a phone number in international format (e.g. +15551234001).",
            code="invalid_phone_number",
        )
    return cleaned


async def find_contact(session: AsyncSession, *, wa_id: str | None, bsuid: str | None) -> Contact | None:
    conditions = []
    if wa_id:
        conditions.append(Contact.wa_id == wa_id)
    if bsuid:
        conditions.append(Contact.bsuid == bsuid)
    if not conditions:
        return None
    rows = (
        await session.execute(select(Contact).where(or_(*conditions)).order_by(Contact.created_at))
    ).scalars()
    found = list(rows)
    if not found:
        return None
    # Prefer the row that matches on the business-scoped id: it is stable when a user changes number.
    for contact in found:
        if bsuid and contact.bsuid == bsuid:
            return contact
    return found[0]


async def upsert_contact(
    session: AsyncSession,
    *,
    wa_id: str | None,
    bsuid: str | None = None,
    profile_name: str | None = None,
    username: str | None = None,
) -> tuple[Contact, bool]:
    """The contact for this WhatsApp identity, created when new; fills in identifiers learnt later."""
    if not wa_id and not bsuid:
        raise ValueError("a contact needs a wa_id or a business-scoped user id")
    contact = await find_contact(session, wa_id=wa_id, bsuid=bsuid)
    created = contact is None
    if contact is None:
        contact = Contact(wa_id=wa_id, bsuid=bsuid, profile_name=profile_name, username=username)
        session.add(contact)
        await session.flush()
    else:
        if wa_id and not contact.wa_id:
            contact.wa_id = wa_id
        if bsuid and not contact.bsuid:
            contact.bsuid = bsuid
        if profile_name and contact.profile_name != profile_name:
            contact.profile_name = profile_name
        if username and contact.username != username:
            contact.username = username
    return contact, created
