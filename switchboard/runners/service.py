"""`Runners`: the Python API of runners: their definitions, their runs' records, and their
sessions on the servers. A run's life is one `Attempt` (`switchboard.runners.attempt`)."""

from __future__ import annotations

import builtins
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard import validate
from switchboard.config import Settings, private_file
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.mailbox import Mailbox
from switchboard.names import RESERVED_NAMES, check_name
from switchboard.redaction import redact
from switchboard.runners.models import DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT, Run, Runner
from switchboard.store import Store, Tx, open_store
from switchboard.workspaces.options import check_isolation

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.opencode.files import Attachment
    from switchboard.opencode.models import Turn

log = logging.getLogger("switchboard.runners")

COORDINATOR = "coordinator"
EQUIPPED_FOR = 30.0  # seconds a check that the server is ready for a runner holds
PRUNE_AGE = 60.0  # seconds: younger sessions may belong to an attempt that has not recorded them yet
REPORT_EXCERPT = 1000  # characters of the answer a status_report carries
# What config.json may set by hand, and the JSON types each takes.
_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "description": (str,),
    "role": (str,),
    "model": (str, type(None)),
    "agent": (str, type(None)),
    "workdir": (str,),
    "timeout_seconds": (int, float),
    "max_parallel": (int,),
    "max_steps": (int,),
    "isolation": (str,),
    "redact": (bool,),
}
_EDITABLE = (
    "description",
    "role",
    "model",
    "agent",
    "workdir",
    "timeout_seconds",
    "max_parallel",
    "max_steps",
    "instructions",
    "isolation",
    "redact",
)


@dataclass(frozen=True)
class Prepared:
    """What a run sends: the runner's instructions (as the system prompt), the task, and the
    `tools` map that gives the session its own runner's switchboard tools (see `switchboard.mcp`)."""

    system: str
    prompt: str
    context: str
    tools: dict[str, bool] | None = None
    mail: list[int] = field(default_factory=list)  # the unread mail in `context`


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

    def create(
        self,
        name: str,
        description: str = "",
        *,
        model: str | None = None,
        agent: str | None = None,
        workdir: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        instructions: str | None = None,
        role: str = "worker",
        max_parallel: int = 1,
        max_steps: int = DEFAULT_MAX_STEPS,
        agent_file: str | Path | None = None,
        isolation: str = "none",
        redact: bool = True,
    ) -> Runner:
        """Create a runner: its row, its folder (`AGENTS.md`, `config.json`), its mailbox identity,
        and its MCP server entry in the workdir's `opencode.json`. `agent` names an OpenCode
        agent defined for the workdir; `agent_file` installs one into `.opencode/agents/`."""
        check_name(name, "runner name", reserved=RESERVED_NAMES)
        values = {
            "description": description,
            "role": role,
            "model": model,
            "agent": agent,
            "workdir": str(workdir or Path.cwd()),
            "timeout_seconds": timeout,
            "max_parallel": max_parallel,
            "max_steps": max_steps,
            "isolation": isolation,
            "redact": redact,
            "instructions": instructions if instructions is not None else default_instructions(name, description),
        }
        with self.store.transaction() as tx:
            if tx.one("runners.get", {"name": name}) is not None:
                raise Conflict(f"a runner named {name!r} exists already")
        values = self._validated(values, agent_file=agent_file)
        with self.store.transaction(write=True) as tx:
            if tx.one("runners.get", {"name": name}) is not None:
                raise Conflict(f"a runner named {name!r} exists already")
            tx.execute("runners.insert", {"name": name, "now": time.time(), **values})
            runner = self._get(tx, name)
        try:
            self.mailbox.register(name, role)
            self._write_files(runner)
            _wire(self.settings, runner)
        except BaseException:  # all or nothing: a runner half made could not be made again
            self._unmake(runner)
            raise
        return runner

    def _unmake(self, runner: Runner) -> None:
        """Undo a `create` that failed after its row was written."""
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.delete", {"name": runner.name})
        try:
            self.mailbox.deregister(runner.name)
        except NotFound:
            pass
        _remove_tree(self.folder(runner.name))

    def get(self, name: str) -> Runner:
        """The runner as its folder says: hand edits to `AGENTS.md` and `config.json` win,
        and the database follows them."""
        check_name(name, "runner name")
        with self.store.transaction() as tx:
            runner = self._get(tx, name)
        edited = self._read_files(runner)
        if not edited:
            return runner
        values = {k: getattr(runner, k) for k in _EDITABLE} | edited
        try:
            values = self._validated(values, check_agent=False, check_config=False)
        except InvalidInput as exc:
            raise InvalidInput(f"{self.folder(name) / 'config.json'}: {exc}") from None
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.update", {"name": name, "now": time.time(), **values})
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
        values = self._validated(
            merged,
            agent_file=agent_file,
            check_config=moved,
            check_agent=bool(changes.get("agent") or agent_file or moved),
        )
        with self.store.transaction(write=True) as tx:
            self._get(tx, name)
            tx.execute("runners.update", {"name": name, "now": time.time(), **values})
            runner = self._get(tx, name)
        if changes.get("role"):
            self.mailbox.register(name, runner.role)
        self._write_files(runner)
        if moved:
            _unwire(self.settings, current)
            _wire(self.settings, runner)
        return runner

    def destroy(self, name: str, force: bool = False) -> Runner:
        """Remove a runner, its run history, folder, mailbox identity and memory namespace.
        Its sessions are deleted on their servers first. A runner with a run in progress
        is kept unless `force`."""
        import anyio

        with self.store.transaction() as tx:
            self._get(tx, name)
            if tx.all("runners.running", {"runner": name}) and not force:
                raise Conflict(f"runner {name!r} has a run in progress: stop it, or use --force")
        anyio.run(self.delete_sessions, name)
        with self.store.transaction(write=True) as tx:
            runner = self._get(tx, name)
            tx.execute("runners.delete", {"name": name})
        try:
            self.mailbox.deregister(name)
        except NotFound:
            pass
        _forget_namespace(self.settings, name)
        _remove_tree(self.folder(name))
        _unwire(self.settings, runner)
        return runner

    def runs(self, name: str, limit: int = 20) -> builtins.list[Run]:
        with self.store.transaction() as tx:
            self._get(tx, name)
            return [Run.from_row(r) for r in tx.all("runners.runs", {"runner": name, "limit": limit})]

    def get_run(self, run_id: int) -> Run:
        with self.store.transaction() as tx:
            row = tx.one("runners.run_get", {"id": run_id})
        if row is None:
            raise NotFound(f"no run with id {run_id}")
        return Run.from_row(row)

    def log(
        self, name: str, run_id: int | None = None, tail: int | None = None
    ) -> tuple[Run, Path, builtins.list[str]]:
        """The log of a runner's latest (or given) run: the run, the log file and its lines."""
        chosen = self.get_run(run_id) if run_id is not None else next(iter(self.runs(name, limit=1)), None)
        if chosen is None or chosen.runner != name:
            raise InvalidInput(f"runner {name!r} has no such run" if run_id else f"runner {name!r} has not run yet")
        path = Path(chosen.log_path or self.log_path(chosen))
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return chosen, path, lines[-tail:] if tail is not None else lines

    @property
    def session_tag(self) -> str:
        """What ends the title of this database's sessions: `[sb:` and a digest of its URL."""
        import hashlib

        return f"[sb:{hashlib.sha1(self.settings.database_url.encode()).hexdigest()[:8]}]"

    def session_title(self, name: str, title: str | None = None) -> str:
        """`runner/NAME [sb:TAG]`, after the user's `title` if given: the tag ends it, for pruning."""
        return f"{title + ' · ' if title else ''}runner/{name} {self.session_tag}"

    def folder(self, name: str) -> Path:
        return self.settings.home / "runners" / name

    # -- running -------------------------------------------------------------------

    def run(self, name: str, prompt: str, **options: Any) -> tuple[Run, Turn | None]:
        """Run a prompt to the end (blocking). See `arun`."""
        import anyio

        return anyio.run(lambda: self.arun(name, prompt, **options))

    async def arun(
        self,
        name: str,
        prompt: str,
        *,
        attach: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
        continue_session: bool = False,
        keep_session: bool | None = None,
        files: Sequence[Attachment] = (),
        session: str | None = None,
        fork: bool = False,
        title: str | None = None,
        on_event: Callable[[str], Any] | None = None,
    ) -> tuple[Run, Turn | None]:
        """Run a prompt in a session of the runner and record it (see `Attempt`).

        Memory recalled for the task and the runner's unread mail go into the session
        first; the answer, tokens and cost are recorded; a `status_report` goes to
        `coordinator`; the session is then deleted, unless `keep_session` (default: the
        `keep_sessions` setting) or `continue_session` (go on in the runner's live
        session, or start it) keeps it. `on_event` gets a line for each step worth
        showing, as the run's log does. A timeout (the session is aborted) makes a
        failed run; a server that is down is recorded, then raised.
        `files` go with the prompt as file parts. `session` runs in that session (kept
        afterwards: it is not the runner's); `fork` runs in a fork of the runner's live
        session (or of `session`), which leaves the one forked unchanged; `title` names a
        new session.
        """
        from switchboard.offloop import off_loop
        from switchboard.opencode.server import endpoint
        from switchboard.runners.attempt import Attempt

        if not prompt.strip():
            raise InvalidInput("prompt is empty")
        if sum((continue_session, session is not None, fork)) > 1 and not (fork and session):
            raise InvalidInput("give one of --continue, --session and --fork (or --fork with --session)")
        runner = await off_loop(self.get, name)
        fork_from = (session or runner.session_id) if fork else None
        if fork and fork_from is None:
            raise InvalidInput(f"runner {name!r} has no live session to fork: run it with --continue first")
        target = await off_loop(endpoint, self.settings, attach)
        async with target.client(directory=runner.workdir) as client:
            attempt = Attempt(
                self,
                runner,
                client,
                prompt,
                timeout=timeout,
                model=model,
                files=files,
                continue_session=continue_session,
                keep_session=keep_session,
                on_line=on_event,
                session=None if fork else session,
                fork_from=fork_from,
                title=title,
            )
            outcome = await attempt.run_to_end()
        return outcome.run, outcome.turn

    def start_run(self, runner: Runner, prompt: str, *, task_id: int | None = None, keep_session: int = 0) -> Run:
        if runner.redact:
            prompt = redact(prompt)
        with self.store.transaction(write=True) as tx:
            row = tx.row(
                "runners.run_insert",
                {
                    "runner": runner.name,
                    "task_id": task_id,
                    "prompt": prompt,
                    "now": time.time(),
                    "keep_session": keep_session,
                },
            )
            log = self.log_path(Run.from_row(row))
            tx.execute("runners.run_set_log", {"id": row["id"], "log_path": str(log)})
        private_file(log)
        return Run.from_row({**row, "log_path": str(log)})

    def log_path(self, run: Run) -> Path:
        return self.folder(run.runner) / "runs" / f"run-{run.id}.log"

    def record_session(self, run: Run, session_id: str, server_url: str) -> Run:
        """The run's session: recorded here only (tasks and runners find it through the run)."""
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.run_session", {"id": run.id, "session_id": session_id, "server_url": server_url})
            return Run.from_row(tx.row("runners.run_get", {"id": run.id}))

    def record_prompted(self, run: Run) -> Run:
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.run_prompted", {"id": run.id, "now": time.time()})
            return Run.from_row(tx.row("runners.run_get", {"id": run.id}))

    async def prepare(self, client: OpenCodeClient, runner: Runner, prompt: str, *, context: bool = True) -> Prepared:
        """What a prompt sends: the system prompt (the runner's AGENTS.md), the tools map,
        and (with `context`) recalled memory and unread mail, built off the event loop:
        recall may wait for the embedding model."""
        from switchboard.offloop import off_loop

        tools = await self.equip(client, runner)
        text, mail = await off_loop(self.context, runner, prompt) if context else ("", [])
        return Prepared(system=runner.instructions, prompt=prompt, context=text, tools=tools, mail=mail)

    async def equip(self, client: OpenCodeClient, runner: Runner) -> dict[str, bool]:
        """Make the server ready for the runner's prompt: its agent loaded (`AgentNotLoaded`
        otherwise) and its MCP server running in the workdir's instance (a problem there
        is logged: the run goes on without the tools). Returns the prompt's tools map.
        A check made in the last `EQUIPPED_FOR` seconds is not made again."""
        from switchboard.runners import wiring
        from switchboard.opencode.errors import AuthRefused, OpenCodeError, ServerDown
        from switchboard.runners import agents

        key = (client.url, runner.workdir, f"{runner.name}:{runner.agent}")
        checked = self._equipped.get(key)
        if checked is not None and time.monotonic() - checked < EQUIPPED_FOR:
            return wiring.prompt_tools(runner.name)
        if runner.agent:
            await agents.ensure_loaded(client, runner.agent, runner.workdir)
        try:
            wiring.wire(self.settings, runner.name, runner.workdir, agent=runner.agent, steps=runner.max_steps)
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

    def context(self, runner: Runner, prompt: str) -> tuple[str, builtins.list[int]]:
        """Memories for the task from the runner's namespace (and the shared one), and its
        unread mail; returns the text and the mail's ids, to `mark_read` once delivered."""
        blocks = []
        memory = _memory_context(self.settings, self.store, runner.name, prompt) if prompt.strip() else ""
        if memory:
            blocks.append(memory)
        unread = self.mailbox.check(runner.name, unread_only=True)
        if unread:
            lines = ["## Unread mail", ""]
            for message in unread:
                lines.append(f"- #{message.id} {message.type.value} from {message.from_agent}: {message.payload}")
            blocks.append("\n".join(lines) + "\n")
        return "\n".join(blocks), [m.id for m in unread]

    def preview(self, name: str, prompt: str = "") -> Prepared:
        """What a run of `prompt` would send, without sending it or marking mail read:
        the runner's instructions, recalled memory and unread mail."""
        runner = self.get(name)
        text, mail = self.context(runner, prompt)
        return Prepared(system=runner.instructions, prompt=prompt, context=text, mail=mail)

    async def add_context(
        self, name: str, text: str, *, files: Sequence[Attachment] = (), attach: str | None = None
    ) -> tuple[str, str]:
        """Add context (no reply) to the session the runner continues; returns the session
        and message ids. A runner with no live session has nothing to add to."""
        from switchboard.offloop import off_loop
        from switchboard.opencode.files import prompt_parts
        from switchboard.opencode.server import endpoint

        if not text.strip():
            raise InvalidInput("context is empty")
        runner = await off_loop(self.get, name)
        if runner.session_id is None:
            raise InvalidInput(f"runner {name!r} has no live session: run it with --continue first")
        target = await off_loop(endpoint, self.settings, attach or runner.server_url)
        async with target.client(directory=runner.workdir) as client:
            message = await client.add_context(runner.session_id, prompt_parts(text, files))
        return runner.session_id, message.id

    def mark_read(self, message_ids: builtins.list[int]) -> None:
        for message_id in message_ids:
            self.mailbox.read(message_id)

    def finish(
        self,
        run: Run,
        *,
        turn: Turn | None = None,
        error: str | None = None,
        status: str | None = None,
        reply_to: int | None = None,
    ) -> Run:
        """Record a run's end (its answer, tokens, cost, and every tool call in
        `run-N.json` beside its log) and report it, once, to the coordinator, in reply
        to the mail that dispatched it if there is one."""
        error = error or (turn.error if turn is not None else None)
        if status is None:
            status = "success" if error is None and turn is not None and turn.ok else "failed"
        if status == "failed" and error is None:
            error = "the model gave no answer"
        tokens = turn.tokens if turn is not None else {}
        scrub = self.scrubber(run.runner)
        with self.store.transaction(write=True) as tx:
            row = tx.one(
                "runners.run_finish",
                {
                    "id": run.id,
                    "status": status,
                    "now": time.time(),
                    "tokens_input": tokens.get("input"),
                    "tokens_output": tokens.get("output"),
                    "cost": turn.cost if turn is not None else None,
                    "answer": scrub(turn.text) if turn is not None and turn.text is not None else None,
                    "error": scrub(error) if error is not None else None,
                },
            )
        if row is None:  # finished already (by another coordinator that followed it too)
            return self.get_run(run.id)
        finished = Run.from_row(row)
        path = self.log_path(finished)
        from switchboard.runners.attempt import append_log

        append_log(path, f"finished: {finished.status}" + (f" ({error})" if error else ""), finished.answer)
        if turn is not None:
            try:
                path.with_suffix(".json").write_text(
                    scrub(json.dumps(turn.to_dict(), indent=2)) + "\n", encoding="utf-8"
                )
            except OSError as exc:  # the run is recorded; only its tool-call detail is lost
                log.warning("%s not written: %s", path.with_suffix(".json"), exc.strerror or exc)
        self.report(finished, reply_to, raw=scrub is not redact)
        return finished

    def scrubber(self, name: str) -> Callable[[str], str]:
        """What runner `name`'s run records go through: `redact`, unless it opted out."""
        with self.store.transaction() as tx:
            row = tx.one("runners.get", {"name": name})
        return redact if row is None or row["redact"] else str

    def report(self, run: Run, reply_to: int | None = None, *, raw: bool = False) -> None:
        """The `status_report` of a finished run (the one report builder)."""
        try:
            self.mailbox.send(
                COORDINATOR, "status_report", report_text(run), sender=run.runner, reply_to=reply_to, raw=raw
            )
        except NotFound:  # the dispatching message was pruned meanwhile
            self.mailbox.send(COORDINATOR, "status_report", report_text(run), sender=run.runner, raw=raw)

    def close_task_runs(self, task_id: int, keep: int | None, error: str) -> builtins.list[Run]:
        """Finish the runs of a task left `running` by an attempt that ended without
        settling them (its coordinator died), but `keep`."""
        with self.store.transaction(write=True) as tx:
            rows = tx.all(
                "runners.close_task_runs", {"task_id": task_id, "keep": keep or 0, "error": error, "now": time.time()}
            )
        return [Run.from_row(r) for r in rows]

    # -- sessions on the server ------------------------------------------------------

    def stale_live_sessions(self, name: str, session_id: str) -> builtins.list[str]:
        with self.store.transaction() as tx:
            return [
                r["session_id"]
                for r in tx.all("runners.stale_live_sessions", {"runner": name, "session_id": session_id})
            ]

    async def delete_session(self, client: OpenCodeClient, session_id: str) -> bool:
        """Delete a session on the server and record it; a server that does not answer
        leaves it for `switchboard opencode sessions prune`."""
        from switchboard.offloop import off_loop
        from switchboard.opencode.errors import OpenCodeError, SessionNotFound

        try:
            await client.delete_session(session_id)
        except SessionNotFound:
            pass
        except OpenCodeError as exc:
            log.warning("session %s left on %s: %s", session_id, client.url, exc)
            return False
        await off_loop(self._session_deleted, session_id)
        return True

    def _session_deleted(self, session_id: str) -> None:
        with self.store.transaction(write=True) as tx:
            tx.execute("runners.session_deleted", {"session_id": session_id, "now": time.time()})

    async def delete_sessions(self, name: str) -> builtins.list[str]:
        """Delete every session of the runner still on a server; returns those deleted."""
        from switchboard.offloop import off_loop

        def sessions() -> list[dict[str, Any]]:
            with self.store.transaction() as tx:
                return tx.all("runners.sessions", {"runner": name})

        deleted = []
        for url, ids in _by_server(await off_loop(sessions)).items():
            async with _client(self.settings, url) as client:
                deleted += [sid for sid in ids if await self.delete_session(client, sid)]
        return deleted

    async def prune_sessions(self, client: OpenCodeClient, *, older_than: float = PRUNE_AGE) -> builtins.list[str]:
        """Delete the sessions this database's runners left on the server (titled
        `runner/NAME [TAG]`, older than `older_than` seconds) that no run in progress
        uses and none keeps. Returns their ids. Other homes' sessions carry another tag."""
        from switchboard.offloop import off_loop

        def known() -> tuple[set[str], list[str]]:
            with self.store.transaction() as tx:
                retained = {r["session_id"] for r in tx.all("runners.retained_sessions")}
                workdirs = sorted({r["workdir"] for r in tx.all("runners.list")})
            return retained, workdirs

        retained, workdirs = await off_loop(known)
        cutoff = time.time() - older_than  # a session this young may not be recorded on its run yet
        pruned = []
        for workdir in workdirs:
            for session in await client.list_sessions(directory=workdir, roots=True):
                if (
                    session.title.endswith(self.session_tag)
                    and session.id not in retained
                    and (session.created_at or 0) < cutoff
                    and await self.delete_session(client, session.id)
                ):
                    pruned.append(session.id)
        return pruned

    async def stop(self, name: str) -> builtins.list[str]:
        """Abort the runner's running sessions; returns their ids (none: nothing ran)."""
        from switchboard.offloop import off_loop

        def running() -> list[Run]:
            with self.store.transaction() as tx:
                self._get(tx, name)
                return [Run.from_row(r) for r in tx.all("runners.running", {"runner": name})]

        aborted = []
        for url, ids in _by_server([r.to_dict() for r in await off_loop(running) if r.session_id]).items():
            async with _client(self.settings, url) as client:
                for session_id in ids:
                    await client.abort(session_id)
                    aborted.append(session_id)
        return aborted

    # -- helpers ---------------------------------------------------------------------

    def _get(self, tx: Tx, name: str) -> Runner:
        row = tx.one("runners.get", {"name": name})
        if row is None:
            raise NotFound(f"no runner named {name!r}")
        return Runner.from_row(row)

    def _validated(
        self,
        values: dict[str, Any],
        *,
        agent_file: str | Path | None = None,
        check_agent: bool = True,
        check_config: bool = True,
    ) -> dict[str, Any]:
        from switchboard.runners import wiring
        from switchboard.runners import agents

        check_name(values["role"], "role")
        if values["model"] is not None:
            from switchboard.opencode.models import model_ref

            model_ref(values["model"])
        if values["agent"] is not None:
            check_name(values["agent"], "agent name")
        values["workdir"] = str(validate.writable_dir(values["workdir"], "workdir"))
        if check_config:  # a workdir whose opencode.json cannot take the MCP server is refused now
            wiring.read_config(values["workdir"])
        if agent_file is not None:
            installed = agents.install(values["workdir"], agent_file)
            if values["agent"] not in (None, installed):
                raise InvalidInput(f"--agent {values['agent']} and --agent-file {agent_file} name two agents")
            values["agent"] = installed
        elif values["agent"] is not None and check_agent:
            agents.find(values["workdir"], values["agent"])
        values["timeout_seconds"] = validate.seconds(values["timeout_seconds"], "timeout", positive=True)
        values["max_parallel"] = validate.integer(values["max_parallel"], "max-parallel")
        values["max_steps"] = validate.integer(values["max_steps"], "max-steps")
        if not values["instructions"].strip():
            raise InvalidInput("instructions are empty")
        values["isolation"] = check_isolation(values["isolation"], values["workdir"])
        values["redact"] = int(bool(values["redact"]))  # an INTEGER column on every backend
        return values

    def _read_files(self, runner: Runner) -> dict[str, Any]:
        """The settings in the runner's folder that differ from `runner`."""
        folder = self.folder(runner.name)
        found: dict[str, Any] = {}
        try:
            found["instructions"] = (folder / "AGENTS.md").read_text(encoding="utf-8")
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {folder / 'AGENTS.md'}: {exc}") from None
        path = folder / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            config = {}
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidInput(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(config, dict):
            raise InvalidInput(f"{path} must hold a JSON object")
        for key, kinds in _CONFIG_TYPES.items():
            if (
                key in config
                and not isinstance(config[key], kinds)
                or (isinstance(config.get(key), bool) and bool not in kinds)
            ):
                raise InvalidInput(f"{path}: {key} has the wrong type ({json.dumps(config[key])[:40]})")
            if key in config:
                found[key] = config[key]
        return {k: v for k, v in found.items() if v != getattr(runner, k)}

    def _write_files(self, runner: Runner) -> None:
        folder = self.folder(runner.name)
        private_file(folder / "AGENTS.md").write_text(runner.instructions)
        config = {"name": runner.name} | {k: getattr(runner, k) for k in _CONFIG_TYPES}
        private_file(folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


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
    from switchboard.runners import wiring

    wiring.wire(settings, runner.name, runner.workdir, agent=runner.agent, steps=runner.max_steps)


def _unwire(settings: Settings, runner: Runner) -> None:
    """Take the runner's MCP server out of its workdir's opencode.json, if it can be."""
    from switchboard.runners import wiring

    try:
        wiring.unwire(settings, runner.name, runner.workdir, agent=runner.agent, steps=runner.max_steps)
    except (InvalidInput, OSError) as exc:
        log.warning("left runner %s's MCP server in %s: %s", runner.name, runner.workdir, exc)


def _forget_namespace(settings: Settings, namespace: str) -> None:
    from switchboard.memory import Memory

    Memory.open(settings).delete_namespace(namespace)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _by_server(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in rows:
        if row["session_id"] and row["server_url"]:
            out.setdefault(row["server_url"], []).append(row["session_id"])
    return out


def _client(settings: Settings, url: str) -> OpenCodeClient:
    from switchboard.opencode.server import endpoint

    return endpoint(settings, url).client()
