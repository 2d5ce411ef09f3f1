"""The mistakes a caller can make, as one tuple: an adapter turns these into its own
"you asked for something wrong" error (a tool error, a usage message) and lets
anything else surface as the bug it is."""

from __future__ import annotations

from alc_mcp.app.code_files import CodeFileError
from alc_mcp.app.evaluation import EvalError
from alc_mcp.app.programs import ProgramError
from alc_mcp.app.strategy_inputs import MissingInputError
from alc_mcp.domain.evaluation import EvaluationError
from alc_mcp.domain.pending_filter import PendingFilterError
from alc_mcp.domain.state import FeedError
from alc_mcp.domain.variables import VariableError
from alc_mcp.engine.packages import ModuleNotFound, PackageError
from alc_mcp.engine.scratch import ScratchError
from alc_mcp.engine.session import SessionError
from alc_mcp.store.cards import CardError

__all__ = ["CALLER_MISTAKES", "CardError", "ModuleNotFound", "PackageError", "ScratchError", "SessionError"]

CALLER_MISTAKES: tuple[type[Exception], ...] = (
    SessionError,
    FeedError,
    PackageError,
    PendingFilterError,
    VariableError,
    ProgramError,
    CodeFileError,
    MissingInputError,
    EvalError,
    EvaluationError,
    CardError,
)
