"""Which files ``alc_run``'s ``code_file`` may read.

``code_file`` makes the server read a file on the caller's behalf, and the text comes back
through ``alc_log_view``: without a fence anyone who can call the tool (over HTTP: anyone
who can reach the port) could read any file the server can. A file is read only when its
real path (every symlink resolved) lies inside one of the allowed roots: ``ALC_CODE_ROOTS``
(``os.pathsep``-separated), by default the current directory and ``ALC_HOME``. Over HTTP
there is no default: ``code_file`` is refused unless ``ALC_CODE_ROOTS`` is set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alc_mcp.config import Config

__all__ = ["CodeFileError", "allowed_path", "code_roots", "read_code_file", "search_dirs"]


class CodeFileError(ValueError):
    """``code_file`` names a file the server will not (or cannot) read."""


def code_roots(config: Config) -> tuple[Path, ...]:
    """The directories ``code_file`` may read from under ``config``: ``config.code_roots``
    when set (an empty tuple allows none), else the current directory and ``ALC_HOME``."""
    if config.code_roots is not None:
        return config.code_roots
    return (Path.cwd(), config.home)


def allowed_path(
    text: str,
    roots: Sequence[Path],
    *,
    what: str = "code_file",
    reader: str = "alc_run",
    inline: str = "code",
) -> Path:
    """The real path of ``text`` if it lies under one of ``roots`` (symlinks resolved
    first, so a link cannot point out); else ``CodeFileError`` saying what to do."""
    if not roots:
        raise CodeFileError(
            f"{what} is turned off on this server (over HTTP it needs ALC_CODE_ROOTS set to the "
            f"directories {reader} may read); send the text as `{inline}` instead."
        )
    path = Path(text).expanduser()
    real = path.resolve()
    allowed = [Path(root).expanduser().resolve() for root in roots]
    if not any(real.is_relative_to(root) for root in allowed):
        via = f" (it resolves to {real})" if real != path.absolute() else ""
        raise CodeFileError(
            f"{what} {text!r} is outside the directories {reader} may read{via}: "
            f"{os.pathsep.join(str(root) for root in allowed)}. Move the file there, send its text as "
            f"`{inline}`, or add its directory to ALC_CODE_ROOTS ({os.pathsep!r}-separated) in the "
            "server's environment."
        )
    return real


def read_code_file(code_file: str, roots: Sequence[Path]) -> tuple[str, str]:
    """The source text of ``code_file`` and its Lua chunk name (``@<file name>``).

    Raises ``CodeFileError`` when the real path of the file is outside every root, when
    there are no roots, or when the file cannot be read as UTF-8 text."""
    path = Path(code_file).expanduser()
    real = allowed_path(code_file, roots)
    try:
        source = real.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodeFileError(f"Failed to read {code_file}: {exc}") from None
    return source, f"@{path.name}"


def search_dirs(paths: Sequence[str] | None, roots: Sequence[Path]) -> tuple[str, ...]:
    """``search_paths`` (``alc_run``, ``alc_pkg_test``) as real directory paths: each must
    be a directory under one of ``roots``, since ``require`` reads files there for the
    caller, as ``code_file`` does."""
    found = []
    for text in paths or ():
        real = allowed_path(text, roots, what="search_paths entry", inline="code")
        if not real.is_dir():
            raise CodeFileError(
                f"search_paths entry {text!r} is not a directory; name the folder to require from"
            )
        found.append(str(real))
    return tuple(found)
