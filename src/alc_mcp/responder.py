"""Unattended answering: the host's part played by a chat-completions model.

Any OpenAI-compatible endpoint works (a hosted API, or a local server such as Ollama,
llama.cpp or vLLM): ``POST {ALC_LLM_BASE_URL}/chat/completions`` with ``ALC_LLM_MODEL``
and, if set, ``Authorization: Bearer {ALC_LLM_API_KEY}``. Each query becomes one
request (its ``system`` and ``max_tokens`` included); token usage comes from the reply's
``usage``.

Behaviour: at most ``concurrency`` requests at once; 429 and 5xx replies, timeouts and
connection errors are retried with exponential backoff (honouring ``Retry-After``) up
to ``max_retries`` times; anything else, or a reply that is not a chat completion, is a
``ResponderError`` whose message says what happened. ``drive`` answers every pause of
a session and feeds a pause only once all of its answers are in, so a failure leaves
the session paused exactly where it was.
"""

from __future__ import annotations

import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx2 as httpx
import orjson

from alc_mcp.domain.feed_result import FeedResult, Paused
from alc_mcp.domain.query import LlmQuery, TokenUsage

if TYPE_CHECKING:
    from alc_mcp.app import SessionService

__all__ = [
    "BODY_PREVIEW",
    "MAX_RETRY_AFTER_SECONDS",
    "RETRY_STATUS",
    "LlmConfig",
    "Reply",
    "Responder",
    "ResponderConfigError",
    "ResponderError",
    "drive",
]

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 60.0
BODY_PREVIEW = 200


class ResponderError(Exception):
    """The model could not answer; the message says what happened and what to check."""


class ResponderConfigError(ResponderError):
    pass


@dataclass(frozen=True, slots=True)
class LlmConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_seconds: float = 120.0
    concurrency: int = 4
    max_retries: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    temperature: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> LlmConfig:
        env = os.environ if env is None else env
        base_url = (env.get("ALC_LLM_BASE_URL") or "").strip()
        model = (env.get("ALC_LLM_MODEL") or "").strip()
        missing = [n for n, v in (("ALC_LLM_BASE_URL", base_url), ("ALC_LLM_MODEL", model)) if not v]
        if missing:
            raise ResponderConfigError(
                f"--llm needs {' and '.join(missing)}: set ALC_LLM_BASE_URL to an OpenAI-compatible API "
                "(e.g. https://api.openai.com/v1 or http://localhost:11434/v1 for Ollama) and ALC_LLM_MODEL "
                "to a model it serves; ALC_LLM_API_KEY if it needs a key"
            )
        values: dict[str, Any] = {"base_url": base_url.rstrip("/"), "model": model}
        values["api_key"] = env.get("ALC_LLM_API_KEY") or None
        for name, field, kind in (
            ("ALC_LLM_TIMEOUT_SECONDS", "timeout_seconds", float),
            ("ALC_LLM_CONCURRENCY", "concurrency", int),
            ("ALC_LLM_MAX_RETRIES", "max_retries", int),
        ):
            raw = env.get(name)
            if raw:
                try:
                    values[field] = kind(raw)
                except ValueError:
                    raise ResponderConfigError(f"{name} must be a number, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        if config.concurrency < 1:
            raise ResponderConfigError("ALC_LLM_CONCURRENCY must be at least 1")
        return config

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    usage: TokenUsage | None
    attempts: int


class Responder:
    def __init__(
        self,
        config: LlmConfig,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(config.timeout_seconds))
        self._own_client = client is None
        self._limit = anyio.CapacityLimiter(config.concurrency)
        self._sleep = sleep
        self.requests = 0
        self.retries = 0

    async def __aenter__(self) -> Responder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    def _body(self, query: LlmQuery) -> dict[str, Any]:
        messages = []
        if query.system:
            messages.append({"role": "system", "content": query.system})
        messages.append({"role": "user", "content": query.prompt})
        body: dict[str, Any] = {"model": self.config.model, "messages": messages}
        if query.max_tokens:
            body["max_tokens"] = query.max_tokens
        if self.config.temperature is not None:
            body["temperature"] = self.config.temperature
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    async def answer(self, query: LlmQuery) -> Reply:
        """One query's answer, retried on 429/5xx/timeouts; raises ``ResponderError``."""
        async with self._limit:
            return await self._answer(query)

    async def _answer(self, query: LlmQuery) -> Reply:
        config = self.config
        content = orjson.dumps(self._body(query))
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            retry_after: float | None = None
            try:
                response = await self._client.post(config.url, content=content, headers=self._headers())
            except httpx.TimeoutException:
                problem = f"timed out after {config.timeout_seconds:g} s (ALC_LLM_TIMEOUT_SECONDS)"
            except httpx.HTTPError as exc:
                problem = f"could not reach {config.url}: {exc or type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return _parse(response, query, attempt, config)
                problem = f"HTTP {response.status_code}: {_preview(response.text)}"
                if response.status_code not in RETRY_STATUS:
                    raise ResponderError(
                        f"the model endpoint refused query {query.id} ({problem}); check ALC_LLM_BASE_URL, "
                        "ALC_LLM_MODEL and ALC_LLM_API_KEY"
                    )
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt > config.max_retries:
                raise ResponderError(
                    f"query {query.id} failed after {attempt} attempt(s): {problem} (ALC_LLM_MAX_RETRIES)"
                )
            self.retries += 1
            delay = min(config.max_backoff_seconds, config.backoff_seconds * 2 ** (attempt - 1))
            delay *= 0.5 + random.random() / 2  # jitter, so parallel retries spread out
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
            await self._sleep(delay)

    async def answer_all(self, queries: Sequence[LlmQuery]) -> list[Reply]:
        """All answers of one pause, asked concurrently (within the limit), in order."""
        replies: list[Reply | None] = [None] * len(queries)
        errors: list[ResponderError] = []

        async def one(index: int, query: LlmQuery) -> None:
            try:
                replies[index] = await self.answer(query)
            except ResponderError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tasks:
            for index, query in enumerate(queries):
                tasks.start_soon(one, index, query)
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ResponderError(f"{errors[0]}{more}")
        return [r for r in replies if r is not None]


def _parse(response: httpx.Response, query: LlmQuery, attempt: int, config: LlmConfig) -> Reply:
    def malformed(why: str) -> ResponderError:
        return ResponderError(
            f"malformed reply from {config.url} for query {query.id}: {why}; expected an OpenAI-style chat "
            f"completion ({{'choices': [{{'message': {{'content': ...}}}}]}}), got: {_preview(response.text)}"
        )

    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise malformed("the body is not JSON") from None
    if not isinstance(data, dict):
        raise malformed("the body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise malformed("no choices")
    message = choices[0].get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if text is None and isinstance(choices[0].get("text"), str):
        text = choices[0]["text"]  # completion-style servers
    if not isinstance(text, str):
        raise malformed("choices[0].message.content is not a string")
    usage = data.get("usage")
    tokens = None
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if all(
            v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
            for v in (prompt, completion)
        ):
            tokens = TokenUsage(prompt, completion)
    return Reply(text, tokens, attempt)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_PREVIEW else text[: BODY_PREVIEW - 3] + "..."


async def drive(
    service: SessionService,
    session_id: str,
    result: FeedResult,
    responder: Responder,
    on_pause: Callable[[FeedResult], None] | None = None,
) -> FeedResult:
    """Answer every pause with the model until the session ends. A pause is fed only
    when all of its answers are in: on a ``ResponderError`` nothing of that pause has
    been fed, and the session stays paused where it was (continue it later)."""
    from alc_mcp.app import Answer

    while isinstance(result, Paused):
        replies = await responder.answer_all(result.queries)
        answers = [Answer(q.id, r.text, r.usage) for q, r in zip(result.queries, replies, strict=True)]
        result = (await service.feed(session_id, answers)).result
        if on_pause is not None:
            on_pause(result)
    return result
