"""The coordinator loop: hands ready tasks to idle runners, follows their OpenCode
sessions, collects the answers, and survives its own crash.

All state is in the database. A task being worked on is `running` with an owner
(this coordinator's id, stable across restarts of the same home), a lease the
loop keeps renewing, and the session doing the work. After a crash, the
coordinator (or, once the lease runs out, any other) finds the session again
and follows it: nothing is lost and nothing runs twice at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from switchboard.config import Settings
from switchboard.coordinator.schedules import Schedules
from switchboard.coordinator.servers import ServerPool
from switchboard.coordinator.tasks import CHANNEL, Assignment, Tasks
from switchboard.errors import SwitchboardError
from switchboard.mailbox.models import MessageType
from switchboard.opencode.errors import OpenCodeError, ServerDown, SessionNotFound
from switchboard.opencode.models import Event, Message, Turn
from switchboard.runners.models import Run, Runner
from switchboard.runners.service import COORDINATOR, Runners
from switchboard.store import open_store
from switchboard.workspaces.attempt import AttemptWorkspace
from switchboard.workspaces.service import Workspaces

if TYPE_CHECKING:
    from switchboard.coordinator.models import Task
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.workspaces.models import Workspace

log = logging.getLogger("switchboard.coordinator")

CHECK_EVERY = 5.0  # seconds between checks of a session that sent no idle event
IDLE_GRACE = 5.0  # right after a prompt a session may still read idle
SHUTDOWN_GRACE = 30.0


def default_owner(settings: Settings) -> str:
    """This coordinator's identity: the same after a restart of the same home."""
    digest = hashlib.sha1(str(settings.home).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}:{digest}"


@dataclass
class Flight:
    """A task this coordinator is following."""

    task_id: int
    runner: Runner
    run: Run
    url: str
    session_id: str
    deadline: float
    prompted_at: float | None = None
    next_check: float = 0.0
    retries: int = 0
    answered: bool = field(default=False)
    workspace: Workspace | None = None  # the attempt's worktree (`runner.workdir` is its directory)


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
    def __init__(self, settings: Settings, *, concurrency: int = 4, attach: list[str] | tuple[str, ...] = (),
                 model_limits: dict[str, int] | None = None, lease: float = 30.0, tick: float = 1.0,
                 max_provider_retries: int = 3, owner: str | None = None, remember: bool = True) -> None:
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
        self.pool = ServerPool(settings, attach)
        self.workspaces = AttemptWorkspace(Workspaces(self.store, settings))
        self.flights: dict[int, Flight] = {}
        self.accepting = True
        self._wake = anyio.Event()
        self._memory: Any = None

    # -- one pass ----------------------------------------------------------------

    async def pulse(self) -> PulseReport:
        """One pass: take mail and schedules in, pick up orphaned work, check the
        sessions in flight, and start ready tasks on idle runners."""
        report = PulseReport()
        if self.accepting:
            report.ingested = self.ingest_mail()
            report.fired = len(self.schedules.fire_due())
        report.adopted = await self._adopt()
        report.finished = await self._check_flights()
        if self.accepting:
            report.started = await self._start_ready()
        self.tasks.renew(self.owner, self.lease)
        return report

    def ingest_mail(self) -> int:
        """Turn `task_dispatch` mail addressed to `coordinator` into tasks. The payload is
        the prompt, or JSON `{"prompt", "runner", "role", "priority", "convoy", "after"}`."""
        count = 0
        while (message := self.mailbox.claim(COORDINATOR, type=MessageType.TASK_DISPATCH, lease=60)) is not None:
            try:
                spec = _task_spec(message.payload)
                task = self.tasks.add(spec.pop("prompt"), source="mail", source_ref=str(message.id),
                                      priority=spec.pop("priority", message.priority), **spec)
                log.info("task %s from mail %s (from %s)", task.id, message.id, message.from_agent)
                count += 1
            except SwitchboardError as exc:
                self.mailbox.send(message.from_agent, "status_report", f"task not queued: {exc}",
                                  sender=COORDINATOR, reply_to=message.id)
            self.mailbox.ack(message.id, message.lease_token)
        return count

    # -- starting ----------------------------------------------------------------

    async def _start_ready(self) -> int:
        capacity = self.concurrency - len(self.flights)
        if capacity <= 0 or self.pool.pick() is None:
            return 0
        assignments = self.tasks.claim(self.owner, capacity=capacity, lease=self.lease,
                                       model_limits=self.model_limits)
        async with anyio.create_task_group() as group:
            for assignment in assignments:
                group.start_soon(self._start, assignment)
        return len(assignments)

    async def _start(self, assignment: Assignment) -> None:
        task = assignment.task
        runner = self.runners.get(assignment.runner)
        url = self.pool.pick()
        if url is None:
            self.tasks.release(task.id, self.owner)
            return
        run = self.runners.start_run(runner, task.prompt, task_id=task.id)
        flight = Flight(task.id, runner, run, url, "", deadline=time.time() + assignment.timeout)
        self._follow(flight)
        try:
            flight.runner, flight.workspace = await self.workspaces.prepare(task, runner)
        except SwitchboardError as exc:
            await self._failed(flight, f"no worktree for the attempt: {exc}")
            return
        runner = flight.runner
        client = self.pool.client(url, runner.workdir)
        try:
            flight.session_id = await self.runners.open_session(client, runner, run)
            self.tasks.attach_session(task.id, self.owner, url, flight.session_id, run.id)
            await self._prompt(flight, client, task.prompt)
            log.info("task %s started on %s (session %s at %s)", task.id, runner.name, flight.session_id, url)
        except OpenCodeError as exc:
            await self._failed(flight, f"could not start on {url}: {exc}", server_down=isinstance(exc, ServerDown))

    async def _prompt(self, flight: Flight, client: OpenCodeClient, prompt: str) -> None:
        prepared = await self.runners.prepare(client, flight.runner, flight.session_id, prompt)
        await client.prompt_async(flight.session_id, prepared.prompt, agent=flight.runner.agent,
                                  model=flight.runner.model, system=prepared.system, tools=prepared.tools)
        flight.prompted_at = time.time()
        flight.next_check = time.time() + IDLE_GRACE

    def _follow(self, flight: Flight) -> None:
        self.flights[flight.task_id] = flight
        self.pool.load[flight.url] = self.pool.load.get(flight.url, 0) + 1

    def _drop(self, task_id: int) -> Flight | None:
        flight = self.flights.pop(task_id, None)
        if flight is not None:
            self.pool.load[flight.url] -= 1
        return flight

    # -- after a crash -------------------------------------------------------------

    async def _adopt(self) -> int:
        """Follow again the tasks this coordinator held before a restart, and take over
        those whose coordinator stopped renewing their lease."""
        adopted = 0
        for task in self.tasks.mine(self.owner):
            if task.id not in self.flights:
                adopted += await self._resume(task)
        for task in self.tasks.orphaned():
            if task.id not in self.flights and (taken := self.tasks.adopt(task.id, self.owner, self.lease)):
                log.info("took over task %s from %s", task.id, task.owner)
                adopted += await self._resume(taken)
        return adopted

    async def _resume(self, task: Task) -> int:
        runner = self.runners.get(task.assigned_runner) if task.assigned_runner else None
        run = self.runners.get_run(task.run_id) if task.run_id else None
        if runner is None or run is None or not task.session_id or not task.server_url:
            # The attempt never reached OpenCode: put the task back without counting it.
            if run is not None:
                self.runners.finish(run, error="coordinator restarted before the prompt", status="aborted")
            self.tasks.release(task.id, self.owner)
            return 0
        deadline = (task.deadline_at or time.time())
        runner, workspace = await self.workspaces.resume(task, runner)
        # Prompted already unless the session has no user message: `_check` finds out.
        self._follow(Flight(task.id, runner, run, task.server_url, task.session_id, deadline,
                            prompted_at=task.started_at, workspace=workspace))
        log.info("following task %s again (session %s)", task.id, task.session_id)
        return 1

    # -- following -----------------------------------------------------------------

    async def _check_flights(self) -> int:
        now = time.time()
        due = [f for f in self.flights.values() if f.next_check <= now or f.deadline <= now]
        finished = 0
        statuses: dict[tuple[str, str], dict[str, Any]] = {}
        for flight in due:
            finished += await self._check(flight, statuses)
        return finished

    async def _check(self, flight: Flight, statuses: dict[tuple[str, str], dict[str, Any]]) -> int:
        task = self.tasks.get(flight.task_id)
        client = self.pool.client(flight.url, flight.runner.workdir)
        if task.status.value != "running" or task.owner != self.owner:
            if task.status.value == "cancelled":
                await self._abort(client, flight)
                self.runners.finish(flight.run, error=task.error or "cancelled", status="aborted")
                await self._settle_workspace(flight, ok=False)
            self._drop(flight.task_id)
            return 1
        try:
            key = (flight.url, flight.runner.workdir)
            if key not in statuses:
                statuses[key] = await client.status()
            state = statuses[key].get(flight.session_id)
            messages = await client.messages(flight.session_id)
        except SessionNotFound:
            return await self._failed(flight, f"session {flight.session_id} vanished from {flight.url}")
        except ServerDown as exc:
            return await self._failed(flight, f"server down: {exc}", server_down=True)
        self.pool.mark_up(flight.url)
        flight.next_check = time.time() + CHECK_EVERY
        if not any(m.role == "user" for m in messages):
            await self._prompt(flight, client, task.prompt)  # crashed between session and prompt
            return 0
        turn = Turn.after_last_prompt(flight.session_id, messages)
        if state and state.get("type") == "retry":
            flight.retries = int(state.get("attempt") or flight.retries + 1)
            if flight.retries > self.max_provider_retries:
                await self._abort(client, flight)
                return await self._settle(flight, turn, f"provider unavailable after {flight.retries - 1} retries: "
                                                        f"{state.get('message', '')}")
        if state is None:
            if _complete(turn):
                return await self._settle(flight, turn)
            if time.time() - (flight.prompted_at or 0) > IDLE_GRACE:
                return await self._settle(flight, turn, "stalled: the session went idle without an answer")
        if time.time() >= flight.deadline:
            await self._abort(client, flight)
            timeout = flight.deadline - (task.started_at or flight.deadline)
            return await self._settle(flight, turn, f"timed out after {timeout:.0f}s; session aborted")
        return 0

    async def _settle(self, flight: Flight, turn: Turn, error: str | None = None) -> int:
        """Record the answer (or the error) of a finished session."""
        self._drop(flight.task_id)
        run = self.runners.finish(flight.run, turn=turn, error=error)
        await self._settle_workspace(flight, ok=run.ok)  # before a retry can want the branch
        if run.ok:
            task = self.tasks.complete(flight.task_id, self.owner, turn.text)
            log.info("task %s done by %s in %.0fs", flight.task_id, flight.runner.name, run.duration_seconds or 0)
        else:
            task = self.tasks.fail(flight.task_id, self.owner, run.error or "failed")
            log.info("task %s attempt failed: %s", flight.task_id, run.error)
        await self._remember(flight.runner, task, run)
        return 1

    async def _failed(self, flight: Flight, error: str, *, server_down: bool = False) -> int:
        """A failed attempt that produced no answer: retried at once elsewhere if its
        server is down, else after the usual backoff."""
        self._drop(flight.task_id)
        if server_down:
            self.pool.mark_down(flight.url)
        run = self.runners.finish(flight.run, error=error)
        await self._settle_workspace(flight, ok=False)
        task = self.tasks.fail(flight.task_id, self.owner, error, retry_in=1.0 if server_down else None)
        log.warning("task %s attempt failed: %s", flight.task_id, error)
        await self._remember(flight.runner, task, run)
        return 1

    async def _settle_workspace(self, flight: Flight, *, ok: bool) -> None:
        if flight.workspace is None:
            return
        await self.workspaces.settle(flight.workspace, ok=ok, runner=flight.runner.name, prompt=flight.run.prompt,
                                     client=self.pool.client(flight.url, flight.runner.workdir))
        await self.pool.forget(flight.url, flight.runner.workdir)
        flight.workspace = None

    async def _abort(self, client: OpenCodeClient, flight: Flight) -> None:
        try:
            await client.abort(flight.session_id)
        except OpenCodeError as exc:
            log.warning("could not abort session %s: %s", flight.session_id, exc)

    async def _remember(self, runner: Runner, task: Task | None, run: Run) -> None:
        """A short memory of a task's final outcome in the runner's namespace."""
        if not self.remember or task is None or not task.status.finished:
            return
        outcome = (run.answer if run.ok else run.error) or ""
        content = (f"Task #{task.id} ({task.status.value}): {task.prompt[:300]}\n"
                   f"Outcome: {outcome[:500]}")
        try:
            await anyio.to_thread.run_sync(self._store_memory, runner.name, content, run.ok, task.id)
        except SwitchboardError as exc:  # e.g. the answer held something that looks like a secret
            log.warning("outcome of task %s not remembered: %s", task.id, exc)

    def _store_memory(self, namespace: str, content: str, ok: bool, task_id: int) -> None:
        if self._memory is None:
            from switchboard.memory import Memory

            self._memory = Memory(self.store, self.settings)
        self._memory.store(content, namespace=namespace, type="SUCCESS_PATTERN" if ok else "FAILURE_PATTERN",
                           tags=["task", "outcome"], source=f"task-{task_id}", confidence="medium")

    # -- events ----------------------------------------------------------------------

    async def _watch(self, url: str) -> None:
        """Follow one server's events: an idle or failed session is checked at once;
        permission requests and questions, which would hang a headless session, are refused."""
        client = self.pool.client(url)
        while True:
            try:
                async with client.events(all_directories=True, give_up_after=None) as stream:
                    async for event in stream:
                        await self._on_event(client, event)
            except OpenCodeError as exc:
                log.warning("event stream of %s: %s", url, exc)
                self.pool.mark_down(url)
                self._check_all_on(url)
                await anyio.sleep(2.0)

    async def _on_event(self, client: OpenCodeClient, event: Event) -> None:
        if event.type == Event.RECONNECTED:
            self._check_all_on(client.url)  # events may have been lost meanwhile
            return
        flight = next((f for f in self.flights.values() if f.session_id == event.session_id), None)
        if flight is None:
            return
        directory = event.directory or flight.runner.workdir
        if event.type == "permission.asked":
            await client.reply_permission(str(event.properties["id"]), "reject", directory=directory)
        elif event.type == "question.asked":
            await client.reject_question(str(event.properties["id"]), directory=directory)
        elif event.type in ("session.idle", "session.error") or (
                event.type == "session.status" and event.status in ("idle", "retry")):
            flight.next_check = 0.0
            self._wake.set()

    def _check_all_on(self, url: str) -> None:
        for flight in self.flights.values():
            if flight.url == url:
                flight.next_check = 0.0
        self._wake.set()

    # -- running -----------------------------------------------------------------------

    async def run(self, stop: anyio.Event, grace: float = SHUTDOWN_GRACE) -> None:
        """Pulse until `stop` is set; then take no new work, let the work in flight finish
        within `grace` seconds, and put the rest back in the queue."""
        await self.workspaces.sweep()  # worktrees a killed coordinator left on this host
        async with anyio.create_task_group() as group:
            for url in self.pool.urls:
                group.start_soon(self._watch, url)
            group.start_soon(self._wake_on_new_tasks, stop)
            group.start_soon(self._keep_leases)
            while not stop.is_set():
                await self._pulse_logged()
                await self._sleep()
            self.accepting = False
            log.info("stopping: %d task(s) in flight, grace %.0fs", len(self.flights), grace)
            with anyio.move_on_after(grace):
                while self.flights:
                    await self._pulse_logged()
                    await self._sleep()
            await self._give_back()
            group.cancel_scope.cancel()
        await self.pool.aclose()

    async def _pulse_logged(self) -> None:
        try:
            report = await self.pulse()
            if any(report.to_dict().values()):
                log.debug("pulse %s", json.dumps(report.to_dict()))
        except SwitchboardError as exc:
            log.error("pulse failed: %s", exc)
        except Exception:  # a bug must not stop the loop: the work in flight goes on
            log.exception("pulse failed")

    async def _keep_leases(self) -> None:
        """Renew this coordinator's leases a few times per lease, however long a pulse takes."""
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                await anyio.to_thread.run_sync(self.tasks.renew, self.owner, self.lease)
            except SwitchboardError as exc:
                log.error("lease renewal failed: %s", exc)

    async def _sleep(self) -> None:
        with anyio.move_on_after(self.tick):
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
        """Abort what is still running and requeue it, without counting the attempt."""
        for flight in list(self.flights.values()):
            await self._abort(self.pool.client(flight.url, flight.runner.workdir), flight)
            self.runners.finish(flight.run, error="coordinator stopped; task requeued", status="aborted")
            await self._settle_workspace(flight, ok=False)
            self.tasks.release(flight.task_id, self.owner)
            self._drop(flight.task_id)
            log.info("task %s requeued at shutdown", flight.task_id)


def _complete(turn: Turn) -> bool:
    """The turn has an answer: its last assistant message finished (or failed)."""
    if not turn.messages:
        return False
    last: Message = turn.messages[-1]
    return bool(last.error or (last.info.get("time") or {}).get("completed"))


def _task_spec(payload: str) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        return {"prompt": payload}
    if not isinstance(data, dict) or "prompt" not in data:
        return {"prompt": payload}
    allowed = {"prompt", "runner", "role", "priority", "convoy", "after", "max_attempts", "timeout",
               "isolation", "base", "deliver"}
    return {k: v for k, v in data.items() if k in allowed}

