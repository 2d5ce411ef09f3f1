"""The session thread: one Lua VM, created, run and dropped on its own thread.

``alc.llm`` blocks *this* thread (in Python, not in Lua) until the host's answers
arrive, which is why it works inside pcall, gsub callbacks, sort comparators,
metamethods and user coroutines.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from importlib import resources
from typing import Any

from lupa import lua54

from alc_mcp.config import Limits
from alc_mcp.domain.program import Program
from alc_mcp.engine import memory
from alc_mcp.engine.bridge import Library, members
from alc_mcp.engine.effects import Effects
from alc_mcp.engine.errors import FatalError
from alc_mcp.engine.events import PauseRequest, ScriptCancelled, ScriptFailed, ScriptReturned, WorkerEvent
from alc_mcp.engine.fork import ChildPort, Forker
from alc_mcp.engine.luaargs import as_text, lua_callback
from alc_mcp.engine.luajson import LuaJson, LuaValueError
from alc_mcp.engine.packages import ModuleNotFound, PackageError, PackageResolver
from alc_mcp.engine.port import NO_FACILITIES, BridgeContext, Facilities, SessionPort
from alc_mcp.engine.prelude import PRELUDE_CHUNK, plan, prelude_bytecode
from alc_mcp.engine.sandbox import (
    LimitMonitor,
    SandboxHost,
    clean_traceback,
    install_sandbox,
    new_runtime,
    precompiled,
)
from alc_mcp.engine.stdlib import mathlib
from alc_mcp.engine.storage import SharedStore
from alc_mcp.engine.ticks import load as load_ticks

__all__ = [
    "CANCELLED",
    "REQUIRE_CHUNK",
    "REQUIRE_SOURCE",
    "EffectsFactory",
    "LuaWorker",
    "WorkerGone",
    "now_ms",
]

CANCELLED = "session cancelled by the host"

REQUIRE_SOURCE = resources.files("alc_mcp.engine").joinpath("lua/require.lua").read_bytes()
REQUIRE_CHUNK = "=[alc require]"
_CANCEL = object()


#: Builds a worker's effects from its pause function and its limit monitor.
EffectsFactory = Callable[[Callable[[PauseRequest], list[str]], LimitMonitor], Effects]


class WorkerGone(Exception):
    """The receiving side of the session is gone (server shutting down)."""


class LuaWorker:
    """Runs one program in one sandboxed VM on a dedicated daemon thread.

    ``post`` delivers events to the session (it may block briefly and raises
    ``WorkerGone`` if nobody is listening any more); ``answer`` and ``cancel`` may be
    called from any thread.
    """

    def __init__(
        self,
        program: Program,
        port: SessionPort,
        post: Callable[[WorkerEvent], None],
        limits: Limits,
        *,
        name: str,
        effects_factory: EffectsFactory,
        shared: SharedStore,
        namespace: str,
        resolver: PackageResolver,
        facilities: Facilities = NO_FACILITIES,
    ) -> None:
        self._shared = shared
        self._namespace = namespace
        self._resolver = resolver.with_search_paths(program.search_paths)
        self._facilities = facilities
        self._program = program
        self._port = port
        self._post = post
        self._limits = limits
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.monitor = LimitMonitor(limits)
        # The session's watchdog follows the run's deadline from the moment it starts the
        # thread; unset (0), a loaded machine that ran the watchdog first failed the new
        # session at once with "time limit exceeded". The thread starts the run again.
        self.monitor.start_run()
        self.effects = effects_factory(self._pause, self.monitor)
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def answer(self, answers: list[str]) -> None:
        self._inbox.put(answers)

    def cancel(self, reason: str = CANCELLED) -> None:
        """Stop the script: at its next hook check if running, at once if paused."""
        self.monitor.stop(reason)
        self._inbox.put(_CANCEL)

    def run_here(self) -> None:
        """Run the program on the calling thread instead of a new one."""
        self._main()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- thread side -----------------------------------------------------------

    def _pause(self, request: PauseRequest) -> list[str]:
        try:
            self._post(request)
        except WorkerGone:
            self.monitor.stop(CANCELLED)
            raise FatalError(CANCELLED) from None
        item = self._inbox.get()
        if item is _CANCEL:
            raise FatalError(self.monitor.fatal or CANCELLED)
        self.monitor.start_run()
        answers: list[str] = item
        return answers

    def _main(self) -> None:
        try:
            event = self._execute()
        except Exception as exc:  # never let the thread die silently
            traceback.print_exc(file=sys.stderr)
            event = ScriptFailed(f"internal error: {type(exc).__name__}: {exc}")
        if self.monitor.fatal == CANCELLED and not isinstance(event, ScriptReturned):
            event = ScriptCancelled()
        with contextlib.suppress(WorkerGone):  # nobody is listening any more
            self._post(event)
        # What points back to the session (its port, its post, the effects over both)
        # made the session and this worker a reference cycle, freed only by the cycle
        # collector's next full pass, long after the session ended; nothing uses them now.
        del self._post, self._port, self.effects
        memory.release_soon()

    def _execute(self) -> WorkerEvent:
        self.monitor.start_run()
        runtime = new_runtime(self._limits)
        with contextlib.ExitStack() as ticking:
            ticked = not self._limits.counts_instructions and _start_ticks(runtime, ticking)
            return self._run(runtime, ticked)

    def _run(self, runtime: lua54.LuaRuntime, ticked: bool) -> WorkerEvent:
        api = None
        try:
            json = LuaJson(runtime)
            api = install_sandbox(runtime, self._sandbox_host(), ticked=ticked)
            self._install_globals(runtime, api, json)
            ok, value = api.run(self._program.source.encode(), self._program.chunkname.encode())
            if self.monitor.fatal is None and ok:
                return ScriptReturned(json.from_lua(value))
        except lua54.LuaMemoryError:
            return ScriptFailed(self.monitor.explain("not enough memory"))
        except lua54.LuaError as exc:
            return ScriptFailed(self.monitor.explain(f"lua error: {_error_text(exc)}"))
        except LuaValueError as exc:
            return ScriptFailed(f"lua error: cannot return this value as JSON: {exc}")
        finally:
            if api is not None:
                # Best effort: what it cannot drop, Python's cycle collector frees later.
                with contextlib.suppress(lua54.LuaError):
                    api.release()
        if self.monitor.fatal is not None:
            return ScriptFailed(self.monitor.fatal)
        message = clean_traceback(_text(value))
        explained = self.monitor.explain(message)
        return ScriptFailed(explained if explained != message else f"lua error: {message}")

    def _install_globals(self, runtime: lua54.LuaRuntime, api: Any, json: LuaJson) -> None:
        forker = Forker(self.effects, self._make_child, lambda: self.monitor.fatal)
        context = BridgeContext(
            runtime, json, self._port, self.effects, self._shared, self._namespace, forker, self._facilities
        )
        library = Library(context)
        lua_globals = runtime.globals()
        # One call into Lua for the ~90 functions (sub-tables built on first use), and one
        # Python object behind them all.
        catalog = library.catalog
        extenders = runtime.table_from({b"math": mathlib.install_streams(runtime, api.wrap, context)})
        alc = api.install(
            runtime.table_from(catalog.tops),
            library,
            runtime.table_from(list(catalog.members)),
            members,
            extenders,
        )
        lua_globals[b"alc"] = alc
        api.set_error_encoder(alc[b"json_encode"])
        lua_globals[b"ctx"] = json.to_lua(self._program.ctx)
        runtime.execute(
            precompiled(REQUIRE_SOURCE, REQUIRE_CHUNK), api.wrap(self._find_module), name=REQUIRE_CHUNK
        )
        # Layer 1, the part of alc.* written in Lua: loaded on first use where it can be.
        deferral = plan(catalog.names)
        if deferral is None:
            runtime.execute(prelude_bytecode(), name=PRELUDE_CHUNK)
        else:
            api.defer(alc, prelude_bytecode, PRELUDE_CHUNK.encode(), *deferral.arguments(runtime))

    def _make_child(
        self, vm: int, strategy: str, ctx: Any, post: Callable[[WorkerEvent], None], effects: EffectsFactory
    ) -> LuaWorker:
        """A VM for one alc.fork child: the package's run(ctx) under the same limits."""
        program = Program(
            f"local s = require({strategy!r})\nreturn s.run(ctx)", f"=fork[{vm}:{strategy}]", ctx
        )
        return LuaWorker(
            program,
            ChildPort(self._port, vm, strategy),
            post,
            self._limits,
            name=f"{self._thread.name}-fork{vm}",
            effects_factory=effects,
            shared=self._shared,
            namespace=f"fork-{vm}",
            resolver=self._resolver,
            facilities=self._facilities,
        )

    @lua_callback("require")
    def _find_module(self, name: Any = None, path: Any = None) -> tuple[bytes | None, bytes, bool]:
        """(source, chunkname), or (nil, message, refused): a missing module lets
        Lua's other searchers have their say; a refused name stops require. ``path``
        is the script's ``package.path``, honoured under the resolver's roots only."""
        try:
            module = self._resolver.find(as_text(name, "module name"), as_text(path or b"", "package.path"))
        except ModuleNotFound as exc:
            return None, str(exc).encode(), False
        except PackageError as exc:
            return None, str(exc).encode(), True
        return module.source, module.chunkname.encode(), False

    def _sandbox_host(self) -> SandboxHost:
        port = self._port

        def log(level: bytes, source: bytes, message: bytes) -> None:
            port.log(_text(level), _text(source), _text(message).rstrip("\r\n"))

        def write(stream: bytes, text: bytes) -> None:
            message = _text(text).rstrip("\r\n")
            if message:
                port.log("warn" if stream == b"stderr" else "info", f"alc.lua.io.{_text(stream)}", message)

        return SandboxHost(
            check=self.monitor.check,
            log=log,
            write=write,
            random_seed=self.effects.random_seed,
            os_time=lambda: int(self.effects.wall_time()),
            os_clock=self.effects.cpu_clock,
        )


def _start_ticks(runtime: lua54.LuaRuntime, stack: contextlib.ExitStack) -> bool:
    """Run this thread's VM under CPU ticks until ``stack`` closes; False (count
    instructions instead) where the library is missing or the timer cannot start."""
    ticks = load_ticks()
    if ticks is None:
        return False
    ticks.register(runtime)
    try:
        stack.enter_context(ticks.running())
    except OSError as exc:
        print(f"alc-mcp: counting instructions for this session: {exc}", file=sys.stderr)
        return False
    return True


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return text or type(exc).__name__


def now_ms() -> int:
    return int(time.time() * 1000)
