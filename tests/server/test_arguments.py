"""Every tool refuses arguments it does not take and explains a wrong one in its own words:
which argument, what was sent, what is expected; no pydantic jargon or links."""

from __future__ import annotations

import pytest

from tests.conftest import Host

pytestmark = pytest.mark.anyio


def assert_plain(message: str) -> None:
    for jargon in ("pydantic", "https://", "validation error for", "type=", "input_value"):
        assert jargon not in message, message


async def test_an_unknown_argument_is_refused(host: Host) -> None:
    message = await host.error("alc_run", code="return 1", bogus=1)
    assert "unknown argument `bogus`" in message
    assert "alc_run takes `code`, `code_file`, `ctx`, `vars`" in message


async def test_a_misspelt_argument_suggests_the_right_one(host: Host) -> None:
    paused = await host.run("return alc.llm('q')")
    message = await host.error("alc_continue", session_ld=paused["session_id"], response="a")
    assert "unknown argument `session_ld` (did you mean `session_id`?)" in message
    status = await host.ok("alc_status", session_id=paused["session_id"])
    assert status["state"] == "paused"  # nothing was answered


async def test_every_tool_refuses_unknown_arguments_and_says_so_in_its_schema(host: Host) -> None:
    tools = (await host.client.list_tools()).tools
    assert len(tools) >= 20
    for tool in tools:
        assert tool.input_schema["additionalProperties"] is False, tool.name
        message = await host.error(tool.name, not_an_argument=1)
        assert "unknown argument `not_an_argument`" in message, (tool.name, message)


async def test_a_wrong_type_names_the_argument_what_was_sent_and_what_is_expected(host: Host) -> None:
    message = await host.error("alc_rewind", session_id="s", query_index="abc")
    assert_plain(message)
    assert (
        'invalid argument `query_index`: got "abc" (a string); expected a whole number, at least 0' in message
    )
    assert "Index of the answered query" in message  # the parameter's own description


async def test_an_out_of_range_number_gives_the_range(host: Host) -> None:
    message = await host.error("alc_log_view", limit=1000)
    assert_plain(message)
    assert "`limit`: got 1000 (a number); expected a whole number, at least 1 and at most 500" in message


async def test_a_missing_argument_is_named(host: Host) -> None:
    message = await host.error("alc_vars_set", session_id="s")
    assert_plain(message)
    assert "missing argument `updates`: expected a JSON object" in message


async def test_wrong_items_of_a_batch_are_each_named(host: Host) -> None:
    message = await host.error("alc_continue", session_id="s", responses=[{"query_id": 1}])
    assert_plain(message)
    assert "`responses[0].query_id`: got 1 (a number); expected a string." in message
    assert "missing `responses[0].response`: expected a string." in message


async def test_a_boolean_argument(host: Host) -> None:
    message = await host.error("alc_status", include_history="maybe")
    assert_plain(message)
    assert '`include_history`: got "maybe" (a string); expected true or false' in message


async def test_correct_calls_still_work(host: Host) -> None:
    paused = await host.run("return alc.llm('q')", ctx={"x": 1}, vars=None)
    done = await host.ok(
        "alc_continue",
        session_id=paused["session_id"],
        responses=[{"query_id": "q-0", "response": '{"verdict": "yes"}', "usage": {"prompt_tokens": 3}}],
    )
    assert done["result"] == '{"verdict": "yes"}'
