"""Validation of what users give: names of agents, runners and namespaces; choices; text sizes."""

import re
from collections.abc import Collection
from enum import StrEnum
from typing import Any, TypeVar

from switchboard.errors import InvalidInput

Choice = TypeVar("Choice", bound=StrEnum)

NAME_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]{0,39}")
# Names that mean something already: `all` addresses every agent, `user` is the default
# sender, `coordinator` receives the reports, `shared` is the namespace every runner reads.
RESERVED_NAMES = {
    "all": "every agent",
    "coordinator": "the coordinator's mailbox",
    "shared": "the shared memory namespace",
    "user": "the default sender",
}


def check_name(value: str, kind: str = "agent name", *, reserved: Collection[str] = ()) -> str:
    """Return `value` if it is a valid name, else raise `InvalidInput`.

    Names become file names and socket names, so path separators, `..`, spaces
    and anything beyond 40 characters are refused; so are the `reserved` names
    (in any case), which would be read as something else.
    """
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InvalidInput(f"invalid {kind} {value!r}: use a letter, then up to 39 letters, digits, '-' or '_'")
    if value.lower() in reserved:
        raise InvalidInput(f"{kind} {value!r} is reserved: it means {RESERVED_NAMES[value.lower()]}")
    return value


def check_label(value: str, what: str, limit: int = 200) -> str:
    """A short label kept as given (a git branch, a path): one line of printable text."""
    if not value or len(value) > limit or not value.isprintable():
        raise InvalidInput(f"invalid {what} {value[:40]!r}: use up to {limit} printable characters on one line")
    return value


def check_text(text: str, what: str, limit: int) -> str:
    """Return `text` if it is not blank and at most `limit` bytes of UTF-8, else raise."""
    if not text or not text.strip():
        raise InvalidInput(f"{what} is empty")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise InvalidInput(f"{what} is {size} bytes, over the limit of {limit} (setting max_payload_bytes)")
    return text


def parse_choice(kind: type[Choice], value: Any, what: str, *, upper: bool = False) -> Choice:
    """`value` as a member of the enum `kind` (case-insensitive), else an error listing the choices."""
    if isinstance(value, kind):
        return value
    text = str(value).strip()
    try:
        return kind(text.upper() if upper else text.lower())
    except ValueError:
        raise InvalidInput(f"unknown {what} {value!r}: use {', '.join(k.value for k in kind)}") from None
