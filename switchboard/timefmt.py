"""Timestamps: stored as Unix epoch seconds, shown as ISO 8601 (JSON) or ages (tables)."""

from __future__ import annotations

from datetime import datetime, UTC


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def age(epoch: float | None, now: float) -> str:
    """A short human age such as '5s', '3m', '2h', '4d'."""
    if epoch is None:
        return "-"
    seconds = max(0.0, now - epoch)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
