"""Pauses answered inside the call by the host's own model (``server/inline.py``).

Real in-process SDK clients on both protocol revisions; a sampling callback plays the
host's model. On 2026-07-28 the client's SDK drives the MRTR rounds itself (one
``call_tool`` from the caller's side); tests that look at single rounds drive them by
hand through ``client.session.call_tool(..., allow_input_required=True)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import orjson
import pytest
from mcp import Client
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import RequestStateSecurity
from mcp.server.request_state import RequestStateBoundary
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CreateMessageRequestParams,
    CreateMessageResult,
    ErrorData,
    ImageContent,
    InputRequiredResult,
    TextContent,
)

from alc_mcp.config import Config, ConfigError
from alc_mcp.server.app import build_server
from alc_mcp.server.inline import MAX_ROUNDS

pytestmark = pytest.mark.anyio

THREE_PAUSES = """
local a = alc.llm("first")
local b = alc.llm_batch({{prompt = "x", system = "be brief", max_tokens = 7}, {prompt = "y"}})
local c = alc.llm("third")
return a .. b[1] .. b[2] .. c
"""

BATCH_OF_FIVE = """
local items = {}
for i = 1, 5 do items[i] = {prompt = "item " .. i} end
local answers = alc.llm_batch(items)
return table.concat(answers, ",")
"""

KEY = "k" * 40


class Model:
    """The host's model: answers ``<prompt>`` and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[CreateMessageRequestParams] = []

    async def __call__(
        self, _context: Any, params: CreateMessageRequestParams
    ) -> CreateMessageResult | ErrorData:
        self.asked.append(params)
        return CreateMessageResult(
            role="assistant", content=TextContent(text=f"<{prompt_of(params)}>"), model="m"
        )

    @property
    def prompts(self) -> list[str]:
        return [prompt_of(p) for p in self.asked]


def prompt_of(params: CreateMessageRequestParams) -> str:
    content = params.messages[0].content
    assert isinstance(content, TextContent)
    return content.text


@asynccontextmanager
async def connect(config: Config, model: Any = None, *, mode: str = "auto") -> AsyncIterator[Client]:
    async with Client(build_server(config), sampling_callback=model, mode=mode) as client:  # type: ignore[arg-type]
        yield client


def text_of(result: Any) -> Any:
    (content,) = result.content
    return orjson.loads(content.text)


async def status(client: Client, session_id: str) -> Any:
    return text_of(await client.call_tool("alc_status", {"session_id": session_id, "pending_filter": "full"}))


# --- 2026-07-28: MRTR -------------------------------------------------------------------


async def test_a_three_pause_script_completes_in_one_call_through_the_hosts_model(config: Config) -> None:
    model = Model()
    async with connect(config, model) as client:
        assert client.protocol_version == "2026-07-28"
        result = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
    assert result["status"] == "completed"
    assert result["result"] == "<first><x><y><third>"
    assert result["stats"]["auto"]["pauses"] == 3
    assert model.prompts == ["first", "x", "y", "third"]
    batch_first = model.asked[1]
    assert (batch_first.system_prompt, batch_first.max_tokens) == ("be brief", 7)


async def test_without_the_sampling_capability_the_answer_is_todays_needs_response(config: Config) -> None:
    for mode in ("auto", "legacy"):
        async with connect(config, None, mode=mode) as client:
            first = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
            assert set(first) == {"status", "session_id", "query_id", "prompt", "system", "max_tokens"}
            assert (first["status"], first["query_id"], first["prompt"]) == ("needs_response", "q-0", "first")
            second = text_of(
                await client.call_tool("alc_continue", {"session_id": first["session_id"], "response": "A"})
            )
            assert second["status"] == "needs_response"
            assert [q["prompt"] for q in second["queries"]] == ["x", "y"]


async def test_a_batch_of_five_goes_out_in_one_round_keyed_for_the_sessions_life(config: Config) -> None:
    async with connect(config, Model()) as client:
        first = await client.session.call_tool("alc_run", {"code": BATCH_OF_FIVE}, allow_input_required=True)
        assert isinstance(first, InputRequiredResult)
        assert first.input_requests is not None
        assert list(first.input_requests) == [f"p0-q-{i}" for i in range(5)]
        assert [prompt_of(r.params) for r in first.input_requests.values()] == [  # type: ignore[union-attr]
            f"item {i}" for i in range(1, 6)
        ]
        answers = {key: reply(f"a{n}") for n, key in enumerate(first.input_requests)}
        done = await client.session.call_tool(
            "alc_run",
            {"code": BATCH_OF_FIVE},
            input_responses=answers,  # type: ignore[arg-type]
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert text_of(done)["result"] == "a0,a1,a2,a3,a4"


def reply(text: str) -> CreateMessageResult:
    return CreateMessageResult(role="assistant", content=TextContent(text=text), model="m")


async def first_round(client: Client, code: str) -> tuple[InputRequiredResult, str]:
    """Round one of ``alc_run``, and the session it started (alc_status lists it)."""
    result = await client.session.call_tool("alc_run", {"code": code}, allow_input_required=True)
    assert isinstance(result, InputRequiredResult)
    listing = text_of(await client.call_tool("alc_status", {}))
    (session,) = listing["sessions"]
    return result, session["session_id"]


async def test_a_tampered_request_state_is_refused_and_changes_nothing(config: Config) -> None:
    async with connect(config, Model()) as client:
        asked, session_id = await first_round(client, BATCH_OF_FIVE)
        before = await status(client, session_id)
        assert asked.request_state is not None
        flipped = (
            asked.request_state[:-2]
            + ("A" if asked.request_state[-2] != "A" else "B")
            + asked.request_state[-1]
        )
        answers = {key: reply("forged") for key in asked.input_requests or {}}
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await client.session.call_tool(
                "alc_run",
                {"code": BATCH_OF_FIVE},
                input_responses=answers,  # type: ignore[arg-type]
                request_state=flipped,
                allow_input_required=True,
            )
        # Bound to the call it was minted for: the same state on another tool is refused too.
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await client.session.call_tool(
                "alc_continue",
                {"session_id": session_id, "response": "x"},
                input_responses=answers,  # type: ignore[arg-type]
                request_state=asked.request_state,
                allow_input_required=True,
            )
        after = await status(client, session_id)
    assert len(before["pending"]) == 5
    assert after["state"] == "paused" and after["pending"] == before["pending"]
    assert after["metrics"]["tokens"]["response_total"] == before["metrics"]["tokens"]["response_total"]


async def test_a_replayed_request_state_is_refused_and_changes_nothing(config: Config) -> None:
    async with connect(config, Model()) as client:
        asked, session_id = await first_round(client, THREE_PAUSES)
        answers = {key: reply("A") for key in asked.input_requests or {}}
        retry = {
            "input_responses": answers,
            "request_state": asked.request_state,
            "allow_input_required": True,
        }
        moved = await client.session.call_tool("alc_run", {"code": THREE_PAUSES}, **retry)  # type: ignore[call-overload]
        assert isinstance(moved, InputRequiredResult)
        assert list(moved.input_requests or {}) == ["p1-q-0", "p1-q-1"]
        before = await status(client, session_id)
        replayed = await client.session.call_tool("alc_run", {"code": THREE_PAUSES}, **retry)  # type: ignore[call-overload]
        after = await status(client, session_id)
    assert replayed.is_error
    message = replayed.content[0].text
    assert "already used" in message and session_id in message and "Nothing was changed" in message
    assert [q["prompt"] for q in after["pending"]] == ["x", "y"]
    assert after["pending"] == before["pending"]
    assert after["metrics"]["llm_calls"] == before["metrics"]["llm_calls"] == 3
    assert after["metrics"]["tokens"]["response_total"] == before["metrics"]["tokens"]["response_total"]


async def test_a_retry_without_answers_leaves_the_session_paused_as_today(config: Config) -> None:
    async with connect(config, Model()) as client:
        asked, session_id = await first_round(client, BATCH_OF_FIVE)
        result = await client.session.call_tool(
            "alc_run", {"code": BATCH_OF_FIVE}, request_state=asked.request_state, allow_input_required=True
        )
        shown = text_of(result)
        assert shown["status"] == "needs_response" and shown["session_id"] == session_id
        assert [q["id"] for q in shown["queries"]] == [f"q-{i}" for i in range(5)]
        responses = [{"query_id": f"q-{i}", "response": str(i)} for i in range(5)]
        done = text_of(
            await client.call_tool("alc_continue", {"session_id": session_id, "responses": responses})
        )
    assert done["result"] == "0,1,2,3,4"


async def test_past_the_clients_round_limit_the_call_answers_needs_response(config: Config) -> None:
    code = f"local n = 0 for i = 1, {MAX_ROUNDS + 2} do alc.llm('step ' .. i) n = n + 1 end return n"
    model = Model()
    async with connect(config, model) as client:
        paused = text_of(await client.call_tool("alc_run", {"code": code}))
        assert paused["status"] == "needs_response"
        assert paused["prompt"] == f"step {MAX_ROUNDS + 1}"
        assert len(model.asked) == MAX_ROUNDS
        done = text_of(
            await client.call_tool("alc_continue", {"session_id": paused["session_id"], "response": "r"})
        )
    assert done == {**done, "status": "completed", "result": MAX_ROUNDS + 2}
    assert model.prompts[-1] == f"step {MAX_ROUNDS + 2}"


async def test_alc_sampling_off_answers_needs_response_to_a_sampling_client(config: Config) -> None:
    model = Model()
    for mode in ("auto", "legacy"):
        async with connect(replace(config, sampling="off"), model, mode=mode) as client:
            first = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
            assert first["status"] == "needs_response" and first["prompt"] == "first"
    assert model.asked == []


async def test_advice_runs_a_strategy_through_the_hosts_model(config: Config) -> None:
    model = Model()
    async with connect(config, model) as client:
        result = text_of(await client.call_tool("alc_advice", {"strategy": "reflect", "task": "2+2?"}))
    assert result["status"] == "completed"
    assert result["stats"]["auto"]["llm_calls"] == len(model.asked) >= 2
    assert "2+2?" in model.prompts[0]


async def test_a_shared_key_lets_another_process_take_the_next_round(config: Config) -> None:
    keyed = replace(config, request_state_key=KEY.encode())
    async with connect(keyed, Model()) as client:
        asked, session_id = await first_round(client, BATCH_OF_FIVE)
    answers = {key: reply("z") for key in asked.input_requests or {}}
    retry: dict[str, Any] = {
        "input_responses": answers,
        "request_state": asked.request_state,
        "allow_input_required": True,
    }
    async with connect(config, Model()) as stranger:  # a random key of its own
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await stranger.session.call_tool("alc_run", {"code": BATCH_OF_FIVE}, **retry)
    async with connect(keyed, Model()) as peer:  # the same key: revives the session from its journal
        done = text_of(await peer.session.call_tool("alc_run", {"code": BATCH_OF_FIVE}, **retry))
        replayed = await peer.session.call_tool("alc_run", {"code": BATCH_OF_FIVE}, **retry)
    assert done["result"] == "z,z,z,z,z"
    assert replayed.is_error and "already used" in replayed.content[0].text  # single use, fleet-wide
    assert session_id in replayed.content[0].text


# --- 2025-11-25: sampling requests during the call --------------------------------------


async def test_on_2025_11_25_the_same_script_completes_in_one_call(config: Config) -> None:
    model = Model()
    async with connect(config, model, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        result = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
    assert result["result"] == "<first><x><y><third>"
    assert model.prompts == ["first", "x", "y", "third"]


class Refusing(Model):
    """Refuses (or answers with an image) the ``refuse``-th request, then answers again."""

    def __init__(self, refuse: int, *, image: bool = False) -> None:
        super().__init__()
        self.refuse, self.image = refuse, image

    async def __call__(
        self, context: Any, params: CreateMessageRequestParams
    ) -> CreateMessageResult | ErrorData:
        if len(self.asked) + 1 == self.refuse:
            self.asked.append(params)
            if self.image:
                return CreateMessageResult(
                    role="assistant", content=ImageContent(data="AAAA", mime_type="image/png"), model="m"
                )
            return ErrorData(code=-1, message="the user declined")
        return await super().__call__(context, params)


@pytest.mark.parametrize("image", [False, True], ids=["refused", "not-text"])
async def test_on_2025_11_25_a_refusal_falls_back_to_needs_response_and_loses_nothing(
    config: Config, image: bool
) -> None:
    model = Refusing(refuse=2, image=image)  # the first item of the batch
    async with connect(config, model, mode="legacy") as client:
        paused = text_of(await client.call_tool("alc_run", {"code": THREE_PAUSES}))
        assert paused["status"] == "needs_response"
        assert [q["prompt"] for q in paused["queries"]] == ["x", "y"]
        session_id = paused["session_id"]
        shown = await status(client, session_id)
        assert shown["state"] == "paused" and shown["metrics"]["tokens"]["response_total"] > 0
        responses = [{"query_id": "q-0", "response": "X"}, {"query_id": "q-1", "response": "Y"}]
        done = text_of(
            await client.call_tool("alc_continue", {"session_id": session_id, "responses": responses})
        )
    assert done["result"] == "<first>XY<third>"


def test_the_switch_and_the_key_are_checked_when_the_server_starts() -> None:
    assert Config.from_env({"ALC_SAMPLING": "OFF"}).sampling == "off"
    assert Config.from_env({}).sampling == "auto"
    assert Config.from_env({"ALC_REQUEST_STATE_KEY": KEY}).request_state_key == KEY.encode()
    with pytest.raises(ConfigError, match="ALC_SAMPLING"):
        Config.from_env({"ALC_SAMPLING": "sometimes"})
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        Config.from_env({"ALC_REQUEST_STATE_KEY": "short"})


async def test_alc_info_shows_the_switch_and_whether_a_key_is_set_never_the_key(config: Config) -> None:
    async with connect(replace(config, sampling="off", request_state_key=KEY.encode())) as client:
        result = await client.call_tool("alc_info", {})
    info = text_of(result)
    assert info["sampling"] == {"ALC_SAMPLING": "off", "ALC_REQUEST_STATE_KEY": "set"}
    assert KEY not in result.content[0].text  # type: ignore[union-attr]


async def test_a_state_sealed_by_another_alc_mcp_version_is_refused_clearly(config: Config) -> None:
    """A fleet peer of another version (same key, same audience) sealed a state this
    version does not read: the retry says so and changes nothing."""
    keyed = replace(config, request_state_key=KEY.encode())
    arguments = {"code": BATCH_OF_FIVE}
    boundary = RequestStateBoundary(RequestStateSecurity(keys=[KEY.encode()]), default_audience="alc-mcp")
    peer_round = ServerRequestContext(
        session=None,  # type: ignore[arg-type]
        lifespan_context=None,
        protocol_version="2026-07-28",
        method="tools/call",
        params={"name": "alc_run", "arguments": arguments},
    )

    async def older_alc_mcp(_ctx: Any) -> InputRequiredResult:
        return InputRequiredResult(request_state='{"session":"s-1","pause_index":0}')

    sealed = await boundary(peer_round, older_alc_mcp)
    async with connect(keyed, Model()) as client:
        result = await client.session.call_tool(
            "alc_run",
            arguments,
            request_state=sealed.request_state,
            allow_input_required=True,  # type: ignore[union-attr]
        )
        listing = text_of(await client.call_tool("alc_status", {}))
    assert result.is_error and "sealed by another alc-mcp version" in result.content[0].text  # type: ignore[union-attr]
    assert listing["sessions"] == []  # nothing was started
