"""Fibery side of the sandbox workspace: entity types, their fields, and entity records.

Entities are plain dicts keyed by real Fibery field names (``fibery/id``, ``Scrum/Name``,
``workflow/state`` …) so the simulator's query evaluator can walk them generically.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from volt_agent.sandbox import _text

TYPE_WEIGHTS: dict[str, float] = {
    "Scrum/Task": 0.32,
    "Scrum/Bug": 0.14,
    "Scrum/Sub-bug": 0.08,
    "Scrum/Feature": 0.1,
    "Scrum/Build": 0.04,
    "Scrum/Sub-task": 0.14,
    "Scrum/Chore": 0.08,
    "Product/Feature": 0.1,
}
"""Share of entities per type; also the fixed iteration order of types."""

STATES: dict[str, tuple[tuple[str, float], ...]] = {
    "default": (
        ("Backlog", 0.08),
        ("To Do", 0.12),
        ("In Progress", 0.4),
        ("In Review", 0.15),
        ("Done", 0.2),
        ("Closed", 0.05),
    ),
    "Product/Feature": (
        ("Backlog", 0.2),
        ("To Do", 0.2),
        ("In Progress", 0.45),
        ("Done", 0.15),
    ),
}

_COMMON_FIELDS = (
    ("fibery/id", "fibery/uuid"),
    ("fibery/public-id", "fibery/text"),
    ("fibery/creation-date", "fibery/date-time"),
    ("fibery/modification-date", "fibery/date-time"),
    ("{space}/Name", "fibery/text"),
    ("workflow/state", "workflow/state_{type_key}"),
    ("{space}/Description", "Collaboration~Documents/Document"),
    ("assignments/assignees", "fibery/user"),
    ("comments/comments", "comments/comment"),
)

_SPECIFIC_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Scrum/Task": (
        ("Scrum/Estimate", "fibery/decimal"),
        ("Scrum/Sprint", "Scrum/Sprint"),
        ("Scrum/Started", "fibery/date"),
        ("Scrum/Completed", "fibery/date"),
    ),
    "Scrum/Bug": (
        ("Scrum/Severity", "Scrum/Severity"),
        ("Scrum/Steps to reproduce", "fibery/text"),
        ("Scrum/Resolved", "fibery/date"),
    ),
    "Scrum/Feature": (("Scrum/Release", "Scrum/Release"),),
    "Scrum/Build": (("Scrum/Version", "fibery/text"),),
    "Product/Feature": (
        ("Product/Priority", "Product/Priority"),
        ("Product/Planned Start", "fibery/date"),
        ("Product/Planned End", "fibery/date"),
        ("Product/Release", "Product/Release"),
    ),
}
_SPECIFIC_FIELDS["Scrum/Sub-bug"] = _SPECIFIC_FIELDS["Scrum/Bug"]
_SPECIFIC_FIELDS["Scrum/Sub-task"] = _SPECIFIC_FIELDS["Scrum/Task"]

_COLLECTION_FIELDS = frozenset({"assignments/assignees", "comments/comments"})


def schema_types() -> list[dict[str, Any]]:
    """The ``fibery/types`` list of a schema query answer for every sandbox type."""
    types: list[dict[str, Any]] = []
    for type_key in TYPE_WEIGHTS:
        space = type_key.split("/", 1)[0]
        fields = [
            {
                "fibery/name": name.format(space=space),
                "fibery/type": kind.format(type_key=type_key),
                "fibery/meta": {"fibery/collection?": name in _COLLECTION_FIELDS},
            }
            for name, kind in (*_COMMON_FIELDS, *_SPECIFIC_FIELDS.get(type_key, ()))
        ]
        types.append({"fibery/name": type_key, "fibery/fields": fields})
    types.append(
        {
            "fibery/name": "fibery/user",
            "fibery/fields": [
                {"fibery/name": "fibery/id", "fibery/type": "fibery/uuid"},
                {"fibery/name": "user/name", "fibery/type": "fibery/text"},
                {"fibery/name": "user/email", "fibery/type": "fibery/email"},
            ],
        }
    )
    return types


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fibery_timestamp(moment: datetime) -> str:
    """Fibery's date-time format: UTC with milliseconds and a ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class EntitySeed:
    """What the Toggl side needs to know about an entity before its record exists."""

    type_key: str
    public_id: str
    name: str
    project: str
    assignees: tuple[int, ...]
    """Indexes into the Fibery user list."""
    owner: int
    """Index of the Toggl user who mostly tracks time on it."""


@dataclass(slots=True)
class EntityBuilder:
    """Builds entity records and their collaboration documents.

    ``documents`` receives one markdown body per description and comment; ``new_secret``
    returns a document secret never returned before.
    """

    rng: random.Random
    fibery_users: list[dict[str, Any]]
    documents: dict[str, str]
    new_secret: Callable[[], str]
    period_start: datetime
    period_days: int

    def build(self, seed: EntitySeed) -> dict[str, Any]:
        rng = self.rng
        space, kind = seed.type_key.split("/", 1)
        created = self.period_start - timedelta(seconds=rng.randint(3600, 120 * 86400))
        period_end = self.period_start + timedelta(days=self.period_days)
        modified = created + (period_end - created) * rng.random()
        states = STATES.get(seed.type_key, STATES["default"])
        state = rng.choices([s for s, _ in states], [w for _, w in states])[0]
        description_secret = self.new_secret()
        self.documents[description_secret] = _text.markdown_description(rng, seed.name)
        entity: dict[str, Any] = {
            "fibery/id": random_uuid(rng),
            "fibery/public-id": seed.public_id,
            "fibery/creation-date": fibery_timestamp(created),
            "fibery/modification-date": fibery_timestamp(modified),
            f"{space}/Name": seed.name,
            "workflow/state": {"enum/name": state},
            f"{space}/Description": {"Collaboration~Documents/secret": description_secret},
            "assignments/assignees": [self.fibery_users[i] for i in seed.assignees],
            "comments/comments": self._comments(created, modified),
        }
        entity.update(self._specific(seed.type_key, kind, state, created.date()))
        return entity

    def _comments(self, created: datetime, modified: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        count = 0 if roll < 0.35 else rng.randint(1, 4) if roll < 0.985 else rng.randint(25, 60)
        comments: list[dict[str, Any]] = []
        span = max((modified - created).total_seconds(), 60.0)
        for offset in sorted(rng.random() * span for _ in range(count)):
            author = rng.choice(self.fibery_users)
            secret = self.new_secret()
            self.documents[secret] = _text.comment_text(rng)
            comments.append(
                {
                    "fibery/id": random_uuid(rng),
                    "fibery/creation-date": fibery_timestamp(created + timedelta(seconds=offset)),
                    "comment/author": {
                        "fibery/id": author["fibery/id"],
                        "user/name": author["user/name"],
                        "user/email": author["user/email"],
                    },
                    "comment/document-secret": secret,
                }
            )
        return comments

    def _specific(self, type_key: str, kind: str, state: str, created: date) -> dict[str, Any]:
        rng = self.rng
        finished = state in ("Done", "Closed")
        if type_key in ("Scrum/Task", "Scrum/Sub-task"):
            started = created + timedelta(days=rng.randint(0, 20))
            return {
                "Scrum/Estimate": rng.choice((1, 2, 3, 5, 8, 13, 0.5)),
                "Scrum/Sprint": {"Scrum/Name": f"Sprint {rng.randint(38, 46)}"},
                "Scrum/Started": None if state in ("Backlog", "To Do") else started.isoformat(),
                "Scrum/Completed": (
                    (started + timedelta(days=rng.randint(1, 10))).isoformat() if finished else None
                ),
            }
        if kind in ("Bug", "Sub-bug"):
            return {
                "Scrum/Severity": {
                    "enum/name": rng.choices(("Critical", "Major", "Minor"), (1, 3, 4))[0]
                },
                "Scrum/Steps to reproduce": _text.steps_to_reproduce(rng),
                "Scrum/Resolved": (
                    (created + timedelta(days=rng.randint(1, 30))).isoformat() if finished else None
                ),
            }
        if type_key == "Scrum/Feature":
            return {"Scrum/Release": {"Scrum/Name": f"Release 2026.{rng.randint(9, 12)}"}}
        if type_key == "Scrum/Build":
            return {
                "Scrum/Version": f"{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}"
            }
        if type_key == "Product/Feature":
            planned_start = created + timedelta(days=rng.randint(0, 30))
            return {
                "Product/Priority": {"enum/name": rng.choice(("Must", "Should", "Could", "Won't"))},
                "Product/Planned Start": planned_start.isoformat(),
                "Product/Planned End": (
                    planned_start + timedelta(days=rng.randint(14, 90))
                ).isoformat(),
                "Product/Release": {"Product/Name": f"Q{rng.randint(1, 4)} 2027"},
            }
        return {}
