"""The rounding policy line of a report: inserted under the report's title when rounding is
on, so the reports of a run without rounding stay byte-for-byte what they were."""

from __future__ import annotations

from volt_agent.domain.rounding import RoundingPolicy, policy_line


def with_policy_line(markdown: str, policy: RoundingPolicy) -> str:
    """``markdown`` with the policy as its own paragraph after the first ``#`` title (at the
    top when there is none); unchanged when ``policy`` does not round."""
    if not policy.active:
        return markdown
    paragraph = policy_line(policy)
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("# "):
            return "\n".join([*lines[: index + 1], "", paragraph, *lines[index + 1 :]])
    return f"{paragraph}\n\n{markdown}"
