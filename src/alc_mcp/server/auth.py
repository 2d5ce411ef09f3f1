"""Who is calling over HTTP: bearer tokens checked by the SDK's resource-server middleware
(``AuthSettings`` + a ``TokenVerifier``), and the principal a verified token names.

Two verifiers. ``StaticTokens`` reads ``ALC_AUTH_TOKENS``, a file of ``TOKEN PRINCIPAL``
lines, for a small team without an identity provider. ``Introspection`` asks an OAuth
2.1 authorization server (RFC 7662 token introspection at
``ALC_AUTH_INTROSPECTION_URL``) whether a token is active and whose it is.

The principal is what sessions are owned by (``SessionService.acting_as``): the
token's subject, or its client id when it has none, qualified by its issuer when the
token names one, so two issuers' "alice" are two people.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, principal_components

__all__ = [
    "MIN_TOKEN_CHARS",
    "AuthFileError",
    "Introspection",
    "StaticTokens",
    "principal_of",
    "request_principal",
]

#: Shorter tokens are refused when the file is read: a guessable token is no lock.
MIN_TOKEN_CHARS = 16
NEW_TOKEN_HINT = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class AuthFileError(ValueError):
    """The tokens file cannot be used; the message names the file, the line and the fix."""


def principal_of(token: AccessToken) -> str:
    """The principal a verified token stands for (see the module docstring)."""
    client_id, issuer, subject = principal_components(token)
    who = subject or client_id
    return f"{issuer}#{who}" if issuer else who


def request_principal() -> str | None:
    """The principal of the HTTP request being served; None when nobody authenticated
    (stdio, HTTP with --no-auth)."""
    token = get_access_token()
    return principal_of(token) if token is not None else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class StaticTokens:
    """A ``TokenVerifier`` over a fixed table of tokens. Only the tokens' SHA-256 digests
    are kept, and every lookup compares against every entry with ``hmac.compare_digest``,
    so how long a check takes says nothing about how close a guess was."""

    entries: tuple[tuple[bytes, str], ...]

    @classmethod
    def from_file(cls, path: Path) -> StaticTokens:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise AuthFileError(f"ALC_AUTH_TOKENS={path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthFileError(f"ALC_AUTH_TOKENS={path}: cannot be read ({exc})") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, where: str) -> StaticTokens:
        """``TOKEN PRINCIPAL`` per line; blank lines and lines starting with ``#`` are skipped."""
        entries: list[tuple[bytes, str]] = []
        seen: dict[bytes, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            at = f"ALC_AUTH_TOKENS={where}, line {number}"
            if len(fields) != 2:
                raise AuthFileError(
                    f"{at}: expected two fields, 'TOKEN PRINCIPAL' (got {len(fields)}); a principal "
                    "has no spaces"
                )
            token, principal = fields
            if len(token) < MIN_TOKEN_CHARS:
                raise AuthFileError(
                    f"{at}: the token is {len(token)} characters, fewer than {MIN_TOKEN_CHARS}; "
                    + NEW_TOKEN_HINT
                )
            digest = _digest(token)
            if digest in seen:
                raise AuthFileError(
                    f"{at}: the same token as line {seen[digest]}; give each principal its own"
                )
            seen[digest] = number
            entries.append((digest, principal))
        if not entries:
            raise AuthFileError(
                f"ALC_AUTH_TOKENS={where}: no tokens in the file; add lines of 'TOKEN PRINCIPAL' "
                f"({NEW_TOKEN_HINT})"
            )
        return cls(tuple(entries))

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = _digest(token)
        found: str | None = None
        for candidate, principal in self.entries:  # no early exit: constant work per call
            if hmac.compare_digest(candidate, digest):
                found = principal
        if found is None:
            return None
        return AccessToken(token=token, client_id=found, subject=found, scopes=[])


@dataclass(frozen=True, slots=True)
class Introspection:
    """A ``TokenVerifier`` that asks the authorization server (RFC 7662): a token is
    valid while the server says it is ``active``. With a client id and secret the
    request authenticates with HTTP Basic, as most servers require."""

    url: str
    client_id: str | None = None
    client_secret: str | None = None
    timeout_seconds: float = 10.0

    async def verify_token(self, token: str) -> AccessToken | None:
        auth = httpx2.BasicAuth(self.client_id, self.client_secret or "") if self.client_id else None
        try:
            async with httpx2.AsyncClient(timeout=self.timeout_seconds, auth=auth) as client:
                response = await client.post(self.url, data={"token": token})
        except httpx2.HTTPError:
            return None  # the issuer is unreachable: nobody gets in, the caller sees 401
        if response.status_code != 200:
            return None
        try:
            claims = response.json()
        except ValueError:
            return None
        return _active_token(token, claims) if isinstance(claims, Mapping) else None


def _active_token(token: str, claims: Mapping[str, Any]) -> AccessToken | None:
    if claims.get("active") is not True:
        return None
    expires = claims.get("exp")
    if isinstance(expires, int) and expires < time.time():
        return None
    subject, client_id = claims.get("sub"), claims.get("client_id")
    if not isinstance(subject, str) and not isinstance(client_id, str):
        return None  # active, but nobody to own the sessions
    audience = claims.get("aud")
    scope = claims.get("scope")
    return AccessToken(
        token=token,
        client_id=client_id if isinstance(client_id, str) else str(subject),
        subject=subject if isinstance(subject, str) else None,
        scopes=scope.split() if isinstance(scope, str) else [],
        expires_at=expires if isinstance(expires, int) else None,
        resource=audience if isinstance(audience, str) else None,
        claims={"iss": claims["iss"]} if isinstance(claims.get("iss"), str) else None,
    )
