"""The mailbox through its Python API, on a real database."""

from __future__ import annotations

import threading
import time

import pytest

from switchboard.config import Settings
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.mailbox import Delivery, Mailbox, Priority, Status


@pytest.fixture
def mailbox(settings: Settings) -> Mailbox:
    return Mailbox.open(settings)


def test_check_orders_by_priority_then_oldest(mailbox: Mailbox) -> None:
    low = mailbox.send("bob", "request", "low one", priority="low")[0]
    first = mailbox.send("bob", "request", "normal first")[0]
    second = mailbox.send("bob", "request", "normal second")[0]
    urgent = mailbox.send("bob", "task_dispatch", "urgent", priority="urgent")[0]
    mailbox.send("carol", "request", "not for bob")
    assert [m.id for m in mailbox.check("bob")] == [urgent.id, first.id, second.id, low.id]
    assert urgent.priority is Priority.URGENT


def test_read_archive_and_unread_filter(mailbox: Mailbox) -> None:
    a, b = (mailbox.send("bob", "discovery", text)[0] for text in ("a", "b"))
    assert mailbox.read(a.id).status is Status.READ
    assert [m.id for m in mailbox.check("bob", unread_only=True)] == [b.id]
    mailbox.archive(b.id)
    assert [m.id for m in mailbox.check("bob")] == [a.id]
    assert {m.id for m in mailbox.check("bob", include_archived=True)} == {a.id, b.id}


def test_type_filter_and_sender_default(settings: Settings) -> None:
    mailbox = Mailbox.open(settings.with_overrides(agent="alice"))
    mailbox.send("bob", "request", "q")
    mailbox.send("bob", "status_report", "done")
    reports = mailbox.check("bob", type="status_report")
    assert [(m.type.value, m.from_agent) for m in reports] == [("status_report", "alice")]


def test_broadcast_reaches_every_active_agent_but_sender(mailbox: Mailbox) -> None:
    for name in ("alice", "bob", "carol", "dave"):
        mailbox.register(name)
    mailbox.deregister("dave")
    sent = mailbox.send("all", "broadcast", "deploy freeze", sender="alice")
    assert sorted(m.to_agent for m in sent) == ["bob", "carol"]
    # type broadcast fans out whatever --to says, as the reference helper does
    sent = mailbox.send("bob", "broadcast", "again", sender="carol")
    assert sorted(m.to_agent for m in sent) == ["alice", "bob"]


def test_broadcast_with_nobody_to_reach_is_an_error(mailbox: Mailbox) -> None:
    with pytest.raises(InvalidInput, match="no active agents"):
        mailbox.send("all", "request", "anyone?")
    assert mailbox.check() == []


def test_thread_collects_replies_in_order(mailbox: Mailbox) -> None:
    root = mailbox.send("bob", "request", "can you review PR 12?", sender="alice")[0]
    reply = mailbox.send("alice", "status_report", "yes, on it", sender="bob", reply_to=root.id)[0]
    nested = mailbox.send("bob", "request", "thanks", sender="alice", reply_to=reply.id)[0]
    mailbox.send("bob", "request", "unrelated", sender="alice")
    assert [m.id for m in mailbox.thread(nested.id)] == [root.id, reply.id, nested.id]
    assert [m.id for m in mailbox.thread(root.id)] == [root.id, reply.id, nested.id]
    with pytest.raises(NotFound):
        mailbox.send("bob", "request", "to nowhere", reply_to=9999)


def test_claim_ack_is_exactly_once(mailbox: Mailbox) -> None:
    msg = mailbox.send("worker", "task_dispatch", "job")[0]
    claimed = mailbox.claim("worker")
    assert claimed is not None and claimed.id == msg.id
    assert claimed.delivery is Delivery.LEASED and claimed.attempts == 1
    assert mailbox.claim("worker") is None  # leased: not handed out twice
    acked = mailbox.ack(claimed.id, claimed.lease_token)
    assert acked.delivery is Delivery.ACKED and acked.status is Status.READ
    with pytest.raises(Conflict, match="not leased"):
        mailbox.ack(claimed.id)


def test_claim_by_type_and_priority(mailbox: Mailbox) -> None:
    mailbox.send("w", "request", "r1")
    dispatch = mailbox.send("w", "task_dispatch", "t1", priority="low")[0]
    urgent = mailbox.send("w", "request", "r2", priority="urgent")[0]
    assert mailbox.claim("w", type="task_dispatch").id == dispatch.id
    assert mailbox.claim("w").id == urgent.id


def test_claim_many_leases_a_batch_in_order_and_ack_many_is_all_or_nothing(mailbox: Mailbox) -> None:
    low = mailbox.send("w", "request", "low", priority="low")[0]
    normal = [mailbox.send("w", "request", f"n{i}")[0] for i in range(3)]
    urgent = mailbox.send("w", "request", "urgent", priority="urgent")[0]
    batch = mailbox.claim_many("w", 4)
    assert [m.id for m in batch] == [urgent.id, *(m.id for m in normal)]
    assert {m.lease_token for m in batch} == {batch[0].lease_token} and batch[0].lease_token
    assert [m.id for m in mailbox.claim_many("w", 10)] == [low.id]  # the rest; none twice
    assert mailbox.claim_many("w", 10) == []
    with pytest.raises(Conflict, match=f"message {low.id}: the lease has passed"):
        mailbox.ack_many([batch[0].id, low.id], batch[0].lease_token)  # low is another claim's
    assert mailbox.get(batch[0].id).delivery is Delivery.LEASED  # nothing acked
    acked = mailbox.ack_many([m.id for m in batch], batch[0].lease_token)
    assert [m.delivery for m in acked] == [Delivery.ACKED] * 4
    assert mailbox.status()["by_delivery"] == {"acked": 4, "leased": 1}


@pytest.mark.parametrize(
    ("limit", "error"),
    [
        (0, "batch must be a whole number from 1 to 1000"),
        (1001, "from 1 to 1000"),
        ("2" * 30, "from 1 to 1000"),
        (2.5, "must be a whole number"),
        ("nan", "must be a whole number"),
    ],
)
def test_claim_many_refuses_bad_batch_sizes(mailbox: Mailbox, limit: object, error: str) -> None:
    mailbox.send("w", "request", "kept")
    with pytest.raises(InvalidInput, match=error):
        mailbox.claim_many("w", limit)  # type: ignore[arg-type]
    assert mailbox.status()["by_delivery"] == {"pending": 1}


def test_expired_lease_is_redelivered_and_old_lease_cannot_ack(mailbox: Mailbox) -> None:
    mailbox.send("w", "task_dispatch", "job")
    first = mailbox.claim("w", lease=0.2)
    time.sleep(0.3)
    second = mailbox.claim("w")
    assert second is not None and second.id == first.id and second.attempts == 2
    with pytest.raises(Conflict, match="another claim"):
        mailbox.ack(first.id, first.lease_token)
    assert mailbox.ack(second.id, second.lease_token).delivery is Delivery.ACKED


def test_nack_backs_off_then_dead_letters(settings: Settings) -> None:
    mailbox = Mailbox.open(settings.with_overrides(mail_max_attempts=3))
    msg = mailbox.send("w", "task_dispatch", "flaky")[0]
    requeued = mailbox.nack(mailbox.claim("w").id, reason="boom")
    assert requeued.delivery is Delivery.PENDING and requeued.last_error == "boom"
    assert 1.5 < requeued.available_at - time.time() <= 2.0  # default backoff: 2 ** attempts
    assert mailbox.claim("w") is None  # not before its retry time
    mailbox.nack(mailbox.claim("w", wait=3).id, retry_in=0)
    claimed = mailbox.claim("w")
    assert claimed.attempts == 3
    dead = mailbox.nack(claimed.id, reason="still broken")
    assert dead.delivery is Delivery.DEAD and dead.last_error == "still broken"
    assert [m.id for m in mailbox.dead("w")] == [msg.id]
    assert mailbox.claim("w") is None
    revived = mailbox.retry(msg.id)
    assert revived.delivery is Delivery.PENDING and revived.attempts == 0
    assert mailbox.claim("w").id == msg.id


def test_lease_expiring_on_last_attempt_dead_letters(settings: Settings) -> None:
    mailbox = Mailbox.open(settings.with_overrides(mail_max_attempts=1))
    msg = mailbox.send("w", "task_dispatch", "crashes its worker")[0]
    assert mailbox.claim("w", lease=0.1).id == msg.id
    time.sleep(0.2)
    assert mailbox.claim("w") is None
    dead = mailbox.get(msg.id)
    assert dead.delivery is Delivery.DEAD and "lease expired" in dead.last_error


def test_claim_wait_wakes_on_send_without_polling(mailbox: Mailbox, settings: Settings) -> None:
    def send_later() -> None:
        time.sleep(0.5)
        Mailbox.open(settings).send("w", "task_dispatch", "late job")

    threading.Thread(target=send_later).start()
    started = time.monotonic()
    claimed = mailbox.claim("w", wait=10)
    elapsed = time.monotonic() - started
    assert claimed is not None and claimed.payload == "late job"
    assert 0.4 < elapsed < 2.0


def test_claim_wait_times_out(mailbox: Mailbox) -> None:
    started = time.monotonic()
    assert mailbox.claim("w", wait=0.5) is None
    assert 0.45 < time.monotonic() - started < 2.0


def test_claim_wait_wakes_when_a_retry_falls_due(mailbox: Mailbox) -> None:
    mailbox.send("w", "task_dispatch", "retry me")
    claimed = mailbox.claim("w")
    mailbox.nack(claimed.id, retry_in=0.5)
    started = time.monotonic()
    again = mailbox.claim("w", wait=5)
    assert again is not None and again.id == claimed.id
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"to": "../etc"}, "invalid recipient name"),
        ({"to": "a/b"}, "invalid recipient name"),
        ({"to": "bob", "sender": "x y"}, "invalid sender name"),
        ({"to": "bob", "type": "gossip"}, "unknown message type"),
        ({"to": "bob", "priority": "asap"}, "unknown priority"),
        ({"to": "bob", "payload": "   "}, "payload is empty"),
        ({"to": "b" * 41}, "invalid recipient name"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(mailbox: Mailbox, kwargs: dict, message: str) -> None:
    args = {"type": "request", "payload": "hi", **kwargs}
    with pytest.raises(InvalidInput, match=message):
        mailbox.send(args.pop("to"), args.pop("type"), args.pop("payload"), **args)
    assert mailbox.check() == []


def test_payload_limit_is_configurable(settings: Settings) -> None:
    mailbox = Mailbox.open(settings.with_overrides(max_payload_bytes=10))
    mailbox.send("bob", "request", "0123456789")
    with pytest.raises(InvalidInput, match="11 bytes, over the limit of 10"):
        mailbox.send("bob", "request", "0123456789x")
    assert len(mailbox.check("bob")) == 1


def test_unknown_ids(mailbox: Mailbox) -> None:
    for call in (mailbox.read, mailbox.archive, mailbox.thread, mailbox.ack, mailbox.retry, mailbox.get):
        with pytest.raises(NotFound, match="no message with id 42"):
            call(42)
    with pytest.raises(NotFound):
        mailbox.deregister("ghost")


def test_register_reactivates_and_lists(mailbox: Mailbox) -> None:
    mailbox.register("reviewer", role="worker")
    mailbox.deregister("reviewer")
    assert mailbox.agents(active_only=True) == []
    agent = mailbox.register("reviewer", role="coordinator")
    assert (agent.status, agent.role) == ("active", "coordinator")
    assert [a.name for a in mailbox.agents(active_only=True)] == ["reviewer"]


def test_status_counts(mailbox: Mailbox) -> None:
    mailbox.send("bob", "request", "a")
    mailbox.send("bob", "discovery", "b")
    mailbox.ack(mailbox.claim("bob").id)
    status = mailbox.status()
    assert status["messages"] == 2
    assert status["by_delivery"] == {"acked": 1, "pending": 1}
    assert status["by_type"] == {"discovery": 1, "request": 1}
    assert status["by_status"] == {"read": 1, "unread": 1}


def test_prune_reports_then_deletes_only_handled_old_messages(mailbox: Mailbox) -> None:
    handled = mailbox.send("bob", "status_report", "old and read")[0]
    mailbox.read(handled.id)
    acked = mailbox.send("bob", "task_dispatch", "old and acked")[0]
    mailbox.ack(mailbox.claim("bob", type="task_dispatch").id)
    unread = mailbox.send("bob", "request", "old but unread")[0]
    leased = mailbox.send("bob", "discovery", "old and in flight")[0]
    assert mailbox.claim("bob", type="discovery").id == leased.id
    mailbox.read(leased.id)  # read by a person but still leased by a program
    report = mailbox.prune(older_than_days=0)
    assert (report.total, report.deleted) == (2, False)
    assert report.by_type == {"status_report": 1, "task_dispatch": 1}
    assert len(mailbox.check(include_archived=True)) == 4
    report = mailbox.prune(older_than_days=0, force=True)
    assert report.total == 2
    left = {m.id for m in mailbox.check(include_archived=True)}
    assert left == {unread.id, leased.id} and acked.id not in left
    assert mailbox.prune(older_than_days=1, force=True).total == 0


def test_prune_keeps_discoveries_and_reports_as_memories(mailbox: Mailbox, settings: Settings) -> None:
    from switchboard.memory import Memory

    found = mailbox.send("reviewer", "discovery", "The auth module caches tokens for 24h in redis")[0]
    mailbox.read(found.id)
    secret = mailbox.send("reviewer", "status_report", "done; api_key=sk-live-abcdefghijklmnopqrstuv")[0]
    mailbox.read(secret.id)
    mailbox.read(mailbox.send("reviewer", "request", "a request is not worth keeping")[0].id)
    report = mailbox.prune(older_than_days=0, force=True)
    assert (report.total, report.remembered) == (3, 2)  # the report's key was redacted when it was sent
    kept = {m.source: m.content for m in Memory.open(settings).list(namespace="reviewer")}
    assert "caches tokens for 24h" in kept[f"mail-{found.id}"]
    assert "api_key=[redacted:api-key]" in kept[f"mail-{secret.id}"] and "sk-live" not in kept[f"mail-{secret.id}"]
