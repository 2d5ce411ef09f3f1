"""Package authors: a collection written for this test (tests/fixtures/spec_collection,
with support folders and specs that prepend their root to package.path) installed whole,
its specs run with alc_pkg_test and `alc-mcp test`, and require honouring package.path
only under the roots the server allows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alc_mcp.config import Config
from tests.cli.support import TIMEOUT, cli_env
from tests.conftest import TEST_LIMITS, Host
from tests.durable.support import serve

pytestmark = pytest.mark.anyio

COLLECTION = (Path(__file__).resolve().parent.parent / "fixtures" / "spec_collection").resolve()
GREET_SPEC = "greet/spec/greet_spec.lua"
GREET_TESTS = [
    ("greet > shouts the name", True),
    ("greet > uses the support folder", True),
    ("greet > examples through package.path > finds examples.demo", True),
    ("greet > fails on purpose", False),
    ("greet > knows a stable hash and the server's folders", True),
]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A home of its own; code_file, path and search_paths may read the fixtures and tmp_path."""
    return Config(home=tmp_path / "home", limits=TEST_LIMITS, code_roots=(COLLECTION.parent, tmp_path))


@pytest.fixture
async def host(config: Config) -> AsyncIterator[Host]:
    async with serve(config) as host:
        yield host


async def test_a_collection_installs_whole_and_says_what_it_installed(host: Host, config: Config) -> None:
    report = await host.ok("alc_pkg_install", url=str(COLLECTION))
    assert report["mode"] == "local_collection"
    assert report["installed"] == ["counter", "greet"]
    assert report["support"] == ["examples", "tools", "types"]
    packages = config.home / "packages"
    assert (packages / "tools" / "text" / "case.lua").is_file()
    assert (packages / "types" / "shapes.lua").is_file()
    # Support folders are requireable, but they are not packages.
    listed = {p["name"] for p in (await host.ok("alc_pkg_list"))["packages"] if p["source"] == "ALC_HOME"}
    assert listed == {"counter", "greet"}
    ran = await host.ok("alc_advice", strategy="greet", task="ada")
    assert ran["result"]["result"] == "HELLO, ADA!"
    # Installing again replaces the support folders too, and says so.
    again = await host.ok("alc_pkg_install", url=str(COLLECTION))
    assert {r["name"] for r in again["replaced"]} == {"counter", "greet", "examples", "tools", "types"}


async def test_pkg_test_reports_every_result_of_an_installed_package(host: Host) -> None:
    await host.ok("alc_pkg_install", url=str(COLLECTION))
    report = await host.ok("alc_pkg_test", package="greet")
    assert [(r["name"], r["ok"]) for r in report["results"]] == GREET_TESTS
    assert {r["file"] for r in report["results"]} == {GREET_SPEC}
    failed = next(r for r in report["results"] if not r["ok"])
    assert failed["error"] == f'{GREET_SPEC}:27: expected "HELLO, BOB!" to equal "hello, bob"'
    assert all(isinstance(r["seconds"], float) and r["seconds"] >= 0 for r in report["results"])
    assert report["summary"] == {
        "files": 1,
        "tests": 5,
        "passed": 4,
        "failed": 1,
        "file_errors": 0,
        "seconds": report["summary"]["seconds"],
    }
    assert report["ok"] is False


async def test_pkg_test_specs_get_spies_hooks_and_cards_of_their_own(host: Host) -> None:
    await host.ok("alc_pkg_install", url=str(COLLECTION))
    report = await host.ok("alc_pkg_test", package="counter")
    assert report["ok"] is True, report
    assert [r["name"] for r in report["results"]] == [
        "counter > counts and calls back for each item",
        "counter > starts each test from before()",
        "counter > writes a card once",
    ]
    # The spec wrote a card into a scratch store, not into the user's.
    assert (await host.ok("alc_card_list"))["cards"] == []


async def test_pkg_test_of_a_collection_path_runs_every_spec_file(host: Host) -> None:
    report = await host.ok("alc_pkg_test", path=str(COLLECTION))
    assert [f["file"] for f in report["files"]] == ["counter/spec/counter_spec.lua", GREET_SPEC]
    assert report["summary"]["tests"] == 8
    assert report["summary"]["passed"] == 7
    assert report["base"] == str(COLLECTION)


async def test_a_broken_spec_file_is_reported_and_the_others_still_run(host: Host, tmp_path: Path) -> None:
    pkg = tmp_path / "col" / "brk"
    (pkg / "spec").mkdir(parents=True)
    (pkg / "init.lua").write_text("return { meta = { name = 'brk' } }", encoding="utf-8")
    (pkg / "spec" / "a_spec.lua").write_text("lust.it('x', function() end\n", encoding="utf-8")
    (pkg / "spec" / "b_spec.lua").write_text(
        "lust.describe('outer', function() error('set-up broke') end)\n"
        "lust.it('runs', function() lust.expect(1).to.be(1) end)\n",
        encoding="utf-8",
    )
    (pkg / "spec" / "c_spec.lua").write_text(
        "lust.it('before the loop', function() end)\nwhile true do end\n", encoding="utf-8"
    )
    report = await host.ok("alc_pkg_test", path=str(pkg))
    files = {f["file"]: f for f in report["files"]}
    assert "does not compile" in files["brk/spec/a_spec.lua"]["error"]
    b_results = [(r["name"], r["ok"]) for r in report["results"] if r["file"] == "brk/spec/b_spec.lua"]
    assert b_results == [("outer", False), ("runs", True)]
    assert "instruction limit exceeded" in files["brk/spec/c_spec.lua"]["error"]
    assert report["summary"]["file_errors"] == 2
    assert report["ok"] is False


async def test_pkg_test_of_inline_code_and_its_mistakes(host: Host, tmp_path: Path) -> None:
    report = await host.ok(
        "alc_pkg_test",
        code="local lust = require('lust')\nlust.it('adds', function() lust.expect(1 + 1).to.equal(2) end)",
    )
    assert report["results"] == [
        {"file": "(inline)", "name": "adds", "ok": True, "seconds": pytest.approx(0, abs=1)}
    ]
    assert report["ok"] is True
    both = await host.error("alc_pkg_test", package="greet", code="x")
    assert "Provide exactly one of `package` (installed), `path` (a directory or file) or `code`." in both
    missing = await host.error("alc_pkg_test", package="nope")
    assert "package 'nope' is not installed" in missing
    empty = await host.error("alc_pkg_test", path=str(tmp_path))
    assert "no spec files found" in empty
    outside = await host.error("alc_pkg_test", path="/etc")
    assert "is outside the directories alc_pkg_test may read" in outside


async def test_a_package_path_template_outside_the_allowed_roots_is_never_read(
    host: Host, tmp_path: Path
) -> None:
    # This file exists, but it does not compile: had require read it, the error would say so.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.lua").write_text("this is not Lua (", encoding="utf-8")
    result = await host.run(
        f"package.path = {str(outside)!r} .. '/?.lua;' .. package.path\n"
        "local ok, err = pcall(require, 'secret')\nreturn err"
    )
    message = result["result"]
    assert f"ignored package.path template '{outside}/?.lua': {outside}/secret.lua is outside" in message
    assert "error loading module" not in message and "does not compile" not in message
    # A symlink under an allowed root that points outside it is not followed, neither
    # by a template nor by the search path itself.
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "link.lua").symlink_to(outside / "secret.lua")
    (allowed / "direct.lua").symlink_to(outside / "secret.lua")
    linked = await host.run(
        f"package.path = {str(allowed)!r} .. '/sub/?.lua'\n"
        "local _, a = pcall(require, 'link')\nlocal _, b = pcall(require, 'direct')\nreturn { a, b }",
        search_paths=[str(allowed)],
    )
    via_template, via_root = linked["result"]
    assert (
        f"ignored package.path template '{allowed}/sub/?.lua': {outside}/secret.lua is outside"
        in via_template
    )
    assert f"ignored '{allowed}/direct.lua': it links to {outside}/secret.lua, outside {allowed}" in via_root
    assert "error loading module" not in via_template + via_root


async def test_a_package_path_of_junk_is_skipped_and_bounded(host: Host) -> None:
    result = await host.run(
        "package.path = string.rep('/x/?.lua;', 100) .. '/a\\0b/?.lua'\n"
        "local ok, err = pcall(require, 'nothing')\nreturn err"
    )
    message = result["result"]
    assert message.count("ignored package.path template '/x/?.lua'") == 64
    assert "ignored 37 package.path templates after the first 64" in message
    nul = await host.run("package.path = '/a\\0b/?.lua'\nlocal ok, err = pcall(require, 'x')\nreturn err")
    assert "ignored package.path template '/a" in nul["result"]


async def test_search_paths_let_require_and_package_path_read_a_checkout(host: Host, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "lib").mkdir(parents=True)
    (checkout / "lib" / "helper.lua").write_text("return { answer = 42 }", encoding="utf-8")
    (checkout / "examples").mkdir()
    (checkout / "examples" / "only_by_template.lua").write_text("return 'via ./?.lua'", encoding="utf-8")
    result = await host.run(
        "package.path = './examples/?.lua;' .. package.path\n"
        "return { require('lib.helper').answer, (require('only_by_template')) }",
        search_paths=[str(checkout)],
    )
    assert result["result"] == [42, "via ./?.lua"]
    # Without search_paths a relative template has nothing to be relative to.
    bare = await host.run(
        "package.path = './?.lua'\nlocal ok, err = pcall(require, 'lib.helper')\nreturn err"
    )
    assert "ignored package.path template './?.lua'" in bare["result"]


async def test_search_paths_are_fenced_like_code_file(host: Host, tmp_path: Path) -> None:
    outside = await host.error("alc_run", code="return 1", search_paths=["/etc"])
    assert "search_paths entry '/etc' is outside the directories alc_run may read" in outside
    (tmp_path / "file.lua").write_text("return 1", encoding="utf-8")
    not_dir = await host.error("alc_run", code="return 1", search_paths=[str(tmp_path / "file.lua")])
    assert "is not a directory; name the folder to require from" in not_dir


async def test_search_paths_survive_a_restart(config: Config, tmp_path: Path) -> None:
    checkout = tmp_path / "co"
    checkout.mkdir()
    (checkout / "mod.lua").write_text("return { n = 7 }", encoding="utf-8")
    code = "local a = alc.llm('q')\nreturn require('mod').n"
    async with serve(config) as first:
        paused = await first.run(code, search_paths=[str(checkout)])
    async with serve(config) as second:
        final = await second.ok("alc_continue", session_id=paused["session_id"], response="a")
    assert final["result"] == 7


def test_alc_mcp_test_prints_a_readable_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alc_mcp.cli", "test", str(COLLECTION)],
        env=cli_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok   counter/spec/counter_spec.lua  3/3 passed")
    assert lines[1].startswith(f"FAIL {GREET_SPEC}  4/5 passed")
    assert lines[2] == "     x greet > fails on purpose"
    assert lines[3] == f'         {GREET_SPEC}:27: expected "HELLO, BOB!" to equal "hello, bob"'
    assert lines[4].startswith("8 tests, 7 passed, 1 failed, 0 file error(s) in 2 file(s)")
    passing = subprocess.run(
        [sys.executable, "-m", "alc_mcp.cli", "test", str(COLLECTION / "counter"), "--json"],
        env=cli_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert '"passed": 3' in passing.stdout
