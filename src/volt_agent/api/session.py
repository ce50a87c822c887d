"""Browser sessions of the web page: a signed cookie naming who logged in, never their token.

A user logs in once with a bearer token (checked by ``TokenAuthenticator``); the page then
sets a cookie ``base64url(name, role, expiry) "." base64url(HMAC-SHA256)``. The key is
derived from every configured ``(name, role, token)``, so:

- API replicas with the same tokens accept each other's cookies (no server-side store);
- changing, adding or revoking any token, or a token's role, ends every session at once;
- the token itself is in neither the cookie nor the key's output.

A cookie is accepted only unexpired and only for a ``(name, role)`` still configured.
Forms that change something carry ``csrf_token(cookie)``, a second HMAC over the cookie,
compared in constant time; with the cookie's ``SameSite=Strict`` a foreign page can neither
send the cookie nor know the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable

from volt_agent.api.auth import Principal
from volt_agent.config import ApiToken

COOKIE_NAME = "volt_agent_session"
SESSION_SECONDS = 8 * 3600
_KEY_LABEL = b"volt-agent web page session v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session cookies and CSRF tokens for ``tokens``."""

    def __init__(
        self,
        tokens: list[ApiToken],
        *,
        lifetime_seconds: int = SESSION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        material = sorted(f"{t.name}\x00{t.role}\x00{t.token.get_secret_value()}" for t in tokens)
        self._key = hmac.new(
            _KEY_LABEL, "\n".join(material).encode("utf-8"), hashlib.sha256
        ).digest()
        self._principals = {(t.name, t.role) for t in tokens}
        self._lifetime = lifetime_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"SessionSigner({len(self._principals)} principals)"

    @property
    def lifetime_seconds(self) -> int:
        return self._lifetime

    def _mac(self, purpose: bytes, text: str) -> bytes:
        return hmac.new(
            self._key, purpose + b"\x00" + text.encode("ascii"), hashlib.sha256
        ).digest()

    def issue(self, principal: Principal) -> str:
        """A cookie value for ``principal``, valid ``lifetime_seconds`` from now."""
        expiry = int(self._clock()) + self._lifetime
        payload = json.dumps([principal.name, principal.role, expiry], separators=(",", ":"))
        body = _b64(payload.encode("utf-8"))
        return f"{body}.{_b64(self._mac(b'session', body))}"

    def verify(self, cookie: str | None) -> Principal | None:
        """The session's principal, or ``None`` for a missing, forged, expired or stale cookie."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        body, signature = cookie.split(".")
        try:
            expected = self._mac(b"session", body)
            if not hmac.compare_digest(_unb64(signature), expected):
                return None
            name, role, expiry = json.loads(_unb64(body))
        except (binascii.Error, UnicodeError, ValueError, TypeError):
            return None
        if not isinstance(expiry, int) or expiry <= self._clock():
            return None
        if (name, role) not in self._principals:
            return None
        return Principal(name, role)

    def csrf_token(self, cookie: str) -> str:
        """The value forms of this session must send back (``csrf``)."""
        return _b64(self._mac(b"csrf", cookie))

    def check_csrf(self, cookie: str | None, presented: str | None) -> bool:
        if not cookie or not presented or self.verify(cookie) is None:
            return False
        expected = self.csrf_token(cookie).encode("ascii")
        return hmac.compare_digest(expected, presented.encode("utf-8", errors="replace"))
