"""Build hook: compile the sandbox's CPU-tick library (src/alc_mcp/engine/ticks.c).

It is a plain shared library loaded with ctypes, not a Python extension: it uses no
Python API and does not link against Lua (lupa's copy is reached at run time). With no
C compiler the build goes on without it and the sandbox counts instructions with a
count hook instead, about twice as slow on CPU-bound Lua (README: Limits).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/alc_mcp/engine/ticks.c")
LIBRARY = Path("src/alc_mcp/engine/libticks.so")


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or not sys.platform.startswith("linux"):
            return
        root = Path(self.root)
        source, library = root / SOURCE, root / LIBRARY
        compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
        command = [*compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            self.app.display_warning(f"alc-mcp: {SOURCE} not built ({detail}); instructions will be counted")
            return
        build_data["artifacts"].append(LIBRARY.as_posix())
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
