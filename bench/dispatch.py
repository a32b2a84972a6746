"""Dispatch: N prompts three ways against the same scripted model (zero latency).

1. cold `opencode run "prompt"`, one after another — the reference's method 1:
   every prompt starts OpenCode from scratch;
2. `opencode run --attach URL "prompt"`, one after another, against one warm
   `opencode serve` started in the project directory (the reference's method 2;
   in OpenCode 1.18.33 `--attach` takes the server's directory, and with
   `--dir` it does not print the answer);
3. switchboard's client, all N in parallel on that server: create a session,
   `prompt_async`, follow the event stream until idle, read the answer.

Each answer is checked. Prints each wall time and the ratios.

    python bench/dispatch.py [--prompts 20] [--bin PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from switchboard.config import Settings
from switchboard.modelserver import ScriptedModel, configure
from switchboard.opencode import ServerDown, TimedOut, find_binary
from switchboard.opencode.sandbox import isolated_env
from switchboard.opencode.server import QUIET_ENV, Endpoint

# `opencode run` quotes a prompt that holds spaces, hence no anchors.
SCRIPT = [{"match": r"say ([\w ]+)", "reply": "{1}"}]


def _prompt(i: int) -> str:
    return f"say answer number {i}"


def _check(i: int, output: str, errors: str = "") -> None:
    if f"answer number {i}" not in output:
        raise SystemExit(f"prompt {i}: unexpected answer {output!r} {errors[-500:]}")


def serve(binary: str, workdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Endpoint]:
    """`opencode serve` in the project directory, with a password, as the reference runs it."""
    import secrets
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = Endpoint(f"http://127.0.0.1:{port}", secrets.token_urlsafe(16))
    process = subprocess.Popen(
        [binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env={**env, **target.env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with target.sync_client(timeout=2) as client:  # a request during start-up can hang
                client.health()
            return process, target
        except (ServerDown, TimedOut):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.2)


def cold(binary: str, workdir: Path, env: dict[str, str], count: int) -> float:
    env = {**env, "PWD": str(workdir)}  # OpenCode takes its project directory from PWD
    started = time.perf_counter()
    for i in range(count):
        done = subprocess.run(
            [binary, "run", _prompt(i)], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
        )
        _check(i, done.stdout, done.stderr)
    return time.perf_counter() - started


def attached(binary: str, workdir: Path, env: dict[str, str], target: Endpoint, count: int) -> float:
    env = {**env, **target.env()}
    started = time.perf_counter()
    for i in range(count):
        subprocess.run(
            [binary, "run", "--attach", target.url, _prompt(i)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    elapsed = time.perf_counter() - started
    # In 1.18.33 `opencode run --attach` prints no answer text: check the answers on the server.
    with target.sync_client(directory=workdir) as client:
        answers = "\n".join(client.last_turn(s.id).text for s in client.list_sessions())
    for i in range(count):
        _check(i, answers)
    return elapsed


def parallel(target: Endpoint, workdir: Path, count: int, width: int | None = None) -> float:
    """All `count` prompts at once, or at most `width` in flight."""

    async def main() -> float:
        limit = anyio.Semaphore(width or count)
        async with target.client(directory=workdir) as client:
            await client.health()

            async def one(i: int) -> None:
                async with limit:
                    session = await client.create_session(title=f"bench {i}")
                    turn = await client.run(session.id, _prompt(i), timeout=120)
                    _check(i, turn.text)

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(count):
                    group.start_soon(one, i)
            return time.perf_counter() - started

    return anyio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--bin", help="opencode binary [default: as switchboard finds it]")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp, ScriptedModel(SCRIPT) as model:
        root = Path(tmp)
        settings = Settings.load(root / "home")
        binary = find_binary(settings, args.bin)
        workdir = root / "project"
        # OpenCode takes its project directory from PWD, not from the real working directory.
        env = {**os.environ, **QUIET_ENV, **isolated_env(root / "opencode"), "PWD": str(workdir)}
        env.pop("OPENCODE_SERVER_PASSWORD", None)
        configure(workdir, model.base_url)
        n = args.prompts
        print(f"{n} prompts, scripted model at {model.base_url}, {binary}", flush=True)

        t_cold = cold(binary, workdir, env, n)
        print(f"cold `opencode run`, one after another:    {t_cold:7.2f} s  ({t_cold / n:.2f} s a prompt)", flush=True)

        server, target = serve(binary, workdir, env)
        try:
            with target.sync_client(directory=workdir) as client:  # a running server has a warm project
                client.message(client.create_session(title="warm-up").id, "say warm up")
            t_attach = attached(binary, workdir, env, target, n)
            print(
                f"`opencode run --attach`, one after another: {t_attach:7.2f} s  ({t_attach / n:.2f} s a prompt)",
                flush=True,
            )
            t_par = parallel(target, workdir, n)
            print(f"switchboard client, {n} in parallel:        {t_par:7.2f} s", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(
        f"ratios: cold / attach = {t_cold / t_attach:.1f}x, cold / switchboard = {t_cold / t_par:.1f}x, "
        f"attach / switchboard = {t_attach / t_par:.1f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
