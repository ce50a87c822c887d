"""Requests to an S3 bucket, counted from an S3 server's access log (moto's werkzeug lines:
``127.0.0.1 - - [30/Nov/2026 14:16:31] "PUT /bucket/runs/r1/x.json HTTP/1.1" 200 -``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

_REQUEST = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


@dataclass
class BucketRequests:
    """Requests to one bucket: in all, by method and status, and by the run id they name."""

    total: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_run: Counter[str] = field(default_factory=Counter)
    """Run id → requests whose path or query (URL-decoded) names it; the rest are counted
    under ``""`` (bucket-wide listings, probes)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_method": dict(sorted(self.by_method.items())),
            "by_status": dict(sorted(self.by_status.items())),
            "by_run": dict(sorted(self.by_run.items())),
        }


def count_bucket_requests(
    lines: Iterable[str], bucket: str, run_ids: Iterable[str] = ()
) -> BucketRequests:
    """Count the requests of ``lines`` addressed to ``bucket`` (path-style: ``/bucket`` or
    ``/bucket/…``); other lines (start-up banner, other buckets, the server's own API) are
    ignored."""
    runs = list(run_ids)
    counted = BucketRequests()
    for line in lines:
        match = _REQUEST.search(line)
        if match is None:
            continue
        target = unquote(match["target"])
        path = target.split("?", 1)[0]
        if path != f"/{bucket}" and not path.startswith(f"/{bucket}/"):
            continue
        counted.total += 1
        counted.by_method[match["method"]] += 1
        counted.by_status[match["status"]] += 1
        named = [run for run in runs if run in target]
        counted.by_run[max(named, key=len) if named else ""] += 1
    return counted
