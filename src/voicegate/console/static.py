"""The console's own CSS/JS and its vendored libraries, served from the package with long cache headers.

Only files present in `static/` when the process started can be served: the path is looked up in that list, never
joined onto the file system, so `..` and absolute paths cannot escape it."""

from __future__ import annotations

import functools
import mimetypes
from pathlib import Path

from fastapi import Response
from fastapi.responses import FileResponse

from voicegate.errors import NotFound

ROOT = Path(__file__).parent / "static"
VENDOR_CACHE = "public, max-age=31536000, immutable"  # versioned file names: a new build is a new name
OWN_CACHE = "public, max-age=3600"
SERVED_SUFFIXES = {".css", ".js", ".map", ".svg", ".png", ".ico", ".woff2"}


@functools.cache
def _files() -> dict[str, Path]:
    return {
        path.relative_to(ROOT).as_posix(): path
        for path in ROOT.rglob("*")
        if path.is_file() and path.suffix in SERVED_SUFFIXES
    }


def serve(relative: str) -> Response:
    path = _files().get(relative)
    if path is None:
        raise NotFound("No such console file")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or path.suffix == ".js":
        media_type = ("text/javascript" if path.suffix == ".js" else media_type) + "; charset=utf-8"
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": VENDOR_CACHE if relative.startswith("vendor/") else OWN_CACHE},
    )
