"""Pieces both simulators share: options base, early answers, middleware assembly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

from volt_agent.sandbox._limits import Clock, LeakyBucket
from volt_agent.sandbox.faults import FaultMiddleware, FaultPlan
from volt_agent.sandbox.stats import EndpointTable, RequestStats, StatsMiddleware, add_stats_routes


@dataclass(frozen=True)
class SimulatorOptions:
    """Knobs common to both simulators.

    ``requests_per_second`` (``None`` = unlimited) drives a leaky bucket holding ``burst``
    requests; ``latency_seconds`` is a uniform ``(low, high)`` delay added to every request,
    drawn from ``random.Random(seed)``; ``clock`` is injectable for tests of time windows.
    """

    token: str = "sandbox-token"  # noqa: S105  # a public sandbox token, not a secret
    requests_per_second: float | None = None
    burst: int = 1
    latency_seconds: tuple[float, float] = (0.0, 0.0)
    faults: FaultPlan = field(default_factory=FaultPlan)
    seed: int = 0
    clock: Clock = time.monotonic

    def __post_init__(self) -> None:
        low, high = self.latency_seconds
        if low < 0 or high < low:
            raise ValueError("latency_seconds must be (low, high) with 0 <= low <= high")
        if self.requests_per_second is not None and self.requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive (or None for no limit)")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")

    def bucket(self) -> LeakyBucket | None:
        if self.requests_per_second is None:
            return None
        return LeakyBucket(self.requests_per_second, self.burst, self.clock)


class Rejection(Exception):  # noqa: N818  # a control-flow signal carrying a response, not an error
    """Raised inside a handler to answer ``response`` at once (auth, limits, bad input)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _answer_rejection(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Rejection):
        return exc.response
    raise exc


def assemble(
    app: FastAPI,
    *,
    stats: RequestStats,
    endpoints: EndpointTable,
    options: SimulatorOptions,
    json_errors: bool,
) -> None:
    """Wire counting (outermost), latency/faults and the stats routes into ``app``."""
    app.state.stats = stats
    add_stats_routes(app, stats)
    app.add_exception_handler(Rejection, _answer_rejection)
    app.add_middleware(
        FaultMiddleware,
        plan=options.faults,
        endpoints=endpoints,
        stats=stats,
        latency=options.latency_seconds,
        seed=options.seed,
        json_errors=json_errors,
    )
    app.add_middleware(StatsMiddleware, stats=stats, endpoints=endpoints)


def stats_of(app: FastAPI) -> RequestStats:
    """The request counters of a simulator app built by this package."""
    stats = getattr(app.state, "stats", None)
    if not isinstance(stats, RequestStats):
        raise TypeError("this app is not a sandbox simulator")
    return stats
