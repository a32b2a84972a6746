"""Isolated workspaces: a git worktree and branch per attempt, and the result delivered."""

from switchboard.workspaces.models import Delivery, Isolation, Outcome, Workspace
from switchboard.workspaces.service import Workspaces, check_repository

__all__ = ["Delivery", "Isolation", "Outcome", "Workspace", "Workspaces", "check_repository"]
