from __future__ import annotations

import uuid


def new_id() -> str:
    """A random 32-hex-character identifier: safe in URLs, storage keys and file names."""
    return uuid.uuid4().hex
