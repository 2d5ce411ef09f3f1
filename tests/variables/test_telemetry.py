"""Telemetry: every variable operation and every session lifecycle step emits its event
exactly once, with the documented measurements and metadata, and never a value."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry import metrics

from alc_mcp import telemetry
from alc_mcp.telemetry import TelemetryEvent
from tests.conftest import Host
from tests.durable.support import serve, wait_until
from tests.variables.support import config_for, paused

pytestmark = pytest.mark.anyio

#: Values used in the scripts; none may ever show up in an event.
SECRET_TEXTS = ("SECRET-ALPHA-7781", "SECRET-BETA-5550", "SECRET-GAMMA-3141")
SECRET_NUMBERS = (987654, 987655, 987656, 123457, 0.4321, 0.9876, 5.4321, 7.6543, 3.2109)

MEASUREMENTS = {
    "session.started": {"count"},
    "session.paused": {"count", "queries"},
    "session.resumed": {"count", "answers", "waited_ms"},
    "session.completed": {"count", "elapsed_ms", "llm_calls"},
    "session.failed": {"count", "elapsed_ms", "llm_calls"},
    "session.cancelled": {"count", "elapsed_ms", "llm_calls"},
    "session.replayed": {"count", "answers", "duration_ms"},
    "session.hibernated": {"count", "idle_ms"},
    "variable.registered": {"count", "size_bytes"},
    "variable.get": {"count"},
    "variable.updated": {"count", "version", "size_bytes"},
    "variable.deleted": {"count"},
    "variables.batch_get": {"count", "found", "missing"},
    "variables.batch_update": {"count", "applied", "failed"},
    "variable.validation_failed": {"count"},
    "variable.constraint_violation": {"count"},
}


class Recorder:
    def __init__(self) -> None:
        self.events: list[TelemetryEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: TelemetryEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, session_id: str, prefix: str = "") -> list[TelemetryEvent]:
        return [
            e for e in self.events if e.metadata.get("session_id") == session_id and e.name.startswith(prefix)
        ]

    def names(self, session_id: str, prefix: str = "") -> list[str]:
        return [e.name for e in self.of(session_id, prefix)]

    def last_started(self) -> str:
        """The id of the session started last (completed and failed replies carry none)."""
        started = [e for e in self.events if e.name == "session.started"]
        return started[-1].metadata["session_id"]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorded = Recorder()
    unsubscribe = telemetry.subscribe(recorded)
    try:
        yield recorded
    finally:
        unsubscribe()
    check_shapes(recorded.events)
    check_no_values(recorded.events)


def check_shapes(events: list[TelemetryEvent]) -> None:
    for event in events:
        assert event.name in MEASUREMENTS, event
        assert set(event.measurements) == MEASUREMENTS[event.name], event
        assert event.measurements["count"] == 1, event
        assert event.metadata.get("session_id", "").startswith("s-"), event
        if event.name.startswith("variable"):
            assert event.metadata.get("source") in ("lua", "host"), event
        for value in event.measurements.values():
            assert isinstance(value, int | float) and value >= 0, event


def check_no_values(events: list[TelemetryEvent]) -> None:
    for event in events:
        texts = [event.name, *event.metadata.keys(), *event.metadata.values()]
        for text in texts:
            for secret in SECRET_TEXTS:
                assert secret not in text, event
            for number in SECRET_NUMBERS:
                assert text != str(number), event
        for value in event.measurements.values():
            assert value not in SECRET_NUMBERS, event


def key(name: str, measurements: dict[str, float] | None = None, **metadata: str) -> tuple[Any, ...]:
    return (
        name,
        tuple(sorted({"count": 1, **(measurements or {})}.items())),
        tuple(sorted(metadata.items())),
    )


def keys(events: list[TelemetryEvent]) -> Counter[tuple[Any, ...]]:
    return Counter(key(e.name, e.measurements, **e.metadata) for e in events)


def size(value: Any) -> int:
    return len(orjson.dumps(value))


# ── variable operations ──────────────────────────────────────────────────────────────

LUA_OPERATIONS = """
alc.vars.define("secret_text", "string", "SECRET-ALPHA-7781", {description = "a secret"})
alc.vars.define("secret_number", "integer", 987654)
alc.vars.define("secret_float", "float", 0.4321, {constraints = {min = 0, max = 1}})
alc.vars.get("secret_text")
alc.vars.info("secret_number")
alc.vars.has("secret_number")
alc.vars.list("secret_*")
alc.vars.set("secret_number", 987655)
alc.vars.get_many({"secret_text", "nope", "secret_float"})
alc.vars.set_many({secret_number = 987656, secret_float = 0.9876})
alc.vars.set_many({secret_number = "SECRET-GAMMA-3141", secret_float = 5.4321})
pcall(alc.vars.set_many, {secret_number = 123457, secret_float = 7.6543}, {atomic = true})
pcall(alc.vars.set, "secret_float", 3.2109)
pcall(alc.vars.set, "secret_text", 123457)
pcall(alc.vars.define, "other", "integer", "SECRET-GAMMA-3141")
pcall(alc.vars.define, "ratio", "float", 5.4321, {constraints = {max = 1}})
alc.vars.delete("secret_text")
pcall(alc.vars.delete, "secret_text")
return "done"
"""


async def test_each_lua_variable_operation_fires_its_event_once(host: Host, recorder: Recorder) -> None:
    reply = await host.run(LUA_OPERATIONS)
    assert reply["status"] == "completed", reply
    session_id = recorder.last_started()
    meta = {"session_id": session_id, "source": "lua"}
    text, number, float_ = ({**meta, "type": t} for t in ("string", "integer", "float"))
    expected = Counter(
        [
            key("variable.registered", {"size_bytes": size("SECRET-ALPHA-7781")}, **text),
            key("variable.registered", {"size_bytes": size(987654)}, **number),
            key("variable.registered", {"size_bytes": size(0.4321)}, **float_),
            key("variable.get", **text),
            key("variable.get", **number),  # info
            key("variable.updated", {"version": 1, "size_bytes": size(987655)}, **number),
            key("variables.batch_get", {"found": 2, "missing": 1}, **meta),
            key("variable.updated", {"version": 2, "size_bytes": size(987656)}, **number),
            key("variable.updated", {"version": 1, "size_bytes": size(0.9876)}, **float_),
            key("variables.batch_update", {"applied": 2, "failed": 0}, **meta),
            # non-atomic batch, both refused
            key("variable.validation_failed", **_without_type(number)),
            key("variable.constraint_violation", **_without_type(float_)),
            key("variables.batch_update", {"applied": 0, "failed": 2}, **meta),
            # atomic batch, one refused
            key("variable.constraint_violation", **_without_type(float_)),
            key("variables.batch_update", {"applied": 0, "failed": 1}, **meta),
            key("variable.constraint_violation", **_without_type(float_)),  # set
            key("variable.validation_failed", **_without_type(text)),  # set
            key("variable.validation_failed", **_without_type(number)),  # define
            key("variable.constraint_violation", **_without_type(float_)),  # define
            key("variable.deleted", **text),
        ]
    )
    assert keys(_type_dropped(recorder.of(session_id, "variable"))) == expected
    lifecycle = recorder.names(session_id, "session.")
    assert lifecycle == ["session.started", "session.completed"]


def _without_type(metadata: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metadata.items() if k != "type"}


def _type_dropped(events: list[TelemetryEvent]) -> list[TelemetryEvent]:
    """Validation events compared without ``type`` (checked on its own below)."""
    out = []
    for event in events:
        if event.name in ("variable.validation_failed", "variable.constraint_violation"):
            event = TelemetryEvent(event.name, event.measurements, _without_type(event.metadata))
        out.append(event)
    return out


async def test_validation_events_name_the_variable_type(host: Host, recorder: Recorder) -> None:
    reply = await host.run(
        """
        alc.vars.define("n", "integer", 1, {constraints = {max = 10}})
        pcall(alc.vars.set, "n", "SECRET-GAMMA-3141")
        pcall(alc.vars.set, "n", 987654)
        pcall(alc.vars.define, "f", "float", 7.6543, {constraints = {max = 1}})
        return "done"
        """
    )
    assert reply["status"] == "completed", reply
    session_id = recorder.last_started()
    failures = [e for e in recorder.of(session_id, "variable.") if e.name != "variable.registered"]
    assert [(e.name, e.metadata.get("type")) for e in failures] == [
        ("variable.validation_failed", "integer"),
        ("variable.constraint_violation", "integer"),
        ("variable.constraint_violation", "float"),
    ]


HOST_SCRIPT = """
alc.vars.define("knob", "integer", 987654, {constraints = {max = 999999}})
alc.vars.define("label", "string", "SECRET-ALPHA-7781")
alc.llm("ready")
return alc.vars.get("knob")
"""


async def test_each_host_variable_operation_fires_its_event_once(host: Host, recorder: Recorder) -> None:
    session_id = (await paused(host, HOST_SCRIPT))["session_id"]
    meta = {"session_id": session_id, "source": "host"}
    number, text = ({**meta, "type": t} for t in ("integer", "string"))

    async def during(tool: str, **arguments: Any) -> Counter[tuple[Any, ...]]:
        before = len(recorder.of(session_id))
        await host.ok(tool, session_id=session_id, **arguments)
        return keys(recorder.of(session_id)[before:])

    assert await during("alc_vars_list") == Counter()
    assert await during("alc_vars_export") == Counter()
    assert await during("alc_vars_get", names=["knob", "label", "missing"]) == Counter(
        [key("variables.batch_get", {"found": 2, "missing": 1}, **meta)]
    )
    assert await during("alc_vars_set", updates={"knob": 987655}, reason="SECRET-BETA-5550") == Counter(
        [
            key("variable.updated", {"version": 1, "size_bytes": size(987655)}, **number),
            key("variables.batch_update", {"applied": 1, "failed": 0}, **meta),
        ]
    )
    rejected = await during(
        "alc_vars_set", updates={"knob": 1234567, "label": "SECRET-BETA-5550"}, atomic=True
    )
    assert keys_without_type(rejected) == Counter(
        [
            key("variable.constraint_violation", **meta),
            key("variables.batch_update", {"applied": 0, "failed": 1}, **meta),
        ]
    )
    partial = await during("alc_vars_set", updates={"knob": "SECRET-GAMMA-3141", "label": "SECRET-BETA-5550"})
    assert keys_without_type(partial) == Counter(
        [
            key("variable.validation_failed", **meta),
            key("variable.updated", {"version": 1, "size_bytes": size("SECRET-BETA-5550")}, **meta),
            key("variables.batch_update", {"applied": 1, "failed": 1}, **meta),
        ]
    )
    imported = await during(
        "alc_vars_import", variables=[{"name": "extra", "type": "string", "value": "SECRET-GAMMA-3141"}]
    )
    assert imported == Counter(
        [key("variable.registered", {"size_bytes": size("SECRET-GAMMA-3141")}, **{**meta, "type": "string"})]
    )
    assert await during("alc_vars_delete", names=["label", "missing"]) == Counter(
        [key("variable.deleted", **text)]
    )
    reply = await host.ok("alc_continue", session_id=session_id, response="ok")
    assert reply["result"] == 987655
    assert recorder.names(session_id, "session.") == [
        "session.started",
        "session.paused",
        "session.resumed",
        "session.completed",
    ]
    assert recorder.names(session_id, "variable.get") == ["variable.get"]  # the script's final read


def keys_without_type(counter: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for (name, measurements, metadata), count in counter.items():
        out[(name, measurements, tuple(item for item in metadata if item[0] != "type"))] += count
    return out


# ── session lifecycle ────────────────────────────────────────────────────────────────


def only(recorder: Recorder, session_id: str, name: str) -> TelemetryEvent:
    events = [e for e in recorder.of(session_id) if e.name == name]
    assert len(events) == 1, (name, events)
    return events[0]


async def test_lifecycle_completed(host: Host, recorder: Recorder) -> None:
    reply = await host.run(
        """
        local batch = alc.llm_batch({{prompt = "a"}, {prompt = "b"}, {prompt = "c"}})
        local one = alc.llm("d")
        return #batch + #one
        """
    )
    session_id = reply["session_id"]
    ids = [q["id"] for q in reply["queries"]]
    accepted = await host.ok("alc_continue", session_id=session_id, query_id=ids[0], response="x")
    assert accepted["status"] == "accepted", accepted
    assert recorder.names(session_id, "session.") == ["session.started", "session.paused"]  # not resumed yet
    reply = await host.ok(
        "alc_continue",
        session_id=session_id,
        responses=[{"query_id": ids[1], "response": "y"}, {"query_id": ids[2], "response": "z"}],
    )
    reply = await host.ok("alc_continue", session_id=session_id, response="w")
    assert reply["status"] == "completed", reply
    assert recorder.names(session_id, "session.") == [
        "session.started",
        "session.paused",
        "session.resumed",
        "session.paused",
        "session.resumed",
        "session.completed",
    ]
    pauses = [e for e in recorder.of(session_id) if e.name == "session.paused"]
    assert [e.measurements["queries"] for e in pauses] == [3, 1]
    resumes = [e for e in recorder.of(session_id) if e.name == "session.resumed"]
    assert [e.measurements["answers"] for e in resumes] == [3, 1]
    completed = only(recorder, session_id, "session.completed")
    assert completed.measurements["llm_calls"] == 4
    assert completed.measurements["elapsed_ms"] == reply["stats"]["auto"]["elapsed_ms"]
    assert only(recorder, session_id, "session.started").metadata == {"session_id": session_id}


async def test_lifecycle_failed_and_cancelled(host: Host, recorder: Recorder) -> None:
    failed = await host.run('error("boom")')
    assert failed["status"] == "error"
    failed_id = recorder.last_started()
    event = only(recorder, failed_id, "session.failed")
    assert event.measurements["llm_calls"] == 0
    assert recorder.names(failed_id) == ["session.started", "session.failed"]

    after_pause = (await paused(host, 'alc.llm("q") error("late")'))["session_id"]
    reply = await host.ok("alc_continue", session_id=after_pause, response="a")
    assert reply["status"] == "error"
    assert only(recorder, after_pause, "session.failed").measurements["llm_calls"] == 1

    cancelled = (await paused(host, 'alc.llm("q")'))["session_id"]
    reply = await host.ok("alc_cancel", session_id=cancelled)
    assert reply["status"] == "cancelled"
    assert recorder.names(cancelled) == ["session.started", "session.paused", "session.cancelled"]
    assert only(recorder, cancelled, "session.cancelled").measurements["llm_calls"] == 1


async def test_lifecycle_strategy_in_metadata(host: Host, recorder: Recorder) -> None:
    reply = await host.ok("alc_advice", strategy="cot", task="2 + 2?")
    session_id = reply["session_id"]
    started = only(recorder, session_id, "session.started")
    assert started.metadata == {"session_id": session_id, "strategy": "cot"}
    assert only(recorder, session_id, "session.paused").metadata["strategy"] == "cot"


REPLAYED = """
alc.vars.define("knob", "integer", 987654)
local a = alc.llm("one " .. alc.vars.get("knob"))
alc.vars.set("knob", 987655)
local b = alc.llm("two " .. alc.vars.get("knob"))
local c = alc.llm("three")
return alc.vars.info("knob").version
"""


async def test_lifecycle_replayed_after_restart(tmp_path: Path, recorder: Recorder) -> None:
    config = config_for(tmp_path / "home")
    async with serve(config) as host:
        reply = await paused(host, REPLAYED)
        session_id = reply["session_id"]
        await host.ok("alc_continue", session_id=session_id, response="a")
        await host.ok("alc_continue", session_id=session_id, response="b")
    before = len(recorder.of(session_id))
    async with serve(config) as host:
        reply = await host.ok("alc_continue", session_id=session_id, response="c")
        assert reply["status"] == "completed", reply
        assert reply["result"] == 1
    after = recorder.of(session_id)[before:]
    # The replay re-runs the script, but only the new operations are reported: no second
    # start, no pause or variable event for what the journal replayed.
    # (The one variable.get is the script's last line, run live after the replay.)
    assert [e.name for e in after] == [
        "session.replayed",
        "session.resumed",
        "variable.get",
        "session.completed",
    ]
    replayed = after[0]
    assert replayed.measurements["answers"] == 2
    assert replayed.measurements["duration_ms"] >= 0


async def test_lifecycle_hibernated(tmp_path: Path, recorder: Recorder) -> None:
    config = config_for(tmp_path / "home", hibernate_after_seconds=0.05, reap_interval_seconds=0.02)
    async with serve(config) as host:
        session_id = (await paused(host, 'alc.vars.define("k", "integer", 987654) alc.llm("q") return 1'))[
            "session_id"
        ]

        async def dormant() -> bool:
            return (await host.ok("alc_status", session_id=session_id))["live"] is False

        await wait_until(dormant, "the session hibernates")
        hibernated = only(recorder, session_id, "session.hibernated")
        assert hibernated.measurements["idle_ms"] >= 50
        other = (await paused(host, 'alc.llm("q")'))["session_id"]
        await wait_until(lambda: _has(recorder, other, "session.hibernated"), "the second session hibernates")
        reply = await host.ok("alc_continue", session_id=session_id, response="a")
        assert reply["status"] == "completed"
        assert recorder.names(session_id) == [
            "session.started",
            "variable.registered",
            "session.paused",
            "session.hibernated",
            "session.replayed",
            "session.resumed",
            "session.completed",
        ]
        assert only(recorder, session_id, "session.replayed").measurements["answers"] == 0
        cancelled = await host.ok("alc_cancel", session_id=other)  # cancelled while hibernated
        assert cancelled["status"] == "cancelled"
        assert recorder.names(other) == [
            "session.started",
            "session.paused",
            "session.hibernated",
            "session.cancelled",
        ]


async def _has(recorder: Recorder, session_id: str, name: str) -> bool:
    return name in recorder.names(session_id)


# ── the OpenTelemetry side ───────────────────────────────────────────────────────────


def test_emitting_without_an_sdk_is_a_silent_no_op() -> None:
    provider = metrics.get_meter_provider()
    assert type(provider).__module__.startswith("opentelemetry.metrics"), provider  # the API's, no SDK
    for index in range(10_000):
        telemetry.emit(
            "variable.updated",
            {"version": index, "size_bytes": 8},
            session_id="s-bench",
            type="integer",
            source="lua",
            strategy=None,
        )


async def test_a_failing_subscriber_does_not_break_a_session(host: Host, recorder: Recorder) -> None:
    def broken(_event: TelemetryEvent) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = telemetry.subscribe(broken)
    try:
        reply = await host.run(
            'alc.vars.define("k", "integer", 1) alc.vars.set("k", 2) return alc.vars.get("k")'
        )
    finally:
        unsubscribe()
    assert reply["status"] == "completed", reply
    assert reply["result"] == 2
    assert recorder.names(recorder.last_started(), "variable.") == [
        "variable.registered",
        "variable.updated",
        "variable.get",
    ]
