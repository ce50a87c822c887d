"""Counting requests to a bucket from moto's access log (``benchmarks.bucket_log``)."""

from __future__ import annotations

from benchmarks.bucket_log import count_bucket_requests

LOG = """\
WARNING: This is a development server. Do not use it in a production deployment.
 * Running on http://127.0.0.1:45931
127.0.0.1 - - [30/Nov/2026 14:16:30] "GET /moto-api/ HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:31] "PUT /volt-b1 HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:31] "PUT /volt-b1/volt/runs/run-1/toggl_data.json HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:31] "GET /volt-b1/volt/runs/run-1/toggl_data.json HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:32] "HEAD /volt-b1/volt/runs/run-12/x.json HTTP/1.1" 404 -
127.0.0.1 - - [30/Nov/2026 14:16:32] "GET /volt-b1?prefix=volt%2Fruns%2Frun-1 HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:32] "GET /volt-b1?list-type=2&delimiter=%2F HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:33] "PUT /volt-b10/volt/runs/run-1/x.json HTTP/1.1" 200 -
127.0.0.1 - - [30/Nov/2026 14:16:33] "PUT /other/volt/runs/run-1/x.json HTTP/1.1" 200 -
"""


def test_only_the_buckets_requests_count_by_method_status_and_run() -> None:
    counted = count_bucket_requests(LOG.splitlines(), "volt-b1", ["run-1", "run-12"])
    assert counted.total == 6
    assert counted.by_method == {"PUT": 2, "GET": 3, "HEAD": 1}
    assert counted.by_status == {"200": 5, "404": 1}
    # run-12's key also contains "run-1": the longest run id it names wins
    assert counted.by_run == {"": 2, "run-1": 3, "run-12": 1}
    assert counted.as_dict()["by_run"] == {"": 2, "run-1": 3, "run-12": 1}


def test_an_empty_or_foreign_log_counts_nothing() -> None:
    assert count_bucket_requests([], "volt-b1").total == 0
    assert count_bucket_requests(LOG.splitlines(), "absent").total == 0
