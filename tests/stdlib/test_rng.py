"""alc.math's random streams, which run in Lua (lua/rng.lua): the generator they are
documented to be, their distributions, their journaled seeds, their error texts, and
what a script can and cannot do with one. Through real sessions on real Lua."""

from __future__ import annotations

import math
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from alc_mcp.config import Config
from tests.conftest import TEST_LIMITS, Host
from tests.durable.support import durable_config, serve, status_of, wait_until
from tests.stdlib.support import lua_error, result

pytestmark = pytest.mark.anyio

M64 = 2**64 - 1
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1


# --------------------------------------------------------------------------- an independent reference


def signed(x: int) -> int:
    x &= M64
    return x - 2**64 if x > MAX_INT else x


def rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro256:
    """xoshiro256** (Blackman and Vigna), its state seeded by SplitMix64 from the seed
    taken as u64: what the README says a stream is, written from the papers."""

    def __init__(self, seed: int) -> None:
        x, self.s = seed & M64, []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self) -> int:
        s0, s1, s2, s3 = self.s
        out = (rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        self.s = [s0, s1, s2, rotl(s3, 45)]
        return out

    def float(self) -> float:
        return (self.next() >> 11) * 2.0**-53

    def int(self, lo: int, hi: int) -> int:
        """Uniform in [lo, hi] by masked rejection (every value equally likely)."""
        span = (hi - lo) & M64
        mask = (1 << span.bit_length()) - 1
        while (x := self.next() & mask) > span:
            pass
        return signed(lo + x)


SEEDS = [0, 1, -1, 42, 20240601, MAX_INT, MIN_INT]
RANGES = [(-1000, 1000), (1, 6), (5, 5), (0, 2**62 + 2**61), (MIN_INT, MAX_INT), (-(2**62), 2**62 + 17)]

DRAWS = """
local out = {}
for _, seed in ipairs(ctx.seeds) do
  local r = alc.math.rng_create(seed)
  local floats, ints = {}, {}
  for i = 1, 40 do floats[i] = alc.math.rng_float(r) end
  for _, range in ipairs(ctx.ranges) do
    for _ = 1, 10 do ints[#ints + 1] = alc.math.rng_int(r, range[1], range[2]) end
  end
  out[#out + 1] = {floats = floats, ints = ints}
end
return out
"""


async def test_a_stream_is_xoshiro256starstar_seeded_by_splitmix64(host: Host) -> None:
    got = await result(host, DRAWS, ctx={"seeds": SEEDS, "ranges": RANGES})
    expected = []
    for seed in SEEDS:
        reference = Xoshiro256(seed)
        floats = [reference.float() for _ in range(40)]
        ints = [reference.int(lo, hi) for lo, hi in RANGES for _ in range(10)]
        expected.append({"floats": floats, "ints": ints})
    assert got == expected


async def test_integral_float_seeds_are_taken_as_u64(host: Host) -> None:
    code = """
    local function first(seed) return alc.math.rng_float(alc.math.rng_create(seed)) end
    return {first(2^64) == first(0), first(-2^63) == first(math.mininteger),
            first(1e20) == first(ctx.wrapped), first(-1e20) == first(ctx.negative), first(1e20) ~= first(0)}
    """
    ctx = {"wrapped": signed(int(1e20)), "negative": signed(int(-1e20))}
    assert await result(host, code, ctx=ctx) == [True, True, True, True, True]


# --------------------------------------------------------------------------- distributions (fixed seeds)

# Every bound is five or more standard errors wide for the sample size: a fixed seed
# makes the test deterministic, and a generator or sampler that is off fails it.


def chi_square(counts: list[int]) -> float:
    expected = sum(counts) / len(counts)
    return sum((c - expected) ** 2 / expected for c in counts)


MOMENTS = """
local m = alc.math
local r = m.rng_create(ctx.seed)
local draw = m[ctx.fn]
local n, sum, sq, low, high = ctx.n, 0.0, 0.0, math.huge, -math.huge
local bins = {}
for i = 1, ctx.bins do bins[i] = 0 end
for _ = 1, n do
  local x = draw(r, table.unpack(ctx.args))
  sum, sq = sum + x, sq + x * x
  if x < low then low = x end
  if x > high then high = x end
  if ctx.bins > 0 then
    local b = math.floor(x * ctx.bins) + 1
    bins[b] = bins[b] + 1
  end
end
local mean = sum / n
return {mean = mean, var = (sq - n * mean * mean) / (n - 1), min = low, max = high, bins = bins}
"""


async def moments(host: Host, fn: str, args: list[float], *, n: int, bins: int = 0, seed: int = 7) -> Any:
    return await result(host, MOMENTS, ctx={"fn": fn, "args": args, "n": n, "bins": bins, "seed": seed})


async def test_rng_float_is_uniform_on_the_unit_interval(host: Host) -> None:
    got = await moments(host, "rng_float", [], n=100_000, bins=100)
    assert got["mean"] == pytest.approx(0.5, abs=0.005)  # standard error 0.0009
    assert got["var"] == pytest.approx(1 / 12, abs=0.0012)  # standard error 0.00024
    assert 0.0 <= got["min"] < 1e-4 and 1 - 1e-4 < got["max"] < 1.0
    # 99 degrees of freedom: mean 99, sd 14; too even a spread fails too.
    assert 40 < chi_square(got["bins"]) < 170


async def test_rng_int_gives_every_value_the_same_chance(host: Host) -> None:
    code = """
    local r = alc.math.rng_create(11)
    local faces, top = {0, 0, 0, 0, 0, 0}, 0
    for _ = 1, 60000 do
      local k = alc.math.rng_int(r, 1, 6)
      faces[k] = faces[k] + 1
    end
    -- the whole integer range: the sign bit is a fair coin
    for _ = 1, 20000 do
      if alc.math.rng_int(r, math.mininteger, math.maxinteger) < 0 then top = top + 1 end
    end
    -- a span just above a power of two (the worst case for masked rejection)
    local halves = {0, 0}
    for _ = 1, 20000 do
      local k = alc.math.rng_int(r, 0, 2^62 + 1)
      halves[k <= 2^61 and 1 or 2] = halves[k <= 2^61 and 1 or 2] + 1
    end
    return {faces = faces, top = top, halves = halves}
    """
    got = await result(host, code)
    assert chi_square(got["faces"]) < 25  # 5 degrees of freedom: p < 0.0002 above 25
    assert got["top"] == pytest.approx(10_000, abs=400)  # sd 71
    assert got["halves"][0] == pytest.approx(10_000, abs=400)


async def test_rng_normal_has_the_mean_and_spread_asked_for(host: Host) -> None:
    code = """
    local r = alc.math.rng_create(3)
    local n, sum, sq, inside = 100000, 0.0, 0.0, 0
    for _ = 1, n do
      local x = alc.math.rng_normal(r, 10, 2)
      sum, sq = sum + x, sq + x * x
      if math.abs(x - 10) < 2 then inside = inside + 1 end
    end
    local mean = sum / n
    return {mean = mean, var = (sq - n * mean * mean) / (n - 1), inside = inside / n,
            exact = alc.math.rng_normal(r, 5, 0), default = alc.math.rng_normal(alc.math.rng_create(3))}
    """
    got = await result(host, code)
    assert got["mean"] == pytest.approx(10, abs=0.035)  # standard error 0.0063
    assert got["var"] == pytest.approx(4, abs=0.1)  # standard error 0.018
    assert got["inside"] == pytest.approx(0.6827, abs=0.008)  # standard error 0.0015
    assert got["exact"] == 5.0
    assert isinstance(got["default"], float)


@pytest.mark.parametrize(
    ("fn", "args", "mean", "var", "mean_tol", "var_tol"),
    [
        ("rng_gamma", [2, 3], 6.0, 18.0, 0.11, 1.0),  # standard errors 0.021 and 0.2
        ("rng_gamma", [0.5], 0.5, 0.5, 0.018, 0.05),  # shape < 1, the boosted path; 0.0035, 0.0094
        ("rng_beta", [2, 5], 2 / 7, 10 / 392, 0.004, 0.0008),  # 0.0008 and 0.00016
        ("rng_exponential", [4], 0.25, 0.0625, 0.0065, 0.0045),  # 0.00125 and 0.00088
    ],
)
async def test_samplers_have_their_distributions_moments(
    host: Host, fn: str, args: list[float], mean: float, var: float, mean_tol: float, var_tol: float
) -> None:
    got = await moments(host, fn, args, n=40_000)
    assert got["mean"] == pytest.approx(mean, abs=mean_tol)
    assert got["var"] == pytest.approx(var, abs=var_tol)
    assert got["min"] >= 0.0
    if fn == "rng_beta":
        assert got["max"] <= 1.0


async def test_shuffle_and_sampling_are_uniform(host: Host) -> None:
    code = """
    local r = alc.math.rng_create(5)
    local xs = {"a", "b", "c"}
    local orders = {}
    for _ = 1, 30000 do
      local key = table.concat(alc.math.shuffle(r, xs))
      orders[key] = (orders[key] or 0) + 1
    end
    local picks = {a = 0, b = 0, c = 0, d = 0}
    for _, v in ipairs(alc.math.sample_with_replacement(r, {"a", "b", "c", "d"}, 40000)) do
      picks[v] = picks[v] + 1
    end
    return {orders = orders, picks = picks, untouched = table.concat(xs)}
    """
    got = await result(host, code)
    assert sorted(got["orders"]) == ["abc", "acb", "bac", "bca", "cab", "cba"]
    assert chi_square(list(got["orders"].values())) < 25  # 5 degrees of freedom
    assert chi_square(list(got["picks"].values())) < 20  # 3 degrees of freedom
    assert got["untouched"] == "abc"


# --------------------------------------------------------------------------- seeds through the journal

STREAM = """
local r = alc.math.rng_create()
local function three() return {alc.math.rng_float(r), alc.math.rng_float(r), alc.math.rng_float(r)} end
local first = three()
local a = alc.llm("first " .. alc.json_encode(first))
local second = three()
local b = alc.llm("second " .. alc.json_encode(second))
return {first = first, second = second, third = three(), a = a, b = b}
"""


def shown(reply: dict[str, Any], prefix: str) -> list[float]:
    prompt = reply["prompt"]
    assert prompt.startswith(prefix + " "), reply
    return [float(x) for x in prompt.removeprefix(prefix + " ").strip("[]").split(",")]


async def test_an_unseeded_stream_continues_across_hibernation_and_a_restart(tmp_path: Path) -> None:
    config = durable_config(tmp_path / "home", hibernate_after_seconds=0.05, reap_interval_seconds=0.05)
    async with serve(config) as host:
        paused = await host.run(STREAM)
        session_id = paused["session_id"]
        first = shown(paused, "first")

        async def dormant() -> bool:
            return (await status_of(host, session_id))["live"] is False

        await wait_until(dormant, "the session hibernates")
        second_pause = await host.ok("alc_continue", session_id=session_id, response="one")
        second = shown(second_pause, "second")
    async with serve(config) as host:  # a restart: the session revives from its journal
        done = await host.ok("alc_continue", session_id=session_id, response="two")
    assert done["status"] == "completed", done
    got = done["result"]
    assert (got["first"], got["second"], got["a"], got["b"]) == (first, second, "one", "two")
    assert len(set(got["first"] + got["second"] + got["third"])) == 9
    assert all(0.0 <= x < 1.0 for x in got["third"])


async def test_unseeded_streams_of_one_session_differ_and_seeded_ones_do_not_touch_the_journal(
    tmp_path: Path,
) -> None:
    code = """
    local a, b = alc.math.rng_create(), alc.math.rng_create()
    local s = alc.math.rng_create(9)
    return {alc.math.rng_float(a), alc.math.rng_float(b), alc.math.rng_float(s)}
    """
    async with serve(Config(home=tmp_path, limits=TEST_LIMITS)) as host:
        one = await result(host, code)
        two = await result(host, code)
    assert one[0] != one[1] and one[:2] != two[:2]
    assert one[2] == two[2] == Xoshiro256(9).float()


# --------------------------------------------------------------------------- error texts


def python_floats() -> list[float]:
    """Floats whose Python repr the messages must reproduce: awkward ones and random bit
    patterns (finite), from a fixed seed."""
    source = random.Random(20261203)
    patterns = [struct.unpack("<d", source.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(300)]
    awkward = [0.1 + 0.2, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 1.5e-7, 123456.789, 5e-324,
               1.7976931348623157e308, 1e22, 2.5, 100.0, 1 / 3, 2**53 + 0.0, 0.5e-4]  # fmt: skip
    values = awkward + [x for x in patterns if math.isfinite(x)]
    return values + [-x for x in values]


async def test_numbers_in_error_texts_are_written_as_before(host: Host) -> None:
    code = """
    local r = alc.math.rng_create(1)
    local out = {}
    for i, x in ipairs(ctx.xs) do
      local ok, e = pcall(alc.math.rng_beta, r, x, 1)
      local ok2, e2 = pcall(alc.math.rng_int, r, x, 1)
      out[i] = {ok and "ok" or e, ok2 and "ok" or e2}
    end
    return out
    """
    xs = python_floats()
    got = await result(host, code, ctx={"xs": xs})
    for x, (beta, integer) in zip(xs, got, strict=True):
        if x > 0:
            assert beta == "ok", x
        else:
            assert beta.endswith(f"alc.math.rng_beta: alpha must be a positive number, got {x!r}"), (x, beta)
        if x != int(x):
            assert integer.endswith(f"alc.math.rng_int: lo must be an integer, got number {x!r}"), x


async def test_special_numbers_in_error_texts(host: Host) -> None:
    cases = {
        "alc.math.rng_create(0/0)": "seed must be an integer, got number nan",
        "alc.math.rng_create(-(0/0))": "seed must be an integer, got number nan",
        "alc.math.rng_create(1/0)": "seed must be an integer, got number inf",
        "alc.math.rng_create(-1/0)": "seed must be an integer, got number -inf",
        "alc.math.rng_gamma(alc.math.rng_create(1), -0.0)": "shape must be a positive number, got -0.0",
        "alc.math.rng_gamma(alc.math.rng_create(1), 0/0)": "shape must be a positive number, got nan",
        "alc.math.rng_normal(alc.math.rng_create(1), 0, -5)": "stddev must not be negative, got -5.0",
        "alc.math.rng_normal(alc.math.rng_create(1), true)": "mean must be a number, got boolean",
        "alc.math.rng_exponential(alc.math.rng_create(1), '2')": "rate must be a number, got string",
        "alc.math.rng_int(alc.math.rng_create(1), 1, 1e300)": "hi must be an integer, got number 1e+300",
        "alc.math.sample_with_replacement(alc.math.rng_create(1), {1}, -1)": "n must not be negative, got -1",
        "alc.math.rng_float(ctx)": "rng must be a generator from alc.math.rng_create, got userdata",
    }
    for call, message in cases.items():
        text = await lua_error(host, f"local v = {call}\nreturn v")
        name = call.split("(")[0]
        assert text.startswith(f"lua error: alc_run:1: {name}: {message}\n"), (call, text)


async def test_streams_survive_a_script_that_clobbers_the_standard_library(host: Host) -> None:
    # Everything the streams use was captured before the script ran.
    code = """
    math.floor, math.log, math.sqrt, math.type, math.tointeger = nil, nil, nil, nil, nil
    string.format, string.match, type, error, setmetatable = nil, nil, nil, nil, nil
    local r = alc.math.rng_create(4)
    local ok, e = pcall(alc.math.rng_int, r, 0.5, 1)
    return {alc.math.rng_float(r), alc.math.rng_normal(r), alc.math.rng_gamma(r, 2), e}
    """
    got = await result(host, code)
    reference = Xoshiro256(4)
    assert got[0] == reference.float()
    assert isinstance(got[1], float) and got[2] > 0
    assert got[3].endswith("alc.math.rng_int: lo must be an integer, got number 0.5")


# --------------------------------------------------------------------------- what a script can do with one


async def test_a_stream_reaches_nothing(host: Host) -> None:
    for attribute in ("__class__", "__init__", "__slots__", "random", "s"):
        text = await lua_error(host, f"local r = alc.math.rng_create(1)\nreturn r.{attribute}")
        assert "Python objects are not accessible from the alc-mcp sandbox" in text, attribute
    assert "not accessible" in await lua_error(host, "local r = alc.math.rng_create(1)\nr.x = 1")
    called = await lua_error(host, "local r = alc.math.rng_create(1)\nreturn r()")
    # The error says what a stream is for, in the script's terms, not Python's.
    assert "alc.math.rng is not callable: draw from it with alc.math.rng_float(rng)" in called
    assert "StreamHandle" not in called
    code = """
    local hidden, replaced = getmetatable(alc.math), pcall(setmetatable, alc.math, {})
    local r = alc.math.rng_create(1)
    return {type(r), tostring(r), hidden, replaced, getmetatable(alc.math) == nil, debug == nil}
    """
    # Before the first use alc.math's loader cannot be seen or replaced; after it, alc.math
    # is a plain table again.
    assert await result(host, code) == ["userdata", "alc.math.rng", False, False, True, True]


async def test_walking_alc_math_before_any_use_finds_the_streams(host: Host) -> None:
    code = """
    local names = {}
    for name, fn in pairs(alc.math) do
      if name:find("rng_") == 1 then names[#names + 1] = name end
    end
    return {names, alc.math.rng_int(alc.math.rng_create(2), 1, 10)}
    """
    names, drawn = await result(host, code)
    streams = ["rng_beta", "rng_create", "rng_exponential", "rng_float", "rng_gamma", "rng_int", "rng_normal"]
    assert names == streams
    assert drawn == Xoshiro256(2).int(1, 10)


async def test_the_streams_load_on_first_use_and_a_mock_stays(host: Host) -> None:
    code = """
    alc.math.rng_float = function() return 0.25 end  -- a mock put in before any draw
    collectgarbage("collect")
    local before = collectgarbage("count")
    local r = alc.math.rng_create(8)
    collectgarbage("collect")
    return {grew = collectgarbage("count") - before, mock = alc.math.rng_float(r),
            int = alc.math.rng_int(r, 1, 100)}
    """
    got = await result(host, code)
    assert got["grew"] > 8  # KiB: the streams' code was not in the VM before the first use
    assert got["mock"] == 0.25
    reference = Xoshiro256(8)
    assert got["int"] == reference.int(1, 100)
