"""Runners: named agent identities that run prompts in OpenCode sessions."""

from switchboard.runners.models import Run, Runner
from switchboard.runners.service import Runners

__all__ = ["Run", "Runner", "Runners"]
