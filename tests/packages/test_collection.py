"""The fixture collection (tests/fixtures/collection): installed with alc_pkg_install,
listed, run end to end with alc_advice and a scripted host, removed and reinstalled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from alc_mcp.config import Config
from tests.conftest import TEST_LIMITS, Host
from tests.durable.support import serve
from tests.strategies.harness import Run, advise

pytestmark = pytest.mark.anyio

COLLECTION = (Path(__file__).resolve().parent.parent / "fixtures" / "collection").resolve()
NAMES = ["fx_counter", "fx_fork", "fx_json", "fx_main", "fx_parallel", "fx_util"]
META = {
    "fx_counter": ("1.0.0", "Counts runs in alc.state"),
    "fx_fork": ("0.1.0", "Runs fx_parallel and fx_json in parallel VMs"),
    "fx_json": ("0.3.0", "Rates the task as JSON"),
    "fx_main": ("0.9.0", "Runs the fixture collection end to end"),
    "fx_parallel": ("0.2.0", "Describes every item in one parallel round"),
    "fx_util": ("0.1.0", "Helpers shared by the fixture packages"),
}
JSON_RETRY_SYSTEM = "Output ONLY valid JSON. No markdown fences, no explanation."
RATING = '{"score": 8, "label": "good"}'


class ScriptedModel:
    """Answers by prompt content; the first answer to a JSON request is not JSON."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def __call__(self, prompt: str, system: str | None) -> str:
        self.prompts.append(prompt)
        if prompt.startswith("Describe item "):
            assert system == "One short sentence."
            item = prompt.split(": ", 1)[1]
            return f"  {item} is a fruit.  \n"
        if prompt.startswith("Rate the task as JSON"):
            return "Sure! I would rate it highly, maybe an eight."
        if prompt.startswith("The previous response was not valid JSON."):
            assert system == JSON_RETRY_SYSTEM
            assert "Sure! I would rate it highly" in prompt
            return RATING
        raise AssertionError(f"unexpected prompt: {prompt!r}")


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    """A server whose only packages are the ones installed into its home."""
    async with serve(Config(home=tmp_path / "home", limits=TEST_LIMITS)) as host:
        yield host


@pytest.fixture
async def installed(host: Host) -> dict[str, Any]:
    return await host.ok("alc_pkg_install", url=str(COLLECTION))


def described(item: str) -> dict[str, str]:
    return {"item": item, "answer": f"{item} is a fruit."}


# --------------------------------------------------------------------------- install and list


async def test_install_reports_every_package(installed: dict[str, Any], tmp_path: Path) -> None:
    assert sorted(installed["installed"]) == NAMES
    assert installed["mode"] == "local_collection"
    assert installed["replaced"] == []
    assert "warnings" not in installed
    packages = tmp_path / "home" / "packages"
    for name in NAMES:
        assert (packages / name / "init.lua").is_file()
    # The submodule came along.
    assert (packages / "fx_util" / "text.lua").is_file()


async def test_pkg_list_shows_the_packages_active_with_their_meta(
    host: Host, installed: dict[str, Any], tmp_path: Path
) -> None:
    listing = await host.ok("alc_pkg_list")
    entries = {entry["name"]: entry for entry in listing["packages"] if entry["name"].startswith("fx_")}
    assert sorted(entries) == NAMES
    for name, (version, description) in META.items():
        entry = entries[name]
        assert entry["active"] is True, entry
        assert entry["version"] == version
        assert entry["description"] == description
        assert entry["category"] == "fixture"
        assert Path(entry["path"]) == tmp_path / "home" / "packages" / name
        assert "error" not in entry, entry


# --------------------------------------------------------------------------- running them


async def run_main(host: Host, task: str, items: list[str]) -> tuple[Run, ScriptedModel]:
    model = ScriptedModel()
    run = await advise(host, "fx_main", task, model, opts={"items": items, "_ns": "fixture"})
    assert run.final["status"] == "completed", run.final
    return run, model


async def test_fx_main_runs_to_completion(host: Host, installed: dict[str, Any]) -> None:
    task = "Fruit Salad!"
    run, _model = await run_main(host, task, ["apple", "pear"])
    parallel = [described("apple"), described("pear")]
    # alc.pipe hands the next stage the previous result as its task.
    forked_task = orjson.dumps(parallel, option=orjson.OPT_SORT_KEYS).decode()

    assert [[(q["id"], q["prompt"]) for q in pause] for pause in run.pauses] == [
        # fx_parallel, in fx_main's own VM: one pause for both items.
        [("q-0", "Describe item 1: apple"), ("q-1", "Describe item 2: pear")],
        # fx_fork: both children's questions together.
        [
            ("f-0-0", "Describe item 1: apple"),
            ("f-0-1", "Describe item 2: pear"),
            ("f-1-0", 'Rate the task as JSON {"score": n, "label": s}: ' + forked_task),
        ],
        # fx_json's retry after the answer that was not JSON.
        [("f-1-1", run.pauses[2][0]["prompt"])],
    ]
    retry = run.pauses[2][0]
    assert retry["prompt"].startswith("The previous response was not valid JSON.")
    assert retry["prompt"].endswith(forked_task)
    assert retry["system"] == JSON_RETRY_SYSTEM

    final = run.final["result"]
    assert final["task"] == task
    assert final["items"] == ["apple", "pear"]
    assert run.result == {
        "slug": "fruit-salad",
        "stages": ["fx_parallel", "fx_fork"],
        "parallel": parallel,
        "forked": {
            "fx_parallel": parallel,
            "fx_json": {"parsed": {"score": 8, "label": "good"}, "score": 8, "raw": RATING},
        },
        "counter": {"runs": 1.0, "tasks": [task], "total": 1.0},
    }
    assert run.final["stats"]["auto"]["llm_calls"] == 6

    # The session recorded the strategy; the counter lives in the ctx's namespace.
    stats = await host.ok("alc_stats", strategy="fx_main")
    assert stats["total_sessions"] == 1
    reply = await host.run('return {alc.state.get("runs"), alc.state.get("tasks")}', ctx={"_ns": "fixture"})
    assert reply["result"] == [1.0, [task]]


async def test_fx_main_again_counts_on(host: Host, installed: dict[str, Any]) -> None:
    await run_main(host, "first", ["fig"])
    run, _ = await run_main(host, "second", ["kiwi", "lime", "plum"])
    assert run.result["counter"] == {"runs": 2.0, "tasks": ["first", "second"], "total": 2.0}
    assert run.result["parallel"] == [described("kiwi"), described("lime"), described("plum")]


async def test_each_package_on_its_own(host: Host, installed: dict[str, Any]) -> None:
    util = await host.ok("alc_advice", strategy="fx_util", task="  Hello, World  ")
    assert util["status"] == "completed" and util["result"]["result"] == "hello-world"

    parallel = await advise(host, "fx_parallel", "fig, date ,", ScriptedModel())
    assert parallel.result == [described("fig"), described("date")]

    model = ScriptedModel()
    rated = await advise(host, "fx_json", "rate me", model)
    assert rated.round_trips == 2
    assert rated.result == {"parsed": {"score": 8, "label": "good"}, "score": 8, "raw": RATING}

    forked = await advise(host, "fx_fork", "x", ScriptedModel(), opts={"items": ["nut"]})
    assert forked.result["fx_parallel"] == [described("nut")]
    assert forked.result["fx_json"]["score"] == 8

    counted = await host.ok("alc_advice", strategy="fx_counter", task="alone")
    assert counted["result"]["result"] == {"runs": 1.0, "tasks": ["alone"], "total": 1.0}


# --------------------------------------------------------------------------- remove and reinstall


async def test_remove_then_advice_names_the_places_searched(
    host: Host, installed: dict[str, Any], tmp_path: Path
) -> None:
    removed = await host.ok("alc_pkg_remove", name="fx_counter")
    assert removed["removed"] == "fx_counter"
    packages = tmp_path / "home" / "packages"
    assert not (packages / "fx_counter").exists()

    message = await host.error("alc_advice", strategy="fx_counter", task="t")
    assert "fx_counter" in message
    assert str(packages / "fx_counter.lua") in message
    assert str(packages / "fx_counter" / "init.lua") in message
    info = await host.ok("alc_info")
    for root in info["search_paths"]:
        assert str(Path(root["path"]) / "fx_counter" / "init.lua") in message

    listing = await host.ok("alc_pkg_list")
    assert "fx_counter" not in {entry["name"] for entry in listing["packages"]}
    # Removing it again says it is not there.
    assert "fx_counter" in await host.error("alc_pkg_remove", name="fx_counter")


async def test_a_missing_dependency_fails_the_session_naming_the_places_searched(
    host: Host, installed: dict[str, Any], tmp_path: Path
) -> None:
    await host.ok("alc_pkg_remove", name="fx_util")
    reply = await host.ok("alc_advice", strategy="fx_parallel", task="a, b")
    assert reply["status"] == "error", reply
    assert "module 'fx_util' not found" in reply["error"]
    assert str(tmp_path / "home" / "packages" / "fx_util" / "init.lua") in reply["error"]


async def test_reinstall_reports_what_was_replaced(host: Host, installed: dict[str, Any]) -> None:
    await host.ok("alc_pkg_remove", name="fx_counter")
    again = await host.ok("alc_pkg_install", url=str(COLLECTION))
    assert sorted(again["installed"]) == NAMES
    replaced = {entry["name"]: entry for entry in again["replaced"]}
    assert sorted(replaced) == [name for name in NAMES if name != "fx_counter"]
    for entry in replaced.values():
        assert entry["previous_source"] == str(COLLECTION)
    # And everything still runs.
    run, _ = await run_main(host, "after reinstall", ["yam"])
    assert run.result["counter"]["runs"] == 1.0
