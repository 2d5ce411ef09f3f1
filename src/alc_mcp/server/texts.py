"""Tool descriptions and server instructions: what a host model reads to learn the loop."""

__all__ = [
    "ALC_ADVICE",
    "ALC_CANCEL",
    "ALC_CONTINUE",
    "ALC_INFO",
    "ALC_LOG_DELETE",
    "ALC_LOG_VIEW",
    "ALC_NOTE",
    "ALC_PKG_INSTALL",
    "ALC_PKG_LIST",
    "ALC_PKG_REMOVE",
    "ALC_PKG_TEST",
    "ALC_REWIND",
    "ALC_RUN",
    "ALC_STATS",
    "ALC_STATUS",
    "ALC_VARS_DELETE",
    "ALC_VARS_EXPORT",
    "ALC_VARS_GET",
    "ALC_VARS_IMPORT",
    "ALC_VARS_LIST",
    "ALC_VARS_SET",
    "INSTRUCTIONS",
]

INSTRUCTIONS = """\
alc-mcp runs Lua scripts that call an LLM through you. The loop:
1. Call alc_run (Lua code + optional ctx). The script runs until it needs an LLM answer.
2. The result is JSON. If "status" is "needs_response", answer the prompt(s) yourself, as the
   model being asked (follow "system" when present, stay within "max_tokens"), and call
   alc_continue with the session_id and your answer(s). Repeat.
   - one query: {"query_id": "q-0", "prompt": ...} -> alc_continue{session_id, response}
   - several:   {"queries": [{"id": "q-0", ...}, ...]} -> alc_continue{session_id,
     responses: [{query_id, response}, ...]} (or one at a time with query_id; you get
     "accepted" until the last one)
3. Stop when "status" is "completed" (see "result" and "stats"), "error" or "cancelled".
alc_status shows paused and running sessions; alc_cancel stops one; alc_info shows limits.
Sessions survive a server restart: just call alc_continue again. Any session_id argument
also accepts the session's name (e.g. "amber-falcon"). alc_log_view shows transcripts,
alc_rewind re-asks an earlier question so you can answer it differently.
"""

ALC_RUN = """\
Execute Lua code with optional JSON context (the `ctx` global).
Returns the script's first return value as JSON in `result` when it completes.
Lua code can call `alc.llm(prompt, opts)` / `alc.llm_batch(items)` to ask the host LLM (you):
the call then returns {"status":"needs_response","session_id":...,"prompt":...} and you answer
it with alc_continue. Script errors come back as {"status":"error","error":...}.
The script runs sandboxed (no files, processes or network) with memory and time limits."""

ALC_CONTINUE = """\
Continue a paused Lua execution by providing the host LLM's response.

When alc_run returns {"status":"needs_response", ...}, produce the answer to its prompt
(follow its `system` instructions) and call this tool to resume. Three modes:
- single:  {session_id, response} when exactly one query is pending;
- partial: {session_id, query_id, response} to answer one of several pending queries;
- batch:   {session_id, responses: [{query_id, response}, ...]} to answer several at once.
The result is the next needs_response, "accepted" (more answers still missing),
"completed" with result and stats, or "error"."""

ALC_STATUS = """\
Query active session status for external observation.

Without session_id: lists all active sessions (paused, waiting for answers, or running) with
state, metrics snapshot, progress and recent logs. With session_id: detailed status of one
session. pending_filter projects the pending queries ("meta", "preview", "full").
Completed sessions are not listed."""

ALC_CANCEL = """\
Cancel a paused or running session. The script stops at once and the session ends with
{"status":"cancelled","stats":...}. Use it to abandon a run you no longer need."""

ALC_INFO = """\
Show alc-mcp configuration and diagnostics: version, Lua version, the limits in force
(and the environment variables that raise them), data paths and package search paths."""

ALC_REWIND = """\
Rewind a session to an earlier question: everything from the given answered query on is
forgotten and that query is asked again (returns its needs_response), so you can answer it
differently and continue from there. query_index numbers the answered queries of the whole
session from 0, as listed by alc_log_view. Works on paused and finished sessions."""

ALC_LOG_VIEW = """\
View session history. Without session_id: the sessions, newest first (id, name, strategy,
status, llm_calls, elapsed, task preview). With session_id (or name): that session's
transcript, a page of `limit` queries from `cursor`; pass the returned next_cursor to get
the next page (null when done). Includes notes, and result and stats once finished."""

ALC_NOTE = """\
Add a note (feedback, an observation) to a session's history; alc_log_view shows it.
Returns the session's note count."""

ALC_STATS = """\
Aggregate usage across finished sessions: per-strategy counts, averages (elapsed, LLM
calls, rounds) and totals (characters and tokens). Filter by strategy or last N days."""

ALC_LOG_DELETE = """\
Delete a session and its whole journal for good (paused sessions can no longer be
continued). Finished sessions are otherwise kept for ALC_RETENTION_DAYS (30 by default)."""

ALC_ADVICE = """\
Apply a strategy package to a task (task is optional): runs require(strategy).run(ctx) with
ctx = opts plus task, and returns like alc_run (needs_response … completed; the result is the
whole ctx the strategy returns, with its answer in result.result). Bundled strategies include
"cot", "sc", "reflect", "panel", "triad", "rank", "ucb", "cove", "factscore", "decompose",
"distill", "cod", "sot", "maieutic", "calibrate"; alc_pkg_list shows every installed package."""

ALC_PKG_LIST = """\
List the packages require() and alc_advice can use, in search order: name, version,
description, category, where it comes from (ALC_PACKAGES_PATH, ALC_HOME or bundled), and
whether it is active or shadowed by an earlier package of the same name."""

ALC_PKG_INSTALL = """\
Install a package into ALC_HOME/packages from a local directory or a git URL (needs git).
A source with init.lua at its root is one package; one with */init.lua is a collection.
An existing package of the same name is replaced, and the result lists what was replaced."""

ALC_PKG_TEST = """\
Run a package's lust specs (spec/*_spec.lua; */spec/*_spec.lua in a collection) in the sandbox, \
under a session's limits: `package` (installed), `path` (a spec file, a package directory or a \
collection, under ALC_CODE_ROOTS) or inline `code`. Specs use the global `lust` \
(require("lust")): describe, it, expect(...).to.equal/exist/be.truthy/fail, before/after, spy. \
Returns every test (file, name, ok, error, seconds) and a summary. A spec's alc.state and \
cards are its own; alc.llm is not available (mock it)."""

ALC_PKG_REMOVE = """\
Remove a package from ALC_HOME/packages (packages from ALC_PACKAGES_PATH or bundled ones are
not touched)."""

ALC_VARS_LIST = """\
List a session's typed variables (the knobs its script declared with alc.vars.define): name,
type, value, constraints, description, metadata and version, oldest first; pattern filters
names with * and ? globs. Works on paused, hibernated and finished sessions."""

ALC_VARS_GET = """\
Get some of a session's variables by name or id: {"found": {...records}, "missing": [...]}."""

ALC_VARS_SET = """\
Change a paused session's variables; the script sees the new values at its next step. Each
value is checked against the variable's type and constraints. atomic=true applies all or
nothing; the result gives each variable's new version or why it was refused. Refused while
the script is running."""

ALC_VARS_DELETE = """\
Delete variables of a paused session by name or id."""

ALC_VARS_EXPORT = """\
Export a session's variables as JSON records (for alc_vars_import, into this or another session)."""

ALC_VARS_IMPORT = """\
Import variable records (as alc_vars_export gives them) into a paused session: all are
validated first and imported together, or none is. replace=true removes the others first."""
