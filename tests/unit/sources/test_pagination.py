"""The cursor state machine of the detailed report, without any HTTP."""

from __future__ import annotations

import json

import pytest

from volt_agent.errors import ResponseFormatError, UserInputError
from volt_agent.sources.pagination import (
    HeaderPaginator,
    PageCursor,
    smaller_page_size,
)

NEXT = {"X-Next-ID": "102", "X-Next-Row-Number": "3", "X-Next-Timestamp": "1757332800"}


def paginator(windows: int = 1, start: PageCursor | None = None) -> HeaderPaginator:
    return HeaderPaginator(windows, start, source="Toggl")


def test_a_follow_up_sends_the_row_number_alone_until_told_otherwise() -> None:
    cursor = PageCursor(first_id=102, first_row_number=3, first_timestamp=9)
    assert cursor.body_fields() == {"first_row_number": 3}
    with_id = cursor.model_copy(update={"with_id": True})
    assert with_id.body_fields() == {"first_id": 102, "first_row_number": 3, "first_timestamp": 9}
    assert PageCursor(first_id=7).body_fields() == {"first_id": 7}  # no row number to send
    assert PageCursor().body_fields() == {}


def test_the_cursor_survives_json_with_its_form_and_page_size() -> None:
    cursor = PageCursor(window_index=1, first_id=5, first_row_number=51, with_id=True, page_size=50)
    stored = json.loads(json.dumps(cursor.model_dump(mode="json")))
    assert PageCursor.model_validate(stored) == cursor


def test_advance_carries_the_form_and_page_size_to_the_next_page_and_window() -> None:
    pages = paginator(windows=2, start=PageCursor(with_id=True, page_size=200))
    following = pages.advance(NEXT)
    assert following == PageCursor(
        first_id=102, first_row_number=3, first_timestamp=1757332800, with_id=True, page_size=200
    )
    assert pages.advance({}) == PageCursor(window_index=1, with_id=True, page_size=200)
    assert pages.advance({}) is None
    with pytest.raises(RuntimeError):
        pages.advance({})


def test_x_is_final_is_not_a_toggl_header_and_is_ignored() -> None:
    pages = paginator()
    assert pages.advance({**NEXT, "X-Is-Final": "true"}) is not None


def test_the_first_page_of_a_window_is_always_right() -> None:
    pages = paginator()
    assert pages.check_page(None, 0)
    assert pages.check_page([1], 1)


def test_a_page_that_starts_elsewhere_is_asked_again_with_first_id() -> None:
    pages = paginator()
    pages.advance(NEXT)
    assert pages.check_page([100, 101], 2) is False
    assert pages.current is not None
    assert pages.current.with_id
    assert pages.current.body_fields() == {
        "first_id": 102,
        "first_row_number": 3,
        "first_timestamp": 1757332800,
    }
    assert pages.check_page([102], 2)
    assert pages.advance({"X-Next-ID": "104", "X-Next-Row-Number": "5"}) == PageCursor(
        first_id=104, first_row_number=5, with_id=True
    )


def test_a_grouped_row_holding_the_promised_entry_is_the_right_page() -> None:
    pages = paginator()
    pages.advance(NEXT)
    assert pages.check_page([102, 250, 377], 1)


def test_an_empty_page_after_a_promise_is_asked_again_then_an_error() -> None:
    pages = paginator()
    pages.advance(NEXT)
    assert pages.check_page(None, 0) is False
    with pytest.raises(ResponseFormatError) as caught:
        pages.check_page(None, 0)
    message = str(caught.value)
    assert "\n" not in message
    assert "promised more rows (row 3, time entry 102)" in message
    assert "came back empty" in message
    assert "first_id" in message


def test_a_page_still_starting_elsewhere_with_first_id_is_an_error() -> None:
    pages = paginator(start=PageCursor(first_id=102, first_row_number=3, with_id=True))
    with pytest.raises(ResponseFormatError, match="starts with time entry 100 instead"):
        pages.check_page([100], 2)


def test_without_x_next_id_only_an_empty_page_can_be_caught() -> None:
    pages = paginator()
    pages.advance({"X-Next-Row-Number": "3"})
    assert pages.check_page([100], 2)  # nothing promised to compare with
    with pytest.raises(ResponseFormatError, match="came back empty"):
        pages.check_page(None, 0)


def test_a_repeated_position_is_a_loop_whatever_the_form() -> None:
    pages = paginator()
    pages.advance(NEXT)
    pages.check_page([1], 2)  # switches to the id form: same position
    with pytest.raises(ResponseFormatError, match="pagination loop"):
        pages.advance(NEXT)


def test_use_page_size_applies_to_this_page_and_the_next() -> None:
    pages = paginator()
    pages.use_page_size(50)
    assert pages.current == PageCursor(page_size=50)
    assert pages.advance(NEXT) is not None
    assert pages.current is not None
    assert pages.current.page_size == 50


def test_a_resume_cursor_outside_the_range_is_refused() -> None:
    with pytest.raises(UserInputError, match="cannot resume"):
        paginator(windows=1, start=PageCursor(window_index=1))


@pytest.mark.parametrize(
    ("size", "smaller"), [(5000, 1000), (1000, 200), (500, 200), (200, 50), (50, None), (7, None)]
)
def test_page_size_steps(size: int, smaller: int | None) -> None:
    assert smaller_page_size(size) == smaller
