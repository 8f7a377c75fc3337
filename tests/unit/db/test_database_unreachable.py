"""`database_unreachable` tells "no database to talk to right now" (worth a 503 and a retry) from a statement
that is wrong (a 4xx or a 500), whichever layer raised it: the socket, asyncpg, or SQLAlchemy's pool."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from wadesk.db.session import database_unreachable


def wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    try:
        raise DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated) from orig
    except DBAPIError as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        OSError(113, "No route to host"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached"),
        wrapped(Exception("connection is closed"), invalidated=True),
        wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    ],
    ids=type,
)
def test_what_says_the_database_is_out_of_reach(exc: BaseException) -> None:
    assert database_unreachable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        FileNotFoundError(2, "No such file or directory"),
        asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        wrapped(asyncpg.UndefinedColumnError("column does not exist")),
    ],
    ids=type,
)
def test_what_says_the_statement_is_wrong(exc: BaseException) -> None:
    assert not database_unreachable(exc)
