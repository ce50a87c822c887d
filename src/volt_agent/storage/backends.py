"""Where run folders live: a local folder (default) or an S3-compatible bucket.

Both backends hold files by key, ``{run_id}/{name}`` with ``/`` between segments, and keep
the layout of ARCHITECTURE §3: locally ``{output_dir}/{run_id}/{name}``, in a bucket
``s3://bucket/prefix/{run_id}/{name}``. Every write is all-or-nothing: locally a temp file
renamed over the target (``storage.atomic``), in a bucket one object PUT, which S3 makes
visible whole or not at all. So a reader, on any worker, sees the previous complete file
or the new one, never a torn one, and workers on different machines share no disk.

The bucket backend uses ``obstore`` (Python bindings of the Rust ``object_store`` crate, as
used by Apache Arrow/DataFusion): one small typed wheel with no aiobotocore/botocore stack,
sync and async calls, and the usual AWS environment variables (``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, ``AWS_SESSION_TOKEN``) read the same way as by the AWS tools.
``fsspec``/``s3fs`` would bring botocore and an async filesystem layer we do not need.

Errors are one line. A missing file is ``ArtifactNotFoundError``; a bad key, a refused
credential or a missing bucket is ``StorageError`` (trying again cannot help); a bucket that
does not answer is ``StorageUnavailableError``, which activities retry.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn, Protocol
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import (
    BaseError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnknownConfigurationKeyError,
)
from obstore.store import S3Store

from volt_agent.config import Settings, merged_environment
from volt_agent.errors import ConfigError
from volt_agent.storage.atomic import (
    ArtifactNotFoundError,
    StorageError,
    StorageUnavailableError,
    orphaned_temp_files,
    write_bytes_atomic,
    write_chunks_atomic,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "access_key_id",
    "AWS_SECRET_ACCESS_KEY": "secret_access_key",
    "AWS_SESSION_TOKEN": "session_token",
    "AWS_DEFAULT_REGION": "region",
    "AWS_REGION": "region",
    "AWS_ENDPOINT_URL": "endpoint",
    "AWS_ENDPOINT_URL_S3": "endpoint",
}
"""Later names win: ``AWS_REGION`` over ``AWS_DEFAULT_REGION``, the S3-specific endpoint over
the general one, as in the AWS SDKs."""
DEFAULT_RETRY: RetryConfig = {"max_retries": 3, "retry_timeout": timedelta(seconds=30)}
"""Short: Temporal retries the activity (``StorageUnavailableError`` is retryable)."""
SPOOL_BYTES = 8 * 1024 * 1024
"""A bucket object streamed in or out is held in memory up to this size, then in a temp file."""
CHUNK_BYTES = 1024 * 1024


class ArtifactStore(Protocol):
    """Files of every run by key (``{run_id}/{name}``); each write replaces a file whole."""

    def location(self, key: str = "") -> str:
        """Where ``key`` is, for people: a local path or an ``s3://`` URL."""
        ...

    def read(self, key: str) -> bytes: ...

    def write(self, key: str, data: bytes) -> None: ...

    def write_stream(self, key: str, chunks: Iterable[bytes]) -> None:
        """Write the concatenation of ``chunks``, all-or-nothing like ``write``, without
        holding the whole file in this process's memory. If ``chunks`` raises, nothing is
        written and the error propagates."""
        ...

    def open_read(self, key: str) -> IO[bytes]:
        """The file as a binary stream to read piece by piece (the caller closes it)."""
        ...

    def exists(self, key: str) -> bool:
        """A file (not a folder) is stored at ``key``."""
        ...

    def files(self, prefix: str) -> list[str]:
        """Keys of the files under the folder ``prefix``, relative to it, sorted."""
        ...

    def folders(self) -> list[str]:
        """Names of the top-level folders (the run ids, unchecked)."""
        ...

    def has_folder(self, key: str) -> bool:
        """The folder ``key`` exists: locally even empty, in a bucket with any object."""
        ...

    def delete(self, key: str) -> bool:
        """Delete the file ``key`` or everything under the folder ``key``; whether any was."""
        ...

    def sweep_orphans(self, prefix: str) -> list[str]:
        """Delete what writers killed mid-write left under the folder ``prefix``; returns
        their keys relative to it."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is a relative ``/``-separated path without ``.``/``..``/empty segments."""
    parts = key.split("/")
    if not key or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"invalid file name {key!r} in a run folder")
    return key


class LocalStore:
    """Run folders under ``root`` on this machine (``output_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str = "") -> Path:
        return self.root / check_key(key) if key else self.root

    def location(self, key: str = "") -> str:
        return str(self.path(key))

    def read(self, key: str) -> bytes:
        target = self.path(key)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"{target} does not exist") from None
        except OSError as exc:
            raise StorageError(f"cannot read {target}: {exc.strerror or exc}") from None

    def write(self, key: str, data: bytes) -> None:
        write_bytes_atomic(self.path(key), data)

    def write_stream(self, key: str, chunks: Iterable[bytes]) -> None:
        write_chunks_atomic(self.path(key), chunks)

    def open_read(self, key: str) -> IO[bytes]:
        target = self.path(key)
        try:
            return target.open("rb")
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"{target} does not exist") from None
        except OSError as exc:
            raise StorageError(f"cannot read {target}: {exc.strerror or exc}") from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def files(self, prefix: str) -> list[str]:
        """Temp files of unfinished writes (``.name.*.tmp``) are not listed."""
        root = self.path(prefix)
        if not root.is_dir():
            return []
        return sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )

    def folders(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(path.name for path in self.root.iterdir() if path.is_dir())

    def has_folder(self, key: str) -> bool:
        return self.path(key).is_dir()

    def delete(self, key: str) -> bool:
        target = self.path(key)
        try:
            if target.is_dir():
                shutil.rmtree(target)
                return True
            if target.exists():
                target.unlink()
                return True
        except OSError as exc:
            raise StorageError(f"cannot delete {target}: {exc.strerror or exc}") from None
        return False

    def sweep_orphans(self, prefix: str) -> list[str]:
        """Temp files of this host's writers that are gone (``atomic.orphaned_temp_files``).
        Best effort: one that cannot be deleted is left, with no error (a run's status is
        recorded all the same)."""
        root = self.path(prefix)
        swept = []
        for orphan in orphaned_temp_files(root):
            with contextlib.suppress(OSError):
                orphan.unlink()
                swept.append(orphan.relative_to(root).as_posix())
        return swept


class BucketStore:
    """Run folders in an S3-compatible bucket: ``s3://bucket/prefix/{run_id}/{name}``."""

    def __init__(
        self,
        url: str,
        env: Mapping[str, str] | None = None,
        *,
        retry: RetryConfig | None = None,
    ) -> None:
        """``env`` (default: the process environment over ``.env``) gives the endpoint, region and
        credentials by their usual AWS names; an ``http://`` endpoint (a local MinIO or
        moto) is allowed as such."""
        bucket, prefix = parse_s3_url(url)
        self.url = f"s3://{bucket}" + (f"/{prefix}" if prefix else "")
        env = merged_environment() if env is None else env
        config: S3Config = {}
        for name, key in AWS_ENV.items():
            if env.get(name):
                config[key] = env[name]  # type: ignore[literal-required]
        options: ClientConfig = {}
        if str(config.get("endpoint", "")).startswith("http://"):
            options["allow_http"] = True
        try:
            self._store = S3Store(
                bucket,
                prefix=prefix or None,
                config=config,
                client_options=options,
                retry_config=retry or DEFAULT_RETRY,
            )
        except (BaseError, ValueError) as exc:
            raise ConfigError(f"storage_url {self.url}: {_first_line(exc)}") from None

    def location(self, key: str = "") -> str:
        return f"{self.url}/{check_key(key)}" if key else self.url

    def read(self, key: str) -> bytes:
        try:
            return bytes(obstore.get(self._store, check_key(key)).bytes())
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"{self.location(key)} does not exist") from None
        except (BaseError, OSError, ValueError) as exc:
            self._fail("read", key, exc)

    def write(self, key: str, data: bytes) -> None:
        try:
            obstore.put(self._store, check_key(key), data, use_multipart=False)
        except (BaseError, OSError, ValueError) as exc:
            self._fail("write", key, exc)

    def write_stream(self, key: str, chunks: Iterable[bytes]) -> None:
        """Spooled (memory up to ``SPOOL_BYTES``, then a temp file), then one PUT: an
        object appears whole or not at all, and no multipart upload is ever left behind."""
        check_key(key)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            try:
                obstore.put(self._store, key, spool, use_multipart=False)
            except (BaseError, OSError, ValueError) as exc:
                self._fail("write", key, exc)

    def open_read(self, key: str) -> IO[bytes]:
        """The object downloaded chunk by chunk into a spool, rewound."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned)
        try:
            for chunk in obstore.get(self._store, check_key(key)).stream(CHUNK_BYTES):
                spool.write(chunk)
        except FileNotFoundError:
            spool.close()
            raise ArtifactNotFoundError(f"{self.location(key)} does not exist") from None
        except (BaseError, OSError, ValueError) as exc:
            spool.close()
            self._fail("read", key, exc)
        spool.seek(0)
        return spool

    def exists(self, key: str) -> bool:
        try:
            obstore.head(self._store, check_key(key))
        except FileNotFoundError:
            return False
        except (BaseError, OSError, ValueError) as exc:
            self._fail("read", key, exc)
        return True

    def files(self, prefix: str) -> list[str]:
        start = len(check_key(prefix)) + 1
        try:
            chunks = obstore.list(self._store, prefix).collect()
        except (BaseError, OSError, ValueError) as exc:
            self._fail("list", prefix, exc)
        return sorted(meta["path"][start:] for meta in chunks)

    def folders(self) -> list[str]:
        try:
            listed = obstore.list_with_delimiter(self._store)
        except (BaseError, OSError, ValueError) as exc:
            self._fail("list", "", exc)
        return sorted(name.rsplit("/", 1)[-1] for name in listed["common_prefixes"])

    def has_folder(self, key: str) -> bool:
        return bool(self.files(key))

    def delete(self, key: str) -> bool:
        keys = [*(f"{key}/{name}" for name in self.files(key))]
        if self.exists(key):
            keys.append(key)
        if not keys:
            return False
        try:
            obstore.delete(self._store, keys)
        except FileNotFoundError:  # another worker deleted them first
            pass
        except (BaseError, OSError, ValueError) as exc:
            self._fail("delete", key, exc)
        return True

    def sweep_orphans(self, prefix: str) -> list[str]:
        """Nothing to sweep: an object is written by one PUT (``write_stream``), so a killed
        writer leaves neither a partial object nor an unfinished multipart upload."""
        check_key(prefix)
        return []

    def _fail(self, verb: str, key: str, exc: Exception) -> NoReturn:
        where = self.location(key) if key else self.url
        reason = _first_line(exc)
        if "NoSuchBucket" in str(exc):
            reason = f"the bucket {self.url.removeprefix('s3://').split('/')[0]} does not exist"
        message = f"cannot {verb} {where}: {reason}"
        refused = (PermissionDeniedError, UnauthenticatedError, UnknownConfigurationKeyError)
        if isinstance(exc, (*refused, ValueError)) or "NoSuchBucket" in str(exc):
            raise StorageError(message) from None
        raise StorageUnavailableError(message) from None


PROBE_PREFIX = "volt-agent-probe"
"""A prefix no run folder uses (run ids start with a date or a name, never this)."""


def probe_bucket(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The bucket ``settings.storage_url`` names, checked with one listing of an unused
    prefix: it exists, answers and lets these credentials read it; nothing is written.
    Returns its location; ``ConfigError``, ``StorageError`` (refused, no such bucket) or
    ``StorageUnavailableError`` (no answer), each one line."""
    if not settings.storage_url:
        raise ConfigError("no storage_url is set: run folders go to output_dir")
    store = open_storage(settings, env)
    store.files(PROBE_PREFIX)
    return store.location()


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``("bucket", "prefix")``; ``ConfigError`` otherwise."""
    parts = urlsplit(url)
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if parts.scheme != "s3" or not bucket or parts.query or parts.fragment:
        raise ConfigError(
            f"storage_url {url!r} is not s3://bucket or s3://bucket/prefix:"
            " fix VOLT_AGENT_STORAGE_URL (or leave it unset for output_dir)"
        )
    if prefix:
        with contextlib.suppress(StorageError):
            return bucket, check_key(prefix)
        raise ConfigError(f"storage_url {url!r} has an empty, '.' or '..' part in its prefix")
    return bucket, ""


def open_storage(settings: Settings, env: Mapping[str, str] | None = None) -> ArtifactStore:
    """The run-folder storage ``settings`` name: ``storage_url`` if set, else ``output_dir``.

    A bucket client is kept per URL and AWS settings, so a long-lived process (the API, a
    worker) reuses its connections.
    """
    if settings.storage_url:
        env = merged_environment() if env is None else env
        aws = tuple(sorted((name, value) for name, value in env.items() if name in AWS_ENV))
        return _bucket(settings.storage_url, aws)
    return LocalStore(settings.output_dir)


@functools.lru_cache(maxsize=8)
def _bucket(url: str, aws: tuple[tuple[str, str], ...]) -> BucketStore:
    return BucketStore(url, dict(aws))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."
