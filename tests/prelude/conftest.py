"""These tests look only at what scripts do: ``host`` is the tools without MCP."""

from __future__ import annotations

import pytest

from tests.conftest import EngineHost


@pytest.fixture
def host(engine_host: EngineHost) -> EngineHost:
    return engine_host
