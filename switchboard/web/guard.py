"""Who may do what, checked before any endpoint runs (plain ASGI, so it is cheap):

- a body over the limit is refused with 413 before it is read whole;
- `POST /hooks/dispatch` brings its own proof (an HMAC signature), and `POST /login`
  trades a token for the dashboard's cookie;
- every other request needs a live token (`Authorization: Bearer`, or the dashboard's
  cookie): `read` for GET, `write` for the rest. With `--no-auth`, requests from a
  loopback address need none. Anything else gets 401.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import anyio
from starlette.datastructures import Headers

from switchboard.web.errors import Forbidden, HttpError, TooLarge, Unauthorized, from_exception
from switchboard.web.tokens import Scope, Tokens

COOKIE = "sb_token"
SELF_AUTHENTICATED = {("POST", "/hooks/dispatch"), ("POST", "/login")}


def loopback(client: tuple[str, int] | None) -> bool:
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class Guard:
    def __init__(self, app: Any, tokens: Tokens, *, no_auth: bool, max_body: int, login_page: Any) -> None:
        self.app = app
        self.tokens = tokens
        self.no_auth = no_auth
        self.max_body = max_body
        self.login_page = login_page

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            self._check_size(headers)
            if (scope["method"], scope["path"]) not in SELF_AUTHENTICATED:
                await self._check_access(scope, headers)
        except HttpError as exc:
            response = self.login_page(exc) if _wants_html(scope, headers, exc) else from_exception(exc)
            await response(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _check_size(self, headers: Headers) -> None:
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            raise TooLarge(f"the body is over the limit of {self.max_body} bytes")

    async def _check_access(self, scope: dict[str, Any], headers: Headers) -> None:
        auth = headers.get("authorization")
        cookie = _cookie(headers.get("cookie", ""))
        secret = auth.removeprefix("Bearer ").strip() if auth and auth.startswith("Bearer ") else None
        if auth is not None and secret is None:
            raise Unauthorized("use 'Authorization: Bearer TOKEN'")
        secret = secret or cookie
        if secret is None:
            if self.no_auth and loopback(scope.get("client")):
                return
            raise Unauthorized(
                "a token is needed: 'Authorization: Bearer TOKEN' (see `switchboard serve token create`)"
            )
        token = await anyio.to_thread.run_sync(self.tokens.check, secret)
        if token is None:
            raise Unauthorized("invalid or revoked token")
        needed = Scope.READ if scope["method"] in ("GET", "HEAD") else Scope.WRITE
        if not token.allows(needed):
            raise Forbidden(f"token {token.id} has scope {token.scope.value}: this needs write")
        if auth is None and headers.get("sec-fetch-site") in ("cross-site", "same-site") and needed is Scope.WRITE:
            raise Forbidden("cross-site requests may not use the dashboard's cookie")

    def _limited(self, receive: Any) -> Any:
        seen = 0
        limit = self.max_body

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(f"the body is over the limit of {limit} bytes")
            return message

        return counted


def _cookie(header: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def _wants_html(scope: dict[str, Any], headers: Headers, exc: HttpError) -> bool:
    """A browser opening the dashboard without a token gets the token form (still a 401)."""
    return (
        isinstance(exc, Unauthorized)
        and scope["method"] == "GET"
        and scope["path"] == "/"
        and "text/html" in headers.get("accept", "")
    )
