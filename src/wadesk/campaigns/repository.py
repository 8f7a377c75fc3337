"""Campaign queries. Recipients are read and written in bounded batches by keyset (never all at once), and the
hot paths use the `(campaign_id, status, id)` index: the pump's queue, the in-flight set and the counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from wadesk.campaigns.limits import MESSAGING_LIMIT_WINDOW
from wadesk.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from wadesk.contacts.models import Contact, ContactTag
from wadesk.contacts.service import wa_id_variants
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.db.base import utcnow
from wadesk.kit.pagination import Cursor
from wadesk.kit.repository import Repository
from wadesk.messages.models import Direction, Message, MessageStatus

COUNTED_STATUSES = tuple(s.value for s in RecipientStatus)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A queued recipient the pump may hand over, with what decides whether it uses messaging-limit quota."""

    recipient: CampaignRecipient
    contact: Contact
    window_open: bool
    recently_counted: bool

    @property
    def uses_quota(self) -> bool:
        return not (self.window_open or self.recently_counted)


@dataclass(frozen=True, slots=True)
class InflightOutcome:
    recipient_id: uuid.UUID
    attempts: int
    status: str
    error_code: int | None
    error_title: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None


@dataclass(frozen=True, slots=True)
class TierUsage:
    """Unique customers reached outside their service window in the last 24 hours, and when the first of
    them leaves that window (freeing one unit of quota)."""

    users: int
    next_release_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecipientFilters:
    status: RecipientStatus | None = None
    error_code: int | None = None
    search: str | None = None


def dialect_insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def hours_before(session: AsyncSession, column: Any, hours: int) -> ColumnElement[Any]:
    """`column - hours` in SQL on either backend (SQLite keeps datetimes as sortable text)."""
    if session.get_bind().dialect.name == "postgresql":
        return column - func.make_interval(0, 0, 0, 0, hours)  # type: ignore[no-any-return]
    return func.strftime("%Y-%m-%d %H:%M:%f", column, f"-{hours} hours")


def clean_tags(values: Any) -> list[str]:
    """Tags as contacts store them (lower case, single spaces), so a filter matches however it was typed."""
    return sorted({" ".join(str(v).split()).lower()[:64] for v in values or [] if str(v).strip()})


def tagged_contact_ids(tenant_id: uuid.UUID, spec: dict[str, Any]) -> Select[uuid.UUID] | None:
    """The contacts carrying a contacts audience's tags (any of them; all of them with `tagMatch: "all"`) and
    none of its excluded tags, one id per contact, read from `contact_tags` on its `(tenant_id, tag,
    contact_id)` index; None when the audience names no tags.

    Driving from `contact_tags` is a plan that holds without statistics — a company that imported its
    contacts a minute ago, whose rows PostgreSQL cannot estimate yet — where a subquery correlated with each
    contact is only as good as the planner's guess of how many contacts there are. The excluded tags are
    read in the same pass for the same reason: as `NOT EXISTS` per contact they were planned as a nested
    loop over every excluded contact once per contact."""
    tags = clean_tags(spec.get("tags"))
    if not tags:
        return None
    excluded = clean_tags(spec.get("excludeTags"))
    stmt = (
        select(ContactTag.contact_id)
        .where(ContactTag.tenant_id == tenant_id, ContactTag.tag.in_(sorted({*tags, *excluded})))
        .group_by(ContactTag.contact_id)
    )
    # Which of the rows read are the audience's tags (they are all when nothing is excluded).
    wanted = case((ContactTag.tag.in_(tags), ContactTag.tag)) if excluded else ContactTag.tag
    if spec.get("tagMatch") == "all":
        stmt = stmt.having(func.count(distinct(wanted)) == len(tags))
    elif excluded:
        stmt = stmt.having(func.count(wanted) > 0)
    if excluded:
        stmt = stmt.having(func.count(case((ContactTag.tag.in_(excluded), 1))) == 0)
    return stmt


def contact_audience_filter(
    spec: dict[str, Any], *, tenant_id: uuid.UUID, tags_matched: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE conditions on `contacts` for a contacts audience (tags via `contact_tags`, attributes);
    without the tags and excluded tags the audience asks for when `tags_matched` (the caller picked the
    contacts with `tagged_contact_ids`)."""
    conditions: list[ColumnElement[bool]] = []
    tagged = tagged_contact_ids(tenant_id, spec)
    if tagged is not None:
        if not tags_matched:
            conditions.append(Contact.id.in_(tagged))
    elif excluded := clean_tags(spec.get("excludeTags")):
        conditions.append(
            ~exists().where(
                ContactTag.contact_id == Contact.id,
                ContactTag.tenant_id == Contact.tenant_id,
                ContactTag.tag.in_(excluded),
            )
        )
    for key, value in sorted((spec.get("attributes") or {}).items()):
        conditions.append(Contact.attributes[key].as_string() == value)
    conditions.append(or_(Contact.wa_id.is_not(None), Contact.bsuid.is_not(None)))
    return conditions


def unreachable_reason() -> ColumnElement[Any]:
    """SQL for why a contact cannot be messaged (NULL when it can)."""
    return case((Contact.blocked, literal("blocked")), (Contact.opted_out, literal("opted_out")), else_=None)


class CampaignRepository(Repository[Campaign]):
    model = Campaign
    not_found_message = "Campaign not found."

    async def get_for_update(self, campaign_id: uuid.UUID) -> Campaign | None:
        stmt = select(Campaign).where(Campaign.id == campaign_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_recipients(self, recipient_ids: Sequence[uuid.UUID]) -> list[CampaignRecipient]:
        """Load and lock these recipients in id order, the order the pump's own updates take."""
        stmt = (
            select(CampaignRecipient)
            .where(CampaignRecipient.id.in_(sorted(recipient_ids)))
            .order_by(CampaignRecipient.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def list_page(
        self, status: CampaignStatus | None, *, limit: int, after: Cursor | None
    ) -> list[Campaign]:
        stmt = select(Campaign)
        if status is not None:
            stmt = stmt.where(Campaign.status == status)
        if after is not None and after.at is not None:
            stmt = stmt.where(
                or_(
                    Campaign.created_at < after.at,
                    and_(Campaign.created_at == after.at, Campaign.id < after.id),
                )
            )
        stmt = stmt.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    # --- counts ---------------------------------------------------------------------------------------------

    async def counts(self, campaign_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
        """Recipients per status for each campaign, in one statement."""
        result: dict[uuid.UUID, dict[str, int]] = {cid: {} for cid in campaign_ids}
        if not campaign_ids:
            return result
        stmt = (
            select(CampaignRecipient.campaign_id, CampaignRecipient.status, func.count())
            .where(CampaignRecipient.campaign_id.in_(campaign_ids))
            .group_by(CampaignRecipient.campaign_id, CampaignRecipient.status)
        )
        for campaign_id, status, count in (await self.session.execute(stmt)).all():
            result[campaign_id][status] = int(count)
        return result

    async def failures_by_code(self, campaign_id: uuid.UUID) -> list[tuple[int | None, str | None, int]]:
        stmt = (
            select(CampaignRecipient.error_code, func.max(CampaignRecipient.error_title), func.count())
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == RecipientStatus.FAILED,
            )
            .group_by(CampaignRecipient.error_code)
            .order_by(func.count().desc())
        )
        return [(code, title, int(n)) for code, title, n in (await self.session.execute(stmt)).all()]

    async def skipped_by_reason(self, campaign_id: uuid.UUID) -> list[tuple[str, int]]:
        stmt = (
            select(CampaignRecipient.skip_reason, func.count())
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == RecipientStatus.SKIPPED,
            )
            .group_by(CampaignRecipient.skip_reason)
            .order_by(func.count().desc())
        )
        return [(reason or "unknown", int(n)) for reason, n in (await self.session.execute(stmt)).all()]

    async def sent_since(self, campaign_id: uuid.UUID, since: datetime) -> int:
        stmt = select(func.count()).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.sent_at >= since
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def has_status(self, campaign_id: uuid.UUID, status: RecipientStatus) -> bool:
        stmt = (
            select(CampaignRecipient.id)
            .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == status)
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def count_status(self, campaign_id: uuid.UUID, status: RecipientStatus) -> int:
        stmt = select(func.count()).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == status
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def total(self, campaign_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(CampaignRecipient.campaign_id == campaign_id)
        return int((await self.session.execute(stmt)).scalar_one())

    # --- recipients list ------------------------------------------------------------------------------------

    async def recipients_page(
        self, campaign_id: uuid.UUID, filters: RecipientFilters, *, limit: int, after: uuid.UUID | None
    ) -> list[tuple[CampaignRecipient, Contact]]:
        stmt = (
            select(CampaignRecipient, Contact)
            .join(Contact, Contact.id == CampaignRecipient.contact_id)
            .where(CampaignRecipient.campaign_id == campaign_id)
        )
        if filters.status is not None:
            stmt = stmt.where(CampaignRecipient.status == filters.status)
        if filters.error_code is not None:
            stmt = stmt.where(CampaignRecipient.error_code == filters.error_code)
        if filters.search:
            digits = "".join(ch for ch in filters.search if ch.isdigit())
            pattern = "%" + filters.search.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            matches = [func.lower(Contact.name).like(pattern), func.lower(Contact.profile_name).like(pattern)]
            if digits:
                matches.append(Contact.wa_id.like(f"%{digits}%"))
            stmt = stmt.where(or_(*matches))
        if after is not None:
            stmt = stmt.where(CampaignRecipient.id > after)
        stmt = stmt.order_by(CampaignRecipient.id).limit(limit)
        return [(r, c) for r, c in (await self.session.execute(stmt)).all()]

    # --- audience -------------------------------------------------------------------------------------------

    async def audience_summary(self, spec: dict[str, Any], *, tenant_id: uuid.UUID) -> tuple[int, int, int]:
        """(matching contacts, opted out, blocked) for a contacts audience."""
        stmt = select(
            func.count(),
            func.coalesce(func.sum(case((and_(Contact.opted_out, ~Contact.blocked), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Contact.blocked, 1), else_=0)), 0),
        ).where(*contact_audience_filter(spec, tenant_id=tenant_id))
        total, opted_out, blocked = (await self.session.execute(stmt)).one()
        return int(total), int(opted_out), int(blocked)

    async def audience_matches_anyone(self, spec: dict[str, Any], *, tenant_id: uuid.UUID) -> bool:
        """Whether any contact matches a contacts audience (opted out and blocked ones included): stops at the
        first, where `audience_summary` counts them all."""
        stmt = select(
            exists().where(
                Contact.tenant_id == tenant_id, *contact_audience_filter(spec, tenant_id=tenant_id)
            )
        )
        return bool((await self.session.execute(stmt)).scalar())

    async def first_eligible_contact(self, spec: dict[str, Any], *, tenant_id: uuid.UUID) -> Contact | None:
        stmt = (
            select(Contact)
            .where(*contact_audience_filter(spec, tenant_id=tenant_id), ~Contact.blocked, ~Contact.opted_out)
            .order_by(Contact.id)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def materialise_contacts(
        self, campaign: Campaign, spec: dict[str, Any], *, after: uuid.UUID | None, batch: int
    ) -> tuple[int, uuid.UUID | None]:
        """Write the next `batch` matching contacts (by id) as recipients; unreachable ones as skipped.

        Returns (contacts read, last contact id). Duplicates are ignored (one row per contact), so running a
        batch twice after a crash writes nothing new.

        A tagged audience is read from `contact_tags` first (the next `batch` tagged contacts in id order, see
        `tagged_contact_ids`), then only those contacts are filtered. The batch read through `contacts` with a
        correlated tag subquery was planned, without statistics, as a nested loop reading every tagged
        contact once per contact: over a second per batch at 3,000 contacts, quadratic beyond."""
        tenant_id = campaign.tenant_id
        tagged = tagged_contact_ids(tenant_id, spec)
        if tagged is not None:
            if after is not None:
                tagged = tagged.where(ContactTag.contact_id > after)
            ids = list(
                (await self.session.execute(tagged.order_by(ContactTag.contact_id).limit(batch))).scalars()
            )
            if not ids:
                return 0, after
            chosen = select(Contact.id, unreachable_reason()).where(
                Contact.id.in_(ids), *contact_audience_filter(spec, tenant_id=tenant_id, tags_matched=True)
            )
            rows = (await self.session.execute(chosen.order_by(Contact.id))).all()
            read, last = len(ids), ids[-1]
        else:
            stmt = select(Contact.id, unreachable_reason()).where(
                *contact_audience_filter(spec, tenant_id=tenant_id)
            )
            if after is not None:
                stmt = stmt.where(Contact.id > after)
            rows = (await self.session.execute(stmt.order_by(Contact.id).limit(batch))).all()
            if not rows:
                return 0, after
            read, last = len(rows), rows[-1][0]
        now = utcnow()
        await self.insert_recipients(
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": campaign.tenant_id,
                    "campaign_id": campaign.id,
                    "contact_id": contact_id,
                    "parameters": {},
                    "status": RecipientStatus.SKIPPED if reason else RecipientStatus.QUEUED,
                    "skip_reason": reason,
                    "created_at": now,
                    "updated_at": now,
                }
                for contact_id, reason in rows
            ]
        )
        return read, last

    async def insert_recipients(self, values: list[dict[str, Any]]) -> None:
        if not values:
            return
        insert = dialect_insert(self.session)
        stmt = insert(CampaignRecipient.__table__).on_conflict_do_nothing(
            index_elements=["campaign_id", "contact_id"]
        )
        await self.session.execute(stmt, values)

    async def skip_unreachable(self, campaign_id: uuid.UUID) -> None:
        """Queued recipients whose contact is blocked or opted out become skipped (one statement each)."""
        for reason, condition in (("blocked", Contact.blocked), ("opted_out", Contact.opted_out)):
            await self.session.execute(
                update(CampaignRecipient)
                .where(
                    CampaignRecipient.campaign_id == campaign_id,
                    CampaignRecipient.status == RecipientStatus.QUEUED,
                    CampaignRecipient.contact_id.in_(select(Contact.id).where(condition)),
                )
                .values(status=RecipientStatus.SKIPPED, skip_reason=reason, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    async def delete_recipients(self, campaign_id: uuid.UUID) -> None:
        from sqlalchemy import delete

        await self.session.execute(
            delete(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign_id)
            .execution_options(synchronize_session=False)
        )

    async def contact_ids_by_wa_id(self, wa_ids: Iterable[str]) -> dict[str, uuid.UUID]:
        """The contact of each number, matched in any of the forms WhatsApp treats as the same user."""
        forms = {variant: wa_id for wa_id in set(wa_ids) for variant in reversed(wa_id_variants(wa_id))}
        if not forms:
            return {}
        stmt = select(Contact.wa_id, Contact.id).where(Contact.wa_id.in_(list(forms)))
        found: dict[str, uuid.UUID] = {}
        for stored, contact_id in (await self.session.execute(stmt)).all():
            wanted = forms[str(stored)]
            # The exact number wins over a national variant of it.
            if wanted not in found or stored == wanted:
                found[wanted] = contact_id
        return found

    async def create_contacts(self, tenant_id: uuid.UUID, wa_ids: Iterable[str]) -> None:
        """Create contacts for numbers the company has never seen (a concurrent creation wins silently)."""
        now = utcnow()
        values = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "wa_id": wa_id,
                "opted_out": False,
                "blocked": False,
                "tags": [],
                "attributes": {},
                "created_at": now,
                "updated_at": now,
            }
            for wa_id in sorted(set(wa_ids))
        ]
        if values:
            insert = dialect_insert(self.session)
            await self.session.execute(
                insert(Contact.__table__).on_conflict_do_nothing(index_elements=["tenant_id", "wa_id"]),
                values,
            )

    async def first_queued(self, campaign_id: uuid.UUID) -> tuple[CampaignRecipient, Contact] | None:
        """The first eligible recipient in the uploaded file's order."""
        stmt = (
            select(CampaignRecipient, Contact)
            .join(Contact, Contact.id == CampaignRecipient.contact_id)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == RecipientStatus.QUEUED,
                ~Contact.blocked,
                ~Contact.opted_out,
            )
            .order_by(CampaignRecipient.csv_line.asc().nulls_last(), CampaignRecipient.id)
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def recipient_reachability(self, campaign_id: uuid.UUID) -> tuple[int, int, int]:
        """(recipients, opted out, blocked) for an uploaded audience."""
        stmt = (
            select(
                func.count(),
                func.coalesce(func.sum(case((and_(Contact.opted_out, ~Contact.blocked), 1), else_=0)), 0),
                func.coalesce(func.sum(case((Contact.blocked, 1), else_=0)), 0),
            )
            .select_from(CampaignRecipient)
            .join(Contact, Contact.id == CampaignRecipient.contact_id)
            .where(CampaignRecipient.campaign_id == campaign_id)
        )
        total, opted_out, blocked = (await self.session.execute(stmt)).one()
        return int(total), int(opted_out), int(blocked)

    # --- the pump -------------------------------------------------------------------------------------------

    async def candidates(
        self, campaign: Campaign, *, limit: int, free_only: bool, now: datetime
    ) -> list[Candidate]:
        """The next queued recipients by id, locked for this transaction (PostgreSQL: SKIP LOCKED).

        `free_only`: only those that use no messaging-limit quota (their service window is open, or they got
        a business-initiated message in the last 24 hours already)."""
        window_open = exists().where(
            Conversation.contact_id == CampaignRecipient.contact_id,
            Conversation.phone_number_id == campaign.phone_number_id,
            Conversation.tenant_id == CampaignRecipient.tenant_id,
            Conversation.customer_window_expires_at > now,
        )
        # A core alias: the check is keyed by the recipient's contact (a row of this company), and the
        # planner must look up that contact's messages, not the company's or the number's (see _not_by_time).
        sent = Message.__table__.alias("sent")
        recently_counted = exists().where(
            sent.c.contact_id == CampaignRecipient.contact_id,
            self._not_by_time(sent.c.phone_number_id) == campaign.phone_number_id,
            sent.c.direction == Direction.OUTBOUND,
            sent.c.type == "template",
            sent.c.status != MessageStatus.FAILED,
            self._not_by_time(sent.c.created_at) >= now - MESSAGING_LIMIT_WINDOW,
        )
        stmt = (
            select(CampaignRecipient, Contact, window_open.label("w"), recently_counted.label("c"))
            .join(Contact, Contact.id == CampaignRecipient.contact_id)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.status == RecipientStatus.QUEUED,
            )
        )
        if free_only:
            stmt = stmt.where(or_(window_open, recently_counted))
        stmt = stmt.order_by(CampaignRecipient.id).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=CampaignRecipient, skip_locked=True)
        rows = (await self.session.execute(stmt)).all()
        return [Candidate(r, c, bool(w), bool(counted)) for r, c, w, counted in rows]

    def _not_by_time(self, column: Any) -> Any:
        """The column in a form SQLite cannot use an index on. Looking up one contact's messages, SQLite
        (without statistics) would otherwise pick `(tenant_id, created_at)` or `(phone_number_id, …)` and scan
        the company's whole last day of messages for every row; the contact's own (by `contact_id`) are a
        handful. PostgreSQL's planner chooses well unaided."""
        if self.session.get_bind().dialect.name == "postgresql":
            return column
        return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)

    async def tier_usage(self, phone_number_id: uuid.UUID, now: datetime) -> TierUsage:
        """Unique customers this number reached with templates outside their service window in the last 24 h.

        A template counts when the customer had not written on this number in the 24 hours before it;
        failed sends never reached anyone and do not count."""
        since = now - MESSAGING_LIMIT_WINDOW
        inbound = Message.__table__.alias("inbound")
        hours = int(MESSAGING_LIMIT_WINDOW.total_seconds() // 3600)
        inside_window = exists().where(
            inbound.c.contact_id == Message.contact_id,
            inbound.c.phone_number_id == Message.phone_number_id,
            inbound.c.direction == Direction.INBOUND,
            inbound.c.created_at <= Message.created_at,
            inbound.c.created_at >= hours_before(self.session, Message.created_at, hours),
        )
        per_user = (
            select(Message.contact_id, func.max(Message.created_at).label("last_at"))
            .where(
                Message.phone_number_id == phone_number_id,
                Message.direction == Direction.OUTBOUND,
                Message.type == "template",
                Message.status != MessageStatus.FAILED,
                Message.created_at >= since,
                ~inside_window,
            )
            .group_by(Message.contact_id)
            .subquery()
        )
        users, first = (await self.session.execute(select(func.count(), func.min(per_user.c.last_at)))).one()
        if isinstance(first, str):  # SQLite returns MIN() of the text column untyped
            first = datetime.fromisoformat(first).replace(tzinfo=now.tzinfo)
        release = first + MESSAGING_LIMIT_WINDOW if first is not None else None
        return TierUsage(int(users), release)

    async def inflight_outcomes(self, campaign_id: uuid.UUID) -> list[InflightOutcome]:
        """Recipients handed to the sender whose message has left the queue (accepted, or failed).

        Two index lookups (the pump's recipients index, then messages by id) rather than a join: a campaign's
        recipients are written when it starts, before PostgreSQL has statistics for them, and the joined
        form was then planned as a hash join over every message of the company, at each pump tick."""
        inflight = select(
            CampaignRecipient.message_id, CampaignRecipient.id, CampaignRecipient.attempts
        ).where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.status == RecipientStatus.SENDING,
            CampaignRecipient.message_id.is_not(None),
        )
        recipients = {m: (r, a) for m, r, a in (await self.session.execute(inflight)).all()}
        if not recipients:
            return []
        left = select(
            Message.id,
            Message.status,
            Message.error_code,
            Message.error_title,
            Message.sent_at,
            Message.delivered_at,
            Message.read_at,
            Message.failed_at,
        ).where(
            Message.id.in_(sorted(recipients)),
            Message.status.not_in((MessageStatus.QUEUED, MessageStatus.SENDING)),
        )
        outcomes = []
        for message_id, status, code, title, sent, delivered, read, failed in (
            await self.session.execute(left)
        ).all():
            recipient_id, attempts = recipients[message_id]
            outcomes.append(
                InflightOutcome(recipient_id, attempts, status, code, title, sent, delivered, read, failed)
            )
        return outcomes

    async def update_recipients(self, values: list[dict[str, Any]], *, only_if: RecipientStatus) -> None:
        """Set columns of many recipients by id (`rid` + the same columns in every row), in one executemany;
        a row whose status is no longer `only_if` (a webhook moved it meanwhile) is left alone."""
        if not values:
            return
        table = CampaignRecipient.__table__
        assert isinstance(table, Table)
        columns = [key for key in values[0] if key != "rid"]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("rid"), table.c.status == only_if.value)
            .values({column: bindparam(column) for column in columns})
        )
        await self.session.execute(stmt, values)

    async def active_conversations(
        self, phone_number_id: uuid.UUID, contact_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Conversation]:
        """The newest non-archived conversation of each contact on this number."""
        if not contact_ids:
            return {}
        stmt = (
            select(Conversation)
            .where(
                Conversation.phone_number_id == phone_number_id,
                Conversation.contact_id.in_(contact_ids),
                Conversation.status != ConversationStatus.ARCHIVED,
            )
            .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        )
        found: dict[uuid.UUID, Conversation] = {}
        for conversation in (await self.session.execute(stmt)).scalars():
            found.setdefault(conversation.contact_id, conversation)
        return found

    async def requeue_failed(self, campaign_id: uuid.UUID, codes: Sequence[int | None]) -> int:
        """Failed recipients with one of these error codes go back to the queue; returns how many."""
        conditions = [CampaignRecipient.error_code.in_([c for c in codes if c is not None])]
        if None in codes:
            conditions.append(CampaignRecipient.error_code.is_(None))
        result = await self.session.execute(
            update(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == RecipientStatus.FAILED,
                or_(*conditions),
            )
            .values(
                status=RecipientStatus.QUEUED,
                error_code=None,
                error_title=None,
                failed_at=None,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def failed_codes(self, campaign_id: uuid.UUID) -> list[int | None]:
        stmt = (
            select(CampaignRecipient.error_code)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == RecipientStatus.FAILED,
            )
            .distinct()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def skip_queued(self, campaign_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.status == RecipientStatus.QUEUED,
            )
            .values(status=RecipientStatus.SKIPPED, skip_reason=reason, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    async def last_send_horizon(self, phone_number_id: uuid.UUID) -> datetime | None:
        """When this number's campaigns last sent: None when none ever started, `datetime.max` (UTC) while one
        is unfinished (running, paused, waiting), else the latest completion or cancellation."""
        stmt = select(
            func.count().filter(Campaign.completed_at.is_(None), Campaign.cancelled_at.is_(None)),
            func.max(func.coalesce(Campaign.completed_at, Campaign.cancelled_at)),
        ).where(Campaign.phone_number_id == phone_number_id, Campaign.started_at.is_not(None))
        unfinished, last_finished = (await self.session.execute(stmt)).one()
        if unfinished:
            return datetime.max.replace(tzinfo=UTC)
        return cast(datetime | None, last_finished)

    async def recent_recipients_of_contact(
        self, contact_id: uuid.UUID, phone_number_id: uuid.UUID, since: datetime
    ) -> list[tuple[CampaignRecipient, int]]:
        """Recipients of this contact on this number's campaigns whose message went out since `since`,
        with their campaign's reply window in hours."""
        stmt = (
            select(CampaignRecipient, Campaign.reply_window_hours)
            .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
            .where(
                CampaignRecipient.contact_id == contact_id,
                Campaign.phone_number_id == phone_number_id,
                CampaignRecipient.status.in_(
                    (RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.READ)
                ),
                CampaignRecipient.sent_at >= since,
            )
        )
        return [(r, int(hours)) for r, hours in (await self.session.execute(stmt)).all()]

    async def campaigns_of_number(
        self, phone_number_id: uuid.UUID, statuses: Sequence[CampaignStatus]
    ) -> list[Campaign]:
        stmt = select(Campaign).where(
            Campaign.phone_number_id == phone_number_id, Campaign.status.in_(statuses)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def campaigns_of_template(
        self, template_id: uuid.UUID, statuses: Sequence[CampaignStatus]
    ) -> list[Campaign]:
        stmt = select(Campaign).where(Campaign.template_id == template_id, Campaign.status.in_(statuses))
        return list((await self.session.execute(stmt)).scalars())

    async def funnel_counts(
        self, started_from: datetime | None, started_to: datetime | None
    ) -> list[tuple[Campaign, dict[str, int]]]:
        """Campaigns started in the range (all started ones without a range) with recipients per status."""
        stmt = select(Campaign).where(Campaign.started_at.is_not(None))
        if started_from is not None:
            stmt = stmt.where(Campaign.started_at >= started_from)
        if started_to is not None:
            stmt = stmt.where(Campaign.started_at < started_to)
        campaigns = list(
            (await self.session.execute(stmt.order_by(Campaign.started_at, Campaign.id))).scalars()
        )
        counts = await self.counts([c.id for c in campaigns])
        return [(c, counts[c.id]) for c in campaigns]


def lease_expired(now: datetime) -> ColumnElement[bool]:
    return or_(Campaign.pump_lease_until.is_(None), Campaign.pump_lease_until < now)


def due_for_pump(now: datetime) -> ColumnElement[bool]:
    return and_(
        Campaign.status == CampaignStatus.RUNNING,
        lease_expired(now),
        or_(Campaign.waiting_until.is_(None), Campaign.waiting_until <= now),
    )


LEASE = timedelta(seconds=30)
