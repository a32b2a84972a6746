"""`Runners`: the Python API of runners. `run` is also the coordinator's building block:
`open_session` → `prepare` → (prompt, follow) → `finish`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.config import Settings
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.mailbox import Mailbox
from switchboard.names import check_name
from switchboard.runners.models import DEFAULT_TIMEOUT, Run, Runner
from switchboard.store import Store, Tx, open_store
from switchboard.workspaces.options import check_isolation

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.opencode.models import Event, Turn

log = logging.getLogger("switchboard.runners")

COORDINATOR = "coordinator"
EQUIPPED_FOR = 30.0  # seconds a check that the server is ready for a runner holds
REPORT_EXCERPT = 1000  # characters of the answer a status_report carries
_EDITABLE = ("description", "role", "model", "agent", "workdir", "timeout_seconds", "max_parallel",
             "instructions", "isolation")


@dataclass(frozen=True)
class Prepared:
    """What a run sends: the runner's instructions (as the system prompt), the task, and the
    `tools` map that gives the session its own runner's switchboard tools (see `switchboard.mcp`)."""

    system: str
    prompt: str
    context: str
    tools: dict[str, bool] | None = None


class Runners:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.mailbox = Mailbox(store, settings)
        self._equipped: dict[tuple[str, str, str], float] = {}

    @classmethod
    def open(cls, settings: Settings | None = None) -> Runners:
        settings = settings or Settings.load()
        return cls(open_store(settings), settings)

    # -- definitions ---------------------------------------------------------------

    def create(self, name: str, description: str = "", *, model: str | None = None,
               agent: str | None = None, workdir: str | Path | None = None,
               timeout: float = DEFAULT_TIMEOUT, instructions: str | None = None,
               role: str = "worker", max_parallel: int = 1, agent_file: str | Path | None = None,
               isolation: str = "none") -> Runner:
        """Create a runner: its row, its folder (`AGENTS.md`, `config.json`), its mailbox identity,
        and its MCP server entry in the workdir's `opencode.json`. `agent` names an OpenCode
        agent defined for the workdir; `agent_file` installs one into `.opencode/agents/`."""
        check_name(name, "runner name")
        values = {
            "description": description, "role": role, "model": model, "agent": agent,
            "workdir": str(workdir or Path.cwd()), "timeout_seconds": timeout,
            "max_parallel": max_parallel, "isolation": isolation,
            "instructions": instructions if instructions is not None else default_instructions(name, description),
        }
        with self.store.transaction() as tx:
            if tx.one("runners.get", {"name": name}) is not None:
                raise Conflict(f"a runner named {name!r} exists already")
        values = self._validated(values, agent_file=agent_file)
        with self.store.transaction(write=True) as tx:
            if tx.one("runners.get", {"name": name}) is not None:
                raise Conflict(f"a runner named {name!r} exists already")
            runner = Runner.from_row(tx.one("runners.insert", {"name": name, "now": time.time(), **values}))
        self.mailbox.register(name, role)
        self._write_files(runner)
        _wire(self.settings, runner)
        return runner

    def get(self, name: str) -> Runner:
        check_name(name, "runner name")
        with self.store.transaction() as tx:
            return self._get(tx, name)

    def list(self) -> list[tuple[Runner, int, Run | None]]:
        """Every runner with its run count and last run."""
        with self.store.transaction() as tx:
            out = []
            for row in tx.all("runners.list"):
                last = tx.one("runners.run_get", {"id": row["last_run_id"]}) if row["last_run_id"] else None
                out.append((Runner.from_row(row), row["run_count"], Run.from_row(last) if last else None))
            return out

    def update(self, name: str, *, agent_file: str | Path | None = None, **changes: Any) -> Runner:
        """Change a runner's settings or instructions (None leaves a field as it is).
        `agent_file` installs an agent into the (new) workdir and makes it the runner's."""
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        current = self.get(name)
        merged = {k: getattr(current, k) for k in _EDITABLE}
        merged.update({k: v for k, v in changes.items() if v is not None})
        if agent_file is not None and not changes.get("agent"):
            merged["agent"] = None  # the file names the agent
        moved = Path(merged["workdir"]).expanduser().resolve() != Path(current.workdir)
        values = self._validated(merged, agent_file=agent_file, check_config=moved,
                                 check_agent=bool(changes.get("agent") or agent_file or moved))
        with self.store.transaction(write=True) as tx:
            self._get(tx, name)
            runner = Runner.from_row(tx.one("runners.update", {"name": name, "now": time.time(), **values}))
        if changes.get("role"):
            self.mailbox.register(name, runner.role)
        self._write_files(runner)
        if moved:
            _unwire(self.settings, current)
            _wire(self.settings, runner)
        return runner

    def destroy(self, name: str, force: bool = False) -> Runner:
        """Remove a runner, its run history, folder, mailbox identity and memory namespace.
        A runner with a run in progress is kept unless `force`."""
        with self.store.transaction(write=True) as tx:
            runner = self._get(tx, name)
            if tx.all("runners.running", {"runner": name}) and not force:
                raise Conflict(f"runner {name!r} has a run in progress: stop it, or use --force")
            tx.execute("runners.delete", {"name": name})
        try:
            self.mailbox.deregister(name)
        except NotFound:
            pass
        _forget_namespace(self.settings, name)
        _remove_tree(self.folder(name))
        _unwire(self.settings, runner)
        return runner

    def runs(self, name: str, limit: int = 20) -> list[Run]:
        with self.store.transaction() as tx:
            self._get(tx, name)
            return [Run.from_row(r) for r in tx.all("runners.runs", {"runner": name, "limit": limit})]

    def get_run(self, run_id: int) -> Run:
        with self.store.transaction() as tx:
            row = tx.one("runners.run_get", {"id": run_id})
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        return Run.from_row(row)

    def folder(self, name: str) -> Path:
        return self.settings.home / "runners" / name

    # -- running -------------------------------------------------------------------

    def run(self, name: str, prompt: str, **options: Any) -> tuple[Run, Turn | None]:
        """Run a prompt to the end (blocking). See `arun`."""
        import anyio

        return anyio.run(lambda: self.arun(name, prompt, **options))

    async def arun(self, name: str, prompt: str, *, attach: str | None = None, model: str | None = None,
                   timeout: float | None = None, continue_session: bool = False,
                   on_event: Callable[[str], Any] | None = None) -> tuple[Run, Turn | None]:
        """Run a prompt in the runner's session and record it.

        Memory recalled for the task and the runner's unread mail go into the session
        first; the answer, tokens and cost are recorded; a `status_report` goes to
        `coordinator`. `on_event` gets a line for each step worth showing (tool
        calls, status changes), as the run's log does. A server that is down or a timeout (the session is aborted)
        make a failed run; `SwitchboardError` is raised only for bad input, after the
        run is recorded.
        """
        from switchboard.opencode.errors import OpenCodeError, TimedOut
        from switchboard.opencode.server import endpoint

        if not prompt.strip():
            raise InvalidInput("prompt is empty")
        runner = self.get(name)
        run = self.start_run(runner, prompt)
        try:
            target = endpoint(self.settings, attach)
            async with target.client(directory=runner.workdir) as client:
                session_id = await self.open_session(client, runner, run, continue_session=continue_session)
                prepared = await self.prepare(client, runner, session_id, prompt)
                turn = await client.run(
                    session_id, prepared.prompt, agent=runner.agent, model=model or runner.model,
                    system=prepared.system, tools=prepared.tools, timeout=timeout or runner.timeout_seconds,
                    on_event=_logging(self.log_path(run), on_event),
                )
        except TimedOut as exc:
            return self.finish(run, error=str(exc)), None
        except OpenCodeError as exc:
            self.finish(run, error=str(exc))
            raise
        except BaseException as exc:
            self.finish(run, error=f"interrupted: {exc!r}" if str(exc) else "interrupted", status="aborted")
            raise
        return self.finish(run, turn=turn), turn

    def start_run(self, runner: Runner, prompt: str, task_id: int | None = None) -> Run:
        with self.store.transaction(write=True) as tx:
            row = tx.one("runners.run_insert", {
                "runner": runner.name, "task_id": task_id, "prompt": prompt, "session_id": None,
                "server_url": None, "now": time.time(), "log_path": None,
            })
            log = self.log_path(Run.from_row(row))
            tx.execute("runners.run_set_log", {"id": row["id"], "log_path": str(log)})
        log.parent.mkdir(parents=True, exist_ok=True)
        return Run.from_row({**row, "log_path": str(log)})

    def log_path(self, run: Run) -> Path:
        return self.folder(run.runner) / "runs" / f"run-{run.id}.log"

    async def open_session(self, client: OpenCodeClient, runner: Runner, run: Run, *,
                           continue_session: bool = False) -> str:
        """The session for a run: the runner's last one with `continue_session`, else a new one.
        Saved at once, so that `runner stop` can abort it while it works. The server is
        made ready for the runner first (`equip`), so that little happens between the
        two."""
        await self.equip(client, runner)
        if continue_session:
            if not runner.session_id:
                raise Conflict(f"runner {runner.name!r} has no session to continue yet")
            session_id = (await client.get_session(runner.session_id)).id
        else:
            session_id = (await client.create_session(title=f"runner/{runner.name}")).id
        now = time.time()
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.set_session", {"name": runner.name, "session_id": session_id,
                                                "server_url": client.url, "now": now})
        self._set_run_session(run, session_id, client.url)
        return session_id

    def _set_run_session(self, run: Run, session_id: str, server_url: str) -> None:
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.run_session",
                       {"id": run.id, "session_id": session_id, "server_url": server_url})

    async def prepare(self, client: OpenCodeClient, runner: Runner, session_id: str, prompt: str) -> Prepared:
        """Put recalled memory and unread mail into the session (no reply), then return
        the system prompt (the runner's AGENTS.md), the task and the tools map."""
        import anyio

        tools = await self.equip(client, runner)
        # Recall may load the embedding model: keep it off the event loop.
        context = await anyio.to_thread.run_sync(self.context, runner, prompt)
        if context:
            await client.add_context(session_id, context)
        return Prepared(system=runner.instructions, prompt=prompt, context=context, tools=tools)

    async def equip(self, client: OpenCodeClient, runner: Runner) -> dict[str, bool]:
        """Make the server ready for the runner's prompt: its agent loaded (`AgentNotLoaded`
        otherwise) and its MCP server running in the workdir's instance (a problem there
        is logged: the run goes on without the tools). Returns the prompt's tools map.
        A check made in the last `EQUIPPED_FOR` seconds is not made again."""
        from switchboard.mcp import wiring
        from switchboard.opencode.errors import AuthRefused, OpenCodeError, ServerDown
        from switchboard.runners import agents

        key = (client.url, runner.workdir, f"{runner.name}:{runner.agent}")
        checked = self._equipped.get(key)
        if checked is not None and time.monotonic() - checked < EQUIPPED_FOR:
            return wiring.prompt_tools(runner.name)
        if runner.agent:
            await agents.ensure_loaded(client, runner.agent, runner.workdir)
        try:
            wiring.wire(self.settings, runner.name, runner.workdir)
            problem = await wiring.connect(client, self.settings, runner.name, runner.workdir)
        except (ServerDown, AuthRefused):
            raise
        except (InvalidInput, OSError, OpenCodeError) as exc:
            problem = f"runner {runner.name} runs without switchboard's MCP tools: {exc}"
        if problem:
            log.warning("%s", problem)
        else:
            self._equipped[key] = time.monotonic()
        return wiring.prompt_tools(runner.name)

    def context(self, runner: Runner, prompt: str) -> str:
        """Memories for the task from the runner's namespace (and the shared one), and its
        unread mail, which is marked read."""
        blocks = []
        memory = _memory_context(self.settings, self.store, runner.name, prompt)
        if memory:
            blocks.append(memory)
        unread = self.mailbox.check(runner.name, unread_only=True)
        if unread:
            lines = ["## Unread mail", ""]
            for message in unread:
                lines.append(f"- #{message.id} {message.type.value} from {message.from_agent}: {message.payload}")
                self.mailbox.read(message.id)
            blocks.append("\n".join(lines) + "\n")
        return "\n".join(blocks)

    def finish(self, run: Run, *, turn: Turn | None = None, error: str | None = None,
               status: str | None = None) -> Run:
        """Record a run's end and report it to the coordinator."""
        error = error or (turn.error if turn is not None else None)
        if status is None:
            status = "success" if error is None and turn is not None and turn.ok else "failed"
        if status == "failed" and error is None:
            error = "the model gave no answer"
        tokens = turn.tokens if turn is not None else {}
        with self.store.transaction(write=True) as tx:
            row = tx.one("runners.run_finish", {
                "id": run.id, "status": status, "now": time.time(),
                "tokens_input": tokens.get("input"), "tokens_output": tokens.get("output"),
                "cost": turn.cost if turn is not None else None,
                "answer": turn.text if turn is not None else None, "error": error,
            })
        if row is None:  # finished already (by another coordinator that followed it too)
            return self.get_run(run.id)
        finished = Run.from_row(row)
        _append_log(self.log_path(run), f"finished: {finished.status}" + (f" ({error})" if error else ""),
                    finished.answer)
        self.mailbox.send(COORDINATOR, "status_report", report_text(finished), sender=run.runner)
        return finished

    async def stop(self, name: str) -> str:
        """Abort the runner's session. Returns the session id."""
        runner = self.get(name)
        if not runner.session_id or not runner.server_url:
            raise Conflict(f"runner {name!r} has no session to stop")
        from switchboard.opencode.server import endpoint

        async with endpoint(self.settings, runner.server_url).client(directory=runner.workdir) as client:
            await client.abort(runner.session_id)
        return runner.session_id

    # -- helpers ---------------------------------------------------------------------

    def _get(self, tx: Tx, name: str) -> Runner:
        row = tx.one("runners.get", {"name": name})
        if row is None:
            raise NotFound(f"no runner named {name!r}")
        return Runner.from_row(row)

    def _validated(self, values: dict[str, Any], *, agent_file: str | Path | None = None,
                   check_agent: bool = True, check_config: bool = True) -> dict[str, Any]:
        from switchboard.mcp import wiring
        from switchboard.runners import agents

        check_name(values["role"], "role")
        if values["model"] is not None:
            from switchboard.opencode.models import model_ref

            model_ref(values["model"])
        if values["agent"] is not None:
            check_name(values["agent"], "agent name")
        workdir = Path(values["workdir"]).expanduser()
        if not workdir.is_dir():
            raise InvalidInput(f"workdir {workdir} is not a directory")
        values["workdir"] = str(workdir.resolve())
        if check_config:  # a workdir whose opencode.json cannot take the MCP server is refused now
            wiring.read_config(values["workdir"])
        if agent_file is not None:
            installed = agents.install(values["workdir"], agent_file)
            if values["agent"] not in (None, installed):
                raise InvalidInput(f"--agent {values['agent']} and --agent-file {agent_file} name two agents")
            values["agent"] = installed
        elif values["agent"] is not None and check_agent:
            agents.find(values["workdir"], values["agent"])
        if float(values["timeout_seconds"]) <= 0:
            raise InvalidInput("timeout must be a positive number of seconds")
        if int(values["max_parallel"]) < 1:
            raise InvalidInput("max-parallel must be at least 1")
        if not values["instructions"].strip():
            raise InvalidInput("instructions are empty")
        values["isolation"] = check_isolation(values["isolation"], values["workdir"])
        return values

    def _write_files(self, runner: Runner) -> None:
        folder = self.folder(runner.name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "AGENTS.md").write_text(runner.instructions)
        config = {k: v for k, v in runner.to_dict().items() if k != "instructions"}
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def default_instructions(name: str, description: str) -> str:
    return f"# {name}\n\n{description or 'A switchboard runner.'}\n"


def report_text(run: Run) -> str:
    """The status_report a finished run sends, as the reference runner helper did."""
    seconds = f"{run.duration_seconds:.0f}s" if run.duration_seconds is not None else "?"
    head = f"Runner {run.runner} completed ({run.status}, {seconds}, run-{run.id})"
    body = run.answer if run.ok else run.error
    if body:
        excerpt = body if len(body) <= REPORT_EXCERPT else body[: REPORT_EXCERPT - 1] + "…"
        head += "\n\n" + excerpt
    return head


def _memory_context(settings: Settings, store: Store, namespace: str, prompt: str) -> str:
    from switchboard.memory import Memory, warm

    return Memory(store, settings, warm.embedder(settings)).context(namespace, prompt)


def _wire(settings: Settings, runner: Runner) -> None:
    from switchboard.mcp import wiring

    wiring.wire(settings, runner.name, runner.workdir)


def _unwire(settings: Settings, runner: Runner) -> None:
    """Take the runner's MCP server out of its workdir's opencode.json, if it can be."""
    from switchboard.mcp import wiring

    try:
        wiring.unwire(settings, runner.name, runner.workdir)
    except (InvalidInput, OSError) as exc:
        log.warning("left runner %s's MCP server in %s: %s", runner.name, runner.workdir, exc)


def _forget_namespace(settings: Settings, namespace: str) -> None:
    from switchboard.memory import Memory

    Memory.open(settings).delete_namespace(namespace)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _append_log(path: Path, line: str, body: str | None = None) -> None:
    # A run taken over from another host's coordinator logs its end in this host's home.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        if body:
            fh.write("\n" + body + ("" if body.endswith("\n") else "\n"))


def describe_event(event: Event) -> str | None:
    """One line for a run's log and progress display, or None for noise."""
    props = event.properties
    if event.type == "message.part.updated":
        part = props.get("part") or {}
        state = part.get("state") or {}
        if part.get("type") == "tool" and state.get("status") in ("completed", "error"):
            title = state.get("title") or json.dumps(state.get("input") or {})[:120]
            return f"tool {part.get('tool')}: {title} [{state.get('status')}]"
    elif event.type == "session.status":
        return f"session {event.status}"
    elif event.type == "session.error":
        return f"error: {json.dumps(props.get('error'))[:300]}"
    elif event.type == "permission.asked":
        return f"permission asked ({props.get('permission')}): rejected"
    return None


def _logging(path: Path, on_event: Callable[[Event], Any] | None) -> Callable[[Event], Any]:
    """Log each event worth a line (not the same line twice in a row), then pass it on."""
    last: list[str | None] = [None]

    def hook(event: Event) -> Any:
        line = describe_event(event)
        if line and line != last[0]:
            last[0] = line
            _append_log(path, line)
            if on_event is not None:
                return on_event(line)
        return None

    return hook
