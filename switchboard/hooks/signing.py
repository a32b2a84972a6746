"""The HMAC-SHA256 scheme of hook deliveries and dispatch requests.

A request carries `X-Switchboard-Timestamp: <unix seconds>` and
`X-Switchboard-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`.
Inbound, Slack's form of the same idea is accepted too: `X-Slack-Request-Timestamp`
and `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:" + body)>`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from switchboard.errors import SwitchboardError

TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
SIGNATURE_HEADER = "X-Switchboard-Signature"
SLACK_TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SLACK_SIGNATURE_HEADER = "X-Slack-Signature"
MAX_SKEW_SECONDS = 300  # older (or newer) requests are refused as possible replays


class BadSignature(SwitchboardError):
    """A request is unsigned, wrongly signed, too old, or was seen before."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """Check a request's signature and age; return the signature (to refuse its replay)."""
    slack = SLACK_SIGNATURE_HEADER.lower() in {k.lower() for k in headers}
    stamp_header, signature_header = (
        (SLACK_TIMESTAMP_HEADER, SLACK_SIGNATURE_HEADER) if slack else (TIMESTAMP_HEADER, SIGNATURE_HEADER)
    )
    given, stamp = _header(headers, signature_header), _header(headers, stamp_header)
    if not given or not stamp:
        raise BadSignature(f"unsigned request: send {stamp_header} and {signature_header}")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BadSignature(f"{stamp_header} must be Unix seconds") from None
    if abs((time.time() if now is None else now) - timestamp) > MAX_SKEW_SECONDS:
        raise BadSignature(f"request timestamp is more than {MAX_SKEW_SECONDS}s away from now")
    if slack:
        mac = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
        expected = "v0=" + mac.hexdigest()
    else:
        expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, given):
        raise BadSignature("wrong signature")
    return given


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None
