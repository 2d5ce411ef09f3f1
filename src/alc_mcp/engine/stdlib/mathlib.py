"""``alc.math.*``: seeded random streams and statistics (spec §4.3, a subset of
``mlua-mathlib`` 0.3).

Random streams are Lua code (``lua/rng.lua``, loaded on a VM's first use of one of
them, see ``install_streams``): xoshiro256** seeded by SplitMix64 from the seed taken
as u64, so a draw is a Lua call (agent simulations draw millions). The same seed gives
the same sequence in every VM and on replay, but not the sequence algocline's ChaCha12
would give, nor the one this server gave before the streams moved to Lua (Python's
Mersenne Twister): a session journaled by an older version and revived by this one
draws other numbers after the revival. A stream is an opaque Python handle
(``StreamHandle``), so Lua sees a userdata it can only pass back (the sandbox refuses
attribute access); its state lives in Lua. An unseeded stream draws its seed through
``effects.observe`` so a replayed session gets the same one.

Statistics take Lua arrays of numbers (integers or floats; strings are not coerced) and
return floats. ``variance``, ``stddev`` and ``covariance`` are *sample* statistics (divide
by n - 1). They stay in Python: in the bundled agent simulations they run once per
Monte Carlo batch, not per step.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from importlib import resources
from statistics import NormalDist
from typing import Any, NoReturn

from lupa import lua54

from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, describe, is_table, lua_callback, lua_type_name
from alc_mcp.engine.port import BridgeContext
from alc_mcp.engine.sandbox import precompiled

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_Z",
    "RNG_CHUNK",
    "RNG_LAZY_CHUNK",
    "RNG_LAZY_SOURCE",
    "RNG_SOURCE",
    "StreamHandle",
    "covariance",
    "distribution",
    "entropy",
    "functions",
    "histogram",
    "install_streams",
    "integer",
    "kendall",
    "kl_divergence",
    "mean",
    "number",
    "numbers",
    "pair",
    "pearson",
    "percentile",
    "positive",
    "ranks",
    "softmax",
    "sum_of_squares",
    "total",
    "variance",
    "wilson_ci",
]

DEFAULT_Z = 1.96
DEFAULT_BINS = 10

#: The random streams: alc.math.rng_*, shuffle and sample_with_replacement.
RNG_SOURCE = resources.files("alc_mcp.engine").joinpath("lua/rng.lua").read_bytes()
RNG_CHUNK = "=[alc rng]"
#: Loads RNG_SOURCE into alc.math on the first use of any of them.
RNG_LAZY_SOURCE = resources.files("alc_mcp.engine").joinpath("lua/rng_lazy.lua").read_bytes()
RNG_LAZY_CHUNK = "=[alc rng lazy]"


class StreamHandle:
    """What ``alc.math.rng_create`` returns: an opaque key to a stream whose state lives
    in Lua. It holds nothing, so a script that has one can reach nothing through it."""

    __slots__ = ()

    def __str__(self) -> str:  # tostring(rng) in Lua
        return "alc.math.rng"

    def __call__(self, *_: Any) -> NoReturn:  # rng() in Lua: say what a stream is for
        raise TypeError(
            "alc.math.rng is not callable: draw from it with alc.math.rng_float(rng), "
            "alc.math.rng_int(rng, lo, hi) or another alc.math.rng_* function"
        )


def install_streams(
    runtime: lua54.LuaRuntime, wrap: Callable[[Callback], Any], context: BridgeContext
) -> Any:
    """The Lua function that gives an ``alc.math`` table the random-stream functions:
    the Lua streams, loaded on the first use of one of them (compiled from text then, as
    the sandbox's ``load`` takes no bytecode). The sandbox calls it when it builds
    ``alc.math``, itself on first use. ``wrap`` is the sandbox's adapter for Python
    callbacks (``api.wrap``)."""

    @lua_callback("alc.math.rng_create")
    def new_handle(observe: Any = None) -> tuple[StreamHandle, int | None]:
        if observe:
            return StreamHandle(), int(context.effects.observe("math.seed", lambda: secrets.randbits(63)))
        return StreamHandle(), None

    lazy = precompiled(RNG_LAZY_SOURCE, RNG_LAZY_CHUNK)
    array_mt = context.json.array_mt
    return runtime.execute(lazy, wrap(new_handle), array_mt, wrap(_rng_source), name=RNG_LAZY_CHUNK)


@lua_callback("alc.math")
def _rng_source() -> tuple[bytes, bytes]:
    """rng.lua's text and chunk name (one function for every VM: it holds no state)."""
    return RNG_SOURCE, RNG_CHUNK.encode()


# --------------------------------------------------------------------------- argument helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _raw_array(value: Any, what: str, kind: str) -> list[Any]:
    """The values at 1..#value, read raw (no metamethods)."""
    if not is_table(value):
        raise BridgeError(f"{what} must be {kind}, got {lua_type_name(value)}")
    items = dict(value.items())
    return [items.get(index) for index in range(1, len(value) + 1)]


def numbers(value: Any, what: str = "xs", *, at_least: int = 1) -> list[float]:
    """A Lua array of numbers as floats; at least ``at_least`` of them."""
    kind = "a non-empty array of numbers" if at_least <= 1 else f"an array of at least {at_least} numbers"
    items = _raw_array(value, what, kind)
    for index, item in enumerate(items, 1):
        if not _is_number(item):
            raise BridgeError(f"{what} must be {kind} (item {index} is {lua_type_name(item)})")
    if len(items) < at_least:
        got = "an empty table" if not items else f"{len(items)}"
        raise BridgeError(f"{what} must be {kind}, got {got}")
    return [float(item) for item in items]


def pair(xs: Any, ys: Any, *, at_least: int) -> tuple[list[float], list[float]]:
    a = numbers(xs, "xs", at_least=at_least)
    b = numbers(ys, "ys", at_least=at_least)
    if len(a) != len(b):
        raise BridgeError(f"xs and ys must have the same length, got {len(a)} and {len(b)}")
    return a, b


def number(value: Any, what: str, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if not _is_number(value):
        raise BridgeError(f"{what} must be a number, got {lua_type_name(value)}")
    return float(value)


def integer(value: Any, what: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BridgeError(f"{what} must be an integer, got {describe(value)}")


def positive(value: Any, what: str, default: float | None = None) -> float:
    result = number(value, what, default)
    if not result > 0:
        raise BridgeError(f"{what} must be a positive number, got {result!r}")
    return result


# --------------------------------------------------------------------------- statistics (pure)


def total(xs: Sequence[float]) -> float:
    try:
        return math.fsum(xs)
    except (OverflowError, ValueError):  # intermediate overflow, or inf + -inf
        return float(sum(xs))


def mean(xs: Sequence[float]) -> float:
    return total(xs) / len(xs)


def sum_of_squares(xs: Sequence[float]) -> float:
    centre = mean(xs)
    return total([(x - centre) ** 2 for x in xs])


def variance(xs: Sequence[float]) -> float:
    """Sample variance (n - 1)."""
    return sum_of_squares(xs) / (len(xs) - 1)


def percentile(xs: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default): rank = p/100·(n-1)."""
    ordered = sorted(xs)
    rank = p / 100.0 * (len(ordered) - 1)
    low = math.floor(rank)
    fraction = rank - low
    if fraction == 0.0 or low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + fraction * (ordered[low + 1] - ordered[low])


def ranks(xs: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the average of their ranks."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    result = [0.0] * len(xs)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and xs[order[end + 1]] == xs[order[start]]:
            end += 1
        shared = (start + end) / 2.0 + 1.0
        for position in range(start, end + 1):
            result[order[position]] = shared
        start = end + 1
    return result


def covariance(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = mean(xs), mean(ys)
    return total([(x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)]) / (len(xs) - 1)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = mean(xs), mean(ys)
    dx = [x - mx for x in xs]
    dy = [y - my for y in ys]
    denominator = math.sqrt(total([d * d for d in dx]) * total([d * d for d in dy]))
    if denominator == 0:
        raise BridgeError("correlation is undefined when xs or ys is constant")
    value = total([a * b for a, b in zip(dx, dy, strict=True)]) / denominator
    return max(-1.0, min(1.0, value))


def kendall(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Kendall's tau-b (ties in either variable are accounted for)."""
    concordant = discordant = ties_x = ties_y = 0
    n = len(xs)
    for i in range(n):
        for j in range(i + 1, n):
            sx = (xs[i] > xs[j]) - (xs[i] < xs[j])
            sy = (ys[i] > ys[j]) - (ys[i] < ys[j])
            if sx == 0 and sy == 0:
                continue
            if sx == 0:
                ties_x += 1
            elif sy == 0:
                ties_y += 1
            elif sx == sy:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    if denominator == 0:
        raise BridgeError("kendall is undefined when xs or ys is constant")
    return (concordant - discordant) / denominator


def softmax(xs: Sequence[float], temperature: float = 1.0) -> list[float]:
    scaled = [x / temperature for x in xs]
    top = max(scaled)
    if math.isinf(top) and top > 0:  # +inf entries share all the mass
        count = sum(1 for x in scaled if x == top)
        return [1.0 / count if x == top else 0.0 for x in scaled]
    weights = [math.exp(x - top) for x in scaled]
    norm = total(weights)
    return [w / norm for w in weights]


def wilson_ci(successes: float, n: float, z: float = DEFAULT_Z) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, clamped to [0, 1]."""
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    margin = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # At p = 0 (p = 1) the bound is exactly 0 (1); rounding must not move it off.
    lower = 0.0 if successes == 0 else max(0.0, centre - margin)
    upper = 1.0 if successes == n else min(1.0, centre + margin)
    return lower, upper


def distribution(ps: Sequence[float], what: str) -> list[float]:
    """Non-negative weights scaled to sum to 1."""
    if any(p < 0 or math.isnan(p) for p in ps):
        raise BridgeError(f"{what} must not contain negative numbers")
    norm = total(ps)
    if not norm > 0 or math.isinf(norm):
        raise BridgeError(f"{what} must have a positive, finite sum")
    return [p / norm for p in ps]


def entropy(ps: Sequence[float]) -> float:
    return -total([p * math.log(p) for p in ps if p > 0])


def kl_divergence(ps: Sequence[float], qs: Sequence[float]) -> float:
    terms = []
    for p, q in zip(ps, qs, strict=True):
        if p > 0:
            if q == 0:
                return math.inf
            terms.append(p * math.log(p / q))
    return max(0.0, total(terms))


def histogram(xs: Sequence[float], bins: int) -> tuple[list[int], list[float]]:
    """Equal-width bins over [min, max] (numpy's rule: the last bin is closed; a constant
    sample gets the range [x - 0.5, x + 0.5])."""
    low, high = min(xs), max(xs)
    if low == high:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins
    edges = [low + i * width for i in range(bins)] + [high]
    counts = [0] * bins
    for x in xs:
        index = min(int((x - low) / width), bins - 1)
        counts[index] += 1
    return counts, edges


# --------------------------------------------------------------------------- the alc.math table


def functions(context: BridgeContext) -> dict[str, Callback]:
    json = context.json
    table: dict[str, Callback] = {}

    def define(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            table[f"math.{name}"] = lua_callback(f"alc.math.{name}")(fn)
            return fn

        return register

    def array(values: Sequence[Any]) -> Any:
        return json.to_lua(list(values))

    # --- descriptive statistics -------------------------------------------

    @define("sum")
    def sum_(xs: Any = None) -> float:
        return total(numbers(xs))

    @define("mean")
    def mean_(xs: Any = None) -> float:
        return mean(numbers(xs))

    @define("median")
    def median(xs: Any = None) -> float:
        return percentile(numbers(xs), 50.0)

    @define("variance")
    def variance_(xs: Any = None) -> float:
        return variance(numbers(xs, at_least=2))

    @define("stddev")
    def stddev(xs: Any = None) -> float:
        return math.sqrt(variance(numbers(xs, at_least=2)))

    @define("percentile")
    def percentile_(xs: Any = None, p: Any = None) -> float:
        values = numbers(xs)
        rank = number(p, "p")
        if not 0.0 <= rank <= 100.0:
            raise BridgeError(f"p must be between 0 and 100, got {rank!r}")
        return percentile(values, rank)

    @define("iqr")
    def iqr(xs: Any = None) -> float:
        values = numbers(xs)
        return percentile(values, 75.0) - percentile(values, 25.0)

    @define("min")
    def min_(xs: Any = None) -> float:
        return min(numbers(xs))

    @define("max")
    def max_(xs: Any = None) -> float:
        return max(numbers(xs))

    @define("argmax")
    def argmax(xs: Any = None) -> int:
        values = numbers(xs)
        return max(range(len(values)), key=lambda i: (values[i], -i)) + 1

    @define("argmin")
    def argmin(xs: Any = None) -> int:
        values = numbers(xs)
        return min(range(len(values)), key=lambda i: (values[i], i)) + 1

    @define("rank")
    def rank(xs: Any = None) -> Any:
        return array(ranks(numbers(xs)))

    @define("histogram")
    def histogram_(xs: Any = None, bins: Any = None) -> Any:
        values = numbers(xs)
        count = integer(bins, "bins", DEFAULT_BINS)
        if count < 1:
            raise BridgeError(f"bins must be a positive integer, got {count}")
        counts, edges = histogram(values, count)
        return json.to_lua({"counts": counts, "edges": edges})

    # --- relationships -----------------------------------------------------

    @define("covariance")
    def covariance_(xs: Any = None, ys: Any = None) -> float:
        return covariance(*pair(xs, ys, at_least=2))

    @define("correlation")
    def correlation(xs: Any = None, ys: Any = None) -> float:
        return pearson(*pair(xs, ys, at_least=2))

    @define("spearman")
    def spearman(xs: Any = None, ys: Any = None) -> float:
        a, b = pair(xs, ys, at_least=2)
        return pearson(ranks(a), ranks(b))

    @define("kendall")
    def kendall_(xs: Any = None, ys: Any = None) -> float:
        return kendall(*pair(xs, ys, at_least=2))

    # --- transforms --------------------------------------------------------

    @define("softmax")
    def softmax_(xs: Any = None, temperature: Any = None) -> Any:
        values = numbers(xs)
        return array(softmax(values, positive(temperature, "temperature", 1.0)))

    @define("logsumexp")
    def logsumexp(xs: Any = None) -> float:
        values = numbers(xs)
        top = max(values)
        if math.isinf(top):
            return top
        return top + math.log(total([math.exp(x - top) for x in values]))

    @define("normalize")
    def normalize(xs: Any = None) -> Any:
        values = numbers(xs)
        norm = total(values)
        if norm == 0 or not math.isfinite(norm):
            raise BridgeError("xs must have a non-zero, finite sum")
        return array([x / norm for x in values])

    @define("moving_average")
    def moving_average(xs: Any = None, window: Any = None) -> Any:
        values = numbers(xs)
        size = integer(window, "window")
        if size < 1:
            raise BridgeError(f"window must be a positive integer, got {size}")
        return array([mean(values[i : i + size]) for i in range(len(values) - size + 1)])

    @define("ewma")
    def ewma(xs: Any = None, alpha: Any = None) -> Any:
        values = numbers(xs)
        weight = number(alpha, "alpha")
        if not 0.0 < weight <= 1.0:
            raise BridgeError(f"alpha must be in (0, 1], got {weight!r}")
        smoothed = [values[0]]
        for x in values[1:]:
            smoothed.append(weight * x + (1.0 - weight) * smoothed[-1])
        return array(smoothed)

    @define("autocorrelation")
    def autocorrelation(xs: Any = None, lag: Any = None) -> float:
        values = numbers(xs)
        shift = integer(lag, "lag", 1)
        if not 0 <= shift < len(values):
            raise BridgeError(f"lag must be between 0 and #xs - 1, got {shift}")
        centre = mean(values)
        denominator = total([(x - centre) ** 2 for x in values])
        if denominator == 0:
            raise BridgeError("autocorrelation is undefined when xs is constant")
        products = [(values[t] - centre) * (values[t + shift] - centre) for t in range(len(values) - shift)]
        return total(products) / denominator

    # --- intervals, information -------------------------------------------

    @define("wilson_ci")
    def wilson_ci_(successes: Any = None, n: Any = None, z: Any = None) -> Any:
        hits = number(successes, "successes")
        trials = number(n, "n")
        if not trials > 0:
            raise BridgeError(f"n must be positive, got {trials!r}")
        if not 0.0 <= hits <= trials:
            raise BridgeError(f"successes must be between 0 and n, got {hits!r}")
        lower, upper = wilson_ci(hits, trials, positive(z, "z", DEFAULT_Z))
        return json.to_lua({"lower": lower, "upper": upper})

    @define("entropy")
    def entropy_(ps: Any = None, base: Any = None) -> float:
        nats = entropy(distribution(numbers(ps, "ps"), "ps"))
        if base is None:
            return nats
        radix = positive(base, "base")
        if radix == 1.0:
            raise BridgeError("base must not be 1")
        return nats / math.log(radix)

    def two_distributions(ps: Any, qs: Any) -> tuple[list[float], list[float]]:
        p = numbers(ps, "ps")
        q = numbers(qs, "qs")
        if len(p) != len(q):
            raise BridgeError(f"ps and qs must have the same length, got {len(p)} and {len(q)}")
        return distribution(p, "ps"), distribution(q, "qs")

    @define("kl_divergence")
    def kl_divergence_(ps: Any = None, qs: Any = None) -> float:
        return kl_divergence(*two_distributions(ps, qs))

    @define("js_divergence")
    def js_divergence(ps: Any = None, qs: Any = None) -> float:
        p, q = two_distributions(ps, qs)
        middle = [(a + b) / 2.0 for a, b in zip(p, q, strict=True)]
        return 0.5 * kl_divergence(p, middle) + 0.5 * kl_divergence(q, middle)

    # --- distributions, special functions ---------------------------------

    def normal(mu: Any, sigma: Any) -> NormalDist:
        return NormalDist(number(mu, "mean", 0.0), positive(sigma, "stddev", 1.0))

    @define("normal_pdf")
    def normal_pdf(x: Any = None, mu: Any = None, sigma: Any = None) -> float:
        return normal(mu, sigma).pdf(number(x, "x"))

    @define("normal_cdf")
    def normal_cdf(x: Any = None, mu: Any = None, sigma: Any = None) -> float:
        return normal(mu, sigma).cdf(number(x, "x"))

    @define("normal_ppf")
    def normal_ppf(p: Any = None, mu: Any = None, sigma: Any = None) -> float:
        probability = number(p, "p")
        if not 0.0 < probability < 1.0:
            raise BridgeError(f"p must be in (0, 1), got {probability!r}")
        return normal(mu, sigma).inv_cdf(probability)

    def special(name: str, fn: Callable[[float], float]) -> None:
        def call(x: Any = None) -> float:
            try:
                return fn(number(x, "x"))
            except (ValueError, OverflowError) as exc:
                raise BridgeError(f"{exc} for x = {x!r}") from None

        define(name)(call)

    special("erf", math.erf)
    special("erfc", math.erfc)
    special("gamma", math.gamma)
    special("lgamma", math.lgamma)

    return table
