"""A provider that closes its stream mid-answer: OpenCode asks it again at once, without
end. The step budget bounds what one prompt costs, in `runner run` and in the coordinator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.modelserver import ScriptedModel
from switchboard.runners import Runners
from tests.conftest import Cli
from tests.test_coordinator import run_until

SCRIPT = [
    {"name": "flaky", "match": r"flaky", "reply": "half of an answer that the provider never finishes", "drop": True}
]


def _calls(model: ScriptedModel, prompt: str) -> int:
    """Model requests made for `prompt` (each retry after a dropped stream is one)."""
    return sum(
        1
        for body in list(model.requests)
        if any(prompt in str(m.get("content")) for m in body.get("messages") or [] if m.get("role") == "user")
    )


@pytest.mark.parametrize("budget", [3, 8])
def test_runner_run_stops_at_its_step_budget(
    cli: Cli, workdir: Path, attach: str, model: ScriptedModel, budget: int
) -> None:
    cli("runner", "create", f"flaky{budget}", "--workdir", str(workdir), "--max-steps", str(budget))
    prompt = f"flaky job with budget {budget}"
    started = time.monotonic()
    result = cli.json("runner", "run", f"flaky{budget}", prompt, "--attach", attach, "--timeout", "120", code=1)
    assert result["status"] == "failed" and result["error"].startswith(f"step budget exceeded ({budget})")
    assert time.monotonic() - started < 60
    calls = _calls(model, prompt)
    print(f"budget {budget}: {calls} model calls in {time.monotonic() - started:.1f}s")
    # Bounded: the budget, plus what the provider answered while the abort was on its way
    # (0-2 on a quiet machine, 3 seen under CI load), where no budget means hundreds.
    assert budget <= calls <= budget + 4


def test_a_task_runs_within_its_own_budget_and_is_retried_later(
    settings: Settings, workdir: Path, attach: str, model: ScriptedModel
) -> None:
    runners = Runners.open(settings)
    runners.create("worker", "works", workdir=workdir, max_steps=40)
    tasks = Tasks(runners.store, settings)
    task = tasks.add("flaky task in the coordinator", runner="worker", max_steps=4, max_attempts=2)
    coordinator = Coordinator(settings, attach=[attach], remember=False)
    started = time.monotonic()
    run_until(coordinator, lambda: tasks.get(task.id).status.finished, timeout=90)
    done = tasks.get(task.id)
    assert done.status.value == "dead" and done.error.startswith("step budget exceeded (4)")
    calls = _calls(model, "flaky task in the coordinator")
    print(f"task, 2 attempts of budget 4: {calls} model calls in {time.monotonic() - started:.1f}s")
    assert calls <= 2 * (4 + 4)
