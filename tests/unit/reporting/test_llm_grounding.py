"""Budgets, cleaning and fact checks of model-written narrative (``reporting.grounding``)."""

import pytest

from volt_agent.reporting.grounding import (
    Facts,
    check_narrative,
    clean_narrative,
    cut,
    facts_from_users,
    text_cap,
)

from .fixtures import aggregated

FACTS = Facts({"123": frozenset({2.0, 1.5, 0.5}), "9": frozenset({0.25}), "5": frozenset({10.5})})


@pytest.mark.parametrize(
    ("lengths", "budget", "cap"),
    [
        ([10, 20, 30], 60, None),  # fits
        ([10, 20, 30], 50, 20),  # only the longest is cut
        ([10, 20, 30], 40, 15),  # the two longest are cut to the same length
        ([100, 5, 5], 30, 20),
        ([7, 7], 0, 0),
        ([], 0, None),
    ],
)
def test_text_cap_cuts_longest_texts_first(
    lengths: list[int], budget: int, cap: int | None
) -> None:
    assert text_cap(lengths, budget) == cap
    if cap is not None:
        assert sum(min(n, cap) for n in lengths) <= budget
        assert sum(min(n, cap + 1) for n in lengths) > budget or cap >= max(lengths)


def test_cut_keeps_short_text_and_marks_cuts() -> None:
    assert cut("abcdef", None) == "abcdef"
    assert cut("abcdef", 6) == "abcdef"
    assert cut("abcdef", 4) == "abc…"
    assert cut("abcdef", 1) == "…"
    assert cut("abcdef", 0) == ""


def test_clean_narrative_removes_structure_html_links_and_fences() -> None:
    raw = (
        "## Injected heading\nFine text with <script>alert(1)</script>.\n"
        "Title\n=====\n```python\nprint(1)\n```\n![pixel](http://evil/p.png) [x](http://evil)\n"
        "<!-- /llm:summary -->\n\n\n\n- a bullet\n# \n\u202eevil"
    )
    text = clean_narrative(raw)
    lines = text.splitlines()
    assert lines[0] == "**Injected heading**"
    assert not any(line.lstrip().startswith("#") for line in lines)
    assert "<" not in text
    assert ">" not in text
    assert "&lt;script&gt;" in text
    assert "```" not in text
    assert "=====" not in text
    assert "!\\[pixel\\](http" in text  # escaped: no image, no link
    assert "\n\n\n" not in text
    assert "- a bullet" in lines
    assert "\u202e" not in text


def test_clean_narrative_is_bounded() -> None:
    assert len(clean_narrative("word " * 5000, limit=100)) == 100


def test_facts_hold_team_total_and_each_persons_hours() -> None:
    facts = facts_from_users(aggregated().users)
    assert facts.hours["123"] == frozenset({2.0, 1.5, 0.5})  # team, Anna, Boris
    assert facts.hours["5"] == frozenset({10.5})


@pytest.mark.parametrize(
    "text",
    [
        "Most time went to #5 Q1 roadmap (10.50 h).",
        "#123 Fix login took 2 h in total, of which Anna 1.5 h.",
        "Anna worked on #123 Fix login (1.50 h) and #9 (0.25 h).",
        "She spent 1.5 h on #123 and 0.25 h on bug #9.",
        "#123: 1.45 hours",  # within ±0.1
        "The team tracked 17.25 h, most of it on #5.",  # total in its own clause
        "No entity is named here; 99 h is not attributed.",
        "Prices: &#39; and #9 at 0.3h",
    ],
)
def test_grounded_text_passes(text: str) -> None:
    assert check_narrative(text, FACTS) == []


def test_unknown_id_is_reported_once() -> None:
    problems = check_narrative("See #999 and again #999, plus #123.", FACTS)
    assert problems == ["mentions #999, which is not an entity of this report's data"]


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("#5 Q1 roadmap took 12.5 h.", "states 12.5 h for #5"),
        ("Anna worked on #123 (1.50 h) and #9 (2 h).", "states 2 h for #9"),
        ("She spent 3 h on #123 and 0.25 h on #9.", "states 3 h for #123"),
        ("#9: 0,5 hours", "states 0.5 h for #9"),
    ],
)
def test_wrong_hours_next_to_an_entity_are_reported(text: str, wrong: str) -> None:
    problems = check_narrative(text, FACTS)
    assert len(problems) == 1
    assert problems[0].startswith(wrong)
    assert "the data says" in problems[0]


def test_tolerance_is_configurable() -> None:
    assert check_narrative("#9 (0.5 h)", FACTS, tolerance=0.3) == []
    assert check_narrative("#9 (0.5 h)", FACTS, tolerance=0.1) != []
