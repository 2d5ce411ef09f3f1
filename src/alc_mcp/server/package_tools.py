"""Packages a script can ``require`` or ``alc_advice`` can run, and the server itself."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import Field

from alc_mcp.server import texts
from alc_mcp.server.annotations import INSTALLS_FROM_URL, READ_ONLY, REMOVES
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.params import SEARCH_PATHS, OptionalText, caller_mistakes, text_param
from alc_mcp.server.results import (
    Info,
    PackageInstalled,
    PackageList,
    PackageRemoved,
    PackageTestReport,
    compact,
    pretty,
)
from alc_mcp.server.toolbox import ToolBox

__all__ = ["register_package_tools"]


def register_package_tools(server: ToolBox) -> None:
    @server.tool(title="List packages", description=texts.ALC_PKG_LIST, annotations=READ_ONLY)
    async def alc_pkg_list(context: ServiceContext) -> Annotated[CallToolResult, PackageList]:
        return compact(await service_of(context).packages())

    @server.tool(title="Install packages", description=texts.ALC_PKG_INSTALL, annotations=INSTALLS_FROM_URL)
    async def alc_pkg_install(
        context: ServiceContext,
        url: str = Field(
            description="Local directory (absolute path) or git URL of a package or collection."
        ),
        name: OptionalText = text_param(
            "Install a single package under this name instead of its directory's."
        ),
    ) -> Annotated[CallToolResult, PackageInstalled]:
        with caller_mistakes():
            return compact(await service_of(context).install(url, name))

    @server.tool(title="Remove a package", description=texts.ALC_PKG_REMOVE, annotations=REMOVES)
    async def alc_pkg_remove(
        context: ServiceContext,
        name: str = Field(description="Package installed in ALC_HOME/packages."),
    ) -> Annotated[CallToolResult, PackageRemoved]:
        with caller_mistakes():
            return compact(await service_of(context).remove(name))

    @server.tool(title="Run package specs", description=texts.ALC_PKG_TEST, annotations=READ_ONLY)
    async def alc_pkg_test(
        context: ServiceContext,
        package: OptionalText = text_param("An installed package whose spec/*_spec.lua to run."),
        path: OptionalText = text_param("A spec file, a package directory or a collection to test."),
        code: OptionalText = text_param("Inline spec source (lust describe/it blocks)."),
        search_paths: list[str] | None = SEARCH_PATHS,
    ) -> Annotated[CallToolResult, PackageTestReport]:
        with caller_mistakes("Test failed: "):
            return compact(await service_of(context).package_tests.test(package, path, code, search_paths))

    @server.tool(title="Server configuration", description=texts.ALC_INFO, annotations=READ_ONLY)
    async def alc_info(context: ServiceContext) -> Annotated[CallToolResult, Info]:
        return pretty(service_of(context).info())
