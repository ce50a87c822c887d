"""Small hand-made runs for the reporting tests: entries → ``aggregate`` → enriched entities."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import (
    Comment,
    EnrichedData,
    EnrichedEntity,
    TimeEntry,
    TogglAggregated,
    TogglUser,
)

START = date(2026, 11, 16)
END = date(2026, 11, 22)
PERIOD = (START, END)
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)

USERS = [
    TogglUser(id=10, email="anna@example.com", name="Anna Schmidt"),
    TogglUser(id=20, email="boris@example.com", name="Boris Petrov"),
    TogglUser(id=30, name="Chen Li"),
]


def entry(
    entry_id: int,
    user_id: int,
    description: str,
    seconds: int,
    offset_h: float = 0,
    *,
    start: datetime | None = None,
) -> TimeEntry:
    """An entry starting ``offset_h`` hours after ``T0``, or at ``start`` (its own zone)."""
    start = T0 + timedelta(hours=offset_h) if start is None else start
    return TimeEntry(
        id=entry_id,
        user_id=user_id,
        user_name=f"toggl-{user_id}",
        description=description,
        start=start,
        stop=start + timedelta(seconds=seconds),
        seconds=seconds,
    )


ENTRIES = [
    entry(1, 10, "Fix login #123 [Scrum] [Task] [Moneyball]", 3600),
    entry(2, 10, "Fix login #123 [Scrum] [Task] [Moneyball]", 1800, 24),
    entry(3, 10, "Crash on save #9 [Scrum] [Bug] [Moneyball]", 900, 2),
    entry(4, 10, "Daily standup", 900, 3),
    entry(5, 10, "Daily standup", 900, 27),
    entry(6, 10, "Code review", 3900, 28),
    entry(7, 20, "Roadmap #5 [Product] [Feature] [Core]", 37800, 0),
    entry(8, 20, "Fix login #123 [Scrum] [Task] [Moneyball]", 1800, 48),
    entry(9, 20, "Old cleanup #77 [Scrum] [Task] [Moneyball]", 2700, 50),
    entry(10, 20, "Loose ref #88", 600, 51),
    entry(11, 20, "Daily standup", 900, 52),
    entry(12, 30, "Hiring interviews", 5400, 1),
    entry(13, 30, "Daily standup", 900, 3),
]

ENTITIES = [
    EnrichedEntity(
        type_key="Scrum/Task",
        public_id="123",
        status="found",
        name="Fix login redirect",
        state="In Progress",
        created=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        modified=datetime(2026, 11, 17, 15, 0, tzinfo=UTC),
        assignees=["Anna Schmidt"],
        description="Users are sent to `/home` after login.\n\nExpected: the page they came from.",
        comments=[
            Comment(author="Boris Petrov", created=datetime(2026, 11, 18, tzinfo=UTC), text="LGTM"),
            Comment(
                author="Anna Schmidt",
                created=datetime(2026, 11, 16, tzinfo=UTC),
                text="Repro on staging",
            ),
        ],
        comment_count=2,
        fields={"estimate": 3, "sprint": "Sprint 12"},
    ),
    EnrichedEntity(
        type_key="Scrum/Bug",
        public_id="9",
        status="found",
        name="Crash on save",
        state="Done",
        modified=datetime(2026, 11, 16, 12, 0, tzinfo=UTC),
        closed_at=datetime(2026, 11, 16, 10, 30, tzinfo=UTC),
        assignees=["ANNA@example.com"],
        fields={"severity": "High"},
    ),
    EnrichedEntity(
        type_key="Product/Feature",
        public_id="5",
        status="found",
        name="Q1 roadmap",
        state="In Progress",
    ),
    EnrichedEntity(type_key="Scrum/Task", public_id="77", status="not_found"),
    EnrichedEntity(
        type_key="Unknown/Unknown", public_id="88", status="error", error="HTTP 500 from Fibery"
    ),
]


def aggregated(entries: list[TimeEntry] | None = None) -> TogglAggregated:
    return aggregate(ENTRIES if entries is None else entries, USERS, START, END)


def enriched(
    entries: list[TimeEntry] | None = None, entities: list[EnrichedEntity] | None = None
) -> EnrichedData:
    return EnrichedData(
        aggregated=aggregated(entries), entities=ENTITIES if entities is None else entities
    )
