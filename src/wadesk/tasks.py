"""Imports every domain's task module so their jobs are registered with the broker."""

from wadesk.messages import tasks as message_tasks
from wadesk.webhooks import tasks as webhook_tasks

__all__ = ["message_tasks", "webhook_tasks"]
