#!/usr/bin/env bash
# Regenerates migrations/versions/*_initial.py from the models. Only valid while no release has shipped the
# schema (the project has one migration); after that, add a new revision instead.
set -euo pipefail
cd "$(dirname "$0")/.."
db=$(mktemp -d)/gen.db
rm -f migrations/versions/*.py
DATABASE_URL="sqlite+aiosqlite:///$db" uv run alembic revision --autogenerate -m "create ledger and provider tables" --rev-id 0001 >/dev/null
f=$(ls migrations/versions/*.py)
sed -i 's/voicegate\.db\.base\.Micros()/sa.BigInteger()/g; s/voicegate\.db\.base\.UTCDateTime(timezone=True)/sa.DateTime(timezone=True)/g; /^import voicegate.db.base$/d; /# ### /d' "$f"
uv run ruff format "$f" >/dev/null
uv run ruff check --fix "$f" >/dev/null
echo "$f"
