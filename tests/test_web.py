"""The HTTP API over a real database: endpoints answer as the CLI does, tokens and
scopes decide who gets in, bad input and signatures are refused with JSON 4xx and
write nothing. The app runs in-process (Starlette's test client speaks ASGI to it);
`test_web_server.py` runs the real `switchboard serve`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.hooks.signing import sign
from switchboard.mailbox import Mailbox
from switchboard.runners import Runners
from switchboard.web.app import create_app
from switchboard.web.tokens import Tokens

SECRET = "dispatch-secret-for-tests-0123456789"
REMOTE = ("203.0.113.7", 40000)
LOCAL = ("127.0.0.1", 40000)


@pytest.fixture
def store(settings: Settings, tmp_path: Path):  # noqa: ANN201
    runners = Runners.open(settings)
    runners.create("reviewer", "reviews", workdir=tmp_path)
    return runners.store


@pytest.fixture
def tokens(store) -> dict[str, str]:  # noqa: ANN001
    made = Tokens(store)
    return {"read": made.create("read", "ci")[1], "write": made.create("write", "dash")[1]}


@pytest.fixture
def serve(settings: Settings, store) -> Iterator:  # noqa: ANN001
    """`serve(client=..., token=..., no_auth=...)`: a client of a fresh app on the test's database."""
    clients: list[TestClient] = []

    def make(client: tuple[str, int] = REMOTE, token: str | None = None, no_auth: bool = False) -> TestClient:
        app = create_app(settings, no_auth=no_auth, dispatch_secret=SECRET, store=store)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        made = TestClient(app, client=client, headers=headers, follow_redirects=False)
        made.__enter__()
        clients.append(made)
        return made

    yield make
    for made in clients:
        made.__exit__(None, None, None)


def written(settings: Settings) -> tuple[int, int]:
    """Tasks and messages in the database."""
    counts = Tasks.open(settings).counts()
    return sum(counts.values()), len(Mailbox.open(settings).check(limit=1000))


def test_endpoints_answer_as_the_cli_does(serve, tokens, cli) -> None:  # noqa: ANN001
    api = serve(token=tokens["write"])
    added = api.post("/tasks", json={"prompt": "review the parser", "runner": "reviewer", "priority": "high"})
    assert added.status_code == 201
    task = added.json()
    assert task == cli.json("task", "show", str(task["id"]))
    assert api.get("/tasks").json() == cli.json("task", "list")
    assert api.get(f"/tasks/{task['id']}/../{task['id']}").json()["id"] == task["id"]
    waited = api.get("/tasks/wait", params={"ids": str(task["id"]), "timeout": "0.2"}).json()
    assert waited["finished"] is False and waited["tasks"][0]["status"] == "queued"
    assert api.post(f"/tasks/{task['id']}/cancel").json()["status"] == "cancelled"
    assert api.get("/tasks/wait", params={"ids": str(task["id"])}).json()["finished"] is True
    assert api.post(f"/tasks/{task['id']}/retry").json()["status"] == "queued"
    conflict = api.post(f"/tasks/{task['id']}/retry")
    assert conflict.status_code == 409
    assert conflict.json()["error"] in cli("task", "retry", str(task["id"]), code=2).stderr

    sent = api.post("/mail", json={"to": "reviewer", "type": "request", "payload": "look at #12", "sender": "alice"})
    assert sent.status_code == 201
    message = sent.json()[0]
    assert api.get("/mail", params={"agent": "reviewer", "unread": "true"}).json() == [message]
    assert api.post(f"/mail/{message['id']}/read").json()["status"] == "read"
    assert [m["id"] for m in api.get(f"/mail/{message['id']}/thread").json()] == [message["id"]]

    runners = api.get("/runners").json()
    assert [r["name"] for r in runners] == ["reviewer"] and runners[0]["runs"] == 0
    assert api.get("/runners/reviewer").json()["role"] == "worker"
    assert api.get("/runners/reviewer/runs").json() == []
    assert api.get("/runners/reviewer/logs").json()["error"] == "runner 'reviewer' has not run yet"
    snap = api.get("/coordinator").json()
    assert snap["coordinator"] is None and snap["tasks"] == {"queued": 1}
    spec = api.get("/openapi.json").json()
    assert spec["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TaskIn"
    }
    assert "prompt" in spec["components"]["schemas"]["TaskIn"]["required"]


# Who may do what: (client, token, no_auth, method, path, status).
ACCESS = [
    (REMOTE, None, False, "GET", "/tasks", 401),
    (REMOTE, None, True, "GET", "/tasks", 401),  # --no-auth never lets a remote client in
    (LOCAL, None, False, "GET", "/tasks", 401),
    (LOCAL, None, True, "GET", "/tasks", 200),
    (LOCAL, None, True, "POST", "/tasks", 201),
    (REMOTE, "read", False, "GET", "/tasks", 200),
    (REMOTE, "read", False, "GET", "/events", 200),
    (REMOTE, "read", False, "POST", "/tasks", 403),
    (REMOTE, "write", False, "POST", "/tasks", 201),
    (REMOTE, "sbt_not-a-real-token", False, "GET", "/tasks", 401),
    (LOCAL, "sbt_not-a-real-token", True, "GET", "/tasks", 401),  # a bad token is bad even from loopback
    (REMOTE, "revoked", False, "GET", "/tasks", 401),
    (REMOTE, None, False, "GET", "/", 401),
    (REMOTE, None, False, "GET", "/openapi.json", 401),
    (REMOTE, None, False, "GET", "/static/dashboard.js", 401),
    (REMOTE, None, False, "GET", "/no/such/path", 401),
    (REMOTE, None, False, "DELETE", "/tasks", 401),
]


@pytest.mark.parametrize("client, token, no_auth, method, path, status", ACCESS)
def test_tokens_and_scopes_decide_who_gets_in(
    serve,
    tokens,
    store,
    settings,
    client,
    token,
    no_auth,  # noqa: ANN001
    method: str,
    path: str,
    status: int,
) -> None:
    if token == "revoked":
        token = tokens["read"]
        Tokens(store).revoke(1)
    api = serve(client=client, token=tokens.get(token, token), no_auth=no_auth)
    before = written(settings)
    kwargs = {"json": {"prompt": "hello"}} if method == "POST" else {}
    if path == "/events" and status == 200:
        with api.stream(method, path) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        return
    response = api.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/json"
        assert response.json()["code"] in ("unauthorized", "forbidden")
        assert written(settings) == before


# Bad input: (method, path, body or None, content type, status, words in the error).
BAD_INPUT = [
    ("POST", "/tasks", b'{"prompt": 5}', "application/json", 400, "prompt: Input should be a valid string"),
    ("POST", "/tasks", b'{"prompt": "x", "max_attempts": "3"}', "application/json", 400, "max_attempts"),
    ("POST", "/tasks", b'{"prompt": "x", "after": "1,2"}', "application/json", 400, "after"),
    ("POST", "/tasks", b'{"prompt": "x", "sneaky": true}', "application/json", 400, "sneaky: Extra inputs"),
    ("POST", "/tasks", b'{"prompt": "x", "runner": "nobody"}', "application/json", 404, "no runner named 'nobody'"),
    ("POST", "/tasks", b'{"prompt": "x", "runner": "../etc"}', "application/json", 400, "invalid runner name"),
    ("POST", "/tasks", b'{"prompt": "   "}', "application/json", 400, "task prompt is empty"),
    ("POST", "/tasks", b'{"prompt": "x", "priority": "asap"}', "application/json", 400, "unknown priority"),
    ("POST", "/tasks", b'{"prompt": "x", "after": [999]}', "application/json", 404, "no task with id 999"),
    ("POST", "/tasks", b'[{"prompt": "x"}]', "application/json", 400, "must be a JSON object"),
    ("POST", "/tasks", b'{"prompt": ', "application/json", 400, "not valid JSON"),
    ("POST", "/tasks", b"prompt=x", "application/x-www-form-urlencoded", 415, "application/json"),
    ("POST", "/tasks", b'{"prompt": "' + b"x" * 1_200_000 + b'"}', "application/json", 413, "over the limit"),
    (
        "POST",
        "/mail",
        b'{"to": "../../x", "type": "request", "payload": "p"}',
        "application/json",
        400,
        "invalid recipient name",
    ),
    ("POST", "/mail", b'{"to": "bob", "type": "gossip", "payload": "p"}', "application/json", 400, "gossip"),
    ("POST", "/mail", b'{"to": "bob", "type": "request"}', "application/json", 400, "payload: Field required"),
    ("GET", "/tasks/0", None, None, 400, "positive id"),
    ("GET", "/tasks/abc", None, None, 404, "no such endpoint"),
    ("GET", "/tasks/..%2F..%2Fetc%2Fpasswd", None, None, 404, "no such endpoint"),
    ("GET", "/tasks/99999999999999999999999", None, None, 400, "positive id"),
    ("GET", "/tasks?status=exploded", None, None, 400, "unknown task status"),
    ("GET", "/tasks?limit=-1", None, None, 400, "limit must be a whole number"),
    ("GET", "/tasks/wait?ids=1;DROP", None, None, 400, "ids must be task ids"),
    ("GET", "/tasks/wait?ids=1&timeout=9999", None, None, 400, "timeout must be"),
    ("GET", "/runners/%2E%2E", None, None, 400, "invalid runner name"),
    ("GET", "/runners/.ssh/logs", None, None, 400, "invalid runner name"),
    ("GET", "/runners/nobody/runs", None, None, 404, "no runner named"),
    ("GET", "/runners/reviewer/logs?run=x", None, None, 400, "run must be a whole number"),
    ("GET", "/mail?agent=a%2F..%2Fb", None, None, 400, "invalid agent name"),
    ("GET", "/memory/recall", None, None, 400, "needs ?query="),
    ("POST", "/tasks/1/cancel", None, None, 404, "no task with id 1"),
    ("PUT", "/tasks", b"{}", "application/json", 405, "PUT is not allowed"),
]


@pytest.mark.parametrize("method, path, body, kind, status, words", BAD_INPUT)
def test_bad_input_is_one_clear_json_error_and_writes_nothing(
    serve,
    tokens,
    settings,
    method: str,
    path: str,  # noqa: ANN001
    body: bytes | None,
    kind: str | None,
    status: int,
    words: str,
) -> None:
    api = serve(token=tokens["write"])
    before = written(settings)
    response = api.request(method, path, content=body, headers={"Content-Type": kind} if kind else {})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert words in response.json()["error"]
    assert written(settings) == before


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None, slack: bool = False) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    if slack:
        import hashlib
        import hmac

        mac = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        return {
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": f"v0={mac}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
    return {
        "X-Switchboard-Timestamp": str(stamp),
        "X-Switchboard-Signature": sign(secret, stamp, body),
        "Content-Type": "application/json",
    }


def test_signed_dispatch_queues_a_task_once(serve, settings) -> None:  # noqa: ANN001
    api = serve()  # no token: the signature is the proof
    body = json.dumps({"prompt": "review PR 12", "runner": "reviewer"}).encode()
    headers = signed(body)
    first = api.post("/hooks/dispatch", content=body, headers=headers)
    assert first.status_code == 201 and first.json()["source"] == "dispatch"
    replay = api.post("/hooks/dispatch", content=body, headers=headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["error"]

    form = urlencode(
        {"command": "/switchboard", "text": "reviewer look at the flaky test", "user_name": "ana"}
    ).encode()
    slack = api.post("/hooks/dispatch", content=form, headers=signed(form, slack=True))
    assert slack.status_code == 200 and slack.json()["response_type"] == "in_channel"
    assert "queued task #2 for reviewer" in slack.json()["text"]
    prompts = [t.prompt for t in Tasks.open(settings).list()]
    assert prompts == ["look at the flaky test", "review PR 12"]


GOOD = json.dumps({"prompt": "do it", "runner": "reviewer"}).encode()
# Refused dispatches: (body, headers made at test time, status, words).
BAD_DISPATCH = [
    (GOOD, lambda: {"Content-Type": "application/json"}, 401, "unsigned request"),
    (GOOD, lambda: {**signed(GOOD), "X-Switchboard-Signature": "sha256=" + "0" * 64}, 401, "wrong signature"),
    (GOOD, lambda: signed(GOOD, secret="another-secret-entirely-123"), 401, "wrong signature"),
    (GOOD, lambda: signed(GOOD, at=time.time() - 3600), 401, "more than 300s"),
    (GOOD, lambda: signed(GOOD, at=time.time() + 3600), 401, "more than 300s"),
    (GOOD, lambda: {**signed(GOOD), "X-Switchboard-Timestamp": "soon"}, 401, "Unix seconds"),
    (GOOD + b" ", lambda: signed(GOOD), 401, "wrong signature"),  # the body was changed after signing
    (
        b'{"prompt": "x", "runner": "ghost"}',
        lambda: signed(b'{"prompt": "x", "runner": "ghost"}'),
        404,
        "no runner named",
    ),
    (b'{"prompt": 3}', lambda: signed(b'{"prompt": 3}'), 400, "valid string"),
    (b"text=reviewer", lambda: signed(b"text=reviewer", slack=True), 400, "usage: /switchboard RUNNER PROMPT"),
    (b"text=ghost+do+it", lambda: signed(b"text=ghost+do+it", slack=True), 404, "no runner named 'ghost'"),
]


@pytest.mark.parametrize("body, headers, status, words", BAD_DISPATCH)
def test_bad_dispatches_are_refused_and_write_nothing(
    serve,
    settings,
    body: bytes,
    headers,
    status: int,  # noqa: ANN001
    words: str,
) -> None:
    api = serve()
    response = api.post("/hooks/dispatch", content=body, headers=headers())
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert written(settings) == (0, 0)


def test_a_refused_dispatch_can_be_sent_again_once_fixed(serve, cli, tmp_path: Path) -> None:  # noqa: ANN001
    """A refused request leaves no signature behind: once the runner exists, the same request works."""
    api = serve()
    body = b'{"prompt": "x", "runner": "writer"}'
    headers = signed(body)
    assert api.post("/hooks/dispatch", content=body, headers=headers).status_code == 404
    cli("runner", "create", "writer", "--workdir", str(tmp_path))
    assert api.post("/hooks/dispatch", content=body, headers=headers).status_code == 201


def test_the_browser_trades_a_token_for_a_strict_cookie(serve, tokens) -> None:  # noqa: ANN001
    browser = serve()
    page = browser.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 401 and 'action="/login"' in page.text
    assert browser.post("/login", data={"token": "sbt_wrong"}).status_code == 401
    signed_in = browser.post("/login", data={"token": tokens["write"]})
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = browser.get("/")
    assert page.status_code == 200 and "Add a task" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert browser.post("/tasks", json={"prompt": "from the page"}).status_code == 201
    cross = browser.post("/tasks", json={"prompt": "forged"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403


def test_memory_store_and_recall_over_http(serve, tokens, cli) -> None:  # noqa: ANN001
    api = serve(token=tokens["write"])
    stored = api.post(
        "/memory",
        json={"content": "The flaky parser test needs TZ=UTC to pass.", "namespace": "reviewer", "tags": ["tests"]},
    )
    assert stored.status_code == 201
    recalled = api.get("/memory/recall", params={"query": "why does the parser test fail", "namespace": "reviewer"})
    assert recalled.status_code == 200
    hits = recalled.json()["hits"]
    assert "TZ=UTC" in json.dumps(hits[0])
    refused = api.post("/memory", json={"content": "deploy key AKIAABCDEFGHIJKLMNOP", "namespace": "reviewer"})
    assert refused.status_code == 400
    assert api.get("/memory/recall", params={"query": "x", "mode": "psychic"}).status_code == 400
