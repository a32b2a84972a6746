"""The one check for each kind of number, text source and directory a user gives.

The CLI's option types (`cliopts.py`) and the services call the same functions, so a
value is refused the same way from a flag, a config file or Python: before anything is
written, with an `InvalidInput` naming it. (Names and choices are checked in `names.py`.)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from switchboard.errors import InvalidInput

INT64_MAX = 2**63 - 1  # what SQLite INTEGER and PostgreSQL BIGINT hold
# Ten years: a longer lease, wait or timeout is a typo, and `now + it` stays a real time.
MAX_SECONDS = 10 * 366 * 86400.0
MAX_DAYS = MAX_SECONDS / 86400
STDIN = "-"


def _shown(value: Any) -> str:
    """`value` for an error message: quoted, cut to 40 characters (an int of 5,000 digits
    cannot even be printed)."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if abs(value) < 10**40 else "a number of more than 40 digits"
    else:
        text = str(value)
    return repr(text if len(text) <= 40 else text[:39] + "…")


def integer(value: Any, what: str, *, minimum: int = 1, maximum: int = INT64_MAX) -> int:
    """`value` (an int or its decimal text) if it is a whole number from `minimum` to `maximum`."""
    number = value
    if isinstance(value, str):
        try:
            number = int(value.strip(), 10)
        except ValueError:  # also text of more than 4300 digits
            number = None
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInput(f"{what} must be a whole number, got {_shown(value)}")
    if not minimum <= number <= maximum:
        raise InvalidInput(f"{what} must be a whole number from {minimum} to {maximum}, got {_shown(value)}")
    return number


def number(
    value: Any,
    what: str,
    *,
    minimum: float = 0.0,
    maximum: float = MAX_SECONDS,
    above: bool = False,
    unit: str = "seconds",
) -> float:
    """`value` as a finite float from `minimum` (excluded if `above`) to `maximum`."""
    kind = f"a number of {unit}" if unit else "a number"
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"{what} must be {kind}, got {_shown(value)}") from None
    low_ok = result > minimum if above else result >= minimum
    if not (math.isfinite(result) and low_ok and result <= maximum):
        low = f"more than {minimum:g}" if above else f"{minimum:g} or more"
        raise InvalidInput(f"{what} must be {kind}, {low} and at most {maximum:.12g}, got {_shown(value)}")
    return result


def seconds(value: Any, what: str, *, positive: bool = False) -> float:
    """A duration in seconds: finite, not negative (above zero if `positive`), at most ten years."""
    return number(value, what, above=positive)


def days(value: Any, what: str) -> float:
    return number(value, what, maximum=MAX_DAYS, unit="days")


_AGE_UNITS = {"w": 7.0, "d": 1.0, "h": 1 / 24, "m": 1 / 1440}


def age_days(value: Any, what: str) -> float:
    """An age such as `30d`, `12h`, `2w` or `90m` (a bare number is days), in days."""
    text = str(value).strip().lower()
    unit = text[-1:] if text[-1:] in _AGE_UNITS else "d"
    amount = text[:-1] if text[-1:] in _AGE_UNITS else text
    try:
        number = float(amount)
    except ValueError:
        raise InvalidInput(f"{what} must be an age such as 30d, 12h or 2w, got {_shown(value)}") from None
    return days(number * _AGE_UNITS[unit], what)


def decode(data: bytes, what: str, limit: int) -> str:
    """`data` as text: at most `limit` bytes of strict UTF-8 with no NUL bytes (which
    PostgreSQL cannot store and no text file holds)."""
    if len(data) > limit:
        raise InvalidInput(f"{what} is over the limit of {limit} bytes (setting max_payload_bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    if "\0" in text:
        raise InvalidInput(f"{what} contains a NUL byte")
    return text


def read_file(path: str | Path, what: str, limit: int) -> str:
    """The text of a file, or of standard input for `-`, read with a size cap: `/dev/zero`
    or a huge file is refused after `limit` bytes, not read into memory."""
    if str(path) == STDIN:
        return decode(sys.stdin.buffer.read(limit + 1), f"{what} (standard input)", limit)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return decode(data, f"{what} {path}", limit)


def read_arg(value: str, what: str, limit: int) -> str:
    """A text argument where `-` means standard input (`--payload -`, `--content -`)."""
    return read_file(STDIN, what, limit) if value == STDIN else value


def writable_dir(path: str | Path, what: str) -> Path:
    """`path` resolved, if it is a directory this process can create files in (a probe file
    is made and removed: permission bits alone say nothing for root, or for /proc)."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise InvalidInput(f"{what} {directory} is not a directory")
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".switchboard-probe-"):
            pass
    except OSError as exc:
        raise InvalidInput(f"{what} {directory} is not writable: {exc.strerror or exc}") from None
    return directory.resolve()


def utf8_args(args: list[str]) -> None:
    """Refuse a command line with bytes that are not UTF-8 (they reach Python as lone surrogates)."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"argument {arg.encode('utf-8', 'surrogateescape')[:40]!r} is not valid UTF-8") from None
