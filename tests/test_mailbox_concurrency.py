"""Several processes sending, claiming and acking at once lose and duplicate nothing."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

import pytest

from switchboard.config import Settings
from switchboard.mailbox import Mailbox

SENDERS, CLAIMERS, PER_SENDER = 4, 4, 1000


def _send(home: str, sender: int) -> None:
    mailbox = Mailbox.open(Settings.load(home))
    for i in range(PER_SENDER):
        mailbox.send("worker", "task_dispatch", f"{sender}:{i}", sender=f"sender{sender}")


def _claim(home: str, batch: int, senders_done, acked) -> None:  # noqa: ANN001 - multiprocessing proxies
    mailbox = Mailbox.open(Settings.load(home))
    mine = []
    while True:
        messages = mailbox.claim_many("worker", batch, wait=0.5)
        if not messages:
            if senders_done.is_set():
                break
            continue
        mailbox.ack_many([m.id for m in messages], messages[0].lease_token)
        mine.extend(m.payload for m in messages)
    acked.extend(mine)


@pytest.mark.parametrize("batch", [1, 50])
def test_four_senders_four_claimers_every_message_acked_exactly_once(settings: Settings, batch: int) -> None:
    home = str(settings.home)
    Mailbox.open(settings)  # create the schema once, as a first command would
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        senders_done, acked = manager.Event(), manager.list()
        claimers = [ctx.Process(target=_claim, args=(home, batch, senders_done, acked)) for _ in range(CLAIMERS)]
        senders = [ctx.Process(target=_send, args=(home, n)) for n in range(SENDERS)]
        for process in claimers + senders:
            process.start()
        for process in senders:
            process.join(timeout=240)
        senders_done.set()
        for process in claimers:
            process.join(timeout=240)
        exit_codes = [p.exitcode for p in senders + claimers]
        payloads = list(acked)

    assert exit_codes == [0] * (SENDERS + CLAIMERS), "a process failed (see its traceback above)"
    expected = {f"{s}:{i}" for s in range(SENDERS) for i in range(PER_SENDER)}
    duplicates = [p for p, n in Counter(payloads).items() if n > 1]
    assert duplicates == []
    assert set(payloads) == expected
    status = Mailbox.open(settings).status()
    assert status["by_delivery"] == {"acked": SENDERS * PER_SENDER}


def _first_use(home: str) -> None:
    Mailbox.open(Settings.load(home)).send("w", "request", "hello")


def test_concurrent_first_use_migrates_once(settings: Settings) -> None:
    ctx = mp.get_context("spawn")
    processes = [ctx.Process(target=_first_use, args=(str(settings.home),)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * 4
    assert len(Mailbox.open(settings).check("w")) == 4
