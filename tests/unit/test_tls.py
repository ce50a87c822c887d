"""Every API client of a process shares one verifying TLS context (building one blocks the
event loop for tens of milliseconds)."""

from __future__ import annotations

import ssl

from pydantic import SecretStr

from volt_agent.config import HttpSettings, LlmSettings
from volt_agent.reporting.llm_client import OpenAIChatClient
from volt_agent.sources.http import new_async_client
from volt_agent.tls import tls_context


async def test_clients_share_one_verifying_context() -> None:
    first, second = new_async_client(HttpSettings()), new_async_client(HttpSettings())
    async with first, second:
        contexts = [
            client._transport._pool._ssl_context  # type: ignore[attr-defined]
            for client in (first, second)
        ]
    assert contexts[0] is contexts[1] is tls_context()
    assert tls_context().verify_mode == ssl.CERT_REQUIRED
    assert tls_context().check_hostname


async def test_the_llm_client_uses_the_same_context() -> None:
    chat = OpenAIChatClient(LlmSettings(), SecretStr("sk-test"))
    async with chat._new_client() as client:
        pool = client._client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context is tls_context()
