"""Who may call over HTTP: bearer tokens (401 with WWW-Authenticate otherwise), browser
origins (403 for a cross-site one), /healthz for anyone, and the start-up refusals that
keep a server from listening unprotected. Real ``alc-mcp serve --http`` processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.http.servers import ALICE, HttpServer, connect, http_server, server_env, tokens_file

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    tmp_path = tmp_path_factory.mktemp("auth")
    with http_server(
        tmp_path,
        ALC_AUTH_TOKENS=str(tokens_file(tmp_path)),
        ALC_ALLOWED_ORIGINS="https://app.example.com",
    ) as running:
        yield running


def _post(server: HttpServer, **headers: str) -> httpx2.Response:
    return httpx2.post(server.url, json=LIST_TOOLS, headers={**MCP_HEADERS, **headers}, timeout=30)


def test_no_token_is_401_with_www_authenticate(server: HttpServer) -> None:
    response = _post(server)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_wrong_token_is_401(server: HttpServer) -> None:
    response = _post(server, authorization="Bearer not-a-token-anyone-was-given")
    assert response.status_code == 401
    assert "www-authenticate" in response.headers
    # A known token with a character changed is as wrong as any other.
    assert _post(server, authorization=f"Bearer {ALICE[:-1]}X").status_code == 401


def test_a_good_token_lists_the_tools(server: HttpServer) -> None:
    response = _post(server, authorization=f"Bearer {ALICE}")
    assert response.status_code == 200, response.text
    assert "alc_continue" in response.text


def test_a_cross_site_origin_is_403_even_with_a_token(server: HttpServer) -> None:
    response = _post(server, authorization=f"Bearer {ALICE}", origin="https://evil.example")
    assert response.status_code == 403
    assert "alc_continue" not in response.text


def test_localhost_and_listed_origins_are_allowed(server: HttpServer) -> None:
    for origin in ("http://localhost:3000", "https://app.example.com"):
        response = _post(server, authorization=f"Bearer {ALICE}", origin=origin)
        assert response.status_code == 200, (origin, response.text)


def test_healthz_needs_no_token_and_tells_no_secrets(server: HttpServer) -> None:
    response = httpx2.get(f"{server.base}/healthz", timeout=30)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok" and health["store"] == "durable" and health["version"]
    assert ALICE not in response.text and "alc-home" not in response.text


async def test_the_sdk_client_with_a_token_runs_a_session(server: HttpServer) -> None:
    async with connect(server.url, ALICE) as host:
        paused = await host.run("return alc.llm('ping?')")
        done = await host.ok("alc_continue", session_id=paused["session_id"], response="pong")
    assert done["status"] == "completed" and done["result"] == "pong"


# --- refusals at start-up -------------------------------------------------------------


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alc_mcp.cli", "serve", "--http", "--port", "1", *args],
        env=server_env(tmp_path / "alc-home", **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_http_without_auth_is_refused_and_says_what_to_set(tmp_path: Path) -> None:
    refused = _serve(tmp_path)
    assert refused.returncode == 2
    assert "ALC_AUTH_TOKENS" in refused.stderr and "--no-auth" in refused.stderr


def test_no_auth_is_refused_off_localhost(tmp_path: Path) -> None:
    refused = _serve(tmp_path, "--no-auth", "--host", "192.0.2.1")
    assert refused.returncode == 2
    assert "127.0.0.1 only" in refused.stderr


def test_a_bad_tokens_file_stops_start_up_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "tokens"
    bad.write_text(f"{ALICE} alice\nshort bob\n", encoding="utf-8")
    refused = _serve(tmp_path, ALC_AUTH_TOKENS=str(bad))
    assert refused.returncode == 2
    assert f"ALC_AUTH_TOKENS={bad}, line 2" in refused.stderr and "secrets.token_urlsafe" in refused.stderr
    missing = _serve(tmp_path, ALC_AUTH_TOKENS=str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_no_auth_without_http_is_a_mistake(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "alc_mcp.cli", "serve", "--no-auth"],
        env=server_env(tmp_path / "alc-home"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--no-auth is for serve --http" in refused.stderr
