"""How a runner's sessions get switchboard's MCP tools, with no hand-edited config.

OpenCode starts the MCP servers of a project's `opencode.json` once per project
directory (instance), not per session, and several runners may share a
directory. So each runner has its own server entry, `sb-RUNNER`, whose
environment carries its identity (`SWITCHBOARD_AGENT`), and each of its prompts
sends a `tools` map that turns every `sb-*` tool off and its own six back on
(OpenCode applies the map's rules in order, last match winning). A session can
therefore call only its own runner's tools; OpenCode refuses the others as
unavailable. Tool names are `sb-RUNNER_memory_recall` and so on: at most 57
characters, within the 64 that model APIs allow.

`wire` merges the entry into the workdir's `opencode.json` (other settings are
kept); `connect` makes a running OpenCode instance start it, since OpenCode reads
the file only when it first loads the directory. To tell whether the server an
instance runs is the one wanted, each server publishes a resource whose URI ends in
its *target*: a digest of the runner, database and model it serves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from switchboard.config import Settings, private_file
from switchboard.errors import InvalidInput
from switchboard.memory.embedder import DEFAULT_MODEL, model_id

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient

PREFIX = "sb-"
TOOLS = ("memory_recall", "memory_store", "mail_send", "mail_check", "mail_read", "task_report")
CONFIG_FILE = "opencode.json"
DEFAULT_AGENT = "build"  # the agent OpenCode prompts with when none is named
START_TIMEOUT_MS = 60_000  # for OpenCode to start the server and list its tools (Python imports take ~1 s)
URL_FILE = "database-url"  # in the home (0600): a database URL with a password, for the MCP servers
URL_FILE_VAR = "SWITCHBOARD_DATABASE_URL_FILE"
TARGET_URI = "switchboard://runner/"  # + RUNNER/TARGET: the resource each server publishes


def server_name(runner: str) -> str:
    return f"{PREFIX}{runner}"


def tool_names(runner: str) -> list[str]:
    """The runner's tools as OpenCode names them: `<server>_<tool>`."""
    return [f"{server_name(runner)}_{tool}" for tool in TOOLS]


def prompt_tools(runner: str) -> dict[str, bool]:
    """The `tools` map of the runner's prompts: every `sb-*` tool off, then its own on."""
    return {f"{PREFIX}*": False, **{name: True for name in tool_names(runner)}}


def entry(settings: Settings, runner: str) -> dict[str, Any]:
    """The runner's MCP server as an `opencode.json` `mcp` entry: this Python running
    `switchboard mcp`, with the home, database and identity in its environment.

    A database URL that holds a password is not written into the project's file
    (often under version control): `wire` keeps it in the home, readable by its
    owner only, and the entry names that file."""
    env = {"SWITCHBOARD_HOME": str(settings.home), "SWITCHBOARD_AGENT": runner}
    if _secret(settings.database_url):
        env[URL_FILE_VAR] = str(settings.home / URL_FILE)
    else:
        env["SWITCHBOARD_DATABASE_URL"] = settings.database_url
    if model_id(settings.memory_model) != DEFAULT_MODEL:
        env["SWITCHBOARD_MEMORY_MODEL"] = settings.memory_model
    return {
        "type": "local",
        "command": [sys.executable, "-m", "switchboard", "mcp"],
        "environment": env,
        "enabled": True,
        "timeout": START_TIMEOUT_MS,
    }


def target(runner: str, database_url: str, memory_model: str) -> str:
    """What a runner's server serves, as a digest that reveals none of it."""
    return hashlib.sha256(json.dumps([runner, database_url, model_id(memory_model)]).encode()).hexdigest()[:16]


def config_path(workdir: str | Path) -> Path:
    return Path(workdir).expanduser().resolve() / CONFIG_FILE


def wire(
    settings: Settings, runner: str, workdir: str | Path, *, agent: str | None = None, steps: int | None = None
) -> bool:
    """Put the runner's entry into `workdir/opencode.json`; True if the file changed.

    `steps` also becomes its agent's OpenCode `steps` limit (past it the model is told to
    answer in text only), unless the file already sets one: a value the user chose, or the
    first of several runners sharing the directory, is never overwritten. switchboard's own
    count of steps on the event stream is what aborts a run; this makes the model wrap up."""
    wanted = entry(settings, runner)
    if URL_FILE_VAR in wanted["environment"]:
        _keep_private(settings.home / URL_FILE, settings.database_url + "\n")
    with _editing(settings, workdir) as config:
        servers = config.setdefault("mcp", {})
        if not isinstance(servers, dict):
            raise InvalidInput(f"{config_path(workdir)}: 'mcp' is not an object")
        changed = _limit_steps(config, agent or DEFAULT_AGENT, steps, workdir) if steps else False
        if _same_target(servers.get(server_name(runner)), wanted):
            return changed
        servers[server_name(runner)] = wanted
        return True


def _limit_steps(config: dict[str, Any], agent: str, steps: int, workdir: str | Path) -> bool:
    agents = config.setdefault("agent", {})
    if not isinstance(agents, dict) or not isinstance(agents.setdefault(agent, {}), dict):
        raise InvalidInput(f"{config_path(workdir)}: 'agent' or 'agent.{agent}' is not an object")
    if "steps" in agents[agent] or "maxSteps" in agents[agent]:
        return False
    agents[agent]["steps"] = steps
    return True


def _same_target(current: Any, wanted: dict[str, Any]) -> bool:
    """Whether an entry already serves the same runner on the same database. Homes that share
    a database (coordinators on several hosts, one project directory) then do not take the
    entry from each other, which would restart the server on every run."""
    if not isinstance(current, dict) or current.get("enabled") is False:
        return False
    have, want = current.get("environment") or {}, wanted["environment"]
    return (
        all(current.get(k) == wanted[k] for k in ("type", "command", "timeout"))
        and all(have.get(k) == want.get(k) for k in ("SWITCHBOARD_AGENT", "SWITCHBOARD_MEMORY_MODEL"))
        and database_url(have) is not None
        and database_url(have) == database_url(want)
    )


def database_url(env: dict[str, str]) -> str | None:
    """The database an entry's server uses: from its environment, or the file it names."""
    if env.get(URL_FILE_VAR):
        try:
            return Path(env[URL_FILE_VAR]).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    return env.get("SWITCHBOARD_DATABASE_URL")


def _secret(url: str) -> bool:
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def _keep_private(path: Path, text: str) -> None:
    """`text` in a file only its owner can read (rewritten only if it differs)."""
    from switchboard.opencode.server import _write_private

    try:
        if path.read_text(encoding="utf-8") == text and path.stat().st_mode & 0o077 == 0:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(path, text)


def unwire(
    settings: Settings, runner: str, workdir: str | Path, *, agent: str | None = None, steps: int | None = None
) -> bool:
    """Remove the runner's entry from `workdir/opencode.json`; True if there was one. The
    last runner to leave takes back the `steps` limit `wire` wrote (if it still reads the same)."""
    if not config_path(workdir).exists():
        return False
    with _editing(settings, workdir) as config:
        servers = config.get("mcp")
        if not isinstance(servers, dict) or server_name(runner) not in servers:
            return False
        del servers[server_name(runner)]
        if not any(name.startswith(PREFIX) for name in servers):
            _drop_steps(config, agent or DEFAULT_AGENT, steps)
        if not servers:
            del config["mcp"]
        return True


def _drop_steps(config: dict[str, Any], agent: str, steps: int | None) -> None:
    agents = config.get("agent")
    if steps is None or not isinstance(agents, dict) or not isinstance(agents.get(agent), dict):
        return
    if agents[agent].get("steps") == steps:
        del agents[agent]["steps"]
        if not agents[agent]:
            del agents[agent]
        if not agents:
            del config["agent"]


def read_config(workdir: str | Path) -> dict[str, Any]:
    """`workdir/opencode.json` as a dict ({} if there is none). A file switchboard could not
    rewrite without losing something (comments, say) is an `InvalidInput`."""
    path = config_path(workdir)
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    try:
        config = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"cannot add switchboard's MCP tools to {path}: it is not plain JSON ({exc.msg}, line "
            f"{exc.lineno}); remove its comments, or add by hand what `switchboard mcp --print-config` prints"
        ) from None
    if not isinstance(config, dict):
        raise InvalidInput(f"{path} does not hold a JSON object")
    return config


@contextlib.contextmanager
def _editing(settings: Settings, workdir: str | Path) -> Iterator[dict[str, Any]]:
    """`opencode.json` as a dict, written back (atomically, same mode) after the block if it
    changed; one writer at a time among this home's processes. A file that is not plain
    JSON (comments, say) is never rewritten: that is an `InvalidInput`."""
    import fcntl

    path = config_path(workdir)
    with private_file(settings.home / "opencode-config.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = read_config(workdir)
        before = json.dumps(config, sort_keys=True)
        yield config
        if json.dumps(config, sort_keys=True) == before:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)


async def connect(client: OpenCodeClient, settings: Settings, runner: str, workdir: str) -> str | None:
    """Make the OpenCode instance of `workdir` run the runner's MCP server for this
    database: started if missing or failed, replaced if the one it runs serves another
    (the instance loaded the file before its last change). Returns a problem to
    report, or None."""
    name, wanted = server_name(runner), entry(settings, runner)
    state = ((await client.request("GET", "/mcp", directory=workdir)) or {}).get(name) or {}
    if state.get("status") == "connected":
        live = await _live_target(client, workdir, name)
        if live is not None and live == target(runner, settings.database_url, settings.memory_model):
            return None
        if live is None:  # an OpenCode or a server that does not say: what the instance loaded
            loaded = ((await client.request("GET", "/config", directory=workdir)) or {}).get("mcp") or {}
            if _same_target(loaded.get(name), wanted):
                return None
    answer = await client.request("POST", "/mcp", json={"name": name, "config": wanted}, directory=workdir)
    state = (answer or {}).get(name) or {}
    if state.get("status") == "connected":
        return None
    return (
        f"OpenCode could not start switchboard's MCP server {name} in {workdir} "
        f"({state.get('error') or state.get('status') or 'no status'}): the session runs without its tools"
    )


async def _live_target(client: OpenCodeClient, workdir: str, name: str) -> str | None:
    """The target the running server `name` publishes, or None if it cannot be known."""
    from switchboard.opencode.errors import OpenCodeError

    try:
        resources = await client.request("GET", "/experimental/resource", directory=workdir) or {}
    except OpenCodeError:
        return None
    for resource in resources.values() if isinstance(resources, dict) else ():
        uri = str(resource.get("uri") or "")
        if resource.get("client") == name and uri.startswith(TARGET_URI):
            return uri.rsplit("/", 1)[-1]
    return None
