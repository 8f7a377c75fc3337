"""Team work on conversations: private notes with @mentions, canned responses, labels, participants and
typing/viewing hints. Notes never leave the platform: they are not messages and nothing sends them."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from sqlalchemy import select

from wadesk.auth.dependencies import Ctx
from wadesk.collaboration.models import CannedResponse, ConversationNote, ConversationParticipant, Label
from wadesk.collaboration.repository import (
    CannedResponseRepository,
    LabelCatalogRepository,
    LabelRepository,
    NoteRepository,
    ParticipantRepository,
)
from wadesk.collaboration.schemas import (
    LABEL_COLORS,
    CannedResponseCreate,
    CannedResponseOut,
    CannedResponseUpdate,
    ExpandOut,
    LabelCreate,
    LabelOut,
    LabelUpdate,
    NoteCreate,
    NoteOut,
    NoteUpdate,
    ParticipantOut,
)
from wadesk.conversations.models import Conversation
from wadesk.conversations.schemas import ConversationOut, UserRef
from wadesk.conversations.service import get_row_or_404, publish_conversation, to_out
from wadesk.db.base import utcnow
from wadesk.db.session import run_after_commit, scope_to_tenant
from wadesk.errors import Conflict, Forbidden, NotFound, Unprocessable
from wadesk.kit.pagination import Cursor
from wadesk.ops.models import AuditAction
from wadesk.ops.service import record_audit
from wadesk.realtime.service import publish_after_commit, publish_event
from wadesk.users.models import User

NOTIFICATION_EVENT = "notification"
PRESENCE_EVENT = "conversation.presence"
PRESENCE_TTL_SECONDS = 8
EXCERPT_LENGTH = 140
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9._\-]{2,64})")
_SHORT_CODE_USE = re.compile(r"(?<![\w/])/([a-z0-9][a-z0-9_\-]{0,31})(?![\w\-])")
_VARIABLE = re.compile(r"\{\{\s*(contact\.name|contact\.first_name|contact\.phone|agent\.name)\s*\}\}")


async def _conversation(ctx: Ctx, conversation_id: uuid.UUID) -> Conversation:
    conversation = await ctx.session.get(Conversation, conversation_id)
    # session.get may return an object of another tenant already in the identity map; check explicitly.
    if conversation is None or conversation.tenant_id != ctx.tenant_id:
        raise NotFound("Conversation not found.")
    return conversation


def _user_ref(user: User | None) -> UserRef | None:
    return UserRef.model_validate(user) if user is not None else None


# --- notes ----------------------------------------------------------------------------------------------------


def note_to_out(note: ConversationNote, author: User | None) -> NoteOut:
    return NoteOut(
        id=note.id,
        conversation_id=note.conversation_id,
        author=_user_ref(author),
        body=note.body,
        mentions=[uuid.UUID(str(m)) for m in note.mentions or []],
        created_at=note.created_at,
        updated_at=note.updated_at,
    )


async def _mentioned_users(ctx: Ctx, body: str, explicit: list[uuid.UUID]) -> list[User]:
    """Users named by id, or by `@name` where name is the part of their email before the '@'."""
    handles = {m.lower() for m in _MENTION.findall(body)}
    users = list(
        (await ctx.session.execute(select(User).where(User.is_active.is_(True)).order_by(User.id))).scalars()
    )
    by_id = {u.id: u for u in users}
    unknown = [str(i) for i in explicit if i not in by_id]
    if unknown:
        raise Unprocessable(
            "Mentioned users must be active users of this company.",
            code="invalid_mention",
            details={"userIds": unknown},
        )
    chosen = {i: by_id[i] for i in explicit}
    for user in users:
        if user.email.split("@", 1)[0].lower() in handles:
            chosen.setdefault(user.id, user)
    return list(chosen.values())


async def list_notes(
    ctx: Ctx, conversation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[NoteOut], str | None]:
    await _conversation(ctx, conversation_id)
    before = Cursor.decode(cursor) if cursor else None
    rows = await NoteRepository(ctx.session).list_page(conversation_id, limit=limit + 1, before=before)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = Cursor(last.created_at, last.id).encode()
    return [note_to_out(note, author) for note, author in rows], next_cursor


async def add_note(ctx: Ctx, conversation_id: uuid.UUID, data: NoteCreate) -> NoteOut:
    """A private note; mentioned teammates get a `notification` event (and follow the conversation),
    other participants a quieter one."""
    conversation = await _conversation(ctx, conversation_id)
    mentioned = await _mentioned_users(ctx, data.body, data.mentions)
    now = utcnow()
    note = NoteRepository(ctx.session).add(
        ConversationNote(
            tenant_id=ctx.tenant_id,
            conversation_id=conversation.id,
            author_id=ctx.user_id,
            body=data.body,
            mentions=[str(u.id) for u in mentioned],
            created_at=now,
            updated_at=now,
        )
    )
    await ctx.session.flush()
    participants = ParticipantRepository(ctx.session)
    followers = {p.user_id for p, _ in await participants.of_conversation(conversation.id)}
    for user in mentioned:
        if user.id not in followers:
            participants.add(
                ConversationParticipant(
                    tenant_id=ctx.tenant_id,
                    conversation_id=conversation.id,
                    user_id=user.id,
                    added_by_id=ctx.user_id,
                )
            )
    author = await ctx.session.get(User, ctx.user_id)
    out = note_to_out(note, author)
    payload = out.model_dump(mode="json", by_alias=True)
    publish_after_commit(ctx.session, ctx.runtime, ctx.tenant_id, "note.created", payload)
    excerpt = data.body if len(data.body) <= EXCERPT_LENGTH else data.body[: EXCERPT_LENGTH - 1] + "…"
    by = {"id": str(ctx.user_id), "name": ctx.principal.name}
    mentioned_ids = {u.id for u in mentioned}
    for user in mentioned:
        if user.id != ctx.user_id:
            _notify(ctx, user.id, "mention", conversation.id, note.id, by, excerpt)
    for user_id in followers - mentioned_ids - {ctx.user_id}:
        _notify(ctx, user_id, "note", conversation.id, note.id, by, excerpt)
    return out


def _notify(
    ctx: Ctx,
    user_id: uuid.UUID,
    kind: str,
    conversation_id: uuid.UUID,
    note_id: uuid.UUID,
    by: dict[str, str],
    excerpt: str,
) -> None:
    publish_after_commit(
        ctx.session,
        ctx.runtime,
        ctx.tenant_id,
        NOTIFICATION_EVENT,
        {
            "kind": kind,
            "userId": str(user_id),
            "conversationId": str(conversation_id),
            "noteId": str(note_id),
            "by": by,
            "excerpt": excerpt,
        },
        audience=frozenset({user_id}),
    )


async def _own_note(ctx: Ctx, conversation_id: uuid.UUID, note_id: uuid.UUID) -> ConversationNote:
    await _conversation(ctx, conversation_id)
    note = await NoteRepository(ctx.session).get_or_404(note_id)
    if note.conversation_id != conversation_id:
        raise NotFound("Note not found.")
    if note.author_id != ctx.user_id and not ctx.principal.is_admin:
        raise Forbidden("Only the note's author or an administrator can change it.", code="not_note_author")
    return note


async def update_note(ctx: Ctx, conversation_id: uuid.UUID, note_id: uuid.UUID, data: NoteUpdate) -> NoteOut:
    note = await _own_note(ctx, conversation_id, note_id)
    note.body = data.body
    note.updated_at = utcnow()
    author = await ctx.session.get(User, note.author_id) if note.author_id else None
    out = note_to_out(note, author)
    publish_after_commit(
        ctx.session, ctx.runtime, ctx.tenant_id, "note.updated", out.model_dump(mode="json", by_alias=True)
    )
    return out


async def delete_note(ctx: Ctx, conversation_id: uuid.UUID, note_id: uuid.UUID) -> None:
    note = await _own_note(ctx, conversation_id, note_id)
    await ctx.session.delete(note)
    publish_after_commit(
        ctx.session,
        ctx.runtime,
        ctx.tenant_id,
        "note.deleted",
        {"id": str(note_id), "conversationId": str(conversation_id)},
    )


# --- canned responses -----------------------------------------------------------------------------------------


def canned_to_out(canned: CannedResponse) -> CannedResponseOut:
    return CannedResponseOut.model_validate(canned)


async def list_canned(ctx: Ctx, search: str | None) -> list[CannedResponse]:
    return await CannedResponseRepository(ctx.session).search(search, limit=500)


async def get_canned(ctx: Ctx, canned_id: uuid.UUID) -> CannedResponse:
    return await CannedResponseRepository(ctx.session).get_or_404(canned_id)


async def _refuse_taken_code(ctx: Ctx, short_code: str, except_id: uuid.UUID | None = None) -> None:
    existing = await CannedResponseRepository(ctx.session).by_code(short_code)
    if existing is not None and existing.id != except_id:
        raise Conflict(
            f"The short code /{short_code} is already used.",
            code="short_code_taken",
            details={"cannedResponseId": str(existing.id)},
        )


async def create_canned(ctx: Ctx, data: CannedResponseCreate) -> CannedResponse:
    await _refuse_taken_code(ctx, data.short_code)
    repository = CannedResponseRepository(ctx.session)
    canned = repository.add(
        CannedResponse(
            tenant_id=ctx.tenant_id,
            short_code=data.short_code,
            title=data.title,
            body=data.body,
            created_by_id=ctx.user_id,
        )
    )
    await repository.flush()
    return canned


def _may_edit(ctx: Ctx, canned: CannedResponse) -> None:
    if canned.created_by_id != ctx.user_id and not ctx.principal.is_admin:
        raise Forbidden(
            "Only its author or an administrator can change a canned response.", code="not_canned_author"
        )


async def update_canned(ctx: Ctx, canned_id: uuid.UUID, data: CannedResponseUpdate) -> CannedResponse:
    canned = await get_canned(ctx, canned_id)
    _may_edit(ctx, canned)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "short_code" in changes:
        await _refuse_taken_code(ctx, changes["short_code"], except_id=canned.id)
    for key, value in changes.items():
        setattr(canned, key, value)
    canned.updated_at = utcnow()
    return canned


async def delete_canned(ctx: Ctx, canned_id: uuid.UUID) -> None:
    canned = await get_canned(ctx, canned_id)
    _may_edit(ctx, canned)
    await ctx.session.delete(canned)


async def expand_text(ctx: Ctx, text: str, conversation_id: uuid.UUID | None) -> ExpandOut:
    """Replace every `/short_code` in `text` with its canned response, filling {{contact.…}} and
    {{agent.name}}; unknown codes stay as typed."""
    codes = set(_SHORT_CODE_USE.findall(text))
    found = await CannedResponseRepository(ctx.session).by_codes(codes)
    variables = {"agent.name": ctx.principal.name}
    if conversation_id is not None:
        row = await get_row_or_404(ctx.session, conversation_id)
        contact = row.contact
        name = contact.display_name
        variables |= {
            "contact.name": name,
            "contact.first_name": name.split()[0] if name.split() else name,
            "contact.phone": f"+{contact.wa_id}" if contact.wa_id else "",
        }
    used: list[str] = []

    def fill(match: re.Match[str]) -> str:
        return variables.get(match.group(1), match.group(0))

    def expand(match: re.Match[str]) -> str:
        canned = found.get(match.group(1))
        if canned is None:
            return match.group(0)
        if canned.short_code not in used:
            used.append(canned.short_code)
        return _VARIABLE.sub(fill, canned.body)

    return ExpandOut(text=_SHORT_CODE_USE.sub(expand, text), used=used)


# --- labels ---------------------------------------------------------------------------------------------------


def default_label_color(name: str) -> str:
    """A colour that stays the same for a name, so labels added without one are still told apart."""
    palette = [color for color in LABEL_COLORS if color != "gray"]
    return palette[hashlib.sha256(name.encode()).digest()[0] % len(palette)]


def label_to_out(label: Label, count: int) -> LabelOut:
    return LabelOut(id=label.id, label=label.name, color=label.color, count=count)


def _publish_label(ctx: Ctx, event_type: str, data: dict[str, Any]) -> None:
    publish_after_commit(ctx.session, ctx.runtime, ctx.tenant_id, event_type, data)


async def set_labels(ctx: Ctx, conversation_id: uuid.UUID, labels: list[str]) -> ConversationOut:
    """Replace the conversation's labels (kept in `conversation_labels` for filtering and mirrored on the
    conversation for display); labels new to the company join its catalogue."""
    row = await get_row_or_404(ctx.session, conversation_id)
    await LabelRepository(ctx.session).replace(ctx.tenant_id, conversation_id, labels)
    catalog = LabelCatalogRepository(ctx.session)
    for name in await catalog.add_missing(ctx.tenant_id, labels, default_label_color):
        added = await catalog.by_name(name)
        if added is not None:
            _publish_label(
                ctx, "label.created", label_to_out(added, 1).model_dump(mode="json", by_alias=True)
            )
    row.conversation.labels = list(labels)
    await ctx.session.flush()
    out = to_out(row)
    publish_conversation(ctx.session, ctx.runtime, ctx.tenant_id, "conversation.updated", out)
    return out


async def list_labels(ctx: Ctx) -> list[LabelOut]:
    return [
        label_to_out(label, count) for label, count in await LabelCatalogRepository(ctx.session).with_counts()
    ]


async def create_label(ctx: Ctx, data: LabelCreate) -> LabelOut:
    """Add a label to the catalogue before any conversation carries it."""
    catalog = LabelCatalogRepository(ctx.session)
    if await catalog.by_name(data.label) is not None:
        raise Conflict(f"There is already a label '{data.label}'.", code="label_exists")
    label = catalog.add(Label(tenant_id=ctx.tenant_id, name=data.label, color=data.color))
    await catalog.flush()
    out = label_to_out(label, 0)
    _publish_label(ctx, "label.created", out.model_dump(mode="json", by_alias=True))
    return out


async def update_label(ctx: Ctx, label_id: uuid.UUID, data: LabelUpdate) -> LabelOut:
    """Recolour or rename a label; a rename applies to every conversation carrying it."""
    catalog = LabelCatalogRepository(ctx.session)
    label = await catalog.get_or_404(label_id)
    previous = label.name
    if data.label is not None and data.label != label.name:
        if await catalog.by_name(data.label) is not None:
            raise Conflict(f"There is already a label '{data.label}'.", code="label_exists")
        new = data.label
        conversation_ids = await catalog.conversations_with(previous)
        await catalog.rename_on_conversations(previous, new)
        await catalog.rewrite_conversation_labels(
            conversation_ids, lambda names: list(dict.fromkeys(new if n == previous else n for n in names))
        )
        label.name = new
        record_audit(
            ctx.session,
            tenant_id=ctx.tenant_id,
            actor_user_id=ctx.user_id,
            action=AuditAction.LABEL_RENAMED,
            target_type="label",
            target_id=label.id,
            details={"label": {"before": previous, "after": new}, "conversations": len(conversation_ids)},
        )
    if data.color is not None:
        label.color = data.color
    label.updated_at = utcnow()
    await catalog.flush()
    out = label_to_out(label, len(await catalog.conversations_with(label.name)))
    _publish_label(ctx, "label.updated", {**out.model_dump(mode="json", by_alias=True), "previous": previous})
    return out


async def delete_label(ctx: Ctx, label_id: uuid.UUID) -> None:
    """Remove a label from the catalogue and from every conversation carrying it."""
    catalog = LabelCatalogRepository(ctx.session)
    label = await catalog.get_or_404(label_id)
    conversation_ids = await catalog.conversations_with(label.name)
    await catalog.remove_from_conversations(label.name)
    await catalog.rewrite_conversation_labels(
        conversation_ids, lambda names: [n for n in names if n != label.name]
    )
    await ctx.session.delete(label)
    record_audit(
        ctx.session,
        tenant_id=ctx.tenant_id,
        actor_user_id=ctx.user_id,
        action=AuditAction.LABEL_DELETED,
        target_type="label",
        target_id=label.id,
        details={"label": label.name, "conversations": len(conversation_ids)},
    )
    _publish_label(ctx, "label.deleted", {"id": str(label.id), "label": label.name})


# --- participants ---------------------------------------------------------------------------------------------


async def list_participants(ctx: Ctx, conversation_id: uuid.UUID) -> list[ParticipantOut]:
    await _conversation(ctx, conversation_id)
    rows = await ParticipantRepository(ctx.session).of_conversation(conversation_id)
    return [
        ParticipantOut(user=UserRef.model_validate(user), added_by_id=p.added_by_id, created_at=p.created_at)
        for p, user in rows
    ]


async def add_participant(ctx: Ctx, conversation_id: uuid.UUID, user_id: uuid.UUID) -> ParticipantOut:
    await _conversation(ctx, conversation_id)
    user = await ctx.session.get(User, user_id)
    if user is None or user.tenant_id != ctx.tenant_id or not user.is_active:
        raise Unprocessable(
            "The participant must be an active user of this company.", code="invalid_participant"
        )
    participants = ParticipantRepository(ctx.session)
    participant = await participants.find(conversation_id, user_id)
    if participant is None:
        participant = participants.add(
            ConversationParticipant(
                tenant_id=ctx.tenant_id,
                conversation_id=conversation_id,
                user_id=user_id,
                added_by_id=ctx.user_id,
                created_at=utcnow(),
            )
        )
        await ctx.session.flush()
        _publish_participants(ctx, conversation_id)
    return ParticipantOut(
        user=UserRef.model_validate(user),
        added_by_id=participant.added_by_id,
        created_at=participant.created_at,
    )


async def remove_participant(ctx: Ctx, conversation_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await _conversation(ctx, conversation_id)
    participant = await ParticipantRepository(ctx.session).find(conversation_id, user_id)
    if participant is None:
        raise NotFound("This user does not follow the conversation.", code="participant_not_found")
    await ctx.session.delete(participant)
    _publish_participants(ctx, conversation_id)


def _publish_participants(ctx: Ctx, conversation_id: uuid.UUID) -> None:
    session, runtime, tenant_id = ctx.session, ctx.runtime, ctx.tenant_id

    async def publish() -> None:
        # Read after the commit so the event carries the final list.
        async with runtime.sessionmaker() as reader:
            scope_to_tenant(reader, tenant_id)
            ids = (
                await reader.execute(
                    select(ConversationParticipant.user_id).where(
                        ConversationParticipant.conversation_id == conversation_id
                    )
                )
            ).scalars()
            data: dict[str, Any] = {"conversationId": str(conversation_id), "userIds": [str(i) for i in ids]}
            await reader.rollback()
        await publish_event(runtime, tenant_id, "conversation.participants", data)

    run_after_commit(session, publish)


# --- collision hints ------------------------------------------------------------------------------------------


async def announce_presence(ctx: Ctx, conversation_id: uuid.UUID, state: str) -> None:
    """Tell the team that this user is typing in, viewing, or has left a conversation. Nothing is stored:
    the hint expires on the clients after a few seconds unless repeated."""
    await _conversation(ctx, conversation_id)
    publish_after_commit(
        ctx.session,
        ctx.runtime,
        ctx.tenant_id,
        PRESENCE_EVENT,
        {
            "conversationId": str(conversation_id),
            "user": {"id": str(ctx.user_id), "name": ctx.principal.name},
            "state": state,
            "at": utcnow().isoformat(),
            "expiresInSeconds": PRESENCE_TTL_SECONDS,
        },
    )
