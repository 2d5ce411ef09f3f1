"""Extraction and validation strategies: distill, cod, cove and factscore.

Each runs through the real MCP server with a scripted host. For every strategy: a
cooperative host gets the right answer, the round trips match the strategy's parallel
structure, a host that only answers in prose still gets a completed run with a sensible
fallback, and every input in ``M.meta.inputs`` changes what the strategy does.
"""

from __future__ import annotations

import json
import re

import pytest

from alc_mcp.engine.stdlib.text import chunk
from tests.strategies import harness
from tests.strategies.harness import advise

pytestmark = pytest.mark.anyio

STRATEGIES = {"distill": "extraction", "cod": "extraction", "cove": "validation", "factscore": "validation"}


def sizes(run: harness.Run) -> list[int]:
    """Queries per pause: the strategy's round-trip structure."""
    return [len(pause) for pause in run.pauses]


# --------------------------------------------------------------------------- distill

#: 100 lines; a code word hides on some of them.
CODE_LINES = {5: "CW05", 20: "CW20", 95: "CW95"}


def document(codes: dict[int, str]) -> str:
    lines = []
    for n in range(1, 101):
        if n in codes:
            lines.append(f"line {n}: the code word is {codes[n]}.")
        else:
            lines.append(f"line {n}: nothing of note happens here.")
    return "\n".join(lines)


TEXT = document(CODE_LINES)
FIND = "List every code word in the text."


def part_of(prompt: str) -> str:
    match = re.search(r"<part>\n(.*)\n</part>", prompt, re.S)
    assert match, prompt
    return match.group(1)


def distiller(prompt: str, system: str | None) -> str:
    """A careful host: extracts code words from a part, merges notes without losing any."""
    if "<part>" in prompt:
        found = re.findall(r"code word is (CW\d+)", part_of(prompt))
        return ", ".join(found) if found else "NONE"
    notes = prompt.split("\n\n", 1)[1]
    return ", ".join(dict.fromkeys(re.findall(r"\bCW\d+\b", notes)))


async def test_distill_extracts_every_chunk_in_one_pause_then_merges(host) -> None:
    run = await advise(host, "distill", FIND, distiller, {"text": TEXT})
    # 100 lines, 40 per chunk, overlap 2: chunks start at lines 1, 39, 77.
    assert sizes(run) == [3, 1]
    result = run.result
    assert result["answer"] == "CW05, CW20, CW95"
    assert result["chunks"] == 3
    assert result["partials"] == ["CW05, CW20", "NONE", "CW95"]
    # The part with nothing is left out of the merge.
    assert result["relevant_chunks"] == 2
    assert "part 2 of 3" not in run.pauses[1][0]["prompt"]


async def test_distill_uses_the_task_as_text_and_skips_the_merge_for_one_chunk(host) -> None:
    run = await advise(host, "distill", TEXT, distiller)
    assert sizes(run) == [3, 1]
    assert run.result["answer"] == "CW05, CW20, CW95"
    # Each chunk's prompt carries its own part, not the whole task again.
    assert all("line 100:" not in q["prompt"] for q in run.pauses[0][:2])
    assert all(p.startswith("Task: Summarise the text") for p in run.prompts)

    short = await advise(host, "distill", "line 1: the code word is CW01.", distiller)
    assert sizes(short) == [1]
    assert short.result["answer"] == "CW01"
    assert short.result["merge_calls"] == 0


async def test_distill_with_prose_replies(host) -> None:
    run = await advise(host, "distill", FIND, harness.prose, {"text": TEXT})
    assert run.final["status"] == "completed"
    assert sizes(run) == [3, 1]
    assert run.result["answer"] == harness.PROSE
    assert run.result["partials"] == [harness.PROSE] * 3


async def test_distill_chunk_size_and_overlap(host) -> None:
    small = await advise(host, "distill", FIND, distiller, {"text": TEXT, "chunk_size": 10, "overlap": 0})
    assert sizes(small) == [10, 1]
    assert small.result["answer"] == "CW05, CW20, CW95"

    assert part_of(small.pauses[0][1]["prompt"]).startswith("line 11:")

    # Overlap decides where the second chunk starts: line 39 by default, 31 with overlap 10.
    default = await advise(host, "distill", FIND, distiller, {"text": TEXT})
    wide = await advise(host, "distill", FIND, distiller, {"text": TEXT, "overlap": 10})
    assert part_of(default.pauses[0][1]["prompt"]).startswith("line 39:")
    assert part_of(wide.pauses[0][1]["prompt"]).startswith("line 31:")


async def test_distill_chunk_mode_chars(host) -> None:
    run = await advise(
        host, "distill", FIND, distiller, {"text": TEXT, "chunk_mode": "chars", "chunk_size": 500}
    )
    expected = chunk(TEXT.encode(), mode="chars", size=500, overlap=2)
    assert sizes(run)[0] == len(expected) != 3
    assert [part_of(q["prompt"]) for q in run.pauses[0]] == [c.decode() for c in expected]


async def test_distill_merges_in_levels_beyond_the_fanout(host) -> None:
    every_fifth = document({n: f"CW{n:02d}" for n in range(5, 101, 5)})
    opts = {"text": every_fifth, "chunk_size": 5, "overlap": 0}
    expected = ", ".join(f"CW{n:02d}" for n in range(5, 101, 5))

    # 20 partials, fanout 8: one pause of 3 group merges (7, 7, 6), then the final merge.
    run = await advise(host, "distill", FIND, distiller, opts)
    assert sizes(run) == [20, 3, 1]
    assert run.result["answer"] == expected
    assert run.result["merge_levels"] == 1

    # Fanout 4: 20 -> 5 groups -> 2 groups -> final.
    run = await advise(host, "distill", FIND, distiller, {**opts, "merge_fanout": 4})
    assert sizes(run) == [20, 5, 2, 1]
    assert run.result["answer"] == expected
    assert run.result["merge_levels"] == 2
    assert "[Notes from parts 1-4 of 20]" in run.pauses[2][0]["prompt"]


# --------------------------------------------------------------------------- cod

ARTICLE = "The Acme board met in Oslo on Monday and picked Dana Lee as chief executive."


def current_summary(prompt: str) -> str:
    return prompt.split("words):\n<<<\n", 1)[1].split("\n>>>", 1)[0]


def densifier(prompt: str, system: str | None) -> str:
    """Adds one entity per step, as the paper's prompt asks."""
    if "Current summary" not in prompt:
        return json.dumps({"entities": ["Acme"], "summary": "This article is about Acme."})
    summary = current_summary(prompt)
    step = summary.count("+") + 1
    return "Here you go:\n" + json.dumps(
        {"missing_entities": [f"E{step}"], "denser_summary": f"{summary} +E{step}"}
    )


async def test_cod_densifies_step_by_step(host) -> None:
    run = await advise(host, "cod", ARTICLE, densifier)
    assert sizes(run) == [1, 1, 1, 1, 1]
    result = run.result
    final = "This article is about Acme. +E1 +E2 +E3 +E4"
    assert result["answer"] == result["summary"] == final
    densities = result["densities"]
    assert [d["step"] for d in densities] == [0, 1, 2, 3, 4]
    assert [d["entities"] for d in densities] == [["Acme"], ["E1"], ["E2"], ["E3"], ["E4"]]
    assert [d["words"] for d in densities] == [5, 6, 7, 8, 9]
    assert densities[4]["density"] == round(5 / 9, 3)
    # Every step sees the article and the summary it has to densify.
    assert all(ARTICLE in p for p in run.prompts)
    assert "This article is about Acme. +E1 +E2 +E3" in run.prompts[4]


async def test_cod_accepts_the_papers_list_format_and_plain_text(host) -> None:
    def responder(prompt: str, system: str | None) -> str:
        if "Current summary" not in prompt:
            return "A plain first summary."
        steps = [{"Missing_Entities": "Oslo; Monday", "Denser_Summary": "Acme met in Oslo on Monday."}]
        return "```json\n" + json.dumps(steps) + "\n```"

    run = await advise(host, "cod", ARTICLE, responder, {"steps": 1})
    assert run.result["answer"] == "Acme met in Oslo on Monday."
    assert [d["entities"] for d in run.result["densities"]] == [[], ["Oslo", "Monday"]]
    assert run.result["densities"][0]["summary"] == "A plain first summary."


async def test_cod_with_prose_replies(host) -> None:
    run = await advise(host, "cod", ARTICLE, harness.prose)
    assert run.final["status"] == "completed"
    assert sizes(run) == [1] * 5
    assert run.result["answer"] == harness.PROSE
    assert len(run.result["densities"]) == 5
    assert all(d["entities"] == [] for d in run.result["densities"])


async def test_cod_inputs(host) -> None:
    run = await advise(host, "cod", ARTICLE, densifier, {"steps": 2})
    assert sizes(run) == [1, 1, 1]
    assert run.result["answer"] == "This article is about Acme. +E1 +E2"
    none = await advise(host, "cod", ARTICLE, densifier, {"steps": 0})
    assert sizes(none) == [1]
    assert none.result["answer"] == "This article is about Acme."

    default = await advise(host, "cod", ARTICLE, densifier, {"steps": 1})
    assert all("about 80 words" in p for p in default.prompts)
    short = await advise(host, "cod", ARTICLE, densifier, {"steps": 1, "words": 40})
    assert all("about 40 words" in p and "about 80 words" not in p for p in short.prompts)

    focused = await advise(
        host, "cod", "Focus on the new chief executive.", densifier, {"steps": 1, "text": ARTICLE}
    )
    for prompt in focused.prompts:
        assert f"<<<\n{ARTICLE}\n>>>" in prompt
        assert "Focus of the summary: Focus on the new chief executive." in prompt


# --------------------------------------------------------------------------- cove

QUESTION = "Name some politicians who were born in New York."
BASELINE = "Hillary Clinton, Donald Trump and Michael Bloomberg."
BIRTHPLACES = {
    "Hillary Clinton": "Chicago, Illinois.",
    "Donald Trump": "Queens, New York.",
    "Michael Bloomberg": "Boston, Massachusetts.",
    "Joe Biden": "Scranton, Pennsylvania.",
    "Rudy Giuliani": "Brooklyn, New York.",
}


def verifier(prompt: str, system: str | None) -> str:
    if prompt == QUESTION:
        return BASELINE
    if "verification questions" in prompt:
        return json.dumps(
            [f"Where was {name} born?" for name in ("Hillary Clinton", "Donald Trump", "Michael Bloomberg")]
        )
    if prompt.startswith("Where was "):
        return BIRTHPLACES[prompt.removeprefix("Where was ").removesuffix(" born?")]
    checks = re.findall(r"Q\d+: Where was (.+) born\?\nA\d+: (.+)", prompt)
    return "Final answer: " + ", ".join(name for name, place in checks if "New York" in place)


async def test_cove_verifies_in_one_pause_and_revises(host) -> None:
    run = await advise(host, "cove", QUESTION, verifier)
    assert sizes(run) == [1, 1, 3, 1]
    result = run.result
    assert result["answer"] == "Donald Trump"
    assert result["baseline"] == BASELINE
    assert result["verified"] is True and result["revised"] is True
    assert [v["answer"] for v in result["verifications"]] == [
        "Chicago, Illinois.",
        "Queens, New York.",
        "Boston, Massachusetts.",
    ]
    # Factored: each verification question is asked alone, without the baseline.
    for query in run.pauses[2]:
        assert query["prompt"] in result["questions"]
        assert "Clinton, Donald Trump and" not in query["prompt"]


async def test_cove_with_prose_replies(host) -> None:
    run = await advise(host, "cove", QUESTION, harness.prose)
    assert run.final["status"] == "completed"
    # No questions could be read from the plan: the baseline stands, marked unverified.
    assert sizes(run) == [1, 1]
    assert run.result["answer"] == harness.PROSE
    assert run.result["verified"] is False
    assert run.result["questions"] == [] and run.result["verifications"] == []


async def test_cove_max_questions(host) -> None:
    names = list(BIRTHPLACES)

    def planner(prompt: str, system: str | None) -> str:
        if "verification questions" in prompt:
            # A numbered list instead of the JSON asked for.
            return "Sure:\n" + "\n".join(f"{i}. Where was {n} born?" for i, n in enumerate(names, 1))
        return verifier(prompt, system)

    default = await advise(host, "cove", QUESTION, planner)
    assert sizes(default) == [1, 1, 4, 1]
    assert "up to 4 verification questions" in default.pauses[1][0]["prompt"]
    two = await advise(host, "cove", QUESTION, planner, {"max_questions": 2})
    assert sizes(two) == [1, 1, 2, 1]
    assert "up to 2 verification questions" in two.pauses[1][0]["prompt"]
    assert two.result["questions"] == ["Where was Hillary Clinton born?", "Where was Donald Trump born?"]
    assert two.result["answer"] == "Donald Trump"


# --------------------------------------------------------------------------- factscore

BIO = (
    "Marie Curie was born in Warsaw. She won two Nobel Prizes. She discovered radium. "
    "She was born in 1901. She taught at Oxford."
)
CLAIMS = [
    "Marie Curie was born in Warsaw.",
    "Marie Curie won two Nobel Prizes.",
    "Marie Curie discovered radium.",
    "Marie Curie was born in 1901.",
    "Marie Curie taught at Oxford.",
]
TRUE = set(CLAIMS[:3])


def claim_of(prompt: str) -> str:
    return prompt.split("\n\nClaim: ", 1)[1].split("\n\n", 1)[0]


def fact_checker(prompt: str, system: str | None) -> str:
    if "atomic claims" in prompt:
        limit = int(re.search(r"at most (\d+) claims", prompt).group(1))
        return json.dumps(CLAIMS[:limit])
    if "Claim: " in prompt:
        return "True." if claim_of(prompt) in TRUE else "False, that is wrong."
    return BIO  # the text to score, when none is given


async def test_factscore_verifies_every_claim_in_one_pause(host) -> None:
    run = await advise(host, "factscore", "Marie Curie", fact_checker, {"text": BIO})
    assert sizes(run) == [1, 5]
    result = run.result
    assert result["score"] == 0.6
    assert result["supported"] == 3 and result["total"] == 5
    assert result["answer"] == "3 of 5 claims supported (FActScore 0.60)"
    assert [c["claim"] for c in result["claims"]] == CLAIMS
    assert [c["supported"] for c in result["claims"]] == [True, True, True, False, False]
    assert result["generated"] is False
    assert f"<<<\n{BIO}\n>>>" in run.pauses[0][0]["prompt"]


async def test_factscore_writes_the_text_when_none_is_given(host) -> None:
    run = await advise(host, "factscore", "Tell me a bio of Marie Curie.", fact_checker)
    assert sizes(run) == [1, 1, 5]
    assert run.pauses[0][0]["prompt"] == "Tell me a bio of Marie Curie."
    assert run.result["generated"] is True and run.result["text"] == BIO
    assert run.result["score"] == 0.6


async def test_factscore_reads_verdicts_tolerantly(host) -> None:
    verdicts = [
        "**True** - she was.",
        "Not supported: she won two.",
        "The claim is unsupported.",
        "Yes, that works",
        "Hard to say, really.",
    ]

    def judge(prompt: str, system: str | None) -> str:
        if "atomic claims" in prompt:
            return "\n".join(f"- {c}" for c in CLAIMS)  # a bulleted list instead of JSON
        return verdicts[CLAIMS.index(claim_of(prompt))]

    run = await advise(host, "factscore", "Marie Curie", judge, {"text": BIO})
    result = run.result
    assert [c["verdict"] for c in result["claims"]] == [
        "supported",
        "not supported",
        "not supported",
        "supported",
        "unclear",
    ]
    assert result["score"] == 0.4 and result["unclear"] == 1
    assert result["answer"] == "2 of 5 claims supported (FActScore 0.40); 1 without a clear verdict"


async def test_factscore_with_prose_replies(host) -> None:
    run = await advise(host, "factscore", "Marie Curie", harness.prose, {"text": BIO})
    assert run.final["status"] == "completed"
    # The split was prose, so the text's own sentences stand in for atomic claims.
    assert sizes(run) == [1, 5]
    result = run.result
    assert result["split"] == "sentences"
    assert [c["claim"] for c in result["claims"]] == re.split(r"(?<=\.) ", BIO)
    assert result["score"] == 0 and result["unclear"] == 5
    assert result["answer"].startswith("0 of 5 claims supported")

    generated = await advise(host, "factscore", "Marie Curie", harness.prose)
    assert generated.final["status"] == "completed"
    assert sizes(generated) == [1, 1, 2]


async def test_factscore_inputs(host) -> None:
    three = await advise(host, "factscore", "Marie Curie", fact_checker, {"text": BIO, "max_claims": 3})
    assert sizes(three) == [1, 3]
    assert "at most 3 claims" in three.pauses[0][0]["prompt"]
    assert three.result["score"] == 1.0

    # Claims beyond max_claims are cut even when the splitter returns more.
    def eager(prompt: str, system: str | None) -> str:
        return json.dumps(CLAIMS) if "atomic claims" in prompt else fact_checker(prompt, system)

    two = await advise(host, "factscore", "Marie Curie", eager, {"text": BIO, "max_claims": 2})
    assert sizes(two) == [1, 2]

    reference = "Marie Curie (born 1867 in Warsaw) won Nobel Prizes in 1903 and 1911."
    grounded = await advise(
        host, "factscore", "Marie Curie", fact_checker, {"text": BIO, "knowledge": reference}
    )
    for query in grounded.pauses[1]:
        assert f"Reference:\n<<<\n{reference}\n>>>" in query["prompt"]
        assert "against the reference" in query["system"]
    plain = await advise(host, "factscore", "Marie Curie", fact_checker, {"text": BIO})
    assert not any("Reference:" in q["prompt"] for q in plain.pauses[1])
    assert all("own knowledge" in q["system"] for q in plain.pauses[1])


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    ("name", "task", "opts", "message"),
    [
        (
            "distill",
            FIND,
            {"text": TEXT, "chunk_size": "lots"},
            'distill: chunk_size must be a whole number of at least 1 (got "lots")',
        ),
        (
            "distill",
            FIND,
            {"text": TEXT, "overlap": -1},
            "distill: overlap must be a whole number of at least 0 (got -1)",
        ),
        (
            "distill",
            FIND,
            {"text": TEXT, "merge_fanout": 1},
            "distill: merge_fanout must be a whole number of at least 2 (got 1)",
        ),
        ("cod", ARTICLE, {"steps": "many"}, 'cod: steps must be a whole number of at least 0 (got "many")'),
        ("cod", ARTICLE, {"words": 0}, "cod: words must be a whole number of at least 1 (got 0)"),
        (
            "cove",
            QUESTION,
            {"max_questions": "all"},
            'cove: max_questions must be a whole number of at least 1 (got "all")',
        ),
        (
            "factscore",
            "Marie Curie",
            {"text": BIO, "max_claims": 2.5},
            "factscore: max_claims must be a whole number of at least 1 (got 2.5)",
        ),
    ],
)
async def test_unusable_numeric_knobs_are_refused(host, name, task, opts, message) -> None:
    reply = await host.ok("alc_advice", strategy=name, task=task, opts=opts)
    assert reply["status"] == "error"
    assert message in reply["error"]


async def test_unusable_text_knobs_fall_back_to_defaults(host) -> None:
    run = await advise(host, "distill", FIND, distiller, {"text": TEXT, "chunk_mode": 7, "chunk_size": None})
    assert sizes(run) == [3, 1]
    assert run.result["answer"]


async def progress_trail(host, name: str, task: str, responder, opts) -> list[tuple[int, int]]:
    """(step, total) as ``alc_status`` shows it at every pause."""
    reply = await host.ok("alc_advice", strategy=name, task=task, opts=opts)
    trail = []
    while reply["status"] == "needs_response":
        snap = await host.ok("alc_status", session_id=reply["session_id"])
        progress = snap["metrics"]["progress"]
        trail.append((progress["step"], progress["total"]))
        queries = harness.queries_of(reply)
        responses = [
            {"query_id": q["id"], "response": responder(q["prompt"], q.get("system"))} for q in queries
        ]
        reply = await host.ok("alc_continue", session_id=reply["session_id"], responses=responses)
    assert reply["status"] == "completed"
    return trail


async def test_progress_reports_each_stage(host) -> None:
    assert await progress_trail(host, "distill", FIND, distiller, {"text": TEXT}) == [(1, 2), (2, 2)]
    assert await progress_trail(host, "cod", ARTICLE, densifier, {"steps": 2}) == [(1, 3), (2, 3), (3, 3)]
    assert await progress_trail(host, "cove", QUESTION, verifier, {}) == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert await progress_trail(host, "factscore", "Marie Curie", fact_checker, {}) == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]


# --------------------------------------------------------------------------- catalogue


async def test_pkg_list_shows_the_strategies(host) -> None:
    listing = await host.ok("alc_pkg_list")
    entries = {p["name"]: p for p in listing["packages"]}
    for name, category in STRATEGIES.items():
        entry = entries[name]
        assert entry["source"] == "bundled"
        assert entry["version"] == "1.0.0"
        assert entry["category"] == category
        assert entry["description"]
        assert entry["inputs"]["task"]["required"] is True


async def test_every_meta_input_is_covered(host) -> None:
    """The knobs exercised above are exactly the inputs each strategy declares."""
    covered = {
        "distill": {"task", "text", "chunk_mode", "chunk_size", "overlap", "merge_fanout"},
        "cod": {"task", "text", "steps", "words"},
        "cove": {"task", "max_questions"},
        "factscore": {"task", "text", "max_claims", "knowledge"},
    }
    for name, inputs in covered.items():
        meta = await host.ok("alc_run", code=f"return require('{name}').meta")
        meta = meta["result"]
        assert set(meta["inputs"]) == inputs, name
        assert meta["name"] == name
        assert meta["paper"]["url"].startswith("https://arxiv.org/abs/")
        for spec in meta["inputs"].values():
            assert spec["type"] and spec["description"]
