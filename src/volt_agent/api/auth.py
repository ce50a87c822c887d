"""Bearer tokens with roles: ``viewer`` reads, ``operator`` also starts and cancels runs,
``admin`` also manages schedules.

Missing or unknown token → 401 (with ``WWW-Authenticate: Bearer``); a known token whose role
is too low → 403. Tokens are compared in constant time and never logged: log lines and
errors name the token's ``name`` only.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from volt_agent.config import ApiRole, ApiToken

logger = logging.getLogger(__name__)

ROLE_RANK: dict[ApiRole, int] = {"viewer": 0, "operator": 1, "admin": 2}
bearer = HTTPBearer(auto_error=False, description="A token from VOLT_AGENT_API_TOKENS")


@dataclass(frozen=True)
class Principal:
    name: str
    role: ApiRole


class TokenAuthenticator:
    """Looks up a presented token among the configured ones."""

    def __init__(self, tokens: list[ApiToken]) -> None:
        self._tokens = [
            (t.token.get_secret_value().encode("utf-8"), Principal(t.name, t.role)) for t in tokens
        ]

    def __repr__(self) -> str:
        return f"TokenAuthenticator({len(self._tokens)} tokens)"

    def authenticate(self, presented: str) -> Principal | None:
        given = presented.encode("utf-8", errors="replace")
        found = None
        for token, principal in self._tokens:  # no early exit: time does not tell which
            if hmac.compare_digest(token, given):
                found = principal
        return found


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require(role: ApiRole) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting tokens of ``role`` or higher."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008 - FastAPI's dependency idiom
    ) -> Principal:
        authenticator: TokenAuthenticator = request.app.state.authenticator
        if credentials is None:
            raise _unauthorized()
        principal = authenticator.authenticate(credentials.credentials)
        if principal is None:
            logger.warning("refused an unknown token for %s %s", request.method, request.url.path)
            raise _unauthorized()
        if ROLE_RANK[principal.role] < ROLE_RANK[role]:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"token {principal.name!r} has role {principal.role}; this needs {role}",
            )
        return principal

    return dependency
