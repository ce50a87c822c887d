import threading

import pytest

from volt_agent.sandbox._limits import LeakyBucket, SlidingWindowQuota
from volt_agent.sandbox.fibery_sim import FIBERY_ENDPOINTS
from volt_agent.sandbox.stats import RequestStats
from volt_agent.sandbox.toggl_sim import TOGGL_ENDPOINTS

from ._helpers import FakeClock


def test_stats_are_thread_safe() -> None:
    stats = RequestStats(["a"])

    def hammer() -> None:
        for _ in range(2000):
            stats.increment("a")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stats.get("a") == 16000


def test_snapshot_lists_known_names_at_zero_and_reset_clears() -> None:
    stats = RequestStats(["toggl.me"])
    stats.increment("status.200", 3)

    assert stats.snapshot() == {
        "faulted": 0,
        "quota_exceeded": 0,
        "rate_limited": 0,
        "requests": 0,
        "status.200": 3,
        "toggl.me": 0,
    }
    stats.reset()
    assert "status.200" not in stats.snapshot()
    assert stats.snapshot()["toggl.me"] == 0


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/reports/api/v3/workspace/42/search/time_entries", "toggl.search_time_entries"),
        ("GET", "/api/v9/me", "toggl.me"),
        ("GET", "/api/v9/workspaces/42/users", "toggl.workspace_users"),
        ("GET", "/api/v9/workspaces/42/projects", "toggl.projects"),
        ("DELETE", "/api/v9/me", "toggl.other"),
        ("GET", "/_sandbox/stats", None),
    ],
)
def test_toggl_endpoint_names(method: str, path: str, name: str | None) -> None:
    assert TOGGL_ENDPOINTS.resolve(method, path) == name


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/api/commands", "fibery.commands"),
        ("POST", "/api/documents/commands", "fibery.documents_commands"),
        ("GET", "/api/documents/abc-123", "fibery.document_get"),
        ("POST", "/api/graphql/space/Scrum", "fibery.other"),
    ],
)
def test_fibery_endpoint_names(method: str, path: str, name: str) -> None:
    assert FIBERY_ENDPOINTS.resolve(method, path) == name


def test_leaky_bucket_drains_at_its_rate() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(rate=2.0, capacity=1, clock=clock)

    assert bucket.try_acquire() is None
    assert bucket.try_acquire() == pytest.approx(0.5)
    clock.advance(0.25)
    assert bucket.try_acquire() == pytest.approx(0.25)
    clock.advance(0.25)
    assert bucket.try_acquire() is None


def test_refused_requests_do_not_fill_the_bucket() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(rate=1.0, capacity=2, clock=clock)
    assert [bucket.try_acquire() is None for _ in range(5)] == [True, True, False, False, False]
    clock.advance(1.0)
    assert bucket.try_acquire() is None


def test_sliding_window_quota() -> None:
    clock = FakeClock()
    quota = SlidingWindowQuota(2, clock, window_seconds=100)

    first = quota.try_acquire()
    clock.advance(30)
    second = quota.try_acquire()
    refused = quota.try_acquire()
    clock.advance(70)
    freed = quota.try_acquire()

    assert (first.admitted, first.remaining, first.resets_in) == (True, 1, 100)
    assert (second.admitted, second.remaining, second.resets_in) == (True, 0, 70)
    assert (refused.admitted, refused.remaining, refused.resets_in) == (False, 0, 70)
    assert (freed.admitted, freed.remaining, freed.resets_in) == (True, 0, 30)
