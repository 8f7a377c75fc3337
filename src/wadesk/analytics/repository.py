"""The analytics queries. Each report is a bounded number of SQL statements over indexed ranges (messages by
`(tenant_id, created_at)`, threads by `(conversation_id, created_at)`, status history by conversation); no
report loops over conversations in Python.

Response times are computed from one ordered stream per conversation: its customer messages, its human
replies (outbound messages with a sender, not failed) and its resolutions. Window sums over that stream give
each row its cycle (resolutions so far) and the replies so far, which groups customer messages into turns:
a turn is the customer messages of one cycle between two human replies, and its answer is the next reply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery

from wadesk.analytics.models import ConversationStatusChange
from wadesk.analytics.sql import (
    LocalTime,
    Summary,
    in_range,
    local_time,
    percentile_summaries,
    seconds_between,
)
from wadesk.conversations.models import Conversation, ConversationStatus
from wadesk.messages.models import Direction, Message, MessageStatus

# Customer messages that are not something to answer, and agent messages that are not an answer.
NOT_A_QUESTION = ("reaction", "revoke", "system", "unsupported", "request_welcome")
NOT_AN_ANSWER = ("reaction",)
ACTIVE = (ConversationStatus.OPEN, ConversationStatus.PENDING)
CLOSED = (ConversationStatus.RESOLVED, ConversationStatus.ARCHIVED)
OVERALL = "__overall__"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: everyone's (admin), or one agent's (their replies, their assigned conversations)."""

    agent_id: uuid.UUID | None = None
    phone_number_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    segments: list[tuple[datetime, int]]


def is_question() -> ColumnElement[bool]:
    return and_(Message.direction == Direction.INBOUND, Message.type.not_in(NOT_A_QUESTION))


def is_answer() -> ColumnElement[bool]:
    return and_(
        Message.direction == Direction.OUTBOUND,
        Message.sender_user_id.is_not(None),
        Message.type.not_in(NOT_AN_ANSWER),
        Message.status != MessageStatus.FAILED,
    )


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def _local(self, column: Any, window: Window) -> LocalTime:
        return local_time(self.dialect, column, window.segments)

    def _message_scope(self, scope: Scope) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if scope.phone_number_id is not None:
            conditions.append(Message.phone_number_id == scope.phone_number_id)
        if scope.agent_id is not None:
            # An agent's volume: what they sent, and what customers sent in conversations assigned to them.
            assigned = select(Conversation.id).where(Conversation.assignee_id == scope.agent_id)
            conditions.append(
                or_(
                    and_(Message.direction == Direction.OUTBOUND, Message.sender_user_id == scope.agent_id),
                    and_(Message.direction == Direction.INBOUND, Message.conversation_id.in_(assigned)),
                )
            )
        return conditions

    # --- volume and delivery ----------------------------------------------------------------------------------

    async def volume(self, window: Window, scope: Scope) -> list[tuple[str, uuid.UUID, str, int]]:
        """(local day, phone number id, direction, messages)."""
        day = self._local(Message.created_at, window).day.label("day")
        stmt = (
            select(day, Message.phone_number_id, Message.direction, func.count())
            .where(in_range(Message.created_at, window.start, window.end), *self._message_scope(scope))
            .group_by(day, Message.phone_number_id, Message.direction)
        )
        return [
            (str(d), n, str(direction), int(c))
            for d, n, direction, c in (await self.session.execute(stmt)).all()
        ]

    async def outbound_statuses(self, window: Window, scope: Scope) -> list[tuple[uuid.UUID, str, int]]:
        """(phone number id, status, messages) of outbound messages created in the range."""
        stmt = (
            select(Message.phone_number_id, Message.status, func.count())
            .where(
                in_range(Message.created_at, window.start, window.end),
                Message.direction == Direction.OUTBOUND,
                Message.type != "reaction",
                *self._message_scope(scope),
            )
            .group_by(Message.phone_number_id, Message.status)
        )
        return [(n, str(s), int(c)) for n, s, c in (await self.session.execute(stmt)).all()]

    async def failures(self, window: Window, scope: Scope) -> list[tuple[int | None, str | None, int]]:
        stmt = (
            select(Message.error_code, func.max(Message.error_title), func.count())
            .where(
                in_range(Message.created_at, window.start, window.end),
                Message.direction == Direction.OUTBOUND,
                Message.status == MessageStatus.FAILED,
                *self._message_scope(scope),
            )
            .group_by(Message.error_code)
            .order_by(func.count().desc(), Message.error_code)
        )
        return [(code, title, int(n)) for code, title, n in (await self.session.execute(stmt)).all()]

    async def pricing(
        self, window: Window, scope: Scope
    ) -> list[tuple[str | None, str | None, bool | None, int]]:
        """(category, pricing model, billable, messages) of outbound messages in the range (None: unpriced)."""
        category = Message.pricing["category"].as_string()
        model = Message.pricing["pricing_model"].as_string()
        billable = Message.pricing["billable"].as_boolean()
        stmt = (
            select(category, model, billable, func.count())
            .where(
                in_range(Message.created_at, window.start, window.end),
                Message.direction == Direction.OUTBOUND,
                *self._message_scope(scope),
            )
            .group_by(category, model, billable)
        )
        return [
            (c, m, None if b is None else bool(b), int(n))
            for c, m, b, n in (await self.session.execute(stmt)).all()
        ]

    async def inbound_heatmap(self, window: Window, scope: Scope) -> list[tuple[int, int, int]]:
        """(ISO weekday, hour, customer messages) in local time."""
        local = self._local(Message.created_at, window)
        weekday, hour = local.weekday.label("weekday"), local.hour.label("hour")
        stmt = (
            select(weekday, hour, func.count())
            .where(
                in_range(Message.created_at, window.start, window.end),
                is_question(),
                *self._message_scope(scope),
            )
            .group_by(weekday, hour)
        )
        return [(int(w), int(h), int(n)) for w, h, n in (await self.session.execute(stmt)).all()]

    # --- conversations ----------------------------------------------------------------------------------------

    def _conversation_scope(self, scope: Scope) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if scope.agent_id is not None:
            conditions.append(Conversation.assignee_id == scope.agent_id)
        if scope.phone_number_id is not None:
            conditions.append(Conversation.phone_number_id == scope.phone_number_id)
        return conditions

    async def conversations_by_status(self, window: Window, scope: Scope) -> dict[str, int]:
        """Conversations with a message in the range, by their current status."""
        active = (
            select(Message.conversation_id)
            .where(in_range(Message.created_at, window.start, window.end))
            .distinct()
            .subquery()
        )
        stmt = (
            select(Conversation.status, func.count())
            .join(active, active.c.conversation_id == Conversation.id)
            .where(*self._conversation_scope(scope))
            .group_by(Conversation.status)
        )
        return {str(s): int(n) for s, n in (await self.session.execute(stmt)).all()}

    async def unanswered(self, window: Window, scope: Scope) -> tuple[int, datetime | None]:
        """Open or pending conversations whose latest customer message (in the range) has no human reply
        after it: how many, and since when the longest has waited."""
        waiting_on_us = select(Conversation.id).where(
            Conversation.status.in_(ACTIVE), *self._conversation_scope(scope)
        )
        last_question = (
            select(Message.conversation_id, func.max(Message.created_at).label("asked_at"))
            .where(Message.conversation_id.in_(waiting_on_us), is_question())
            .group_by(Message.conversation_id)
            .subquery()
        )
        answered_after = (
            select(Message.id)
            .where(
                Message.conversation_id == last_question.c.conversation_id,
                Message.created_at > last_question.c.asked_at,
                is_answer(),
            )
            .exists()
        )
        stmt = (
            select(func.count(), func.min(last_question.c.asked_at))
            .select_from(Conversation)
            .join(last_question, last_question.c.conversation_id == Conversation.id)
            .where(in_range(last_question.c.asked_at, window.start, window.end), ~answered_after)
        )
        count, oldest = (await self.session.execute(stmt)).one()
        if isinstance(oldest, str):  # SQLite: MIN() over a subquery column comes back as text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=window.start.tzinfo)
        return int(count), oldest

    # --- response times ---------------------------------------------------------------------------------------

    def _conversations_in_play(self, window: Window) -> Subquery:
        """Conversations with a customer message or a resolution in the range."""
        asked = select(Message.conversation_id.label("conversation_id")).where(
            in_range(Message.created_at, window.start, window.end), is_question()
        )
        resolved = select(ConversationStatusChange.conversation_id.label("conversation_id")).where(
            in_range(ConversationStatusChange.changed_at, window.start, window.end),
            ConversationStatusChange.to_status == ConversationStatus.RESOLVED,
        )
        return union(asked, resolved).subquery("in_play")

    def _stream(self, in_play: Subquery) -> Subquery:
        """Customer messages, human replies and resolutions of the conversations in play, each with its cycle
        (resolutions before it) and the human replies so far (itself included)."""
        messages = select(
            Message.conversation_id.label("conversation_id"),
            Message.created_at.label("at"),
            literal(0).label("ord"),
            Message.id.label("row_id"),
            case(
                (Message.direction == Direction.INBOUND, literal("question")), else_=literal("answer")
            ).label("kind"),
            Message.sender_user_id.label("user_id"),
        ).where(
            Message.conversation_id.in_(select(in_play.c.conversation_id)),
            or_(is_question(), is_answer()),
        )
        resolutions = select(
            ConversationStatusChange.conversation_id.label("conversation_id"),
            ConversationStatusChange.changed_at.label("at"),
            literal(1).label("ord"),
            ConversationStatusChange.id.label("row_id"),
            literal("resolution").label("kind"),
            null().label("user_id"),
        ).where(
            ConversationStatusChange.conversation_id.in_(select(in_play.c.conversation_id)),
            ConversationStatusChange.to_status == ConversationStatus.RESOLVED,
        )
        rows = union_all(messages, resolutions).subquery("rows")
        order = (rows.c.at, rows.c.ord, rows.c.row_id)

        def running(condition: ColumnElement[bool]) -> Any:
            return func.sum(case((condition, 1), else_=0)).over(
                partition_by=rows.c.conversation_id, order_by=order, rows=(None, 0)
            )

        return select(
            rows.c.conversation_id,
            rows.c.at,
            rows.c.kind,
            rows.c.user_id,
            running(rows.c.kind == "resolution").label("cycle"),
            running(rows.c.kind == "answer").label("replies"),
        ).subquery("stream")

    def _turns(self, window: Window) -> Subquery:
        """One row per customer turn: when it started, its answer (if any), who answered, and whether it is
        the first turn of its cycle."""
        stream = self._stream(self._conversations_in_play(window))
        turns = (
            select(
                stream.c.conversation_id,
                stream.c.cycle,
                stream.c.replies,
                func.min(stream.c.at).label("asked_at"),
            )
            .where(stream.c.kind == "question")
            .group_by(stream.c.conversation_id, stream.c.cycle, stream.c.replies)
            .subquery("turns")
        )
        answers = (
            select(
                stream.c.conversation_id,
                stream.c.cycle,
                stream.c.replies,
                stream.c.at.label("answered_at"),
                stream.c.user_id,
            )
            .where(stream.c.kind == "answer")
            .subquery("answers")
        )
        first_in_cycle = func.row_number().over(
            partition_by=(turns.c.conversation_id, turns.c.cycle), order_by=turns.c.replies
        )
        return (
            select(
                turns.c.conversation_id,
                turns.c.asked_at,
                answers.c.answered_at,
                answers.c.user_id,
                first_in_cycle.label("turn_in_cycle"),
            )
            .select_from(turns)
            .outerjoin(
                answers,
                and_(
                    answers.c.conversation_id == turns.c.conversation_id,
                    answers.c.cycle == turns.c.cycle,
                    answers.c.replies == turns.c.replies + 1,
                ),
            )
            .subquery("answered_turns")
        )

    async def reply_times(
        self, window: Window, scope: Scope, *, first_only: bool
    ) -> tuple[Summary, dict[uuid.UUID, Summary]]:
        """Seconds from a customer turn (`first_only`: the first of its cycle) to the human reply, overall and
        per replying agent; turns starting in the range."""
        turns = self._turns(window)
        conditions = [
            turns.c.answered_at.is_not(None),
            in_range(turns.c.asked_at, window.start, window.end),
        ]
        if first_only:
            conditions.append(turns.c.turn_in_cycle == 1)
        if scope.agent_id is not None:
            conditions.append(turns.c.user_id == scope.agent_id)
        value = seconds_between(self.dialect, turns.c.asked_at, turns.c.answered_at)
        return await self._summaries(turns.c.user_id, value, conditions)

    async def resolution_times(
        self, window: Window, scope: Scope
    ) -> tuple[Summary, dict[uuid.UUID, Summary]]:
        """Seconds from a conversation's opening (creation, or its latest reopening) to each resolution in the
        range, overall and per agent (the last human to reply before the resolution)."""
        resolution = change_alias()
        reopening = change_alias()
        opened_at = func.coalesce(
            select(func.max(reopening.changed_at))
            .where(
                reopening.conversation_id == resolution.conversation_id,
                reopening.from_status.in_(CLOSED),
                reopening.to_status.in_(ACTIVE),
                reopening.changed_at <= resolution.changed_at,
            )
            .scalar_subquery(),
            Conversation.created_at,
        )
        last_replier = (
            select(Message.sender_user_id)
            .where(
                Message.conversation_id == resolution.conversation_id,
                Message.created_at <= resolution.changed_at,
                is_answer(),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        samples = (
            select(
                last_replier.label("user_id"),
                opened_at.label("opened_at"),
                resolution.changed_at.label("resolved_at"),
            )
            .select_from(resolution)
            .join(Conversation, Conversation.id == resolution.conversation_id)
            .where(
                resolution.to_status == ConversationStatus.RESOLVED,
                in_range(resolution.changed_at, window.start, window.end),
                *self._conversation_scope(Scope(phone_number_id=scope.phone_number_id)),
            )
            .subquery("resolutions")
        )
        conditions: list[ColumnElement[bool]] = []
        if scope.agent_id is not None:
            conditions.append(samples.c.user_id == scope.agent_id)
        value = seconds_between(self.dialect, samples.c.opened_at, samples.c.resolved_at)
        return await self._summaries(samples.c.user_id, value, conditions)

    async def _summaries(
        self, agent: Any, value: Any, conditions: list[ColumnElement[bool]]
    ) -> tuple[Summary, dict[uuid.UUID, Summary]]:
        """Overall and per agent: two statements over the same samples."""
        overall = select(literal(OVERALL).label("key"), value.label("value")).where(*conditions).subquery()
        per_agent = (
            select(agent.label("key"), value.label("value")).where(*conditions, agent.is_not(None)).subquery()
        )
        total = (await percentile_summaries(self.session, overall)).get(OVERALL, Summary.empty())
        by_agent = await percentile_summaries(self.session, per_agent)
        return total, {_as_uuid(key): summary for key, summary in by_agent.items()}


def change_alias() -> Any:
    return aliased(ConversationStatusChange)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
