from datetime import date

from volt_agent.domain.models import CompletenessCheck, FetchStatistics
from volt_agent.errors import FatalSourceError, RetryableSourceError
from volt_agent.pipeline.toggl_fetch import (
    FetchMismatchError,
    IncompleteFetchError,
    mismatch_error,
)


def check(expected: int, fetched: int, running_timers: int = 0) -> CompletenessCheck:
    return CompletenessCheck(
        start_date=date(2026, 11, 15),
        end_date=date(2026, 11, 23),
        expected_seconds=expected,
        fetched_seconds=fetched,
        running_timers=running_timers,
    )


def test_only_a_surplus_with_running_timers_set_aside_is_accepted_without_agreement() -> None:
    assert check(3600, 3600).accepted
    assert check(3600, 3600, running_timers=1).agreed
    assert check(5400, 3600, running_timers=1).accepted
    assert not check(5400, 3600, running_timers=1).agreed
    assert not check(5400, 3600).accepted  # no running timer: entries were lost
    assert not check(3600, 5400, running_timers=1).accepted  # more fetched than Toggl counts


def test_the_first_disagreement_is_retryable_and_gives_both_numbers() -> None:
    error = mismatch_error(check(3600, 3000), FetchStatistics(), first=True)
    assert isinstance(error, IncompleteFetchError)
    assert isinstance(error, RetryableSourceError)
    assert str(error) == (
        "Toggl: the report totals for 2026-11-15..2026-11-23 say 3600 s, the fetched entries"
        " sum to 3000 s; fetching everything again"
    )


def test_the_second_disagreement_is_fatal_and_says_what_may_explain_it() -> None:
    stats = FetchStatistics(running_entries_dropped=1, malformed_rows_dropped=2)
    short = mismatch_error(check(3600, 3000), stats, first=False)
    assert isinstance(short, FetchMismatchError)
    assert isinstance(short, FatalSourceError)
    message = str(short)
    assert "\n" not in message
    assert "say 3600 s, the fetched entries sum to 3000 s again after a fresh fetch" in message
    assert "lost entries, or 2 unreadable row(s)" in message
    extra = str(mismatch_error(check(3000, 3600), stats, first=False))
    assert "served entries its totals do not count" in extra
    assert "running timer" not in extra
