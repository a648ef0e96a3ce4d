"""Core statements inside an ORM session, without the ORM's per-statement dispatch.

``Session.execute`` routes every statement through the ORM's execution machinery (bind lookup
by clause, execution-option merging, event dispatch) before the connection runs it: about 35 µs
a statement, ten statements an article, on the store path of every article. The hot statements
there are Core (tables, not mapped classes), so they go straight to the session's connection,
after the same autoflush ``Session.execute`` would have done: reads still see pending ORM changes,
and the statement runs in the session's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import Session


def execute(session: Session, statement: Executable, params: Any = None) -> CursorResult[Any]:
    """``session.execute(statement, params)`` for a Core statement, at the cost of a Connection's."""
    if session.autoflush:
        session.flush()  # nothing to do (and cheap) when no ORM change is pending
    return session.connection().execute(statement, params)
