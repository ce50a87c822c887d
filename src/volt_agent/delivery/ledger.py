"""``delivery.json``: what a run has delivered, so a retried delivery never sends twice.

Entries are scoped to the delivering workflow execution: a retried activity skips what its
execution sent; a later re-run of the run (new reports) delivers again and appends.

A message is recorded right after the server accepted it. The only window for a duplicate is
a worker that dies between that acceptance and the ledger write (at-least-once, never lost).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from volt_agent.storage.run_folder import RunFolder

DELIVERY_LEDGER = "delivery.json"


class SentMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    """Stable per message of a run, e.g. ``email:team`` or ``email:person:42``."""
    scope: str = ""
    """The Temporal run id of the workflow execution that delivered it."""
    recipients: list[str] = Field(default_factory=list)
    subject: str = ""
    at: str = ""


class DeliveryLedger(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sent: list[SentMessage] = Field(default_factory=list)

    def has(self, key: str, scope: str) -> bool:
        return any(m.key == key and m.scope == scope for m in self.sent)


def load_ledger(folder: RunFolder) -> DeliveryLedger:
    if not folder.exists(DELIVERY_LEDGER):
        return DeliveryLedger()
    return folder.load(DELIVERY_LEDGER, DeliveryLedger)


def record_sent(folder: RunFolder, ledger: DeliveryLedger, message: SentMessage) -> None:
    ledger.sent.append(message)
    folder.save(DELIVERY_LEDGER, ledger)
