"""The scripted model: an offline, free, OpenAI-compatible model that answers from rules.

It serves the tests, the demo and users who want to try dispatch flows offline.
"""

from switchboard.modelserver.configure import configure, provider_config
from switchboard.modelserver.script import Answer, Rule, Script, ToolCall
from switchboard.modelserver.server import ScriptedModel

__all__ = ["Answer", "Rule", "Script", "ScriptedModel", "ToolCall", "configure", "provider_config"]
