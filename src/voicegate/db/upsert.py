"""`INSERT ... ON CONFLICT DO NOTHING` on both supported backends.

Losing an insert race this way leaves the caller's transaction and loaded objects intact, where catching an
IntegrityError would roll everything back (and a SAVEPOINT is unreliable under the SQLite driver, whose outermost
RELEASE commits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute


async def insert_or_ignore(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: Mapping[str, Any],
    conflict_on: Sequence[InstrumentedAttribute[Any]] | None,
) -> bool:
    """Insert one row unless it would break the unique constraint over `conflict_on` (None: any unique constraint
    of the table); True if inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(model)
    elif dialect == "sqlite":
        statement = sqlite.insert(model)
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise NotImplementedError(f"insert_or_ignore supports PostgreSQL and SQLite, not {dialect}")
    result = await session.execute(statement.values(**values).on_conflict_do_nothing(index_elements=conflict_on))
    # `index_elements=None` is a bare ON CONFLICT DO NOTHING: every unique index arbitrates.
    return bool(result.rowcount)  # type: ignore[attr-defined]
