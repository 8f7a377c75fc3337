from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, true

from wadesk.contacts.models import Contact, ContactTag
from wadesk.conversations.repository import escape_like
from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository


@dataclass(frozen=True, slots=True)
class ContactFilters:
    search: str | None = None
    tag: str | None = None
    opted_out: bool | None = None
    blocked: bool | None = None
    last_seen_after: datetime | None = None
    last_seen_before: datetime | None = None


class ContactRepository(Repository[Contact]):
    model = Contact
    not_found_message = "Contact not found."

    async def list_page(self, filters: ContactFilters, *, limit: int, after: Cursor | None) -> list[Contact]:
        """Newest first; one statement whatever the filters."""
        stmt = select(Contact)
        if filters.search:
            term = filters.search.strip().lower()
            pattern = f"%{escape_like(term)}%"
            matches = [
                func.lower(Contact.name).like(pattern, escape="\\"),
                func.lower(Contact.profile_name).like(pattern, escape="\\"),
                func.lower(Contact.username).like(pattern, escape="\\"),
                func.lower(Contact.bsuid).like(pattern, escape="\\"),
            ]
            digits = "".join(ch for ch in term if ch.isdigit())
            if digits:
                matches.append(Contact.wa_id.like(f"%{digits}%"))
            stmt = stmt.where(or_(*matches))
        if filters.tag:
            stmt = stmt.where(
                exists(
                    select(ContactTag.id).where(
                        ContactTag.contact_id == Contact.id, ContactTag.tag == filters.tag
                    )
                )
            )
        if filters.opted_out is not None:
            stmt = stmt.where(Contact.opted_out.is_(filters.opted_out))
        if filters.blocked is not None:
            stmt = stmt.where(Contact.blocked.is_(filters.blocked))
        if filters.last_seen_after is not None:
            stmt = stmt.where(Contact.last_seen_at >= filters.last_seen_after)
        if filters.last_seen_before is not None:
            stmt = stmt.where(Contact.last_seen_at < filters.last_seen_before)
        if after is not None and after.at is not None:
            stmt = stmt.where(
                or_(
                    Contact.created_at < after.at, and_(Contact.created_at == after.at, Contact.id < after.id)
                )
            )
        stmt = stmt.order_by(Contact.created_at.desc(), Contact.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def by_wa_ids(self, wa_ids: Iterable[str]) -> list[Contact]:
        wanted = sorted(set(wa_ids))
        if not wanted:
            return []
        stmt = select(Contact).where(Contact.wa_id.in_(wanted)).order_by(Contact.created_at, Contact.id)
        return list((await self.session.execute(stmt)).scalars())

    async def tag_counts(self) -> list[tuple[str, int]]:
        stmt = (
            select(ContactTag.tag, func.count())
            .group_by(ContactTag.tag)
            .order_by(func.count().desc(), ContactTag.tag)
            .limit(500)
        )
        return [(str(tag), int(count)) for tag, count in (await self.session.execute(stmt)).all()]

    async def attribute_key_counts(self) -> list[tuple[str, int]]:
        """Each attribute key the contacts use, by key, with how many contacts have it."""
        if self.session.get_bind().dialect.name == "postgresql":
            pairs, is_object = func.jsonb_each(Contact.attributes), func.jsonb_typeof(Contact.attributes)
        else:
            pairs, is_object = func.json_each(Contact.attributes), func.json_type(Contact.attributes)
        # Only objects have keys (jsonb_each raises on any other JSON value, such as a stored `null`).
        entries = pairs.table_valued("key", "value")
        stmt = (
            select(entries.c.key, func.count())
            .select_from(Contact)
            .join(entries, true())
            .where(is_object == "object")
            .group_by(entries.c.key)
            .order_by(entries.c.key)
            .limit(500)
        )
        return [(str(key), int(count)) for key, count in (await self.session.execute(stmt)).all()]

    async def page_after(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Contact]:
        """Oldest first, for exports that walk the whole table in pages."""
        stmt = select(Contact)
        if after is not None:
            at, last_id = after
            stmt = stmt.where(
                or_(Contact.created_at > at, and_(Contact.created_at == at, Contact.id > last_id))
            )
        stmt = stmt.order_by(Contact.created_at, Contact.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())
