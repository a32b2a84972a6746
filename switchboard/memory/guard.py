"""What may not enter memory: `<private>` passages are cut out, secrets are refused.

Memories are fed back into agent sessions and exported to files, so a credential
stored once would leak for ever. Detection is by pattern (`switchboard.redaction`,
which also redacts what the rest of switchboard stores); the error names the kind
and line of what was found, never the text itself.
"""

from __future__ import annotations

import re

from switchboard.errors import InvalidInput
from switchboard.redaction import find_secret

_PRIVATE = re.compile(r"[ \t]*<private>.*?(?:</private>|\Z)", re.IGNORECASE | re.DOTALL)


def strip_private(text: str) -> str:
    """Remove every `<private>…</private>` passage (an unclosed one runs to the end)."""
    return _PRIVATE.sub("", text)


def refuse_secrets(text: str, what: str = "content") -> None:
    found = find_secret(text)
    if found is not None:
        kind, line = found
        raise InvalidInput(
            f"{what} looks like it contains {kind} (line {line}); refused, nothing was stored. "
            "Remove it, or wrap it in <private>…</private> to keep the rest"
        )
