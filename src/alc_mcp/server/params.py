"""How tool parameters and caller mistakes look to a host: shared by every tool module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidatorFunctionWrapHandler, WrapValidator

from alc_mcp.app import CALLER_MISTAKES

__all__ = ["SEARCH_PATHS", "VARS_PRESET", "OptionalText", "caller_mistakes", "text_param"]


@contextmanager
def caller_mistakes(prefix: str = "") -> Iterator[None]:
    """A mistake in the caller's request (unknown session, bad query id, missing package…)
    becomes a tool error (``isError: true``) whose text says what to do."""
    try:
        yield
    except CALLER_MISTAKES as exc:
        raise ToolError(f"{prefix}{exc}") from None


VARS_PRESET: Any = Field(
    default=None,
    description="Preset values for session variables, by name: used instead of the initial value "
    "when the script defines them (validated against their type and constraints).",
)


SEARCH_PATHS: Any = Field(
    default=None,
    description="Directories require() may also read from (searched first; under ALC_CODE_ROOTS). "
    "package.path templates are honoured under these, installed packages and ALC_PACKAGES_PATH only; "
    "a relative template such as ./?.lua is relative to the first one.",
)


def _null_means_absent(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return None if value is None else handler(value)


#: An optional free-text parameter. Its annotation stays plain ``str`` (the SDK
#: JSON-decodes string arguments of any other annotation), and an explicit JSON null
#: means "absent", as hosts often send it.
OptionalText = Annotated[str, WrapValidator(_null_means_absent)]


def text_param(description: str) -> Any:
    return Field(default=None, description=description)
