"""What one delivery did: counts and ``delivery_failed`` warnings (shared by the channels)."""

from __future__ import annotations

from dataclasses import dataclass, field

DELIVERY_FAILED = "delivery_failed"
"""Warnings ``"delivery_failed: <channel>: <message>"`` in ``run_metadata.json``."""


@dataclass
class DeliveryOutcome:
    sent: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    def add(self, other: DeliveryOutcome) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.warnings.extend(other.warnings)
