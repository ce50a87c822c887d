"""Bad data the simulators can serve on request: what real APIs send now and then.

Toggl (``TogglSimulatorOptions.bad_rows``): the first page of every search (without a
cursor) also carries :data:`BAD_ROW_KINDS` — rows with missing fields, a null description,
a negative duration and a running entry (no stop) — and every page that is not the last also
repeats the next page's first entry, so that entry's id shows up on two pages. The
synthetic rows belong to the token's own user and start at noon UTC of the middle day of the
searched range (inside the range whatever margin a client fetches with).

Fibery (``FiberySimulatorOptions.extra_comments``): chosen entities get thousands of extra
comments, each with its own document.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from volt_agent.sandbox import _text
from volt_agent.sandbox._fibery_data import fibery_timestamp, random_uuid
from volt_agent.sandbox.records import TogglUserRecord

BAD_ID_BASE = 9_900_000_000
"""Ids of synthetic entries; far above the generator's, so they never collide."""

BAD_ROW_KINDS: dict[str, str] = {
    "no_time_entries": "malformed_rows_dropped",
    "empty_time_entries": "malformed_rows_dropped",
    "entry_without_start": "malformed_rows_dropped",
    "row_without_user": "malformed_rows_dropped",
    "null_description": "null_descriptions",
    "negative_duration": "negative_durations_dropped",
    "running_entry": "running_entries_dropped",
}
"""Synthetic row → the ``FetchStatistics`` counter a client should raise for it."""

NULL_DESCRIPTION_SECONDS = 600
RUNNING_TIMER_SECONDS = 5400
"""How long the synthetic running timer has run when totals count it (``totals_count_running``)."""
"""Length of the one synthetic entry that is valid (it only lacks a description)."""


def _entry(entry_id: int, start: datetime, seconds: int, stop: datetime | None) -> dict[str, Any]:
    return {
        "id": entry_id,
        "seconds": seconds,
        "start": start.isoformat(),
        "stop": None if stop is None else stop.isoformat(),
        "at": (start + timedelta(seconds=max(seconds, 0))).isoformat(),
    }


def bad_rows(user: TogglUserRecord, day: date) -> list[dict[str, Any]]:
    """One row of each kind of :data:`BAD_ROW_KINDS`, in that order (row numbers from 1)."""
    noon = datetime.combine(day, time(12), tzinfo=UTC)
    base: dict[str, Any] = {
        "user_id": user.id,
        "username": user.fullname,
        "project_id": None,
        "task_id": None,
        "description": "Synthetic row",
        "billable": False,
        "tag_ids": [],
    }
    ids = iter(range(BAD_ID_BASE, BAD_ID_BASE + 100))

    def entry(seconds: int = 300, *, running: bool = False) -> dict[str, Any]:
        stop = None if running else noon + timedelta(seconds=seconds)
        return _entry(next(ids), noon, seconds, stop)

    without_start = entry()
    del without_start["start"]
    running = entry(-int(noon.timestamp()), running=True)  # Toggl: -start for a running entry
    rows = [
        dict(base),
        base | {"time_entries": []},
        base | {"time_entries": [without_start]},
        {k: v for k, v in base.items() if k != "user_id"} | {"time_entries": [entry()]},
        base | {"description": None, "time_entries": [entry(NULL_DESCRIPTION_SECONDS)]},
        base | {"time_entries": [entry(-120)]},
        base | {"time_entries": [running]},
    ]
    return [row | {"row_number": i + 1} for i, row in enumerate(rows)]


def with_extra_comments(
    entities: Mapping[str, Sequence[dict[str, Any]]],
    documents: Mapping[str, str],
    users: Sequence[dict[str, Any]],
    extra: Iterable[tuple[str, str, int]],
    seed: int,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Copies of ``entities`` and ``documents`` where each ``(type, public id, n)`` of
    ``extra`` has ``n`` more comments (the originals are left untouched)."""
    rng = random.Random(seed)
    wanted = {(type_key, public_id): count for type_key, public_id, count in extra}
    collections = {key: list(items) for key, items in entities.items()}
    docs = dict(documents)
    for (type_key, public_id), count in wanted.items():
        items = collections.get(type_key, [])
        for position, item in enumerate(items):
            if item.get("fibery/public-id") != public_id:
                continue
            comments = list(item.get("comments/comments", []))
            # the flood follows the entity's existing comments: its newest comments are new
            created = max(
                datetime.fromisoformat(str(c).replace("Z", "+00:00"))
                for c in (
                    item["fibery/creation-date"],
                    *(c["fibery/creation-date"] for c in comments),
                )
            )
            for index in range(count):
                secret = random_uuid(rng)
                docs[secret] = f"{_text.comment_text(rng)} (comment {index + 1} of {count})"
                author = rng.choice(users)
                comments.append(
                    {
                        "fibery/id": random_uuid(rng),
                        "fibery/creation-date": fibery_timestamp(
                            created + timedelta(minutes=index + 1)
                        ),
                        "comment/author": {
                            "fibery/id": author["fibery/id"],
                            "user/name": author["user/name"],
                            "user/email": author["user/email"],
                        },
                        "comment/document-secret": secret,
                    }
                )
            items[position] = item | {"comments/comments": comments}
    return collections, docs
