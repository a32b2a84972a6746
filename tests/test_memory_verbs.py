"""The reference memory helper's verbs that switchboard adds through the CLI:
`recall --recent N` and `namespaces prune`, on a real database and the real model."""

from __future__ import annotations

import pytest

from tests.conftest import Cli


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--recent", "1"], ["third"]),
        (["--recent", "2"], ["third", "second"]),
        (["--recent", "5", "-n", "other"], ["elsewhere"]),
    ],
)
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


def test_event_date_and_project_scope(cli: Cli, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    web, api = tmp_path / "web", tmp_path / "api"
    web.mkdir(), api.mkdir()
    stored = cli.json(
        "memory",
        "store",
        "--content",
        "Deploys need the VPN on",
        "--project",
        str(web),
        "--event-date",
        "2026-11-30T14:00:00+00:00",
    )
    assert stored["event_date"].startswith("2026-11-30T14:00:00") and stored["project"] == str(web)
    assert stored["created_at"] != stored["event_date"]
    monkeypatch.chdir(api)
    cli("memory", "store", "--content", "Deploys go through the release train", "--project", ".")
    for project, expected in (
        (str(web), ["Deploys need the VPN on"]),
        (str(api), ["Deploys go through the release train"]),
        (None, ["Deploys go through the release train", "Deploys need the VPN on"]),
    ):
        flags = ["--project", project] if project else []
        hits = cli.json("memory", "recall", "-q", "deploys", "--mode", "keyword", *flags)["hits"]
        assert sorted(h["content"] for h in hits) == sorted(expected)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["store", "-c", "x", "--event-date", "yesterday"], "is not an ISO 8601 time"),
        (["recall", "--recent", "2", "--project", "."], "with no filters"),
    ],
)
def test_bad_event_date_or_filtered_recent_is_one_line(cli: Cli, flags: list[str], message: str) -> None:
    result = cli("memory", *flags, code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert cli.json("memory", "list", "--all-namespaces") == []
