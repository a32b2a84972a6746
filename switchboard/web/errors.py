"""Errors as the HTTP API answers them: JSON `{"error": message, "code": kind}` with the
message the CLI would print, and a 4xx status that says whose fault it was."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from switchboard.errors import ConfigError, Conflict, InvalidInput, NotFound, StoreError, SwitchboardError
from switchboard.hooks.signing import BadSignature


class HttpError(SwitchboardError):
    """An error only HTTP has: a missing token, a body too big, a wrong content type."""

    status = 400
    code = "bad_request"


class Unauthorized(HttpError):
    status, code = 401, "unauthorized"


class Forbidden(HttpError):
    status, code = 403, "forbidden"


class TooLarge(HttpError):
    status, code = 413, "too_large"


class UnsupportedMedia(HttpError):
    status, code = 415, "unsupported_media_type"


# Most specific first: the first match decides.
_KINDS: list[tuple[type[SwitchboardError], int, str]] = [
    (BadSignature, 401, "bad_signature"),
    (InvalidInput, 400, "invalid_input"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (StoreError, 503, "store_unavailable"),
    (ConfigError, 500, "config_error"),
    (SwitchboardError, 400, "error"),
]
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


def from_exception(exc: SwitchboardError) -> JSONResponse:
    if isinstance(exc, HttpError):
        return error_json(
            exc.status, exc.code, str(exc), {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        )
    status, code = next((s, c) for kind, s, c in _KINDS if isinstance(exc, kind))
    return error_json(status, code, str(exc))


async def on_switchboard_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SwitchboardError)
    return from_exception(exc)


async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = {
        404: f"no such endpoint: {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, exc.detail)
    return error_json(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), message)


HANDLERS = {SwitchboardError: on_switchboard_error, HTTPException: on_http_exception}
