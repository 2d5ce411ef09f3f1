"""Server configuration, read once from the environment.

Every limit has an environment variable so an operator can raise it per server; the
error a script gets when it hits a limit names that variable (see ``Limits``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_DB_BUSY_TIMEOUT_MS",
    "DEFAULT_HIBERNATE_AFTER_SECONDS",
    "DEFAULT_IDLE_TTL_SECONDS",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_CPU_SECONDS",
    "DEFAULT_MAX_INSTRUCTIONS",
    "DEFAULT_MAX_LIVE_SESSIONS",
    "DEFAULT_MAX_MEMORY_MB",
    "DEFAULT_MAX_RUN_SECONDS",
    "DEFAULT_MAX_VARIABLES",
    "DEFAULT_MAX_VARIABLE_BYTES",
    "DEFAULT_PROGRESS_SECONDS",
    "DEFAULT_PROMPT_PREVIEW_CHARS",
    "DEFAULT_RETENTION_DAYS",
    "Config",
    "ConfigError",
    "HttpAuth",
    "Limits",
]


class ConfigError(ValueError):
    """An environment variable holds a value the server cannot use."""


DEFAULT_MAX_MEMORY_MB = 256
#: The budget when ALC_MAX_INSTRUCTIONS is not set. It then bounds builtin work (bytes
#: that string.rep, table.concat, ... produce), while Lua itself runs uncounted and is
#: bounded by ALC_MAX_CPU_SECONDS (engine/ticks.py). Set, every instruction is counted:
#: room for algocline's bundled agent simulations (sugarscape_abm counts about 0.9
#: billion), while a runaway loop still ends in about 6 s.
DEFAULT_MAX_INSTRUCTIONS = 1_000_000_000
DEFAULT_MAX_RUN_SECONDS = 60.0
#: Uncounted Lua is bounded by this alone, so it is the time a runaway loop gets: 6 s of
#: CPU ends one in about 7 s of wall time on a busy 2-core box (the counted budget above
#: ended one in about 6 s), under the 10 s a host should wait for it, and leaves the
#: bundled agent simulations (up to 3.7 s of CPU between two pauses) room to finish.
DEFAULT_MAX_CPU_SECONDS = 6.0
DEFAULT_MAX_VARIABLES = 1000
DEFAULT_MAX_VARIABLE_BYTES = 1024 * 1024
DEFAULT_IDLE_TTL_SECONDS = 3 * 3600.0
DEFAULT_PROMPT_PREVIEW_CHARS = 200
DEFAULT_HIBERNATE_AFTER_SECONDS = 600.0
DEFAULT_LEASE_SECONDS = 30.0
#: How long a worker waits for another live worker to let go of a session (PostgreSQL).
DEFAULT_HANDOVER_SECONDS = 5.0
DEFAULT_MAX_LIVE_SESSIONS = 256
DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_DB_BUSY_TIMEOUT_MS = 5_000
DEFAULT_PROGRESS_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits applied to every session."""

    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    #: ALC_MAX_INSTRUCTIONS; None when not set (see DEFAULT_MAX_INSTRUCTIONS).
    max_instructions: int | None = None
    max_run_seconds: float = DEFAULT_MAX_RUN_SECONDS
    max_cpu_seconds: float = DEFAULT_MAX_CPU_SECONDS
    max_variables: int = DEFAULT_MAX_VARIABLES
    max_variable_bytes: int = DEFAULT_MAX_VARIABLE_BYTES
    #: Extra seconds the event loop waits past ALC_MAX_RUN_SECONDS before it gives up on
    #: a thread stuck inside a C function, where the Lua hook cannot fire.
    watchdog_grace_seconds: float = 5.0

    @property
    def instruction_budget(self) -> int:
        return DEFAULT_MAX_INSTRUCTIONS if self.max_instructions is None else self.max_instructions

    @property
    def counts_instructions(self) -> bool:
        """An instruction budget was asked for: count every Lua instruction (the count
        hook, about twice as slow on tight loops) rather than check by CPU ticks."""
        return self.max_instructions is not None

    def to_json(self) -> dict[str, object]:
        return {
            "ALC_MAX_MEMORY_MB": self.max_memory_mb,
            "ALC_MAX_INSTRUCTIONS": self.instruction_budget,
            "ALC_MAX_RUN_SECONDS": self.max_run_seconds,
            "ALC_MAX_CPU_SECONDS": self.max_cpu_seconds,
            "ALC_MAX_VARIABLES": self.max_variables,
            "ALC_MAX_VARIABLE_BYTES": self.max_variable_bytes,
        }


@dataclass(frozen=True, slots=True)
class HttpAuth:
    """Who may call over HTTP, and how the server is reached (see README: HTTP and tokens)."""

    #: ALC_AUTH_TOKENS: a file of ``TOKEN PRINCIPAL`` lines (the static verifier).
    tokens_file: Path | None = None
    #: ALC_AUTH_ISSUER_URL: the OAuth 2.1 authorization server that issues tokens.
    issuer_url: str | None = None
    #: ALC_AUTH_INTROSPECTION_URL: its RFC 7662 introspection endpoint.
    introspection_url: str | None = None
    #: ALC_AUTH_CLIENT_ID / ALC_AUTH_CLIENT_SECRET: how this server authenticates there.
    client_id: str | None = None
    client_secret: str | None = None
    #: ALC_PUBLIC_URL: the URL clients use for /mcp (behind a proxy, on a LAN name);
    #: None: http://HOST:PORT/mcp as bound.
    public_url: str | None = None
    #: ALC_ALLOWED_ORIGINS: browser origins allowed besides localhost and ALC_PUBLIC_URL's.
    allowed_origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    home: Path = field(default_factory=lambda: Path.home() / ".alc-mcp")
    packages_path: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)
    idle_ttl_seconds: float = DEFAULT_IDLE_TTL_SECONDS
    reap_interval_seconds: float = 60.0
    #: How long a live session's lease outlasts its owner's last heartbeat: after that
    #: another alc-mcp process on the same ALC_HOME may take the session over.
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    prompt_preview_chars: int = DEFAULT_PROMPT_PREVIEW_CHARS
    hibernate_after_seconds: float = DEFAULT_HIBERNATE_AFTER_SECONDS
    max_live_sessions: int = DEFAULT_MAX_LIVE_SESSIONS
    retention_days: float | None = DEFAULT_RETENTION_DAYS
    retention_max_sessions: int | None = None
    durable: bool = True
    db_synchronous: str = "NORMAL"
    db_busy_timeout_ms: int = DEFAULT_DB_BUSY_TIMEOUT_MS
    #: Directories ``alc_run``'s ``code_file`` may read (ALC_CODE_ROOTS). None: the
    #: current directory and ``home``; an empty tuple: none (HTTP without ALC_CODE_ROOTS).
    code_roots: tuple[Path, ...] | None = None
    http: HttpAuth = field(default_factory=HttpAuth)
    #: ALC_SAMPLING: ``auto`` answers pauses through the host's own model when the
    #: client declares ``sampling`` (inside the call); ``off`` always answers with
    #: ``needs_response``.
    sampling: str = "auto"
    #: ALC_REQUEST_STATE_KEY: the secret that seals MRTR request state, shared by a fleet
    #: so any process can verify it. None: a random key per process.
    request_state_key: bytes | None = None
    #: A ``postgresql://`` URL (ALC_DATABASE_URL): sessions live in that database, shared
    #: by every worker pointed at it; None keeps the SQLite file under ``home``.
    database_url: str | None = None
    #: How long a call waits for the worker that owns its session to hand it over
    #: (ALC_HANDOVER_SECONDS) before refusing with "live in another alc-mcp process".
    handover_seconds: float = DEFAULT_HANDOVER_SECONDS
    #: The longest a call that asked for progress goes without a notification while its
    #: script runs (hosts such as Claude Code reset their idle timer on each one).
    progress_seconds: float = DEFAULT_PROGRESS_SECONDS

    @property
    def db_path(self) -> Path:
        return self.home / "alc.db"

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
            max_instructions=_optional_positive_int(env, "ALC_MAX_INSTRUCTIONS"),
            max_run_seconds=_positive_float(env, "ALC_MAX_RUN_SECONDS", DEFAULT_MAX_RUN_SECONDS),
            max_cpu_seconds=_positive_float(env, "ALC_MAX_CPU_SECONDS", DEFAULT_MAX_CPU_SECONDS),
            max_variables=_positive_int(env, "ALC_MAX_VARIABLES", DEFAULT_MAX_VARIABLES),
            max_variable_bytes=_positive_int(env, "ALC_MAX_VARIABLE_BYTES", DEFAULT_MAX_VARIABLE_BYTES),
        )
        return cls(
            home=home,
            packages_path=packages,
            limits=limits,
            idle_ttl_seconds=_positive_float(env, "ALC_IDLE_TTL_SECONDS", DEFAULT_IDLE_TTL_SECONDS),
            prompt_preview_chars=_positive_int(env, "ALC_PROMPT_PREVIEW_CHARS", DEFAULT_PROMPT_PREVIEW_CHARS),
            hibernate_after_seconds=_positive_float(
                env, "ALC_HIBERNATE_AFTER_SECONDS", DEFAULT_HIBERNATE_AFTER_SECONDS
            ),
            max_live_sessions=_positive_int(env, "ALC_MAX_LIVE_SESSIONS", DEFAULT_MAX_LIVE_SESSIONS),
            lease_seconds=_positive_float(env, "ALC_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
            retention_days=_optional_positive_float(env, "ALC_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
            retention_max_sessions=_optional_positive_int(env, "ALC_RETENTION_MAX_SESSIONS"),
            durable=env.get("ALC_DURABLE", "1").strip().lower() not in ("0", "false", "off", "no"),
            db_synchronous=_choice(env, "ALC_DB_SYNC", ("NORMAL", "FULL"), "NORMAL"),
            db_busy_timeout_ms=_positive_int(env, "ALC_DB_BUSY_TIMEOUT_MS", DEFAULT_DB_BUSY_TIMEOUT_MS),
            progress_seconds=_positive_float(env, "ALC_PROGRESS_SECONDS", DEFAULT_PROGRESS_SECONDS),
            code_roots=_paths(env, "ALC_CODE_ROOTS"),
            http=HttpAuth(
                tokens_file=_path(env, "ALC_AUTH_TOKENS"),
                issuer_url=_url(env, "ALC_AUTH_ISSUER_URL"),
                introspection_url=_url(env, "ALC_AUTH_INTROSPECTION_URL"),
                client_id=env.get("ALC_AUTH_CLIENT_ID", "").strip() or None,
                client_secret=env.get("ALC_AUTH_CLIENT_SECRET", "").strip() or None,
                public_url=_url(env, "ALC_PUBLIC_URL"),
                allowed_origins=_origins(env, "ALC_ALLOWED_ORIGINS"),
            ),
            sampling=_choice(env, "ALC_SAMPLING", ("AUTO", "OFF"), "AUTO").lower(),
            request_state_key=_secret(env, "ALC_REQUEST_STATE_KEY"),
            database_url=_database_url(env, "ALC_DATABASE_URL"),
            handover_seconds=_positive_float(env, "ALC_HANDOVER_SECONDS", DEFAULT_HANDOVER_SECONDS),
        )


#: The SDK's AES-GCM request-state codec refuses shorter secrets.
_MIN_SECRET_BYTES = 32


def _secret(env: Mapping[str, str], name: str) -> bytes | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    if len(text.encode()) < _MIN_SECRET_BYTES:
        raise ConfigError(
            f"{name} is {len(text.encode())} bytes; it must be at least {_MIN_SECRET_BYTES} bytes of "
            'secret randomness (generate one with: python -c "import secrets; print(secrets.token_hex(32))")'
        )
    return text.encode()


def _database_url(env: Mapping[str, str], name: str) -> str | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    if not text.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{name} must be a postgresql:// URL (e.g. postgresql://user:password@host:5432/alc), "
            f"not {text.partition(':')[0]!r}…; unset it to keep sessions in SQLite under ALC_HOME"
        )
    return text


def _paths(env: Mapping[str, str], name: str) -> tuple[Path, ...] | None:
    """An ``os.pathsep``-separated list of directories, absolute; None when unset or blank."""
    text = env.get(name, "").strip()
    if not text:
        return None
    return tuple(Path(p.strip()).expanduser().absolute() for p in text.split(os.pathsep) if p.strip())


def _path(env: Mapping[str, str], name: str) -> Path | None:
    text = env.get(name, "").strip()
    return Path(text).expanduser().absolute() if text else None


def _url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL, without a trailing slash; None when unset."""
    text = env.get(name, "").strip()
    if not text:
        return None
    scheme, _, rest = text.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise ConfigError(f"{name}={text!r} is not an http(s) URL; set it like https://auth.example.com")
    return text.rstrip("/")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated origins, ``scheme://host[:port]``; ``:*`` allows any port."""
    origins = tuple(o.strip().rstrip("/") for o in env.get(name, "").split(",") if o.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise ConfigError(
                f"{name}: {origin!r} is not an origin; list them as scheme://host[:port], comma-separated "
                "(e.g. https://app.example.com,http://localhost:*)"
            )
    return origins


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


def _optional_positive_float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Like ``_positive_float``, but ``off`` (or 0) turns the setting off."""
    text = env.get(name, "").strip().lower()
    if text in ("off", "none", "0"):
        return None
    return _positive_float(env, name, 1.0) if text else default


def _optional_positive_int(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name, "").strip().lower()
    if not text or text in ("off", "none", "0"):
        return None
    return _positive_int(env, name, 1)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    text = env.get(name, "").strip().upper()
    if not text:
        return default
    if text not in choices:
        raise ConfigError(f"{name}={text!r} must be one of {', '.join(choices)}")
    return text
