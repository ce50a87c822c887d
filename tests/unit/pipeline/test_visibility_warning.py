"""The run's warning for a Toggl token that sees only its own entries (issue 12: the CLI no
longer asks Toggl for it before the start)."""

from __future__ import annotations

import pytest

from volt_agent.metrics import WARNING_KINDS
from volt_agent.pipeline.types import FetchResult
from volt_agent.pipeline.workflow import NOT_ADMIN, _visibility_warning


def fetched(token_is_admin: bool | None) -> FetchResult:
    return FetchResult(entries=3, users=1, requests=4, pages=1, token_is_admin=token_is_admin)


def test_a_member_token_is_one_line_warning_of_its_own_kind() -> None:
    warning = _visibility_warning(fetched(False))
    assert warning is not None
    assert warning.startswith(f"{NOT_ADMIN}: ")
    assert "\n" not in warning
    assert "only that user" in warning
    assert NOT_ADMIN in WARNING_KINDS


@pytest.mark.parametrize("token_is_admin", [True, None])
def test_an_admin_or_unknown_visibility_is_no_warning(token_is_admin: bool | None) -> None:
    assert _visibility_warning(fetched(token_is_admin)) is None
