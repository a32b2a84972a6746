"""Secret-looking text: found (the memory guard refuses it) or replaced by
`[redacted:<kind>]` (everything else switchboard stores or logs).

One list of patterns serves both, so what the guard refuses is what redaction hides:
well-known key formats (by vendor prefix), private key blocks, passwords in URLs, and
`NAME=value` / `"name": "value"` assignments of secret-looking names (`password`,
`DB_PASSWORD`, `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `client_secret`, ...). For the
last three only the value is replaced, so the text still says what was there.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

# A value that only points at a secret is not one: a variable ($X, ${X}, %X%), a
# placeholder or mask, a type or literal, code that fetches it (settings.API_KEY,
# os.environ[...], getenv(...)), or a secret already redacted.
_PLACEHOLDER = r"""["']?(?:
    \$\{?\w+\}? | %\w+% | <[^>]*> | \*+ | x{3,} | \.{3} | … | redacted | changeme | \[redacted:[\w-]+\]
  | none | null | nil | true | false | str | string | int | bool | bytes | optional\[.*
  | [A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:[(\[].*)? | [A-Za-z_]\w*[(\[].*
)["']?[,;)]?"""

_SECRET_WORDS = ("password", "passwd", "pwd", "passphrase", "secret", "token", "key")
_SECRET_WORD = f"(?:{'|'.join(_SECRET_WORDS)})"
_ASSIGNMENT = (
    rf"(?<![\w-])(?P<name>(?:[A-Za-z0-9]+[_-])+{_SECRET_WORD}|password|passwd|passphrase|secret|apikey)"
    r"""["']?\s*[:=]\s*["']?(?P<value><[^>\n]*>|[^\s"',;]+)"""
)


class Pattern(NamedTuple):
    kind: str  # the `<kind>` of `[redacted:<kind>]`
    description: str  # for the guard's refusal
    needles: tuple[str, ...]  # lower-case text one of which every match contains
    source: str  # a `value` group, if only that part is the secret
    flags: int = 0

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.source, self.flags)


@functools.cache
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    """Compiled on first use: most text holds no needle, and compiling every pattern
    costs a short-lived CLI call more than the call's own work."""
    return re.compile(source, flags)


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "private-key",
        "a private key block",
        ("-----begin",),
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
        re.S,
    ),
    Pattern(
        "api-key",
        "an OpenAI/Anthropic-style API key (sk-…)",
        ("sk-",),
        r"\bsk-(?:[A-Za-z0-9_-]{2,20}-)?[A-Za-z0-9_-]{20,}",
    ),
    Pattern("aws-key", "an AWS access key id (AKIA…)", ("akia", "asia"), r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    Pattern(
        "github-token",
        "a GitHub token (ghp_…)",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
    ),
    Pattern("gitlab-token", "a GitLab token (glpat-…)", ("glpat-",), r"\bglpat-[A-Za-z0-9_-]{20,}"),
    Pattern("npm-token", "an npm token (npm_…)", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    Pattern("huggingface-token", "a Hugging Face token (hf_…)", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}\b"),
    Pattern("slack-token", "a Slack token (xox…-)", ("xox",), r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    Pattern(
        "slack-webhook",
        "a Slack webhook URL",
        ("hooks.slack.com/services/t",),
        r"hooks\.slack\.com/services/T[A-Za-z0-9_/]+",
    ),
    Pattern("google-api-key", "a Google API key (AIza…)", ("aiza",), r"\bAIza[0-9A-Za-z_-]{35}\b"),
    Pattern("stripe-key", "a Stripe secret key", ("k_live_",), r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    Pattern("jwt", "a JSON web token", ("eyj",), r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    Pattern(
        "url-password",
        "a password in a URL",
        ("://",),
        r"\b[a-z][a-z0-9+.-]{0,31}://[^\s/:@]{1,256}:(?P<value>[^\s/@]+)@",
        re.I,
    ),
    Pattern(
        "assignment",
        "a secret assignment (password=, DB_PASSWORD=, api_key=, token=…)",
        (*_SECRET_WORDS, "apikey"),
        _ASSIGNMENT,
        re.I,
    ),
    Pattern(
        "bearer",
        "a bearer token",
        ("authorization:",),
        r"\bAuthorization:\s*(?:Bearer|Basic)\s+(?P<value>[A-Za-z0-9._~+/=-]{12,})",
        re.I,
    ),
)


def _candidates(text: str) -> list[Pattern]:
    """The patterns that may match `text`: those with one of their needles in it (casefold
    matches what the patterns' IGNORECASE matches, `ſ` as `s` included)."""
    folded = text.casefold()
    return [p for p in PATTERNS if any(needle in folded for needle in p.needles)]


def _secret_span(match: re.Match[str]) -> tuple[int, int] | None:
    """Where the secret is in a match (its `value` group, or all of it); None for a placeholder."""
    if "value" not in match.re.groupindex:
        return match.span()
    if _compiled(_PLACEHOLDER, re.I | re.X).fullmatch(match.group("value")):
        return None
    return match.span("value")


_ASSIGNED_KINDS = {"passwd": "password", "pwd": "password", "passphrase": "password", "apikey": "key"}


def _kind(pattern: Pattern, match: re.Match[str]) -> str:
    """For an assignment, what its name says (`password`, `token`, `secret`, `key`)."""
    if "name" not in match.re.groupindex:
        return pattern.kind
    word = re.search(rf"{_SECRET_WORD}$|apikey$", match.group("name"), re.I)
    last = word.group(0).lower() if word else pattern.kind
    return _ASSIGNED_KINDS.get(last, last)


def find_secret(text: str) -> tuple[str, int] | None:
    """The description and line number of the first secret-looking text, or None."""
    for pattern in _candidates(text):
        for match in pattern.regex.finditer(text):
            if _secret_span(match) is not None:
                return pattern.description, text.count("\n", 0, match.start()) + 1
    return None


def redact(text: str) -> str:
    """`text` with every secret-looking part replaced by `[redacted:<kind>]`."""
    for pattern in _candidates(text):

        def replace(match: re.Match[str], pattern: Pattern = pattern) -> str:
            span = _secret_span(match)
            if span is None:
                return match.group(0)
            start, end = (i - match.start() for i in span)
            whole = match.group(0)
            return f"{whole[:start]}[redacted:{_kind(pattern, match)}]{whole[end:]}"

        text = pattern.regex.sub(replace, text)
    return text
