"""What ``serve --http`` checks before it listens (``server.http.plan_http``), the tokens
file (``server.auth.StaticTokens``) and the HTTP variables in ``config``: every refusal
names the variable or flag and says what to set."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.auth.provider import AccessToken

from alc_mcp.config import Config, ConfigError
from alc_mcp.server.auth import AuthFileError, StaticTokens, principal_of
from alc_mcp.server.http import HttpSetupError, plan_http

pytestmark = pytest.mark.anyio

GOOD = "a" * 24
OTHER = "b" * 24


def _config(tmp_path: Path, **env: str) -> Config:
    return Config.from_env({"ALC_HOME": str(tmp_path), **env})


def _tokens(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokens"
    path.write_text(text, encoding="utf-8")
    return path


async def test_each_token_names_its_principal_and_nothing_else_passes(tmp_path: Path) -> None:
    tokens = StaticTokens.from_file(_tokens(tmp_path, f"# comment\n\n{GOOD} alice\n  {OTHER}   bob  \n"))
    alice = await tokens.verify_token(GOOD)
    assert alice is not None and principal_of(alice) == "alice"
    bob = await tokens.verify_token(OTHER)
    assert bob is not None and principal_of(bob) == "bob"
    for wrong in ("", GOOD[:-1], GOOD + "a", GOOD.upper(), f"{GOOD} alice"):
        assert await tokens.verify_token(wrong) is None, wrong


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no tokens in the file"),
        ("# only a comment\n", "no tokens in the file"),
        (f"{GOOD}\n", "line 1: expected two fields"),
        (f"{GOOD} alice\n{OTHER} bob smith\n", "line 2: expected two fields"),
        ("short alice\n", "line 1: the token is 5 characters, fewer than 16"),
        (f"{GOOD} alice\n\n{GOOD} mallory\n", "line 3: the same token as line 1"),
    ],
)
def test_a_bad_tokens_file_says_which_line_and_why(tmp_path: Path, text: str, says: str) -> None:
    path = _tokens(tmp_path, text)
    with pytest.raises(AuthFileError) as caught:
        StaticTokens.from_file(path)
    assert f"ALC_AUTH_TOKENS={path}" in str(caught.value)
    assert says in str(caught.value)


def test_a_missing_tokens_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AuthFileError, match="no such file"):
        StaticTokens.from_file(tmp_path / "absent")


def test_an_issuers_principals_are_qualified_by_the_issuer() -> None:
    token = AccessToken(
        token="t", client_id="app", subject="alice", scopes=[], claims={"iss": "https://id.example"}
    )
    assert principal_of(token) == "https://id.example#alice"
    assert principal_of(AccessToken(token="t", client_id="app", scopes=[])) == "app"


def test_http_without_any_auth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HttpSetupError) as caught:
        plan_http(_config(tmp_path), "127.0.0.1", 8765, no_auth=False)
    message = str(caught.value)
    assert "ALC_AUTH_TOKENS" in message and "ALC_AUTH_ISSUER_URL" in message and "--no-auth" in message


def test_no_auth_is_for_loopback_only(tmp_path: Path) -> None:
    plan = plan_http(_config(tmp_path), "127.0.0.1", 8765, no_auth=True)
    assert plan.auth is None and plan.verifier is None
    with pytest.raises(HttpSetupError, match=r"127\.0\.0\.1 only"):
        plan_http(
            _config(tmp_path, ALC_PUBLIC_URL="https://alc.example.com/mcp"), "0.0.0.0", 80, no_auth=True
        )


def test_no_auth_contradicts_a_tokens_file(tmp_path: Path) -> None:
    config = _config(tmp_path, ALC_AUTH_TOKENS=str(_tokens(tmp_path, f"{GOOD} a\n")))
    with pytest.raises(HttpSetupError, match="--no-auth and ALC_AUTH_TOKENS"):
        plan_http(config, "127.0.0.1", 8765, no_auth=True)


def test_two_verifiers_at_once_are_refused(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        ALC_AUTH_TOKENS=str(_tokens(tmp_path, f"{GOOD} a\n")),
        ALC_AUTH_ISSUER_URL="https://id.example",
        ALC_AUTH_INTROSPECTION_URL="https://id.example/introspect",
    )
    with pytest.raises(HttpSetupError, match="both set"):
        plan_http(config, "127.0.0.1", 8765, no_auth=False)


def test_every_interface_needs_the_public_url(tmp_path: Path) -> None:
    config = _config(tmp_path, ALC_AUTH_TOKENS=str(_tokens(tmp_path, f"{GOOD} a\n")))
    with pytest.raises(HttpSetupError, match="needs ALC_PUBLIC_URL"):
        plan_http(config, "0.0.0.0", 8765, no_auth=False)


def test_the_public_url_and_listed_origins_are_allowed(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        ALC_AUTH_TOKENS=str(_tokens(tmp_path, f"{GOOD} a\n")),
        ALC_PUBLIC_URL="https://alc.example.com/mcp",
        ALC_ALLOWED_ORIGINS="https://app.example.com, http://localhost:*",
    )
    plan = plan_http(config, "0.0.0.0", 8765, no_auth=False)
    assert plan.url == "https://alc.example.com/mcp"
    assert "alc.example.com" in plan.security.allowed_hosts
    assert {"https://alc.example.com", "https://app.example.com"} <= set(plan.security.allowed_origins)
    assert "https://evil.example" not in plan.security.allowed_origins


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"ALC_ALLOWED_ORIGINS": "app.example.com"}, "is not an origin"),
        ({"ALC_ALLOWED_ORIGINS": "https://app.example.com/path"}, "is not an origin"),
        (
            {"ALC_PUBLIC_URL": "alc.example.com/mcp"},
            "ALC_PUBLIC_URL='alc.example.com/mcp' is not an http(s) URL",
        ),
        ({"ALC_AUTH_ISSUER_URL": "ftp://id.example"}, "ALC_AUTH_ISSUER_URL"),
    ],
)
def test_malformed_http_variables_are_refused(tmp_path: Path, env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, **env)
    assert says in str(caught.value)
