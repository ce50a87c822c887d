"""Rows of an entity query answer, turned into ``EnrichedEntity`` objects.

A row is keyed by the aliases ``sources.fibery_query.build_entity_query`` selects; what the
type lacks is simply absent (no state, no assignees, no comments, no description).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from volt_agent.config import EnrichmentType
from volt_agent.domain.models import Comment, EnrichedEntity
from volt_agent.errors import ResponseFormatError
from volt_agent.sources.parsing import as_datetime, as_int

SOURCE = "Fibery"
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class Row:
    """An entity row with its comments already cut to the newest ``max_comments``."""

    public_id: str
    data: dict[str, Any]
    description_secret: str | None
    comments: list[dict[str, Any]]
    comment_count: int

    def secrets(self) -> list[str]:
        found = [self.description_secret] + [c.get("secret") for c in self.comments]
        return [s for s in found if isinstance(s, str) and s]


def rows_of(result: list[Any], max_comments: int) -> Iterator[Row]:
    """Each row of a query answer, comments oldest first; a row without a public id is a
    format error."""
    for data in result:
        if not isinstance(data, dict) or data.get("public_id") is None:
            raise ResponseFormatError(SOURCE, "an entity row has no public id")
        raw_comments = data.get("comments")
        comments = (
            [c for c in raw_comments if isinstance(c, dict)]
            if isinstance(raw_comments, list)
            else []
        )
        comments.sort(key=lambda c: as_datetime(c.get("created")) or _OLDEST)
        secret = _scalar(data.get("description_secret"), "Collaboration~Documents/secret")
        count = as_int(data.get("comment_count"))
        yield Row(
            public_id=str(data["public_id"]),
            data=data,
            description_secret=secret,
            comments=comments[-max_comments:] if max_comments > 0 else [],
            comment_count=max(count or 0, len(comments)),
        )


def entity_of(
    type_key: str, row: Row, enrichment: EnrichmentType, documents: dict[str, str]
) -> EnrichedEntity:
    data = row.data
    assignees = data.get("assignees")
    items = [
        item
        for item in (assignees if isinstance(assignees, list) else [])
        if isinstance(item, dict)
    ]
    people = [
        person
        for item in items
        if (person := _scalar(item.get("name")) or _scalar(item.get("email")))
    ]
    emails = [email for item in items if (email := _scalar(item.get("email")))]
    fields = {alias: _unnested(data.get(alias), path) for alias, path in enrichment.fields.items()}
    closed_at, closed_on = _closing(fields.get(enrichment.closed_at or ""))
    comments = [
        Comment(
            author=_scalar(comment.get("author"), "user/name"),
            created=as_datetime(comment.get("created")),
            text=documents.get(comment.get("secret") or "", ""),
        )
        for comment in row.comments
    ]
    fibery_id = data.get("id")
    return EnrichedEntity(
        type_key=type_key,
        public_id=row.public_id,
        status="found",
        fibery_id=None if fibery_id is None else str(fibery_id),
        name=_scalar(data.get("name")),
        state=_scalar(data.get("state"), "enum/name"),
        created=as_datetime(data.get("created")),
        modified=as_datetime(data.get("modified")),
        assignees=people,
        assignee_emails=emails,
        closed_at=closed_at,
        closed_on=closed_on,
        description=documents.get(row.description_secret or "", ""),
        comments=comments,
        comment_count=row.comment_count,
        fields=fields,
    )


def _closing(value: Any) -> tuple[datetime | None, date | None]:
    """A closing field's value as a timestamp, or as a day when it is a bare ``YYYY-MM-DD``
    (a Fibery ``fibery/date`` field); anything else is unknown."""
    if not isinstance(value, str):
        return None, None
    try:
        return None, date.fromisoformat(value)
    except ValueError:
        return as_datetime(value), None


def _unnested(value: Any, path: str | list[str]) -> Any:
    """A configured field's value; a path into an enum or relation (``[field, "enum/name"]``)
    may come back nested as ``{"enum/name": value}`` (as in the published vector-form answers)
    or as the bare value: both give the bare value."""
    if isinstance(path, list) and isinstance(value, dict) and set(value) == {path[-1]}:
        return value[path[-1]]
    return value


def _scalar(value: Any, key: str | None = None) -> str | None:
    """A selected string, also when the API nests it as ``{key: value}``."""
    if isinstance(value, dict) and key is not None:
        value = value.get(key)
    return value if isinstance(value, str) and value else None
