"""The event stream: framing, reconnection after a closed or silent stream, the blocking iterator."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest

from switchboard.opencode import Event, OpenCodeClient
from switchboard.opencode.events import parse_sse


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


@pytest.mark.anyio
async def test_sse_framing() -> None:
    stream = _lines(
        ": comment",
        'data: {"id": "evt_1", "type": "server.connected", "properties": {}}',
        "",
        "data: not json",
        "",
        'data: {"type": "session.status",',
        'data: "properties": {"sessionID": "ses_1", "status": {"type": "busy"}}}',
        "",
        "event: ignored",
        "",
        'data: {"directory": "/w", "payload": {"type": "session.idle", "properties": {"sessionID": "ses_2"}}}',
        "",
    )
    events = [e async for e in parse_sse(stream)]
    assert [e.type for e in events] == ["server.connected", "session.status", "session.idle"]
    assert events[0].id == "evt_1"
    assert (events[1].session_id, events[1].status) == ("ses_1", "busy")
    assert (events[2].session_id, events[2].directory) == ("ses_2", "/w")


def test_event_session_id_from_nested_info() -> None:
    event = Event.from_api({"type": "message.part.updated", "properties": {"part": {"sessionID": "ses_9"}}})
    assert event.session_id == "ses_9" and event.status is None


class _Stalling(BaseHTTPRequestHandler):
    """An event stream that says `server.connected` and then goes silent, as dropped streams do."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).connections += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b'data: {"type": "server.connected", "properties": {}}\n\n')
        self.wfile.flush()
        time.sleep(3)


@pytest.fixture
def stalling_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.anyio
async def test_silent_stream_is_reopened(stalling_url: str) -> None:
    _Stalling.connections = 0
    async with OpenCodeClient(stalling_url, password="") as client:
        with anyio.fail_after(5):
            async with client.events(heartbeat_timeout=0.3) as events:
                types = [(await events.__anext__()).type for _ in range(3)]
    assert types == ["server.connected", Event.RECONNECTED, "server.connected"]
    assert _Stalling.connections == 2


def test_blocking_event_iterator(oc) -> None:  # noqa: ANN001
    session = oc.create_session(title="sync events")
    with oc.events() as events:
        events.connect()
        oc.prompt_async(session.id, "say sync")
        for event in events:
            if event.type == "session.idle" and event.session_id == session.id:
                break
    assert oc.last_turn(session.id).text == "sync"
