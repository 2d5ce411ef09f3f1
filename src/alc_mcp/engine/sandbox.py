"""A sandboxed Lua 5.4 runtime and the limits enforced inside it.

The runtime never sees Python: no ``python`` global, no eval/builtins, and an
attribute filter that refuses every attribute of every Python object Lua might hold.
The Lua bootstrap (``lua/sandbox.lua``) removes the filesystem, process and debug
facilities and arms an instruction hook that calls ``LimitMonitor.check``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from lupa import lua54

from alc_mcp.config import Limits
from alc_mcp.engine.luajson import LuaNull

#: Instructions between two hook calls: small enough to stop a loop promptly, large
#: enough that the Python call it costs is lost in the noise.
HOOK_EVERY = 10_000

SANDBOX_SOURCE = resources.files("alc_mcp.engine").joinpath("lua/sandbox.lua").read_bytes()

OUT_OF_MEMORY = "not enough memory"

#: Chunk name of the bootstrap; traceback lines that mention it are sandbox plumbing,
#: not the user's code, and are dropped from error messages.
SANDBOX_CHUNK = "=[alc sandbox]"


_PLUMBING = ("[alc sandbox]", "[alc require]", "raw_xpcall")


def clean_traceback(message: str) -> str:
    """Drop the sandbox's own frames from a Lua error message with traceback."""
    lines = message.split("\n")
    kept = [line for line in lines if not any(mark in line for mark in _PLUMBING)]
    return "\n".join(kept)


def _deny_attribute_access(obj: object, name: object, is_setting: bool) -> object:
    if isinstance(obj, LuaNull):  # what indexing any userdata would say in Lua
        raise AttributeError("attempt to index a userdata value (JSON null)")
    raise AttributeError("Python objects are not accessible from the alc-mcp sandbox")


def new_runtime(limits: Limits) -> lua54.LuaRuntime:
    """A bare Lua 5.4 runtime with the memory cap set and no route back into Python."""
    return lua54.LuaRuntime(
        encoding=None,
        register_eval=False,
        register_builtins=False,
        unpack_returned_tuples=True,
        attribute_filter=_deny_attribute_access,
        max_memory=limits.max_memory_mb * 1024 * 1024,
    )


def memory_limit_message(limits: Limits) -> str:
    return (
        f"memory limit exceeded: the script needed more than {limits.max_memory_mb} MB of Lua memory "
        f"(ALC_MAX_MEMORY_MB={limits.max_memory_mb}); raise ALC_MAX_MEMORY_MB to allow more"
    )


def time_limit_message(limits: Limits) -> str:
    return (
        f"time limit exceeded: the script ran for more than {limits.max_run_seconds:g} s without pausing "
        f"for an LLM answer (ALC_MAX_RUN_SECONDS={limits.max_run_seconds:g}); raise ALC_MAX_RUN_SECONDS "
        "to allow longer runs"
    )


def instruction_limit_message(limits: Limits) -> str:
    return (
        f"instruction limit exceeded: the script ran more than {limits.max_instructions} Lua instructions "
        f"without pausing for an LLM answer (ALC_MAX_INSTRUCTIONS={limits.max_instructions}); "
        "raise ALC_MAX_INSTRUCTIONS to allow more"
    )


@dataclass(slots=True)
class LimitMonitor:
    """Counts instructions and wall time of the current run (the stretch between two
    pauses) and holds the sticky reason the run must stop, if any.

    ``check`` runs on the session thread from the Lua hook; ``stop`` may be called
    from any thread (a plain attribute store is atomic under the GIL).
    """

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    fatal: str | None = None
    instructions: int = 0
    deadline: float = field(default=0.0)

    def start_run(self) -> None:
        self.instructions = 0
        self.deadline = self.clock() + self.limits.max_run_seconds

    def stop(self, reason: str) -> None:
        if self.fatal is None:
            self.fatal = reason

    def check(self) -> bytes | None:
        if self.fatal is None:
            self.instructions += HOOK_EVERY
            if self.instructions > self.limits.max_instructions:
                self.fatal = instruction_limit_message(self.limits)
            elif self.clock() > self.deadline:
                self.fatal = time_limit_message(self.limits)
        return None if self.fatal is None else self.fatal.encode()

    def explain(self, message: str) -> str:
        """The message to report for a run that ended with ``message``."""
        if self.fatal is not None:
            return self.fatal
        if message.startswith(OUT_OF_MEMORY) or message.endswith(OUT_OF_MEMORY):
            return memory_limit_message(self.limits)
        return message


@dataclass(frozen=True, slots=True)
class SandboxHost:
    """The Python callbacks the bootstrap captures before it hides everything else."""

    check: Callable[[], bytes | None]
    log: Callable[[bytes, bytes, bytes], None]
    write: Callable[[bytes, bytes], None]
    random_seed: Callable[[], int]
    os_time: Callable[[], int]
    os_clock: Callable[[], float]


def install_sandbox(runtime: lua54.LuaRuntime, host: SandboxHost) -> Any:
    """Run the bootstrap; returns its API table (``wrap``, ``run``)."""
    table = runtime.table_from(
        {
            b"check": host.check,
            b"log": host.log,
            b"write": host.write,
            b"random_seed": host.random_seed,
            b"os_time": host.os_time,
            b"os_clock": host.os_clock,
        }
    )
    bootstrap = runtime.compile(SANDBOX_SOURCE, name=SANDBOX_CHUNK)
    return bootstrap(table, HOOK_EVERY)
