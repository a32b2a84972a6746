"""Drop-in wrappers for scripts written for the reference shell helpers."""

from switchboard.compat.service import SCRIPTS, install

__all__ = ["SCRIPTS", "install"]
