"""The OpenAPI description of the HTTP API, built from the endpoint table and the
SQLModel request schemas, so it cannot drift from what the server does."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from switchboard import __version__
from switchboard.web.api import ENDPOINTS
from switchboard.web.schemas import SCHEMAS

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "code": {"type": "string"}},
    "required": ["error", "code"],
}
_EXTRA = [
    ("GET", "/events", "A text/event-stream of changes: `event: task|run|mail`, the record as JSON data."),
    ("POST", "/hooks/dispatch", "Queue a task from a signed request (HMAC-SHA256; JSON or a Slack slash command)."),
]


@cache
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", e.path)
        operation: dict[str, Any] = {
            "operationId": e.name,
            "summary": e.summary,
            "parameters": [
                {"name": p.name, "in": "query", "description": p.about, "schema": {"type": p.kind}} for p in e.params
            ]
            + [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer" if f"{{{name}:int}}" in e.path else "string"},
                }
                for name in re.findall(r"\{(\w+)", e.path)
            ],
            "responses": {
                "200" if not e.body else "201": {"description": "OK"},
                "4XX": {"description": "Refused", "content": _json({"$ref": "#/components/schemas/Error"})},
            },
        }
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": _json({"$ref": f"#/components/schemas/{e.body.__name__}"}),
            }
        paths.setdefault(path, {})[e.method.lower()] = operation
    for method, path, summary in _EXTRA:
        paths.setdefault(path, {})[method.lower()] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
    schemas = {m.__name__: m.model_json_schema(ref_template="#/components/schemas/{model}") for m in SCHEMAS}
    return {
        "openapi": "3.1.0",
        "info": {"title": "switchboard", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {**schemas, "Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
