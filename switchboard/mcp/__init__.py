"""Switchboard's tools inside runner sessions: an MCP server, wired into OpenCode by the runners.

`switchboard mcp` serves `memory_recall`, `memory_store`, `mail_send`,
`mail_check`, `mail_read` and `task_report` for one runner over stdio
(`server.py`, on `RunnerTools` in `tools.py`); the runners' `runners/wiring.py` puts one
server entry per runner into the workdir's `opencode.json` and gives each prompt the `tools`
map that keeps a session to its own runner's tools.
"""
