"""A value the database refuses (SQLSTATE class 22: a NUL in a text value on PostgreSQL, a number out of
range...) is the caller's input, not a failure of the store: it surfaces as an :class:`InvalidParameterError`
naming the database's reason and the fix, with the SQL and its parameters never shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...exceptions import InvalidParameterError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine, ExceptionContext


def is_data_error(exc: BaseException) -> bool:
    """SQLAlchemy's ``DataError`` or a DB-API driver's own (both keep the standard's class name)."""
    return any(t.__name__ == "DataError" for t in type(exc).__mro__)


def refused_value_message(exc: BaseException) -> str:
    """The driver's first line of ``exc`` (never the statement) and what to do about it."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
    fix = "remove the NUL characters (\\x00)" if "NUL" in reason else "fix the value"
    return f"The tracking database refused a value ({reason}): {fix} and retry"


def raise_refused_values_as_invalid(engine: Engine) -> None:
    """Make every ``DataError`` of ``engine`` an :class:`InvalidParameterError` (the embedded store's callers
    and the server's handlers then see one exception for a refused value; the transaction has rolled back)."""
    from sqlalchemy import event

    @event.listens_for(engine, "handle_error")
    def _refused_value(context: ExceptionContext) -> BaseException | None:
        refused = context.sqlalchemy_exception
        if refused is None or not is_data_error(refused):
            return None
        error = InvalidParameterError(refused_value_message(refused))
        error.__cause__ = refused
        return error
