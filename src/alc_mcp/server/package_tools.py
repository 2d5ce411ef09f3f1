"""Packages a script can ``require`` or ``alc_advice`` can run, and the server itself."""

from __future__ import annotations

from pydantic import Field

from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty
from alc_mcp.server import texts
from alc_mcp.server.annotations import DESTRUCTIVE, OPEN_WORLD_DESTRUCTIVE, READ_ONLY
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.params import SEARCH_PATHS, OptionalText, caller_mistakes, text_param
from alc_mcp.server.toolbox import ToolBox

__all__ = ["register_package_tools"]


def register_package_tools(server: ToolBox) -> None:
    @server.tool(description=texts.ALC_PKG_LIST, annotations=READ_ONLY, structured_output=False)
    async def alc_pkg_list(context: ServiceContext) -> str:
        return dumps_compact(await service_of(context).packages())

    @server.tool(
        description=texts.ALC_PKG_INSTALL, annotations=OPEN_WORLD_DESTRUCTIVE, structured_output=False
    )
    async def alc_pkg_install(
        context: ServiceContext,
        url: str = Field(
            description="Local directory (absolute path) or git URL of a package or collection."
        ),
        name: OptionalText = text_param(
            "Install a single package under this name instead of its directory's."
        ),
    ) -> str:
        with caller_mistakes():
            return dumps_compact(await service_of(context).install(url, name))

    @server.tool(description=texts.ALC_PKG_REMOVE, annotations=DESTRUCTIVE, structured_output=False)
    async def alc_pkg_remove(
        context: ServiceContext,
        name: str = Field(description="Package installed in ALC_HOME/packages."),
    ) -> str:
        with caller_mistakes():
            return dumps_compact(await service_of(context).remove(name))

    @server.tool(description=texts.ALC_PKG_TEST, annotations=READ_ONLY, structured_output=False)
    async def alc_pkg_test(
        context: ServiceContext,
        package: OptionalText = text_param("An installed package whose spec/*_spec.lua to run."),
        path: OptionalText = text_param("A spec file, a package directory or a collection to test."),
        code: OptionalText = text_param("Inline spec source (lust describe/it blocks)."),
        search_paths: list[str] | None = SEARCH_PATHS,
    ) -> str:
        with caller_mistakes("Test failed: "):
            return dumps_compact(
                await service_of(context).package_tests.test(package, path, code, search_paths)
            )

    @server.tool(description=texts.ALC_INFO, annotations=READ_ONLY, structured_output=False)
    async def alc_info(context: ServiceContext) -> str:
        return dumps_pretty(service_of(context).info())
