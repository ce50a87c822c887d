"""Email delivery against a real SMTP server process thread (aiosmtpd) over loopback."""

from __future__ import annotations

import ssl
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.smtp_server import (
    PASSWORD,
    USERNAME,
    Inbox,
    free_port,
    self_signed,
    smtp_server,
)
from volt_agent.config import DeliverySettings, EmailDeliverySettings, Secrets
from volt_agent.delivery.ledger import DELIVERY_LEDGER, DeliveryLedger, SentMessage
from volt_agent.delivery.service import deliver_run
from volt_agent.domain.models import EnrichedData, TogglAggregated, UserAggregate
from volt_agent.storage.run_folder import ENRICHED_DATA, TEAM_SUMMARY, RunFolder, user_slug

RUN = "temporal-run-1"
TEAM = "# Team summary\n\n| Person | Hours |\n|---|---|\n| Ada | 5.00 |\n\n<script>x</script>\n"


def user(user_id: int, name: str, email: str | None) -> UserAggregate:
    return UserAggregate(
        user_id=user_id,
        user_name=name,
        email=email,
        total_seconds=3600,
        matched_seconds=3600,
        unmatched_seconds=0,
        entry_count=1,
    )


@pytest.fixture
def folder(tmp_path: Path) -> RunFolder:
    run = RunFolder(tmp_path / "runs", "run-1")
    users = [
        user(1, "Ada Lovelace", "ada@example.test"),
        user(2, "Bob", "bob@example.test"),
        user(3, "No Mail", None),
    ]
    aggregated = TogglAggregated(
        start_date=date(2026, 11, 2), end_date=date(2026, 11, 8), users=users
    )
    run.save(ENRICHED_DATA, EnrichedData(aggregated=aggregated))
    run.save_text(TEAM_SUMMARY, TEAM)
    for one in users:
        run.save_text(
            run.individual_report(user_slug(one.user_name, one.user_id)),
            f"# {one.user_name}\n\n**1.00 h**\n",
        )
    return run


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


def settings(port: int, *, starttls: bool = True, people: bool = True) -> DeliverySettings:
    return DeliverySettings(
        email=EmailDeliverySettings(
            host="127.0.0.1",
            port=port,
            starttls=starttls,
            sender="volt@example.test",
            team_recipients=["lead@example.test", "pm@example.test"],
            person_reports=people,
            timeout_seconds=5,
        )
    )


SECRETS = Secrets(smtp_username=SecretStr(USERNAME), smtp_password=SecretStr(PASSWORD))


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def trusting(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


async def test_starttls_login_team_and_people_with_text_and_html(
    folder: RunFolder, cert: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    with smtp_server(inbox, cert, require_auth=True) as port:
        outcome = await deliver_run(
            folder, ["email"], settings(port), SECRETS, scope=RUN, context=trusting(cert)
        )

    assert (outcome.sent, outcome.skipped, outcome.warnings) == (3, 0, [])
    assert inbox.logins == [USERNAME]
    assert sorted(r.message["Subject"] for r in inbox.received) == [
        "Team report 2026-11-02..2026-11-08",
        "Your report 2026-11-02..2026-11-08",
        "Your report 2026-11-02..2026-11-08",
    ]
    team = next(r for r in inbox.received if r.message["Subject"].startswith("Team report"))
    assert team.sender == "volt@example.test"
    assert team.recipients == ["lead@example.test", "pm@example.test"]
    assert team.message["Subject"] == "Team report 2026-11-02..2026-11-08"
    assert team.message.get_content_type() == "multipart/alternative"
    text = team.message.get_body(("plain",))
    html = team.message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == TEAM
    body = html.get_content()
    assert "<h1>Team summary</h1>" in body
    assert "<td>Ada</td>" in body
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    people = sorted(
        (r.recipients, plain(r.message))
        for r in inbox.received
        if r.message["Subject"] == "Your report 2026-11-02..2026-11-08"
    )
    assert people == [
        (["ada@example.test"], "# Ada Lovelace\n\n**1.00 h**\n"),
        (["bob@example.test"], "# Bob\n\n**1.00 h**\n"),
    ]
    ledger = folder.load(DELIVERY_LEDGER, DeliveryLedger)
    assert sorted(m.key for m in ledger.sent) == ["email:person:1", "email:person:2", "email:team"]


async def test_a_retried_delivery_sends_nothing_twice(folder: RunFolder) -> None:
    folder.save(
        DELIVERY_LEDGER, DeliveryLedger(sent=[SentMessage(key="email:person:1", scope=RUN)])
    )
    inbox = Inbox()
    with smtp_server(inbox, None) as port:
        first = await deliver_run(
            folder, ["email"], settings(port, starttls=False), Secrets(), scope=RUN
        )
        again = await deliver_run(
            folder, ["email"], settings(port, starttls=False), Secrets(), scope=RUN
        )

    assert (first.sent, first.skipped) == (2, 1)
    assert (again.sent, again.skipped, again.warnings) == (0, 3, [])
    assert sorted(r.recipients[0] for r in inbox.received) == [
        "bob@example.test",
        "lead@example.test",
    ]


async def test_team_only_when_person_reports_are_off(folder: RunFolder) -> None:
    inbox = Inbox()
    with smtp_server(inbox, None) as port:
        outcome = await deliver_run(
            folder,
            ["email"],
            settings(port, starttls=False, people=False),
            Secrets(),
            scope=RUN,
        )
    assert outcome.sent == 1
    assert [r.recipients for r in inbox.received] == [["lead@example.test", "pm@example.test"]]


async def test_no_starttls_on_the_server_is_a_warning_and_nothing_is_sent(
    folder: RunFolder,
) -> None:
    inbox = Inbox()
    with smtp_server(inbox, None) as port:
        outcome = await deliver_run(folder, ["email"], settings(port), SECRETS, scope=RUN)
    assert outcome.sent == 0
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith("delivery_failed: email: ")
    assert "STARTTLS" in outcome.warnings[0]
    assert inbox.received == []
    assert not folder.exists(DELIVERY_LEDGER)


async def test_an_unreachable_server_and_a_missing_sender_are_warnings(folder: RunFolder) -> None:
    down = await deliver_run(
        folder, ["email"], settings(free_port(), starttls=False), Secrets(), scope=RUN
    )
    assert down.sent == 0
    assert down.warnings[0].startswith("delivery_failed: email: ")
    unset = settings(free_port()).model_copy(deep=True)
    unset.email.sender = ""
    missing = await deliver_run(folder, ["email"], unset, Secrets(), scope=RUN)
    assert missing.warnings == [
        "delivery_failed: email: delivery.email.sender is not set: give the From address"
    ]


async def test_a_wrong_password_is_a_warning_without_the_password(
    folder: RunFolder, cert: tuple[Path, Path]
) -> None:
    inbox = Inbox()
    wrong = Secrets(smtp_username=SecretStr(USERNAME), smtp_password=SecretStr("not-it-42"))
    with smtp_server(inbox, cert, require_auth=True) as port:
        outcome = await deliver_run(
            folder, ["email"], settings(port), wrong, scope=RUN, context=trusting(cert)
        )
    assert outcome.sent == 0
    assert outcome.warnings[0].startswith("delivery_failed: email: ")
    assert "not-it-42" not in outcome.warnings[0]
    assert inbox.received == []


async def test_a_later_execution_of_the_run_delivers_its_new_reports(folder: RunFolder) -> None:
    inbox = Inbox()
    with smtp_server(inbox, None) as port:
        config = settings(port, starttls=False, people=False)
        await deliver_run(folder, ["email"], config, Secrets(), scope=RUN)
        rerun = await deliver_run(folder, ["email"], config, Secrets(), scope="temporal-run-2")
    assert (rerun.sent, rerun.skipped) == (1, 0)
    assert len(inbox.received) == 2
    ledger = folder.load(DELIVERY_LEDGER, DeliveryLedger)
    assert [(m.key, m.scope) for m in ledger.sent] == [
        ("email:team", RUN),
        ("email:team", "temporal-run-2"),
    ]
