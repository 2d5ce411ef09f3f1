"""What a caller gets for missing or out-of-range strategy inputs: a clear refusal, never a
run on an empty prompt or a silently clamped option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Host

pytestmark = pytest.mark.anyio


async def test_advice_without_task_is_refused_before_anything_runs(host: Host) -> None:
    message = await host.error("alc_advice", strategy="sc")
    assert "strategy 'sc' needs the input `task` (The question to answer); pass it as `task`." in message
    assert (await host.ok("alc_status"))["active_sessions"] == 0


async def test_every_strategy_that_requires_a_task_refuses_to_run_without_one(host: Host) -> None:
    listing = await host.ok("alc_pkg_list")
    requiring = [
        p["name"] for p in listing["packages"] if p.get("inputs", {}).get("task", {}).get("required")
    ]
    assert len(requiring) == 15
    for name in requiring:
        for task in (None, "", "   "):
            arguments = {} if task is None else {"task": task}
            message = await host.error("alc_advice", strategy=name, **arguments)
            assert f"strategy '{name}' needs the input `task`" in message, name


async def test_a_task_in_opts_counts(host: Host) -> None:
    reply = await host.ok("alc_advice", strategy="cot", opts={"task": "Is 7 prime?"})
    assert reply["status"] == "needs_response"
    assert "Is 7 prime?" in reply["prompt"]


async def test_a_package_without_required_inputs_runs_without_a_task(host: Host, tmp_path: Path) -> None:
    package = tmp_path / "hello"
    package.mkdir()
    (package / "init.lua").write_text(
        "local M = {meta = {name = 'hello', inputs = {task = {type = 'string'}}}}\n"
        "function M.run(ctx) ctx.result = 'hi ' .. tostring(ctx.task) return ctx end\nreturn M\n",
        encoding="utf-8",
    )
    await host.ok("alc_pkg_install", url=str(package))
    reply = await host.ok("alc_advice", strategy="hello")
    assert reply["status"] == "completed"
    assert reply["result"]["result"] == "hi nil"


async def test_strategies_called_from_lua_without_a_task_say_so(host: Host) -> None:
    for name in ("cot", "sc", "calibrate", "maieutic", "panel", "reflect"):
        reply = await host.run(f"return require('{name}').run({{}})")
        assert reply["status"] == "error", name
        assert f"{name}: ctx.task is required" in reply["error"]


@pytest.mark.parametrize(
    ("name", "opts", "message"),
    [
        ("sc", {"n": 0}, "sc: n must be a whole number from 1 to 50 (got 0)"),
        ("sc", {"n": 51}, "sc: n must be a whole number from 1 to 50 (got 51)"),
        ("sc", {"n": "five"}, 'sc: n must be a whole number from 1 to 50 (got "five")'),
        ("maieutic", {"depth": 5}, "maieutic: depth must be a whole number from 1 to 4 (got 5)"),
        ("maieutic", {"breadth": 0}, "maieutic: breadth must be a whole number from 1 to 5 (got 0)"),
        ("reflect", {"max_rounds": 11}, "reflect: max_rounds must be a whole number from 1 to 10 (got 11)"),
        ("calibrate", {"threshold": 101}, "calibrate: threshold must be a number from 0 to 100 (got 101)"),
    ],
)
async def test_out_of_range_numeric_options_are_refused(
    host: Host, name: str, opts: dict[str, Any], message: str
) -> None:
    reply = await host.ok("alc_advice", strategy=name, task="Is 7 prime?", opts=opts)
    assert reply["status"] == "error"
    assert message in reply["error"]


async def test_sc_with_n_in_range_runs_n_samples(host: Host) -> None:
    reply = await host.ok("alc_advice", strategy="sc", task="Is 7 prime?", opts={"n": 1})
    assert len(reply.get("queries") or [reply]) == 1
