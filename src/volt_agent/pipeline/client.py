"""The Temporal client of every entry point: embedded dev server or ``TEMPORAL_ADDRESS``.

The client carries the pydantic data converter, so workflow and activity inputs and results
may be pydantic models. TLS and an API key apply to an external server only and come from
the environment (see ``docs/TEMPORAL.md``):

    TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY   client certificate and key (PEM paths), for mTLS
    TEMPORAL_TLS_CA                       server root CA (PEM path); default: system roots
    TEMPORAL_TLS_SERVER_NAME              name to verify the server certificate against
    TEMPORAL_TLS                          "true": TLS without a client certificate
    TEMPORAL_API_KEY                      API key (Temporal Cloud); implies TLS
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from volt_agent.config import TemporalSettings
from volt_agent.errors import ConfigError
from volt_agent.pipeline.devserver import DevServerInfo, ensure_dev_server

CONNECT_TIMEOUT_SECONDS = 10.0


async def connect(
    settings: TemporalSettings,
    data_dir: Path,
    *,
    start_server: bool = True,
    env: Mapping[str, str] | None = None,
    runtime: Runtime | None = None,
) -> tuple[Client, DevServerInfo]:
    """A connected client for ``settings.namespace`` and where it points.

    With ``settings.address`` unset the embedded dev server is reused or (``start_server``)
    started, see :func:`~volt_agent.pipeline.devserver.ensure_dev_server`. ``env`` (default:
    the process environment) supplies the TLS settings for an external server. ``runtime``
    (default: the SDK's) is where the client's and its workers' metrics go.
    Raises ``ConfigError`` with one line when Temporal cannot be reached, TLS files cannot be
    read, or the namespace does not exist.
    """
    info = await asyncio.to_thread(ensure_dev_server, settings, data_dir, start=start_server)
    tls: bool | TLSConfig = False
    api_key: str | None = None
    if not info.embedded:
        tls, api_key = tls_from_env(os.environ if env is None else env)
    try:
        client = await asyncio.wait_for(
            Client.connect(
                info.address,
                namespace=settings.namespace,
                data_converter=pydantic_data_converter,
                tls=tls,
                api_key=api_key,
                runtime=runtime,
            ),
            CONNECT_TIMEOUT_SECONDS,
        )
    except (RuntimeError, TimeoutError) as exc:
        reason = _reason(exc)
        if info.embedded:
            raise ConfigError(
                f"cannot reach the embedded Temporal dev server at {info.address}: {reason}"
            ) from exc
        raise ConfigError(
            f"cannot reach Temporal at {info.address}: {reason} — check TEMPORAL_ADDRESS"
            " or unset it to use the embedded dev server"
        ) from exc
    await _check_namespace(client, info.address)
    return client, info


def tls_from_env(env: Mapping[str, str]) -> tuple[bool | TLSConfig, str | None]:
    """``(tls, api_key)`` for ``Client.connect`` from the ``TEMPORAL_TLS_*`` variables."""
    cert, key = env.get("TEMPORAL_TLS_CERT", ""), env.get("TEMPORAL_TLS_KEY", "")
    ca, server_name = env.get("TEMPORAL_TLS_CA", ""), env.get("TEMPORAL_TLS_SERVER_NAME", "")
    api_key = env.get("TEMPORAL_API_KEY", "").strip() or None
    if bool(cert) != bool(key):
        raise ConfigError("set both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY, or neither")
    if cert or ca or server_name:
        return TLSConfig(
            server_root_ca_cert=_read_pem(ca, "TEMPORAL_TLS_CA") if ca else None,
            client_cert=_read_pem(cert, "TEMPORAL_TLS_CERT") if cert else None,
            client_private_key=_read_pem(key, "TEMPORAL_TLS_KEY") if key else None,
            domain=server_name or None,
        ), api_key
    wants_tls = env.get("TEMPORAL_TLS", "").strip().lower() in ("1", "true", "yes")
    return wants_tls or api_key is not None, api_key


def _read_pem(path: str, variable: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from exc


def _reason(exc: BaseException) -> str:
    """The useful part of the SDK's connect error (it nests Rust error dumps)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS:.0f} s"
    text = str(exc)
    found = re.findall(r'message: "([^"]+)"', text)
    if found:
        return str(found[-1])
    return text.removeprefix("Failed client connect: ").splitlines()[0][:200] if text else "error"


async def _check_namespace(client: Client, address: str) -> None:
    """A missing namespace fails here with one line instead of at the first workflow start."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ConfigError(
                f"Temporal namespace {client.namespace!r} does not exist at {address}:"
                " create it or fix TEMPORAL_NAMESPACE"
            ) from exc
        # Other refusals (e.g. a key scoped to one namespace) are left to the real calls.
