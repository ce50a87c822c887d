"""Fibery side of the sandbox workspace: entity types and entity records.

Entities are plain dicts keyed by real Fibery field names (``fibery/id``, ``Scrum/Name``,
``workflow/state`` …) so the simulator's query evaluator can walk them generically. Each
record holds only the fields its type has in the schema (``sandbox._fibery_schema``): a
type without the workflow mixin has no ``workflow/state``, the older Product space spells
its name ``Product/name``, and so on.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from volt_agent.sandbox import _text
from volt_agent.sandbox._fibery_schema import LAYOUTS, TypeLayout

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
        return self._fit(entity, LAYOUTS[seed.type_key])

    def _fit(self, entity: dict[str, Any], layout: TypeLayout) -> dict[str, Any]:
        """``entity`` with only the fields ``layout`` has; dropped documents are forgotten.

        Every record is built in full first, so the random draws (and with them the rest of
        the workspace) do not depend on the layouts.
        """
        space = layout.space
        name = entity.pop(f"{space}/Name")
        entity[layout.name_field] = name
        description = entity.pop(f"{space}/Description")
        if layout.description_field:
            entity[layout.description_field] = description
        else:
            self.documents.pop(description["Collaboration~Documents/secret"])
        if not layout.workflow:
            del entity["workflow/state"]
        if not layout.assignments:
            del entity["assignments/assignees"]
        if not layout.comments:
            for comment in entity.pop("comments/comments"):
                self.documents.pop(comment["comment/document-secret"])
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
                "Product/Release": {"Product/name": f"Q{rng.randint(1, 4)} 2027"},
            }
        return {}
