"""Every test starts from a clean environment: nothing of the developer's shell leaks in."""

from __future__ import annotations

import os

from taskagent.llm.factory import ProviderSettings

# As if the developer's shell had these set when the suite started.
os.environ.setdefault("OPENAI_API_KEY", "sk-from-the-developers-shell")
os.environ.setdefault("TASKAGENT_MODULES", "somebody.elses.module")


def test_provider_keys_and_settings_of_the_shell_do_not_reach_a_test():
    leaked = [n for n in os.environ if n.startswith(("OPENAI_", "GEMINI_", "TASKAGENT_"))]
    assert leaked == []
    assert ProviderSettings().openai_api_key is None
