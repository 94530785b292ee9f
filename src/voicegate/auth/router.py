from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Header, Response
from pydantic import BaseModel

from voicegate.auth.service import AccessToken, exchange_api_key
from voicegate.deps import SessionDep, SettingsDep
from voicegate.errors import Unauthorized, described

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str
    expires_in: int


def _respond(token: AccessToken, response: Response, secure: bool) -> TokenRead:
    response.set_cookie(
        "access_token",
        token.access_token,
        max_age=token.expires_in,
        httponly=True,
        secure=secure,
        samesite="lax",
    )
    return TokenRead(access_token=token.access_token, token_type=token.token_type, expires_in=token.expires_in)


@router.post("/api-key", responses=described({401: "Invalid or revoked API key"}))
async def login_with_api_key(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header()] = None,
) -> TokenRead:
    if not x_api_key:
        raise Unauthorized("Missing X-API-Key header")
    token = await exchange_api_key(session, x_api_key, secret=settings.signing_secret, ttl_s=settings.jwt_ttl_s)
    return _respond(token, response, settings.is_production)


@router.post("/token", responses=described({401: "Invalid or revoked API key"}))
async def login_with_form(
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> TokenRead:
    """OAuth2-style form login; the API key goes in `password` (the SDK's fallback also tries `username`)."""
    candidate = password or username
    if not candidate:
        raise Unauthorized("Missing credentials")
    token = await exchange_api_key(session, candidate, secret=settings.signing_secret, ttl_s=settings.jwt_ttl_s)
    return _respond(token, response, settings.is_production)
