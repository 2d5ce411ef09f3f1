"""Scale benchmark for alc-mcp: every goal row of issue 11, measured in one run.

Run from the repository root::

    python bench/bench_scale.py [--sessions 10000] [--live 1000] [--json out.json]

It reports, from one run:

1. scale: a fresh stdio server with hibernation on (the default ``ALC_MAX_LIVE_SESSIONS``
   cap, so all but the most recent sessions hibernate) starts ``--sessions`` sessions
   that each pause on ``alc.llm`` (``--concurrency`` ``alc_run`` in flight): start rate,
   RSS total and per session, then ``alc_continue`` latency of a live session and of a
   hibernated one (each sample revives a different hibernated session);
2. live memory: a fresh stdio server with the cap raised starts ``--live`` sessions that
   all stay live: RSS per live paused session and threads, then RSS once they have all
   ended (``alc_cancel``), against the RSS before;
3. in-process, interleaved in one loop: the engine resume (``SessionRegistry.feed`` →
   next pause, journal on) against LangGraph ``Command(resume)`` with ``SqliteSaver`` on
   the same 100-pause loop (skipped with a line saying so when the ``bench`` extra is not
   installed); ``alc_continue`` against the SDK's no-op tool on the same in-process
   transport; a CPU-bound Lua script through ``alc_run`` against the same script in a
   bare lupa runtime;
4. agent simulations (``--bundled PATH``, a checkout of algocline-bundled-packages, or
   the ``ALC_BUNDLED_PACKAGES`` environment variable; without either the row says it
   was not measured): ``epidemic_abm`` and ``sugarscape_abm`` run through the real
   server (in-process ``mcp.Client``, ``ALC_PACKAGES_PATH`` set to that checkout, a
   scripted host answering any ``alc.llm``) and, interleaved, in bare lupa with a
   pure-Lua ``alc`` shim written here: its random streams are the server's own
   ``lua/rng.lua`` (so both sides draw the same numbers and do the same work, and the
   results are compared), its ``median``/``percentile``/``wilson_ci`` are Lua copies of
   the server's Python ones. A third run is bare lupa with an empty count hook: what
   counting every instruction (ALC_MAX_INSTRUCTIONS set) would cost. The server side
   runs under CPU ticks (no instruction budget) with raised CPU and wall limits
   (printed); a run with the default limits is printed on its own line;
5. the goal table: every goal row, its number now, the goal and whether it is met.

This is a measuring script, not a test: it checks that the server answers as expected
(every call must pause again) but never judges the timings beyond printing met/not met.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import orjson
import psutil
from lupa import lua54
from mcp import Client
from mcp.server.mcpserver import MCPServer

from alc_mcp.app import SessionService
from alc_mcp.config import DEFAULT_MAX_LIVE_SESSIONS, Config, Limits
from alc_mcp.domain.feed_result import Paused
from alc_mcp.domain.program import Program
from alc_mcp.engine.luajson import LuaJson
from alc_mcp.engine.session import Answer
from alc_mcp.engine.stdlib.mathlib import RNG_CHUNK, RNG_SOURCE
from alc_mcp.server.app import build_server
from common import (
    ANSWER,
    KIB,
    LOOP_SCRIPT,
    BenchError,
    ProcessSample,
    answer,
    call,
    cancel,
    for_each,
    machine_facts,
    positive,
    print_machine,
    run_to_end,
    server_process,
    settle,
    start_paused,
    stdio_client,
    timed_ms,
)

MIB = 1024 * KIB
#: Pauses per loop in the engine vs LangGraph comparison (the issue's 100-pause loop).
PAUSES = 100

#: CPU-bound Lua: tight arithmetic and a table loop, the same text in both runtimes.
CPU_SCRIPT = """
local t = {}
for i = 1, 200000 do t[i] = i * 3 end
local s = 0
for r = 1, 15 do
  for i = 1, #t do s = (s + t[i] * r) % 1000003 end
end
return s
"""


def percentile(samples: Sequence[float], q: int) -> float:
    """The q-th percentile (1..99) of ``samples``."""
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        return cls(percentile(samples, 50), percentile(samples, 99), max(samples), len(samples))

    def text(self) -> str:
        tail = f"max {self.max_ms:.2f} ms (n={self.samples})"
        return f"p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, {tail}"


# --- 1. scale: many sessions, hibernation on ----------------------------------------


async def measure_scale(sessions: int, concurrency: int, live_rounds: int, revivals: int) -> dict[str, Any]:
    known = {child.pid for child in psutil.Process().children()}
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        async with stdio_client(Path(home)) as client:
            server = server_process(known)
            await cancel(client, await start_paused(client))  # first-use imports in the baseline
            before = ProcessSample.of(server)
            start_ms, ids = await timed_ms(
                for_each(range(sessions), concurrency, lambda _: start_paused(client))
            )
            paused = ProcessSample.of(server)
            info = (await call(client, "alc_info"))["sessions"]
            # The most recently started sessions are the live ones; the oldest hibernated.
            live_ids = ids[-min(50, DEFAULT_MAX_LIVE_SESSIONS // 2) :]
            live: list[float] = []
            for _ in range(live_rounds):
                for session_id in live_ids:
                    elapsed, _ = await timed_ms(answer(client, session_id))
                    live.append(elapsed)
            revived: list[float] = []
            for session_id in ids[:revivals]:
                elapsed, _ = await timed_ms(answer(client, session_id))
                revived.append(elapsed)
            after = ProcessSample.of(server)
    return {
        "sessions": sessions,
        "concurrency": concurrency,
        "start_seconds": start_ms / 1000.0,
        "start_rate": sessions / (start_ms / 1000.0),
        "before": before,
        "paused": paused,
        "after_resumes": after,
        "alc_info_sessions": info,
        "rss_per_session_kib": (paused.rss_kib - before.rss_kib) / sessions,
        "live_resume": Latency.of(live),
        "hibernated_resume": Latency.of(revived),
    }


# --- 2. live memory, and memory given back --------------------------------------------


async def measure_live(sessions: int, concurrency: int) -> dict[str, Any]:
    known = {child.pid for child in psutil.Process().children()}
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        async with stdio_client(Path(home), ALC_MAX_LIVE_SESSIONS=str(sessions + 1)) as client:
            server = server_process(known)
            idle_threads = server.num_threads()
            await cancel(client, await start_paused(client))
            await settle(server, threads=idle_threads)
            before = ProcessSample.of(server)
            ids = await for_each(range(sessions), concurrency, lambda _: start_paused(client))
            paused = ProcessSample.of(server)
            await for_each(ids, concurrency, lambda sid: cancel(client, sid))
            await settle(server, threads=before.threads)
            await anyio.sleep(0.5)
            ended = ProcessSample.of(server)
    return {
        "sessions": sessions,
        "before": before,
        "paused": paused,
        "ended": ended,
        "rss_per_session_kib": (paused.rss_kib - before.rss_kib) / sessions,
    }


# --- 3a. engine resume vs LangGraph ------------------------------------------------------


def langgraph_loop(path: Path) -> Callable[[], list[float]] | None:
    """A function that runs one 100-pause LangGraph loop and returns the resume times
    (ms), or None when LangGraph is not installed (``pip install -e '.[bench]'``)."""
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph
        from langgraph.types import Command, interrupt
    except ImportError:
        return None
    from typing import TypedDict

    class Loop(TypedDict):
        i: int

    def ask(state: Loop) -> Loop:
        interrupt(f"q{state['i']}")
        return {"i": state["i"] + 1}

    graph = StateGraph(Loop)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_conditional_edges("ask", lambda s: "ask" if s["i"] < PAUSES + 1 else END)
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    app = graph.compile(checkpointer=saver)
    threads = iter(range(1_000_000))

    def loop() -> list[float]:
        config = {"configurable": {"thread_id": f"t{next(threads)}"}}
        app.invoke({"i": 0}, config)  # runs to the first pause
        samples = []
        for _ in range(PAUSES):
            started = time.perf_counter()
            state = app.invoke(Command(resume=ANSWER), config)
            samples.append((time.perf_counter() - started) * 1000.0)
            if "__interrupt__" not in state:
                raise BenchError(f"LangGraph loop ended early: {state}")
        return samples

    return loop


async def engine_loop(service: SessionService) -> list[float]:
    """One 100-pause loop on the registry (journal on); the resume times in ms."""
    registry = service.registry
    session_id, _ = await registry.start(Program(LOOP_SCRIPT, "=bench"))
    samples = []
    for _ in range(PAUSES):
        elapsed, result = await timed_ms(registry.feed(session_id, [Answer(None, ANSWER)]))
        if not isinstance(result, Paused):
            raise BenchError(f"engine loop: expected a pause, got {result}")
        samples.append(elapsed)
    await registry.cancel(session_id)
    return samples


# --- 3b. alc_continue vs the SDK's no-op tool -------------------------------------------


def noop_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("noop")

    @server.tool()
    def noop() -> str:
        """Return at once: what the transport and the SDK cost on their own."""
        return "ok"

    return server


# --- 3c. CPU-bound Lua -----------------------------------------------------------------------


def bare_lupa_seconds() -> float:
    runtime = lua54.LuaRuntime()
    started = time.perf_counter()
    runtime.execute(CPU_SCRIPT)
    return time.perf_counter() - started


async def alc_run_seconds(client: Client) -> float:
    elapsed, payload = await timed_ms(call(client, "alc_run", code=CPU_SCRIPT))
    if payload.get("status") != "completed":
        raise BenchError(f"CPU script: expected completed, got {payload}")
    return elapsed / 1000.0


async def measure_inprocess(reps: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        home_path = Path(home)
        langgraph = langgraph_loop(home_path / "langgraph.sqlite")
        service = SessionService.open(Config(home=home_path / "alc"))
        engine: list[float] = []
        graph: list[float] = []
        async with service.running():
            await engine_loop(service)  # warm-up
            if langgraph is not None:
                langgraph()
            for _ in range(reps):
                engine += await engine_loop(service)
                if langgraph is not None:
                    graph += langgraph()
        continue_ms: list[float] = []
        noop_ms: list[float] = []
        lua_s: list[float] = []
        bare_s: list[float] = []
        async with Client(build_server(Config(home=home_path / "mcp"))) as alc, Client(noop_server()) as noop:
            session_id = await start_paused(alc)
            for index in range(rounds + 20):
                elapsed, _ = await timed_ms(answer(alc, session_id))
                noop_elapsed, _ = await timed_ms(noop.call_tool("noop", {}))
                if index >= 20:
                    continue_ms.append(elapsed)
                    noop_ms.append(noop_elapsed)
            await cancel(alc, session_id)
            for _ in range(reps):
                lua_s.append(await alc_run_seconds(alc))
                bare_s.append(bare_lupa_seconds())
    return {
        "engine_resume": Latency.of(engine),
        "langgraph_resume": Latency.of(graph) if graph else None,
        "alc_continue": Latency.of(continue_ms),
        "noop_tool": Latency.of(noop_ms),
        "cpu_lua_seconds": statistics.median(lua_s),
        "cpu_bare_seconds": statistics.median(bare_s),
    }


# --- 4. agent simulations -----------------------------------------------------------------

#: The bundled agent simulations of the issue's goal row.
SIMULATIONS = ("epidemic_abm", "sugarscape_abm")
#: What the server runs them with: the default CPU ticks (no instruction budget), with
#: room for a slow machine; the default limits are measured once each as well.
ABM_LIMITS = Limits(max_cpu_seconds=200.0, max_run_seconds=300.0)
ABM_CTX = {"task": "bench"}
NOT_MEASURED = "not measured: pass --bundled PATH (a checkout of algocline-bundled-packages)"

#: The bare side's alc: rng.lua as the server loads it, and Lua copies of the Python
#: statistics the simulations call (same operations in the same order, so the same
#: floats). Arguments: the checkout, rng.lua's text and chunk name, the answer to any
#: alc.llm. Returns the function that runs one simulation.
BARE_SHIM = """
local root, rng_source, rng_chunk, answer = ...
package.path = root .. "/?.lua;" .. root .. "/?/init.lua"
local streams = assert(load(rng_source, rng_chunk))(function() return {}, 0 end, {})

local function percentile(xs, p)
  local s = {}
  for i = 1, #xs do s[i] = xs[i] * 1.0 end
  table.sort(s)
  local rank = p / 100.0 * (#s - 1)
  local low = math.floor(rank)
  local fraction = rank - low
  if fraction == 0.0 or low + 1 >= #s then return s[low + 1] end
  return s[low + 1] + fraction * (s[low + 2] - s[low + 1])
end

local function wilson_ci(successes, n, z)
  successes, n, z = successes * 1.0, n * 1.0, (z or 1.96) * 1.0
  local p = successes / n
  local z2 = z * z
  local denominator = 1.0 + z2 / n
  local centre = (p + z2 / (2.0 * n)) / denominator
  local margin = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
  local lower = successes == 0 and 0.0 or math.max(0.0, centre - margin)
  local upper = successes == n and 1.0 or math.min(1.0, centre + margin)
  return { lower = lower, upper = upper }
end

local M = { percentile = percentile, wilson_ci = wilson_ci,
            median = function(xs) return percentile(xs, 50.0) end }
for name, fn in pairs(streams) do M[name] = fn end
alc = { llm = function() return answer end, log = function() end, math = M }
return function(name, ctx) return require(name).run(ctx).result end
"""

#: An empty count hook, armed as the sandbox arms its own (every 1,000 instructions).
EMPTY_HOOK = "debug.sethook(function() end, '', 1000)"


def bundled_checkout(option: Path | None) -> Path | None:
    """The checkout to run the simulations from: --bundled, else ALC_BUNDLED_PACKAGES."""
    if option is not None:
        return option
    text = os.environ.get("ALC_BUNDLED_PACKAGES", "").strip()
    return Path(text) if text else None


def sim_script(name: str) -> str:
    return f"return require({name!r}).run(ctx).result"


def bare_sim(root: Path, name: str, *, hook: bool) -> tuple[float, Any]:
    """Seconds for one run of ``name`` in a fresh bare lupa runtime, and its result."""
    runtime = lua54.LuaRuntime(encoding=None)
    json = LuaJson(runtime)
    shim = (BARE_SHIM.encode(), str(root).encode(), RNG_SOURCE, RNG_CHUNK.encode(), ANSWER.encode())
    run = runtime.execute(*shim)
    if hook:
        runtime.execute(EMPTY_HOOK.encode())
    ctx = json.to_lua(ABM_CTX)
    started = time.perf_counter()
    value = run(name.encode(), ctx)
    elapsed = time.perf_counter() - started
    return elapsed, json.from_lua(value)


async def server_sim(client: Client, name: str) -> tuple[float, Any]:
    elapsed, payload = await timed_ms(run_to_end(client, sim_script(name), ctx=ABM_CTX))
    return elapsed / 1000.0, payload


def ended_by(payload: Any) -> str:
    """What ended a run: "finished" or the error's first clause (the limit's name)."""
    if payload.get("status") == "completed":
        return "finished"
    return str(payload.get("error", payload)).split(":", 1)[0]


async def measure_abm(root: Path | None, reps: int) -> dict[str, Any]:
    if root is None:
        return {"not_measured": NOT_MEASURED}
    missing = [name for name in SIMULATIONS if not (root / name / "init.lua").is_file()]
    if missing:
        hint = NOT_MEASURED.removeprefix("not measured: ")
        return {"not_measured": f"not measured: {root} holds no {' or '.join(missing)}; {hint}"}
    sims: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="alc-bench-") as home:
        raised = Config(home=Path(home) / "raised", packages_path=(root,), limits=ABM_LIMITS)
        defaults = Config(home=Path(home) / "defaults", packages_path=(root,))
        async with Client(build_server(raised)) as client:
            for name in SIMULATIONS:
                ours: list[float] = []
                bare: list[float] = []
                hooked: list[float] = []
                same = True
                for _ in range(reps):
                    elapsed, payload = await server_sim(client, name)
                    if payload.get("status") != "completed":
                        raise BenchError(f"{name} with raised limits: {payload}")
                    ours.append(elapsed)
                    bare_elapsed, bare_result = bare_sim(root, name, hook=False)
                    bare.append(bare_elapsed)
                    hooked.append(bare_sim(root, name, hook=True)[0])
                    same = same and bare_result == payload["result"]
                sims[name] = {
                    "server_seconds": statistics.median(ours),
                    "bare_seconds": statistics.median(bare),
                    "bare_hooked_seconds": statistics.median(hooked),
                    "same_result": same,
                }
        async with Client(build_server(defaults)) as client:
            for name in SIMULATIONS:
                elapsed, payload = await server_sim(client, name)
                sims[name]["default_limits"] = {"seconds": elapsed, "ended_by": ended_by(payload)}
    return {"root": str(root), "reps": reps, "limits": ABM_LIMITS, "sims": sims}


def abm_goal(abm: dict[str, Any]) -> Goal:
    what = "agent simulations (epidemic_abm, sugarscape_abm)"
    if "not_measured" in abm:
        return Goal(what, abm["not_measured"], "finish, bare Lua ±20%", None)
    parts = []
    ratios = []
    for name, sim in abm["sims"].items():
        ratio = sim["server_seconds"] / sim["bare_seconds"]
        ratios.append(ratio)
        parts.append(f"{name} {ratio:.2f}× ({sim['server_seconds']:.2f} vs {sim['bare_seconds']:.2f} s)")
    return Goal(what, ", ".join(parts), "finish, bare Lua ±20%", all(r <= 1.2 for r in ratios))


def instruction_setting(limits: Limits) -> str:
    if limits.counts_instructions:
        return f"ALC_MAX_INSTRUCTIONS={limits.instruction_budget} (every instruction counted)"
    return "ALC_MAX_INSTRUCTIONS not set (CPU ticks)"


def print_abm(abm: dict[str, Any]) -> None:
    print("\nAgent simulations (algocline-bundled packages), interleaved")
    if "not_measured" in abm:
        print(f"  {abm['not_measured']}")
        return
    limits = abm["limits"]
    print(f"  packages: {abm['root']}; medians of {abm['reps']} runs per side")
    print(
        f"  server limits: {instruction_setting(limits)} "
        f"ALC_MAX_CPU_SECONDS={limits.max_cpu_seconds:g} ALC_MAX_RUN_SECONDS={limits.max_run_seconds:g}"
    )
    for name, sim in abm["sims"].items():
        ratio = sim["server_seconds"] / sim["bare_seconds"]
        hook = sim["bare_hooked_seconds"] / sim["bare_seconds"]
        same = "same result" if sim["same_result"] else "RESULTS DIFFER"
        print(
            f"  {name}: alc_run {sim['server_seconds']:.2f} s, bare lupa {sim['bare_seconds']:.2f} s: "
            f"{ratio:.2f}× ({same}); bare lupa with an empty count hook {sim['bare_hooked_seconds']:.2f} s "
            f"({hook:.2f}×)"
        )
    for name, sim in abm["sims"].items():
        ended = sim["default_limits"]
        print(f"  {name} with default limits: {ended['ended_by']} after {ended['seconds']:.1f} s")


# --- 5. the goal table ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Goal:
    what: str
    now: str
    goal: str
    met: bool | None  # None: not measured


def goals(
    scale: dict[str, Any], live: dict[str, Any], inproc: dict[str, Any], abm: dict[str, Any]
) -> list[Goal]:
    rows = []
    graph = inproc["langgraph_resume"]
    engine = inproc["engine_resume"]
    if graph is None:
        rows.append(
            Goal("engine resume vs LangGraph", "skipped: pip install -e '.[bench]'", "≥ 10× faster", None)
        )
    else:
        ratio = graph.p50_ms / engine.p50_ms
        rows.append(
            Goal(
                "engine resume vs LangGraph Command(resume)+SqliteSaver",
                f"{ratio:.1f}× ({engine.p50_ms:.3f} vs {graph.p50_ms:.3f} ms p50)",
                "≥ 10× faster",
                ratio >= 10,
            )
        )
    ratio = inproc["alc_continue"].p50_ms / inproc["noop_tool"].p50_ms
    rows.append(
        Goal(
            "alc_continue vs SDK no-op tool (in-process)",
            f"{ratio:.2f}× ({inproc['alc_continue'].p50_ms:.3f} vs {inproc['noop_tool'].p50_ms:.3f} ms p50)",
            "≤ 2×",
            ratio <= 2,
        )
    )
    per_live = live["rss_per_session_kib"]
    threads = live["paused"].threads - live["before"].threads
    rows.append(
        Goal(
            "RSS per live paused session",
            f"{per_live:.0f} KiB, +{threads} threads for {live['sessions']}",
            "≤ 100 KiB",
            per_live <= 100,
        )
    )
    rate = scale["start_rate"]
    rows.append(Goal("sessions started per second (stdio)", f"{rate:.0f}/s", "≥ 1,000/s", rate >= 1000))
    before, peak, ended = live["before"].rss_kib, live["paused"].rss_kib, live["ended"].rss_kib
    rows.append(
        Goal(
            f"RSS after ending {live['sessions']} sessions",
            f"{ended / KIB:.0f} MiB (start {before / KIB:.0f}, peak {peak / KIB:.0f})",
            "within 20% of the start",
            ended <= before * 1.2,
        )
    )
    ratio = inproc["cpu_lua_seconds"] / inproc["cpu_bare_seconds"]
    rows.append(
        Goal(
            "CPU-bound Lua vs bare lupa",
            f"{ratio:.2f}× ({inproc['cpu_lua_seconds']:.3f} vs {inproc['cpu_bare_seconds']:.3f} s)",
            "≤ 1.2×",
            ratio <= 1.2,
        )
    )
    rows.append(abm_goal(abm))
    total = scale["paused"].rss_kib / MIB
    rows.append(
        Goal(
            f"{scale['sessions']:,} paused sessions (hibernation on): RSS",
            f"{total:.2f} GiB",
            "≤ 2 GiB",
            total <= 2,
        )
    )
    revived = scale["hibernated_resume"]
    rows.append(
        Goal(
            "resume of a hibernated session (p50, as the issue's table)",
            f"{revived.p50_ms:.1f} ms p50, {revived.p99_ms:.1f} ms p99",
            "≤ 20 ms",
            revived.p50_ms <= 20,
        )
    )
    return rows


def print_goals(rows: Sequence[Goal]) -> None:
    print("\nGoals (issue 11)")
    width = max(len(row.what) for row in rows)
    for row in rows:
        met = "-" if row.met is None else ("met" if row.met else "NOT met")
        print(f"  {row.what:<{width}}  now {row.now}  goal {row.goal}  {met}")


def print_report(
    scale: dict[str, Any], live: dict[str, Any], inproc: dict[str, Any], abm: dict[str, Any]
) -> None:
    print(
        f"\nScale: {scale['sessions']:,} sessions paused, stdio, hibernation on "
        f"({scale['concurrency']} in flight)"
    )
    print(f"  started in {scale['start_seconds']:.1f} s: {scale['start_rate']:.0f} sessions/s")
    print(f"  alc_info sessions: {scale['alc_info_sessions']}")
    for label in ("before", "paused", "after_resumes"):
        sample = scale[label]
        print(f"  RSS {label:<14} {sample.rss_kib / KIB:>8.1f} MiB, {sample.threads} threads")
    print(f"  RSS per session (live and hibernated): {scale['rss_per_session_kib']:.1f} KiB")
    print(f"  alc_continue, live session:        {scale['live_resume'].text()}")
    print(f"  alc_continue, hibernated session:  {scale['hibernated_resume'].text()}")
    print(f"\nLive memory: {live['sessions']} live paused sessions, stdio")
    for label in ("before", "paused", "ended"):
        sample = live[label]
        print(f"  RSS {label:<7} {sample.rss_kib / KIB:>8.1f} MiB, {sample.threads} threads")
    print(f"  RSS per live paused session: {live['rss_per_session_kib']:.1f} KiB")
    print("\nIn-process, interleaved")
    print(f"  engine resume (registry feed → pause, journal on): {inproc['engine_resume'].text()}")
    graph = inproc["langgraph_resume"]
    if graph is None:
        print("  LangGraph: not installed, row skipped (pip install -e '.[bench]')")
    else:
        print(f"  LangGraph Command(resume) + SqliteSaver:          {graph.text()}")
    print(f"  alc_continue (in-process MCP): {inproc['alc_continue'].text()}")
    print(f"  SDK no-op tool (same transport): {inproc['noop_tool'].text()}")
    print(
        f"  CPU-bound script: alc_run {inproc['cpu_lua_seconds']:.3f} s, bare lupa "
        f"{inproc['cpu_bare_seconds']:.3f} s (medians)"
    )
    print_abm(abm)
    print_goals(goals(scale, live, inproc, abm))


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    facts = machine_facts()
    print_machine(facts)
    abm = await measure_abm(bundled_checkout(args.bundled), args.abm_reps)
    if args.abm_only:
        print_abm(abm)
        print_goals([abm_goal(abm)])
        return {"machine": facts, "abm": abm, "goals": [abm_goal(abm)]}
    inproc = await measure_inprocess(args.reps, args.rounds)
    live = await measure_live(args.live, args.concurrency)
    scale = await measure_scale(args.sessions, args.concurrency, args.live_rounds, args.revivals)
    print_report(scale, live, inproc, abm)
    return {
        "machine": facts,
        "scale": scale,
        "live": live,
        "inprocess": inproc,
        "abm": abm,
        "goals": goals(scale, live, inproc, abm),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=positive, default=10_000, help="sessions for the scale measure")
    parser.add_argument("--live", type=positive, default=1000, help="live sessions for the memory measure")
    parser.add_argument("--concurrency", type=positive, default=50, help="alc_run calls in flight")
    parser.add_argument("--live-rounds", type=positive, default=4, help="rounds per live session")
    parser.add_argument("--revivals", type=positive, default=200, help="hibernated sessions resumed")
    parser.add_argument("--reps", type=positive, default=5, help="100-pause loops and CPU runs per side")
    parser.add_argument("--rounds", type=positive, default=300, help="alc_continue / no-op samples")
    parser.add_argument(
        "--bundled",
        type=Path,
        help="a checkout of algocline-bundled-packages for the agent simulations "
        "(default: $ALC_BUNDLED_PACKAGES; without either the row is not measured)",
    )
    parser.add_argument("--abm-reps", type=positive, default=3, help="runs per side of each simulation")
    parser.add_argument("--abm-only", action="store_true", help="measure the agent simulations only")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = anyio.run(bench, args)
    print(f"\nTotal wall time: {time.perf_counter() - started:.1f} s")
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(results, default=_plain, option=orjson.OPT_INDENT_2))
        print(f"Wrote {args.json}")
    return 0


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
