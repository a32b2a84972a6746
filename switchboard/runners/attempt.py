"""One attempt at a prompt on a runner, from its run record to its clean-up.

An `Attempt` owns the whole life of one run: it records the run, opens (or continues)
the session, puts recalled memory and unread mail into it as context, sends the
prompt (`prompt_async`), follows the turn (`TurnFollower`: events first, the server's
state as the fallback), settles the run with the answer or the error, files the one
`status_report`, and deletes the session once all of that is recorded.

`runner run` drives one attempt to its end on its own event stream (`run_to_end`);
the coordinator starts many, feeds them its servers' events (`handle`), asks them to
`check` now and then, and schedules the next attempt from their `Outcome`.

Each attempt has a step budget (`max_steps`: the task's, else its runner's): it counts
the assistant messages of its session on the event stream, one per model request, and
aborts the session past the budget. A provider that closes its stream mid-answer makes
OpenCode ask again at once, without end: this is what stops it. A run
record left by a coordinator that died is picked up again (`Attempt(run=...)`): each
step that was done is not done twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from switchboard.config import private_file
from switchboard.notice import Notice
from switchboard.offloop import off_loop
from switchboard.opencode.errors import OpenCodeError, ServerDown, SessionNotFound
from switchboard.opencode.files import Attachment, prompt_parts
from switchboard.opencode.follow import CLOCK_SKEW, TurnFollower, complete, created_ms
from switchboard.opencode.models import Event, Turn
from switchboard.redaction import redact
from switchboard.runners.models import Run, Runner

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.runners.service import Runners
    from switchboard.workspaces.attempt import TaskWorkspace

log = logging.getLogger("switchboard.runners")
notice = Notice(log)

FINAL_READS = 8  # reads, 0.25 s apart, of a turn that looks unfinished when its session goes idle
ABORT_WATCH = (12, 0.25)  # status reads and their spacing that an aborted turn must stay stopped for
RESEND_AFTER = 2.0  # seconds after sending within which a prompt not yet in its session may still arrive


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: its finished run, the turn if the session answered, and
    whether it failed because its server did (worth retrying at once elsewhere)."""

    run: Run
    turn: Turn | None = None
    server_down: bool = False


class Phases:
    """Where an attempt's time goes: milliseconds per phase, in the order they came. Logged
    at debug level when the attempt ends (`-v -v`), with the figures as the record's
    `phases` attribute for `bench/coordinator.py`."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.ms: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        """The time since the previous mark was spent on `phase`."""
        now = time.perf_counter()
        self.ms[phase] = self.ms.get(phase, 0.0) + (now - self._last) * 1000
        self._last = now


class Attempt:
    def __init__(
        self,
        runners: Runners,
        runner: Runner,
        client: OpenCodeClient,
        prompt: str,
        *,
        run: Run | None = None,
        task_id: int | None = None,
        reply_to: int | None = None,
        timeout: float | None = None,
        model: str | None = None,
        continue_session: bool = False,
        keep_session: bool | None = None,
        max_retries: int = 3,
        max_steps: int | None = None,
        on_line: Callable[[str], Any] | None = None,
        workspace: TaskWorkspace | None = None,
        files: Sequence[Attachment] = (),
        session: str | None = None,
        fork_from: str | None = None,
        title: str | None = None,
        defer_cleanup: bool = False,
    ) -> None:
        self.runners = runners
        self.runner = runner
        self.client = client
        self.prompt = prompt
        self.run = run
        self.task_id = task_id if run is None else run.task_id
        self.reply_to = reply_to
        self.timeout = timeout or runner.timeout_seconds
        self.model = model or runner.model
        self.continue_session = continue_session
        kept = runners.settings.keep_sessions if keep_session is None else keep_session
        # as runs.keep_session; a session given by id is the caller's: never deleted
        self.keep_session = 2 if continue_session else int(bool(kept) or session is not None)
        self.files = tuple(files)
        self.session, self.fork_from, self.title = session, fork_from, title
        if run is not None:
            self.keep_session = max(self.keep_session, run.keep_session)
        self.max_retries = max_retries
        self.max_steps = max_steps or runner.max_steps
        self.steps: set[str] = set()  # ids of the assistant messages (model requests) seen
        self.over_budget = False
        self.on_line = on_line
        self.workspace = workspace  # with isolation: the attempt works in its own git worktree
        self.follower: TurnFollower | None = None
        self.outcome: Outcome | None = None
        self._last_line: str | None = None
        self.phases = Phases()
        # The coordinator deletes the session after the task settles, off the runner's time;
        # with a worktree the session must go first (`_finish`), so it is not deferred.
        self.defer_cleanup = defer_cleanup and workspace is None
        self._cleaned = False

    @property
    def session_id(self) -> str | None:
        return self.run.session_id if self.run is not None else None

    @property
    def deadline(self) -> float:
        """When the attempt times out (epoch seconds): its run's start plus the timeout."""
        return (self.run.started_at if self.run is not None else time.time()) + self.timeout

    # -- start -------------------------------------------------------------------------

    async def begin(self) -> Run:
        """Record the run (a resumed attempt has one already)."""
        if self.run is None:
            self.run = await off_loop(
                self.runners.start_run, self.runner, self.prompt, task_id=self.task_id, keep_session=self.keep_session
            )
            self.phases.mark("record run")
        return self.run

    async def start(self) -> bool:
        """Open the session, add the context, send the prompt: each step once, so that an
        attempt resumed after a crash goes on from where it stopped. True if the prompt
        was sent now."""
        run = await self.begin()
        resumed = run.session_id is not None
        await self._enter_workspace(resumed)
        if not resumed:
            session_id = await self._open_session()
            run = self.run = await off_loop(self.runners.record_session, run, session_id, self.client.url)
            self.phases.mark("session")
        self.follower = TurnFollower(
            self.client,
            run.session_id or "",
            since=run.started_at,
            max_retries=self.max_retries,
            directory=self.runner.workdir,
        )
        prompted, has_context = False, False
        if resumed:
            prompted, has_context = await self._progress()
        if prompted:
            return False
        prepared = await self.runners.prepare(self.client, self.runner, self.prompt, context=not has_context)
        self.phases.mark("recall + mail")
        if prepared.context:
            await self.client.add_context(run.session_id or "", prepared.context)
            await off_loop(self.runners.mark_read, prepared.mail)
        self.phases.mark("context")
        # Recorded before it is sent: a run marked prompted whose session lacks the prompt
        # was cut off before the request (or it got lost), never after the model saw it.
        self.run = await off_loop(self.runners.record_prompted, run)
        await self.client.prompt_async(
            run.session_id or "",
            prompt_parts(self.prompt, self.files),
            agent=self.runner.agent,
            model=self.model,
            system=prepared.system,
            tools=prepared.tools,
        )
        self.phases.mark("prompt")
        self._line("prompt sent")
        return True

    async def _enter_workspace(self, resumed: bool) -> None:
        """With isolation, everything from here on happens in the attempt's worktree."""
        if self.workspace is None or self.runner.workdir != self.workspace.runner.workdir:
            return  # none, or entered already
        directory = await self.workspace.enter(resumed=resumed)
        if directory is not None:
            self.runner = replace(self.runner, workdir=directory)
            self.client = self.client.at(directory)

    async def _open_session(self) -> str:
        await self.runners.equip(self.client, self.runner)
        self.phases.mark("equip")
        title = self.runners.session_title(self.runner.name, self.title)
        if self.fork_from is not None:
            return (await self.client.fork(self.fork_from, title=title)).id
        if self.session is not None:
            return (await self.client.get_session(self.session)).id
        live = self.runner.session_id if self.keep_session == 2 else None
        if live:
            try:
                return (await self.client.get_session(live)).id
            except SessionNotFound:
                log.warning("runner %s's live session %s is gone; starting a new one", self.runner.name, live)
        return (await self.client.create_session(title=title)).id

    async def _progress(self) -> tuple[bool, bool]:
        """For a resumed attempt: whether the prompt, and the context, reached the session.
        A prompt sent by an attempt that died at once may take a moment to appear."""
        if (
            self.run is not None
            and self.run.prompted_at is not None
            and time.time() - self.run.prompted_at < RESEND_AFTER
        ):
            await anyio.sleep(RESEND_AFTER - (time.time() - self.run.prompted_at))
        since_ms = ((self.run.started_at if self.run else 0) - CLOCK_SKEW) * 1000
        ours = [
            m
            for m in await self.client.messages(self.session_id or "")
            if m.role == "user" and created_ms(m) >= since_ms
        ]
        return any(m.text == self.prompt for m in ours), bool(ours)

    # -- follow ------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """The turn is over (or the attempt timed out): time to `settle`."""
        return self.over_budget or time.time() >= self.deadline or (self.follower is not None and self.follower.done)

    async def handle(self, event: Event) -> None:
        """One of the session's events: logged, and followed."""
        if "first event" not in self.phases.ms:
            self.phases.mark("first event")
        line = describe_event(event)
        if line:
            self._line(line)
        await self._count_step(event)
        if self.follower is not None:
            await self.follower.handle(event)

    async def _count_step(self, event: Event) -> None:
        info = event.properties.get("info")
        if event.type != "message.updated" or not isinstance(info, dict) or info.get("role") != "assistant":
            return
        self.steps.add(str(info.get("id")))
        if len(self.steps) > self.max_steps and not self.over_budget:
            self.over_budget = True
            self._line(f"step budget exceeded ({self.max_steps}): aborting the session")
            await self._abort_session()

    async def check(self) -> bool:
        """Ask the server how the turn goes (events may have been missed); True when done."""
        if self.follower is not None and not self.done:
            await self.follower.poll()
        return self.done

    async def move(self, client: OpenCodeClient) -> None:
        """Go on through another client: the server came back at a new address, with its sessions."""
        self.client = client
        if self.follower is not None:
            self.follower.client = client
        if self.run is not None and self.run.session_id:
            self.run = await off_loop(self.runners.record_session, self.run, self.run.session_id, client.url)

    async def answered(self) -> bool:
        """Whether the session holds a finished answer to the prompt."""
        if self.follower is None:
            return False
        turn, prompted = await self.follower.read()
        return prompted and complete(turn)

    async def run_to_end(self) -> Outcome:
        """Start and follow the attempt on its own event stream until it is over; settle it."""
        await self.begin()
        try:
            async with self.client.events(directory=self.runner.workdir) as stream:
                await stream.connect()
                await self.start()
                with anyio.move_on_after(max(self.deadline - time.time(), 0)):
                    async for event in stream:
                        if event.type in (Event.RECONNECTED, Event.DISCONNECTED, "server.heartbeat"):
                            await self.check()
                        elif event.session_id == self.session_id:
                            await self.handle(event)
                        if self.done:
                            break
            return await self.settle()
        except OpenCodeError as exc:
            await self.fail(str(exc), server_down=isinstance(exc, ServerDown))
            raise
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await self.abort(f"interrupted: {exc!r}" if str(exc) else "interrupted")
            raise

    # -- settle ------------------------------------------------------------------------

    async def settle(self) -> Outcome:
        """Record the answer (or why there is none), report it, clean up."""
        assert self.follower is not None and self.run is not None
        self.phases.mark("turn")
        error = None
        if self.over_budget:
            error = (
                f"step budget exceeded ({self.max_steps}): session {self.session_id} asked the model "
                f"{len(self.steps)} times; aborted"
            )
        elif not self.follower.done and time.time() >= self.deadline:
            await self._abort_session()
            error = f"timed out: session {self.session_id} did not finish within {self.timeout:g} s; aborted"
        try:
            turn = await self.follower.turn(time.time() - (self.run.prompted_at or self.run.started_at))
        except (ServerDown, SessionNotFound) as exc:
            return await self.fail(error or str(exc), server_down=isinstance(exc, ServerDown))
        if error is None and turn.error is None and not complete(turn):
            turn = await self._last_word(turn)
            if not complete(turn):
                error = "stalled: the session went idle without finishing its answer"
        return await self._finish(Outcome(self.run, turn), error=error)

    async def _last_word(self, turn: Turn) -> Turn:
        """An idle session's final message can be written just after the idle event:
        read the turn again for a moment before calling it unfinished."""
        assert self.follower is not None and self.run is not None
        for _ in range(FINAL_READS):
            await anyio.sleep(0.25)
            turn = await self.follower.turn(time.time() - (self.run.prompted_at or self.run.started_at))
            if complete(turn) or turn.error:
                break
        return turn

    async def fail(self, error: str, *, server_down: bool = False) -> Outcome:
        """End the attempt without an answer."""
        return await self._finish(Outcome(self.run, None, server_down), error=error)  # type: ignore[arg-type]

    async def abort(self, reason: str) -> Outcome:
        """Stop the session's turn and end the attempt as aborted (cancelled, shutdown, interrupt)."""
        await self._abort_session()
        return await self._finish(Outcome(self.run, None), error=reason, status="aborted")  # type: ignore[arg-type]

    async def _finish(self, outcome: Outcome, *, error: str | None, status: str | None = None) -> Outcome:
        if self.outcome is not None:
            return self.outcome
        self.phases.mark("read answer")
        run = await off_loop(
            self.runners.finish, outcome.run, turn=outcome.turn, error=error, status=status, reply_to=self.reply_to
        )
        self.run = run
        self.phases.mark("record + report")
        if not self.defer_cleanup:
            await self.cleanup()
            self.phases.mark("delete session")
        if self.workspace is not None:  # after the session is gone, before a retry can want the branch
            await self.workspace.leave(ok=run.ok, client=self.client)
            self.phases.mark("workspace")
        self.run = await off_loop(self.runners.get_run, run.id)  # with what became of its session
        self.phases.mark("record + report")
        self.outcome = Outcome(self.run, outcome.turn, outcome.server_down)
        log.debug(
            "run %s phases: %s",
            run.id,
            ", ".join(f"{k} {v:.0f} ms" for k, v in self.phases.ms.items()),
            extra={"phases": dict(self.phases.ms)},
        )
        return self.outcome

    async def _abort_session(self) -> None:
        """Stop the session's turn and see it stopped: a prompt accepted just before the
        abort can start its turn just after it (seen under load), so a turn that shows
        up busy again, or that has not answered the prompt yet, is aborted again."""
        if not self.session_id:
            return
        reads, spacing = ABORT_WATCH
        try:
            with anyio.move_on_after(self.client.timeout):
                await self.client.abort(self.session_id)
                for _ in range(reads):
                    await anyio.sleep(spacing)
                    if self.session_id in await self.client.status():
                        await self.client.abort(self.session_id)
                    elif await self._answered_or_untouched():
                        return
        except OpenCodeError as exc:
            log.warning("could not abort session %s: %s", self.session_id, exc)

    async def _answered_or_untouched(self) -> bool:
        """The session's last message is an assistant's (the aborted turn wrote its end),
        or no prompt ever reached it: nothing left that could start a turn."""
        messages = await self.client.messages(self.session_id, limit=1)  # type: ignore[arg-type]
        return not messages or messages[-1].role == "assistant" or self.run is None or not self.run.prompted_at

    async def cleanup(self) -> None:
        """Delete the session now that its answer, tool calls and log are recorded, unless
        it is kept; a runner's new live session retires the one before it. Once: a
        deferred clean-up and a shutdown may both ask."""
        run = self.run
        if run is None or not run.session_id or self._cleaned:
            return
        self._cleaned = True
        if self.keep_session == 2:
            for old in await off_loop(self.runners.stale_live_sessions, run.runner, run.session_id):
                await self.runners.delete_session(self.client, old)
        if not self.keep_session:
            await self.runners.delete_session(self.client, run.session_id)

    def _line(self, line: str) -> None:
        if line == self._last_line or self.run is None:
            return
        self._last_line = line
        if self.runner.redact:
            line = redact(line)
        append_log(Path(self.run.log_path or self.runners.log_path(self.run)), line)
        if self.on_line is not None:
            self.on_line(line)


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


def append_log(path: Path, line: str, body: str | None = None) -> None:
    """Add a line to a run's log. A log that cannot be written (a read-only or full
    filesystem) loses the line, with a warning: the run itself goes on, in the database."""
    try:
        # A run taken over from another host's coordinator logs its end in this host's home.
        with private_file(path).open("a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {line}\n")
            if body:
                fh.write("\n" + body + ("" if body.endswith("\n") else "\n"))
    except OSError as exc:
        notice.fault(f"run log {path.parent}", f"lines lost: {exc.strerror or exc}")
