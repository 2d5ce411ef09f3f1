"""What every tool answers, as data: the models behind each tool's ``outputSchema`` and
the one way a tool turns the service's JSON into a ``CallToolResult``.

The service keeps answering plain JSON objects; a tool sends that object twice, as the
text block hosts written for algocline compare byte for byte (compact, or pretty for
status snapshots and transcripts) and, unchanged, as ``structuredContent``. The SDK
validates the latter against the model named in the tool's return annotation
(``Annotated[CallToolResult, Model]``), and publishes that model's schema as the
tool's ``outputSchema``, so the schema and what is sent cannot drift apart.

The models describe the fields a host can rely on and never forbid others: a newer
server may add a field without breaking an older schema's validator.
"""

from __future__ import annotations

from typing import Any, Literal

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field, RootModel

from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty

__all__ = [
    "AliasList",
    "AliasSet",
    "Card",
    "CardList",
    "Comparison",
    "EvalDetail",
    "EvalHistory",
    "EvalReply",
    "FeedReply",
    "Info",
    "LogDeleted",
    "LogView",
    "NoteAdded",
    "PackageInstalled",
    "PackageList",
    "PackageRemoved",
    "ScenarioInstalled",
    "ScenarioList",
    "ScenarioShown",
    "StatsReply",
    "StatusReply",
    "VariablesChanged",
    "VariablesDeleted",
    "VariablesFound",
    "VariablesImported",
    "VariablesListed",
    "compact",
    "pretty",
]


def compact(data: dict[str, Any]) -> CallToolResult:
    """``data`` as compact JSON text (the FeedResult format) and as structured content."""
    return _result(data, dumps_compact(data))


def pretty(data: dict[str, Any]) -> CallToolResult:
    """``data`` as pretty JSON text (status snapshots, transcripts) and as structured content."""
    return _result(data, dumps_pretty(data))


def _result(data: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _untitled(schema: dict[str, Any]) -> None:
    """Drop the titles pydantic derives from class and field names: the names already say
    it, and every host receives these schemas with tools/list."""
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)


class _Model(BaseModel):
    model_config = ConfigDict(json_schema_extra=_untitled)


def _object_root(extra: dict[str, Any] | None = None) -> ConfigDict:
    """A root model over a union still publishes ``"type": "object"`` at its root, which
    2025-11-25 clients require of an ``outputSchema``."""

    def shape(schema: dict[str, Any]) -> None:
        _untitled(schema)
        schema.update({"type": "object", **(extra or {})})

    return ConfigDict(json_schema_extra=shape)


# --- the session loop (FeedResult, algocline's wire shapes) ---------------------------------


class _QueryFields(_Model):
    prompt: str = Field(description="What the model is asked.")
    system: str | None = Field(description="System instructions to follow, or null.")
    max_tokens: int | None = Field(description="The longest answer wanted, in tokens.")
    grounded: bool = Field(default=False, description="Present (true) when the answer must cite evidence.")
    underspecified: bool = Field(
        default=False, description="Present (true) when the question may lack information."
    )


class Query(_QueryFields):
    """One query of a batch pause."""

    id: str = Field(description="The query id to answer (q-0, q-1, …).")


class NeedsOne(_QueryFields):
    """The script waits for one answer: alc_continue{session_id, response}."""

    status: Literal["needs_response"]
    session_id: str
    query_id: str = Field(description="The id of the query to answer.")


class NeedsMany(_Model):
    """The script waits for several answers: alc_continue{session_id, responses}."""

    status: Literal["needs_response"]
    session_id: str
    queries: list[Query]


class Accepted(_Model):
    """A partial answer was taken; the pause waits for `remaining` more."""

    status: Literal["accepted"]
    remaining: int


class Completed(_Model):
    status: Literal["completed"]
    result: Any = Field(description="The script's first return value (for alc_advice: the strategy's ctx).")
    stats: dict[str, Any] = Field(description='Run statistics: "auto" (measured) and "custom" (alc.stats).')


class Failed(_Model):
    status: Literal["error"]
    error: str = Field(description="Why the script failed.")


class Cancelled(_Model):
    status: Literal["cancelled"]
    stats: dict[str, Any]


_FeedResult = NeedsOne | NeedsMany | Accepted | Completed | Failed | Cancelled


class FeedReply(RootModel[_FeedResult]):
    """Where a session stands after a call: needs_response, accepted, completed, error or
    cancelled (algocline's FeedResult)."""

    model_config = _object_root()


class EvalReply(RootModel[_FeedResult]):
    """alc_eval: the eval session's first FeedResult, plus the eval and card ids."""

    model_config = _object_root(
        {
            "properties": {
                "eval_id": {"type": "string", "description": "The eval's id (alc_eval_detail)."},
                "card_id": {
                    "type": ["string", "null"],
                    "description": "The card written when the eval completes (null without auto_card).",
                },
            },
            "required": ["eval_id"],
        }
    )


# --- status ------------------------------------------------------------------------------


class VariableNames(_Model):
    count: int
    names: list[str]


class SessionSnapshot(_Model):
    """One session as alc_status sees it."""

    session_id: str
    name: str | None = Field(default=None, description="The session's two-word name.")
    state: Literal["running", "paused", "terminal"]
    phase: str = Field(description="running, paused, completed, failed or cancelled.")
    live: bool = Field(description="Whether its VM is in memory (false: dormant, only the journal).")
    started_at: int | None = Field(default=None, description="Unix ms.")
    last_activity_at: int | None = Field(default=None, description="Unix ms.")
    metrics: dict[str, Any] = Field(
        description="elapsed_ms, llm_calls, rounds, tokens, recent_logs, progress, budget_remaining…"
    )
    variables: VariableNames | None = None
    pending_queries: int | None = Field(default=None, description="Unanswered queries of the pause.")
    pending: list[dict[str, Any]] | None = Field(default=None, description="As projected by pending_filter.")
    strategy: str | None = None
    journal_warning: str | None = None


class StatusListing(_Model):
    active_sessions: int
    sessions: list[SessionSnapshot]


class StatusReply(RootModel[SessionSnapshot | StatusListing]):
    """One session's snapshot (with session_id) or every active session's."""

    model_config = _object_root()


# --- history ------------------------------------------------------------------------------


class SessionRow(_Model):
    id: str
    name: str | None = None
    strategy: str | None = None
    status: str
    llm_calls: int | None = None
    rounds: int | None = None
    elapsed_ms: int | None = None
    notes_count: int | None = None
    task_preview: str | None = None
    created_at: int | None = None
    updated_at: int | None = None


class SessionList(_Model):
    sessions: list[SessionRow] = Field(description="Newest first.")


class AnsweredQuery(_Model):
    index: int = Field(description="The query_index alc_rewind takes.")
    pause: int
    query_id: str
    prompt: str
    system: str | None
    max_tokens: int | None
    response: str
    answered_at: int | None = None


class Note(_Model):
    at: int | None = None
    title: str | None
    content: str


class Transcript(SessionRow):
    """One session's header and a page of its answered queries, oldest first."""

    answered_queries: int
    queries: list[AnsweredQuery]
    next_cursor: int | None = Field(description="Pass as cursor for the next page; null when done.")
    notes: list[Note]
    pending: list[dict[str, Any]] | None = Field(
        default=None, description="On the last page: still unanswered."
    )
    result: Any = Field(default=None, description="Once finished: the script's result.")
    error: str | None = None
    stats: dict[str, Any] | None = None


class LogView(RootModel[Transcript | SessionList]):
    """The session list, or one session's transcript page."""

    model_config = _object_root()


class NoteAdded(_Model):
    session_id: str
    notes_count: int


class StatsReply(_Model):
    total_sessions: int
    strategies: dict[str, dict[str, Any]] = Field(description="Per strategy: counts, averages, totals.")


class LogDeleted(_Model):
    session_id: str
    name: str | None = None
    deleted: bool


# --- packages and the server ------------------------------------------------------------------


class Package(_Model):
    name: str
    path: str
    source: str = Field(description="ALC_PACKAGES_PATH, ALC_HOME or bundled.")
    active: bool = Field(description="False when an earlier package of the same name shadows it.")
    shadowed_by: str | None = Field(default=None, description="The directory of the active one.")
    # The package's own M.meta, as its Lua wrote it: any JSON.
    version: Any = None
    description: Any = None
    category: Any = None
    inputs: Any = Field(default=None, description="Its M.meta.inputs: the knobs alc_advice opts can set.")
    installed_from: Any = None
    error: str | None = Field(default=None, description="Why its meta could not be read.")


class PackageList(_Model):
    packages: list[Package]
    search_paths: list[dict[str, Any]]


class Replaced(_Model):
    name: str
    previous_source: Any = Field(description="Where the replaced package had come from, if recorded.")


class PackageInstalled(_Model):
    installed: list[str]
    replaced: list[Replaced]
    warnings: list[str] | None = Field(default=None, description="Installed packages that fail to load.")
    mode: str
    source: str
    packages_dir: str
    support: list[str] | None = Field(
        default=None,
        description="A collection's support folders (tools/, types/…), requireable, not packages.",
    )


class SpecFileReport(_Model):
    file: str
    tests: int
    passed: int
    seconds: float
    error: str | None = Field(default=None, description="Why the file stopped outside any test.")


class SpecResult(_Model):
    file: str
    name: str
    ok: bool
    seconds: float
    error: str | None = None


class SpecSummary(_Model):
    files: int
    tests: int
    passed: int
    failed: int
    file_errors: int
    seconds: float


class PackageTestReport(_Model):
    ok: bool = Field(description="Every test passed, at least one ran, and no file failed outside a test.")
    summary: SpecSummary
    files: list[SpecFileReport]
    results: list[SpecResult]
    base: Any = Field(description="The directory the specs' package.path and require resolve from.")


class PackageRemoved(_Model):
    removed: str
    path: str


class Info(_Model):
    version: str
    lua_version: str
    limits: dict[str, Any]
    sessions: dict[str, Any]
    durability: dict[str, Any]
    paths: dict[str, Any]
    search_paths: list[dict[str, Any]]
    sampling: dict[str, Any] = Field(description="ALC_SAMPLING, and whether ALC_REQUEST_STATE_KEY is set.")
    worker: dict[str, Any] = Field(description="This process as a session lease names it (owner, host, pid).")


# --- variables ------------------------------------------------------------------------------


class Variable(_Model):
    id: str
    name: str
    type: str = Field(description="string, integer, float, boolean, choice or json.")
    value: Any
    constraints: dict[str, Any]
    description: str | None
    metadata: dict[str, Any]
    version: int
    created_at: int | None = None
    updated_at: int | None = None


class VariablesListed(_Model):
    variables: list[Variable]


class VariablesFound(_Model):
    found: dict[str, Variable]
    missing: list[str]


class VariablesChanged(_Model):
    status: str = Field(description="applied, partial or rejected.")
    results: dict[str, dict[str, Any]] = Field(description='Per key: {"version"} or {"error"}.')


class VariablesDeleted(_Model):
    deleted: list[str]
    missing: list[str]


class VariablesImported(_Model):
    imported: list[str]


# --- evaluation -------------------------------------------------------------------------------


class EvalHistory(_Model):
    evals: list[dict[str, Any]] = Field(description="Newest first: ids, strategy, scenario, status, summary.")


class EvalDetail(_Model):
    eval_id: str
    session_id: str | None = None
    status: str | None = None
    strategy: str | None = None
    scenario: str | None = None
    card_id: str | None = None
    summary: dict[str, Any] | None = None
    request: Any = Field(default=None, description="What alc_eval was asked.")
    report: Any = Field(default=None, description="Per-case results and the summary (once finished).")
    stats: Any = None


class Comparison(_Model):
    """Welch's t-test of two evals' per-run scores (t and the effect sizes are null when
    neither side has any spread)."""

    a: dict[str, Any]
    b: dict[str, Any]
    test: str
    diff: float
    t: float | None = None
    df: float | None = None
    p_value: float | None = None
    ci_95_diff: list[float] | None = None
    cohen_d: float | None = None
    hedges_g: float | None = None
    significant: bool
    effect: str
    verdict: str
    note: str | None = None
    warning: str | None = None


class ScenarioList(_Model):
    scenarios: list[dict[str, Any]]


class ScenarioShown(_Model):
    name: str
    source: str = Field(description="The scenario's Lua source.")
    cases: list[dict[str, Any]] = Field(description="input, expected, tags.")
    bindings: list[dict[str, Any]] = Field(default=[], description="Graders, their scorers and weights.")


class ScenarioInstalled(_Model):
    installed: list[str]
    failures: list[dict[str, Any]]
    directory: str


class CardList(_Model):
    cards: list[dict[str, Any]]
    total: int
    offset: int | None = None


class Card(_Model):
    """An immutable eval result."""

    card_id: str
    cases: list[dict[str, Any]] = Field(default=[], description="Per case: runs, grades, scores.")
    summary: dict[str, Any] | None = Field(default=None, description="pass rate, mean, CI, pass@k, by tag.")


class AliasSet(_Model):
    alias: str
    card_id: str
    previous: str | None


class AliasList(_Model):
    aliases: list[dict[str, Any]]
