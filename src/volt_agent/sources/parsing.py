"""Defensive readers of API values: numbers, timestamps, ``Retry-After``, error bodies.

Each returns ``None`` (or a fallback) for what it cannot read instead of raising, so bad
data is counted by the callers rather than crashing a run.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import SecretStr

MESSAGE_LIMIT = 200
"""Longest API-provided text (characters) carried into an error message."""
MIN_MASKED_SECRET = 8
"""Shorter secrets are not masked: they would mangle ordinary words and are not real tokens."""


def one_line(text: str, limit: int = MESSAGE_LIMIT, secret: SecretStr | None = None) -> str:
    """``text`` with whitespace collapsed, ``secret`` masked and at most ``limit`` characters."""
    if secret is not None and len(secret.get_secret_value()) >= MIN_MASKED_SECRET:
        text = text.replace(secret.get_secret_value(), "**********")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date), if valid.

    ``now`` is the current Unix time in seconds; dates in the past give ``0.0``.
    """
    if not value or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def as_int(value: Any) -> int | None:
    """A JSON number that is a whole number as ``int``; anything else (bools too) as ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive ones are taken as UTC), else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def api_message(response: httpx.Response, secret: SecretStr | None = None) -> str:
    """The API's own explanation of an error answer, on one line and truncated."""
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, dict):
        for key in ("message", "error", "error_message", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                body = value
                break
    if not isinstance(body, str):
        body = text
    return one_line(body, secret=secret) or response.reason_phrase or "no details"


def duration_text(seconds: float) -> str:
    """``seconds`` as "45 s", "12 min" or "1 h 5 min" for messages."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
