"""The team findings kept for the team report share what they repeat (issue 12, memory).

A ``FindingPool`` (the ``DigestBuilder`` holds one while the team pass collects them) builds
one ``EntityKey`` per entity, one object per equal name and duration, and each finding with a
compact field dict, unvalidated; the findings must equal, dump and render exactly as validated
ones.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
import tracemalloc
from collections import defaultdict
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from volt_agent.domain.models import EnrichedData, EntityKey
from volt_agent.reporting.digest import team_digest
from volt_agent.reporting.html import render_html_report
from volt_agent.reporting.insights import (
    FindingPool,
    Insight,
    InsightSettings,
    estimate_insights,
    index_entities,
    sort_insights,
    user_insights,
)
from volt_agent.reporting.llm_context import team_context
from volt_agent.reporting.packed_findings import FindingRuns
from volt_agent.reporting.writer import TemplateReportWriter

from .test_digest import CONFIGURED, fixture_run, workspace_run

RUNS: dict[str, Callable[[], EnrichedData]] = {"workspace": workspace_run, "fixture": fixture_run}


@pytest.fixture(params=sorted(RUNS))
def run(request: pytest.FixtureRequest) -> EnrichedData:
    return RUNS[request.param]()


def findings(
    data: EnrichedData, settings: InsightSettings, pool: FindingPool | None
) -> list[Insight]:
    """Every finding of ``data`` in ``sort_insights`` order, built with ``pool`` (or none)."""
    aggregated = data.aggregated
    index = index_entities(data.entities)
    period = (aggregated.start_date, aggregated.end_date)
    found = [
        i for u in aggregated.users for i in user_insights(u, index, settings, period, pool=pool)
    ]
    found.extend(estimate_insights(aggregated.users, index, settings, pool=pool))
    return sort_insights(found)


def validated(found: list[Insight]) -> list[Insight]:
    """A validated twin of each finding, built from its dumped fields."""
    return [Insight.model_validate(i.model_dump()) for i in found]


def test_pooled_findings_equal_dump_and_pickle_as_validated_ones(run: EnrichedData) -> None:
    pooled = findings(run, CONFIGURED, FindingPool())
    plain = validated(findings(run, CONFIGURED, None))
    assert findings(run, CONFIGURED, None) == pooled  # a pool per person: the same findings
    assert len({i.kind for i in plain}) >= 4
    assert pooled == plain
    for mine, theirs in zip(pooled, plain, strict=True):
        assert theirs == mine
        assert mine.model_dump_json() == theirs.model_dump_json()
        assert mine.model_dump() == theirs.model_dump()
        assert repr(mine) == repr(theirs)
        assert hash(mine) == hash(theirs)
        assert mine.model_fields_set == theirs.model_fields_set == set(Insight.model_fields)
        assert mine.model_fields_set is theirs.model_fields_set  # the shared fields-set
        assert list(mine.__dict__) == list(Insight.model_fields)
        assert pickle.loads(pickle.dumps(mine)) == theirs  # noqa: S301 - our own
        assert Insight.model_validate_json(mine.model_dump_json()) == mine
        if mine.entity is not None:
            assert theirs.entity is not None
            assert mine.entity.model_dump_json() == theirs.entity.model_dump_json()
            assert mine.entity.model_fields_set is theirs.entity.model_fields_set
            assert str(mine.entity) == str(theirs.entity)
            assert hash(mine.entity) == hash(theirs.entity)


def test_pooled_findings_stay_frozen() -> None:
    pool = FindingPool()
    found = pool.insight("no_assignee", "m", entity=pool.key("Scrum/Task", "1"), seconds=60)
    with pytest.raises(ValidationError):
        found.seconds = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        found.entity.public_id = "2"  # type: ignore[union-attr, misc]
    assert found.model_copy(update={"seconds": 1}).seconds == 1
    assert found.seconds == 60


def test_findings_of_one_pool_share_what_they_repeat(run: EnrichedData) -> None:
    found = findings(run, CONFIGURED, FindingPool())
    by: dict[str, defaultdict[object, set[int]]] = {
        field: defaultdict(set) for field in ("kind", "person", "entity", "entity_name", "seconds")
    }
    for i in found:
        by["kind"][i.kind].add(id(i.kind))
        by["person"][i.user_id, i.person].add(id(i.person))  # two people share a name
        if i.entity is not None:
            by["entity"][str(i.entity)].add(id(i.entity))
        by["entity_name"][i.entity_name].add(id(i.entity_name))
        by["seconds"][i.seconds].add(id(i.seconds))
    for field, objects in by.items():
        assert all(len(ids) == 1 for ids in objects.values()), field
    # the run has entities several people tracked and kinds with several findings
    entities = [str(i.entity) for i in found if i.entity is not None]
    assert len(set(entities)) < len(entities)
    assert len({i.kind for i in found}) < len(found)


def test_two_findings_of_one_kind_share_their_kind_and_of_one_entity_their_key() -> None:
    pool = FindingPool()
    one = pool.insight("not_assignee", "a", entity=pool.key("Scrum/Task", "7"), seconds=3600)
    two = pool.insight(
        "not_assignee", "b", entity=pool.key("Scrum/Task", "7"), entity_name="X", seconds=3600
    )
    assert one.kind is two.kind
    assert one.entity is two.entity
    assert one.entity == EntityKey(type_key="Scrum/Task", public_id="7")
    assert one.seconds is two.seconds
    assert pool.key("Scrum/Task", "8") is not one.entity


async def test_reports_from_pooled_findings_are_the_same_text(run: EnrichedData) -> None:
    digest = team_digest(run, CONFIGURED)
    plain = dataclasses.replace(
        digest, packed=FindingRuns().pack(validated(findings(run, CONFIGURED, None)))
    )
    assert list(plain.iter_ranked()) == list(digest.iter_ranked())
    writer = TemplateReportWriter(CONFIGURED)
    assert await writer.team_report(run, digest) == await writer.team_report(run, plain)
    html = render_html_report(run, CONFIGURED, digest=plain)
    assert render_html_report(run, CONFIGURED, digest=digest) == html
    assert team_context(run, CONFIGURED, digest) == team_context(run, CONFIGURED, plain)


def test_pooled_findings_take_less_memory() -> None:
    data = workspace_run()

    def traced(build: Callable[[], list[Insight]]) -> tuple[int, int]:
        gc.collect()
        tracemalloc.start()
        try:
            found = build()
            gc.collect()
            return tracemalloc.get_traced_memory()[0], len(found)
        finally:
            tracemalloc.stop()

    plain, count = traced(lambda: validated(findings(data, CONFIGURED, FindingPool())))
    pooled, same = traced(lambda: findings(data, CONFIGURED, FindingPool()))
    assert count == same > 50
    assert pooled < 0.8 * plain
