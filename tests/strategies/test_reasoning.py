"""The reasoning strategies (cot, sc, reflect, maieutic, calibrate, panel), driven through
the real MCP server by scripted hosts.

For each strategy: a cooperative host gets the right answer; the number of round trips
(pauses) and of queries per pause match the strategy's parallel structure; a host that
answers everything with unhelpful prose still gets a completed run with a sensible
fallback; every ``M.meta.inputs`` knob changes what happens; ``alc_pkg_list`` shows it.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest

from tests.conftest import Host
from tests.strategies import harness
from tests.strategies.harness import advise

pytestmark = pytest.mark.anyio

Responder = harness.Responder
PROSE = harness.PROSE


def cycling(*answers: str) -> Responder:
    """Answers in turn, whatever the prompt (the n-th query gets answers[n % len])."""
    counter = count()

    def respond(_prompt: str, _system: str | None) -> str:
        return answers[next(counter) % len(answers)]

    return respond


async def lua(host: Host, code: str) -> Any:
    """Run a short script (bundled packages are require-able) and return its result."""
    reply = await host.run(code)
    assert reply["status"] == "completed", reply
    return reply["result"]


def sizes(run: harness.Run) -> list[int]:
    return [len(pause) for pause in run.pauses]


# --------------------------------------------------------------------------- cot


async def test_cot_reasons_then_answers_in_one_call(host: Host) -> None:
    run = await advise(
        host,
        "cot",
        "Roger has 5 balls and buys 2 cans of 3 balls. How many balls does he have?",
        lambda p, s: "Roger starts with 5 balls.\n2 cans of 3 balls is 6 balls.\n5 + 6 = 11.\nAnswer: 11",
    )
    assert sizes(run) == [1]
    (query,) = run.pauses[0]
    assert "step by step" in query["prompt"] and "Answer:" in query["prompt"]
    assert "Roger has 5 balls" in query["prompt"]
    assert run.result["answer"] == "11"
    assert run.result["format_followed"] is True
    assert run.result["reasoning"].endswith("5 + 6 = 11.")


async def test_cot_unhelpful_prose_becomes_the_answer(host: Host) -> None:
    run = await advise(host, "cot", "What is 2 + 2?", harness.prose)
    assert run.final["status"] == "completed"
    assert run.round_trips == 1
    assert run.result["answer"] == PROSE
    assert run.result["format_followed"] is False


async def test_cot_examples_are_shown_as_worked_exemplars(host: Host) -> None:
    example = {"question": "Tom has 3 pens and loses 1.", "reasoning": "3 - 1 = 2.", "answer": "2"}
    with_examples = await advise(host, "cot", "Q?", cycling("Answer: 1"), {"examples": [example]})
    prompt = with_examples.pauses[0][0]["prompt"]
    assert "Q: Tom has 3 pens and loses 1.\nA: 3 - 1 = 2.\nAnswer: 2" in prompt
    assert prompt.index("Tom has 3 pens") < prompt.index("Q: Q?")
    zero_shot = await advise(host, "cot", "Q?", cycling("Answer: 1"))
    assert "worked examples" not in zero_shot.pauses[0][0]["prompt"]


async def test_cot_answer_extraction_is_tolerant(host: Host) -> None:
    cases = {
        "steps\nAnswer: 42": "42",
        "steps\n**Final answer:** Paris.": "Paris",
        "So the answer is 7.\nThat was easy.": "7",
        "We get \\boxed{3/4} in the end": "3/4",
        "steps\nAnswer:\n\n  blue  \n": "blue",
        "Answer: 1\nrethinking...\nFinal Answer - 2": "2",
        "   just some text   ": "just some text",
        "": "",
    }
    code = "local cot = require('cot')\nlocal out = {}\n"
    for i, reply in enumerate(cases, 1):
        code += f"out[{i}] = {{cot.extract_answer({lua_str(reply)})}}\n"
    code += "return out"
    results = await lua(host, code)
    assert [r[0] for r in results] == list(cases.values())
    assert [r[1] for r in results] == [True] * 6 + [False, False]


def lua_str(text: str) -> str:
    """A Lua long-bracket string literal holding ``text``."""
    level = "=" * 3
    assert f"]{level}]" not in text
    return f"[{level}[\n{text}]{level}]"


# --------------------------------------------------------------------------- sc


async def test_sc_samples_in_one_pause_and_takes_the_majority(host: Host) -> None:
    host_answers = cycling(
        "3 + 15 = 18\nAnswer: 18",
        "Adding up, the answer is $18.",
        "I slipped: 17\nAnswer: 17",
        "answer: 18.0",
        "**Answer:** 18 dollars",
    )
    run = await advise(host, "sc", "Janet earns $18. How much?", host_answers)
    assert sizes(run) == [5]
    # Independent samples of the same chain-of-thought prompt.
    assert len({q["prompt"] for q in run.pauses[0]}) == 5
    assert all("Janet earns $18" in q["prompt"] and "step by step" in q["prompt"] for q in run.pauses[0])
    result = run.result
    assert result["answer"] == "18"
    assert result["normalized"] == "18"
    assert result["votes"] == {"18": 4, "17": 1}
    assert result["agreement"] == pytest.approx(0.8)
    assert result["n"] == 5 and result["tie"] is False
    assert result["format_followed"] == 5


async def test_sc_unhelpful_prose_still_votes(host: Host) -> None:
    run = await advise(host, "sc", "Which is larger, 3 or 4?", harness.prose)
    assert run.final["status"] == "completed"
    assert sizes(run) == [5]
    assert run.result["answer"] == PROSE
    assert run.result["agreement"] == 1.0
    assert run.result["format_followed"] == 0


async def test_sc_n_sets_the_batch_size(host: Host) -> None:
    run = await advise(host, "sc", "Q?", cycling("Answer: A", "Answer: B", "Answer: B"), {"n": 3})
    assert sizes(run) == [3]
    assert run.result["answer"] == "B"
    assert run.result["agreement"] == pytest.approx(2 / 3)
    single = await advise(host, "sc", "Q?", cycling("Answer: A"), {"n": 1})
    assert sizes(single) == [1] and single.result["answer"] == "A"


async def test_sc_examples_reach_every_sample(host: Host) -> None:
    example = {"question": "2 + 2?", "reasoning": "Two and two make four.", "answer": "4"}
    run = await advise(host, "sc", "Q?", cycling("Answer: 1"), {"n": 2, "examples": [example]})
    assert all("Q: 2 + 2?\nA: Two and two make four.\nAnswer: 4" in q["prompt"] for q in run.pauses[0])


async def test_sc_ties_go_to_the_answer_seen_first(host: Host) -> None:
    run = await advise(host, "sc", "Q?", cycling("Answer: no", "Answer: yes"), {"n": 4})
    assert run.result["answer"] == "no"
    assert run.result["tie"] is True
    assert run.result["votes"] == {"no": 2, "yes": 2}


async def test_sc_normalisation(host: Host) -> None:
    cases = {
        "  Paris. ": "paris",
        "**PARIS**": "paris",
        "The answer is Paris": "paris",
        "Answer: (B)": "b",
        "18.0": "18",
        "+18": "18",
        "$1,800": "1800",
        "1,2": "1,2",
        "-0.50": "-0.5",
        "50%": "50",
        "3 apples": "3",
        "3 and 4": "3 and 4",
        "New   York  City!": "new york city",
    }
    code = "local sc = require('sc')\nlocal out = {}\n"
    for i, answer in enumerate(cases, 1):
        code += f"out[{i}] = sc.normalize({lua_str(answer)})\n"
    code += "return out"
    assert await lua(host, code) == list(cases.values())


# --------------------------------------------------------------------------- reflect


def reflect_host(critiques: list[str], draft: str = "draft", revision: str = "revision {n}") -> Responder:
    """Draft, then the given critiques in turn; revisions are numbered."""
    critique_iter = iter(critiques)
    revisions = count(1)

    def respond(prompt: str, system: str | None) -> str:
        assert system is not None
        if "reviewer" in system:
            return next(critique_iter)
        if "revise" in system:
            return revision.format(n=next(revisions))
        return draft

    return respond


async def test_reflect_revises_until_the_critique_is_satisfied(host: Host) -> None:
    responder = reflect_host(
        [
            "The capital is wrong: it is France's capital, not Germany's.\nVerdict: REVISE",
            "Correct and complete now.\nVerdict: DONE",
        ],
        draft="Paris is the capital of Germany.",
        revision="Paris is the capital of France.",
    )
    run = await advise(host, "reflect", "Which country is Paris the capital of?", responder)
    # draft, critique, revise, critique (satisfied).
    assert sizes(run) == [1, 1, 1, 1]
    result = run.result
    assert result["answer"] == "Paris is the capital of France."
    assert result["draft"] == "Paris is the capital of Germany."
    assert result["revisions"] == 1
    assert result["stopped"] == "critique_satisfied"
    assert [r["satisfied"] for r in result["rounds"]] == [False, True]
    # The reviser saw the draft and the feedback; the second critic saw the revision.
    revise_prompt, second_critique = run.prompts[2], run.prompts[3]
    assert "Paris is the capital of Germany." in revise_prompt and "not Germany's" in revise_prompt
    assert "Paris is the capital of France." in second_critique


async def test_reflect_stops_at_a_satisfied_first_critique(host: Host) -> None:
    run = await advise(host, "reflect", "T", reflect_host(["Nothing to change here."]))
    assert sizes(run) == [1, 1]  # draft, critique
    assert run.result["answer"] == "draft"
    assert run.result["revisions"] == 0
    assert run.result["rounds"][0]["detected_by"] == "phrase"


async def test_reflect_max_rounds_caps_the_rounds(host: Host) -> None:
    never = ["Still wrong.\nVerdict: REVISE"] * 10
    one = await advise(host, "reflect", "T", reflect_host(never), {"max_rounds": 1})
    # Stopping after the first critique: draft, critique, revise.
    assert sizes(one) == [1, 1, 1]
    assert one.result["answer"] == "revision 1"
    assert one.result["stopped"] == "max_rounds"
    two = await advise(host, "reflect", "T", reflect_host(never), {"max_rounds": 2})
    assert two.round_trips == 5
    assert two.result["answer"] == "revision 2" and two.result["revisions"] == 2
    # The second revision is told about the first round's feedback.
    assert "Round 1 feedback:\nStill wrong." in two.prompts[4]


async def test_reflect_unhelpful_prose_is_bounded_by_max_rounds(host: Host) -> None:
    run = await advise(host, "reflect", "Write a haiku about rain.", harness.prose)
    assert run.final["status"] == "completed"
    assert run.round_trips == 1 + 2 * 3  # the default max_rounds
    assert run.result["answer"] == PROSE
    assert run.result["stopped"] == "max_rounds"


async def test_reflect_stop_detection(host: Host) -> None:
    cases = {
        "Looks fine.\nVerdict: DONE": True,
        "verdict - done.": True,
        "**Verdict:** REVISE": False,
        "Verdict: REVISE, it is not done yet": False,
        "Verdict: DOEN": True,
        "Verdict: the draft does not hold up": False,
        "Verdict: approved": True,
        "No changes needed.": True,
        "LGTM": True,
        "Add a citation for the second claim.": False,
        harness.PROSE: False,
        "": False,
    }
    code = "local r = require('reflect')\nlocal out = {}\n"
    for i, critique in enumerate(cases, 1):
        code += f"out[{i}] = (r.is_satisfied({lua_str(critique)}))\n"
    code += "return out"
    assert await lua(host, code) == list(cases.values())


# --------------------------------------------------------------------------- panel


def panel_host(final: str = "Some synthesis.\nFinal answer: PostgreSQL") -> Responder:
    def respond(prompt: str, system: str | None) -> str:
        assert system is not None
        if "moderator" in system:
            return final
        role = re.match(r"You are the (.+?) on a panel", system)
        assert role, system
        return f"As {role.group(1)}: it depends.\nAnswer: PostgreSQL ({role.group(1)})"

    return respond


async def test_panel_perspectives_in_one_pause_then_a_moderator(host: Host) -> None:
    run = await advise(host, "panel", "Which database for a small web app?", panel_host())
    assert sizes(run) == [3, 1]
    systems = [q["system"] for q in run.pauses[0]]
    for role, system in zip(
        ["Domain expert", "Skeptical critic", "Pragmatic practitioner"], systems, strict=True
    ):
        assert system.startswith(f"You are the {role} on a panel of 3")
    assert "edge cases" in systems[1]  # the default roles carry their own focus
    moderator = run.pauses[1][0]
    assert "moderator" in moderator["system"]
    for role in ("Domain expert", "Skeptical critic", "Pragmatic practitioner"):
        assert f"### {role}\nAs {role}: it depends." in moderator["prompt"]
    result = run.result
    assert result["answer"] == "PostgreSQL"
    assert result["format_followed"] is True
    assert result["roles"] == ["Domain expert", "Skeptical critic", "Pragmatic practitioner"]
    assert result["perspectives"][1]["answer"] == "PostgreSQL (Skeptical critic)"


async def test_panel_unhelpful_prose_keeps_the_synthesis(host: Host) -> None:
    run = await advise(host, "panel", "Should we rewrite it in Rust?", harness.prose)
    assert run.final["status"] == "completed"
    assert sizes(run) == [3, 1]
    assert run.result["answer"] == PROSE
    assert run.result["format_followed"] is False


async def test_panel_roles_choose_the_panel(host: Host) -> None:
    run = await advise(host, "panel", "Build a dam?", panel_host(), {"roles": ["Economist", "Ecologist"]})
    assert sizes(run) == [2, 1]
    systems = [q["system"] for q in run.pauses[0]]
    assert systems[0].startswith("You are the Economist on a panel of 2 (Economist, Ecologist).")
    assert systems[1].startswith("You are the Ecologist on a panel of 2")
    assert run.result["roles"] == ["Economist", "Ecologist"]
    # Roles may carry their own focus; an empty list falls back to the default panel.
    focused = await advise(
        host,
        "panel",
        "Build a dam?",
        panel_host(),
        {"roles": [{"name": "Hydrologist", "focus": "Think about river flow."}]},
    )
    assert sizes(focused) == [1, 1]
    assert focused.pauses[0][0]["system"].endswith("Think about river flow.")
    fallback = await advise(host, "panel", "Build a dam?", panel_host(), {"roles": []})
    assert sizes(fallback) == [3, 1]


# --------------------------------------------------------------------------- calibrate


def calibrate_host(first: str, then: Responder | None = None) -> Responder:
    """`first` answers the confidence query; later queries go to `then`."""
    calls = count()

    def respond(prompt: str, system: str | None) -> str:
        if next(calls) == 0:
            assert "Confidence: <0-100>" in prompt
            return first
        assert then is not None, "the strategy escalated unexpectedly"
        return then(prompt, system)

    return respond


async def test_calibrate_keeps_a_confident_answer(host: Host) -> None:
    run = await advise(
        host, "calibrate", "Capital of France?", calibrate_host("Answer: Paris\nConfidence: 95")
    )
    assert sizes(run) == [1]
    result = run.result
    assert result["answer"] == "Paris"
    assert result["confidence"] == 95
    assert result["escalated"] is False
    assert "95 >= threshold 70" in result["reason"]


async def test_calibrate_without_an_answer_line_keeps_the_reply(host: Host) -> None:
    responder = calibrate_host("It is Paris, of course.\nMy confidence: 90%")
    run = await advise(host, "calibrate", "Capital of France?", responder)
    assert sizes(run) == [1]
    assert run.result["answer"] == "It is Paris, of course."
    assert run.result["confidence"] == 90


async def test_calibrate_escalates_low_confidence_to_sc(host: Host) -> None:
    responder = calibrate_host(
        "Answer: 11\nConfidence: 40", cycling("Answer: 12", "Answer: 12", "Answer: 11")
    )
    run = await advise(host, "calibrate", "Hard sum?", responder, {"n": 3})
    assert sizes(run) == [1, 3]  # the sc samples go out together, with calibrate's n
    result = run.result
    assert result["escalated"] is True
    assert result["escalated_to"] == "sc"
    assert result["initial_answer"] == "11" and result["confidence"] == 40
    assert result["answer"] == "12"
    assert result["escalation"]["votes"] == {"12": 2, "11": 1}
    assert "confidence 40 < threshold 70" in result["reason"]


async def test_calibrate_threshold_flips_escalation(host: Host) -> None:
    lenient = await advise(
        host, "calibrate", "Q?", calibrate_host("Answer: A\nConfidence: 40"), {"threshold": 30}
    )
    assert sizes(lenient) == [1] and lenient.result["escalated"] is False
    strict = await advise(
        host,
        "calibrate",
        "Q?",
        calibrate_host("Answer: A\nConfidence: 95", cycling("Answer: B")),
        {"threshold": 99, "n": 2},
    )
    assert sizes(strict) == [1, 2] and strict.result["escalated"] is True
    assert strict.result["answer"] == "B"


async def test_calibrate_escalate_to_panel(host: Host) -> None:
    responder = calibrate_host("Answer: maybe\nConfidence: 20", panel_host("Final answer: decided"))
    run = await advise(
        host, "calibrate", "Q?", responder, {"escalate_to": "panel", "roles": ["Optimist", "Pessimist"]}
    )
    assert sizes(run) == [1, 2, 1]  # calibrate, then panel's two round trips with calibrate's roles
    assert run.result["escalated_to"] == "panel"
    assert run.result["answer"] == "decided"
    assert run.result["escalation"]["roles"] == ["Optimist", "Pessimist"]


async def test_calibrate_unhelpful_prose_escalates(host: Host) -> None:
    run = await advise(host, "calibrate", "Is P = NP?", harness.prose)
    assert run.final["status"] == "completed"
    assert sizes(run) == [1, 5]  # no readable confidence counts as 0: escalate to sc (n=5)
    result = run.result
    assert "confidence" not in result  # nil: nothing readable
    assert result["escalated"] is True
    assert "no readable confidence" in result["reason"]
    assert result["answer"] == PROSE


async def test_calibrate_unknown_escalation_is_a_clear_error(host: Host) -> None:
    reply = await host.ok(
        "alc_advice", strategy="calibrate", task="Q?", opts={"escalate_to": "no_such_thing"}
    )
    final = await host.ok(
        "alc_continue",
        session_id=reply["session_id"],
        responses=[{"query_id": "q-0", "response": "Answer: A\nConfidence: 10"}],
    )
    assert final["status"] == "error"
    assert "cannot escalate to 'no_such_thing'" in final["error"]


async def test_calibrate_confidence_parsing(host: Host) -> None:
    cases: dict[str, float | None] = {
        "Answer: A\nConfidence: 85": 85,
        "Answer: A\nConfidence (0-100): 85": 85,
        "Answer: A\nConfidence: 85%": 85,
        "Answer: A\nConfidence: 72/100": 72,
        "Answer: A\nconfidence = 0.6": 60,
        "Answer: A\nConfidence: 1.0": 100,
        "Answer: A\nConfidence: 150": 100,
        "I am about 30% sure.": 30,
        "Answer: A\nConfidence: high": 80,
        "Answer: A\nConfidence: very low": 10,
        harness.PROSE: None,
    }
    code = "local c = require('calibrate')\nlocal out = {}\n"
    for i, reply in enumerate(cases, 1):
        code += f"out[{i}] = c.parse_confidence({lua_str(reply)}) or -1\n"
    code += "return out"
    expected = [-1 if v is None else v for v in cases.values()]
    assert await lua(host, code) == expected


# --------------------------------------------------------------------------- maieutic


def maieutic_host(explanations: dict[tuple[str, str], str], beliefs: dict[str, str]) -> Responder:
    """explanations[(claim, side)] answers "explain why <claim> is <side>";
    beliefs[statement] answers "is <statement> true or false?" (negations included)."""

    def respond(prompt: str, _system: str | None) -> str:
        judged = re.search(r"Statement: (.*)\n\nReply with one word", prompt, re.S)
        if judged:
            return beliefs[judged.group(1)]
        claim = re.search(r"Claim or question:\n(.*?)\n\nSuppose the answer is (True|False)", prompt, re.S)
        assert claim, prompt
        return explanations[(claim.group(1), claim.group(2))]

    return respond


WHALE = "A whale is a fish."
WHALE_TRUE = "Whales are fish because they breathe through gills."
WHALE_FALSE = "Whales are mammals: they breathe air and nurse their young."


def whale_host(**overrides: str) -> Responder:
    beliefs = {
        WHALE: "False",
        WHALE_TRUE: "False.",
        f"It is not the case that: {WHALE_TRUE}": "True",
        WHALE_FALSE: "True",
        f"It is not the case that: {WHALE_FALSE}": "False",
    }
    beliefs.update(overrides)
    return maieutic_host({(WHALE, "True"): WHALE_TRUE, (WHALE, "False"): WHALE_FALSE}, beliefs)


async def test_maieutic_picks_the_consistently_supported_answer(host: Host) -> None:
    run = await advise(host, "maieutic", WHALE, whale_host())
    # Root explanations for True and False plus the direct answer, then 2 probes per explanation.
    assert sizes(run) == [3, 4]
    result = run.result
    assert result["answer"] == "False"
    assert result["decided_by"] == "explanations"
    assert result["support"] == {"True": 0, "False": 1}
    rejected, believed = result["explanations"]
    assert rejected["supports"] == "True" and rejected["integral"] and rejected["value"] is False
    assert believed["explanation"] == WHALE_FALSE and believed["integral"] and believed["value"] is True


async def test_maieutic_tied_explanations_fall_back_to_the_direct_answer(host: Host) -> None:
    # Both explanations look believable: the model's direct answer decides.
    run = await advise(
        host,
        "maieutic",
        WHALE,
        whale_host(**{WHALE_TRUE: "True", f"It is not the case that: {WHALE_TRUE}": "False"}),
    )
    assert run.result["support"] == {"True": 1, "False": 1}
    assert run.result["answer"] == "False"
    assert run.result["decided_by"].startswith("direct answer")


async def test_maieutic_unhelpful_prose_is_undetermined(host: Host) -> None:
    run = await advise(host, "maieutic", WHALE, harness.prose)
    assert run.final["status"] == "completed"
    assert sizes(run) == [3, 4]
    assert run.result["answer"] == "Undetermined"
    assert run.result["direct_answer"] == "none"


# E_T is not logically integral (the model affirms both it and its negation); at depth 2
# it is explained further, and its children settle it.
CHILD_T = "Gills are how fish breathe."
CHILD_F = "Whales have blowholes and lungs, not gills."
UNSURE = {
    WHALE_TRUE: "True",
    f"It is not the case that: {WHALE_TRUE}": "True",
    CHILD_T: "True",
    f"It is not the case that: {CHILD_T}": "False",
    CHILD_F: "True",
    f"It is not the case that: {CHILD_F}": "False",
}


def unsure_host() -> Responder:
    host = whale_host(**UNSURE)
    children = {(WHALE_TRUE, "True"): CHILD_T, (WHALE_TRUE, "False"): CHILD_F}

    def respond(prompt: str, system: str | None) -> str:
        for (claim, side), text in children.items():
            if f"Claim or question:\n{claim}\n\nSuppose the answer is {side}" in prompt:
                return text
        return host(prompt, system)

    return respond


async def test_maieutic_depth_explains_unreliable_beliefs_further(host: Host) -> None:
    shallow = await advise(host, "maieutic", WHALE, unsure_host())
    assert sizes(shallow) == [3, 4]
    assert shallow.result["explanations"][0]["integral"] is False
    assert "children" not in shallow.result["explanations"][0]

    deep = await advise(host, "maieutic", WHALE, unsure_host(), {"depth": 2})
    # ... + explanations of the one unreliable node (True and False) + their 4 probes.
    assert sizes(deep) == [3, 4, 2, 4]
    unreliable = deep.result["explanations"][0]
    assert [c["explanation"] for c in unreliable["children"]] == [CHILD_T, CHILD_F]
    assert "value" not in unreliable  # one child believed each way: still unresolved (nil)
    assert deep.result["answer"] == "False"

    # A deeper limit does not add pauses once every belief is consistent.
    settled = await advise(host, "maieutic", WHALE, whale_host(), {"depth": 3})
    assert sizes(settled) == [3, 4]


async def test_maieutic_breadth_sets_the_explanations_per_side(host: Host) -> None:
    def respond(prompt: str, _system: str | None) -> str:
        if "Reply with one word" in prompt:
            return "False" if "not the case" in prompt else "True"
        side = re.search(r"Suppose the answer is (True|False)", prompt)
        number = re.search(r"explanation (\d) of 2", prompt)
        assert side and number, prompt
        return f"{side.group(1)} reason {number.group(1)}"

    run = await advise(host, "maieutic", "Is the sky blue?", respond, {"breadth": 2})
    assert sizes(run) == [5, 8]
    assert [e["explanation"] for e in run.result["explanations"]] == [
        "True reason 1",
        "True reason 2",
        "False reason 1",
        "False reason 2",
    ]
    # Every explanation is believed: 2 against 2, and the direct answer ("True") decides.
    assert run.result["support"] == {"True": 2, "False": 2}
    assert run.result["answer"] == "True"


async def test_maieutic_judgement_parsing(host: Host) -> None:
    cases = {
        "True": True,
        "**False.**": False,
        "yes": True,
        "It is false that whales are fish.": False,
        "I think it's true, though some disagree.": True,
        "Not true; it is false.": False,
        harness.PROSE: None,
    }
    code = "local m = require('maieutic')\nlocal out = {}\n"
    for i, reply in enumerate(cases, 1):
        code += f"local v = m.parse_judgement({lua_str(reply)})\nout[{i}] = v == nil and 'nil' or v\n"
    code += "return out"
    assert await lua(host, code) == ["nil" if v is None else v for v in cases.values()]


# --------------------------------------------------------------------------- all six

STRATEGIES: dict[str, tuple[str, set[str], str]] = {
    # name: (category, knobs besides task, arXiv id of the paper followed)
    "cot": ("reasoning", {"examples"}, "2201.11903"),
    "sc": ("selection", {"n", "examples"}, "2203.11171"),
    "reflect": ("reasoning", {"max_rounds"}, "2303.17651"),
    "maieutic": ("reasoning", {"depth", "breadth"}, "2205.11822"),
    "calibrate": ("reasoning", {"threshold", "escalate_to"}, "2306.13063"),
    "panel": ("synthesis", {"roles"}, "2307.05300"),
}


async def test_pkg_list_shows_the_reasoning_strategies(host: Host) -> None:
    listing = await host.ok("alc_pkg_list")
    by_name = {p["name"]: p for p in listing["packages"] if p["source"] == "bundled"}
    for name, (category, knobs, _paper) in STRATEGIES.items():
        entry = by_name[name]
        assert entry["active"] is True
        assert entry["version"] == "1.0.0"
        assert entry["category"] == category
        assert entry["description"]
        assert "error" not in entry
        # The knobs the tests above exercise are exactly the declared inputs.
        assert set(entry["inputs"]) == knobs | {"task"}
        assert entry["inputs"]["task"]["required"] is True
        for knob in knobs:
            assert "default" in entry["inputs"][knob] and entry["inputs"][knob]["description"]


@pytest.mark.parametrize("name", list(STRATEGIES))
async def test_meta_cites_the_paper(host: Host, name: str) -> None:
    meta = await lua(host, f"return require('{name}').meta")
    assert meta["name"] == name
    paper = meta["paper"]
    assert paper["title"] and paper["authors"] and isinstance(paper["year"], int)
    assert paper["url"] == f"https://arxiv.org/abs/{STRATEGIES[name][2]}"


@pytest.mark.parametrize("name", list(STRATEGIES))
async def test_progress_is_reported_at_the_first_pause(host: Host, name: str) -> None:
    reply = await host.ok("alc_advice", strategy=name, task="Is a whale a fish?", opts={})
    assert reply["status"] == "needs_response"
    status = await host.ok("alc_status", session_id=reply["session_id"])
    progress = status["metrics"]["progress"]
    assert 1 <= progress["step"] <= progress["total"]
    assert progress["message"].startswith(f"{name}:")


async def test_sc_reads_an_answer_stated_at_the_end_of_a_sentence(host: Host) -> None:
    # Hosts often put the answer line's marker mid-line after their reasoning.
    replies = iter(
        ["2x + 1 = 1.10, so x = 0.05. Answer: $0.05", "Answer: 0.05", "The ball is 5 cents; answer: 0.05"]
    )
    run = await advise(host, "sc", "How much is the ball?", lambda _p, _s: next(replies), {"n": 3})
    assert run.result["normalized"] == "0.05"
    assert run.result["votes"] == {"0.05": 3}
    assert all(sample["format_followed"] for sample in run.result["samples"])
