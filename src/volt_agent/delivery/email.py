"""Email delivery: the team summary to ``delivery.email.team_recipients``, each person's
report to that person; multipart/alternative with the Markdown text and its HTML rendering."""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from markdown_it import MarkdownIt

from volt_agent.config import EmailDeliverySettings, Secrets
from volt_agent.errors import ConfigError

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
"""Raw HTML in a report is escaped, never passed through."""


@dataclass(frozen=True)
class Outgoing:
    key: str
    recipients: list[str]
    subject: str
    markdown: str


def markdown_html(markdown: str, title: str) -> str:
    body = _MARKDOWN.render(markdown)
    escaped = html.escape(title)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escaped}</title></head>'
        f"<body>\n{body}</body></html>\n"
    )


def build_message(settings: EmailDeliverySettings, outgoing: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(outgoing.recipients)
    message["Subject"] = outgoing.subject
    message.set_content(outgoing.markdown)
    message.add_alternative(markdown_html(outgoing.markdown, outgoing.subject), subtype="html")
    return message


def check_email_settings(settings: EmailDeliverySettings) -> None:
    if not settings.sender:
        raise ConfigError("delivery.email.sender is not set: give the From address")


class SmtpSender:
    """One SMTP session for all messages of a delivery (blocking: run it in a thread)."""

    def __init__(
        self,
        settings: EmailDeliverySettings,
        secrets: Secrets,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._context = context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        settings = self._settings
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        try:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=self._context)
                smtp.ehlo()
            username, password = self._secrets.smtp_username, self._secrets.smtp_password
            if username is not None and password is not None:
                smtp.login(username.get_secret_value(), password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return self

    def __exit__(self, *_: object) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                self._smtp.close()

    def send(self, outgoing: Outgoing) -> None:
        assert self._smtp is not None, "use SmtpSender as a context manager"
        message = build_message(self._settings, outgoing)
        self._smtp.send_message(message, to_addrs=outgoing.recipients)
