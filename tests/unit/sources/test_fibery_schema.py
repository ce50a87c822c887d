"""``parse_schema`` and ``check_enrichment_config``: the schema-first check before any query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from volt_agent.config import EnrichmentSettings, EnrichmentType, load_settings
from volt_agent.errors import ConfigError, ResponseFormatError
from volt_agent.sandbox._fibery_schema import schema_answer
from volt_agent.sources.fibery_schema import (
    FiberySchema,
    check_enrichment_config,
    parse_schema,
)

ROOT = Path(__file__).resolve().parents[3]
SANDBOX = parse_schema(schema_answer())
REPOSITORY = load_settings(ROOT / "config" / "config.yaml", env={}).enrichment


def field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    meta = extra.pop("meta", {})
    return {"fibery/name": name, "fibery/type": kind, "fibery/meta": meta, **extra}


def test_types_fields_and_meta_are_read() -> None:
    task = SANDBOX.get("Scrum/Task")
    assert task is not None
    assignees = task.fields["assignments/assignees"]
    assert (assignees.type, assignees.collection) == ("fibery/user", True)
    assert task.fields["Scrum/Estimate"].collection is False
    assert task.title_field() == "Scrum/Name"
    assert task.description_field() == "Scrum/Description"
    assert "workflow/workflow" in task.mixins
    feature = SANDBOX.get("Product/Feature")
    assert feature is not None
    assert feature.title_field() == "Product/name"
    build = SANDBOX.get("Scrum/Build")
    assert build is not None
    assert build.description_field() is None
    assert not build.has("workflow/state")
    assert SANDBOX.is_primitive("fibery/text")
    assert not SANDBOX.is_primitive("Scrum/Sprint")


def test_deleted_types_and_fields_are_dropped() -> None:
    schema = parse_schema(
        {
            "fibery/types": [
                {
                    "fibery/name": "Space/Task",
                    "fibery/fields": [
                        field("Space/Name", "fibery/text"),
                        field("Space/Old_1a2b_deleted", "fibery/int", **{"fibery/deleted?": True}),
                        field("Space/Epic", "Space/Epic_9f_deleted"),
                        field("Space/Gone", "fibery/int", meta={"fibery/deleted?": True}),
                    ],
                },
                {"fibery/name": "Space/Epic_9f_deleted", "fibery/deleted?": True},
                "not a type",
                {"fibery/fields": []},
            ]
        }
    )
    assert set(schema.types) == {"Space/Task"}
    task = schema.get("Space/Task")
    assert task is not None
    assert set(task.fields) == {"Space/Name"}
    assert task.title_field() == "Space/Name"  # no ui/title? flag: by the name's spelling


def test_the_sandbox_schema_drops_its_tombstones() -> None:
    assert not [name for name in SANDBOX.types if name.endswith("_deleted")]
    task = SANDBOX.get("Scrum/Task")
    assert task is not None
    assert not [name for name in task.fields if name.endswith("_deleted")]


@pytest.mark.parametrize(
    "answer",
    [
        {"success": True, "result": schema_answer()},
        [{"success": True, "result": schema_answer()}],
    ],
    ids=["envelope", "answer-list"],
)
def test_the_command_envelope_is_accepted_too(answer: Any) -> None:
    assert parse_schema(answer) == SANDBOX


@pytest.mark.parametrize("answer", [None, [], {"fibery/types": {}}, {"types": []}])
def test_an_answer_without_types_is_a_format_error(answer: Any) -> None:
    with pytest.raises(ResponseFormatError, match="fibery/types"):
        parse_schema(answer)


def test_the_schema_survives_a_json_round_trip() -> None:
    assert FiberySchema.model_validate_json(SANDBOX.model_dump_json()) == SANDBOX


def test_the_repository_config_fits_the_sandbox_workspace() -> None:
    check_enrichment_config(SANDBOX, REPOSITORY, list(SANDBOX.types))


def config(**types: EnrichmentType) -> EnrichmentSettings:
    return EnrichmentSettings(types=dict(types))


def problem(settings: EnrichmentSettings, type_keys: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as caught:
        check_enrichment_config(SANDBOX, settings, type_keys)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_unknown_type_names_it_and_the_closest_types() -> None:
    message = problem(config(**{"Scrum/Taks": EnrichmentType()}))
    assert "'Scrum/Taks'" in message
    assert "closest: Scrum/Task" in message
    assert "enrichment_config.yaml" in message


def test_an_unknown_type_without_a_near_name_says_so() -> None:
    message = problem(config(**{"Sales/Lead": EnrichmentType()}))
    assert "'Sales/Lead'" in message
    assert "no similar name" in message


def test_an_unknown_field_names_it_and_the_closest_fields() -> None:
    message = problem(config(**{"Scrum/Task": EnrichmentType(fields={"est": "Scrum/Estimat"})}))
    assert "Scrum/Task" in message
    assert "'Scrum/Estimat'" in message
    assert "fields.est" in message
    assert "closest: Scrum/Estimate" in message


def test_the_old_capitalised_name_of_a_lower_case_space_is_caught() -> None:
    fields = {"release": ["Product/Release", "Product/Name"]}
    message = problem(config(**{"Product/Feature": EnrichmentType(fields=fields)}))
    assert "Product/Release has no field 'Product/Name'" in message
    assert "closest: Product/name" in message


@pytest.mark.parametrize(
    ("enrichment", "expected"),
    [
        (EnrichmentType(fields={"s": "Scrum/Sprint"}), "e.g. [Scrum/Sprint, Scrum/Name]"),
        (EnrichmentType(fields={"s": ["Scrum/Estimate", "x"]}), "cannot continue with 'x'"),
        (EnrichmentType(fields={"a": ["assignments/assignees", "user/name"]}), "collection"),
        (EnrichmentType(fields={"d": "Scrum/Description"}), "rich text"),
        (EnrichmentType(fields={"p": []}), "empty"),
        (EnrichmentType(name_field="Scrum/Title"), "name_field"),
        (EnrichmentType(description_field="Scrum/Estimate"), "not rich text"),
        (EnrichmentType(description_field="Scrum/Notes"), "'Scrum/Notes'"),
    ],
    ids=[
        "relation",
        "through-primitive",
        "collection",
        "rich-text",
        "empty",
        "name-field",
        "description-kind",
        "description-missing",
    ],
)
def test_field_paths_are_checked_along_their_types(
    enrichment: EnrichmentType, expected: str
) -> None:
    assert expected in problem(config(**{"Scrum/Task": enrichment}))


def test_referenced_types_are_checked_with_the_default() -> None:
    settings = EnrichmentSettings(default=EnrichmentType(fields={"v": "Scrum/Version"}))
    check_enrichment_config(SANDBOX, settings, ())  # nothing queried, nothing to check
    check_enrichment_config(SANDBOX, settings, ("Scrum/Build",))
    message = problem(settings, ("Scrum/Build", "Scrum/Chore"))
    assert "default (for Scrum/Chore)" in message
    assert "'Scrum/Version'" in message


def test_a_referenced_type_the_workspace_lacks_is_left_to_the_entities() -> None:
    check_enrichment_config(SANDBOX, EnrichmentSettings(), ("Scrum/Epic", "Scrum/Task"))


def test_one_line_counts_the_other_problems() -> None:
    settings = config(
        **{
            "Scrum/Taks": EnrichmentType(),
            "Scrum/Task": EnrichmentType(fields={"a": "Scrum/A", "b": "Scrum/B"}),
        }
    )
    message = problem(settings)
    assert message.startswith("enrichment_config.yaml: Fibery has no database 'Scrum/Taks'")
    assert message.endswith("(and 2 more problems)")
