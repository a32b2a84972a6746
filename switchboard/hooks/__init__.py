"""Webhooks: signed posts when a task ends (outbound), and signed dispatch requests (inbound)."""

from switchboard.hooks.models import Delivery, Hook, HookEvent, HookFormat
from switchboard.hooks.service import Hooks

__all__ = ["Delivery", "Hook", "HookEvent", "HookFormat", "Hooks"]
