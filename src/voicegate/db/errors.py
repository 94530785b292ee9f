"""Telling a database *outage* apart from a database *bug*, at the boundary to SQLAlchemy and the drivers.

An outage (the server is unreachable, went away mid-statement, refuses connections, the pool is exhausted, SQLite
cannot open or lock its file) is answered 503 with Retry-After: retrying later is the right move for the client.
Anything else (IntegrityError, ProgrammingError, DataError, ...) is a bug of ours and must stay a logged 500,
never be disguised as a transient outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

# SQLSTATE classes that mean "the server cannot serve you now", whatever the statement: connection exceptions
# (08), insufficient resources such as too many connections (53), operator intervention such as a shutdown (57P).
_OUTAGE_SQLSTATE_PREFIXES = ("08", "53", "57P")


@dataclass(frozen=True)
class Outage:
    reason: str
    """`unreachable` (cannot connect or the connection died) or `busy` (the pool or the file lock is full)."""
    retry_after_s: int


UNREACHABLE = Outage("unreachable", retry_after_s=5)
BUSY = Outage("busy", retry_after_s=2)


def classify(exc: BaseException) -> Outage | None:
    """The outage `exc` stands for, or None when it is not an outage (and so must not be answered 503)."""
    if isinstance(exc, sa_exc.TimeoutError):  # QueuePool: no connection came free within pool_timeout
        return BUSY
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if exc.connection_invalidated:
        return UNREACHABLE
    if isinstance(exc, sa_exc.OperationalError) and "locked" in str(exc.orig).lower():
        return BUSY  # SQLite waited its busy_timeout for the write lock
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return UNREACHABLE
    if _sqlstate(exc).startswith(_OUTAGE_SQLSTATE_PREFIXES):
        return UNREACHABLE
    return None


def _sqlstate(exc: sa_exc.DBAPIError) -> str:
    # asyncpg's error hangs under the dialect's adapted exception; psycopg puts it on the exception itself.
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return ""


def translate_connect_errors(engine: AsyncEngine) -> None:
    """Make a failed connection attempt raise the driver's OperationalError, wrapped by SQLAlchemy as usual.

    asyncpg lets socket errors (refused, unreachable, timed out) and server refusals at start-up escape as
    themselves: a bare ConnectionRefusedError cannot be told apart from any other OSError higher up. Turned into
    the DB-API's OperationalError here, every connection failure reaches the app as `sqlalchemy.exc.DBAPIError`.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def connect(dialect: Dialect, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> Any:
        dbapi = dialect.loaded_dbapi
        try:
            return dbapi.connect(*cargs, **cparams)
        except dbapi.Error:
            raise
        except (OSError, TimeoutError) as error:
            raise dbapi.OperationalError(f"cannot connect: {type(error).__name__}: {error}") from error
        except Exception as error:
            if not type(error).__module__.startswith("asyncpg"):
                raise
            # "the database system is starting up", "too many clients", a wrong password or database name.
            raise dbapi.OperationalError(f"connection refused by the server: {error}") from error
