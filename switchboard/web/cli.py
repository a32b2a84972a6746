"""`switchboard serve`: run the HTTP API and dashboard; make and revoke its tokens.

Only the `serve` command itself imports the server (starlette, uvicorn, SQLModel):
the token commands stay as light as the rest of the CLI.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Annotated

import typer

from switchboard.cliopts import JsonFlag, part_app, settings
from switchboard.errors import ConfigError, InvalidInput
from switchboard.output import emit, print_json, print_table
from switchboard.timefmt import iso
from switchboard.web.tokens import Tokens

app = part_app()
token_app = part_app()
app.add_typer(token_app, name="token", help="Bearer tokens for the HTTP API (stored hashed).")

DISPATCH_SECRET_ENV = "SWITCHBOARD_DISPATCH_SECRET"
MIN_SECRET_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.callback(invoke_without_command=True, no_args_is_help=False)
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback must be asked for.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one).", min=0, max=65535)] = 8765,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Let 127.0.0.1 in without a token.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Serve the HTTP API, the live dashboard at / and POST /hooks/dispatch until Ctrl-C.
    Every request needs `Authorization: Bearer TOKEN` (see `serve token create`); with
    --no-auth, requests from 127.0.0.1 need none. Dispatch requests are signed with the
    secret in SWITCHBOARD_DISPATCH_SECRET instead (disabled without it)."""
    if ctx.invoked_subcommand is not None:
        return
    if no_auth and not is_loopback(host):
        raise InvalidInput(f"--no-auth only with a loopback --host, not {host!r}: remote clients need tokens")
    secret = os.environ.get(DISPATCH_SECRET_ENV) or None
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{DISPATCH_SECRET_ENV} needs at least {MIN_SECRET_LENGTH} characters")
    config = settings(ctx)
    sock = _listen(host, port)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}"
    from switchboard.web.server import run  # the server's imports, paid here only

    if as_json:
        print_json(
            {"url": url, "auth": "loopback needs no token" if no_auth else "token", "dispatch": secret is not None}
        )
    else:
        typer.echo(f"switchboard serving {url}  (dashboard: {url}/, API: {url}/openapi.json)")
    run(config, sock, no_auth=no_auth, dispatch_secret=secret)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, or asyncio leaves Nagle on for its connections: +40 ms a response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


@token_app.command()
def create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(help="read (look) or write (also add, cancel, send).")] = "read",
    name: Annotated[str, typer.Option(help="What the token is for, e.g. ci or dashboard.")] = "token",
    as_json: JsonFlag = False,
) -> None:
    """Make a token and print it once (only its hash is kept)."""
    token, secret = Tokens.open(settings(ctx)).create(scope, name)
    if as_json:
        print_json({**token.to_dict(), "token": secret})
    else:
        typer.echo(secret)
        typer.echo(
            f"token {token.id} ({token.scope.value}, {token.name}): send it as "
            "'Authorization: Bearer TOKEN'; it is not shown again",
            err=True,
        )


@token_app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List tokens (never their text)."""
    tokens = Tokens.open(settings(ctx)).list()
    if as_json:
        print_json([t.to_dict() for t in tokens])
        return
    print_table(
        ["id", "name", "scope", "created", "last used", "revoked"],
        [(t.id, t.name, t.scope.value, iso(t.created_at), iso(t.last_used_at), iso(t.revoked_at)) for t in tokens],
        empty="no tokens: make one with `switchboard serve token create`",
    )


@token_app.command()
def revoke(
    ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="Token id.", min=1)], as_json: JsonFlag = False
) -> None:
    """Revoke a token: requests with it get 401 from then on."""
    token = Tokens.open(settings(ctx)).revoke(token_id)
    emit(token, as_json, f"revoked token {token.id}")
