"""CPU ticks: how the sandbox checks its limits without counting instructions.

Lua 5.4 traps every instruction while a count hook is set, whatever its count: a
counted tight loop runs about twice as slow as a bare one. ``libticks.so`` (built from
``ticks.c`` by the wheel's build hook) gives each thread that runs a VM a timer on its
own CPU clock; every ``TICK_SECONDS`` of CPU it arms the hook for one instruction, and
the hook checks the limits (CPU time, wall time, cancellation, builtin work) and turns
itself off. A thread waiting for an answer uses no CPU and gets no ticks.

Ticks are used when the library loads and ``ALC_MAX_INSTRUCTIONS`` is not set; an
instruction budget of one's own asks for exact counting, and gets the count hook.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from importlib import resources

from lupa import lua54

__all__ = ["TICK_SECONDS", "Ticks", "load"]

#: CPU seconds between two checks of a running script. The kernel fires thread CPU
#: timers at its own tick (HZ), so checks come every 2-4 ms of CPU in practice.
TICK_SECONDS = 0.002

#: The signal the timers send: SIGRTMIN + this. glibc keeps the first real-time signals
#: for itself (SIGRTMIN already skips them); Python uses none.
SIGNAL_OFFSET = 5

#: What the library needs from lupa's Lua, in alc_ticks_init's order.
_LUA_FUNCTIONS = (
    "lua_sethook",
    "lua_gethook",
    "lua_tothread",
    "lua_type",
    "lua_pushcclosure",
    "lua_setglobal",
)


class Ticks:
    """The loaded library: one per process (``load``)."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._library = library
        library.alc_ticks_register.argtypes = [ctypes.c_void_p]
        library.alc_ticks_register.restype = None
        library.alc_ticks_enter.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        library.alc_ticks_enter.restype = ctypes.c_int
        library.alc_ticks_leave.argtypes = [ctypes.c_void_p]
        library.alc_ticks_leave.restype = None

    def register(self, runtime: lua54.LuaRuntime) -> None:
        """Give a fresh VM (no Lua run in it yet) the globals ``__alc_tick_running`` and
        ``__alc_tick_capture`` for the sandbox to take."""
        name = runtime.eval("tostring((coroutine.running()))")
        self._library.alc_ticks_register(int(bytes(name).rpartition(b" ")[2], 16))

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Ticks on the calling thread for the duration of the block, armed on whatever
        state a registered VM's sandbox names (nested VMs on one thread restore the outer
        one's)."""
        saved = ctypes.c_void_p()
        error = self._library.alc_ticks_enter(ctypes.byref(saved))
        if error:
            raise OSError(error, "cannot start the sandbox's CPU timer")
        try:
            yield
        finally:
            self._library.alc_ticks_leave(saved)


def _open() -> Ticks | None:
    path = resources.files("alc_mcp.engine").joinpath("libticks.so")
    try:
        library = ctypes.CDLL(str(path))
        lua = ctypes.CDLL(lua54.__file__)
        functions = [ctypes.cast(getattr(lua, name), ctypes.c_void_p).value for name in _LUA_FUNCTIONS]
    except (OSError, AttributeError):
        return None
    library.alc_ticks_init.argtypes = [ctypes.c_void_p] * len(functions) + [ctypes.c_int, ctypes.c_long]
    library.alc_ticks_init.restype = ctypes.c_int
    if library.alc_ticks_init(*functions, SIGNAL_OFFSET, int(TICK_SECONDS * 1e9)) != 0:
        return None
    return Ticks(library)


_TICKS: Ticks | None = _open()


def load() -> Ticks | None:
    """The process's ticks, or None where the library is missing (no C compiler at
    install time, not Linux): the sandbox then counts instructions."""
    return _TICKS
