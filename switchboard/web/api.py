"""The JSON endpoints: each one is a call into a part's Python API, run off the event
loop, with its arguments checked here (the services check the values themselves)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from switchboard.config import Settings
from switchboard.coordinator import view
from switchboard.coordinator.tasks import Tasks
from switchboard.errors import InvalidInput
from switchboard.runners.service import Runners
from switchboard.store import Store
from switchboard.web.schemas import MailIn, MemoryIn, Strict, TaskIn, json_body
from switchboard.workspaces import Workspaces

MAX_WAIT_SECONDS = 300.0
MAX_LIMIT = 1000
WAITERS = 32  # `GET /tasks/wait` calls blocked at once; more queue, and other calls keep their threads


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # an OpenAPI type: integer, number, string, boolean
    about: str


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    name: str
    summary: str
    body: type[Strict] | None
    params: tuple[Param, ...]


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str, path: str, *, body: type[Strict] | None = None, params: tuple[Param, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        ENDPOINTS.append(Endpoint(method, path, fn.__name__, (fn.__doc__ or "").strip(), body, params))
        return fn

    return register


LIMIT = Param("limit", "integer", f"At most this many (1-{MAX_LIMIT}).")


def query_int(
    request: Request, name: str, default: int | None = None, low: int = 1, high: int = MAX_LIMIT
) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


def query_float(request: Request, name: str, default: float, high: float) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= high:
        raise InvalidInput(f"{name} must be a number of seconds from 0 to {high:g}, got {text!r}")
    return value


def query_bool(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise InvalidInput(f"{name} must be true or false, got {text!r}")
    return text in ("true", "1")


def path_id(request: Request, name: str) -> int:
    value: int = request.path_params[name]  # the route's int convertor let only digits through
    if not 1 <= value < 2**63:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a positive id, got {value}")
    return value


def ids(text: str | None) -> list[int]:
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not all(p.isdigit() and 0 < int(p) < 2**63 for p in parts):
        raise InvalidInput(f"ids must be task ids separated by commas, got {text!r}")
    return [int(p) for p in parts]


class Api:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.settings = settings
        self.tasks = Tasks(store, settings)
        self.runners = Runners(store, settings)
        self.mailbox = self.runners.mailbox
        self.workspaces = Workspaces(store, settings)
        self._memory: Any = None
        self._waiters = anyio.CapacityLimiter(WAITERS)

    @staticmethod
    async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    def handler(self, name: str) -> Callable[[Request], Awaitable[Response]]:
        method: Callable[[Request], Awaitable[Response]] = getattr(self, name)
        return method

    # -- tasks -------------------------------------------------------------------

    @endpoint(
        "GET",
        "/tasks",
        params=(
            Param("status", "string", "queued, running, done, dead or cancelled."),
            Param("convoy", "string", "Only this convoy's tasks."),
            LIMIT,
        ),
    )
    async def list_tasks(self, request: Request) -> Response:
        """List tasks, newest first."""
        tasks = await self.call(
            self.tasks.list,
            status=request.query_params.get("status"),
            convoy=request.query_params.get("convoy"),
            limit=query_int(request, "limit", 100),
        )
        return JSONResponse([t.to_dict() for t in tasks])

    @endpoint("POST", "/tasks", body=TaskIn)
    async def add_task(self, request: Request) -> Response:
        """Queue a task."""
        spec = await json_body(request, TaskIn)
        task = await self.call(self.tasks.add, source="http", **spec.model_dump())
        return JSONResponse(await self.call(self.workspaces.task_record, task), status_code=201)

    @endpoint(
        "GET",
        "/tasks/wait",
        params=(
            Param("ids", "string", "Task ids separated by commas."),
            Param("convoy", "string", "A convoy's tasks."),
            Param("timeout", "number", f"Seconds to wait at most (default 30, at most {MAX_WAIT_SECONDS:g})."),
        ),
    )
    async def wait_tasks(self, request: Request) -> Response:
        """Wait until tasks (or a convoy) finish, as `task wait --json`: `finished` is false on timeout."""
        timeout = query_float(request, "timeout", 30.0, MAX_WAIT_SECONDS)
        tasks, finished = await anyio.to_thread.run_sync(
            partial(
                self.tasks.wait,
                ids(request.query_params.get("ids")),
                convoy=request.query_params.get("convoy"),
                timeout=timeout,
            ),
            limiter=self._waiters,
        )
        return JSONResponse({"finished": finished, "tasks": [t.to_dict() for t in tasks]})

    @endpoint("GET", "/tasks/{task_id:int}")
    async def show_task(self, request: Request) -> Response:
        """A task, its result or its error."""
        task = await self.call(self.tasks.get, path_id(request, "task_id"))
        return JSONResponse(await self.call(self.workspaces.task_record, task))

    @endpoint("POST", "/tasks/{task_id:int}/cancel")
    async def cancel_task(self, request: Request) -> Response:
        """Cancel a queued or running task; tasks after it die too."""
        return JSONResponse((await self.call(self.tasks.cancel, path_id(request, "task_id"))).to_dict())

    @endpoint("POST", "/tasks/{task_id:int}/retry")
    async def retry_task(self, request: Request) -> Response:
        """Requeue a finished task with fresh attempts."""
        return JSONResponse((await self.call(self.tasks.retry, path_id(request, "task_id"))).to_dict())

    # -- runners -------------------------------------------------------------------

    @endpoint("GET", "/runners")
    async def list_runners(self, request: Request) -> Response:
        """Runners, how many runs each has made, and the last one."""
        listed = await self.call(self.runners.list)
        return JSONResponse(
            [{**r.to_dict(), "runs": n, "last_run": last.to_dict() if last else None} for r, n, last in listed]
        )

    @endpoint("GET", "/runners/{name}")
    async def show_runner(self, request: Request) -> Response:
        """A runner's configuration and instructions."""
        return JSONResponse((await self.call(self.runners.get, request.path_params["name"])).to_dict())

    @endpoint("GET", "/runners/{name}/runs", params=(LIMIT,))
    async def runner_runs(self, request: Request) -> Response:
        """A runner's runs, newest first."""
        runs = await self.call(self.runners.runs, request.path_params["name"], limit=query_int(request, "limit", 20))
        return JSONResponse([r.to_dict() for r in runs])

    @endpoint(
        "GET",
        "/runners/{name}/logs",
        params=(
            Param("run", "integer", "A given run [the latest]."),
            Param("tail", "integer", "Only the last N lines."),
        ),
    )
    async def runner_logs(self, request: Request) -> Response:
        """The log of a runner's latest (or given) run."""
        name = request.path_params["name"]
        await self.call(self.runners.get, name)  # a bad name is refused before any path is made of it
        run, _, lines = await self.call(
            self.runners.log, name, query_int(request, "run", high=2**62), query_int(request, "tail", high=100_000)
        )
        return JSONResponse({"run": run.to_dict(), "lines": lines})

    @endpoint("GET", "/runs/{run_id:int}")
    async def show_run(self, request: Request) -> Response:
        """One run: its session, answer or error, duration, tokens and cost."""
        return JSONResponse((await self.call(self.runners.get_run, path_id(request, "run_id"))).to_dict())

    # -- mail ------------------------------------------------------------------------

    @endpoint("POST", "/mail", body=MailIn)
    async def send_mail(self, request: Request) -> Response:
        """Send a message; returns the messages written (one per recipient)."""
        spec = await json_body(request, MailIn)
        sent = await self.call(
            self.mailbox.send,
            spec.to,
            spec.type,
            spec.payload,
            sender=spec.sender,
            priority=spec.priority,
            convoy=spec.convoy,
            reply_to=spec.reply_to,
        )
        return JSONResponse([m.to_dict() for m in sent], status_code=201)

    @endpoint(
        "GET",
        "/mail",
        params=(
            Param("agent", "string", "Whose messages [everyone's]."),
            Param("unread", "boolean", "Only unread ones."),
            Param("type", "string", "Only this type."),
            LIMIT,
        ),
    )
    async def check_mail(self, request: Request) -> Response:
        """An agent's messages, most urgent, then oldest, first (nothing is marked read)."""
        messages = await self.call(
            self.mailbox.check,
            request.query_params.get("agent"),
            unread_only=query_bool(request, "unread"),
            type=request.query_params.get("type"),
            limit=query_int(request, "limit", 100),
        )
        return JSONResponse([m.to_dict() for m in messages])

    @endpoint("GET", "/mail/{message_id:int}")
    async def show_mail(self, request: Request) -> Response:
        """One message (not marked read)."""
        return JSONResponse((await self.call(self.mailbox.get, path_id(request, "message_id"))).to_dict())

    @endpoint("POST", "/mail/{message_id:int}/read")
    async def read_mail(self, request: Request) -> Response:
        """Mark a message read and return it."""
        return JSONResponse((await self.call(self.mailbox.read, path_id(request, "message_id"))).to_dict())

    @endpoint("GET", "/mail/{message_id:int}/thread")
    async def mail_thread(self, request: Request) -> Response:
        """The thread a message belongs to, in order."""
        thread = await self.call(self.mailbox.thread, path_id(request, "message_id"))
        return JSONResponse([m.to_dict() for m in thread])

    # -- memory ----------------------------------------------------------------------

    def memory(self) -> Any:
        if self._memory is None:
            from switchboard.memory import Memory

            self._memory = Memory(self.tasks.store, self.settings)
        return self._memory

    @endpoint(
        "GET",
        "/memory/recall",
        params=(
            Param("query", "string", "What to look for."),
            Param("namespace", "string", "Whose memory [shared]."),
            Param("shared", "boolean", "Also the shared namespace."),
            Param("mode", "string", "hybrid, keyword or semantic."),
            Param("limit", "integer", "At most this many (1-100)."),
        ),
    )
    async def recall(self, request: Request) -> Response:
        """The memories that best match a query, best first."""
        query = request.query_params.get("query")
        if query is None:
            raise InvalidInput("recall needs ?query=")
        result = await self.call(
            lambda: self.memory().recall(
                query,
                namespace=request.query_params.get("namespace"),
                shared=query_bool(request, "shared"),
                limit=query_int(request, "limit", 5, high=100),
                mode=request.query_params.get("mode", "hybrid"),
            )
        )
        return JSONResponse(result.to_dict())

    @endpoint("POST", "/memory", body=MemoryIn)
    async def store_memory(self, request: Request) -> Response:
        """Keep a memory (content the namespace holds already is merged)."""
        spec = await json_body(request, MemoryIn)
        result = await self.call(lambda: self.memory().store(**spec.model_dump()))
        return JSONResponse(result.to_dict(), status_code=201)

    # -- the coordinator -----------------------------------------------------------------

    @endpoint("GET", "/coordinator")
    async def coordinator(self, request: Request) -> Response:
        """The coordinator's state, task counts, runners (busy/idle) and the work in flight."""
        return JSONResponse(await self.call(self.snapshot))

    def snapshot(self) -> dict[str, Any]:
        return view.snapshot(self.settings, self.tasks, self.runners)
