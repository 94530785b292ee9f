from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voicegate.auth.service import CallerUser, Principal, authenticate_bearer
from voicegate.deps import ResourcesDep, SessionDep
from voicegate.errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="An API key, or an access token from /api/v1/auth/api-key")


async def get_principal(
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is not None:
        credential = credentials.credentials
    elif request.headers.get("authorization"):
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'")
    else:
        credential = request.cookies.get("access_token", "")
    if not credential:
        raise Unauthorized("Not authenticated: send 'Authorization: Bearer <API key or access token>'")
    principal = await authenticate_bearer(
        session, credential, secret=resources.settings.signing_secret, cache=resources.credentials
    )
    # End the read transaction now: on SQLite a later write in the same transaction could not be upgraded if
    # another request wrote in between, and nothing downstream needs this snapshot.
    if session.in_transaction():
        await session.commit()
    request.state.user_id = principal.user.id
    return principal


async def get_current_user(principal: Annotated[Principal, Depends(get_principal)]) -> CallerUser:
    return principal.user


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentUser = Annotated[CallerUser, Depends(get_current_user)]
