"""alc.math: seeded random streams and statistics, through real sessions."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alc_mcp.config import Config
from alc_mcp.engine.stdlib.mathlib import percentile, ranks, softmax, wilson_ci
from tests.conftest import TEST_LIMITS, Host
from tests.durable.support import serve
from tests.stdlib.support import lua_error, result

pytestmark = pytest.mark.anyio

approx = pytest.approx

DRAWS = """
local r = alc.math.rng_create(ctx.seed)
local floats, ints = {}, {}
for i = 1, 20 do floats[i] = alc.math.rng_float(r) end
for i = 1, 20 do ints[i] = alc.math.rng_int(r, -1000, 1000) end
return {floats = floats, ints = ints}
"""


# --------------------------------------------------------------------------- random streams


async def test_the_same_seed_gives_the_same_sequence_in_separate_sessions(tmp_path: Path) -> None:
    async with serve(Config(home=tmp_path / "one", limits=TEST_LIMITS)) as first:
        a = await result(first, DRAWS, ctx={"seed": 42})
    async with serve(Config(home=tmp_path / "two", limits=TEST_LIMITS)) as second:
        b = await result(second, DRAWS, ctx={"seed": 42})
        c = await result(second, DRAWS, ctx={"seed": 43})
    assert a == b
    assert a["floats"] != c["floats"]
    assert a["ints"] != c["ints"]
    assert all(0.0 <= x < 1.0 for x in a["floats"])
    assert all(-1000 <= n <= 1000 for n in a["ints"])


async def test_streams_are_independent(host: Host) -> None:
    code = """
    local a, b = alc.math.rng_create(7), alc.math.rng_create(7)
    local x = {alc.math.rng_float(a), alc.math.rng_float(a)}
    local y = {alc.math.rng_float(b)}
    local c = alc.math.rng_create(7)
    alc.math.rng_float(c)
    return {x[1] == y[1], alc.math.rng_float(c) == x[2], alc.math.rng_float(b) == x[2]}
    """
    assert await result(host, code) == [True, True, True]


async def test_seeds_are_taken_as_u64(host: Host) -> None:
    code = """
    local function first(seed) return alc.math.rng_float(alc.math.rng_create(seed)) end
    return {first(-1) ~= first(1), first(-1) == first(0xFFFFFFFFFFFFFFFF), first(3.0) == first(3),
            first(math.maxinteger) ~= first(math.mininteger)}
    """
    assert await result(host, code) == [True, True, True, True]


async def test_rng_int_is_inclusive_and_covers_the_range(host: Host) -> None:
    code = """
    local r = alc.math.rng_create(1)
    local seen, low, high = {}, math.huge, -math.huge
    for _ = 1, 2000 do
        local n = alc.math.rng_int(r, 1, 6)
        assert(math.type(n) == "integer")
        seen[n] = (seen[n] or 0) + 1
        low, high = math.min(low, n), math.max(high, n)
    end
    local keys = {}
    for k in pairs(seen) do keys[#keys + 1] = k end
    table.sort(keys)
    local negative = {}
    for i = 1, 200 do negative[alc.math.rng_int(r, -2, 0) + 3] = true end
    return {keys = keys, low = low, high = high, single = alc.math.rng_int(r, 5, 5),
            negative = #negative, floats = alc.math.rng_int(r, 2.0, 2.0)}
    """
    assert await result(host, code) == {
        "keys": [1, 2, 3, 4, 5, 6],
        "low": 1,
        "high": 6,
        "single": 5,
        "negative": 3,
        "floats": 2,
    }


async def test_rng_float_is_in_the_unit_interval_and_spread(host: Host) -> None:
    code = """
    local r = alc.math.rng_create(99)
    local xs = {}
    for i = 1, 2000 do xs[i] = alc.math.rng_float(r) end
    return {min = alc.math.min(xs), max = alc.math.max(xs), mean = alc.math.mean(xs), kind = math.type(xs[1])}
    """
    got = await result(host, code)
    assert 0.0 <= got["min"] < 0.01 and 0.99 < got["max"] < 1.0
    assert got["mean"] == approx(0.5, abs=0.03)
    assert got["kind"] == "float"


async def test_rng_errors(host: Host) -> None:
    cases = {
        "alc.math.rng_float(5)": "rng must be a generator from alc.math.rng_create, got number",
        "alc.math.rng_float({})": "rng must be a generator from alc.math.rng_create, got table",
        "alc.math.rng_float()": "rng must be a generator from alc.math.rng_create, got nil",
        "alc.math.rng_int(nil, 1, 2)": "rng must be a generator",
        "alc.math.rng_int(alc.math.rng_create(1), 3, 1)": "lo must not exceed hi, got 3 > 1",
        "alc.math.rng_int(alc.math.rng_create(1), 1.5, 3)": "lo must be an integer, got number 1.5",
        "alc.math.rng_int(alc.math.rng_create(1), 1)": "hi must be an integer, got nil",
        "alc.math.rng_create(1.5)": "seed must be an integer, got number 1.5",
        'alc.math.rng_create("7")': "seed must be an integer, got string",
        "alc.math.rng_beta(alc.math.rng_create(1), 0, 1)": "alpha must be a positive number",
        "alc.math.shuffle(alc.math.rng_create(1), 3)": "array must be an array, got number",
    }
    for call, message in cases.items():
        name = call.split("(")[0]
        assert f"{name}: {message}" in await lua_error(host, f"return {call}"), call


async def test_a_stream_is_opaque(host: Host) -> None:
    code = "local r = alc.math.rng_create(1); return {type(r), tostring(r)}"
    assert await result(host, code) == ["userdata", "alc.math.rng"]
    assert "not accessible" in await lua_error(host, "local r = alc.math.rng_create(1); return r.random")
    assert "unsupported value type" in await lua_error(host, "return {alc.math.rng_create(1)}")


async def test_unseeded_streams_differ(host: Host) -> None:
    code = """
    local a, b = alc.math.rng_create(), alc.math.rng_create()
    return {alc.math.rng_float(a), alc.math.rng_float(b)}
    """
    first = await result(host, code)
    second = await result(host, code)
    assert first[0] != first[1]
    assert first != second


async def test_an_unseeded_stream_replays_after_a_restart(tmp_path: Path) -> None:
    config = Config(home=tmp_path, limits=TEST_LIMITS)
    code = """
    local r = alc.math.rng_create()
    local a = alc.math.rng_float(r)
    local answer = alc.llm("first draw " .. string.format("%.17g", a))
    return {a = a, b = alc.math.rng_float(r), answer = answer}
    """
    async with serve(config) as host:
        paused = await host.run(code)
        assert paused["status"] == "needs_response", paused
        first = float(paused["prompt"].removeprefix("first draw "))
    async with serve(config) as host:
        done = await host.ok("alc_continue", session_id=paused["session_id"], response="ok")
    assert done["status"] == "completed", done
    assert done["result"]["a"] == first
    assert done["result"]["answer"] == "ok"
    assert 0.0 <= done["result"]["b"] < 1.0


async def test_distribution_samplers_are_seeded(host: Host) -> None:
    code = """
    local function draws(seed)
        local r = alc.math.rng_create(seed)
        local out = {}
        for i = 1, 200 do
            out[#out + 1] = alc.math.rng_normal(r, 10, 2)
            out[#out + 1] = alc.math.rng_beta(r, 2, 5)
            out[#out + 1] = alc.math.rng_gamma(r, 2)
            out[#out + 1] = alc.math.rng_exponential(r, 4)
        end
        return out
    end
    local a, b = draws(5), draws(5)
    local same = true
    for i = 1, #a do same = same and a[i] == b[i] end
    local normals, betas, gammas, exps = {}, {}, {}, {}
    for i = 1, #a, 4 do
        normals[#normals + 1] = a[i]; betas[#betas + 1] = a[i + 1]
        gammas[#gammas + 1] = a[i + 2]; exps[#exps + 1] = a[i + 3]
    end
    return {same = same, normal = alc.math.mean(normals), beta_min = alc.math.min(betas),
            beta_max = alc.math.max(betas), gamma = alc.math.mean(gammas), exp = alc.math.mean(exps),
            std_normal = alc.math.rng_normal(alc.math.rng_create(1))}
    """
    got = await result(host, code)
    assert got["same"] is True
    assert got["normal"] == approx(10, abs=0.5)
    assert got["beta_min"] > 0 and got["beta_max"] < 1
    assert got["gamma"] == approx(2, abs=0.4)
    assert got["exp"] == approx(0.25, abs=0.06)
    assert isinstance(got["std_normal"], float)


async def test_shuffle_and_sample_with_replacement(host: Host) -> None:
    code = """
    local xs = {"a", "b", "c", "d", "e", "f", "g", "h"}
    local t = {}
    local s1 = alc.math.shuffle(alc.math.rng_create(3), xs)
    local s2 = alc.math.shuffle(alc.math.rng_create(3), xs)
    local s3 = alc.math.shuffle(alc.math.rng_create(4), xs)
    local tables = alc.math.shuffle(alc.math.rng_create(3), {t, t})
    local sample = alc.math.sample_with_replacement(alc.math.rng_create(3), {1, 2, 3}, 50)
    local seen = {}
    for _, v in ipairs(sample) do seen[v] = true end
    return {
        s1 = s1, same = table.concat(s1) == table.concat(s2), differs = table.concat(s1) ~= table.concat(s3),
        original = xs, identity = tables[1] == t, n = #sample, all = seen[1] and seen[2] and seen[3],
        default_n = #alc.math.sample_with_replacement(alc.math.rng_create(3), xs),
        empty = alc.json_encode(alc.math.shuffle(alc.math.rng_create(3), {})),
        none = alc.json_encode(alc.math.sample_with_replacement(alc.math.rng_create(3), {}, 0)),
    }
    """
    got = await result(host, code)
    assert sorted(got["s1"]) == list("abcdefgh")
    assert got["same"] is True and got["differs"] is True
    assert got["original"] == list("abcdefgh")  # the input is not shuffled in place
    assert got["identity"] is True
    assert got["n"] == 50 and got["all"] is True
    assert got["default_n"] == 8
    assert got["empty"] == "[]" and got["none"] == "[]"
    message = await lua_error(host, "return alc.math.sample_with_replacement(alc.math.rng_create(1), {}, 2)")
    assert "alc.math.sample_with_replacement: array must not be empty" in message


# --------------------------------------------------------------------------- descriptive statistics


async def test_descriptive_statistics_hand_computed(host: Host) -> None:
    code = """
    local m = alc.math
    local v = {2, 4, 4, 4, 5, 5, 7, 9}
    return {
        sum = m.sum({1, 2, 3, 4}), mean = m.mean({1, 2, 3, 4}),
        median_odd = m.median({3, 1, 2}), median_even = m.median({4, 1, 3, 2}),
        variance = m.variance(v), stddev = m.stddev(v), var2 = m.variance({1, 3}),
        min = m.min({3, -1.5, 2}), max = m.max({3, -1.5, 2}),
        p0 = m.percentile({1, 2, 3, 4, 5}, 0), p100 = m.percentile({1, 2, 3, 4, 5}, 100),
        p25 = m.percentile({5, 4, 3, 2, 1}, 25), p10 = m.percentile({1, 2, 3, 4, 5}, 10),
        p50 = m.percentile({10, 20, 30, 40}, 50), single = m.percentile({7}, 33),
        iqr = m.iqr({1, 2, 3, 4, 5, 6, 7, 8}),
        argmax = m.argmax({1, 5, 5, 2}), argmin = m.argmin({3, 1, 1}),
        rank = m.rank({10, 20, 20, 5}),
        types = {math.type(m.sum({1, 2})), math.type(m.min({1, 2})), math.type(m.argmax({1, 2}))},
    }
    """
    got = await result(host, code)
    assert got["sum"] == 10.0 and got["mean"] == 2.5
    assert got["median_odd"] == 2.0 and got["median_even"] == 2.5
    assert got["variance"] == approx(32 / 7)  # sample variance: squared deviations 32, n - 1 = 7
    assert got["stddev"] == approx(math.sqrt(32 / 7))
    assert got["var2"] == 2.0
    assert got["min"] == -1.5 and got["max"] == 3.0
    assert (got["p0"], got["p100"], got["p25"], got["p10"]) == (1.0, 5.0, 2.0, approx(1.4))
    assert got["p50"] == 25.0 and got["single"] == 7.0
    assert got["iqr"] == approx(6.25 - 2.75)
    assert got["argmax"] == 2 and got["argmin"] == 2
    assert got["rank"] == [2.0, 3.5, 3.5, 1.0]
    assert got["types"] == ["float", "float", "integer"]


async def test_histogram(host: Host) -> None:
    code = """
    return {alc.math.histogram({1, 2, 2, 3, 4}, 3), alc.math.histogram({5, 5}, 2),
            #alc.math.histogram({1, 2, 3}).counts}
    """
    got = await result(host, code)
    assert got[0] == {"counts": [1, 2, 2], "edges": [1.0, 2.0, 3.0, 4.0]}
    assert got[1] == {"counts": [0, 2], "edges": [4.5, 5.0, 5.5]}
    assert got[2] == 10


async def test_relationships_hand_computed(host: Host) -> None:
    code = """
    local m = alc.math
    return {
        cov_same = m.covariance({1, 2, 3}, {1, 2, 3}), cov = m.covariance({1, 2, 3, 4}, {2, 4, 6, 8}),
        r_line = m.correlation({1, 2, 3, 4}, {2, 4, 6, 8}), r_down = m.correlation({1, 2, 3}, {3, 2, 1}),
        r = m.correlation({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}),
        rho_ties = m.spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}),
        rho_monotone = m.spearman({1, 2, 3, 4}, {1, 4, 9, 16}),
        tau = m.kendall({1, 2, 3}, {1, 3, 2}), tau_perfect = m.kendall({1, 2, 3}, {10, 20, 30}),
    }
    """
    got = await result(host, code)
    assert got["cov_same"] == 1.0
    assert got["cov"] == approx(10 / 3)
    assert got["r_line"] == 1.0 and got["r_down"] == -1.0
    assert got["r"] == approx(6 / math.sqrt(60))
    assert got["rho_ties"] == approx(8 / math.sqrt(95))  # y ranks 1, 2, 3.5, 5, 3.5
    assert got["rho_monotone"] == 1.0
    assert got["tau"] == approx(1 / 3) and got["tau_perfect"] == 1.0


async def test_transforms_hand_computed(host: Host) -> None:
    code = """
    local m = alc.math
    return {
        softmax = m.softmax({1, 2, 3}), even = m.softmax({0, 0}),
        tempered = m.softmax({0, 2 * math.log(3)}, 2), huge = m.softmax({1000, 1000, 0}),
        normalize = m.normalize({1, 3}), moving = m.moving_average({1, 2, 3, 4, 5}, 3),
        too_wide = alc.json_encode(m.moving_average({1, 2}, 3)), ewma = m.ewma({1, 2, 3}, 0.5),
        acf = m.autocorrelation({1, 2, 3, 4}), acf0 = m.autocorrelation({1, 2, 3, 4}, 0),
        lse = m.logsumexp({0, 0}),
    }
    """
    got = await result(host, code)
    e = [math.exp(1), math.exp(2), math.exp(3)]
    assert got["softmax"] == approx([x / sum(e) for x in e])
    assert got["even"] == [0.5, 0.5]
    assert got["tempered"] == approx([0.25, 0.75])
    assert got["huge"] == approx([0.5, 0.5, 0.0])
    assert got["normalize"] == [0.25, 0.75]
    assert got["moving"] == [2.0, 3.0, 4.0]
    assert got["too_wide"] == "[]"
    assert got["ewma"] == [1.0, 1.5, 2.25]
    assert got["acf"] == approx(1.25 / 5) and got["acf0"] == approx(1.0)
    assert got["lse"] == approx(math.log(2))


async def test_intervals_and_information_hand_computed(host: Host) -> None:
    code = """
    local m = alc.math
    return {
        half = m.wilson_ci(5, 10), zero = m.wilson_ci(0, 10), all = m.wilson_ci(10, 10),
        z1 = m.wilson_ci(5, 10, 1),
        coin = m.entropy({0.5, 0.5}), bits = m.entropy({0.5, 0.5}, 2), certain = m.entropy({1, 0}),
        counts = m.entropy({1, 1, 1, 1}),
        kl = m.kl_divergence({0.5, 0.5}, {0.25, 0.75}), kl_self = m.kl_divergence({1, 3}, {2, 6}),
        kl_inf = m.kl_divergence({1, 1}, {1, 0}) == math.huge,
        js = m.js_divergence({1, 0}, {0, 1}), js_swap = m.js_divergence({0, 1}, {1, 0}),
    }
    """
    got = await result(host, code)
    assert got["half"] == {"lower": approx(0.236590, abs=1e-6), "upper": approx(0.763410, abs=1e-6)}
    assert got["zero"]["lower"] == 0.0 and got["zero"]["upper"] == approx(0.277540, abs=1e-6)
    assert got["all"]["upper"] == 1.0 and got["all"]["lower"] == approx(1 - 0.277540, abs=1e-6)
    # z = 1: centre 0.5, margin 1/1.1 * sqrt(0.025 + 0.0025)
    margin = 1 / 1.1 * math.sqrt(0.0275)
    assert got["z1"] == {"lower": approx(0.5 - margin), "upper": approx(0.5 + margin)}
    assert got["coin"] == approx(math.log(2)) and got["bits"] == approx(1.0)
    assert got["certain"] == 0.0 and got["counts"] == approx(math.log(4))
    assert got["kl"] == approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert got["kl_self"] == approx(0.0, abs=1e-15)
    assert got["kl_inf"] is True
    assert got["js"] == approx(math.log(2)) and got["js_swap"] == approx(math.log(2))


async def test_distributions_and_special_functions(host: Host) -> None:
    code = """
    local m = alc.math
    return {m.normal_cdf(0), m.normal_cdf(1.959963984540054), m.normal_ppf(0.975), m.normal_cdf(12, 10, 2),
            m.normal_pdf(0), m.erf(0), m.erfc(0), m.gamma(5), m.lgamma(5)}
    """
    got = await result(host, code)
    assert got == approx(
        [
            0.5,
            0.975,
            1.959963984540054,
            statistics.NormalDist().cdf(1.0),
            1 / math.sqrt(2 * math.pi),
            0.0,
            1.0,
            24.0,
            math.log(24),
        ]
    )


async def test_statistics_errors(host: Host) -> None:
    cases = {
        "alc.math.mean({})": "xs must be a non-empty array of numbers",
        'alc.math.mean({1, "2"})': "xs must be a non-empty array of numbers (item 2 is string)",
        'alc.math.mean("1, 2")': "xs must be a non-empty array of numbers, got string",
        "alc.math.mean()": "xs must be a non-empty array of numbers, got nil",
        "alc.math.sum({1, true})": "xs must be a non-empty array of numbers (item 2 is boolean)",
        "alc.math.median({x = 1})": "xs must be a non-empty array of numbers",
        "alc.math.variance({1})": "xs must be an array of at least 2 numbers, got 1",
        "alc.math.stddev({1})": "xs must be an array of at least 2 numbers",
        "alc.math.percentile({1, 2}, 101)": "p must be between 0 and 100, got 101.0",
        "alc.math.percentile({1, 2})": "p must be a number, got nil",
        "alc.math.covariance({1, 2}, {1, 2, 3})": "xs and ys must have the same length, got 2 and 3",
        "alc.math.correlation({1, 1}, {1, 2})": "correlation is undefined when xs or ys is constant",
        "alc.math.spearman({1, 2}, {})": "ys must be an array of at least 2 numbers",
        "alc.math.softmax({1}, 0)": "temperature must be a positive number, got 0.0",
        "alc.math.wilson_ci(1, 0)": "n must be positive, got 0.0",
        "alc.math.wilson_ci(11, 10)": "successes must be between 0 and n, got 11.0",
        "alc.math.entropy({-1, 2})": "ps must not contain negative numbers",
        "alc.math.entropy({0, 0})": "ps must have a positive, finite sum",
        "alc.math.normalize({1, -1})": "xs must have a non-zero, finite sum",
        "alc.math.moving_average({1}, 0)": "window must be a positive integer, got 0",
        "alc.math.ewma({1}, 0)": "alpha must be in (0, 1], got 0.0",
        "alc.math.autocorrelation({1, 2}, 2)": "lag must be between 0 and #xs - 1, got 2",
        "alc.math.histogram({1}, 0)": "bins must be a positive integer, got 0",
        "alc.math.normal_ppf(1)": "p must be in (0, 1), got 1.0",
        "alc.math.gamma(0)": "math domain error",
    }
    for call, message in cases.items():
        name = call.split("(")[0]
        assert f"{name}: {message}" in await lua_error(host, f"return {call}"), call


async def test_hash_part_and_metamethods_are_ignored(host: Host) -> None:
    code = """
    local t = setmetatable({1, 2, 3, label = "x"}, {__index = function() return 100 end,
                                                    __len = function() return 10 end})
    return {alc.math.mean(t), alc.math.max({1, 2, math.huge})}
    """
    assert await result(host, code) == [2.0, None]  # math.huge encodes as JSON null


# --------------------------------------------------------------------------- properties of the pure functions

samples = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30)


@given(samples, st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotone_in_p_and_bounded(xs: list[float], p: float, q: float) -> None:
    low, high = sorted((p, q))
    assert percentile(xs, low) <= percentile(xs, high) + 1e-9
    assert min(xs) <= percentile(xs, low) <= max(xs)
    assert percentile(xs, 0) == min(xs) and percentile(xs, 100) == max(xs)


@given(samples)
def test_median_matches_the_standard_library(xs: list[float]) -> None:
    assert percentile(xs, 50) == approx(statistics.median(xs))


@given(samples)
def test_ranks_are_a_permutation_up_to_ties(xs: list[float]) -> None:
    r = ranks(xs)
    assert sum(r) == approx(len(xs) * (len(xs) + 1) / 2)
    for i in range(len(xs)):
        for j in range(len(xs)):
            if xs[i] < xs[j]:
                assert r[i] < r[j]
            elif xs[i] == xs[j]:
                assert r[i] == r[j]


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=20), st.floats(0.1, 10))
def test_softmax_is_a_distribution(xs: list[float], temperature: float) -> None:
    ps = softmax(xs, temperature)
    assert sum(ps) == approx(1.0)
    assert all(0.0 <= p <= 1.0 for p in ps)
    # The largest input gets the largest probability.
    assert ps[max(range(len(xs)), key=lambda i: xs[i])] == max(ps)


@given(st.integers(1, 10_000), st.data())
def test_wilson_interval_contains_the_estimate(n: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(0, n))
    lower, upper = wilson_ci(successes, n)
    assert 0.0 <= lower <= successes / n <= upper <= 1.0
