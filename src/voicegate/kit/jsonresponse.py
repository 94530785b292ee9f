from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Response


def json_response(body: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Serialise a large, already-shaped body once with orjson, skipping FastAPI's re-validation of it."""
    return Response(
        orjson.dumps(body), status_code=status_code, headers=dict(headers or {}), media_type="application/json"
    )
