"""Point an OpenCode project at the scripted model: the provider block in `opencode.json`.

The block works offline: the `@ai-sdk/openai-compatible` provider is bundled
with OpenCode, `enabled_providers` keeps OpenCode from touching any other
provider, and permissions never `ask` (a headless session would wait forever).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from switchboard.errors import InvalidInput

PROVIDER = "local"
MODEL = "m1"

# Nothing asks: `ask` (and the `question` tool) would wait for a human forever.
# OpenCode's defaults ask for doom loops, paths outside the project and .env
# files, and a `*` rule does not override those, so each is named.
NEVER_ASK: dict[str, Any] = {
    "*": "allow",
    "external_directory": "allow",
    "doom_loop": "deny",
    "question": "deny",
    "read": {"*": "allow", "*.env": "deny", "*.env.*": "deny", "*.env.example": "allow"},
}


def provider_config(base_url: str, *, provider: str = PROVIDER, model: str = MODEL) -> dict[str, Any]:
    """The `opencode.json` settings that make `provider/model` the scripted model at `base_url`."""
    return {
        "$schema": "https://opencode.ai/config.json",
        "model": f"{provider}/{model}",
        "small_model": f"{provider}/{model}",
        "enabled_providers": [provider],
        "provider": {
            provider: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "switchboard scripted model",
                "options": {"baseURL": base_url, "apiKey": "scripted"},
                "models": {model: {"name": model}},
            }
        },
        "permission": json.loads(json.dumps(NEVER_ASK)),
        "autoupdate": False,
        "share": "disabled",
    }


def configure(directory: str | Path, base_url: str, *, provider: str = PROVIDER, model: str = MODEL) -> Path:
    """Merge the scripted-model block into `directory/opencode.json`; return the file's path.

    Other settings in an existing file are kept; the keys above are replaced.
    """
    directory = Path(directory).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "opencode.json"
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path} is not valid JSON ({exc}); fix or remove it first") from None
        if not isinstance(current, dict):
            raise InvalidInput(f"{path} does not hold a JSON object")
    block = provider_config(base_url, provider=provider, model=model)
    providers = {**(current.get("provider") or {}), **block.pop("provider")}
    current.update(block, provider=providers)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return path
