"""OpenCode agents a runner can use: found in its workdir, installed from a file, loaded on the server.

OpenCode defines an agent by a markdown file (`.opencode/agents/NAME.md` or
`.opencode/agent/NAME.md`, in the project or any parent up to the git root, or in
OpenCode's global config directory) or by an `agent` entry in `opencode.json`.
It reads them when it first loads a project directory and not again, so a
runner's run checks that the server knows the agent and reloads the directory
when it does not (see `ensure_loaded`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.errors import Conflict, InvalidInput
from switchboard.names import check_name
from switchboard.opencode.errors import OpenCodeError

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient

BUILT_IN = ("build", "plan", "general", "explore")
AGENT_DIRS = ("agents", "agent")
CONFIG_FILES = ("opencode.json", "opencode.jsonc")
_FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n?", re.DOTALL)


class AgentNotLoaded(OpenCodeError):
    """The OpenCode server does not know the runner's agent in its workdir."""


def _project_dirs(workdir: Path) -> list[Path]:
    """The workdir and its parents up to the git root (just the workdir outside git),
    nearest first: where OpenCode looks for `.opencode/` and `opencode.json`."""
    chain = [workdir, *workdir.parents]
    for n, directory in enumerate(chain):
        if (directory / ".git").exists():
            return chain[: n + 1]
    return [workdir]


def _global_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("OPENCODE_CONFIG_DIR"):
        dirs.append(Path(os.environ["OPENCODE_CONFIG_DIR"]))
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs += [Path(config_home) / "opencode", Path.home() / ".opencode"]
    return dirs


def find(workdir: str | Path, name: str) -> str:
    """Where agent `name` is defined for `workdir` (a file, or `opencode.json#agent.NAME`,
    or `built in`). Raises `InvalidInput` if nowhere."""
    check_name(name, "agent name")
    if name in BUILT_IN:
        return "built in"
    workdir = Path(workdir).expanduser().resolve()
    projects = _project_dirs(workdir)
    for base, config_dir in [*((p, p / ".opencode") for p in projects), *((g, g) for g in _global_dirs())]:
        for sub in AGENT_DIRS:
            path = config_dir / sub / f"{name}.md"
            if path.is_file():
                return str(path)
        for config in {base / f for f in CONFIG_FILES} | {config_dir / f for f in CONFIG_FILES}:
            if name in (_read_config(config).get("agent") or {}):
                return f"{config}#agent.{name}"
    raise InvalidInput(
        f"no OpenCode agent named {name!r} for {workdir}: looked for .opencode/agents/{name}.md "
        f"(and .opencode/agent/) and an agent entry in opencode.json there and in OpenCode's global "
        f"config; built-in agents are {', '.join(BUILT_IN)} (or install one with --agent-file FILE.md)"
    )


def install(workdir: str | Path, source: str | Path) -> str:
    """Copy an agent file into `workdir/.opencode/agents/`; return the agent's name (the
    file's name without `.md`). A different agent of that name is not overwritten."""
    source = Path(source).expanduser()
    name = check_name(source.stem, "agent name (the file's name)")
    if source.suffix != ".md":
        raise InvalidInput(f"an agent file is markdown: {source} does not end in .md")
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read agent file {source}: {getattr(exc, 'strerror', None) or exc}") from None
    front_matter(text, source)
    target = Path(workdir).expanduser().resolve() / ".opencode" / "agents" / f"{name}.md"
    if target.exists():
        if target.read_text(encoding="utf-8") == text:
            return name
        raise Conflict(f"{target} exists with other content: remove it, or use --agent {name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return name


def front_matter(text: str, where: str | Path = "agent file") -> dict[str, Any]:
    """The YAML front matter of an agent file ({} if it has none); malformed YAML is an error."""
    found = _FRONT_MATTER.match(text)
    if not found:
        if text.startswith("---"):
            raise InvalidInput(f"{where}: the front matter has no closing '---' line")
        return {}
    import yaml

    try:
        data = yaml.safe_load(found.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{where}: invalid YAML front matter: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: the front matter must be a mapping of settings")
    return data


async def ensure_loaded(client: OpenCodeClient, name: str, workdir: str) -> None:
    """Make sure the server knows agent `name` in `workdir`. One defined after OpenCode
    loaded the directory is picked up by reloading the directory (`POST /instance/dispose`;
    sessions are kept) when none of its sessions is busy. Raises `AgentNotLoaded`."""
    if name in await _loaded(client, workdir):
        return
    try:
        where = find(workdir, name)
    except InvalidInput as exc:
        raise AgentNotLoaded(str(exc)) from None
    if await client.status(directory=workdir):
        raise AgentNotLoaded(
            f"agent {name!r} ({where}) was defined after OpenCode loaded {workdir}, and sessions are "
            "busy there: run again when they finish, or restart the OpenCode server"
        )
    await client.dispose_instance(workdir)
    if name not in await _loaded(client, workdir):
        raise AgentNotLoaded(f"OpenCode does not load agent {name!r} from {where}: check its front matter")


async def _loaded(client: OpenCodeClient, workdir: str) -> set[str]:
    return {str(agent.get("name")) for agent in await client.request("GET", "/agent", directory=workdir) or []}


def _read_config(path: Path) -> dict[str, Any]:
    """An OpenCode config file as a dict ({} if absent or unreadable); comments and
    trailing commas (JSONC) are allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    try:
        data = json.loads(strip_jsonc(text))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def strip_jsonc(text: str) -> str:
    """JSON from JSONC: `//` and `/* */` comments and trailing commas removed (strings kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))
