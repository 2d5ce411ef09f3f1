"""Evaluation results as numbers: summaries, cards and comparisons.

Pure functions over plain JSON data (the report an eval session returns, see
``strategies/evalframe.lua``), so the ``alc_eval`` tool, the terminal ``alc-mcp eval``
and Lua (``alc._eval_summary``) compute exactly the same statistics.

Statistics come from scipy: the 95 % confidence interval of the mean score uses
Student's t; comparisons use Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``).
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CARD_SCHEMA",
    "CHARS_PER_TOKEN",
    "PASS_AT",
    "Card",
    "EvaluationError",
    "effect_label",
    "estimated_tokens",
    "field",
    "matches",
    "mean_ci",
    "order_cards",
    "pass_at_k",
    "runs_of",
    "scores_of",
    "short_name",
    "summarize",
    "welch",
]

#: The k of pass@k reported (those not above the number of repeats).
PASS_AT = (1, 2, 3, 5, 10, 20, 50, 100)
#: Rough tokens per byte of prompt/response text (the server's estimate for English).
CHARS_PER_TOKEN = 4
CARD_SCHEMA = "card/v1"


class EvaluationError(ValueError):
    """A report, card or comparison request that cannot be used; the message says why."""


def _list(value: Any) -> list[Any]:
    """A Lua array as JSON: an empty Lua table may arrive as ``{}``."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and not value:
        return []
    if isinstance(value, Mapping):  # sparse array: keys "1", "2", ...
        try:
            return [value[k] for k in sorted(value, key=int)]
        except (TypeError, ValueError):
            return list(value.values())
    return []


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value) if math.isfinite(value) else default


def runs_of(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every run of every case, flattened, each with its case's name, index and tags."""
    flat = []
    for position, case in enumerate(_list(report.get("cases")), 1):
        if not isinstance(case, Mapping):
            continue
        tags = [str(t) for t in _list(case.get("tags"))]
        for run in _list(case.get("runs")):
            if isinstance(run, Mapping):
                flat.append(
                    {
                        **run,
                        "case": case.get("name") or f"case_{position}",
                        "case_index": case.get("index", position),
                        "tags": tags,
                    }
                )
    return flat


def mean_ci(scores: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The t-based confidence interval of the mean (a point for fewer than two scores or
    no spread), clipped to [0, 1] because scores live there."""
    n = len(scores)
    if n == 0:
        return (0.0, 0.0)
    mean = sum(scores) / n
    if n < 2:
        return (mean, mean)
    sd = _sd(scores)
    if sd == 0:
        return (mean, mean)
    half = float(_scipy_stats().t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return (max(0.0, mean - half), min(1.0, mean + half))


def _sd(scores: Sequence[float]) -> float:
    n = len(scores)
    if n < 2:
        return 0.0
    mean = sum(scores) / n
    return math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k (Chen et al. 2021): the chance that at least one
    of k runs drawn from n (c of which passed) passes."""
    if n <= 0 or k > n:
        raise EvaluationError(f"pass@{k} needs at least {k} runs, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def estimated_tokens(chars: float) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN) if chars > 0 else 0


def summarize(report: Mapping[str, Any]) -> dict[str, Any]:
    """Pass rate, mean, standard deviation, 95 % CI, pass@k, by tag, per case, tokens."""
    runs = runs_of(report)
    scores = [_number(r.get("score")) for r in runs]
    n = len(scores)
    passed = sum(1 for r in runs if r.get("passed") is True)
    mean = sum(scores) / n if n else 0.0
    low, high = mean_ci(scores)

    per_case: dict[Any, dict[str, Any]] = {}
    for run in runs:
        entry = per_case.setdefault(
            run["case_index"],
            {"name": run["case"], "tags": run["tags"], "runs": 0, "passed": 0, "scores": [], "tokens": 0},
        )
        entry["runs"] += 1
        entry["passed"] += 1 if run.get("passed") is True else 0
        entry["scores"].append(_number(run.get("score")))
        entry["tokens"] += estimated_tokens(
            _number(run.get("prompt_chars")) + _number(run.get("response_chars"))
        )
    cases = []
    for index in sorted(per_case, key=lambda i: (str(type(i)), i)):
        entry = per_case[index]
        case_scores = entry.pop("scores")
        entry["index"] = index
        entry["mean"] = sum(case_scores) / len(case_scores)
        cases.append(entry)

    min_runs = min((c["runs"] for c in cases), default=0)
    pass_at = {
        f"pass@{k}": sum(pass_at_k(c["runs"], c["passed"], k) for c in cases) / len(cases)
        for k in PASS_AT
        if cases and k <= min_runs
    }

    by_tag: dict[str, dict[str, Any]] = {}
    for run in runs:
        for tag in run["tags"] or ["(untagged)"]:
            entry = by_tag.setdefault(tag, {"runs": 0, "passed": 0, "score_sum": 0.0})
            entry["runs"] += 1
            entry["passed"] += 1 if run.get("passed") is True else 0
            entry["score_sum"] += _number(run.get("score"))
    tags = {
        tag: {
            "runs": e["runs"],
            "passed": e["passed"],
            "pass_rate": e["passed"] / e["runs"],
            "mean": e["score_sum"] / e["runs"],
        }
        for tag, e in sorted(by_tag.items())
    }

    llm_calls = sum(int(_number(r.get("llm_calls"))) for r in runs)
    prompt_chars = sum(int(_number(r.get("prompt_chars"))) for r in runs)
    response_chars = sum(int(_number(r.get("response_chars"))) for r in runs)
    return {
        "n": n,
        "cases": len(cases),
        "repeats": int(_number(report.get("repeats"), 1)),
        "passed": passed,
        "failed": n - passed,
        "errors": sum(1 for r in runs if r.get("ok") is False),
        "pass_rate": passed / n if n else 0.0,
        "mean": mean,
        "std_dev": _sd(scores),
        "ci_95": [low, high],
        **pass_at,
        "by_tag": tags,
        "per_case": cases,
        "llm_calls": llm_calls,
        "judge_calls": int(_number(report.get("judge_calls"))),
        "prompt_chars": prompt_chars,
        "response_chars": response_chars,
        "estimated_tokens": estimated_tokens(prompt_chars + response_chars),
    }


def scores_of(report: Mapping[str, Any]) -> list[float]:
    """Every run's score, in case then repeat order: the samples a comparison uses."""
    return [_number(r.get("score")) for r in runs_of(report)]


# --- cards ---------------------------------------------------------------------------------

_SHORT = re.compile(r"[^A-Za-z0-9]+")


def short_name(text: str | None, limit: int = 24) -> str:
    """A card-id-safe short form of a model or strategy name (``gpt-4o-mini`` → ``gpt_4o_mini``)."""
    cleaned = _SHORT.sub("_", text or "").strip("_").lower()
    return (cleaned or "unknown")[:limit]


@dataclass(frozen=True, slots=True)
class Card:
    """One finished eval, as written once and never changed.

    ``data`` is the whole card (a private deep copy); ``to_json`` hands out copies, so
    no caller can change a card in memory either."""

    card_id: str
    created_at: int
    strategy: str
    scenario: str
    model: str | None
    data: Mapping[str, Any]

    @classmethod
    def build(cls, card_id: str, created_at: int, data: Mapping[str, Any]) -> Card:
        body = copy.deepcopy(dict(data))
        body["card_id"] = card_id
        body["created_at"] = created_at
        body.setdefault("schema_version", CARD_SCHEMA)
        strategy = body.get("strategy") or {}
        scenario = body.get("scenario") or {}
        return cls(
            card_id,
            created_at,
            str(strategy.get("name") if isinstance(strategy, Mapping) else strategy),
            str(scenario.get("name") if isinstance(scenario, Mapping) else scenario),
            body.get("model"),
            body,
        )

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.data))

    def brief(self) -> dict[str, Any]:
        summary = self.data.get("summary") or {}
        return {
            "card_id": self.card_id,
            "created_at": self.created_at,
            "strategy": self.strategy,
            "scenario": self.scenario,
            "model": self.model,
            "n": summary.get("n"),
            "pass_rate": summary.get("pass_rate"),
            "mean": summary.get("mean"),
            "ci_95": summary.get("ci_95"),
        }

    @property
    def scores(self) -> list[float]:
        return [_number(s) for s in self.data.get("scores") or []]


# --- finding cards -----------------------------------------------------------------------------

_MISSING = object()


def field(data: Any, path: str) -> Any:
    """``a.b.c`` in nested mappings; ``_MISSING`` when absent."""
    value = data
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _compare(op: str, value: Any, arg: Any) -> bool:
    try:
        match op:
            case "eq":
                return bool(value == arg)
            case "ne":
                return bool(value != arg)
            case "lt":
                return bool(value < arg)
            case "lte":
                return bool(value <= arg)
            case "gt":
                return bool(value > arg)
            case "gte":
                return bool(value >= arg)
            case "in":
                return value in arg
            case "nin":
                return value not in arg
            case "contains":
                return arg in value
            case "starts_with":
                return isinstance(value, str) and value.startswith(arg)
    except TypeError:
        return False
    raise EvaluationError(
        f"unknown operator '{op}' (use eq ne lt lte gt gte in nin exists contains starts_with)"
    )


def matches(data: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    """A Prisma-like filter: ``{"summary.pass_rate": {"gte": 0.8}, "strategy.name": "cot"}``,
    with ``_and`` / ``_or`` (lists of filters) and ``_not`` (a filter)."""
    if not where:
        return True
    for key, cond in where.items():
        if key == "_and":
            if not all(matches(data, c) for c in cond):
                return False
            continue
        if key == "_or":
            if not any(matches(data, c) for c in cond):
                return False
            continue
        if key == "_not":
            if matches(data, cond):
                return False
            continue
        value = field(data, key)
        if isinstance(cond, Mapping):
            for op, arg in cond.items():
                if op == "exists":
                    if (value is not _MISSING) != bool(arg):
                        return False
                elif value is _MISSING or not _compare(op, value, arg):
                    return False
        elif value is _MISSING or value != cond:
            return False
    return True


def order_cards(cards: Iterable[Card], order_by: str | Sequence[str] | None) -> list[Card]:
    """Sort by fields of the card (``"-summary.mean"`` for descending); newest first by default."""
    result = list(cards)
    keys = [order_by] if isinstance(order_by, str) else list(order_by or [])
    if not keys:
        return sorted(result, key=lambda c: (c.created_at, c.card_id), reverse=True)
    for key in reversed(keys):
        descending = key.startswith("-")
        path = key.lstrip("-+")

        def sort_key(card: Card, path: str = path) -> tuple[int, Any]:
            value = field(card.data, path)
            if value is _MISSING or value is None:
                return (1, "")
            return (0, value if isinstance(value, int | float | str) else str(value))

        present = [c for c in result if sort_key(c)[0] == 0]
        absent = [c for c in result if sort_key(c)[0] == 1]
        present.sort(key=sort_key, reverse=descending)
        result = present + absent  # missing values last either way
    return result


# --- comparison --------------------------------------------------------------------------------


def welch(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Welch's t-test of mean(a) - mean(b), with Cohen's d and Hedges' g as effect sizes."""
    a, b = [float(x) for x in a], [float(x) for x in b]
    if len(a) < 2 or len(b) < 2:
        raise EvaluationError(
            f"a comparison needs at least 2 scores on each side (got {len(a)} and {len(b)}); "
            "run the eval with more cases or repeats"
        )
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    sd_a, sd_b = _sd(a), _sd(b)
    diff = mean_a - mean_b
    pooled = math.sqrt(((len(a) - 1) * sd_a**2 + (len(b) - 1) * sd_b**2) / (len(a) + len(b) - 2))
    result: dict[str, Any] = {
        "a": {"n": len(a), "mean": mean_a, "std_dev": sd_a},
        "b": {"n": len(b), "mean": mean_b, "std_dev": sd_b},
        "diff": diff,
        "test": "welch_t",
    }
    if sd_a == 0 and sd_b == 0:
        # No spread on either side: t is undefined; the means are exactly what they are.
        result.update(
            t=None,
            df=None,
            p_value=1.0 if diff == 0 else 0.0,
            ci_95_diff=[diff, diff],
            cohen_d=None,
            hedges_g=None,
            significant=diff != 0,
            note="no variance on either side: the t statistic is undefined; the difference is exact",
        )
        return result
    with warnings.catch_warnings():
        # One side without spread is fine for Welch's test; scipy still warns about it.
        warnings.simplefilter("ignore", RuntimeWarning)
        test = _scipy_stats().ttest_ind(a, b, equal_var=False)
        ci = test.confidence_interval(0.95)
    d = diff / pooled if pooled > 0 else None
    correction = 1 - 3 / (4 * (len(a) + len(b)) - 9)
    result.update(
        t=float(test.statistic),
        df=float(test.df),
        p_value=float(test.pvalue),
        ci_95_diff=[float(ci.low), float(ci.high)],
        cohen_d=d,
        hedges_g=d * correction if d is not None else None,
        significant=bool(test.pvalue < 0.05),
    )
    return result


def effect_label(d: float | None) -> str:
    """Cohen's conventional reading of |d|."""
    if d is None:
        return "undefined"
    size = abs(d)
    if size < 0.2:
        return "negligible"
    if size < 0.5:
        return "small"
    if size < 0.8:
        return "medium"
    return "large"


def _scipy_stats() -> Any:
    """scipy.stats, imported on first use: it takes most of a second, and every
    ``alc-mcp`` process would pay it at start-up, evaluating or not."""
    from scipy import stats

    return stats
