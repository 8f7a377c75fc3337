"""Imports every domain's task module so their jobs are registered with the broker."""

from wadesk.campaigns import tasks as campaign_tasks
from wadesk.integrations import tasks as integration_tasks
from wadesk.messages import tasks as message_tasks
from wadesk.templates import tasks as template_tasks
from wadesk.webhooks import tasks as webhook_tasks

__all__ = ["campaign_tasks", "integration_tasks", "message_tasks", "template_tasks", "webhook_tasks"]
