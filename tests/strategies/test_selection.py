"""The bundled selection and generation strategies: rank, triad, ucb, sot, decompose.

Each runs through the real MCP server with a scripted host (tests/strategies/harness.py).
For every strategy the tests check that a cooperative host gets the right answer, that
the round trips follow the strategy's parallel structure, that a host answering only in
prose still gets a completed run with a sensible fallback, and that every input listed
in ``M.meta.inputs`` changes what the strategy does.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import Host
from tests.strategies.harness import PROSE, Run, advise, prose

pytestmark = pytest.mark.anyio

STRATEGIES = ("rank", "triad", "ucb", "sot", "decompose")

#: What each strategy declares in M.meta.inputs. A knob added without a test below fails here.
INPUTS = {
    "rank": {"task", "n", "criteria", "debias"},
    "triad": {"task", "rounds", "proponent", "opponent", "judge"},
    "ucb": {"task", "k", "iterations", "c"},
    "sot": {"task", "max_points", "polish"},
    "decompose": {"task", "max_subtasks"},
}


def sizes(run: Run) -> list[int]:
    """Queries per pause: the strategy's round-trip structure."""
    return [len(pause) for pause in run.pauses]


def systems(run: Run, pause: int) -> list[str | None]:
    return [q.get("system") for q in run.pauses[pause]]


def prompts(run: Run, pause: int) -> list[str]:
    return [q["prompt"] for q in run.pauses[pause]]


# --- packaging ---------------------------------------------------------------------------


async def test_pkg_list_shows_each_strategy_as_bundled(host: Host) -> None:
    listing = await host.ok("alc_pkg_list")
    entries = {e["name"]: e for e in listing["packages"] if e["name"] in STRATEGIES}
    assert set(entries) == set(STRATEGIES)
    categories = {"rank": "selection", "triad": "selection", "ucb": "selection"}
    for name, entry in entries.items():
        assert entry["source"] == "bundled"
        assert entry["version"] == "1.0.0"
        assert entry["category"] == categories.get(name, "generation")
        assert len(entry["description"]) > 40
        inputs = entry["inputs"]
        assert set(inputs) == INPUTS[name]
        assert inputs["task"] == {
            "type": "string",
            "required": True,
            "description": inputs["task"]["description"],
        }
        for knob, spec in inputs.items():
            assert spec["description"], (name, knob)
            if knob != "task":
                assert "default" in spec, (name, knob)


async def test_meta_cites_the_papers(host: Host) -> None:
    code = """
    local out = {}
    for _, name in ipairs({'rank', 'triad', 'ucb', 'sot', 'decompose'}) do
      out[name] = require(name).meta.paper
    end
    return out
    """
    papers = (await host.run(code))["result"]
    assert "2306.17563" in papers["rank"]["url"]
    assert "1805.00899" in papers["triad"]["url"]
    assert papers["ucb"]["title"] == "Finite-time Analysis of the Multiarmed Bandit Problem"
    assert "2307.15337" in papers["sot"]["url"]
    assert "2210.02406" in papers["decompose"]["url"]
    for paper in papers.values():
        assert set(paper) == {"title", "authors", "year", "url"}


@pytest.mark.parametrize("name", STRATEGIES)
async def test_progress_is_reported_at_each_stage(host: Host, name: str) -> None:
    # Every pause is its own stage, and a last "done" step follows the final one.
    reply = await host.ok("alc_advice", strategy=name, task="Pick a colour")
    seen = []
    while reply["status"] == "needs_response":
        status = await host.ok("alc_status", session_id=reply["session_id"])
        progress = status["metrics"]["progress"]
        assert progress["message"]
        seen.append((progress["step"], progress["total"]))
        queries = reply.get("queries") or [{"id": reply["query_id"]}]
        responses = [{"query_id": q["id"], "response": PROSE} for q in queries]
        reply = await host.ok("alc_continue", session_id=reply["session_id"], responses=responses)
    assert reply["status"] == "completed"
    assert seen == [(step, len(seen) + 1) for step in range(1, len(seen) + 1)]


async def test_a_missing_task_is_a_clear_error(host: Host) -> None:
    for name in STRATEGIES:
        message = await host.error("alc_advice", strategy=name, task="  ")
        assert f"strategy '{name}' needs the input `task`" in message
        # Called from Lua (alc_run, alc.pipe, alc.fork), the strategy says it itself.
        reply = await host.run(f"return require('{name}').run({{task = '  '}})")
        assert reply["status"] == "error"
        assert f"{name}: ctx.task must be a non-empty string" in reply["error"]


@pytest.mark.parametrize(
    ("name", "opts", "structure"),
    [
        ("rank", {"n": None, "debias": "maybe"}, [4, 2, 1]),
        ("rank", {"n": "2"}, [2, 1]),
        ("triad", {"judge": 42}, [2, 1]),
        ("ucb", {"k": "3", "iterations": 0, "c": "0.5"}, [3, 3]),
        ("sot", {"max_points": 1, "polish": "no"}, [1, 1]),
        ("decompose", {"max_subtasks": None}, [1, 1, 1]),
    ],
)
async def test_null_or_numeric_text_knobs_are_read(
    host: Host, name: str, opts: dict[str, Any], structure: list[int]
) -> None:
    # null means the default, "3" means 3; unusable flags and texts mean the default.
    run = await advise(host, name, "Pick a colour", prose, opts)
    assert run.final["status"] == "completed"
    assert sizes(run) == structure


@pytest.mark.parametrize(
    ("name", "opts", "message"),
    [
        ("rank", {"n": "lots"}, 'rank: n must be a whole number from 1 to 32 (got "lots")'),
        ("rank", {"n": 100}, "rank: n must be a whole number from 1 to 32 (got 100)"),
        ("triad", {"rounds": 0}, "triad: rounds must be a whole number from 1 to"),
        ("ucb", {"iterations": -2}, "ucb: iterations must be a whole number from 0 to"),
        ("ucb", {"c": "wide"}, 'ucb: c must be a number of at least 0 (got "wide")'),
        ("sot", {"max_points": 0}, "sot: max_points must be a whole number from 1 to"),
        ("decompose", {"max_subtasks": 17}, "decompose: max_subtasks must be a whole number from 1 to 16"),
    ],
)
async def test_out_of_range_knobs_are_refused(
    host: Host, name: str, opts: dict[str, Any], message: str
) -> None:
    reply = await host.ok("alc_advice", strategy=name, task="Pick a colour", opts=opts)
    assert reply["status"] == "error"
    assert message in reply["error"]


# --- rank ----------------------------------------------------------------------------------

QUALITY = {1: 3, 2: 9, 3: 5, 4: 7, 5: 4, 6: 8, 7: 1, 8: 6}


def between(text: str, start: str, end: str) -> str:
    match = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    assert match, (start, text)
    return match.group(1)


def quality_of(candidate: str) -> int:
    return int(re.search(r"quality (\d+)", candidate).group(1))  # type: ignore[union-attr]


def rank_host(verdict: str = "Both are fine; the stronger one is clear.\nWinner: {}") -> Any:
    """Candidates are 'Answer i (quality q)'; the judge prefers the higher quality."""

    def answer(prompt: str, system: str | None) -> str:
        if "impartial judge" in (system or ""):
            a = quality_of(between(prompt, "[Response A]", "[End of Response A]"))
            b = quality_of(between(prompt, "[Response B]", "[End of Response B]"))
            return verdict.format("A" if a >= b else "B")
        i = int(re.search(r"attempt (\d+) of", prompt).group(1))  # type: ignore[union-attr]
        return f"Answer {i} (quality {QUALITY[i]})"

    return answer


async def test_rank_picks_the_best_candidate_in_a_four_way_bracket(host: Host) -> None:
    run = await advise(host, "rank", "Name a prime.", rank_host())
    assert sizes(run) == [4, 2, 1]
    result = run.result
    assert result["winner"] == 2
    assert result["answer"] == "Answer 2 (quality 9)"
    assert result["candidates"] == [f"Answer {i} (quality {QUALITY[i]})" for i in range(1, 5)]
    first, final = result["bracket"]
    assert [(m["a"], m["b"], m["winner"]) for m in first["matches"]] == [(1, 2, 2), (3, 4, 4)]
    assert [(m["a"], m["b"], m["winner"]) for m in final["matches"]] == [(2, 4, 2)]
    assert all(m["decided"] for m in first["matches"] + final["matches"])
    # Every candidate is asked the task; every judge prompt states the default criteria.
    assert all("Name a prime." in p for p in run.prompts)
    assert all("correctness, completeness and clarity" in p for p in prompts(run, 1))


@pytest.mark.parametrize(
    ("n", "structure", "winner"),
    [(1, [1], 1), (2, [2, 1], 2), (3, [3, 1, 1], 2), (5, [5, 1, 2, 1], 2), (8, [8, 4, 2, 1], 2)],
)
async def test_rank_n_sets_the_batch_and_the_rounds(
    host: Host, n: int, structure: list[int], winner: int
) -> None:
    run = await advise(host, "rank", "Name a prime.", rank_host(), {"n": n})
    assert sizes(run) == structure
    assert run.result["winner"] == winner
    assert len(run.result["candidates"]) == n
    assert len(run.result["bracket"]) == len(structure) - 1


async def test_rank_gives_byes_in_the_first_round_only(host: Host) -> None:
    run = await advise(host, "rank", "Name a prime.", rank_host(), {"n": 6})
    assert sizes(run) == [6, 2, 2, 1]
    first, second, third = run.result["bracket"]
    assert first["byes"] == [1, 2]
    assert [(m["a"], m["b"]) for m in first["matches"]] == [(3, 4), (5, 6)]
    assert "byes" not in second and "byes" not in third
    assert [(m["a"], m["b"], m["winner"]) for m in second["matches"]] == [(1, 2, 2), (4, 6, 6)]
    assert run.result["winner"] == 2


@pytest.mark.parametrize(
    "verdict",
    [
        "Winner: {}",
        "The winner is **{}**.",
        "**Winner:** Response {}",
        "{}",
        "**{}**",
        "Response A is thorough, but on balance I prefer Response {}.",
        "Let me think. Winner: A? No. Final: winner: {}",
    ],
)
async def test_rank_reads_verdicts_in_many_shapes(host: Host, verdict: str) -> None:
    # Candidate 2 is better, so every shape must be read as "B".
    run = await advise(host, "rank", "Name a prime.", rank_host(verdict), {"n": 2})
    assert run.result["winner"] == 2
    assert run.result["bracket"][0]["matches"][0]["decided"] is True


async def test_rank_keeps_the_first_candidate_when_replies_are_prose(host: Host) -> None:
    run = await advise(host, "rank", "Name a prime.", prose)
    assert sizes(run) == [4, 2, 1]
    assert run.result["winner"] == 1
    assert run.result["answer"] == PROSE
    matches = [m for r in run.result["bracket"] for m in r["matches"]]
    assert matches and not any(m["decided"] for m in matches)
    assert all(m["verdicts"] == ["unparsed"] for m in matches)


async def test_rank_criteria_reach_the_judge(host: Host) -> None:
    run = await advise(host, "rank", "Name a prime.", rank_host(), {"n": 2, "criteria": "brevity above all"})
    (judge,) = run.pauses[1]
    assert "judged on brevity above all" in judge["prompt"]
    assert "correctness, completeness" not in judge["prompt"]


async def test_rank_debias_judges_both_orders_in_the_same_pause(host: Host) -> None:
    run = await advise(host, "rank", "Name a prime.", rank_host(), {"debias": True})
    assert sizes(run) == [4, 4, 2]
    assert run.result["winner"] == 2
    first = run.pauses[1]
    # The second query of each match shows the same two answers the other way round.
    assert between(first[0]["prompt"], "[Response A]", "[End of Response A]") == between(
        first[1]["prompt"], "[Response B]", "[End of Response B]"
    )
    assert all(
        m["verdicts"] == [m["winner"], m["winner"]] for r in run.result["bracket"] for m in r["matches"]
    )


async def test_rank_debias_cancels_a_judge_that_always_picks_the_first(host: Host) -> None:
    def biased(prompt: str, system: str | None) -> str:
        return "Winner: A" if "impartial judge" in (system or "") else rank_host()(prompt, system)

    plain = await advise(host, "rank", "Name a prime.", biased, {"n": 2})
    assert plain.result["bracket"][0]["matches"][0]["decided"] is True
    debiased = await advise(host, "rank", "Name a prime.", biased, {"n": 2, "debias": True})
    (match,) = debiased.result["bracket"][0]["matches"]
    assert match["verdicts"] == [1, 2]
    assert match["decided"] is False
    assert debiased.result["winner"] == 1


# --- triad ---------------------------------------------------------------------------------

JUDGEMENT = (
    "VERDICT: OPPONENT\nANSWER: No; the cache would go stale.\n"
    "REASONING: The opponent's point about staleness stood."
)


def triad_host(judgement: str = JUDGEMENT) -> Any:
    def answer(prompt: str, system: str | None) -> str:
        system = system or ""
        rounds = re.search(r"Round (\d+) of", prompt)
        if "judge" in system:
            return judgement
        side = "PRO" if "proponent" in system else "CON"
        return f"{side} argument in round {rounds.group(1) if rounds else '?'}"

    return answer


async def test_triad_debates_then_the_judge_decides(host: Host) -> None:
    run = await advise(host, "triad", "Should we cache every query?", triad_host())
    assert sizes(run) == [2, 1]
    pro, con = systems(run, 0)
    assert "proponent" in pro and "FOR" in pro  # type: ignore[operator]
    assert "opponent" in con and "AGAINST" in con  # type: ignore[operator]
    result = run.result
    assert result["verdict"] == "opponent"
    assert result["answer"] == "No; the cache would go stale."
    assert result["reasoning"] == "The opponent's point about staleness stood."
    assert result["rounds"] == [
        {"proponent": "PRO argument in round 1", "opponent": "CON argument in round 1"}
    ]
    (judge,) = run.pauses[1]
    assert "PRO argument in round 1" in judge["prompt"] and "CON argument in round 1" in judge["prompt"]


async def test_triad_rounds_add_one_pause_each_and_the_sides_answer_each_other(host: Host) -> None:
    run = await advise(host, "triad", "Should we cache every query?", triad_host(), {"rounds": 3})
    assert sizes(run) == [2, 2, 2, 1]
    # Round 1 is blind; from round 2 on each side reads everything said before.
    assert not any("argument in round" in p for p in prompts(run, 0))
    for p in prompts(run, 2):
        assert "PRO argument in round 2" in p and "CON argument in round 2" in p
        assert "argument in round 3" not in p
    assert len(run.result["rounds"]) == 3
    assert run.result["verdict"] == "opponent"


async def test_triad_roles_set_each_system_prompt(host: Host) -> None:
    opts = {
        "proponent": "Defend Postgres.",
        "opponent": "Defend SQLite.",
        "judge": "You are the CTO, a judge.",
    }
    run = await advise(host, "triad", "Which database?", triad_host(), opts)
    assert systems(run, 0) == ["Defend Postgres.", "Defend SQLite."]
    assert systems(run, 1) == ["You are the CTO, a judge."]


@pytest.mark.parametrize(
    ("judgement", "verdict", "answer"),
    [
        (
            '{"verdict": "proponent", "reasoning": "Stronger evidence."}',
            "proponent",
            "PRO argument in round 1",
        ),
        ("**VERDICT:** **Proponent**\n**ANSWER:** Yes.\n**REASONING:** Fine.", "proponent", "Yes."),
        ("Having weighed both, the proponet wins this one.", "proponent", "PRO argument in round 1"),
        ("The opponent made the better case.", "opponent", "CON argument in round 1"),
    ],
)
async def test_triad_reads_judgements_in_other_shapes(
    host: Host, judgement: str, verdict: str, answer: str
) -> None:
    run = await advise(host, "triad", "Should we cache every query?", triad_host(judgement))
    assert run.result["verdict"] == verdict
    assert run.result["answer"] == answer


async def test_triad_with_prose_is_undecided_but_completes(host: Host) -> None:
    run = await advise(host, "triad", "Should we cache every query?", prose, {"rounds": 2})
    assert sizes(run) == [2, 2, 1]
    assert run.result["verdict"] == "undecided"
    assert run.result["answer"] == PROSE
    assert run.result["reasoning"] == PROSE


# --- ucb -----------------------------------------------------------------------------------

#: Score of hypothesis i, and of its refinements (which keep the id and add "refined").
BASE = {1: 8, 2: 6, 3: 4, 4: 2, 5: 3}
REFINED = {1: 7, 2: 10, 3: 5, 4: 2, 5: 3}


def ucb_host(score_format: str = "Weakness: thin evidence.\nScore: {}/10") -> Any:
    def answer(prompt: str, system: str | None) -> str:
        system = system or ""
        if "propose hypotheses" in system:
            i = re.search(r"\(hypothesis (\d+) of \d+\)", prompt).group(1)  # type: ignore[union-attr]
            return f"H{i}"
        if "improve hypotheses" in system:
            current = re.search(r"Current hypothesis:\n(.*?)\n\n", prompt, re.S).group(1)  # type: ignore[union-attr]
            return current + " refined"
        hypothesis = re.search(r"Hypothesis:\n(.*?)\n\nEvaluate", prompt, re.S).group(1)  # type: ignore[union-attr]
        i = int(re.match(r"H(\d+)", hypothesis).group(1))  # type: ignore[union-attr]
        return score_format.format(REFINED[i] if "refined" in hypothesis else BASE[i])

    return answer


def refined_arms(run: Run) -> list[int]:
    """Which hypothesis each iteration refined, read from the refine prompts themselves."""
    arms = []
    for pause in run.pauses[2::2]:
        (query,) = pause
        arms.append(int(re.search(r"Current hypothesis:\nH(\d+)", query["prompt"]).group(1)))  # type: ignore[union-attr]
    return arms


async def test_ucb_explores_then_returns_the_best_hypothesis(host: Host) -> None:
    run = await advise(host, "ucb", "Why is the build slow?", ucb_host())
    assert sizes(run) == [3, 3, 1, 1, 1, 1, 1, 1]
    # UCB1 with c = 1: the leader first, then the under-explored arms (see the numbers in
    # ucb's header comment): H1 (refinement scores 7), H2 (refinement scores 10), H3.
    assert refined_arms(run) == [1, 2, 3]
    result = run.result
    assert result["answer"] == "H2 refined"
    assert result["best"] == 2 and result["score"] == 10
    assert [a["pulls"] for a in result["arms"]] == [2, 2, 2]
    assert [a["scores"] for a in result["arms"]] == [[8, 7], [6, 10], [4, 5]]
    # A refinement that scores worse does not replace the hypothesis.
    assert result["arms"][0]["hypothesis"] == "H1"
    assert result["arms"][0]["mean"] == pytest.approx(0.75)
    assert [h["arm"] for h in result["history"]] == [1, 2, 3]
    assert result["plays"] == 6 and result["unparsed_scores"] == 0


async def test_ucb_c_zero_keeps_refining_the_leader(host: Host) -> None:
    run = await advise(host, "ucb", "Why is the build slow?", ucb_host(), {"c": 0})
    assert refined_arms(run) == [1, 1, 1]
    assert run.result["answer"] == "H1"
    assert [a["pulls"] for a in run.result["arms"]] == [4, 1, 1]


async def test_ucb_large_c_spreads_refinement(host: Host) -> None:
    run = await advise(host, "ucb", "Why is the build slow?", ucb_host(), {"c": 5, "iterations": 5})
    # With a big bonus every arm is refined once before any is refined twice; among arms
    # played equally often the higher mean goes first (H2's refinement scored 10).
    assert refined_arms(run) == [1, 2, 3, 2, 1]


async def test_ucb_iterations_and_k_shape_the_run(host: Host) -> None:
    none = await advise(host, "ucb", "Why is the build slow?", ucb_host(), {"iterations": 0})
    assert sizes(none) == [3, 3]
    assert none.result["answer"] == "H1"
    assert none.result["history"] == []
    five = await advise(host, "ucb", "Why is the build slow?", ucb_host(), {"k": 5, "iterations": 1})
    assert sizes(five) == [5, 5, 1, 1]
    # Each generation call is steered to a different angle.
    assert len(set(prompts(five, 0))) == 5


@pytest.mark.parametrize("score_format", ["{}/10", "I'd give it {} out of 10.", "**Score**: **{}**", "{}"])
async def test_ucb_reads_scores_in_many_shapes(host: Host, score_format: str) -> None:
    run = await advise(host, "ucb", "Why is the build slow?", ucb_host(score_format), {"iterations": 1})
    assert [a["scores"] for a in run.result["arms"]] == [[8, 7], [6], [4]]
    assert run.result["unparsed_scores"] == 0


async def test_ucb_with_prose_scores_neutrally_and_completes(host: Host) -> None:
    run = await advise(host, "ucb", "Why is the build slow?", prose)
    assert sizes(run) == [3, 3, 1, 1, 1, 1, 1, 1]
    result = run.result
    assert result["unparsed_scores"] == 6
    assert all(set(a["scores"]) == {5} for a in result["arms"])
    assert result["answer"] == PROSE
    assert result["best"] == 1


# --- sot -----------------------------------------------------------------------------------

SKELETON = "Here is the skeleton:\n1. Measure first\n2. **Cache hot paths**\n3. Batch the writes"


def sot_host(skeleton: str = SKELETON, polished: str = "One flowing answer.") -> Any:
    def answer(prompt: str, system: str | None) -> str:
        system = system or ""
        if "plan answers" in system:
            return skeleton
        if "edit text" in system:
            return polished
        i = re.search(r"Write out point (\d+) only", prompt).group(1)  # type: ignore[union-attr]
        return f"Body of point {i}."

    return answer


async def test_sot_expands_every_point_in_one_pause_and_assembles_locally(host: Host) -> None:
    run = await advise(host, "sot", "How do I speed up my API?", sot_host())
    assert sizes(run) == [1, 3]
    result = run.result
    assert result["skeleton"] == ["Measure first", "Cache hot paths", "Batch the writes"]
    assert result["answer"] == (
        "1. Measure first: Body of point 1.\n"
        "2. Cache hot paths: Body of point 2.\n"
        "3. Batch the writes: Body of point 3."
    )
    assert result["skeleton_parsed"] is True
    for i, p in enumerate(prompts(run, 1), start=1):
        assert f"Write out point {i} only" in p and "3. Batch the writes" in p


async def test_sot_polish_adds_one_final_call(host: Host) -> None:
    run = await advise(host, "sot", "How do I speed up my API?", sot_host(), {"polish": True})
    assert sizes(run) == [1, 3, 1]
    assert run.result["answer"] == "One flowing answer."
    assert run.result["assembled"].startswith("1. Measure first: Body of point 1.")
    assert "Body of point 3." in run.pauses[2][0]["prompt"]


async def test_sot_max_points_caps_the_fan_out(host: Host) -> None:
    seven = "\n".join(f"{i}. Point number {i}" for i in range(1, 8))
    default = await advise(host, "sot", "Explain caching.", sot_host(seven))
    assert sizes(default) == [1, 5]
    assert "at most 5 points" in default.pauses[0][0]["prompt"]
    two = await advise(host, "sot", "Explain caching.", sot_host(seven), {"max_points": 2})
    assert sizes(two) == [1, 2]
    assert "at most 2 points" in two.pauses[0][0]["prompt"]
    assert two.result["skeleton"] == ["Point number 1", "Point number 2"]


async def test_sot_reads_bullets_and_other_list_shapes(host: Host) -> None:
    skeleton = "Skeleton\n\n- Alpha\n* Beta\n\u2022 Gamma\n**4.** Delta\nPoint 5: Epsilon\nA closing remark."
    run = await advise(host, "sot", "Explain caching.", sot_host(skeleton))
    assert run.result["skeleton"] == ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]


async def test_sot_with_prose_answers_directly_and_completes(host: Host) -> None:
    run = await advise(host, "sot", "Explain caching.", prose)
    assert sizes(run) == [1, 1]
    assert run.result["skeleton_parsed"] is False
    assert run.result["answer"] == PROSE


# --- decompose -----------------------------------------------------------------------------

PLAN = json.dumps({"subtasks": ["Pick the schema", "Write the migration", "Plan the rollout"]})


def decompose_host(plan: str = PLAN, merged: str = "The merged plan.") -> Any:
    def answer(prompt: str, system: str | None) -> str:
        system = system or ""
        if "plan work" in system:
            return plan
        if "integrate partial results" in system:
            return merged
        i = re.search(r"Solve subtask (\d+) only", prompt).group(1)  # type: ignore[union-attr]
        return f"Solution {i}."

    return answer


async def test_decompose_plans_solves_in_one_pause_and_merges(host: Host) -> None:
    run = await advise(host, "decompose", "Migrate the users table.", decompose_host())
    assert sizes(run) == [1, 3, 1]
    result = run.result
    assert result["answer"] == "The merged plan."
    assert result["subtasks"] == ["Pick the schema", "Write the migration", "Plan the rollout"]
    assert result["solutions"] == ["Solution 1.", "Solution 2.", "Solution 3."]
    assert result["plan_parsed"] is True
    for i, p in enumerate(prompts(run, 1), start=1):
        assert (
            f"Solve subtask {i} only" in p and "Migrate the users table." in p and "3. Plan the rollout" in p
        )
    (merge,) = run.pauses[2]
    assert all(f"Solution {i}." in merge["prompt"] for i in (1, 2, 3))


async def test_decompose_max_subtasks_caps_the_fan_out(host: Host) -> None:
    six = json.dumps([f"Step {i}" for i in range(1, 7)])
    default = await advise(host, "decompose", "Migrate.", decompose_host(six))
    assert sizes(default) == [1, 4, 1]
    assert "at most 4 subtasks" in default.pauses[0][0]["prompt"]
    two = await advise(host, "decompose", "Migrate.", decompose_host(six), {"max_subtasks": 2})
    assert sizes(two) == [1, 2, 1]
    assert "at most 2 subtasks" in two.pauses[0][0]["prompt"]
    assert two.result["subtasks"] == ["Step 1", "Step 2"]


@pytest.mark.parametrize(
    "plan",
    [
        'Sure! ```json\n[{"task": "Pick the schema"}, {"description": "Write the migration"}]\n```',
        "Plan:\n1. Pick the schema\n2) Write the migration",
        "- Pick the schema\n- Write the migration\nThat is all.",
        '{"steps": ["Pick the schema", "Write the migration"]}',
    ],
)
async def test_decompose_reads_plans_in_other_shapes(host: Host, plan: str) -> None:
    run = await advise(host, "decompose", "Migrate.", decompose_host(plan))
    assert run.result["subtasks"] == ["Pick the schema", "Write the migration"]
    assert sizes(run) == [1, 2, 1]


async def test_decompose_falls_back_to_the_sub_results_when_the_merge_is_empty(host: Host) -> None:
    run = await advise(host, "decompose", "Migrate.", decompose_host(merged="   "))
    assert "### Subtask 2: Write the migration\nSolution 2." in run.result["answer"]


async def test_decompose_with_prose_solves_the_task_whole_and_completes(host: Host) -> None:
    run = await advise(host, "decompose", "Migrate the users table.", prose)
    assert sizes(run) == [1, 1, 1]
    assert run.result["plan_parsed"] is False
    assert run.result["subtasks"] == ["Migrate the users table."]
    assert run.result["answer"] == PROSE
