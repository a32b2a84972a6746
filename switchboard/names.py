"""Validation of the names users give to agents, runners and namespaces."""

import re

from switchboard.errors import InvalidInput

NAME_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]{0,39}")


def check_name(value: str, kind: str = "agent name") -> str:
    """Return `value` if it is a valid name, else raise `InvalidInput`.

    Names become file names and socket names, so path separators, `..`, spaces
    and anything beyond 40 characters are refused.
    """
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InvalidInput(
            f"invalid {kind} {value!r}: use a letter, then up to 39 letters, digits, '-' or '_'"
        )
    return value
