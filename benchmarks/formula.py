"""How many requests a run should cost: the request formula the benchmark checks.

Toggl (one ``fetch_toggl_data`` attempt of a fresh worker, ``user_cache_seconds`` not yet
expired, no ``--users`` pre-check)::

    report pages + refused page sizes + 3

- report pages: ``max(1, ceil(rows / granted page size))`` per ``max_range_days`` window
  (one window up to 366 days); rows are the report rows received, the granted size the one
  the server used (``X-Page-Size``, or the size that was not refused);
- refused page sizes: a server that refuses a size (400 naming ``page_size``) is asked again
  with the next of ``PAGE_SIZE_STEPS`` (1000, 200, 50); one that clamps costs nothing;
- the 3: the workspace users list, ``/me`` (the token user's zone and id; user-level quota),
  and the totals request of the completeness check (one per window).

Fibery (one run)::

    1 + queries + documents calls + refused documents calls

with ``queries`` entity queries merged up to ``MAX_COMMANDS_PER_REQUEST`` per
``/api/commands`` request and documents merged up to the document batch per
``get-documents`` call whenever the calls wait for the same rate-limit slot
(``sources.coalesce``). How much merges depends on timing, so the formula is a range:

- lowest (everything merged): ``1 + ceil(Q / 10) + ceil(D / b)``;
- highest (nothing merged): ``1 + Q + ceil(D / g) + (Q - 1)``: each of the ``Q`` batches
  sends ``ceil(D_i / g)`` calls at most for its own ``D_i`` documents, and
  ``sum(ceil(D_i / g)) <= ceil(D / g) + Q - 1``;

``Q`` = entity batches (``Σ ceil(entities of a type / batch_size)``), ``D`` = documents read,
``b`` = the configured document batch, ``g`` = the batch the server's cap leads the client
to (``b`` itself when it takes ``b``), plus one request per refused ``get-documents`` call.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from volt_agent.sources.fibery import MAX_COMMANDS_PER_REQUEST
from volt_agent.sources.pagination import smaller_page_size

USER_REQUESTS = 2
"""The workspace users list and ``/me``, once per fetch of a fresh worker (then cached)."""


def refused_page_sizes(configured: int, granted: int, mode: str) -> int:
    """Page sizes a server refuses before it grants ``granted``: 0 when it clamps."""
    if mode == "clamp" or granted >= configured:
        return 0
    refused, size = 0, configured
    while size > granted:
        refused += 1
        following = smaller_page_size(size)
        if following is None:
            break
        size = following
    return refused


@dataclass(frozen=True)
class TogglFormula:
    """The Toggl requests one fetch should cost (see the module docstring)."""

    rows: int
    page_size: int
    refused: int = 0
    windows: int = 1

    @property
    def pages(self) -> int:
        """Report pages: exact for one window; for several, the most the rows can take."""
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")
        return max(self.windows, math.ceil(self.rows / self.page_size) + self.windows - 1)

    @property
    def expected(self) -> int:
        return self.pages + self.refused + USER_REQUESTS + self.windows

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pages": self.pages, "expected": self.expected}


@dataclass(frozen=True)
class FiberyFormula:
    """The Fibery requests one run should cost, as a range (see the module docstring)."""

    batches: int
    """Entity batches of known types: one ``fibery.entity/query`` each."""
    documents: int
    document_batch: int
    granted_batch: int | None = None
    """The batch a refusing server leaves the client with (``None``: ``document_batch``)."""
    refused: int = 0
    """``get-documents`` calls refused (400) while the batch was stepped down."""

    @property
    def document_calls(self) -> int:
        """The fewest ``get-documents`` calls: every call full at the configured batch."""
        if self.document_batch < 1:
            raise ValueError("document_batch must be at least 1")
        return math.ceil(self.documents / self.document_batch)

    @property
    def granted(self) -> int:
        granted = self.granted_batch or self.document_batch
        if granted < 1:
            raise ValueError("granted_batch must be at least 1")
        return min(granted, self.document_batch)

    @property
    def lowest(self) -> int:
        queries = math.ceil(self.batches / MAX_COMMANDS_PER_REQUEST)
        return 1 + queries + self.document_calls + self.refused

    @property
    def highest(self) -> int:
        spread = max(0, self.batches - 1) if self.documents else 0
        calls = math.ceil(self.documents / self.granted)
        return 1 + self.batches + calls + spread + self.refused

    def holds(self, measured: int) -> bool:
        return self.lowest <= measured <= self.highest

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "document_calls": self.document_calls,
            "granted": self.granted,
            "lowest": self.lowest,
            "highest": self.highest,
        }


def formula_check(
    toggl: TogglFormula, toggl_measured: int, fibery: FiberyFormula, fibery_measured: int
) -> dict[str, Any]:
    """Formula next to measured for both APIs; ``passed`` only when both hold."""
    toggl_ok = toggl.expected == toggl_measured
    fibery_ok = fibery.holds(fibery_measured)
    return {
        "toggl": {**toggl.as_dict(), "measured": toggl_measured, "passed": toggl_ok},
        "fibery": {**fibery.as_dict(), "measured": fibery_measured, "passed": fibery_ok},
        "passed": toggl_ok and fibery_ok,
    }


def formula_lines(check: dict[str, Any]) -> list[str]:
    """Two summary lines: formula next to measured, PASS/FAIL."""
    t, f = check["toggl"], check["fibery"]
    return [
        f"{'PASS' if t['passed'] else 'FAIL'}  Toggl requests: formula {t['pages']} pages"
        f" (ceil({t['rows']} rows / {t['page_size']})) + {t['refused']} refused + 3"
        f" (users, /me, totals) = {t['expected']}; measured {t['measured']}",
        f"{'PASS' if f['passed'] else 'FAIL'}  Fibery requests: formula 1 schema +"
        f" {f['batches']} batches + ceil({f['documents']} documents /"
        f" {f['document_batch']}..{f['granted']})"
        f" + {f['refused']} refused, merged: {f['lowest']}..{f['highest']};"
        f" measured {f['measured']}",
    ]
