"""The MCP side of evaluation: ``alc_eval`` and its history, comparison, scenarios and
cards, plus the ``alc://cards/{id}`` resource. Thin: every tool calls the
``EvalService`` and returns compact JSON; caller mistakes are ``ToolError``s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp_types import CallToolResult
from pydantic import Field

from alc_mcp.app import CALLER_MISTAKES
from alc_mcp.app.evaluation import EvalRequest
from alc_mcp.domain.feed_result import feed_result_json
from alc_mcp.domain.jsonfmt import dumps_pretty
from alc_mcp.server.annotations import ADDITIVE, READ_ONLY, REMOVES
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.params import OptionalText, caller_mistakes, text_param
from alc_mcp.server.results import (
    AliasList,
    AliasSet,
    Card,
    CardList,
    Comparison,
    EvalDetail,
    EvalHistory,
    EvalReply,
    ScenarioInstalled,
    ScenarioList,
    ScenarioShown,
    compact,
)
from alc_mcp.server.toolbox import ToolBox

__all__ = ["ALC_EVAL", "eval_mistakes", "register_eval_resources", "register_eval_tools"]

ALC_EVAL = """\
Evaluate a strategy on a scenario: every case (x repeats) runs as a child of the strategy, \
and every question it asks reaches you as ordinary pauses (independent cases batched into \
one pause). Answer them with alc_continue(session_id, responses=[...]) as usual; LLM-judge \
graders ask their questions the same way. When the session completes, the result holds \
per-case scores and the summary (pass rate, mean, std dev, 95% CI, pass@k, by tag, tokens), \
and an immutable card is written (auto_card, default true). Give exactly one of scenario \
(inline Lua returning a scenario table, evalframe format), scenario_file or scenario_name \
(alc_scenario_list)."""


@contextmanager
def eval_mistakes(prefix: str = "") -> Iterator[None]:
    with caller_mistakes(prefix):
        yield


def register_eval_tools(server: ToolBox) -> None:
    """Declare the evaluation tools: evals, their history and comparison, scenarios, cards."""

    @server.tool(title="Evaluate a strategy", description=ALC_EVAL, annotations=ADDITIVE)
    async def alc_eval(
        context: ServiceContext,
        strategy: str = Field(description='Strategy package to evaluate, e.g. "cot".'),
        scenario: OptionalText = text_param("Inline Lua source returning a scenario table."),
        scenario_file: OptionalText = text_param("Path to a scenario .lua file."),
        scenario_name: OptionalText = text_param('A named scenario, e.g. "factual" (alc_scenario_list).'),
        strategy_opts: dict[str, Any] | None = Field(
            default=None, description="Options for the strategy, merged into each case's ctx."
        ),
        repeats: int = Field(default=1, ge=1, le=100, description="Runs per case (for pass@k and CIs)."),
        auto_card: bool = Field(default=True, description="Write an immutable card when the eval completes."),
        model: OptionalText = text_param("The model answering the questions, recorded on the card."),
        parallel: int | None = Field(
            default=None, ge=1, le=256, description="Cases run side by side per pause (default 16)."
        ),
    ) -> Annotated[CallToolResult, EvalReply]:
        with eval_mistakes("Eval failed: "):
            started = await service_of(context).evaluate(
                EvalRequest(
                    strategy=strategy,
                    scenario=scenario,
                    scenario_file=scenario_file,
                    scenario_name=scenario_name,
                    strategy_opts=strategy_opts,
                    repeats=repeats,
                    auto_card=auto_card,
                    model=model,
                    parallel=parallel,
                ),
                context.report_progress,
            )
        shaped = feed_result_json(started.result, started.session_id)
        shaped["eval_id"] = started.eval_id
        shaped["card_id"] = started.card_id
        return compact(shaped)

    @server.tool(
        title="List evals",
        description="List past evals, newest first: strategy, scenario, status, summary, card id.",
        annotations=READ_ONLY,
    )
    async def alc_eval_history(
        context: ServiceContext,
        limit: int = Field(default=50, ge=1, le=1000, description="How many evals to list."),
        strategy: OptionalText = text_param("Only evals of this strategy."),
        scenario: OptionalText = text_param("Only evals of this scenario."),
    ) -> Annotated[CallToolResult, EvalHistory]:
        with eval_mistakes():
            return compact(await service_of(context).evaluations.history(limit, strategy, scenario))

    @server.tool(
        title="Show an eval",
        description="One eval in full: request, per-case results (outputs, grades, scores), summary, stats.",
        annotations=READ_ONLY,
    )
    async def alc_eval_detail(
        context: ServiceContext,
        eval_id: str = Field(description="An eval id (alc_eval_history) or the eval's session id."),
    ) -> Annotated[CallToolResult, EvalDetail]:
        with eval_mistakes():
            return compact(await service_of(context).evaluations.detail(eval_id))

    @server.tool(
        title="Compare two evals",
        description="Compare two evals by Welch's t-test on their per-run scores: t, df, p-value, "
        "95% CI of the difference, Cohen's d / Hedges' g. a and b are card ids, aliases or eval ids.",
        annotations=READ_ONLY,
    )
    async def alc_eval_compare(
        context: ServiceContext,
        a: str = Field(description="Card id, alias or eval id."),
        b: str = Field(description="Card id, alias or eval id."),
    ) -> Annotated[CallToolResult, Comparison]:
        with eval_mistakes("Compare failed: "):
            return compact(await service_of(context).evaluations.compare(a, b))

    @server.tool(
        title="List scenarios",
        description="List scenarios (ALC_HOME/scenarios, installed packages, bundled) "
        "with their case counts.",
        annotations=READ_ONLY,
    )
    async def alc_scenario_list(context: ServiceContext) -> Annotated[CallToolResult, ScenarioList]:
        return compact(await service_of(context).evaluations.scenario_list())

    @server.tool(
        title="Show a scenario",
        description="Show a scenario: its source, cases (input, expected, tags) and graders.",
        annotations=READ_ONLY,
    )
    async def alc_scenario_show(
        context: ServiceContext, name: str = Field(description="Scenario name.")
    ) -> Annotated[CallToolResult, ScenarioShown]:
        with eval_mistakes():
            return compact(await service_of(context).evaluations.scenario_show(name))

    @server.tool(
        title="Install scenarios",
        description="Install scenarios into ALC_HOME/scenarios: a .lua file or a directory of them "
        "(`path`), or inline `source` under `name`. Each is checked by loading it.",
        annotations=REMOVES,
    )
    async def alc_scenario_install(
        context: ServiceContext,
        path: OptionalText = text_param("A scenario .lua file, or a directory of them."),
        source: OptionalText = text_param("Inline scenario source (needs `name`)."),
        name: OptionalText = text_param("Name to install under."),
    ) -> Annotated[CallToolResult, ScenarioInstalled]:
        with eval_mistakes("Install failed: "):
            return compact(await service_of(context).evaluations.scenario_install(path, source, name))

    @server.tool(
        title="List cards",
        description="List cards (immutable eval results), newest first.",
        annotations=READ_ONLY,
    )
    async def alc_card_list(
        context: ServiceContext,
        strategy: OptionalText = text_param("Only cards of this strategy."),
        scenario: OptionalText = text_param("Only cards of this scenario."),
        limit: int = Field(default=50, ge=1, le=1000),
    ) -> Annotated[CallToolResult, CardList]:
        with eval_mistakes():
            return compact(await service_of(context).evaluations.card_list(strategy, scenario, limit))

    @server.tool(
        title="Show a card",
        description="One card in full, by card id, alias or eval id.",
        annotations=READ_ONLY,
    )
    async def alc_card_get(
        context: ServiceContext, card_id: str = Field(description="Card id, alias or eval id.")
    ) -> Annotated[CallToolResult, Card]:
        with eval_mistakes():
            return compact((await service_of(context).evaluations.card(card_id)).to_json())

    @server.tool(
        title="Find cards",
        description="Find cards by fields: where = "
        '{"summary.pass_rate": {"gte": 0.8}, "strategy.name": "cot"} '
        "(operators eq ne lt lte gt gte in nin exists contains starts_with, and _and/_or/_not); "
        'order_by = "-summary.mean" (a leading - sorts descending) or a list of such.',
        annotations=READ_ONLY,
    )
    async def alc_card_find(
        context: ServiceContext,
        where: dict[str, Any] | None = Field(
            default=None, description="Filter on card fields (dotted paths)."
        ),
        order_by: list[str] | None = Field(default=None, description='Sort keys, e.g. ["-summary.mean"].'),
        limit: int = Field(default=50, ge=1, le=1000),
        offset: int = Field(default=0, ge=0),
        strategy: OptionalText = text_param("Only cards of this strategy."),
        scenario: OptionalText = text_param("Only cards of this scenario."),
    ) -> Annotated[CallToolResult, CardList]:
        with eval_mistakes():
            return compact(
                await service_of(context).evaluations.card_find(
                    where, order_by, limit, offset, strategy, scenario
                )
            )

    @server.tool(
        title="Point an alias at a card",
        description='Point an alias (e.g. "cot-baseline") at a card; an alias moves, a card never changes.',
        annotations=REMOVES,
    )
    async def alc_card_alias_set(
        context: ServiceContext,
        alias: str = Field(description="Alias name."),
        card_id: str = Field(description="Card id (or an alias or eval id naming one)."),
    ) -> Annotated[CallToolResult, AliasSet]:
        with eval_mistakes():
            return compact(await service_of(context).evaluations.alias_set(alias, card_id))

    @server.tool(title="List card aliases", description="List card aliases.", annotations=READ_ONLY)
    async def alc_card_alias_list(context: ServiceContext) -> Annotated[CallToolResult, AliasList]:
        return compact(await service_of(context).evaluations.aliases())

    @server.tool(
        title="Show the card of an alias", description="The card an alias points at.", annotations=READ_ONLY
    )
    async def alc_card_get_by_alias(
        context: ServiceContext, alias: str = Field(description="Alias name.")
    ) -> Annotated[CallToolResult, Card]:
        with eval_mistakes():
            return compact((await service_of(context).evaluations.alias_get(alias)).to_json())


def register_eval_resources(server: MCPServer[Any]) -> None:
    """The ``alc://cards/{id}`` resource: one card as JSON; ``…/samples``: its samples."""

    @server.resource(
        "alc://cards/{card_id}",
        name="card",
        description="An immutable eval result card as JSON.",
        mime_type="application/json",
    )
    async def card_resource(card_id: str, context: ServiceContext) -> str:
        try:
            return dumps_pretty((await service_of(context).evaluations.card(card_id)).to_json())
        except CALLER_MISTAKES as exc:
            raise ResourceError(str(exc)) from None

    @server.resource(
        "alc://cards/{card_id}/samples",
        name="card_samples",
        description="The samples a card was written with (alc.card.write_samples), as a JSON array.",
        mime_type="application/json",
    )
    async def card_samples_resource(card_id: str, context: ServiceContext) -> str:
        try:
            return dumps_pretty(await service_of(context).evaluations.samples(card_id))
        except CALLER_MISTAKES as exc:
            raise ResourceError(str(exc)) from None
