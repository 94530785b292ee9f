"""Which database errors are outages (503) and which are bugs (they stay 500)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from voicegate.db.errors import BUSY, UNREACHABLE, Outage, classify


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"server said {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(kind: type[sa_exc.DBAPIError], orig: Exception, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    return kind("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        pytest.param(sa_exc.TimeoutError("QueuePool limit reached"), BUSY, id="pool-exhausted"),
        pytest.param(
            wrapped(sa_exc.OperationalError, sqlite3.OperationalError("database is locked")), BUSY, id="locked"
        ),
        pytest.param(
            wrapped(sa_exc.OperationalError, sqlite3.OperationalError("unable to open database file")),
            UNREACHABLE,
            id="sqlite-unopenable",
        ),
        pytest.param(
            wrapped(sa_exc.DBAPIError, Exception("closed mid-operation"), invalidated=True), UNREACHABLE, id="dropped"
        ),
        pytest.param(wrapped(sa_exc.InterfaceError, Exception("connection is closed")), UNREACHABLE, id="interface"),
        pytest.param(wrapped(sa_exc.DBAPIError, PgError("57P01")), UNREACHABLE, id="admin-shutdown"),
        pytest.param(wrapped(sa_exc.DBAPIError, PgError("53300")), UNREACHABLE, id="too-many-clients"),
        pytest.param(wrapped(sa_exc.IntegrityError, PgError("23505")), None, id="unique-violation"),
        pytest.param(wrapped(sa_exc.ProgrammingError, PgError("42P01")), None, id="undefined-table"),
        pytest.param(wrapped(sa_exc.DataError, PgError("22003")), None, id="out-of-range"),
        pytest.param(wrapped(sa_exc.DBAPIError, PgError("40P01")), None, id="deadlock"),
        pytest.param(sa_exc.InvalidRequestError("bad use of the session"), None, id="orm-misuse"),
        pytest.param(ConnectionRefusedError(111, "refused"), None, id="bare-oserror"),
    ],
)
def test_classify(error: BaseException, outage: Outage | None) -> None:
    assert classify(error) == outage
