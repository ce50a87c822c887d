"""Text pools and builders for the sandbox workspace: names, descriptions, markdown.

Every builder takes the generator's ``random.Random`` so output depends only on the seed.
Pools deliberately mix scripts (Cyrillic, accents, CJK, emoji) because real workspaces do.
"""

from __future__ import annotations

import random

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Anna", "anna"),
    ("Олег", "oleg"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Björn", "bjorn"),
    ("Priya", "priya"),
    ("Kenji", "kenji"),
    ("Maria", "maria"),
    ("Liam", "liam"),
    ("Fatima", "fatima"),
    ("Ирина", "irina"),
    ("Chloé", "chloe"),
    ("Mateus", "mateus"),
    ("Aoife", "aoife"),
    ("Tomasz", "tomasz"),
    ("Noah", "noah"),
    ("Дмитрий", "dmitry"),
    ("Søren", "soren"),
    ("Wei", "wei"),
    ("Emma", "emma"),
)

LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Petrova", "petrova"),
    ("Иванов", "ivanov"),
    ("García", "garcia"),
    ("Müller", "muller"),
    ("O'Brien", "obrien"),
    ("Nakamura", "nakamura"),
    ("Smith", "smith"),
    ("Kowalski", "kowalski"),
    ("Silva", "silva"),
    ("Nguyễn", "nguyen"),
    ("Dubois", "dubois"),
    ("Sharma", "sharma"),
    ("Lindqvist", "lindqvist"),
    ("Шевченко", "shevchenko"),
    ("Rossi", "rossi"),
    ("Chen", "chen"),
)

_VERBS = (
    "Fix",
    "Add",
    "Refactor",
    "Implement",
    "Update",
    "Remove",
    "Investigate",
    "Migrate",
    "Optimize",
    "Document",
    "Redesign",
    "Harden",
)

_OBJECTS = (
    "login flow",
    "payment webhook",
    "CSV export",
    "user settings page",
    "search index",
    "onboarding email",
    "rate limiter",
    "audit log",
    "dark mode",
    "billing report",
    "API pagination",
    "SSO with Okta",
    "push notifications",
    "invoice PDF",
    "team permissions",
    "data retention job",
    "import wizard",
    "timezone handling",
    "GraphQL gateway",
    "error tracking",
)

_BUG_OPENERS = (
    "Crash when opening",
    "Wrong totals in",
    "Timeout in",
    "Broken layout of",
    "Duplicate rows in",
    "Stale cache in",
    "500 error on",
)

NON_ASCII_NAMES = (
    "? Нет полей Stage, Next action",
    "Ошибка при сохранении отчёта",
    "Поддержка UTF-8 в экспорте",
    "Préférences utilisateur",
    "Überarbeitung der Suche",
    "Café menu sync ☕",
    "🚀 Launch checklist",
    "日本語ローカライズ",
    "Añadir soporte para pagos",
    "Mise à jour des dépendances",
    "Исправить фильтр «Мои задачи»",
    "Emoji in names breaks sorting 🐛",
)

UNMATCHED = (
    "Daily standup",
    "Standup",
    "Sprint planning",
    "Sprint 42 retro",
    "Code review",
    "Review PR 381",
    "1:1 with Anna",
    "1:1 with Олег",
    "Admin",
    "Email and Slack",
    "Hiring interview",
    "Team meeting",
    "Встреча с командой",  # noqa: RUF001  # Cyrillic on purpose: non-ASCII test data
    "Réunion d'équipe",
    "Lunch & learn 🍕",
    "Onboarding docs",
    "#general sync",
    "Support rotation",
    "Investigating flaky CI",
    "Architecture discussion",
    "Customer call — Acme GmbH",
    "Release notes",
    "Planning poker",
    "Разбор инцидента",
)

_SENTENCES = (
    "The current behaviour surprises users who switch workspaces.",
    "We agreed to keep the old endpoint until the mobile app is updated.",
    "Steps are reproducible on staging with a fresh account.",
    "Customers on the Premium plan reported this twice last week.",
    "Performance drops sharply above ten thousand rows.",
    "See the linked design for the expected states.",
    "Проверить на данных клиента перед релизом.",
    "La validation échoue lorsque le champ est vide.",
    "Edge case: users in UTC+05:45 see the wrong day.",
    "Logs show a retry storm after the first 429.",
    "Acceptance: totals match the finance export to the cent.",
    "Need a migration for existing records; keep it idempotent.",
    "Blocked until the API token rotation lands.",
    "This also fixes the flaky integration test 🎉.",
)

_COMMENTS = (
    "Looks good to me 👍",
    "Can we split this into two PRs?",
    "Deployed to staging, please verify.",
    "Reproduced on my machine, working on it.",
    "Moved to next sprint — waiting for design.",
    "Проверил, всё работает.",
    "Merci, c'est corrigé.",
    "Added tests for the timezone edge cases.",
    "Customer confirmed the fix.",
    "Reopening: still happens on Safari.",
    "@Anna could you take a look?",
    "Estimate bumped to 5 points after investigation.",
)

_STEPS = (
    "Log in as a workspace admin",
    "Open the report for last week",
    "Switch the time zone to Asia/Kathmandu",
    "Export the table as CSV",
    "Нажать «Сохранить» дважды",
    "Reload the page",
    "Compare totals with the invoice",
)


def entity_name(rng: random.Random, kind: str) -> str:
    """A plausible entity title; ``kind`` is the type part of ``Space/Type``."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(NON_ASCII_NAMES)
    if kind in ("Bug", "Sub-bug"):
        return f"{rng.choice(_BUG_OPENERS)} {rng.choice(_OBJECTS)}"
    if kind == "Build":
        return f"Build {rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 60)}"
    if kind == "Chore":
        return rng.choice(("Update dependencies", "Rotate certificates", "Clean up feature flags"))
    name = f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    if roll > 0.93:
        name += f" (v{rng.randint(2, 4)})"
    return name


def unmatched_description(rng: random.Random) -> str:
    return rng.choice(UNMATCHED)


def long_text(rng: random.Random, length: int = 2000) -> str:
    """About ``length`` characters of prose, cut at a word boundary."""
    parts: list[str] = ["Notes:"]
    size = len(parts[0])
    while size < length:
        sentence = rng.choice(_SENTENCES)
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)[:length].rsplit(" ", 1)[0]


def markdown_description(rng: random.Random, name: str) -> str:
    """A markdown body of varied length: empty, a line, or several sections."""
    roll = rng.random()
    if roll < 0.05:
        return ""
    paragraphs = 1 if roll < 0.4 else rng.randint(2, 4) if roll < 0.95 else rng.randint(8, 14)
    lines = [f"# {name}", ""]
    for index in range(paragraphs):
        lines.append(" ".join(rng.sample(_SENTENCES, rng.randint(1, 3))))
        lines.append("")
        if index == 0 and rng.random() < 0.4:
            lines.extend(f"- [ ] {rng.choice(_OBJECTS)}" for _ in range(rng.randint(2, 4)))
            lines.append("")
        if rng.random() < 0.1:
            lines.extend(["```python", "total = sum(e.seconds for e in entries)", "```", ""])
    return "\n".join(lines).rstrip() + "\n"


def comment_text(rng: random.Random) -> str:
    text = rng.choice(_COMMENTS)
    if rng.random() < 0.2:
        text += "\n\n" + rng.choice(_SENTENCES)
    return text


def steps_to_reproduce(rng: random.Random) -> str:
    steps = [f"{n}. {rng.choice(_STEPS)}" for n in range(1, rng.randint(2, 5))]
    return "\n".join(steps)
