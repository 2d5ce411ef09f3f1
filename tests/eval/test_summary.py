"""Summary statistics of an eval report (domain/evaluation.py), checked against direct
computations: mean, sample standard deviation, the t interval, pass@k, by tag."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from alc_mcp.domain.evaluation import pass_at_k, summarize


def report(*cases):
    return {
        "repeats": len(cases[0][2]),
        "cases": [
            {
                "index": i,
                "name": name,
                "tags": tags,
                "runs": [{"score": s, "passed": s >= 0.5} for s in scores],
            }
            for i, (name, tags, scores) in enumerate(cases, 1)
        ],
    }


def test_summary_numbers():
    data = report(
        ("a", ["x"], [1.0, 1.0, 0.0]), ("b", ["x", "y"], [0.0, 0.0, 1.0]), ("c", {}, [1.0, 0.5, 1.0])
    )
    summary = summarize(data)
    scores = [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.5, 1.0]
    mean = sum(scores) / 9
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / 8)
    assert summary["n"] == 9
    assert summary["mean"] == pytest.approx(mean)
    assert summary["std_dev"] == pytest.approx(sd)
    half = stats.t.ppf(0.975, 8) * sd / 3
    assert summary["ci_95"] == pytest.approx([mean - half, min(1.0, mean + half)])
    assert summary["passed"] == 6 and summary["pass_rate"] == pytest.approx(6 / 9)
    # pass@k per case: a 2/3, b 1/3, c 3/3.
    assert summary["pass@1"] == pytest.approx((2 / 3 + 1 / 3 + 1) / 3)
    assert summary["pass@2"] == pytest.approx((1 + (1 - 1 / 3) + 1) / 3)
    assert summary["pass@3"] == 1.0
    assert "pass@5" not in summary
    assert summary["by_tag"]["x"] == {"runs": 6, "passed": 3, "pass_rate": 0.5, "mean": 0.5}
    assert summary["by_tag"]["(untagged)"]["runs"] == 3
    assert [c["name"] for c in summary["per_case"]] == ["a", "b", "c"]


def test_pass_at_k_estimator():
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(10, 10, 3) == 1.0
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_a_single_run_has_a_point_interval_and_empty_reports_are_zero():
    one = summarize(report(("a", [], [0.7])))
    assert one["ci_95"] == [0.7, 0.7] and one["std_dev"] == 0.0
    empty = summarize({"cases": []})
    assert empty["n"] == 0 and empty["mean"] == 0.0 and empty["pass_rate"] == 0.0
