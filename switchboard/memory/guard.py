"""What may not enter memory: `<private>` passages are cut out, secrets are refused.

Memories are fed back into agent sessions and exported to files, so a credential
stored once would leak for ever. Detection is by pattern (well-known key formats
and `name=value` assignments of secret-looking names); the error names the kind
and line of what was found, never the text itself.
"""

from __future__ import annotations

import re

from switchboard.errors import InvalidInput

_PRIVATE = re.compile(r"[ \t]*<private>.*?(?:</private>|\Z)", re.IGNORECASE | re.DOTALL)

# A value that only points at a secret is not one: a variable ($X, ${X}, %X%), a
# placeholder or mask, a type or literal, or code that fetches it (settings.API_KEY,
# os.environ[...], getenv(...)). Code-related memories mention such lines often.
_PLACEHOLDER = re.compile(r"""["']?(?:
    \$\{?\w+\}? | %\w+% | <[^>]*> | \*+ | x{3,} | \.{3} | … | redacted | changeme
  | none | null | nil | true | false | str | string | int | bool | bytes | optional\[.*
  | [A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:[(\[].*)? | [A-Za-z_]\w*[(\[].*
)["']?[,;)]?""", re.I | re.X)

_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("an OpenAI/Anthropic-style API key (sk-…)", re.compile(r"\bsk-(?:[A-Za-z0-9_-]{2,20}-)?[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id (AKIA…)", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token (ghp_…)", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a Slack token (xox…-)", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9_/]+")),
    ("a Google API key (AIza…)", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe secret key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:([^\s/@]+)@", re.I)),
    ("a secret assignment (password=, api_key=, token=…)", re.compile(
        r"\b(?:password|passwd|pwd|passphrase|secret|client_secret|api[_-]?key|apikey|"
        r"access[_-]?key|secret[_-]?key|private[_-]?key|(?:access|auth|api|bearer|refresh)[_-]?token)"
        r"""["']?\s*[:=]\s*(<[^>\n]*>|["']?[^\s"',;]+)""", re.I)),
    ("a bearer token", re.compile(r"\bAuthorization:\s*(?:Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{12,})", re.I)),
)


def strip_private(text: str) -> str:
    """Remove every `<private>…</private>` passage (an unclosed one runs to the end)."""
    return _PRIVATE.sub("", text)


def find_secret(text: str) -> tuple[str, int] | None:
    """The kind and line number of the first secret-looking text, or None."""
    for kind, pattern in _SECRETS:
        for match in pattern.finditer(text):
            value = match.group(match.lastindex) if match.lastindex else match.group(0)
            if match.lastindex and _PLACEHOLDER.fullmatch(value):
                continue
            return kind, text.count("\n", 0, match.start()) + 1
    return None


def refuse_secrets(text: str, what: str = "content") -> None:
    found = find_secret(text)
    if found is not None:
        kind, line = found
        raise InvalidInput(
            f"{what} looks like it contains {kind} (line {line}); refused, nothing was stored. "
            "Remove it, or wrap it in <private>…</private> to keep the rest"
        )
