"""Mailbox workers shared by the benchmarks, importable by the processes they spawn."""

from __future__ import annotations

import multiprocessing as mp
import time

from switchboard.config import Settings
from switchboard.mailbox import Mailbox


def send_messages(home: str, count: int, tag: int, ready=None) -> None:  # noqa: ANN001 - a Barrier
    mailbox = Mailbox.open(Settings.load(home))
    if ready is not None:
        ready.wait()
    for i in range(count):
        mailbox.send("worker", "task_dispatch", f"task {tag}:{i} " + "x" * 200, sender=f"s{tag}")


def drain(home: str, count: int, batch: int = 1, ready=None) -> None:  # noqa: ANN001 - a Barrier
    """Claim and ack, `batch` messages a transaction (one at a time with `claim`/`ack` when 1),
    until `count` messages are done by this process or the queue is empty."""
    mailbox = Mailbox.open(Settings.load(home))
    if ready is not None:
        ready.wait()
    done = 0
    while done < count:
        if batch == 1:
            message = mailbox.claim("worker")
            if message is None:
                return
            mailbox.ack(message.id, message.lease_token)
            done += 1
            continue
        messages = mailbox.claim_many("worker", batch)
        if not messages:
            return
        mailbox.ack_many([m.id for m in messages], messages[0].lease_token)
        done += len(messages)


def run_parallel(target, home: str, total: int, processes: int, drain: bool, batch: int = 1) -> float:  # noqa: ANN001
    """Messages per second over `processes` spawned workers, timed from the moment all of
    them have started and opened the mailbox (Python start-up is not the mailbox's cost)."""
    ctx = mp.get_context("spawn")
    per = total // processes
    ready = ctx.Barrier(processes + 1)
    args = [(home, total, batch, ready) if drain else (home, per, n, ready) for n in range(processes)]
    procs = [ctx.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    ready.wait()
    started = time.perf_counter()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    assert all(p.exitcode == 0 for p in procs)
    return total / elapsed
