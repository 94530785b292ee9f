"""The console's response headers. Scripts, styles and everything else come from the gateway itself; a page that
plays media stored elsewhere (an S3 bucket's presigned links) names exactly those origins as media sources."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

BASE_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL; None for a relative link (same origin) or anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(media_urls: Iterable[str] = ()) -> str:
    origins = sorted({origin for url in media_urls if (origin := origin_of(url)) is not None})
    if not origins:
        return BASE_POLICY
    return f"{BASE_POLICY}; media-src 'self' {' '.join(origins)}"
