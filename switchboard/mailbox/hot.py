"""The hot mail verbs (`send`, `check`, `claim`, `ack`) without typer, for scripts that
call them in loops: typer and click cost more than the call itself.

`run` takes only a well-formed command line that it fully understands, with the same
options, checks and output as `mailbox/cli.py`, and calls the same `Mailbox`. For
anything else (`--help`, an unknown or malformed option, a missing one) it answers None
and the typer CLI runs instead, so help and usage errors stay the typer CLI's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switchboard import validate
from switchboard.config import Settings
from switchboard.errors import InvalidInput, SwitchboardError
from switchboard.mailbox.service import Mailbox
from switchboard.mailbox.views import acked_out, batch_out, message_out, messages_table
from switchboard.output import emit, print_error, print_json

Convert = Callable[[str], Any]
FLAG: Convert = bool  # an option without a value

ROOT: dict[str, Convert] = {"--home": Path, "--database-url": str}
OPTIONS: dict[str, dict[str, Convert]] = {  # as `mailbox/cli.py` declares them, checked alike
    "send": {
        "--to": str,
        "--type": str,
        "--payload": str,
        "--from": str,
        "--priority": str,
        "--convoy": str,
        "--reply-to": lambda v: validate.integer(v, "--reply-to"),
        "--json": FLAG,
    },
    "check": {
        "--agent": str,
        "--unread-only": FLAG,
        "--type": str,
        "--archived": FLAG,
        "--limit": lambda v: validate.integer(v, "--limit"),
        "--json": FLAG,
    },
    "claim": {
        "--agent": str,
        "--type": str,
        "--lease": lambda v: validate.seconds(v, "--lease", positive=True),
        "--wait": lambda v: validate.seconds(v, "--wait"),
        "--batch": lambda v: validate.integer(v, "--batch"),
        "--json": FLAG,
    },
    "ack": {"--lease": str, "--json": FLAG},
}
REQUIRED = {"send": ("--to", "--type", "--payload")}


class _NotHot(Exception):
    """A command line for the typer CLI."""


def _options(tokens: list[str], known: dict[str, Convert], positional: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    rest = iter(tokens)
    for token in rest:
        name, eq, value = token.partition("=")
        if not token.startswith("--"):
            positional.append(token)
            continue
        convert = known.get(name)
        if convert is None:
            raise _NotHot
        if convert is FLAG:
            if eq:
                raise _NotHot
            found[name] = True
            continue
        if not eq:
            value = next(rest, "")
            if not value or value.startswith("-") and value != "-":
                raise _NotHot  # missing, or an option where a value should be: the typer CLI says so
        try:
            found[name] = convert(value)
        except InvalidInput:
            raise _NotHot from None  # the typer CLI words the usage error
    return found


def _parse(args: list[str]) -> tuple[str, dict[str, Any], dict[str, Any], list[int]]:
    if "mail" not in args:
        raise _NotHot
    at = args.index("mail")
    if at + 1 >= len(args) or args[at + 1] not in OPTIONS:
        raise _NotHot
    verb = args[at + 1]
    leftover: list[str] = []
    root = _options(args[:at], ROOT, leftover)
    if leftover:
        raise _NotHot
    positional: list[str] = []
    options = _options(args[at + 2 :], OPTIONS[verb], positional)
    if any(name not in options for name in REQUIRED.get(verb, ())):
        raise _NotHot
    if (verb == "ack") != bool(positional):
        raise _NotHot
    try:
        return verb, root, options, [validate.integer(value, "message id") for value in positional]
    except InvalidInput:
        raise _NotHot from None


def run(args: list[str], *, one_shot: bool = False) -> int | None:
    """Run a hot mail verb and return its exit code; None if the typer CLI should run it.
    `one_shot` (the `sb` executable): end the process here instead of returning, see `_end`."""
    try:
        verb, root, options, positional = _parse(args)
    except _NotHot:
        return None
    try:
        validate.utf8_args(args)
        settings = Settings.load(root.get("--home"), database_url=root.get("--database-url"))
        mailbox = Mailbox.open(settings, one_shot=one_shot)
        code = _VERBS[verb](mailbox, settings, options, *positional)
    except SwitchboardError as exc:
        code = print_error(str(exc), 2, args)
    if one_shot:
        _end(code)  # `mailbox` still holds its connection: it is never closed
    return code


def _end(code: int) -> None:  # never returns
    """End the process at once. Its commits are synced already (`one_shot` stores use
    `synchronous = FULL`); closing the last connection would checkpoint the WAL into the
    database (four fsyncs), and the interpreter's teardown takes ~6 ms: neither is needed."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say
        pass
    os._exit(code)


def _send(mailbox: Mailbox, settings: Settings, o: dict[str, Any]) -> int:
    payload = validate.read_arg(o["--payload"], "payload", settings.max_payload_bytes)
    sent = mailbox.send(
        o["--to"],
        o["--type"],
        payload,
        sender=o.get("--from"),
        priority=o.get("--priority", "normal"),
        convoy=o.get("--convoy"),
        reply_to=o.get("--reply-to"),
    )
    if o.get("--json"):
        print_json({"ids": [m.id for m in sent], "to": [m.to_agent for m in sent]})
    else:
        sys.stdout.write("\n".join(str(m.id) for m in sent) + "\n")
    return 0


def _check(mailbox: Mailbox, settings: Settings, o: dict[str, Any]) -> int:
    messages = mailbox.check(
        o.get("--agent") or settings.agent,
        unread_only=o.get("--unread-only", False),
        type=o.get("--type"),
        include_archived=o.get("--archived", False),
        limit=o.get("--limit", 100),
    )
    if o.get("--json"):
        print_json([m.to_dict() for m in messages])
    else:
        messages_table(messages, "no messages")
    return 0


def _claim(mailbox: Mailbox, settings: Settings, o: dict[str, Any]) -> int:
    agent = o.get("--agent") or settings.agent
    if agent is None:
        raise InvalidInput("claim needs an agent: give --agent or set SWITCHBOARD_AGENT")
    if "--batch" in o:
        return batch_out(
            mailbox.claim_many(
                agent, o["--batch"], type=o.get("--type"), lease=o.get("--lease"), wait=o.get("--wait", 0.0)
            ),
            bool(o.get("--json")),
        )
    message = mailbox.claim(agent, type=o.get("--type"), lease=o.get("--lease"), wait=o.get("--wait", 0.0))
    if message is None:
        if o.get("--json"):
            print_json(None)
        else:
            sys.stderr.write("no message\n")
        return 1
    message_out(message, bool(o.get("--json")))
    return 0


def _ack(mailbox: Mailbox, settings: Settings, o: dict[str, Any], *message_ids: int) -> int:
    if len(message_ids) == 1:
        message = mailbox.ack(message_ids[0], lease_token=o.get("--lease"))
        emit(message, bool(o.get("--json")), f"acked {message.id}")
        return 0
    acked_out(mailbox.ack_many(message_ids, lease_token=o.get("--lease")), bool(o.get("--json")))
    return 0


_VERBS: dict[str, Callable[..., int]] = {"send": _send, "check": _check, "claim": _claim, "ack": _ack}
