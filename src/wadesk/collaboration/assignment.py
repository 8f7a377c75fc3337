"""Round-robin auto-assignment of new conversations among the agents who are online.

When the tenant's `auto_assign` setting is on, each new conversation goes to the next online, active user
after the one who got the previous conversation (in a fixed order), so over time everyone online gets an
equal share; users set away are skipped until they come back. The tenant's position in the rotation is one
row, locked while choosing, so concurrent new conversations never take the same turn.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wadesk.collaboration.models import AutoAssignmentState
from wadesk.conversations.models import Conversation
from wadesk.db.upsert import insert_if_absent
from wadesk.tenants.service import setting_in_transaction
from wadesk.users.models import Availability, User


def next_in_rotation(candidates: list[uuid.UUID], last: uuid.UUID | None) -> uuid.UUID:
    """The candidate after `last` in the (sorted) rotation, wrapping around; the first when `last` left."""
    ordered = sorted(candidates)
    if last is not None:
        for candidate in ordered:
            if candidate > last:
                return candidate
    return ordered[0]


async def assign_new_conversation(
    session: AsyncSession, tenant_id: uuid.UUID, conversation: Conversation
) -> uuid.UUID | None:
    """Give a new, unassigned conversation to the next online agent if the tenant auto-assigns; the
    assignee's id, or None when auto-assignment is off or nobody is online."""
    if conversation.assignee_id is not None:
        return None
    if not await setting_in_transaction(session, tenant_id, "auto_assign"):
        return None
    online = list(
        (
            await session.execute(
                select(User.id).where(
                    User.tenant_id == tenant_id,
                    User.is_active.is_(True),
                    User.availability == Availability.ONLINE,
                )
            )
        ).scalars()
    )
    if not online:
        return None
    await insert_if_absent(session, AutoAssignmentState, {"tenant_id": tenant_id}, ["tenant_id"])
    state = (
        await session.execute(
            select(AutoAssignmentState).where(AutoAssignmentState.tenant_id == tenant_id).with_for_update()
        )
    ).scalar_one()
    chosen = next_in_rotation(online, state.last_user_id)
    state.last_user_id = chosen
    conversation.assignee_id = chosen
    return chosen
