"""`served`: a real `switchboard serve` process for a test, on a free port."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SB = [sys.executable, "-m", "switchboard"]


class Served:
    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process, self.url = process, url


@pytest.fixture
def served(home: Path, tmp_path: Path) -> Iterator:
    """`served(*flags)`: a `switchboard serve --port 0 --json` process and its URL (its log
    in `serve.log` beside the home)."""
    started: list[subprocess.Popen] = []
    log = tmp_path / "serve.log"

    def start(*flags: str) -> Served:
        with log.open("a") as err:
            process = subprocess.Popen(
                [*SB, "serve", "--port", "0", "--json", *flags], stdout=subprocess.PIPE, stderr=err, text=True
            )
        started.append(process)
        lines = []
        while not "".join(lines).rstrip().endswith("}"):
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"serve exited: {log.read_text()}")
            lines.append(line)
        return Served(process, json.loads("".join(lines))["url"])

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
