"""Tasks from a TODO.md file, in the todo-md format the reference coordinator read.

    - [ ] t001 Review the auth module @alice #security ~2h logged:2025-01-15
    - [ ] t002 Write tests for it blocked-by:t001
    - [x] t000 Done already

Open lines (`- [ ]`) become tasks; done (`[x]`) and declined (`[-]`) lines are
skipped, and a dependency on a done line counts as met. The optional leading id
(`t001`, `t001.2`) is what `blocked-by:` refers to.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from switchboard import validate
from switchboard.errors import InvalidInput

TODO_LIMIT = 16 * 1024 * 1024  # bytes: thousands of tasks; beyond is not a TODO file

_LINE = re.compile(r"^\s*[-*]\s+\[(?P<mark>[ xX-])\]\s+(?P<body>.+?)\s*$")
_ID = re.compile(r"^(?P<id>t\d+(?:\.\d+)*)\b\s*")
_BLOCKED_BY = re.compile(r"(?:^|\s)blocked-by:(?P<ids>\S+)")
# Metadata tokens that describe the task to people, not to the agent doing it.
_METADATA = re.compile(
    r"(?:^|\s)(?:(?:blocks|logged|started|completed|actual|risk|blocked-by):\S+|~\S+(?:\s+\([^)]*\))?)"
)


@dataclass
class TodoItem:
    line: int
    key: str  # the line's id, or a hash of its text when it has none
    text: str
    blocked_by: list[str] = field(default_factory=list)


def parse_todo(path: Path) -> tuple[list[TodoItem], set[str]]:
    """Open items in file order, and the ids of lines already done."""
    lines = validate.read_file(path, "TODO file", TODO_LIMIT).splitlines()
    items: list[TodoItem] = []
    done: set[str] = set()
    seen: dict[str, int] = {}  # id or open line's key -> the line it is on
    for number, line in enumerate(lines, 1):
        match = _LINE.match(line)
        if not match:
            continue
        body = match["body"]
        id_match = _ID.match(body)
        item_id = id_match["id"] if id_match else None
        if item_id:
            _unique(seen, item_id, number, path, f"id {item_id}")
        if match["mark"] != " ":
            if item_id:
                done.add(item_id)
            continue
        blocked = _BLOCKED_BY.search(body)
        text = _METADATA.sub("", body[id_match.end() :] if id_match else body).strip()
        if not text:
            raise InvalidInput(f"{path}:{number}: a task line with no text")
        key = item_id or hashlib.sha1(text.encode()).hexdigest()[:12]
        if not item_id:
            _unique(seen, key, number, path, "task text")
        items.append(TodoItem(number, key, text, blocked["ids"].split(",") if blocked else []))
    known = {i.key for i in items} | done
    for item in items:
        unknown = [b for b in item.blocked_by if b not in known]
        if unknown:
            raise InvalidInput(f"{path}:{item.line}: blocked-by names unknown task(s): {', '.join(unknown)}")
    return items, done


def _unique(seen: dict[str, int], key: str, line: int, path: Path, what: str) -> None:
    """Refuse a second line with the same id (or, without ids, the same text): one would be lost."""
    if key in seen:
        raise InvalidInput(f"{path}:{line}: {what} is on line {seen[key]} already")
    seen[key] = line


def blockers_first(items: list[TodoItem], path: Path) -> list[TodoItem]:
    """`items` reordered so that each follows the open items it is blocked by (file order
    otherwise). Iterative: a chain of any length is fine; a cycle is an error."""
    index = {item.key: item for item in items}
    state: dict[str, bool] = {}  # key -> placed (False while its blockers are being placed)
    order: list[TodoItem] = []
    for first in items:
        if first.key in state:
            continue
        state[first.key] = False
        stack = [(first, iter(first.blocked_by))]
        while stack:
            item, blockers = stack[-1]
            blocker = next((b for b in blockers if b in index and not state.get(b)), None)
            if blocker is None:
                stack.pop()
                state[item.key] = True
                order.append(item)
            elif blocker in state:
                raise InvalidInput(f"{path}:{item.line}: blocked-by forms a cycle")
            else:
                state[blocker] = False
                stack.append((index[blocker], iter(index[blocker].blocked_by)))
    return order
