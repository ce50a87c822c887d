"""Whether report data may leave for an LLM: only when ``llm.provider`` is ``openai``.

A key in the environment alone never sends data: ``template`` (the default) and ``auto``
(kept so old config files load; it now means template) use the built-in template writer.
"""

from __future__ import annotations

from pydantic import SecretStr

from volt_agent.config import LlmSettings


def uses_llm(settings: LlmSettings) -> bool:
    """True when the config opts in to the LLM writer (``llm.provider: openai``)."""
    return settings.provider == "openai"


def egress_notice(settings: LlmSettings, key: SecretStr | None) -> str | None:
    """One line when ``OPENAI_API_KEY`` is set but the config does not opt in; else ``None``."""
    if uses_llm(settings) or key is None or not key.get_secret_value():
        return None
    if settings.provider == "auto":
        return (
            "OPENAI_API_KEY is set but llm.provider is auto, which now means template:"
            " reports are written without an LLM; set llm.provider: openai to use it"
        )
    return (
        "OPENAI_API_KEY is set but llm.provider is template: reports are written without"
        " an LLM; set llm.provider: openai to use it"
    )
