"""A transport that makes Toggl's totals disagree with the report (the completeness check)."""

from __future__ import annotations

import json

import httpx


class SkewedTotals(httpx.AsyncBaseTransport):
    """``inner``, with the first ``times`` totals answers ``skew`` seconds off."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, skew: int, times: int) -> None:
        self.inner, self.skew, self.times = inner, skew, times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/totals") or self.times <= 0:
            return response
        self.times -= 1
        body = json.loads(await response.aread())
        body["seconds"] += self.skew
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()
