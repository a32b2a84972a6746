"""The reference memory helper's verbs that switchboard adds through the CLI:
`recall --recent N` and `namespaces prune`, on a real database and the real model."""

from __future__ import annotations

import pytest

from tests.conftest import Cli


@pytest.mark.parametrize(("flags", "expected"), [
    (["--recent", "1"], ["third"]),
    (["--recent", "2"], ["third", "second"]),
    (["--recent", "5", "-n", "other"], ["elsewhere"]),
])
def test_recall_recent_lists_the_newest(cli: Cli, flags: list[str], expected: list[str]) -> None:
    for content in ("first", "second", "third"):
        cli("memory", "store", "--content", f"{content} note about deploys")
    cli("memory", "store", "--content", "elsewhere note", "-n", "other")
    got = cli.json("memory", "recall", *flags)
    assert [m["content"].split()[0] for m in got] == expected


@pytest.mark.parametrize("flags", [[], ["--query", "x", "--recent", "2"], ["--recent", "0"]])
def test_recall_needs_a_query_or_recent(cli: Cli, flags: list[str]) -> None:
    assert cli("memory", "recall", *flags, code=2).stderr.startswith("error: ")


def test_namespaces_prune_reports_then_deletes_only_orphans(cli: Cli, tmp_path) -> None:  # noqa: ANN001
    cli("runner", "create", "keeper", "--workdir", str(tmp_path))
    cli("mail", "register", "--agent", "alice", "--role", "lead")
    for namespace in ("keeper", "alice", "gone-runner", "shared", "default", "old-agent"):
        cli("memory", "store", "--content", f"a note kept by {namespace}", "-n", namespace)
    report = cli.json("memory", "namespaces", "prune")
    assert report == {"namespaces": {"gone-runner": 1, "old-agent": 1}, "deleted": False}
    assert "run again with --force" in cli("memory", "namespaces", "prune").stdout
    assert len(cli.json("memory", "namespaces", "list")) == 6  # only reported
    assert cli.json("memory", "namespaces", "prune", "--force")["deleted"] is True
    left = {n["namespace"] for n in cli.json("memory", "namespaces", "list")}
    assert left == {"keeper", "alice", "shared", "default"}
    assert cli("memory", "namespaces", "prune").stdout.strip() == "no namespace without an owner"
    assert "not both" in cli("memory", "namespaces", "prune", "--force", "--dry-run", code=2).stderr
