"""How messages print: a table for lists, aligned fields for one (JSON under `--json`)."""

from __future__ import annotations

import sys
import time

from switchboard.mailbox.models import Message
from switchboard.output import preview, print_fields, print_json, print_table
from switchboard.timefmt import age, iso


def messages_table(messages: list[Message], empty: str) -> None:
    now = time.time()
    print_table(
        ["id", "priority", "type", "from", "to", "status", "delivery", "age", "payload"],
        [
            (
                m.id,
                m.priority.label,
                m.type.value,
                m.from_agent,
                m.to_agent,
                m.status.value,
                m.delivery.value,
                age(m.created_at, now),
                preview(m.payload),
            )
            for m in messages
        ],
        empty=empty,
    )


def message_out(message: Message, as_json: bool) -> None:
    if as_json:
        print_json(message.to_dict())
        return
    print_fields(
        [
            ("id", message.id),
            ("from", message.from_agent),
            ("to", message.to_agent),
            ("type", message.type.value),
            ("priority", message.priority.label),
            ("convoy", message.convoy),
            ("reply-to", message.reply_to),
            ("status", message.status.value),
            ("delivery", message.delivery.value),
            ("attempts", f"{message.attempts}/{message.max_attempts}"),
            ("lease", message.lease_token),
            ("lease-expires", iso(message.lease_expires_at)),
            ("last-error", message.last_error),
            ("created", iso(message.created_at)),
        ],
        body=message.payload,
    )


def batch_out(messages: list[Message], as_json: bool) -> int:
    """A claimed batch (a list under `--json`; the lease token on stderr for people); the exit
    code: 1 when nothing was claimed."""
    if as_json:
        print_json([m.to_dict() for m in messages])
    elif messages:
        messages_table(messages, "")
        sys.stderr.write(f"lease {messages[0].lease_token}\n")
    else:
        sys.stderr.write("no message\n")
    return 0 if messages else 1


def acked_out(messages: list[Message], as_json: bool) -> None:
    if as_json:
        print_json([m.to_dict() for m in messages])
    else:
        sys.stdout.write(f"acked {', '.join(str(m.id) for m in messages)}\n")
