"""An OAuth 2.1 issuer instead of a tokens file: alc-mcp as a resource server publishes
its protected resource metadata, points 401s at it, and accepts a token while the
issuer's RFC 7662 introspection endpoint says it is active. The issuer here is a real
HTTP server in this process (a few lines of Starlette standing in for Keycloak, Auth0,
…: no identity provider can run in the test suite)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.http.servers import HttpServer, connect, http_server, start

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CLIENT = ("alc-mcp", "introspection-secret")
CAROL = "carol-oauth-token-0123456789"
ERIN = "erin-oauth-token-0123456789a"


def _claims(issuer: str) -> dict[str, dict[str, Any]]:
    return {
        CAROL: {"active": True, "sub": "carol", "client_id": "claude", "iss": issuer, "scope": "mcp"},
        ERIN: {"active": True, "sub": "erin", "client_id": "claude", "iss": issuer},
        "revoked-token-0123456789": {"active": False},
        "expired-token-0123456789": {"active": True, "sub": "dave", "client_id": "x", "exp": 1_000},
    }


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    claims = _claims(url)
    expected = "Basic " + base64.b64encode(":".join(CLIENT).encode()).decode()

    async def introspect(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = (await request.form()).get("token")
        return JSONResponse(claims.get(str(token), {"active": False}))

    app = Starlette(routes=[Route("/introspect", introspect, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield url
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def server(issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    with http_server(
        tmp_path_factory.mktemp("oauth"),
        ALC_AUTH_ISSUER_URL=issuer,
        ALC_AUTH_INTROSPECTION_URL=f"{issuer}/introspect",
        ALC_AUTH_CLIENT_ID=CLIENT[0],
        ALC_AUTH_CLIENT_SECRET=CLIENT[1],
    ) as running:
        yield running


def test_a_401_points_at_the_protected_resource_metadata(server: HttpServer, issuer: str) -> None:
    refused = httpx2.post(server.url, json={}, timeout=30)
    assert refused.status_code == 401
    metadata_url = f"{server.base}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata_url}"' in refused.headers["www-authenticate"]
    metadata = httpx2.get(metadata_url, timeout=30).json()
    assert metadata["resource"] == server.url
    assert metadata["authorization_servers"] == [issuer]


def test_inactive_and_expired_tokens_are_401(server: HttpServer) -> None:
    for token in ("revoked-token-0123456789", "expired-token-0123456789", "never-issued-0123456789"):
        response = httpx2.post(server.url, json={}, headers={"authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 401, token


async def test_an_active_token_owns_its_sessions(server: HttpServer) -> None:
    async with connect(server.url, CAROL) as carol, connect(server.url, ERIN) as erin:
        session_id = (await carol.run("return alc.llm('carol asks')"))["session_id"]
        assert (await erin.ok("alc_status"))["sessions"] == []
        missing = await erin.error("alc_continue", session_id=session_id, response="x")
        assert missing.endswith(f"Continue failed: session '{session_id}' not found")
        done = await carol.ok("alc_continue", session_id=session_id, response="yes")
    assert done["result"] == "yes"


def test_a_misconfigured_issuer_stops_start_up(tmp_path: Path, issuer: str) -> None:
    process = start(tmp_path / "home", "--port", "1", cwd=tmp_path, ALC_AUTH_ISSUER_URL=issuer)
    assert process.wait(timeout=60) == 2
    (log,) = tmp_path.glob("serve-*.log")
    assert "ALC_AUTH_INTROSPECTION_URL" in log.read_text(encoding="utf-8")
