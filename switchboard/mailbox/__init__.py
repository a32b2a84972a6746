"""The mailbox: durable messages between named agents."""

from switchboard.mailbox.models import Agent, Delivery, Message, MessageType, Priority, Status
from switchboard.mailbox.service import Mailbox

__all__ = ["Agent", "Delivery", "Mailbox", "Message", "MessageType", "Priority", "Status"]
