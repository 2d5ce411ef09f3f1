"""Serving MCP over streamable HTTP, for one user on localhost or a fleet behind one URL.

- **Stateless**: every request stands alone (no MCP session, no sticky routing); the
  alc ``session_id`` in the arguments is all the state, so any worker on the same
  store can serve any call.
- **Who may call**: a bearer token, checked by the SDK's resource-server middleware with
  a ``server.auth`` verifier (401 with ``WWW-Authenticate`` otherwise). HTTP without
  authentication is refused at start-up unless asked for (``--no-auth``), and then only
  on a loopback address.
- **Where from**: the SDK's transport security checks ``Host`` (DNS rebinding) and
  ``Origin`` (cross-site browser requests get 403): localhost, ``ALC_PUBLIC_URL``'s
  host and origin, and the origins in ``ALC_ALLOWED_ORIGINS``.
- ``GET /healthz`` answers without a token: the version and the store's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse

from alc_mcp.app import SessionService
from alc_mcp.config import Config
from alc_mcp.server.auth import AuthFileError, Introspection, StaticTokens

__all__ = ["HttpPlan", "HttpSetupError", "add_health_route", "plan_http"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
_ANY_ADDRESS = ("0.0.0.0", "::", "")

NEEDS_AUTH = (
    "serve --http needs authentication: set ALC_AUTH_TOKENS to a file of 'TOKEN PRINCIPAL' lines, or "
    "ALC_AUTH_ISSUER_URL and ALC_AUTH_INTROSPECTION_URL for an OAuth issuer (README: HTTP and tokens); "
    "or pass --no-auth to serve without it, on 127.0.0.1 only"
)


class HttpSetupError(ValueError):
    """The HTTP settings cannot be served as given; the message says what to set."""


@dataclass(frozen=True, slots=True)
class HttpPlan:
    """Everything ``MCPServer`` and its streamable HTTP app need, checked before serving."""

    url: str
    security: TransportSecuritySettings
    auth: AuthSettings | None = None
    verifier: TokenVerifier | None = None

    @property
    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for the ``MCPServer`` constructor."""
        return {"auth": self.auth, "token_verifier": self.verifier}


def plan_http(config: Config, host: str, port: int, *, no_auth: bool) -> HttpPlan:
    """Check the HTTP settings and work out what to serve; ``HttpSetupError`` says what is wrong."""
    http = config.http
    loopback = host in LOOPBACK
    if host in _ANY_ADDRESS and http.public_url is None:
        raise HttpSetupError(
            f"serve --http --host {host or '0.0.0.0'} needs ALC_PUBLIC_URL, the URL clients use (e.g. "
            "https://alc.example.com/mcp): requests whose Host header is not its host are refused"
        )
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    url = http.public_url or f"http://{netloc}/mcp"
    public = urlsplit(url)
    origin = f"{public.scheme}://{public.netloc}"
    hosts = [*_LOOPBACK_HOSTS, public.netloc, public.hostname or public.netloc]
    if not loopback and host not in _ANY_ADDRESS:
        hosts.append(f"{netloc.rsplit(':', 1)[0]}:*")
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys([*_LOOPBACK_ORIGINS, origin, *http.allowed_origins])),
    )
    configured = [
        name
        for name, value in (("ALC_AUTH_TOKENS", http.tokens_file), ("ALC_AUTH_ISSUER_URL", http.issuer_url))
        if value is not None
    ]
    if no_auth:
        if configured:
            raise HttpSetupError(f"--no-auth and {configured[0]} contradict each other; drop one")
        if not loopback:
            raise HttpSetupError(
                f"--no-auth lets anyone who reaches the port in; it is allowed on 127.0.0.1 only, not "
                f"--host {host}. Set ALC_AUTH_TOKENS instead (README: HTTP and tokens)"
            )
        return HttpPlan(url, security)
    if not configured:
        raise HttpSetupError(NEEDS_AUTH)
    if len(configured) > 1:
        raise HttpSetupError("ALC_AUTH_TOKENS and ALC_AUTH_ISSUER_URL are both set; use one of them")
    if http.tokens_file is not None:
        try:
            tokens = StaticTokens.from_file(http.tokens_file)
        except AuthFileError as exc:
            raise HttpSetupError(str(exc)) from None
        # No authorization server to point clients at, so no protected resource metadata:
        # a client sends the token it was given (README: HTTP and tokens).
        settings = AuthSettings(issuer_url=origin, resource_server_url=None)  # type: ignore[arg-type]
        return HttpPlan(url, security, settings, tokens)
    if http.introspection_url is None:
        raise HttpSetupError(
            "ALC_AUTH_ISSUER_URL is set but ALC_AUTH_INTROSPECTION_URL is not: set it to the issuer's "
            "RFC 7662 token introspection endpoint"
        )
    settings = AuthSettings(
        issuer_url=http.issuer_url,  # type: ignore[arg-type]
        resource_server_url=url,  # type: ignore[arg-type]
        validate_token_resource=False,
    )
    verifier = Introspection(http.introspection_url, http.client_id, http.client_secret)
    return HttpPlan(url, security, settings, verifier)


def add_health_route(server: MCPServer[Any], service: SessionService) -> None:
    """``GET /healthz``: for load balancers and probes, so no token and nothing secret."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse(service.health())

    server.custom_route("/healthz", methods=["GET"])(healthz)
