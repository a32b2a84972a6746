"""Files attached to a prompt (`-f/--file`): read and checked once, at the edge, then sent
to OpenCode as `file` parts. The content travels in a `data:` URL, so a server on
another host sees the same bytes, and a task retried later sends the same files."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from switchboard import validate
from switchboard.errors import InvalidInput


@dataclass(frozen=True)
class Attachment:
    filename: str  # as the user named it: what the model sees as the file's path
    text: str

    def part(self) -> dict[str, Any]:
        data = base64.b64encode(self.text.encode("utf-8")).decode("ascii")
        return {
            "type": "file",
            "mime": "text/plain",
            "filename": self.filename,
            "url": f"data:text/plain;base64,{data}",
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_attachments(paths: Iterable[str | Path], limit: int) -> list[Attachment]:
    """Each path as an attachment: a readable UTF-8 text file, all of them together at most
    `limit` bytes. A missing or unreadable path, a directory or a binary file is refused."""
    files, total = [], 0
    for path in paths:
        if str(path) == validate.STDIN:
            raise InvalidInput("--file - is not supported: give the prompt on standard input instead")
        if Path(path).is_dir():
            raise InvalidInput(f"cannot attach {path}: it is a directory")
        text = validate.read_file(path, "attached file", limit)
        total += len(text.encode("utf-8"))
        if total > limit:
            raise InvalidInput(
                f"attached files are over the limit of {limit} bytes together (setting max_payload_bytes)"
            )
        files.append(Attachment(str(path), text))
    return files


def prompt_parts(prompt: str, files: Sequence[Attachment]) -> str | list[dict[str, Any]]:
    """The prompt as OpenCode input: the text, then one part per attached file."""
    if not files:
        return prompt
    return [{"type": "text", "text": prompt}, *(f.part() for f in files)]


def from_json(data: str | None) -> list[Attachment]:
    """Attachments as a task row keeps them (a JSON list), back."""
    import json

    return [Attachment(**item) for item in json.loads(data)] if data else []
