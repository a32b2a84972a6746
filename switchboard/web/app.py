"""The ASGI application: routes, the guard in front of them, and the event watcher
that runs for the server's life."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from switchboard.config import Settings
from switchboard.hooks.service import Hooks
from switchboard.store import Store, open_store
from switchboard.web import dashboard, openapi
from switchboard.web.api import ENDPOINTS, Api
from switchboard.web.dispatch import Dispatch
from switchboard.web.errors import HANDLERS, HttpError
from switchboard.web.feed import Feed
from switchboard.web.guard import COOKIE, Guard
from switchboard.web.tokens import Tokens

log = logging.getLogger("switchboard.web")

BODY_OVERHEAD = 64 * 1024  # JSON framing around the largest payload a setting allows


def create_app(
    settings: Settings, *, no_auth: bool = False, dispatch_secret: str | None = None, store: Store | None = None
) -> Guard:
    store = store or open_store(settings)
    api = Api(store, settings)
    tokens = Tokens(store)
    feed = Feed(store)

    async def home(request: Request) -> Response:
        return dashboard.html(await anyio.to_thread.run_sync(dashboard.render, api))

    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(errors="replace"))
        secret = (form.get("token") or [""])[0].strip()
        token = await anyio.to_thread.run_sync(tokens.check, secret) if secret else None
        if token is None:
            return dashboard.html(dashboard.login_page("That token is not valid (or was revoked)."), 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, secret, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response

    async def events(request: Request) -> Response:
        return StreamingResponse(
            feed.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def spec(request: Request) -> Response:
        return JSONResponse(openapi.document())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            group.start_soon(_supervised, feed.run)
            yield
            group.cancel_scope.cancel()

    routes = [Route(e.path, api.handler(e.name), methods=[e.method]) for e in ENDPOINTS] + [
        Route("/", home, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/events", events, methods=["GET"]),
        Route("/openapi.json", spec, methods=["GET"]),
        Route("/hooks/dispatch", Dispatch(Hooks(store, settings), dispatch_secret).handle, methods=["POST"]),
        Mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers=HANDLERS, lifespan=lifespan)
    return Guard(
        app, tokens, no_auth=no_auth, max_body=settings.max_payload_bytes + BODY_OVERHEAD, login_page=_login_response
    )


def _login_response(exc: HttpError) -> Response:
    return dashboard.html(dashboard.login_page(str(exc)), exc.status)


async def _supervised(run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background task going: a crash is logged and the task starts again."""
    while True:
        try:
            await run()
        except Exception:  # noqa: BLE001 - one bad event must not end the stream for good
            log.exception("background task %s failed; restarting", getattr(run, "__qualname__", run))
        await anyio.sleep(1.0)
