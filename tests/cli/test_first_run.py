"""What a first-time user meets: ``alc-mcp`` in a terminal, Ctrl-C, ``--help``, the shipped
``mcp.json`` and ``server.json``, and the wheel that ``pipx install .`` / ``uvx --from .``
build and install."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pexpect
import pytest

from alc_mcp import __version__
from tests.cli.support import cli_env

ROOT = Path(__file__).resolve().parents[2]
WAITING = "alc-mcp: waiting for an MCP client on stdin (see README: Host configuration); Ctrl-C to quit"
TIMEOUT = 60


def alc_mcp(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alc_mcp.cli", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.slow
def test_in_a_terminal_it_says_it_waits_and_ctrl_c_quits_quietly(tmp_path: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "alc_mcp.cli"],
        cwd=str(tmp_path),
        env=cli_env(tmp_path / "home"),
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    child.expect_exact(WAITING)
    child.sendintr()
    child.expect(pexpect.EOF)
    rest = child.before
    child.close()
    assert child.exitstatus == 130, (child.exitstatus, child.signalstatus, rest)
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest


def test_started_by_a_host_it_prints_nothing(tmp_path: Path) -> None:
    done = alc_mcp(stdin=subprocess.DEVNULL, cwd=tmp_path, env=cli_env(tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    assert "waiting for an MCP client" not in done.stderr
    assert done.stdout == ""  # stdout is the transport


def test_help_documents_serve_http() -> None:
    top = alc_mcp("--help")
    assert "serve --http" in top.stdout
    serve = alc_mcp("serve", "--help")
    assert serve.returncode == 0
    text = " ".join(serve.stdout.split())
    assert "http://127.0.0.1:8765/mcp" in text
    assert "ALC_CODE_ROOTS" in text
    assert "--host" in text and "--port" in text


def test_the_shipped_mcp_json_names_the_command_pipx_and_uvx_install() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    (server,) = json.loads((ROOT / "mcp.json").read_text(encoding="utf-8"))["mcpServers"].values()
    assert server["command"] in scripts
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pipx install ." in readme and "uvx --from . alc-mcp" in readme
    # ... and for the other set-ups the README says exactly what to replace it with.
    assert 'replace `"command": "alc-mcp"` with' in readme
    assert "`/path/to/alc-mcp/.venv/bin/alc-mcp` (absolute)" in readme
    assert '`["--from", "/path/to/alc-mcp", "alc-mcp"]`' in readme
    assert "alc-mcp serve --http" in readme


def _config_variables() -> set[str]:
    source = (ROOT / "src" / "alc_mcp" / "config.py").read_text(encoding="utf-8")
    return set(re.findall(r'"(ALC_[A-Z_]+)"', source))


#: The variables that hold a secret (the registry hides their values).
SECRETS = {"ALC_AUTH_CLIENT_SECRET", "ALC_REQUEST_STATE_KEY"}


def test_server_json_is_a_registry_manifest_for_the_pypi_package() -> None:
    manifest = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert manifest["$schema"].startswith("https://static.modelcontextprotocol.io/schemas/")
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", manifest["name"])
    assert 1 <= len(manifest["description"]) <= 100
    assert manifest["version"] == pyproject["version"] == __version__
    (package,) = manifest["packages"]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == pyproject["name"]
    assert package["version"] == pyproject["version"]
    assert package["transport"] == {"type": "stdio"}
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert set(variables) == _config_variables()  # every variable the server reads, no other
    for variable in variables.values():
        assert variable["description"] and variable["isSecret"] is (variable["name"] in SECRETS)
        assert isinstance(variable.get("default", ""), str)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {manifest['name']}" in readme  # PyPI ownership marker of the registry


@pytest.mark.slow
def test_the_built_wheel_installs_in_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("alc_mcp-*.whl")
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=300)
    pip = subprocess.run(
        [str(fresh / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    # The wheel's own files come from the fresh venv; its dependencies from this one.
    env = {**cli_env(tmp_path / "home"), "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    command = fresh / "bin" / "alc-mcp"
    # The wheel's package comes from the fresh venv, with the CPU-tick library compiled
    # into it (so CPU-bound Lua runs uncounted).
    probe = "import alc_mcp; from alc_mcp.engine import ticks; print(alc_mcp.__file__, bool(ticks.load()))"
    where = subprocess.run(
        [str(fresh / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )
    assert where.stdout.startswith(str(fresh)) and where.stdout.split()[-1] == "True", where
    helped = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, env=env, timeout=TIMEOUT
    )
    assert helped.returncode == 0 and "serve --http" in helped.stdout, helped.stderr
    # The bundled strategies and the Lua prelude ship in the wheel.
    ran = subprocess.run(
        [str(command), "run", "sc", "--task", "Is 7 prime?", "--ctx", '{"n": 1}', "--answers", "-", "--json"],
        input=json.dumps("Answer: yes") + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"]["result"]["answer"] == "yes"
    assert os.path.isdir(fresh / "lib")
