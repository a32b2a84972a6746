"""Mailbox workers shared by the benchmarks, importable by the processes they spawn."""

from __future__ import annotations

import multiprocessing as mp
import time

from switchboard.config import Settings
from switchboard.mailbox import Mailbox


def send_messages(home: str, count: int, tag: int) -> None:
    mailbox = Mailbox.open(Settings.load(home))
    for i in range(count):
        mailbox.send("worker", "task_dispatch", f"task {tag}:{i} " + "x" * 200, sender=f"s{tag}")


def drain(home: str, count: int) -> None:
    """Claim and ack until `count` messages are done by this process or the queue is empty."""
    mailbox = Mailbox.open(Settings.load(home))
    for _ in range(count):
        message = mailbox.claim("worker")
        if message is None:
            return
        mailbox.ack(message.id, message.lease_token)


def run_parallel(target, home: str, total: int, processes: int, drain: bool) -> float:  # noqa: ANN001
    ctx = mp.get_context("spawn")
    per = total // processes
    args = [(home, total if drain else per) if drain else (home, per, n) for n in range(processes)]
    procs = [ctx.Process(target=target, args=a) for a in args]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    assert all(p.exitcode == 0 for p in procs)
    return total / elapsed
