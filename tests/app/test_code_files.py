"""code_file reads only inside the allowed roots (ALC_CODE_ROOTS), symlinks resolved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alc_mcp.app.code_files import CodeFileError, code_roots, read_code_file
from alc_mcp.config import Config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "scripts"
    root.mkdir()
    (root / "ok.lua").write_text("return 1", encoding="utf-8")
    return root


def test_a_file_inside_a_root_is_read(root: Path) -> None:
    assert read_code_file(str(root / "ok.lua"), [root]) == ("return 1", "@ok.lua")


def test_a_file_outside_every_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.lua"
    outside.write_text("return 'secret'", encoding="utf-8")
    with pytest.raises(CodeFileError) as caught:
        read_code_file(str(outside), [root])
    message = str(caught.value)
    assert "outside the directories alc_run may read" in message
    assert "ALC_CODE_ROOTS" in message
    assert str(root) in message
    assert "secret" not in read_code_file(str(root / "ok.lua"), [root])[0]


def test_etc_passwd_is_refused(root: Path) -> None:
    with pytest.raises(CodeFileError, match="ALC_CODE_ROOTS"):
        read_code_file("/etc/passwd", [root])


def test_dot_dot_out_of_a_root_is_refused(root: Path, tmp_path: Path) -> None:
    (tmp_path / "up.lua").write_text("return 2", encoding="utf-8")
    with pytest.raises(CodeFileError, match="outside"):
        read_code_file(str(root / ".." / "up.lua"), [root])


def test_a_symlink_out_of_a_root_is_refused(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.lua"
    target.write_text("return 3", encoding="utf-8")
    (root / "link.lua").symlink_to(target)
    with pytest.raises(CodeFileError) as caught:
        read_code_file(str(root / "link.lua"), [root])
    assert f"resolves to {target}" in str(caught.value)


def test_a_symlinked_directory_into_a_root_is_allowed(root: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    assert read_code_file(str(alias / "ok.lua"), [root])[0] == "return 1"
    assert read_code_file(str(root / "ok.lua"), [alias])[0] == "return 1"


def test_no_roots_refuses_every_file(root: Path) -> None:
    with pytest.raises(CodeFileError) as caught:
        read_code_file(str(root / "ok.lua"), [])
    assert "ALC_CODE_ROOTS" in str(caught.value)
    assert "HTTP" in str(caught.value)


def test_a_missing_file_inside_a_root_says_it_cannot_be_read(root: Path) -> None:
    with pytest.raises(CodeFileError, match="Failed to read"):
        read_code_file(str(root / "nope.lua"), [root])


def test_default_roots_are_the_current_directory_and_alc_home(tmp_path: Path) -> None:
    assert code_roots(Config(home=tmp_path)) == (Path.cwd(), tmp_path)
    assert code_roots(Config(home=tmp_path, code_roots=())) == ()


def test_alc_code_roots_from_the_environment(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    config = Config.from_env({"ALC_CODE_ROOTS": f"{a}{os.pathsep}{b}"})
    assert config.code_roots == (a, b)
    assert Config.from_env({}).code_roots is None
    assert Config.from_env({"ALC_CODE_ROOTS": "  "}).code_roots is None
