"""Running the app under uvicorn on a socket the CLI has already bound."""

from __future__ import annotations

import logging
import socket

import uvicorn

from switchboard.config import Settings
from switchboard.web.app import create_app

SHUTDOWN_GRACE = 3  # seconds (uvicorn takes an int); event streams never end by themselves: close them after this


def run(settings: Settings, sock: socket.socket, *, no_auth: bool, dispatch_secret: str | None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
    )
    app = create_app(settings, no_auth=no_auth, dispatch_secret=dispatch_secret)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
