"""Server configuration, read once from the environment.

Every limit has an environment variable so an operator can raise it per server; the
error a script gets when it hits a limit names that variable (see ``Limits``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """An environment variable holds a value the server cannot use."""


DEFAULT_MAX_MEMORY_MB = 256
DEFAULT_MAX_INSTRUCTIONS = 500_000_000
DEFAULT_MAX_RUN_SECONDS = 60.0
DEFAULT_IDLE_TTL_SECONDS = 3 * 3600.0
DEFAULT_PROMPT_PREVIEW_CHARS = 200


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits applied to every session."""

    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    max_instructions: int = DEFAULT_MAX_INSTRUCTIONS
    max_run_seconds: float = DEFAULT_MAX_RUN_SECONDS

    def to_json(self) -> dict[str, object]:
        return {
            "ALC_MAX_MEMORY_MB": self.max_memory_mb,
            "ALC_MAX_INSTRUCTIONS": self.max_instructions,
            "ALC_MAX_RUN_SECONDS": self.max_run_seconds,
        }


@dataclass(frozen=True, slots=True)
class Config:
    home: Path = field(default_factory=lambda: Path.home() / ".alc-mcp")
    packages_path: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)
    idle_ttl_seconds: float = DEFAULT_IDLE_TTL_SECONDS
    reap_interval_seconds: float = 60.0
    prompt_preview_chars: int = DEFAULT_PROMPT_PREVIEW_CHARS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        home_text = env.get("ALC_HOME", "").strip()
        home = Path(home_text).expanduser() if home_text else Path.home() / ".alc-mcp"
        packages = tuple(
            Path(p).expanduser() for p in env.get("ALC_PACKAGES_PATH", "").split(os.pathsep) if p.strip()
        )
        limits = Limits(
            max_memory_mb=_positive_int(env, "ALC_MAX_MEMORY_MB", DEFAULT_MAX_MEMORY_MB),
            max_instructions=_positive_int(env, "ALC_MAX_INSTRUCTIONS", DEFAULT_MAX_INSTRUCTIONS),
            max_run_seconds=_positive_float(env, "ALC_MAX_RUN_SECONDS", DEFAULT_MAX_RUN_SECONDS),
        )
        return cls(
            home=home,
            packages_path=packages,
            limits=limits,
            idle_ttl_seconds=_positive_float(env, "ALC_IDLE_TTL_SECONDS", DEFAULT_IDLE_TTL_SECONDS),
            prompt_preview_chars=_positive_int(env, "ALC_PROMPT_PREVIEW_CHARS", DEFAULT_PROMPT_PREVIEW_CHARS),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not an integer; set it to a positive whole number") from None
    if value <= 0:
        raise ConfigError(f"{name}={text!r} must be positive")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"{name}={text!r} is not a number; set it to a positive number of seconds"
        ) from None
    if not value > 0:
        raise ConfigError(f"{name}={text!r} must be positive")
    return value
