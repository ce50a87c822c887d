"""Retry, rate-limit, quota and error mapping of ``ApiRequester`` over ``httpx.MockTransport``."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN, FakeSleep, Recorder
from volt_agent.config import HttpSettings
from volt_agent.errors import (
    AuthError,
    BadRequestError,
    FeatureNotEnabledError,
    QuotaWaitError,
    RateLimitedError,
    ResponseFormatError,
    RetryableSourceError,
)
from volt_agent.sources.http import (
    ApiProfile,
    ApiRequester,
    FiberyAuth,
    TogglAuth,
    decode_json,
    waits_at_most,
)
from volt_agent.sources.parsing import parse_retry_after

NOW = datetime(2025, 9, 8, 12, 0, tzinfo=UTC).timestamp()
URL = "https://api.test/thing"
HTTP = HttpSettings(max_retries=3, backoff_initial_seconds=0.5, backoff_max_seconds=30)
PROFILE = ApiProfile(
    source="Toggl",
    credentials_env="TOGGL_API_TOKEN",
    requests_per_second=1000,
    max_quota_wait_seconds=120,
    quota_setting="toggl.max_quota_wait_seconds",
)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def requester(recorder: Recorder, fake_sleep: FakeSleep) -> AsyncIterator[ApiRequester]:
    async with recorder.client() as client:
        yield ApiRequester(
            client,
            PROFILE,
            HTTP,
            TogglAuth(SecretStr(TOKEN)),
            secret=SecretStr(TOKEN),
            sleep=fake_sleep,
            rng=random.Random(7),
            clock=lambda: NOW,
        )


async def get(requester: ApiRequester) -> object:
    return (await requester.request_json("GET", URL, endpoint="thing")).data


async def test_toggl_auth_is_basic_token_and_literal_api_token(
    requester: ApiRequester, recorder: Recorder
) -> None:
    await get(requester)
    scheme, encoded = recorder.requests[0].headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{TOKEN}:api_token"


async def test_fibery_auth_is_token_header(recorder: Recorder) -> None:
    async with recorder.client() as client:
        fibery = ApiRequester(client, PROFILE, HTTP, FiberyAuth(SecretStr(TOKEN)))
        await fibery.request_json("POST", URL, endpoint="commands", json_body=[])
    assert recorder.requests[0].headers["Authorization"] == f"Token {TOKEN}"


def test_auth_repr_hides_the_token() -> None:
    assert TOKEN not in repr(TogglAuth(SecretStr(TOKEN)))
    assert TOKEN not in repr(FiberyAuth(SecretStr(TOKEN)))


async def test_429_is_retried_after_the_retry_after_seconds(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    recorder.script = [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(429, headers={"Retry-After": "3"}),
    ]
    assert await get(requester) == {"ok": True}
    assert fake_sleep.delays == [2.0, 3.0]
    assert requester.stats.total == 3
    assert requester.stats.rate_limited == 2
    assert requester.stats.retries == 2


async def test_retry_after_as_http_date(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    later = format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True)
    recorder.script = [httpx.Response(429, headers={"Retry-After": later})]
    await get(requester)
    assert fake_sleep.delays == [7.0]


async def test_429_retry_after_longer_than_backoff_max_gives_up_at_once(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    recorder.script = [httpx.Response(429, headers={"Retry-After": "600"})]
    with pytest.raises(RateLimitedError) as caught:
        await get(requester)
    assert caught.value.retry_after == 600
    assert fake_sleep.delays == []
    assert len(recorder.requests) == 1


async def test_429_until_retries_run_out_raises_rate_limited(
    requester: ApiRequester, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(429, headers={"Retry-After": "1"})] * 4
    with pytest.raises(RateLimitedError, match="4 attempts"):
        await get(requester)
    assert len(recorder.requests) == 4


async def test_5xx_retried_with_jittered_exponential_backoff_then_exhausted(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    recorder.script = [httpx.Response(503)] * 4
    with pytest.raises(RetryableSourceError) as caught:
        await get(requester)
    assert caught.value.status_code == 503
    assert len(recorder.requests) == 4
    assert len(fake_sleep.delays) == 3
    for retry, delay in enumerate(fake_sleep.delays):
        ceiling = 0.5 * 2**retry
        assert ceiling / 2 <= delay <= ceiling


async def test_backoff_is_capped_at_backoff_max(recorder: Recorder, fake_sleep: FakeSleep) -> None:
    http = HttpSettings(max_retries=6, backoff_initial_seconds=1, backoff_max_seconds=4)
    recorder.script = [httpx.Response(500)] * 6
    async with recorder.client() as client:
        requester = ApiRequester(
            client, PROFILE, http, TogglAuth(SecretStr(TOKEN)), sleep=fake_sleep
        )
        await requester.request_json("GET", URL, endpoint="thing")
    assert max(fake_sleep.delays) <= 4


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
    ],
)
async def test_timeouts_and_dropped_connections_are_retried(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep, fault: Exception
) -> None:
    recorder.script = [fault]
    assert await get(requester) == {"ok": True}
    assert len(recorder.requests) == 2
    assert len(fake_sleep.delays) == 1


async def test_connection_errors_exhausted_raise_retryable(
    requester: ApiRequester, recorder: Recorder
) -> None:
    recorder.script = [httpx.ConnectError("connection refused")] * 4
    with pytest.raises(RetryableSourceError, match="ConnectError"):
        await get(requester)


async def test_malformed_json_is_retried(requester: ApiRequester, recorder: Recorder) -> None:
    recorder.script = [httpx.Response(200, content=b'{"truncated": ')]
    assert await get(requester) == {"ok": True}
    assert requester.stats.retries == 1


async def test_malformed_json_every_time_raises_response_format_error(
    requester: ApiRequester, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(200, content=b"<html>oops</html>")] * 4
    with pytest.raises(ResponseFormatError, match="malformed JSON"):
        await get(requester)
    assert len(recorder.requests) == 4


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_are_fatal_and_never_show_the_token(
    requester: ApiRequester, recorder: Recorder, status: int
) -> None:
    recorder.script = [httpx.Response(status, text=f"Incorrect token {TOKEN}")]
    with pytest.raises(AuthError) as caught:
        await get(requester)
    message = str(caught.value)
    assert TOKEN not in message
    assert f"HTTP {status}" in message
    assert "TOGGL_API_TOKEN" in message
    assert len(recorder.requests) == 1


async def test_400_carries_the_api_message_on_one_truncated_line(
    requester: ApiRequester, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(400, json={"message": "bad\nrange " + "x" * 500})]
    with pytest.raises(BadRequestError) as caught:
        await get(requester)
    message = str(caught.value)
    assert "\n" not in message
    assert "bad range" in message
    assert len(message) < 300
    assert caught.value.status_code == 400


@pytest.mark.parametrize("status", [404, 422])
async def test_404_and_422_are_bad_requests(
    requester: ApiRequester, recorder: Recorder, status: int
) -> None:
    recorder.script = [httpx.Response(status, text="no such workspace")]
    with pytest.raises(BadRequestError, match="no such workspace"):
        await get(requester)


async def test_402_with_a_near_reset_waits_for_it(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    recorder.script = [httpx.Response(402, headers={"X-Toggl-Quota-Resets-In": "60"})]
    assert await get(requester) == {"ok": True}
    assert fake_sleep.delays == [60.0]
    assert requester.stats.quota_exceeded == 1
    assert requester.stats.quota_waits == 1


async def test_402_with_a_far_reset_is_a_retryable_wait_at_once(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    recorder.script = [httpx.Response(402, headers={"X-Toggl-Quota-Resets-In": "1800"})]
    with pytest.raises(QuotaWaitError) as caught:
        await get(requester)
    message = str(caught.value)
    assert "30 min" in message
    assert "12:30 UTC" in message
    assert message.endswith("it resets in 30 min (about 12:30 UTC)")
    assert "\n" not in message
    assert isinstance(caught.value, RetryableSourceError)
    assert caught.value.resets_in == 1800
    assert fake_sleep.delays == []


async def test_402_without_reset_header_waits_an_hour(
    requester: ApiRequester, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(402)]
    with pytest.raises(QuotaWaitError, match="did not say") as caught:
        await get(requester)
    assert caught.value.resets_in == 3600


async def test_a_quota_reset_beyond_the_callers_bound_is_not_waited(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    """An activity bounds each wait below its heartbeat timeout: a 60 s quota reset, within
    ``max_quota_wait_seconds``, then ends the request instead, carrying the reset time."""
    recorder.script = [httpx.Response(402, headers={"X-Toggl-Quota-Resets-In": "60"})]
    with waits_at_most(8), pytest.raises(QuotaWaitError) as caught:
        await get(requester)
    assert caught.value.resets_in == 60
    assert fake_sleep.delays == []


async def test_no_single_wait_is_longer_than_the_callers_bound(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    recorder.script = [httpx.Response(429, headers={"Retry-After": "20"})]
    with waits_at_most(8), pytest.raises(RateLimitedError) as limited:
        await get(requester)
    assert limited.value.retry_after == 20
    recorder.script = [httpx.Response(503)] * 3 + [httpx.Response(200, json={"ok": True})]
    with waits_at_most(1.5):
        assert await get(requester) == {"ok": True}
    assert fake_sleep.delays
    assert max(fake_sleep.delays) <= 1.5


async def test_a_quota_at_zero_is_waited_without_sending_a_sure_402(
    recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    """``Remaining: 0`` on a success: the next request waits for the reset first (or, past
    the bound, fails with the reset time) instead of spending a 402."""
    now = [NOW]
    recorder.script = [
        httpx.Response(200, json={}, headers={**QUOTA_HEADERS, "X-Toggl-Quota-Resets-In": "30"}),
        httpx.Response(200, json={"ok": True}, headers={"X-Toggl-Quota-Remaining": "4"}),
    ]
    async with recorder.client() as client:
        requester = ApiRequester(
            client, PROFILE, HTTP, TogglAuth(SecretStr(TOKEN)), sleep=fake_sleep,
            clock=lambda: now[0],
        )  # fmt: skip
        await requester.request_json("GET", URL, endpoint="time_entries")
        now[0] += 10
        with waits_at_most(5), pytest.raises(QuotaWaitError) as caught:
            await requester.request_json("GET", URL, endpoint="time_entries")
        assert caught.value.resets_in == 20
        assert len(recorder.requests) == 1
        assert await requester.request_json("GET", URL, endpoint="time_entries")
    assert fake_sleep.delays == [20.0]
    assert len(recorder.requests) == 2
    assert requester.stats.quota_exceeded == 0


FEATURE_GATE = "Workspace needs to have this feature enabled"
QUOTA_HEADERS = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "60"}


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(402, text=FEATURE_GATE, headers=QUOTA_HEADERS),
        httpx.Response(402, json=FEATURE_GATE, headers=QUOTA_HEADERS),
        httpx.Response(402, json={"message": FEATURE_GATE}),
    ],
    ids=["text-with-quota-headers", "json-string-with-quota-headers", "json-message"],
)
async def test_feature_gate_402_is_fatal_and_never_waited_as_quota(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep, response: httpx.Response
) -> None:
    recorder.script = [response]
    with pytest.raises(FeatureNotEnabledError) as caught:
        await requester.request_json("POST", URL, endpoint="totals")
    message = str(caught.value)
    assert caught.value.endpoint == "totals"
    assert caught.value.status_code == 402
    assert "totals (POST /thing)" in message
    assert FEATURE_GATE in message
    assert "paid Toggl plan" in message
    assert "admin" in message
    assert "quota" not in message
    assert "\n" not in message
    assert fake_sleep.delays == []
    assert len(recorder.requests) == 1
    stats = requester.stats
    assert (stats.feature_not_enabled, stats.quota_exceeded, stats.retries) == (1, 0, 0)


async def test_quota_402_with_a_body_is_still_a_quota_wait(
    requester: ApiRequester, recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    text = "Quota exceeded: the hourly API request quota of this plan is used up"
    recorder.script = [httpx.Response(402, text=text, headers=QUOTA_HEADERS)]
    assert await get(requester) == {"ok": True}
    assert fake_sleep.delays == [60.0]
    assert (requester.stats.quota_exceeded, requester.stats.feature_not_enabled) == (1, 0)


async def test_far_quota_402_with_a_body_is_quota_exceeded_not_a_feature(
    requester: ApiRequester, recorder: Recorder
) -> None:
    headers = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1800"}
    recorder.script = [httpx.Response(402, text="You have used your quota", headers=headers)]
    with pytest.raises(QuotaWaitError) as caught:
        await get(requester)
    assert not isinstance(caught.value, FeatureNotEnabledError)
    assert caught.value.resets_in == 1800


async def test_quota_headers_are_read_from_every_answer(
    requester: ApiRequester, recorder: Recorder
) -> None:
    def headers(remaining: str, resets_in: str) -> dict[str, str]:
        return {"X-Toggl-Quota-Remaining": remaining, "X-Toggl-Quota-Resets-In": resets_in}

    assert requester.stats.as_dict()["quota_remaining"] is None
    recorder.script = [
        httpx.Response(503, headers=headers("7", "900")),
        httpx.Response(200, json=[], headers=headers("6", "899")),
        httpx.Response(200, json=[], headers=headers("599", "3600")),
        httpx.Response(200, json=[], headers=headers("soon", "later")),
        httpx.Response(200, json=[]),
        httpx.Response(400, text="bad", headers=headers("598", "3599")),
    ]
    await get(requester)
    await get(requester)
    after_reset = requester.stats.as_dict()
    await get(requester)
    await get(requester)
    with pytest.raises(BadRequestError):
        await get(requester)
    stats = requester.stats.as_dict()
    assert (after_reset["quota_remaining"], after_reset["quota_resets_in"]) == (599, 3600.0)
    assert after_reset["quota_remaining_min"] == 6
    assert stats["quota_remaining"] == 598  # the refused answer's headers count too
    assert stats["quota_resets_in"] == 3599.0
    assert stats["quota_remaining_min"] == 6


async def test_the_user_quota_of_me_is_kept_apart_from_the_workspace_quota(
    recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    """Toggl counts /me against a per-user quota (30/h): its headers must not pose as the
    workspace budget a run draws from."""
    profile = dataclasses.replace(PROFILE, user_quota_endpoints=frozenset({"me"}))
    recorder.script = [
        httpx.Response(200, json={}, headers={"X-Toggl-Quota-Remaining": "596"}),
        httpx.Response(
            200,
            json={},
            headers={"X-Toggl-Quota-Remaining": "29", "X-Toggl-Quota-Resets-In": "3500"},
        ),
    ]
    async with recorder.client() as client:
        requester = ApiRequester(
            client, profile, HTTP, TogglAuth(SecretStr(TOKEN)), sleep=fake_sleep
        )
        await requester.request_json("GET", URL, endpoint="time_entries")
        await requester.request_json("GET", URL, endpoint="me")
    stats = requester.stats.as_dict()
    assert (stats["quota_remaining"], stats["quota_remaining_min"]) == (596, 596)
    assert stats["quota_resets_in"] is None
    assert (stats["user_quota_remaining"], stats["user_quota_resets_in"]) == (29, 3500.0)


async def test_requests_are_counted_per_endpoint(
    requester: ApiRequester, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(500)]
    await requester.request_json("GET", URL, endpoint="me")
    await requester.request_json("GET", URL, endpoint="users")
    assert requester.stats.total == 3
    assert requester.stats.by_endpoint == {"me": 2, "users": 1}
    assert requester.stats.as_dict()["by_endpoint"] == {"me": 2, "users": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("Mon, 08 Sep 2025 12:00:10 GMT", 10.0),
        ("Mon, 08 Sep 2025 11:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


class CountingLimiter:
    """Stands in for ``AsyncLimiter``: counts acquisitions."""

    def __init__(self) -> None:
        self.entered = 0

    async def __aenter__(self) -> None:
        self.entered += 1

    async def __aexit__(self, *exc_info: object) -> None:
        return None


async def test_every_attempt_goes_through_the_rate_limiter(
    recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    limiter = CountingLimiter()
    recorder.script = [httpx.Response(503), httpx.Response(429)]
    async with recorder.client() as client:
        requester = ApiRequester(
            client, PROFILE, HTTP, TogglAuth(SecretStr(TOKEN)), sleep=fake_sleep, limiter=limiter
        )
        await requester.request_json("GET", URL, endpoint="thing")
    assert limiter.entered == 3


async def test_retries_are_logged_without_the_token(
    requester: ApiRequester, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="volt_agent.sources")
    recorder.script = [httpx.Response(503), httpx.ConnectError(f"refused for {TOKEN}")]
    await get(requester)
    assert "retry 1/3" in caplog.text
    assert "retry 2/3" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"rows": [{"id": 1, "description": "caf\\u00e9 \\ud83c\\udf89"}], "n": 1.5e3}',
        b'{"lone": "\\ud800", "big": 123456789012345678901234567890}',  # only json.loads
        '{"ünïcødé": [true, false, null, -0.25]}'.encode(),
        b"  []  ",
    ],
)
def test_a_body_decodes_as_the_standard_library_decodes_it(body: bytes) -> None:
    assert decode_json(body) == json.loads(body)


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": 1,}', b"NaN garbage", b"\xff\xfe{}"])
def test_a_body_that_is_not_json_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match=r".+"):
        decode_json(body)
