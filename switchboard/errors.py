"""The errors switchboard raises to its users.

Every error a user can cause (bad input, an unknown id, a database that cannot be
opened) is a `SwitchboardError`: the CLI prints it as one line and exits with 2.
Anything else is a bug and keeps its traceback.
"""


class SwitchboardError(Exception):
    """A user-facing error: one line, exit code 2."""


class InvalidInput(SwitchboardError):
    """An argument is malformed: a bad name, an unknown type, an oversize payload."""


class NotFound(SwitchboardError):
    """No such message, agent or other record."""


class Conflict(SwitchboardError):
    """The record is not in a state that allows the operation (e.g. ack of an unleased message)."""


class StoreError(SwitchboardError):
    """The database cannot be opened, read or written."""


class DatabaseGone(StoreError):
    """The database file this home created (or the process opened) was deleted or replaced."""


class DatabaseCorrupt(StoreError):
    """The database file is damaged ("database disk image is malformed", "file is not a database")."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message


class ConfigError(SwitchboardError):
    """The configuration file or an environment variable is invalid."""
