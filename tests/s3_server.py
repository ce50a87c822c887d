"""A real S3-compatible server for tests: moto in server mode, as a separate process.

``python -m moto.server`` on a free loopback port, spoken to over HTTP like any S3 endpoint
(no in-process mock); each test makes its own bucket. ``env`` gives the AWS variables a
volt-agent process needs to reach it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import httpx

START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MotoServer:
    """``with MotoServer() as s3:`` starts the process and stops it at the end."""

    def __init__(self, log_path: Path | None = None) -> None:
        """``log_path``: where the server's request log (one line per request) goes."""
        self.port = free_port()
        self._log_path = log_path
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        log = self._log_path.open("ab") if self._log_path else None
        with log or contextlib.nullcontext():
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                command, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                httpx.get(f"{self.endpoint}/moto-api/", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"moto server did not answer on {self.endpoint}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The AWS variables of a client of this server (or of ``endpoint``, e.g. a proxy)."""
        return {
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }

    def new_bucket(self) -> str:
        """A fresh, empty bucket (CreateBucket is ``PUT /{bucket}``)."""
        name = f"volt-{uuid.uuid4().hex[:16]}"
        httpx.put(f"{self.endpoint}/{name}", timeout=10).raise_for_status()
        return name

    def client(self) -> Any:
        """A boto3 client of this server: an independent view of what is really stored."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def keys(self, bucket: str) -> list[str]:
        """Every object key in ``bucket``."""
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def object(self, bucket: str, key: str) -> bytes | None:
        """An object's bytes, ``None`` when there is none."""
        client = self.client()
        try:
            body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return body
