"""One verifying TLS context for every HTTP client of the process."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CA bundle, ``SSL_CERT_FILE`` honoured),
    built once: building one parses the bundle (25-40 ms of CPU), which would otherwise block
    the worker's event loop each time an activity opens a client."""
    return httpx.create_ssl_context()
