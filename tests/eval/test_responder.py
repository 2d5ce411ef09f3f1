"""The unattended responder against a local OpenAI-compatible server that stands in for
a real model (tests/eval/fake_llm.py; nothing leaves 127.0.0.1)."""

from __future__ import annotations

import pytest

from alc_mcp.app import SessionService
from alc_mcp.app.evaluation import EvalRequest
from alc_mcp.domain.query import LlmQuery
from alc_mcp.responder import LlmConfig, Responder, ResponderConfigError, ResponderError, drive
from tests.eval.fake_llm import FakeLlm
from tests.eval.support import FACTUAL, cot_reply

pytestmark = pytest.mark.anyio

QUERY = LlmQuery("q-0", "What is 6 x 7?", "Be brief.", 64)


def config(fake: FakeLlm, **overrides) -> LlmConfig:
    values = {"base_url": fake.base_url, "model": "test-model", "api_key": "sk-test", "backoff_seconds": 0.0}
    values.update(overrides)
    return LlmConfig(**values)


async def no_sleep(_seconds: float) -> None:
    pass


async def test_a_reply_carries_text_usage_and_the_request_is_openai_shaped():
    with FakeLlm() as fake:
        async with Responder(config(fake)) as responder:
            reply = await responder.answer(QUERY)
    assert reply.text == "Answer: 42"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (11, 7)
    (body,) = fake.requests
    assert body == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 6 x 7?"},
        ],
        "max_tokens": 64,
    }
    assert fake.headers[0]["Authorization"] == "Bearer sk-test"


async def test_429_then_success_is_retried_with_backoff():
    delays = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    with FakeLlm() as fake:
        fake.actions = [("status", 429), ("status", 503)]
        async with Responder(config(fake, backoff_seconds=0.5), sleep=sleep) as responder:
            reply = await responder.answer(QUERY)
    assert reply.text == "Answer: 42"
    assert reply.attempts == 3
    assert len(fake.requests) == 3
    assert len(delays) == 2 and delays[1] >= delays[0] / 2  # exponential, with jitter
    assert responder.retries == 2


async def test_retries_run_out_with_a_clear_error():
    with FakeLlm() as fake:
        fake.actions = [("status", 500)] * 3
        async with Responder(config(fake, max_retries=2), sleep=no_sleep) as responder:
            with pytest.raises(ResponderError, match=r"failed after 3 attempt\(s\): HTTP 500"):
                await responder.answer(QUERY)


async def test_a_client_error_is_not_retried():
    with FakeLlm() as fake:
        fake.actions = [("status", 401)]
        async with Responder(config(fake), sleep=no_sleep) as responder:
            with pytest.raises(ResponderError, match=r"refused query q-0 .*HTTP 401.*ALC_LLM_API_KEY"):
                await responder.answer(QUERY)
    assert len(fake.requests) == 1


async def test_a_timeout_is_a_clear_error():
    with FakeLlm() as fake:
        fake.actions = [("delay", 30), ("delay", 30)]
        cfg = config(fake, timeout_seconds=0.2, max_retries=1)
        async with Responder(cfg, sleep=no_sleep) as responder:
            with pytest.raises(ResponderError, match=r"timed out after 0.2 s .*ALC_LLM_TIMEOUT_SECONDS"):
                await responder.answer(QUERY)
        fake.release.set()
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>gateway</html>", "the body is not JSON"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": [{"message": {"content": 5}}]}', r"choices\[0\]\.message\.content is not a string"),
    ],
)
async def test_a_malformed_reply_is_a_clear_error(body, why):
    with FakeLlm() as fake:
        fake.actions = [("raw", body)]
        async with Responder(config(fake), sleep=no_sleep) as responder:
            with pytest.raises(ResponderError, match=f"malformed reply from .* for query q-0: {why}"):
                await responder.answer(QUERY)


def test_configuration_from_the_environment():
    with pytest.raises(ResponderConfigError, match="ALC_LLM_BASE_URL and ALC_LLM_MODEL"):
        LlmConfig.from_env({})
    cfg = LlmConfig.from_env(
        {"ALC_LLM_BASE_URL": "http://127.0.0.1:1/v1/", "ALC_LLM_MODEL": "m", "ALC_LLM_CONCURRENCY": "2"}
    )
    assert cfg.url == "http://127.0.0.1:1/v1/chat/completions"
    assert cfg.concurrency == 2 and cfg.api_key is None


async def test_concurrency_limit_is_kept():
    import threading

    active = {"now": 0, "peak": 0}
    lock = threading.Lock()
    gate = threading.Event()

    def answer(prompt: str) -> str:
        with lock:
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
        gate.wait(0.05)
        with lock:
            active["now"] -= 1
        return prompt

    with FakeLlm(answer) as fake:
        async with Responder(config(fake, concurrency=2)) as responder:
            queries = [LlmQuery(f"q-{i}", f"p{i}", None, 8) for i in range(6)]
            replies = await responder.answer_all(queries)
    assert [r.text for r in replies] == [f"p{i}" for i in range(6)]
    assert active["peak"] <= 2


async def test_an_eval_answered_by_the_model_and_a_malformed_reply_keeps_the_session(config_fixture):
    """A malformed reply stops the run with a clear error; the eval session stays paused with
    every question still open; the model answering again completes it and writes the card."""
    sessions = SessionService.open(config_fixture)
    service = sessions.evaluations
    try:
        started = await service.start(EvalRequest("cot", scenario_name="factual", model="test-model"))
        with FakeLlm(cot_reply(FACTUAL)) as fake:
            fake.actions = [("raw", b"not json at all")]
            async with Responder(config(fake), sleep=no_sleep) as responder:
                with pytest.raises(ResponderError, match="malformed reply"):
                    await drive(sessions, started.session_id, started.result, responder)
            snapshot = await sessions.status(started.session_id, None, False)
            assert snapshot["phase"] == "paused"
            assert snapshot["pending_queries"] == 8
            history = await service.history()
            assert history["evals"][0]["status"] == "running"

            async with Responder(config(fake), sleep=no_sleep) as responder:
                final = await drive(sessions, started.session_id, started.result, responder)
        assert final.result["summary"]["pass_rate"] == 1.0
        card = (await service.card(started.card_id)).to_json()
        assert card["model"] == "test-model"
        # Token usage comes from the API's replies: 8 replies x (11 + 7) tokens.
        assert card["usage"]["total_tokens"]["tokens"] == 8 * 18
        assert card["usage"]["total_tokens"]["source"] == "provided"
    finally:
        sessions.close()


@pytest.fixture
def config_fixture(config):
    return config
