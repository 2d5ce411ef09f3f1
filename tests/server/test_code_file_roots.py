"""alc_run's code_file reads only inside ALC_CODE_ROOTS (default: the current directory and
ALC_HOME), and nothing at all over HTTP unless ALC_CODE_ROOTS is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mcp import Client

from alc_mcp.config import Config
from tests.conftest import Host
from tests.http.servers import http_server as serve_http

pytestmark = pytest.mark.anyio


async def test_code_file_cannot_read_etc_passwd(host: Host) -> None:
    message = await host.error("alc_run", code_file="/etc/passwd")
    assert "outside the directories alc_run may read" in message
    assert "ALC_CODE_ROOTS" in message
    assert "root:" not in message


async def test_code_file_in_alc_home_runs_by_default(host: Host, config: Config) -> None:
    config.home.mkdir(parents=True, exist_ok=True)
    (config.home / "hello.lua").write_text("return 'from home'", encoding="utf-8")
    reply = await host.ok("alc_run", code_file=str(config.home / "hello.lua"))
    assert reply["result"] == "from home"


async def test_code_file_symlink_out_of_alc_home_is_refused(
    host: Host, config: Config, tmp_path: Path
) -> None:
    config.home.mkdir(parents=True, exist_ok=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("return 'secret'", encoding="utf-8")
    (config.home / "innocent.lua").symlink_to(secret)
    message = await host.error("alc_run", code_file=str(config.home / "innocent.lua"))
    assert f"resolves to {secret}" in message


# --- over HTTP -------------------------------------------------------------------------


@contextmanager
def http_server(tmp_path: Path, **env: str) -> Iterator[str]:
    with serve_http(tmp_path, "--no-auth", **env) as server:
        yield server.url


async def _run_code_file(url: str, path: Path) -> tuple[str, bool]:
    async with Client(url) as client:
        result = await client.call_tool("alc_run", {"code_file": str(path)})
        return result.content[0].text, bool(result.is_error)  # type: ignore[union-attr]


@pytest.mark.slow
async def test_code_file_is_refused_over_http_without_alc_code_roots(tmp_path: Path) -> None:
    script = tmp_path / "here.lua"  # in the server's working directory, allowed over stdio
    script.write_text("return 'read'", encoding="utf-8")
    with http_server(tmp_path) as url:
        text, is_error = await _run_code_file(url, script)
        assert is_error, text
        assert "ALC_CODE_ROOTS" in text and "HTTP" in text
        async with Client(url) as client:  # inline code still works
            result = await client.call_tool("alc_run", {"code": "return 1 + 1"})
            assert '"result":2' in result.content[0].text  # type: ignore[union-attr]


@pytest.mark.slow
async def test_code_file_over_http_reads_inside_alc_code_roots(tmp_path: Path) -> None:
    allowed = tmp_path / "scripts"
    allowed.mkdir()
    (allowed / "ok.lua").write_text("return 'read'", encoding="utf-8")
    with http_server(tmp_path, ALC_CODE_ROOTS=str(allowed)) as url:
        text, is_error = await _run_code_file(url, allowed / "ok.lua")
        assert not is_error, text
        assert '"result":"read"' in text
        text, is_error = await _run_code_file(url, Path("/etc/passwd"))
        assert is_error and "outside" in text


async def test_alc_info_shows_the_code_roots(host: Host, config: Config) -> None:
    info = await host.ok("alc_info")
    assert info["paths"]["ALC_CODE_ROOTS"] == [str(Path.cwd()), str(config.home)]
