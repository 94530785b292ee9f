"""CSRF protection for console forms: a synchronizer token tied to a per-browser seed.

The seed is a random value in an HttpOnly `console_csrf` cookie; the token is HMAC(signing secret, seed), put in
each form's hidden `csrf_token` field (htmx sends it as `X-CSRF-Token`). A cross-site page can make the browser
send the cookie but cannot read it, so it cannot compute the token. Every console POST depends on `require_token`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from voicegate.config import Settings
from voicegate.errors import Forbidden

SEED_COOKIE = "console_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def _secret(request: Request) -> bytes:
    settings: Settings = request.app.state.settings
    return settings.signing_secret.encode()


def seed_of(request: Request) -> str:
    """The browser's seed, or a new one (sent back by `remember_seed`)."""
    seed = request.cookies.get(SEED_COOKIE, "")
    return seed if 16 <= len(seed) <= 128 else secrets.token_urlsafe(24)


def token_for(request: Request, seed: str) -> str:
    return hmac.new(_secret(request), b"console-csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def remember_seed(request: Request, response: Response, seed: str) -> None:
    if request.cookies.get(SEED_COOKIE) != seed:
        settings: Settings = request.app.state.settings
        response.set_cookie(SEED_COOKIE, seed, httponly=True, samesite="lax", secure=settings.is_production)


async def require_token(request: Request) -> None:
    """Refuse (403) a console POST whose form field or header does not carry the token for the browser's seed."""
    seed = request.cookies.get(SEED_COOKIE, "")
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(FIELD)
        sent = field if isinstance(field, str) else ""
    if not seed or not sent or not hmac.compare_digest(sent, token_for(request, seed)):
        raise Forbidden("The form has expired or did not come from this console: reload the page and try again")
