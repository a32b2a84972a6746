"""Settings: command-line flags beat environment variables beat the config file.

The home directory (`SWITCHBOARD_HOME`, default `~/.switchboard`) holds the
config file `config.toml`, the default SQLite database and runtime files. It holds
mail, memories and prompts, so it is kept to its owner: the directory 0700 and
every file in it 0600 (`secure_home`, `private_file`), whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from switchboard import validate
from switchboard.errors import ConfigError, InvalidInput

CONFIG_FILE = "config.toml"
DATABASE_FILE = "switchboard.db"
COORDINATOR_LOCK = "coordinator.lock"  # in the home: held by the running coordinator

# Environment variable for each setting that has one.
ENV_VARS = {
    "database_url": "SWITCHBOARD_DATABASE_URL",
    "agent": "SWITCHBOARD_AGENT",
    "max_payload_bytes": "SWITCHBOARD_MAX_PAYLOAD_BYTES",
    "memory_model": "SWITCHBOARD_MEMORY_MODEL",
    "opencode_bin": "SWITCHBOARD_OPENCODE_BIN",
    "opencode_url": "SWITCHBOARD_OPENCODE_URL",
}


class Settings(NamedTuple):
    """A NamedTuple, not a dataclass, for the hot CLI path's start-up (see mailbox/models.py)."""

    home: Path
    database_url: str
    agent: str | None = None
    max_payload_bytes: int = 1024 * 1024
    mail_lease_seconds: float = 300.0
    mail_max_attempts: int = 5
    busy_timeout_seconds: float = 30.0
    task_max_attempts: int = 3
    # OpenCode: the binary to run (else the home install, else PATH) and the URL of a
    # server to use instead of the managed one (`--attach` beats it).
    opencode_bin: str | None = None
    opencode_url: str | None = None
    # Sessions: keep a finished run's session on the server (default: deleted once recorded),
    # and stop the managed server after this many idle seconds with no coordinator running.
    keep_sessions: bool = False
    opencode_idle_seconds: float = 900.0
    # Memory: the sentence-transformers model (a name or a local directory), the torch
    # threads it may use, and the cosine similarity below which a vector match is noise.
    memory_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    memory_threads: int = 1
    memory_min_similarity: float = 0.2
    # Isolated workspaces: days a finished task's branch is kept before `task clean` prunes it.
    worktree_retention_days: float = 14.0
    # Retention: days after which `db prune` removes a settled task's run logs, outcome
    # memories and handled mail; the coordinator applies it once an hour unless auto_prune
    # is off.
    retention_days: float = 30.0
    auto_prune: bool = True

    @classmethod
    def load(cls, home: str | Path | None = None, **flags: Any) -> Settings:
        """Build settings from flags (non-None keyword arguments), environment and file."""
        home_path = Path(home or os.environ.get("SWITCHBOARD_HOME") or "~/.switchboard")
        home_path = home_path.expanduser().resolve()
        values: dict[str, Any] = _read_file(home_path / CONFIG_FILE)
        for name, var in ENV_VARS.items():
            if os.environ.get(var):
                values[name] = os.environ[var]
        values.update({k: v for k, v in flags.items() if v is not None})
        values.setdefault("database_url", _home_database_url(home_path))
        return cls(home=home_path, **_coerce(values))

    @property
    def default_database_url(self) -> str:
        """The home's own SQLite database, used when no URL is configured."""
        return _home_database_url(self.home)

    def with_overrides(self, **changes: Any) -> Settings:
        return self._replace(**{k: v for k, v in changes.items() if v is not None})


DEFAULTS: dict[str, Any] = Settings._field_defaults  # each setting's default, by name

# Each setting's type as written ("bool", "int", "float", "str | None", ...): the values
# from files and the environment are coerced to it.
_FIELD_TYPES = {name: getattr(kind, "__forward_arg__", kind) for name, kind in Settings.__annotations__.items()}


def _home_database_url(home: Path) -> str:
    return f"sqlite:///{home / DATABASE_FILE}"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    import tomllib  # only a home with a config file pays for the parser (CLI start-up)

    try:
        with fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    known = set(Settings._fields) - {"home"}
    unknown = sorted(k for k, v in data.items() if k not in known and not isinstance(v, dict))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    # Tables ([memory], [opencode] ...) belong to parts that read them on their own.
    return {k: v for k, v in data.items() if k in known}


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise InvalidInput(f"setting {name} must be true or false, got {value!r}")
    return text in ("1", "true", "yes", "on")


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    types = _FIELD_TYPES
    out: dict[str, Any] = {}
    for name, value in values.items():
        kind = types[name]
        try:  # numbers are positive, finite and fit the database: no nan lease, no 2**64 attempts
            if kind == "bool":
                out[name] = _bool(value, name)
            elif kind == "int":
                out[name] = validate.integer(value, f"setting {name}")
            elif kind == "float":
                out[name] = validate.number(
                    value,
                    f"setting {name}",
                    above=True,
                    maximum=validate.MAX_SECONDS,
                    unit="seconds" if name.endswith("seconds") else "",
                )
            else:
                out[name] = str(value)
        except InvalidInput as exc:
            raise ConfigError(str(exc)) from None
    return out


def secure_home(home: Path) -> Path:
    """Create the home with mode 0700, or tighten one that others can enter (made by hand,
    or by an older version): what is in it loses its group and other bits (files 0600,
    folders 0700; the owner keeps the execute bit of OpenCode's installed binaries)."""
    try:
        home.mkdir(parents=True, mode=0o700)
        return home
    except FileExistsError:
        pass
    if home.stat().st_mode & 0o077:
        home.chmod(0o700)
        for path in home.rglob("*"):
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & 0o700)
    return home


def private_file(path: Path) -> Path:
    """`path`, created empty with mode 0600 if it does not exist: write or append to it after,
    and the mode stays (`write_text`, `open("a")` alone would create it with the umask's)."""
    missing = [folder for folder in path.parents if not folder.exists()]
    for folder in reversed(missing):  # `mkdir(parents=True)` gives the parents the umask's mode
        folder.mkdir(mode=0o700, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return path
