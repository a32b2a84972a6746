"""Request bodies of the HTTP API, as SQLModel models: they validate what clients send
(strict types, no unknown fields) and describe it in the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig  # type: ignore[attr-defined]  # sqlmodel re-exports it without __all__
from starlette.requests import Request

from switchboard.errors import InvalidInput
from switchboard.web.errors import UnsupportedMedia

Body = TypeVar("Body", bound="Strict")


class Strict(SQLModel):
    model_config = SQLModelConfig(extra="forbid", strict=True)


class TaskIn(Strict):
    """A task to queue (as `switchboard task add`)."""

    prompt: str = Field(description="What to do.")
    runner: str | None = Field(default=None, description="Run it on this runner.")
    role: str | None = Field(default=None, description="Run it on any runner with this role.")
    after: list[int] = Field(default_factory=list, description="Ids of tasks that must finish first.")
    priority: str = Field(default="normal", description="urgent, high, normal or low.")
    convoy: str | None = Field(default=None, description="Group tasks under a name.")
    max_attempts: int | None = Field(default=None, description="Attempts before it is dead.")
    timeout: float | None = Field(default=None, description="Seconds an attempt may take.")


class MailIn(Strict):
    """A message to send (as `switchboard mail send`)."""

    to: str
    type: str = Field(description="task_dispatch, status_report, discovery, request or broadcast.")
    payload: str
    sender: str | None = None
    priority: str = "normal"
    convoy: str | None = None
    reply_to: int | None = None


class MemoryIn(Strict):
    """A memory to keep (as `switchboard memory store`)."""

    content: str
    namespace: str | None = None
    type: str = "WORKING_SOLUTION"
    tags: list[str] = Field(default_factory=list)
    confidence: str = "medium"
    ttl_days: float | None = None
    source: str | None = None


class DispatchIn(Strict):
    """A signed dispatch request's JSON form (the Slack form carries `text=RUNNER PROMPT`)."""

    prompt: str
    runner: str | None = None
    role: str | None = None
    priority: str = "normal"
    convoy: str | None = None


SCHEMAS: list[type[Strict]] = [TaskIn, MailIn, MemoryIn, DispatchIn]


def parse(model: type[Body], raw: bytes) -> Body:
    """A JSON body as `model`, or one clear error naming every wrong field."""
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise InvalidInput("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"invalid {model.__name__.removesuffix('In').lower()}: {problems}") from None


async def json_body(request: Request, model: type[Body]) -> Body:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise UnsupportedMedia("send the body as application/json")
    return parse(model, await request.body())
