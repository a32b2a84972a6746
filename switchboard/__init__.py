"""switchboard: a coordinator for headless AI coding agents that run in OpenCode."""

__version__ = "0.1.0"
