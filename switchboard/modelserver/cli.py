"""`switchboard model`: serve the scripted model, point a project at it, try a script."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from switchboard.cliopts import JsonFlag, LogLevel, LogLevelOpt, QuietOpt, VerboseOpt, part_app, setup_logging
from switchboard.errors import InvalidInput
from switchboard.modelserver.configure import MODEL, PROVIDER, configure as write_config
from switchboard.modelserver.script import Script
from switchboard.modelserver.server import ScriptedModel
from switchboard.output import print_fields, print_json

app = part_app()

DEFAULT_PORT = 4140

ScriptOpt = Annotated[Optional[Path], typer.Option("--script", help="Rules file, YAML or JSON [default: echo].")]
ProviderOpt = Annotated[str, typer.Option("--provider", help="Provider id in opencode.json.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Model id in opencode.json.")]


def _script(path: Path | None) -> Script:
    return Script.load(path) if path else Script()


@app.command()
def serve(
    script: ScriptOpt = None,
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.", min=0, max=65535)] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    configure: Annotated[
        Optional[list[Path]],
        typer.Option("--configure", help="Also point this project directory at the server (repeatable)."),
    ] = None,
    provider: ProviderOpt = PROVIDER,
    model: ModelOpt = MODEL,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = 0,
    log_level: LogLevelOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Serve the scripted model in the foreground until Ctrl-C (or SIGTERM)."""
    setup_logging(verbose, quiet, log_level, default=LogLevel.WARNING)
    try:
        server = ScriptedModel(_script(script), host=host, port=port, models=[model])
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for directory in configure or []:
        write_config(directory, server.base_url, provider=provider, model=model)
    if as_json:  # one line, so that a parent process can read it before the server blocks
        typer.echo(
            json.dumps(
                {
                    "base_url": server.base_url,
                    "port": server.port,
                    "rules": len(server.script.rules),
                    "model": f"{provider}/{model}",
                }
            )
        )
    else:
        typer.echo(f"scripted model at {server.base_url} ({len(server.script.rules)} rules + echo); Ctrl-C stops")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _exit)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command()
def configure(
    directory: Annotated[Path, typer.Argument(help="Project directory; its opencode.json is created or updated.")],
    url: Annotated[Optional[str], typer.Option(help="The model server's base URL, ending in /v1.")] = None,
    port: Annotated[
        int, typer.Option(help="Port of a local model server (when no --url).", min=1, max=65535)
    ] = DEFAULT_PORT,
    provider: ProviderOpt = PROVIDER,
    model: ModelOpt = MODEL,
    as_json: JsonFlag = False,
) -> None:
    """Write the scripted-model provider into DIRECTORY/opencode.json (other settings are kept)."""
    base_url = (url or f"http://127.0.0.1:{port}/v1").rstrip("/")
    path = write_config(directory, base_url, provider=provider, model=model)
    if as_json:
        print_json({"config": str(path), "base_url": base_url, "model": f"{provider}/{model}"})
    else:
        typer.echo(f"{path}: model {provider}/{model} at {base_url}")


@app.command()
def answer(
    text: Annotated[str, typer.Argument(help="The latest message's text.")],
    script: ScriptOpt = None,
    role: Annotated[str, typer.Option(help="Role of the latest message: user or tool.")] = "user",
    turn: Annotated[int, typer.Option(help="Model answers since the last user message.", min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Show what the script answers to TEXT, without a server: for writing scripts."""
    messages = [{"role": "user", "content": text if role == "user" else "(prompt)"}]
    messages += [{"role": "assistant", "content": ""}] * turn
    if role == "tool":
        messages.append({"role": "tool", "content": text})
    elif role != "user":
        raise InvalidInput(f"role must be user or tool, got {role!r}")
    chosen = _script(script).answer(messages)
    calls = [{"name": c.name, "arguments": c.arguments} for c in chosen.tool_calls]
    if as_json:
        print_json({"rule": chosen.rule, "text": chosen.text, "tool_calls": calls, "delay": chosen.delay})
    else:
        print_fields(
            [
                ("rule", chosen.rule),
                ("delay", chosen.delay or None),
                *[("tool", f"{c['name']} {json.dumps(c['arguments'])}") for c in calls],
            ],
            body=chosen.text or None,
        )
