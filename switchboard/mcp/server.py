"""`switchboard mcp`: switchboard's tools for one runner, as a stdio MCP server (official SDK).

The tools are thin: each calls `RunnerTools`, which holds the identity and the
rules. A refused request comes back as a tool error the model can read.
"""

# No `from __future__ import annotations`: the SDK reads the tools' annotations at runtime.

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, Optional

from pydantic import Field

from switchboard.config import Settings
from switchboard.errors import SwitchboardError
from switchboard.mcp.tools import REPORT_STATUSES, RunnerTools
from switchboard.runners.wiring import TARGET_URI, target
from switchboard.memory.models import MemoryType

INSTRUCTIONS = """\
Switchboard tools for runner {agent}: long-term memory (namespace '{agent}', the default, \
and 'shared'), the mailbox (you send as '{agent}'), and progress reports on your current task \
to the coordinator. Recall before you repeat work others may have done; store what a later \
task should know (a decision, a fix, a pitfall), one paragraph per memory."""


def build(settings: Settings, agent: str, tools: RunnerTools | None = None) -> Any:
    """The MCP server for `agent` (an `mcp.server.mcpserver.MCPServer`)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    runner = tools or RunnerTools(settings, agent)
    server = MCPServer("switchboard", instructions=INSTRUCTIONS.format(agent=runner.agent), log_level="WARNING")
    served = target(runner.agent, runner.settings.database_url, runner.settings.memory_model)

    @server.resource(
        f"{TARGET_URI}{runner.agent}/{served}",
        name="identity",
        mime_type="application/json",
        description=f"Who these tools act for: runner {runner.agent}, target {served}.",
    )
    def identity() -> str:
        return json.dumps(
            {
                "runner": runner.agent,
                "home": str(runner.settings.home),
                "target": served,
                "database": runner.store.connector.describe(),
            }
        )

    def tool(fn: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> str:
            try:
                return fn(*args, **kwargs)
            except SwitchboardError as exc:
                raise ToolError(str(exc)) from None

        server.add_tool(call, name=fn.__name__, description=fn.__doc__, structured_output=False)
        return fn

    @tool
    def memory_recall(
        query: Annotated[str, Field(description="What to look for, in any words.")],
        namespace: Annotated[Optional[str], Field(description=f"'{runner.agent}' (default) or 'shared'.")] = None,
        shared: Annotated[bool, Field(description="Search 'shared' too.")] = True,
        limit: Annotated[int, Field(description="At most this many memories.", ge=1, le=50)] = 5,
        type: Annotated[Optional[str], Field(description="Only memories of this type (see memory_store).")] = None,
        tags: Annotated[Optional[list[str]], Field(description="Only memories with all these tags.")] = None,
        mode: Annotated[str, Field(description="hybrid, semantic or keyword.")] = "hybrid",
    ) -> str:
        """Recall long-term memories that match a query (keyword and semantic search, fused),
        from your namespace and the shared one. Each comes with its id, type and date."""
        return runner.recall(query, namespace=namespace, shared=shared, limit=limit, type=type, tags=tags, mode=mode)

    @tool
    def memory_store(
        content: Annotated[str, Field(description="The memory: one self-contained paragraph.")],
        type: Annotated[str, Field(description=", ".join(t.value for t in MemoryType) + ".")] = "WORKING_SOLUTION",
        tags: Annotated[Optional[list[str]], Field(description="Lower-case tags.")] = None,
        namespace: Annotated[
            Optional[str], Field(description=f"'{runner.agent}' (default) or 'shared' for every runner.")
        ] = None,
        confidence: Annotated[str, Field(description="high, medium or low.")] = "medium",
        supersedes: Annotated[Optional[int], Field(description="Id of a memory this one replaces.")] = None,
        ttl_days: Annotated[Optional[float], Field(description="Forget it after this many days.")] = None,
    ) -> str:
        """Store a long-term memory for later tasks, in your namespace or the shared one.
        Storing the same content again merges into the first."""
        return runner.store_memory(
            content,
            namespace=namespace,
            type=type,
            tags=tags,
            confidence=confidence,
            supersedes=supersedes,
            ttl_days=ttl_days,
        )

    @tool
    def mail_send(
        to: Annotated[str, Field(description="Recipient: a runner, 'coordinator', a person, or 'all'.")],
        payload: Annotated[str, Field(description="The message.")],
        type: Annotated[
            str, Field(description="discovery, request, status_report, broadcast or task_dispatch.")
        ] = "discovery",
        priority: Annotated[str, Field(description="urgent, high, normal or low.")] = "normal",
        reply_to: Annotated[Optional[int], Field(description="Id of the message this answers.")] = None,
    ) -> str:
        """Send a message through the switchboard mailbox, from you."""
        return runner.send(to, payload, type=type, priority=priority, reply_to=reply_to)

    @tool
    def mail_check(
        unread_only: Annotated[bool, Field(description="Only unread messages.")] = True,
        type: Annotated[Optional[str], Field(description="Only this message type.")] = None,
        limit: Annotated[int, Field(description="At most this many.", ge=1, le=100)] = 20,
    ) -> str:
        """List the messages in your inbox, most urgent first (payloads shortened)."""
        return runner.check(unread_only=unread_only, type=type, limit=limit)

    @tool
    def mail_read(
        message_id: Annotated[int, Field(description="The message's id (#N in mail_check).")],
    ) -> str:
        """Read one of your messages in full, and mark it read."""
        return runner.read(message_id)

    @tool
    def task_report(
        summary: Annotated[str, Field(description="What you did, found, or need.")],
        status: Annotated[str, Field(description=", ".join(REPORT_STATUSES) + ".")] = "progress",
        task_id: Annotated[
            Optional[int], Field(description="The task, if you know it (default: the one you are running).")
        ] = None,
    ) -> str:
        """Report progress, a blocker or a result on your current task to the coordinator
        (a status_report message that names the task)."""
        return runner.report(summary, status=status, task_id=task_id)

    return server


def serve(settings: Settings, agent: str) -> None:
    """Serve the tools on standard input and output until the client closes them."""
    build(settings, agent).run("stdio")
