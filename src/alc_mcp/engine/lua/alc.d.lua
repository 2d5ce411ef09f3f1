---@meta
-- LuaCATS definitions of the `alc.*` library of alc-mcp, for lua-language-server.
--
-- This file is never loaded by the server: it describes what a strategy sees at run
-- time (Layer 0 in engine/bridge.py and engine/stdlib/*.py, Layer 1 in
-- engine/lua/prelude.lua, the sandbox in engine/lua/sandbox.lua). Point your editor at
-- it with `"workspace.library": ["<path to this folder>"]` in .luarc.json, or copy it
-- into your strategy repository. tests/engine/test_types_file.py keeps it in sync with
-- the functions the runtime really installs.
--
-- Conventions that apply everywhere:
-- * A `string` argument also accepts a number, converted the way Lua prints it
--   (`alc.llm(42)` asks "42").
-- * Errors raised by Layer 0 are plain strings naming the function, raised at the
--   caller's line (`"alc_run:3: alc.math.mean: xs must be a non-empty array of numbers,
--   got an empty table"`), so `pcall` catches them and `err:match(...)` works.
-- * JSON null never becomes nil: it is a truthy userdata sentinel (`alc.Null`), so
--   `alc.json_decode('{"a":null}').a ~= nil`.
-- * A resource limit (memory, instructions, run time) or a cancellation cannot be
--   caught: `pcall` re-raises it.

-- ---------------------------------------------------------------------------
-- Shared types
-- ---------------------------------------------------------------------------

---The JSON null sentinel: a truthy userdata (`type(v) == "userdata"`), never nil.
---It is what JSON `null` decodes to, in `ctx`, `alc.json_decode`, `alc.state`, `alc.stats`
---and unset fields of `alc.budget_remaining()`. Encoding it gives `null` again.
---@class alc.Null: userdata

---A value that survives a round trip through JSON: nil, booleans, numbers, strings,
---the null sentinel and tables of those (arrays or string-keyed objects).
---@alias alc.Json nil|boolean|number|string|table|alc.Null

---Options of one LLM question. Fields of the wrong type silently fall back to their default.
---@class alc.LlmOpts
---@field system? string System prompt (used only when it is a string).
---@field max_tokens? integer Answer length limit for the host, 0..2^32-1 (default 1024).
---@field grounded? boolean Ask the host to verify the answer against sources (default false; Lua truthiness).
---@field underspecified? boolean Tell the host the prompt may need clarifying (default false; Lua truthiness).

---One item of `alc.llm_batch`: a prompt plus the same options as `alc.llm`.
---@class alc.LlmBatchItem: alc.LlmOpts
---@field prompt string The question (required).

---Options of `alc.cache`: the LLM options (passed on to `alc.llm` as they are) plus cache controls.
---@class alc.CacheOpts: alc.LlmOpts
---@field cache_key? string Cache key to use instead of the fingerprint of prompt, system and max_tokens.
---@field cache_skip? boolean Bypass the cache: call `alc.llm` directly and store nothing.

---What `alc.cache_info()` returns.
---@class alc.CacheInfo
---@field entries integer Answers currently cached.
---@field hits integer Lookups answered from the cache since the session started (or the last clear).
---@field misses integer Lookups that had to ask the LLM.
---@field max_entries integer Capacity (256); the oldest entry is evicted first.

---What `alc.vote()` returns.
---@class alc.VoteResult
---@field winner string|nil The most frequent answer, `tostring`'d and trimmed (the first one seen wins a tie); nil for no answers.
---@field count integer How many answers were the winner (0 for no answers).
---@field total integer `#answers`.

---Options of `alc.chunk`. Sizes that are not non-negative integers silently mean the default.
---@class alc.ChunkOpts
---@field mode? "lines"|"chars" Window over lines (default; any other value means lines) or over Unicode characters.
---@field size? integer Lines or characters per chunk (default 50; 0 gives no chunks).
---@field overlap? integer Lines or characters shared by consecutive chunks (default 0; step = size - overlap, or 1 if overlap >= size).

---Options of `alc.match_enum`.
---@class alc.MatchEnumOpts
---@field threshold? number Minimum Jaro-Winkler similarity of the fuzzy fallback (default 0.7).

---Limits read from `ctx.budget`. Only non-negative integers count; with none of them set there is no budget.
---@class alc.BudgetLimits
---@field max_llm_calls? integer Questions the session may ask (a batch of n counts n).
---@field max_elapsed_ms? integer Wall time of the session, host think time included.
---@field max_tokens? integer Prompt plus answer tokens (estimated until the host reports usage).

---What `alc.budget_remaining()` returns: what is left of each limit, 0 at least; the null sentinel for a limit that is not set.
---@class alc.BudgetRemaining
---@field llm_calls integer|alc.Null
---@field elapsed_ms integer|alc.Null
---@field tokens integer|alc.Null

---Options of `alc.tuning`.
---@class alc.TuningOpts
---@field prefix? string Read the overrides from `ctx[prefix]` instead of `ctx` (a non-table value there is ignored with a warning).

---Options of `alc.parallel`.
---@class alc.ParallelOpts
---@field system? string System prompt for the items whose prompt_fn returned a string.
---@field max_tokens? integer max_tokens for the items whose prompt_fn returned a string.
---@field post_fn? fun(response: string, item: any, i: integer): any Maps each answer; `alc.parallel` then returns these values.

---Options of `alc.pipe`.
---@class alc.PipeOpts
---@field on_error? "abort"|"skip"|"continue" "abort" (default) lets a stage's error propagate; "skip" and "continue" (the same) log it, record it in `pipe_history` and go on with the ctx unchanged. Any other value is an error.
---@field on_stage? fun(i: integer, name: string, ctx: alc.Ctx) Called after each stage that succeeded.

---One entry of `ctx.pipe_history`, as `alc.pipe` records it.
---@class alc.PipeHistoryEntry
---@field strategy string Package name, or "(inline-i)" for a function stage.
---@field result? any The stage's `ctx.result` (on success).
---@field error? string The error text (a failed stage under on_error = "skip"/"continue").

---Options of `alc.fork`.
---@class alc.ForkOpts
---@field on_error? "skip"|"abort"|"fail" "abort" and "fail" raise if any child failed (after all have finished); anything else, the default included, reports failures in the results.

---One element of what `alc.fork` returns, in the order of the strategies.
---@class alc.ForkResult
---@field strategy string The package name.
---@field ok boolean Whether `run(ctx)` returned normally.
---@field result? any What `run(ctx)` returned, through JSON (when ok).
---@field error? string Why the child failed (when not ok).

---What `alc.math.histogram` returns.
---@class alc.Histogram
---@field counts integer[] Values per bin.
---@field edges number[] The bins + 1 bin edges, from min to max (the last bin is closed).

---What `alc.math.wilson_ci` returns.
---@class alc.Interval
---@field lower number
---@field upper number

---A seeded random stream from `alc.math.rng_create`. Opaque: it can only be passed back to `alc.math.*` (`tostring` gives "alc.math.rng").
---@class alc.MathRng: userdata

---The global `ctx`: the `ctx` argument of alc_run (or alc_advice) converted from JSON.
---When alc_run got no ctx, `ctx` is the null sentinel (a userdata), not a table.
---@class alc.Ctx
---@field task? string The task text (alc_advice always sets it; `alc.pipe` rewrites it between stages).
---@field _ns? string Namespace of `alc.state` for this session (default "default"); no "/", "\", ".." or NUL.
---@field budget? alc.BudgetLimits Limits checked before every `alc.llm`/`alc.llm_batch`.
---@field result? any Where a strategy puts its answer (package convention).
---@field pipe_history? alc.PipeHistoryEntry[] Set by `alc.pipe`.
---@field [string] any Anything else the caller passed.

---`M.meta` of a strategy package: alc_pkg_list shows version, description, category and inputs;
---the `alc://strategies/{name}/meta` resource and the bundled strategies' MCP prompts read paper and inputs too.
---@class alc.StrategyMeta
---@field name string Package name (by convention the folder name, which is what `require` uses).
---@field version? string e.g. "1.0.0".
---@field description? string One or two sentences: what the strategy does.
---@field category? string e.g. "selection".
---@field paper? alc.StrategyPaper The paper the strategy implements.
---@field related? alc.StrategyPaper[] Further reading.
---@field inputs? table<string, alc.StrategyInput> The ctx fields `run` reads, by name (`task` included).

---A reference in `M.meta.paper` / `M.meta.related`.
---@class alc.StrategyPaper
---@field title string
---@field authors? string
---@field year? integer
---@field url? string

---One entry of `M.meta.inputs`. MCP prompts list every input but `task` with its default and description.
---@class alc.StrategyInput
---@field type? string "string", "integer", "number", "boolean", "table"...
---@field required? boolean
---@field default? any Value used when ctx does not set it (pass the defaults to `alc.tuning`).
---@field description? string

---A strategy package: `<name>/init.lua` returns this table. alc_advice and `alc.fork` run
---`require(name).run(ctx)`; `alc.pipe` stages must return a ctx table (convention: set
---`ctx.result` and `return ctx`).
---@class alc.Strategy
---@field meta alc.StrategyMeta
---@field run fun(ctx: alc.Ctx): any

-- ---------------------------------------------------------------------------
-- Globals
-- ---------------------------------------------------------------------------

---The session's context (see `alc.Ctx`).
---@type alc.Ctx
ctx = {}

---The alc-mcp library: LLM calls, JSON, text helpers, statistics, persistent state, combinators.
---@class alc.Lib
alc = {}

---Persistent key-value state shared across sessions, per namespace (`ctx._ns`, default "default").
---Values must be JSON-serialisable. An invalid namespace raises `Invalid namespace: '<ns>'`.
---@class alc.StateLib
alc.state = {}

---Typed session variables: knobs the script and the host both read and change.
---@class alc.VarsLib
alc.vars = {}

---Custom metrics of the session (they appear in `stats.custom` of the result).
---@class alc.StatsLib
alc.stats = {}

---Immutable evaluation cards, in the same store the alc_card_* tools read. A card is
---written once (a second create of its id fails); its samples are rows, written once.
---@class alc.CardLib
alc.card = {}

---Seeded random streams and statistics. Arrays of numbers are Lua arrays of integers or
---floats (strings are not coerced); results are floats. Not bit-compatible with algocline's RNG.
---@class alc.MathLib
alc.math = {}

-- ---------------------------------------------------------------------------
-- LLM
-- ---------------------------------------------------------------------------

---Ask the host LLM one question and wait for the answer (one pause of the session).
---Raises `budget_exceeded: ...` when a `ctx.budget` limit is reached, or when prompt is not a string/number.
---@param prompt string
---@param opts? alc.LlmOpts
---@return string answer The host's answer, exactly as given.
function alc.llm(prompt, opts) end

---Ask several questions in one pause; the answers come back in input order.
---Raises `alc.llm_batch: empty items array`, or when an item is not a table or has no prompt. One budget check for the batch.
---@param items alc.LlmBatchItem[]
---@return string[] answers
function alc.llm_batch(items) end

---`alc.llm` memoised per session (at most 256 answers, oldest evicted first); logs debug "alc.cache: hit/miss <key>".
---The key is `opts.cache_key`, else `alc.fingerprint` of prompt, system and max_tokens (case and whitespace do not matter).
---@param prompt string
---@param opts? alc.CacheOpts
---@return string answer
function alc.cache(prompt, opts) end

---Entry count, hits, misses and capacity of the session's `alc.cache`.
---@return alc.CacheInfo
function alc.cache_info() end

---Empty the session's `alc.cache` and reset its hit and miss counters.
function alc.cache_clear() end

---`alc.llm` with `grounded = true` (on a copy of opts): ask for an answer verified against sources.
---@param claim string
---@param opts? alc.LlmOpts
---@return string answer
function alc.ground(claim, opts) end

---`alc.llm` with `underspecified = true` (on a copy of opts): tell the host the prompt may need clarifying.
---@param prompt string
---@param opts? alc.LlmOpts
---@return string answer
function alc.specify(prompt, opts) end

---`alc.llm` that never raises: on an error (budget included) it logs warn "alc.llm_safe: <err>" and returns default.
---Resource limits and cancellation still stop the script.
---@generic D
---@param prompt string
---@param opts? alc.LlmOpts
---@param default? D
---@return string|D
function alc.llm_safe(prompt, opts, default) end

---Ask for JSON and parse it with `alc.json_extract`; if that fails, ask once more with a fix-the-JSON prompt.
---The retry uses the system prompt "Output ONLY valid JSON. No markdown fences, no explanation.".
---@param prompt string
---@param opts? alc.LlmOpts
---@return table|nil parsed The decoded object or array, nil if both answers failed to parse.
---@return string raw The last answer received.
function alc.llm_json(prompt, opts) end

-- ---------------------------------------------------------------------------
-- Data and JSON
-- ---------------------------------------------------------------------------

---Encode a value as compact JSON with sorted object keys (an empty table is `{}`, a decoded `[]` stays `[]`).
---Raises for functions, threads, userdata other than null, recursive tables, non-string keys in an object, or nesting deeper than 200.
---@param value alc.Json
---@return string json
function alc.json_encode(value) end

---Decode strict JSON; null becomes the `alc.Null` sentinel and arrays keep encoding as arrays.
---Raises `alc.json_decode: invalid JSON: ...`.
---@param text string
---@return alc.Json value
function alc.json_decode(text) end

---Find JSON in an LLM answer: the whole text, then a ```json / ``` fenced block, then any balanced {...} or [...].
---Only an object or array counts; returns nil if nothing parses or raw is not a string. Never raises.
---@param raw string
---@return table|nil value
function alc.json_extract(raw) end

-- ---------------------------------------------------------------------------
-- Combinators
-- ---------------------------------------------------------------------------

---Call fn(item, i) on each element (in `ipairs` order) and collect the results.
---@generic T, R
---@param items T[]
---@param fn fun(item: T, i: integer): R
---@return R[]
function alc.map(items, fn) end

---Fold the array: acc = fn(acc, item, i); without init, starts from items[1] at index 2.
---@generic T, A
---@param items T[]
---@param fn fun(acc: A, item: T, i: integer): A
---@param init? A
---@return A
function alc.reduce(items, fn, init) end

---Keep the elements for which fn(item, i) is truthy, in order.
---@generic T
---@param items T[]
---@param fn fun(item: T, i: integer): any
---@return T[]
function alc.filter(items, fn) end

---Majority vote over `tostring`'d, trimmed answers; ties go to the answer seen first.
---@param answers any[]
---@return alc.VoteResult
function alc.vote(answers) end

---Build one prompt per item and send them all in one `alc.llm_batch` (a single pause).
---prompt_fn returns a prompt string (opts.system and opts.max_tokens are added) or a full batch item.
---Raises `alc.parallel: items must be a non-empty array`, `... prompt_fn must be a function`,
---`... prompt_fn returned table without .prompt at index <i>`, `... prompt_fn must return string or table, got <type> at index <i>`.
---@param items any[]
---@param prompt_fn fun(item: any, i: integer): string|alc.LlmBatchItem
---@param opts? alc.ParallelOpts
---@return any[] results The answers, or what opts.post_fn made of them.
function alc.parallel(items, prompt_fn, opts) end

-- ---------------------------------------------------------------------------
-- Text
-- ---------------------------------------------------------------------------

---Split text into windows of lines (re-joined with "\n"; "\r\n" handled) or of Unicode characters.
---Raises when opts is given but is not a table.
---@param text string
---@param opts? alc.ChunkOpts
---@return string[] chunks Empty for empty text or size 0.
function alc.chunk(text, opts) end

---First run of digits in `tostring(str)`, clamped to 1..10 ("-3" gives 3); default (5) when there is none.
---@param str any
---@param default? number
---@return number score
function alc.parse_score(str, default) end

---`tonumber` of the first match of pattern (default "%-?%d+%.?%d*"); nil for no match or a non-string text.
---@param text string
---@param pattern? string A Lua pattern; its first capture (or whole match) is converted.
---@return number|nil
function alc.parse_number(text, pattern) end

---DJB2 hash (8 hex digits) of the text after ASCII lower-casing, whitespace collapsing and trimming.
---@param str any Converted with `tostring`.
---@return string hash e.g. "3551c8c1" for "Hello  World ".
function alc.fingerprint(str) end

-- ---------------------------------------------------------------------------
-- Matching
-- ---------------------------------------------------------------------------

---Which candidate the text names (rightmost exact mention, else best fuzzy match), or nil.
---Exact: the candidate whose last case-insensitive occurrence starts furthest right (the earlier candidate on a tie).
---Fuzzy: the best Jaro-Winkler similarity >= opts.threshold between a word of the text and a candidate.
---Raises when candidates is not an array of strings.
---@param text string
---@param candidates string[]
---@param opts? alc.MatchEnumOpts
---@return string|nil candidate The candidate as given (original case).
function alc.match_enum(text, candidates, opts) end

---True or false from the rightmost whole yes/no word of the text (case-insensitive), or nil.
---Yes words: approved, yes, ok, accept, pass, confirm, agree, true, lgtm.
---No words: rejected, no, deny, block, fail, refuse, disagree, false ("failed" is not "fail").
---@param text string
---@return boolean|nil
function alc.match_bool(text) end

-- ---------------------------------------------------------------------------
-- Logs, time, progress, budget, stats
-- ---------------------------------------------------------------------------

---Add an entry to the session log (source "alc.log"); shown by alc_status and alc_log_view.
---@param level string Free-form; "error", "warn", "info", "debug" are the usual ones.
---@param message string
function alc.log(level, message) end

---Wall-clock time in seconds since the Unix epoch, as a float (the recorded value on replay).
---@return number seconds
function alc.time() end

---Report progress, shown by alc_status (each call replaces the previous one; a no-op in fork children).
---Raises when step or total is not a non-negative integer.
---@param step integer
---@param total integer 0 means unknown.
---@param message? string
function alc.progress(step, total, message) end

---What is left of the `ctx.budget` limits, or nil when the session has no budget.
---@return alc.BudgetRemaining|nil
function alc.budget_remaining() end

---False once a `ctx.budget` limit (llm_calls, elapsed_ms or tokens) is used up; true when there is no budget.
---@return boolean
function alc.budget_check() end

---Merge ctx overrides (or ctx[opts.prefix]) into a strategy's defaults; returns a new table.
---Only keys of defaults are read; nested objects merge, arrays and scalars replace, null keeps the default,
---`_schema` is dropped. A defaults that is not a table is returned as it is.
---@generic T
---@param defaults T
---@param ctx? table
---@param opts? alc.TuningOpts
---@return T
function alc.tuning(defaults, ctx, opts) end

---Record a custom metric (any JSON value; it appears in `stats.custom`). Overwrites the previous value.
---@param key string
---@param value alc.Json
function alc.stats.record(key, value) end

---A custom metric recorded in this session (or this fork child), or nil.
---@param key string
---@return alc.Json
function alc.stats.get(key) end

-- ---------------------------------------------------------------------------
-- Session variables (typed, constrained, versioned; the host sees and steers them)
-- ---------------------------------------------------------------------------

---@alias alc.VarType "string"|"integer"|"float"|"boolean"|"choice"|"json"

---@class alc.VarConstraints
---@field min? number integer/float: lowest allowed value
---@field max? number integer/float: highest allowed value
---@field min_length? integer string: fewest characters
---@field max_length? integer string: most characters
---@field pattern? string string: a regular expression the value must match
---@field choices? string[] choice: the allowed values (required)
---@field max_size? integer json: most bytes of the compact JSON value

---@class alc.VarDefineOpts
---@field constraints? alc.VarConstraints
---@field description? string shown to the host with the variable
---@field metadata? table<string, any>

---@class alc.Variable
---@field id string "var_<name>_<n>"
---@field name string
---@field type alc.VarType
---@field value any
---@field constraints alc.VarConstraints
---@field description string|nil
---@field metadata table<string, any> source ("lua" or "host"), reason, …
---@field version integer 0 when defined, +1 per update
---@field created_at integer unix ms
---@field updated_at integer unix ms

---Define a variable (a host preset passed as alc_run/alc_advice vars replaces initial); returns its id. Raises on an unknown type, a wrong value, a broken constraint or a name already defined.
---@param name string
---@param type alc.VarType
---@param initial any
---@param opts? alc.VarDefineOpts
---@return string id
function alc.vars.define(name, type, initial, opts) end

---The current value of a variable (by name or id); raises if it does not exist.
---@param name_or_id string
---@return any
function alc.vars.get(name_or_id) end

---The whole record of a variable (value, type, constraints, description, metadata, version).
---@param name_or_id string
---@return alc.Variable
function alc.vars.info(name_or_id) end

---Change a variable's value (checked against its type and constraints; version + 1); returns the new version.
---@param name_or_id string
---@param value any
---@param metadata? table<string, any>
---@return integer version
function alc.vars.set(name_or_id, value, metadata) end

---Every variable, oldest first, optionally filtered by a glob on names (`*`, `?`).
---@param pattern? string
---@return alc.Variable[]
function alc.vars.list(pattern) end

---Several values at once: `{found = {name = value}, missing = {names}}`.
---@param names string[]
---@return {found: table<string, any>, missing: string[]}
function alc.vars.get_many(names) end

---Several updates: with `{atomic = true}` all apply or none (raises listing every failure); otherwise each key maps to true or its error.
---@param updates table<string, any>
---@param opts? {atomic?: boolean}
---@return table<string, true|string>
function alc.vars.set_many(updates, opts) end

---Delete a variable; raises if it does not exist.
---@param name_or_id string
---@return true
function alc.vars.delete(name_or_id) end

---Whether a variable exists.
---@param name_or_id string
---@return boolean
function alc.vars.has(name_or_id) end

-- ---------------------------------------------------------------------------
-- State (persistent, shared across sessions)
-- ---------------------------------------------------------------------------

---The stored value, else default (nil). A key stored as JSON null returns the null sentinel, not default.
---@param key string
---@param default? any
---@return alc.Json|any
function alc.state.get(key, default) end

---Store a JSON value (insert or replace). `set(key, nil)` stores null; it does not delete.
---@param key string
---@param value alc.Json
function alc.state.set(key, value) end

---The keys of the namespace, sorted.
---@return string[]
function alc.state.keys() end

---Delete a key; true if it existed.
---@param key string
---@return boolean existed
function alc.state.delete(key) end

---Whether the key is stored (a stored null counts).
---@param key string
---@return boolean
function alc.state.has(key) end

---Store the value only if the key is absent; true if it stored.
---@param key string
---@param value alc.Json
---@return boolean stored
function alc.state.set_nx(key, value) end

---Atomically add delta (1) to the stored number, or to default (0) if the key is absent or null; stores and returns a float.
---Raises `incr: value at '<key>' is not a number`, or when delta or default is not a number.
---@param key string
---@param delta? number
---@param default? number
---@return number value
function alc.state.incr(key, delta, default) end

---Read (with default), apply fn, write; returns the new value. Not atomic across sessions.
---@param key string
---@param fn fun(current: any): alc.Json
---@param default? any
---@return alc.Json value
function alc.state.update(key, fn, default) end

-- ---------------------------------------------------------------------------
-- Math: random streams
-- ---------------------------------------------------------------------------

---A new random stream; the same integer seed gives the same sequence.
---Without a seed, one is drawn at random (and recorded, so a replayed session gets the same one).
---@param seed? integer
---@return alc.MathRng
function alc.math.rng_create(seed) end

---Uniform float in [0, 1).
---@param rng alc.MathRng
---@return number
function alc.math.rng_float(rng) end

---Uniform integer in [lo, hi], both ends included. Raises when lo > hi.
---@param rng alc.MathRng
---@param lo integer
---@param hi integer
---@return integer
function alc.math.rng_int(rng, lo, hi) end

---Normal sample. Raises when stddev is negative.
---@param rng alc.MathRng
---@param mean? number Default 0.
---@param stddev? number Default 1.
---@return number
function alc.math.rng_normal(rng, mean, stddev) end

---Beta(alpha, beta) sample in [0, 1]. Raises unless both are positive.
---@param rng alc.MathRng
---@param alpha number
---@param beta number
---@return number
function alc.math.rng_beta(rng, alpha, beta) end

---Gamma(shape, scale) sample. Raises unless shape and scale are positive.
---@param rng alc.MathRng
---@param shape number
---@param scale? number Default 1.
---@return number
function alc.math.rng_gamma(rng, shape, scale) end

---Exponential sample with the given rate (mean 1/rate). Raises unless rate is positive.
---@param rng alc.MathRng
---@param rate? number Default 1.
---@return number
function alc.math.rng_exponential(rng, rate) end

---A shuffled copy of the array (the argument is left unchanged).
---@generic T
---@param rng alc.MathRng
---@param array T[]
---@return T[]
function alc.math.shuffle(rng, array) end

---n elements drawn uniformly with replacement. Raises for a negative n, or n > 0 with an empty array.
---@generic T
---@param rng alc.MathRng
---@param array T[]
---@param n? integer Default #array.
---@return T[]
function alc.math.sample_with_replacement(rng, array, n) end

-- ---------------------------------------------------------------------------
-- Math: descriptive statistics (xs: a non-empty array of numbers)
-- ---------------------------------------------------------------------------

---Sum of the numbers (compensated summation).
---@param xs number[]
---@return number
function alc.math.sum(xs) end

---Arithmetic mean.
---@param xs number[]
---@return number
function alc.math.mean(xs) end

---Median (50th percentile, interpolated).
---@param xs number[]
---@return number
function alc.math.median(xs) end

---Sample variance (divides by n - 1). Needs at least 2 numbers.
---@param xs number[]
---@return number
function alc.math.variance(xs) end

---Sample standard deviation (n - 1). Needs at least 2 numbers.
---@param xs number[]
---@return number
function alc.math.stddev(xs) end

---p-th percentile, linear interpolation between closest ranks. Raises unless 0 <= p <= 100.
---@param xs number[]
---@param p number
---@return number
function alc.math.percentile(xs, p) end

---Interquartile range (75th minus 25th percentile).
---@param xs number[]
---@return number
function alc.math.iqr(xs) end

---Smallest number (as a float).
---@param xs number[]
---@return number
function alc.math.min(xs) end

---Largest number (as a float).
---@param xs number[]
---@return number
function alc.math.max(xs) end

---1-based index of the largest number (the first one on ties).
---@param xs number[]
---@return integer
function alc.math.argmax(xs) end

---1-based index of the smallest number (the first one on ties).
---@param xs number[]
---@return integer
function alc.math.argmin(xs) end

---1-based ascending ranks; tied numbers share the average of their ranks.
---@param xs number[]
---@return number[]
function alc.math.rank(xs) end

---Counts in equal-width bins over [min, max]. Raises when bins < 1.
---@param xs number[]
---@param bins? integer Default 10.
---@return alc.Histogram
function alc.math.histogram(xs, bins) end

-- ---------------------------------------------------------------------------
-- Math: relationships (xs and ys: arrays of the same length, at least 2)
-- ---------------------------------------------------------------------------

---Sample covariance (n - 1).
---@param xs number[]
---@param ys number[]
---@return number
function alc.math.covariance(xs, ys) end

---Pearson correlation in [-1, 1]. Raises when xs or ys is constant.
---@param xs number[]
---@param ys number[]
---@return number
function alc.math.correlation(xs, ys) end

---Spearman rank correlation (Pearson on average ranks). Raises when xs or ys is constant.
---@param xs number[]
---@param ys number[]
---@return number
function alc.math.spearman(xs, ys) end

---Kendall's tau-b. Raises when xs or ys is constant.
---@param xs number[]
---@param ys number[]
---@return number
function alc.math.kendall(xs, ys) end

-- ---------------------------------------------------------------------------
-- Math: transforms and time series
-- ---------------------------------------------------------------------------

---Softmax of xs / temperature (sums to 1). Raises unless temperature is positive.
---@param xs number[]
---@param temperature? number Default 1.
---@return number[]
function alc.math.softmax(xs, temperature) end

---log(sum(exp(x))), computed without overflow.
---@param xs number[]
---@return number
function alc.math.logsumexp(xs) end

---xs divided by their sum. Raises when the sum is 0 or not finite.
---@param xs number[]
---@return number[]
function alc.math.normalize(xs) end

---Means of each full window of the given size (#xs - window + 1 values). Raises when window < 1.
---@param xs number[]
---@param window integer
---@return number[]
function alc.math.moving_average(xs, window) end

---Exponentially weighted moving average: s1 = x1, si = alpha*xi + (1-alpha)*s(i-1). Raises unless 0 < alpha <= 1.
---@param xs number[]
---@param alpha number
---@return number[]
function alc.math.ewma(xs, alpha) end

---Autocorrelation at the given lag. Raises unless 0 <= lag < #xs, or when xs is constant.
---@param xs number[]
---@param lag? integer Default 1.
---@return number
function alc.math.autocorrelation(xs, lag) end

-- ---------------------------------------------------------------------------
-- Math: intervals, information, distributions, special functions
-- ---------------------------------------------------------------------------

---Wilson score interval of a binomial proportion, clamped to [0, 1]. Raises unless n > 0 and 0 <= successes <= n.
---@param successes number
---@param n number
---@param z? number Default 1.96 (95 %).
---@return alc.Interval
function alc.math.wilson_ci(successes, n, z) end

---Shannon entropy of the weights ps (normalised to sum 1), in nats or in the given base. Raises for negative weights.
---@param ps number[]
---@param base? number Positive, not 1.
---@return number
function alc.math.entropy(ps, base) end

---KL divergence D(p || q) in nats (both normalised; inf where q is 0 and p is not).
---@param ps number[]
---@param qs number[] Same length as ps.
---@return number
function alc.math.kl_divergence(ps, qs) end

---Jensen-Shannon divergence in nats (both normalised).
---@param ps number[]
---@param qs number[] Same length as ps.
---@return number
function alc.math.js_divergence(ps, qs) end

---Normal probability density at x. Raises unless stddev is positive.
---@param x number
---@param mean? number Default 0.
---@param stddev? number Default 1.
---@return number
function alc.math.normal_pdf(x, mean, stddev) end

---Normal cumulative distribution at x. Raises unless stddev is positive.
---@param x number
---@param mean? number Default 0.
---@param stddev? number Default 1.
---@return number
function alc.math.normal_cdf(x, mean, stddev) end

---Normal quantile (inverse CDF) of p. Raises unless 0 < p < 1 and stddev is positive.
---@param p number
---@param mean? number Default 0.
---@param stddev? number Default 1.
---@return number
function alc.math.normal_ppf(p, mean, stddev) end

---Error function.
---@param x number
---@return number
function alc.math.erf(x) end

---Complementary error function, 1 - erf(x).
---@param x number
---@return number
function alc.math.erfc(x) end

---Gamma function. Raises at poles (0, negative integers) and on overflow.
---@param x number
---@return number
function alc.math.gamma(x) end

---log |Gamma(x)|. Raises at poles (0, negative integers).
---@param x number
---@return number
function alc.math.lgamma(x) end

-- ---------------------------------------------------------------------------
-- Packages: pipe and fork
-- ---------------------------------------------------------------------------

---Run strategies in sequence on a ctx, each stage's `result` becoming the next stage's `task`.
---Each stage gets a shallow copy of the previous stage's ctx and must return a ctx table; a non-nil `result`
---becomes the next `task` (JSON for a table). Returns the final ctx with `pipe_history`.
---Raises `alc.pipe: strategies must be a non-empty array`, `alc.pipe: ctx must be a table`,
---`alc.pipe: strategy[<i>] must be a string or function`, `alc.pipe: unknown on_error ...`, and under "abort"
---`alc.pipe: failed to load strategy '<n>': ...`, `alc.pipe: strategy '<n>' must export run(ctx)`,
---`alc.pipe: strategy '<n>' must return a table (ctx)` or the stage's own error.
---@param strategies (string|fun(ctx: alc.Ctx): alc.Ctx)[] Package names (`require`d) or functions.
---@param ctx alc.Ctx|table
---@param opts? alc.PipeOpts
---@return alc.Ctx
function alc.pipe(strategies, ctx, opts) end

---Run packages side by side, each in its own VM, their LLM questions sent to the host together.
---Each child runs `require(name).run(ctx)` with its own state namespace ("fork-0", "fork-1"...), cache and stats,
---and the session's budget. Results come in input order, once every child has finished.
---Raises `alc.fork: strategies must be a non-empty array`, `alc.fork: invalid strategy name '<n>' (only alphanumeric
---and underscore allowed)`, `alc.fork: ctx must be a table, got <type>`, and with on_error "abort"/"fail"
---`alc.fork: strategy '<n>' failed: <err>`.
---@param strategies string[] Package names matching [A-Za-z0-9_]+.
---@param ctx alc.Ctx|table Must be JSON-serialisable; each child gets its own copy.
---@param opts? alc.ForkOpts
---@return alc.ForkResult[]
function alc.fork(strategies, ctx, opts) end

---Like alc.fork, but each child runs its own package on its own ctx (the eval runner's way to run many
---cases in one pause). Package names may be dotted module names (`evalframe.child`).
---Raises `alc.fork_each: items must be a non-empty array of {strategy = name, ctx = table}`,
---`alc.fork_each: items[<i>]: invalid strategy name '<n>'`, `alc.fork_each: items[<i>].ctx must be a table, got <type>`.
---@param items {strategy: string, ctx: table}[]
---@param opts? alc.ForkOpts
---@return alc.ForkResult[]
function alc.fork_each(items, opts) end

---Summary statistics of an evalframe report (pass rate, mean, std dev, 95% CI, pass@k, by tag, tokens),
---computed by the same code as the alc_eval tool. Internal: used by `require("evalframe")`.
---@param report table A report as `evalframe.run` builds it (`cases[i].runs[j].score/passed`).
---@return table
function alc._eval_summary(report) end

---Run `strategy` on every case of `scenario` (evalframe, the alc_eval tool's runner: same
---summary for the same answers). `scenario` is a table or a name (a module `require`
---finds, else `<alc.dirs().scenarios>/<name>.lua`, else a bundled scenario).
---@param scenario string|table
---@param strategy string A package name.
---@param opts? {strategy_opts?: table, repeats?: integer, parallel?: integer, auto_card?: boolean, card_pkg?: string, model?: string}
---@return table report `{name, summary, cases, card_id?}`
function alc.eval(scenario, strategy, opts) end

---Internal: the text of a named scenario file the server reads for `alc.eval` (journaled).
---@param name string
---@return string|nil source
---@return string|nil chunkname
function alc._scenario_source(name) end

---The SHA-256 of `s` (bytes; numbers as Lua prints them) in lower-case hex: a fingerprint
---that is the same on every machine and in every version.
---@param s string|number
---@return string
function alc.hash(s) end

---The server's directories, so package code never needs os.getenv.
---@return {home: string, packages: string, scenarios: string}
function alc.dirs() end

-- ---------------------------------------------------------------------------
-- alc.card
-- ---------------------------------------------------------------------------

---Write a new card. `t.pkg.name` is required; `t.card_id` is optional (else
---`{pkg}_{model}_{YYYYMMDDTHHMMSS}_{hash6}`). Fails if a card with that id exists.
---@param t table Any JSON fields, plus `pkg = {name=}`, optional `model`, `scenario`, `card_id`.
---@return {card_id: string, created_at: integer, path: string}
function alc.card.create(t) end

---The card with this id, or nil.
---@param card_id string
---@return table|nil
function alc.card.get(card_id) end

---Brief rows of the cards, newest first, optionally of one `pkg`, `scenario` or `model`.
---@param filter? {pkg?: string, scenario?: string, model?: string}
---@return table[]
function alc.card.list(filter) end

---Whole cards matching `where` (Prisma-like: `{["stats.pass_rate"] = {gte = 0.8}}`, `_and`,
---`_or`, `_not`), sorted by `order_by` (`"-summary.mean"`), paged with `limit`/`offset`.
---@param query? {pkg?: string, where?: table, order_by?: string|string[], limit?: integer, offset?: integer}
---@return table[]
function alc.card.find(query) end

---Point `alias` at an existing card (an alias may move; cards never do).
---@param alias string|{alias: string, card_id: string}
---@param card_id? string
---@return {alias: string, card_id: string, previous: string|nil}
function alc.card.alias_set(alias, card_id) end

---Every alias and the card it names.
---@return {alias: string, card_id: string, updated_at: integer}[]
function alc.card.alias_list() end

---The card an alias names, or nil.
---@param alias string
---@return table|nil
function alc.card.get_by_alias(alias) end

---Write a card's samples (one row each). Fails if the card is missing or has samples already.
---@param card_id string
---@param samples table[]
---@return {card_id: string, count: integer}
function alc.card.write_samples(card_id, samples) end

---A card's samples in order, optionally filtered by `where` and paged.
---@param card_id string
---@param opts? {offset?: integer, limit?: integer, where?: table}
---@return table[]
function alc.card.read_samples(card_id, opts) end
