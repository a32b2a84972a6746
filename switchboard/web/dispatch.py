"""`POST /hooks/dispatch`: a signed request from chat or CI queues a task.

JSON `{"prompt", "runner"?, "role"?, "priority"?, "convoy"?}` answers 201 with the task;
a Slack slash command (`application/x-www-form-urlencoded`, `text=RUNNER PROMPT`,
Slack's signature headers) answers Slack's JSON reply. The signature is checked
before anything else is read; a replay, a stale timestamp or a refused task write nothing.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from switchboard.errors import InvalidInput
from switchboard.hooks.service import Hooks
from switchboard.hooks.signing import verify
from switchboard.web.errors import Unauthorized, UnsupportedMedia
from switchboard.web.schemas import DispatchIn, parse

FORM = "application/x-www-form-urlencoded"


class Dispatch:
    def __init__(self, hooks: Hooks, secret: str | None) -> None:
        self.hooks = hooks
        self.secret = secret

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.secret is None:
            raise Unauthorized("dispatch is not enabled here: the server has no SWITCHBOARD_DISPATCH_SECRET")
        signature = verify(self.secret, request.headers, body)
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        if kind == FORM:
            return await self._slash_command(signature, body)
        if kind != "application/json":
            raise UnsupportedMedia(f"send JSON, or a slash command as {FORM}")
        spec = parse(DispatchIn, body)
        task = await anyio.to_thread.run_sync(lambda: self.hooks.dispatch(signature, **spec.model_dump()))
        return JSONResponse(task.to_dict(), status_code=201)

    async def _slash_command(self, signature: str, body: bytes) -> Response:
        try:
            form = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError):
            raise InvalidInput("the form is not valid") from None
        runner, _, prompt = (form.get("text") or [""])[0].strip().partition(" ")
        if not prompt.strip():
            raise InvalidInput(f"usage: {(form.get('command') or ['/switchboard'])[0]} RUNNER PROMPT")
        task = await anyio.to_thread.run_sync(lambda: self.hooks.dispatch(signature, prompt.strip(), runner=runner))
        return JSONResponse(
            {
                "response_type": "in_channel",
                "text": f"switchboard queued task #{task.id} for {runner}: {task.prompt[:200]}",
            }
        )
