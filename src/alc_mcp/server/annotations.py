"""The tool annotations alc-mcp declares, complete (every hint set) so a host never
falls back to the spec's defaults (which assume a destructive, open-world tool).

Every tool works on this server's own sessions, packages and files (``openWorld``
false), except installing a package, which may clone a git URL from the network.
"""

from __future__ import annotations

from mcp_types import ToolAnnotations

__all__ = ["ADDITIVE", "INSTALLS_FROM_URL", "OVERWRITES", "READ_ONLY", "REMOVES"]

#: Looks only: status, lists, views, info. Calling it again changes nothing.
READ_ONLY = ToolAnnotations(
    read_only_hint=True, idempotent_hint=True, destructive_hint=False, open_world_hint=False
)
#: Adds or moves on (a new session, an answer, a note); each call has its own effect.
ADDITIVE = ToolAnnotations(
    read_only_hint=False, idempotent_hint=False, destructive_hint=False, open_world_hint=False
)
#: Replaces something that was there (a variable's value, answers after a rewind).
OVERWRITES = ToolAnnotations(
    read_only_hint=False, idempotent_hint=False, destructive_hint=True, open_world_hint=False
)
#: Deletes, cancels or repoints; doing it twice leaves the same state as doing it once.
REMOVES = ToolAnnotations(
    read_only_hint=False, idempotent_hint=True, destructive_hint=True, open_world_hint=False
)
#: Installs from a directory or a git URL, replacing a package of the same name.
INSTALLS_FROM_URL = ToolAnnotations(
    read_only_hint=False, idempotent_hint=True, destructive_hint=True, open_world_hint=True
)
