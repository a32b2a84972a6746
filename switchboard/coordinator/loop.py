"""The coordinator loop: hands ready tasks to idle runners as `Attempt`s, feeds them
their servers' events, and turns their outcomes into task states.

All state is in the database. A task being worked on is `running` with an owner
(this coordinator's id, stable across restarts of the same home), a lease the loop
keeps renewing, and a run (which records the session doing the work). After a
crash, the coordinator (or, once the lease runs out, any other) picks the run up
again as the same attempt: nothing is lost and nothing runs twice at once. The loop
schedules; each attempt owns its run. Database calls go through `off_loop`, and
every background task is supervised.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from switchboard.config import Settings
from switchboard.coordinator.dispatch import task_spec
from switchboard.coordinator.retention import Retention
from switchboard.coordinator.schedules import Schedules
from switchboard.coordinator.servers import ServerPool
from switchboard.coordinator.supervisor import guarded, notice, supervise
from switchboard.coordinator.tasks import CHANNEL, Assignment, Tasks
from switchboard.errors import DatabaseGone, NotFound, StoreError, SwitchboardError
from switchboard.mailbox.models import Message, MessageType
from switchboard.offloop import off_loop
from switchboard.redaction import redact
from switchboard.opencode.errors import OpenCodeError, ServerDown, SessionNotFound
from switchboard.opencode.follow import IDLE_GRACE
from switchboard.opencode.models import Event
from switchboard.runners.attempt import Attempt, Outcome
from switchboard.runners.models import Run, Runner
from switchboard.runners.service import COORDINATOR, Runners, report_text
from switchboard.store import open_store
from switchboard.workspaces.attempt import TaskWorkspace, sweep
from switchboard.workspaces.service import Workspaces

if TYPE_CHECKING:
    from switchboard.coordinator.models import Task
    from switchboard.opencode.client import OpenCodeClient

log = logging.getLogger("switchboard.coordinator")

CHECK_EVERY = 5.0  # seconds between checks of a session that sent no idle event
SHUTDOWN_GRACE = 30.0
CHECKS_AT_SHUTDOWN = 10.0  # seconds to let the checks under way end before giving back the rest
PRUNE_EVERY = 120.0  # seconds between clean-ups of the sessions crashed attempts left on the servers
RETAIN_EVERY = 3600.0  # seconds between applications of the retention horizon (setting retention_days)
MAX_PULSE_BACKOFF = 30.0  # seconds between pulses at most while the database cannot be used
INGEST_BUDGET = 0.2  # seconds of dispatch mail a pulse takes in, at most
STREAM_GIVES_UP = 15.0  # seconds of failed reconnection after which a server counts as down


def default_owner(settings: Settings) -> str:
    """This coordinator's identity: the same after a restart of the same home."""
    digest = hashlib.sha1(str(settings.home).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}:{digest}"


@dataclass
class Flight:
    """An attempt this coordinator follows, the server it runs on, and when to look at it next."""

    task_id: int
    attempt: Attempt
    url: str
    next_check: float = 0.0
    checking: bool = False  # a check (and maybe the settling) of it is under way


@dataclass
class PulseReport:
    ingested: int = 0
    fired: int = 0
    started: int = 0
    finished: int = 0
    adopted: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Coordinator:
    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int = 4,
        attach: list[str] | tuple[str, ...] = (),
        model_limits: dict[str, int] | None = None,
        lease: float = 30.0,
        tick: float = 1.0,
        max_provider_retries: int = 3,
        owner: str | None = None,
        remember: bool = True,
        keep_sessions: bool | None = None,
    ) -> None:
        if concurrency < 1:
            raise SwitchboardError("concurrency must be at least 1")
        self.settings = settings
        self.store = open_store(settings)
        self.tasks = Tasks(self.store, settings)
        self.schedules = Schedules(self.tasks)
        self.runners = Runners(self.store, settings)
        self.mailbox = self.runners.mailbox
        self.concurrency = concurrency
        self.model_limits = model_limits or {}
        self.lease = lease
        self.tick = tick
        self.max_provider_retries = max_provider_retries
        self.owner = owner or default_owner(settings)
        self.remember = remember
        self.keep_sessions = keep_sessions
        self.pool = ServerPool(settings, attach)
        self.workspaces = Workspaces(self.store, settings)
        self.flights: dict[int, Flight] = {}
        self.accepting = True
        self._wake = anyio.Event()
        self._group: TaskGroup | None = None  # the running loop's, for attempts started in the background
        self._watched: set[str] = set()
        self._starting: set[int] = set()  # tasks claimed whose attempt is being set up
        self._memory: Any = None
        self._failed_pulses = 0  # in a row: the pause before the next one doubles
        self._finished = 0  # flights settled so far, counted where each settles
        self._checks = 0  # checks under way, including those whose flight is already dropped

    # -- one pass ----------------------------------------------------------------

    async def pulse(self) -> PulseReport:
        """One pass: take mail and schedules in, pick up orphaned work, check the
        sessions in flight, and start ready tasks on idle runners."""
        report = PulseReport()
        await off_loop(self.store.verify)  # never work on a deleted or replaced file
        if self.accepting:
            report.ingested = await off_loop(self.ingest_mail)
            report.fired = len(await off_loop(self.schedules.fire_due))
        report.adopted = await self._adopt()
        finished = self._finished
        await self._check_flights()
        report.finished = self._finished - finished  # in the loop, those settled by now
        if self.accepting:
            report.started = await self._start_ready()
        await off_loop(self.tasks.renew, self.owner, self.lease)
        return report

    def ingest_mail(self) -> int:
        """Turn `task_dispatch` mail addressed to `coordinator` into tasks (`dispatch.task_spec`),
        for at most `INGEST_BUDGET` seconds a pulse, so that a flood of mail does not hold up
        the tasks already queued. Every message is acked; one that cannot become a task is
        answered with the reason, to its sender. A database error leaves it leased: it comes
        back when the lease runs out, and is a dead letter after its attempts."""
        count = 0
        deadline = time.monotonic() + INGEST_BUDGET
        while (message := self.mailbox.claim(COORDINATOR, type=MessageType.TASK_DISPATCH, lease=60)) is not None:
            count += self._ingest(message)
            self.mailbox.ack(message.id, message.lease_token)
            if time.monotonic() > deadline:
                self._wake.set()  # more may wait: the next pulse comes at once
                break
        return count

    def _ingest(self, message: Message) -> int:
        try:
            spec = task_spec(message.payload)
            task = self.tasks.add(
                spec.pop("prompt"),
                source="mail",
                source_ref=str(message.id),
                priority=spec.pop("priority", message.priority),
                **spec,
            )
        except StoreError:
            raise
        except SwitchboardError as exc:
            reason = str(exc)
        except Exception as exc:  # a bug: the sender still hears of it, and the loop goes on
            reason = f"internal error ({type(exc).__name__})"
            log.warning("mail %s not turned into a task: %s: %s", message.id, type(exc).__name__, exc)
        else:
            log.info("task %s from mail %s (from %s)", task.id, message.id, message.from_agent)
            return 1
        self.mailbox.send(
            message.from_agent, "status_report", f"task not queued: {reason}", sender=COORDINATOR, reply_to=message.id
        )
        return 0

    # -- starting ----------------------------------------------------------------

    async def _start_ready(self) -> int:
        capacity = self.concurrency - len(self.flights) - len(self._starting)
        if capacity <= 0 or self.pool.pick() is None:
            return 0
        assignments = await off_loop(
            self.tasks.claim, self.owner, capacity=capacity, lease=self.lease, model_limits=self.model_limits
        )
        for assignment in assignments:
            url = self.pool.pick()
            if url is None:
                await off_loop(self.tasks.release, assignment.task.id, self.owner)
                continue
            self.pool.assign(url)  # now, so that the next start weighs it
            self._starting.add(assignment.task.id)  # ours already: not to be adopted meanwhile
            await self._launch(f"start of task {assignment.task.id}", self._start, assignment, url)
        return len(assignments)

    async def _launch(self, name: str, fn: Any, *args: Any) -> None:
        """Run `fn(*args)` in the background of the running loop (at once outside it, as
        `coordinator pulse` does), so that a slow start holds up nothing else."""
        if self._group is not None:
            self._group.start_soon(guarded, name, fn, *args)
        else:
            await guarded(name, fn, *args)

    async def _start(self, assignment: Assignment, url: str) -> None:
        """Start the assignment as an attempt on `url` (assigned to it already)."""
        try:
            await self._start_attempt(assignment, url)
        finally:
            self._starting.discard(assignment.task.id)

    async def _start_attempt(self, assignment: Assignment, url: str) -> None:
        task = assignment.task
        try:
            runner = for_task(await off_loop(self.runners.get, assignment.runner), task)
        except SwitchboardError as exc:  # e.g. a malformed config.json: the task waits for a fix
            self.pool.unassign(url)
            await off_loop(self.tasks.fail, task.id, self.owner, str(exc))
            log.warning("task %s not started: %s", task.id, exc)
            return
        attempt = Attempt(
            self.runners,
            runner,
            self.pool.client(url, runner.workdir),
            task.prompt,
            task_id=task.id,
            reply_to=_reply_to(task),
            timeout=assignment.timeout,
            keep_session=self.keep_sessions,
            max_retries=self.max_provider_retries,
            max_steps=task.max_steps,
            workspace=TaskWorkspace.wanted(self.workspaces, task, runner),
            files=task.files,
            model=task.model,
            defer_cleanup=True,
        )
        flight = self._follow(Flight(task.id, attempt, url))
        try:
            run = await attempt.begin()
            await off_loop(self.tasks.set_run, task.id, self.owner, run.id)
        except (SwitchboardError, OSError):  # e.g. the database locked: a later pulse adopts the task
            self._drop(task.id)
            raise
        if await self._go(flight):
            log.info("task %s started on %s (session %s at %s)", task.id, runner.name, attempt.session_id, url)

    async def _go(self, flight: Flight) -> bool:
        """Start (or, resumed, go on with) the flight's attempt; False if it failed. If the
        database cannot be written meanwhile, the flight is dropped: a later pulse adopts its
        task again."""
        try:
            return await self._go_on(flight)
        except (StoreError, OSError):
            self._drop(flight.task_id)
            raise

    async def _go_on(self, flight: Flight) -> bool:
        try:
            sent = await flight.attempt.start()
        except OpenCodeError as exc:
            await self._failed(
                flight, f"could not start on {flight.url}: {exc}", server_down=isinstance(exc, ServerDown)
            )
            return False
        except StoreError:
            raise  # the database, not the attempt: `_go` drops the flight for a later pulse
        except SwitchboardError as exc:  # e.g. its worktree could not be made
            await self._failed(flight, f"could not start: {exc}")
            return False
        except Exception as exc:
            await self._failed(flight, f"could not start on {flight.url}: {exc!r}")
            raise
        flight.next_check = time.time() + IDLE_GRACE if sent else 0.0  # resumed: look at it now
        return True

    def _follow(self, flight: Flight) -> Flight:
        """Follow an attempt whose server the pool counts it on."""
        self.flights[flight.task_id] = flight
        return flight

    def _drop(self, task_id: int) -> Flight | None:
        flight = self.flights.pop(task_id, None)
        if flight is not None:
            self.pool.unassign(flight.url)
        return flight

    # -- after a crash -------------------------------------------------------------

    async def _adopt(self) -> int:
        """Follow again the tasks this coordinator held before a restart, and take over
        those whose coordinator stopped renewing their lease."""
        adopted = 0
        for task in await off_loop(self.tasks.mine, self.owner):
            if task.id not in self.flights and task.id not in self._starting:
                adopted += await self._resume(task)
        for task in await off_loop(self.tasks.orphaned):
            if task.id not in self.flights and (
                taken := await off_loop(self.tasks.adopt, task.id, self.owner, self.lease)
            ):
                log.info("took over task %s from %s", task.id, task.owner)
                adopted += await self._resume(taken)
        return adopted

    async def _resume(self, task: Task) -> int:
        """Go on with a task's attempt where it stopped: its run is the same attempt."""
        run = await off_loop(self.runners.get_run, task.run_id) if task.run_id else None
        await off_loop(
            self.runners.close_task_runs,
            task.id,
            run.id if run else None,
            "coordinator restarted; this attempt was not recorded on its task",
        )
        if run is None:  # the attempt never recorded a run: put the task back without counting it
            await off_loop(self.tasks.release, task.id, self.owner)
            return 0
        if run.status != "running":  # the attempt settled, its task did not hear of it
            await self._leave_workspace(task, run)
            await self._settle_task(task.id, Outcome(run))
            return 1
        try:
            runner = for_task(await off_loop(self.runners.get, run.runner), task)
        except SwitchboardError as exc:
            await off_loop(self.runners.finish, run, error=str(exc))
            await off_loop(self.tasks.fail, task.id, self.owner, str(exc))
            return 1
        url = run.server_url or self.pool.pick() or self.pool.urls[0]
        self.pool.assign(url)
        attempt = Attempt(
            self.runners,
            runner,
            self.pool.client(url, runner.workdir),
            run.prompt,
            run=run,
            reply_to=_reply_to(task),
            timeout=(task.deadline_at or run.started_at) - run.started_at,
            keep_session=self.keep_sessions,
            max_retries=self.max_provider_retries,
            max_steps=task.max_steps,
            workspace=TaskWorkspace.wanted(self.workspaces, task, runner),
            files=task.files,
            model=task.model,
            defer_cleanup=True,
        )
        flight = self._follow(Flight(task.id, attempt, url))
        log.info("following task %s again (run %s, session %s)", task.id, run.id, run.session_id)
        await self._launch(f"resumption of task {task.id}", self._go, flight)
        return 1

    async def _leave_workspace(self, task: Task, run: Run) -> None:
        """The worktree of an attempt that settled just before a crash, if it is still here."""
        try:
            runner = await off_loop(self.runners.get, run.runner)
        except SwitchboardError:
            return  # the runner is gone; the next sweep takes the worktree
        workspace = TaskWorkspace.wanted(self.workspaces, task, runner)
        if workspace is not None and await workspace.enter(resumed=True) and workspace.workspace is not None:
            url = run.server_url or self.pool.urls[0]
            await workspace.leave(ok=run.ok, client=self.pool.client(url))

    # -- following -----------------------------------------------------------------

    async def _check_flights(self) -> None:
        """Check the flights that are due, each in the background of the running loop: one
        that settles (reading its answer, recording, reporting) holds up no other, and its
        runner's next task starts at the next pulse, which it wakes."""
        now = time.time()
        due = [
            f
            for f in self.flights.values()
            if f.attempt.follower is not None and not f.checking and (f.next_check <= now or f.attempt.done)
        ]
        for flight in due:
            flight.checking = True
            await self._launch(f"check of task {flight.task_id}", self._check_once, flight)

    async def _check_once(self, flight: Flight) -> None:
        self._checks += 1
        try:
            finished = await self._check(flight)
        finally:
            flight.checking = False
            self._checks -= 1
        if finished:
            self._finished += finished
            self._wake.set()

    async def _check(self, flight: Flight) -> int:
        task = await off_loop(self.tasks.get, flight.task_id)
        if task.status.value != "running" or task.owner != self.owner:
            if task.status.value == "cancelled":
                await flight.attempt.abort(task.error or "cancelled")
                await self._clean_up(flight)
            self._drop(flight.task_id)
            return 1
        try:
            if not await flight.attempt.check():
                self.pool.mark_up(flight.url)
                flight.next_check = time.time() + CHECK_EVERY
                return 0
            outcome = await flight.attempt.settle()
        except SessionNotFound:
            return await self._failed(flight, f"session {flight.attempt.session_id} vanished from {flight.url}")
        except ServerDown as exc:
            return await self._failed(flight, f"server down: {exc}", server_down=True)
        return await self._settled(flight, outcome)

    async def _failed(self, flight: Flight, error: str, *, server_down: bool = False) -> int:
        """A failed attempt that produced no answer: retried at once if its server is
        down (the managed server is restarted), else after the usual backoff."""
        outcome = await flight.attempt.fail(error, server_down=server_down)
        settled = await self._settled(flight, outcome)
        if server_down:
            await self._server_down(flight.url)
        return settled

    async def _settled(self, flight: Flight, outcome: Outcome) -> int:
        self._drop(flight.task_id)
        await self._settle_task(flight.task_id, outcome)
        await self._clean_up(flight)
        return 1

    async def _clean_up(self, flight: Flight) -> None:
        """Delete the attempt's session in the background: the runner is free already."""
        if flight.attempt.defer_cleanup:
            await self._launch(f"session clean-up of task {flight.task_id}", flight.attempt.cleanup)

    async def _settle_task(self, task_id: int, outcome: Outcome) -> None:
        """The task's fate from its attempt's outcome; no other run of it stays `running`."""
        run = outcome.run
        if run.ok:
            task = await off_loop(self.tasks.complete, task_id, self.owner, run.answer or "")
            log.info("task %s done by %s in %.0fs", task_id, run.runner, run.duration_seconds or 0)
        else:
            task = await off_loop(
                self.tasks.fail,
                task_id,
                self.owner,
                run.error or "failed",
                retry_in=1.0 if outcome.server_down else None,
            )
            log.warning("task %s attempt failed: %s", task_id, run.error)
        await off_loop(self.runners.close_task_runs, task_id, run.id, f"superseded by run {run.id}")
        await self._remember(run.runner, task, run)
        if task is not None and task.notify and task.status.finished:
            await self._notify(task, run)

    async def _notify(self, task: Task, run: Run) -> None:
        """Mail the task's final report to whom it names (a cron job's `--notify`)."""
        try:
            await off_loop(self.runners.mailbox.send, task.notify, "status_report", report_text(run), sender=run.runner)
        except SwitchboardError as exc:
            log.warning("report of task %s not mailed to %s: %s", task.id, task.notify, exc)

    async def _server_down(self, url: str) -> None:
        """A server failed: quarantine it, or bring the managed server back and move the
        attempts that ran on it there."""
        self.pool.mark_down(url)
        if not self.pool.is_managed(url):
            return
        new_url = await self.pool.restart(url)
        if new_url is None or new_url == url:
            return
        await self._launch(f"events of {new_url}", self._watch_supervised, new_url)
        await self._launch(f"session clean-up on {new_url}", self._prune, new_url)
        for flight in [f for f in self.flights.values() if f.url == url]:
            flight.url = new_url  # now: a second report of the same death finds nothing left to move
            await self._launch(f"move of task {flight.task_id}", self._move, flight, new_url)

    async def _move(self, flight: Flight, url: str) -> None:
        """Go on with an attempt on the restarted managed server (which has its sessions):
        what had not reached the session is sent now; a turn that died with the server
        fails the attempt, to be retried at once."""
        attempt = flight.attempt  # counted on the new URL by the pool already
        await attempt.move(self.pool.client(url, attempt.runner.workdir))
        try:
            sent = await attempt.start()
            alive = sent or await attempt.answered()
        except OpenCodeError as exc:
            await self._failed(flight, f"could not go on at {url}: {exc}", server_down=isinstance(exc, ServerDown))
            return
        if not alive:
            await self._settled(
                flight, await attempt.fail(f"the OpenCode server died mid-turn; retried on {url}", server_down=True)
            )
            return
        flight.next_check = time.time() + IDLE_GRACE if sent else 0.0
        self._wake.set()

    async def _prune_now_and_then(self) -> None:
        while True:
            for url in self.pool.urls:
                await guarded(f"session clean-up on {url}", self._prune, url)
            await anyio.sleep(PRUNE_EVERY)

    async def _prune(self, url: str) -> None:
        """Delete the sessions attempts left on a server (the coordinator or the server died
        before their clean-up)."""
        pruned = await self.runners.prune_sessions(self.pool.client(url))
        if pruned:
            log.info("deleted %d session(s) left on %s", len(pruned), url)

    async def _retain_now_and_then(self) -> None:
        """What `sb db prune` does, at start and then hourly, so that a long-running
        coordinator's logs, outcome memories and mail do not grow without end."""
        while True:
            await guarded("retention", self._retain)
            await anyio.sleep(RETAIN_EVERY)

    async def _retain(self) -> None:
        report = await off_loop(Retention(self.store, self.settings).prune)
        mail = sum(report.mail.values())
        if report.run_logs or report.memories or mail:
            log.info(
                "retention: removed %d run log(s), %d outcome memories and %d message(s) older than %g days",
                report.run_logs,
                report.memories,
                mail,
                self.settings.retention_days,
            )

    async def _remember(self, runner: str, task: Task | None, run: Run) -> None:
        """A short memory of a task's final outcome in the namespace of the runner that did
        it, tagged with who dispatched it (`dispatcher:alice`): mail asking for work is not
        the runner's own word. Redacted whatever the runner's setting: memory is fed back
        into sessions, and the guard refuses secrets."""
        if not self.remember or task is None or not task.status.finished:
            return
        outcome = (run.answer if run.ok else run.error) or ""
        content = (
            f"Task #{task.id} ({task.status.value}): {redact(task.prompt)[:300]}\nOutcome: {redact(outcome)[:500]}"
        )
        try:
            dispatcher = await off_loop(self._dispatcher, task)
            await off_loop(self._store_memory, runner, content, run.ok, task.id, dispatcher)
        except SwitchboardError as exc:  # e.g. the answer held something that looks like a secret
            log.warning("outcome of task %s not remembered: %s", task.id, exc)

    def _dispatcher(self, task: Task) -> str:
        """Who asked for a task: the sender of the mail that dispatched it, else its source."""
        message_id = _reply_to(task)
        if message_id is None:
            return task.source
        try:
            return self.mailbox.get(message_id).from_agent
        except NotFound:  # the mail was pruned meanwhile
            return "mail"

    def _store_memory(self, namespace: str, content: str, ok: bool, task_id: int, dispatcher: str) -> None:
        if self._memory is None:
            from switchboard.memory import Memory

            self._memory = Memory(self.store, self.settings)
        self._memory.store(
            content,
            namespace=namespace,
            type="SUCCESS_PATTERN" if ok else "FAILURE_PATTERN",
            tags=["task", "outcome", f"dispatcher:{dispatcher}"[:40]],
            source=f"task-{task_id}",
            confidence="medium",
        )

    # -- events ----------------------------------------------------------------------

    async def _watch_supervised(self, url: str) -> None:
        if url in self._watched:
            return
        self._watched.add(url)
        try:
            await supervise(f"event reader of {url}", self._watch, url)
        finally:
            self._watched.discard(url)

    async def _watch(self, url: str) -> None:
        """Follow one server's events while it is in the pool; a server whose stream
        cannot be reopened counts as down."""
        while url in self.pool.endpoints:
            client = self.pool.client(url)
            try:
                async with client.events(all_directories=True, give_up_after=STREAM_GIVES_UP) as stream:
                    async for event in stream:
                        await self.dispatch(client, event)
            except OpenCodeError as exc:
                log.warning("event stream of %s: %s", url, exc)
                self._check_all_on(url)
                await self._server_down(url)
                await anyio.sleep(2.0)

    async def dispatch(self, client: OpenCodeClient, event: Event) -> None:
        """Give one event to the attempt whose session it is about. An event that makes
        this fail is logged with the error and dropped: the reader goes on, and the
        periodic check covers the session."""
        try:
            await self._on_event(client, event)
        except (SwitchboardError, OSError) as exc:  # the environment's fault: one line, now and then
            notice.fault("event handling", str(exc))
        except Exception:  # noqa: BLE001
            log.exception("event not handled: %s", json.dumps(event.to_dict(), default=str)[:500])

    async def _on_event(self, client: OpenCodeClient, event: Event) -> None:
        if event.type in (Event.RECONNECTED, Event.DISCONNECTED):
            self._check_all_on(client.url)  # events may have been lost meanwhile
            if event.type == Event.DISCONNECTED and self.pool.is_managed(client.url):
                await self._launch(f"health check of {client.url}", self._probe, client)
            return
        session_id = event.session_id
        flight = next((f for f in self.flights.values() if session_id and f.attempt.session_id == session_id), None)
        if flight is None:
            return
        await flight.attempt.handle(event)
        if flight.attempt.done or event.type in ("session.idle", "session.error"):
            flight.next_check = 0.0
            self._wake.set()

    async def _probe(self, client: OpenCodeClient) -> None:
        """Restart the managed server now if it died, rather than at the next attempt's check."""
        try:
            await client.health()
        except ServerDown:
            await self._server_down(client.url)

    def _check_all_on(self, url: str) -> None:
        for flight in self.flights.values():
            if flight.url == url:
                flight.next_check = 0.0
        self._wake.set()

    # -- running -----------------------------------------------------------------------

    async def run(self, stop: anyio.Event, grace: float = SHUTDOWN_GRACE) -> None:
        """Pulse until `stop` is set; then take no new work, let the work in flight finish
        within `grace` seconds, and put the rest back in the queue. A database that is gone
        (`DatabaseGone`) stops it at once, with that error."""
        await sweep(self.workspaces)  # worktrees a killed coordinator left on this host
        gone: DatabaseGone | None = None
        async with anyio.create_task_group() as group:
            self._group = group
            for url in self.pool.urls:
                group.start_soon(self._watch_supervised, url)
            group.start_soon(supervise, "session clean-up", self._prune_now_and_then)
            group.start_soon(supervise, "wake-up listener", self._wake_on_new_tasks, stop)
            group.start_soon(supervise, "lease keeper", self._keep_leases)
            if self.settings.auto_prune:
                group.start_soon(supervise, "retention", self._retain_now_and_then)
            try:
                while not stop.is_set():
                    await self._pulse_logged()
                    await self._sleep(self._backoff())
            except DatabaseGone as exc:
                gone = exc  # what runs now cannot be recorded anywhere: stop at once
                stop.set()  # the wake-up listener's thread watches it: it must end too
                group.cancel_scope.cancel()
            if gone is None:
                await self._wind_down(grace)
                group.cancel_scope.cancel()
        self._group = None
        await self.pool.aclose()
        if gone is not None:
            raise gone

    async def _wind_down(self, grace: float) -> None:
        """Take no new work, let the work in flight finish within `grace`, requeue the rest."""
        self.accepting = False
        log.info("stopping: %d task(s) in flight, grace %.0fs", len(self.flights), grace)
        with anyio.move_on_after(grace):
            while self.flights:
                await self._pulse_logged()
                await self._sleep()
        await self._give_back()

    async def _pulse_logged(self) -> None:
        try:
            report = await self.pulse()
            if any(report.to_dict().values()):
                log.debug("pulse %s", json.dumps(report.to_dict()))
        except DatabaseGone as exc:
            log.error("stopping: %s", exc)
            raise
        except (SwitchboardError, OSError) as exc:  # e.g. a read-only filesystem: wait for it
            self._failed_pulses += 1
            notice.fault("pulse", str(exc))
            return
        except Exception:  # a bug must not stop the loop: the work in flight goes on
            log.exception("pulse failed")
        self._failed_pulses = 0
        notice.over("pulse")

    def _backoff(self) -> float:
        """The pause before the next pulse: the tick, doubled for each failed pulse in a row."""
        pause: float = min(self.tick * 2**self._failed_pulses, max(MAX_PULSE_BACKOFF, self.tick))
        return pause

    async def _keep_leases(self) -> None:
        """Renew this coordinator's leases a few times per lease, however long a pulse takes."""
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                await off_loop(self.tasks.renew, self.owner, self.lease)
                notice.over("lease renewal")
            except (SwitchboardError, OSError) as exc:
                notice.fault("lease renewal", str(exc))

    async def _sleep(self, seconds: float | None = None) -> None:
        with anyio.move_on_after(self.tick if seconds is None else seconds):
            await self._wake.wait()
        self._wake = anyio.Event()

    async def _wake_on_new_tasks(self, stop: anyio.Event) -> None:
        """A task added (or mail sent to the coordinator) in any process wakes the loop."""

        def wait_for_news() -> None:
            with self.store.listen(CHANNEL, COORDINATOR) as waiter:
                while not stop.is_set() and not waiter.wait(1.0):
                    pass

        while not stop.is_set():
            await anyio.to_thread.run_sync(wait_for_news, abandon_on_cancel=True)
            self._wake.set()

    async def _give_back(self) -> None:
        """Abort what is still running and requeue it, without counting the attempt, once
        the checks under way have ended: a flight that is settling is not to be aborted, and
        one dropped already may still be recording its outcome (memory, report, notice)."""
        with anyio.move_on_after(CHECKS_AT_SHUTDOWN):
            while self._checks:
                await anyio.sleep(0.05)
        for flight in list(self.flights.values()):
            await flight.attempt.abort("coordinator stopped; task requeued")
            await flight.attempt.cleanup()  # now: the loop's background is closing
            await off_loop(self.tasks.release, flight.task_id, self.owner)
            self._drop(flight.task_id)
            log.info("task %s requeued at shutdown", flight.task_id)


def _reply_to(task: Task) -> int | None:
    """The mail that dispatched the task, which its report answers."""
    ref = task.source_ref
    return int(ref) if task.source == "mail" and ref is not None and ref.isdigit() else None


def for_task(runner: Runner, task: Task) -> Runner:
    """The runner as the task runs it: in the task's own workdir, if it names one."""
    return replace(runner, workdir=task.workdir) if task.workdir else runner
