"""``--record DIR``: every Toggl/Fibery request and answer saved as a masked JSON file, and
served back in tests.

``RecordingTransport`` wraps the transport a client sends through. Each exchange becomes one
file ``{source}-{NNNN}-{METHOD}-{path}.json`` in the folder, written atomically:

    {"source": "toggl", "sequence": 1,
     "request":  {"method", "url" (path + query, no host), "headers", "json" | "text"},
     "response": {"status", "headers", "json" | "text"}}

Nothing secret or personal is written (``Masker``): ``Authorization``, cookie and ``Host``
headers are dropped, every configured token value is replaced, token-like keys are blanked,
emails become ``user1@example.invalid``-style pseudonyms and people's names (``fullname``,
``username``, ``user/name``, the ``name`` of an object with an email, and any alias a
Fibery query selects ``user/name`` under) become ``Person 1``-style pseudonyms, the same
person getting the same pseudonym in every file of one ``Masker``. Names already seen are
also replaced inside other text. Ids stay, so a recording can be replayed
(``sources.replay``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from volt_agent.config import Secrets
from volt_agent.errors import UserInputError
from volt_agent.storage.atomic import write_text_atomic

REDACTED = "<redacted>"
DROPPED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "host"}
)
"""Credentials, and the host (a Fibery host names the customer's workspace)."""
BODY_FRAMING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
"""They describe the bytes on the wire; the file holds the decoded body."""
SECRET_KEYS = frozenset({"api_token", "token", "password", "access_token", "refresh_token"})
PERSON_NAME_KEYS = frozenset({"fullname", "username", "user_name", "user/name"})
PERSON_MARKER_KEYS = frozenset({"email", "user/email", "fullname", "username"})
"""An object holding one of these describes a person: its ``name`` is a person's name."""
MIN_NAME_IN_TEXT = 3
"""Names shorter than this are not searched for inside free text (too many false hits)."""

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
RECORD_FILE = re.compile(r"^(?P<source>[a-z0-9_]+)-(?P<seq>\d{4,})-.*\.json$")
_SLUG = re.compile(r"[^A-Za-z0-9]+")


class Masker:
    """Replaces tokens, emails and people's names with stable placeholders.

    One instance per recording session: the same email or name always gets the same
    pseudonym from it, across Toggl and Fibery files alike. Thread-safe.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._emails: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._name_pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def email(self, address: str) -> str:
        with self._lock:
            key = address.lower()
            if key not in self._emails:
                self._emails[key] = f"user{len(self._emails) + 1}@example.invalid"
            return self._emails[key]

    def person(self, name: str) -> str:
        if not name.strip():
            return name
        with self._lock:
            key = name.strip()
            if key not in self._names:
                self._names[key] = f"Person {len(self._names) + 1}"
                self._name_pattern = None
            return self._names[key]

    def text(self, value: str) -> str:
        """``value`` with tokens, emails and known names replaced."""
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        value = _EMAIL.sub(lambda match: self.email(match.group(0)), value)
        pattern = self._known_names()
        if pattern is not None:
            value = pattern.sub(lambda match: self._names[match.group(0)], value)
        return value

    def json(self, value: Any, person_keys: Iterable[str] = ()) -> Any:
        """A masked copy of a decoded JSON value.

        ``person_keys`` are extra object keys whose string values are people's names (the
        aliases a Fibery query selected ``user/name`` under). Names are learned first, so
        text elsewhere in the same value is scrubbed of them too.
        """
        keys = PERSON_NAME_KEYS | frozenset(person_keys)
        self._learn(value, keys)
        return self._mask(value, keys)

    def headers(
        self, headers: httpx.Headers, *, drop: frozenset[str] = frozenset()
    ) -> dict[str, str]:
        return {
            name: self.text(value)
            for name, value in headers.items()
            if name.lower() not in DROPPED_HEADERS | drop
        }

    def _known_names(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._name_pattern is None:
                names = sorted(
                    (n for n in self._names if len(n) >= MIN_NAME_IN_TEXT), key=len, reverse=True
                )
                if names:
                    alternatives = "|".join(re.escape(n) for n in names)
                    self._name_pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
            return self._name_pattern

    def _learn(self, value: Any, keys: frozenset[str]) -> None:
        if isinstance(value, list):
            for item in value:
                self._learn(item, keys)
        elif isinstance(value, dict):
            person = _is_person(value)
            for key, item in value.items():
                if isinstance(item, str) and (key in keys or (person and key == "name")):
                    self.person(item)
                else:
                    self._learn(item, keys)

    def _mask(self, value: Any, keys: frozenset[str]) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._mask(item, keys) for item in value]
        if not isinstance(value, dict):
            return value
        person = _is_person(value)
        masked: dict[str, Any] = {}
        for key, item in value.items():
            if key.lower() in SECRET_KEYS and isinstance(item, str):
                masked[key] = REDACTED
            elif isinstance(item, str) and (key in keys or (person and key == "name")):
                masked[key] = self.person(item)
            else:
                masked[key] = self._mask(item, keys)
        return masked


def _is_person(value: dict[str, Any]) -> bool:
    return any(key in value for key in PERSON_MARKER_KEYS)


def person_aliases(value: Any) -> set[str]:
    """Keys of a request body whose selector is ``user/name`` or a path ending in it.

    A key that also selects something else elsewhere in the body (``name`` of the entity
    and ``name`` of its assignees) is left out: such objects are recognised by their email.
    """
    people: set[str] = set()
    other: set[str] = set()
    _collect_aliases(value, people, other)
    return people - other


def _collect_aliases(value: Any, people: set[str], other: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_aliases(item, people, other)
    elif isinstance(value, dict):
        for key, item in value.items():
            if item == "user/name" or (isinstance(item, list) and item and item[-1] == "user/name"):
                people.add(key)
            elif isinstance(item, str | list):
                other.add(key)
            _collect_aliases(item, people, other)


class _Sequences:
    """Next file number per (folder, source) in this process, after the files already there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[tuple[Path, str], itertools.count[int]] = {}

    def take(self, directory: Path, source: str) -> int:
        key = (directory.resolve(), source)
        with self._lock:
            if key not in self._next:
                self._next[key] = itertools.count(_last_sequence(directory, source) + 1)
            return next(self._next[key])


def _last_sequence(directory: Path, source: str) -> int:
    numbers = [
        int(match["seq"])
        for path in (directory.glob(f"{source}-*.json") if directory.is_dir() else ())
        if (match := RECORD_FILE.match(path.name)) and match["source"] == source
    ]
    return max(numbers, default=0)


_SEQUENCES = _Sequences()
"""Shared by every transport of the process, so two clients of one source never collide."""


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends through ``inner`` and saves each request/answer pair, masked, in ``directory``.

    ``source`` ("toggl", "fibery") starts each file name and is what ``replay_transport``
    selects by. The answer handed back to the client is the one ``inner`` gave, read in
    full (recording needs the whole body). Transport errors (timeouts, refused
    connections) are not recorded: there is no answer to save.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        directory: Path,
        masker: Masker,
        *,
        source: str = "http",
    ) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", source):
            raise ValueError("source must be lower-case letters, digits or _")
        self._inner = inner
        self._directory = directory
        self._masker = masker
        self._source = source

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request_body = await request.aread()
        response = await self._inner.handle_async_request(request)
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise TypeError("the inner transport answered with a synchronous stream")
        try:
            raw = b"".join([chunk async for chunk in stream])
        finally:
            await response.aclose()
        answer = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            extensions=response.extensions,
            request=request,
        )
        decoded = httpx.Response(response.status_code, headers=response.headers, content=raw)
        await decoded.aread()
        await self._save(request, request_body, decoded)
        return answer

    async def _save(self, request: httpx.Request, body: bytes, response: httpx.Response) -> None:
        masker = self._masker
        request_json, request_text = _decode(body)
        keys = person_aliases(request_json)
        sequence = _SEQUENCES.take(self._directory, self._source)
        record: dict[str, Any] = {
            "source": self._source,
            "sequence": sequence,
            "request": {
                "method": request.method,
                "url": masker.text(path_and_query(request.url)),
                "headers": masker.headers(request.headers),
                **_body(masker, request_json, request_text, keys),
            },
            "response": {
                "status": response.status_code,
                "headers": masker.headers(response.headers, drop=BODY_FRAMING_HEADERS),
                **_body(masker, *_decode(response.content), keys),
            },
        }
        slug = _SLUG.sub("-", request.url.path).strip("-")[:60] or "root"
        path = self._directory / f"{self._source}-{sequence:04d}-{request.method}-{slug}.json"
        text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
        await asyncio.to_thread(write_text_atomic, path, text)

    async def aclose(self) -> None:
        await self._inner.aclose()


def masker_for(secrets: Secrets) -> Masker:
    """A masker that scrubs every token in ``secrets``."""
    tokens = (
        secrets.toggl_api_token,
        secrets.fibery_api_token,
        secrets.openai_api_key,
        secrets.smtp_password,
        secrets.webhook_url,
    )
    return Masker(token.get_secret_value() for token in tokens if token is not None)


def record_folder(directory: Path) -> Path:
    """``--record DIR``: created when missing; ``UserInputError`` when it cannot be a folder."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserInputError(f"--record {directory}: a file is in the way of that folder") from None
    except OSError as exc:
        raise UserInputError(f"--record {directory}: {exc.strerror or exc}") from None
    return directory


def recording_transport(
    directory: Path,
    masker: Masker,
    source: str,
    inner: httpx.AsyncBaseTransport | None = None,
) -> RecordingTransport:
    """A recording wrapper around ``inner`` (default: a plain HTTP transport)."""
    return RecordingTransport(inner or httpx.AsyncHTTPTransport(), directory, masker, source=source)


def path_and_query(url: httpx.URL) -> str:
    return url.raw_path.decode("ascii")


_NO_JSON = object()


def _decode(body: bytes) -> tuple[Any, str | None]:
    """``(json value, None)`` for a JSON body, ``(_NO_JSON, text)`` otherwise."""
    if not body:
        return _NO_JSON, None
    try:
        return json.loads(body), None
    except ValueError:
        return _NO_JSON, body.decode("utf-8", errors="replace")


def _body(masker: Masker, value: Any, text: str | None, keys: set[str]) -> dict[str, Any]:
    if value is not _NO_JSON:
        return {"json": masker.json(value, keys)}
    if text is not None:
        return {"text": masker.text(text)}
    return {}
