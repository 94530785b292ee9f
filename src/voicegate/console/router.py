"""The user console's pages. Thin: each reads through the same services as the JSON API and renders a view."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from voicegate.auth.service import exchange_api_key
from voicegate.console import csrf, static, views
from voicegate.console.dependencies import ACCESS_COOKIE, LOGIN_PATH, Caller, ConsoleRoute, error_page
from voicegate.console.rendering import render
from voicegate.deps import ResourcesDep, SessionDep, SettingsDep, StorageDep
from voicegate.errors import NotFound, Unauthorized
from voicegate.user import service as user_service

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
CsrfChecked = [Depends(csrf.require_token)]
KEY_NAME_MAX = 100
MAX_PAGE = 10_000
NAME_PATTERN = r"^[A-Za-z0-9_.-]*$"  # capability and status names; anything else cannot match a row


@router.get("/static/{path:path}")
async def static_file(path: str) -> Response:
    return static.serve(path)


@router.get("/login")
async def login_page(request: Request) -> Response:
    return render(request, "login.html")


@router.post("/login", dependencies=CsrfChecked)
async def login(
    request: Request, session: SessionDep, settings: SettingsDep, api_key: Annotated[str, Form()] = ""
) -> Response:
    try:
        token = await exchange_api_key(session, api_key, secret=settings.signing_secret, ttl_s=settings.jwt_ttl_s)
    except Unauthorized:
        return render(request, "login.html", status_code=401, error="That API key is not valid, or it was revoked.")
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        ACCESS_COOKIE,
        token.access_token,
        max_age=token.expires_in,
        httponly=True,
        secure=settings.is_production,
        samesite="lax",
    )
    return response


@router.post("/logout", dependencies=CsrfChecked)
async def logout(settings: SettingsDep) -> Response:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(ACCESS_COOKIE, httponly=True, secure=settings.is_production, samesite="lax")
    return response


@router.get("")
async def overview(
    request: Request, caller: Caller, session: SessionDep, days: Annotated[Literal["7", "30"], Query()] = "7"
) -> Response:
    usage = await user_service.usage_summary(session, caller.user_id)
    spend = await user_service.spend_by_day(session, caller.user_id, int(days))
    return render(request, "overview.html", identity=caller.email, page=views.overview(usage, spend))


@router.get("/keys")
async def keys(request: Request, caller: Caller, session: SessionDep) -> Response:
    rows = views.key_rows(await user_service.list_keys(session, caller.user_id))
    return render(request, "keys.html", identity=caller.email, keys=rows, new_key=None)


@router.post("/keys", dependencies=CsrfChecked)
async def create_key(
    request: Request, caller: Caller, session: SessionDep, name: Annotated[str, Form(max_length=KEY_NAME_MAX)] = ""
) -> Response:
    issued = await user_service.create_key(session, caller.user_id, name.strip() or "default")
    rows = views.key_rows(await user_service.list_keys(session, caller.user_id))
    # Rendered, not redirected: the plaintext exists only in this response and is never stored.
    return render(request, "keys.html", status_code=201, identity=caller.email, keys=rows, new_key=issued.plaintext)


@router.post("/keys/{key_id}/revoke", dependencies=CsrfChecked)
async def revoke_key(key_id: str, caller: Caller, session: SessionDep, resources: ResourcesDep) -> Response:
    await user_service.revoke_key(session, caller.user_id, key_id, resources.credentials)
    return RedirectResponse("/console/keys", status_code=303)


@router.get("/activity")
async def activity(
    request: Request,
    caller: Caller,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    capability: Annotated[str, Query(max_length=32, pattern=NAME_PATTERN)] = "",
    status: Annotated[str, Query(max_length=16, pattern=NAME_PATTERN)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    listing = await user_service.activity(
        session,
        storage,
        caller.user_id,
        capability=capability or None,
        status=status or None,
        page=page,
        link_ttl=timedelta(seconds=settings.presign_ttl_s),
    )
    filters = views.ActivityFilters(capability=capability, status=status)
    links = [item.media.url for item in listing.items if item.media and item.media.url]
    return render(request, "activity.html", identity=caller.email, media_urls=links, listing=listing, filters=filters)


@router.get("/activity/{request_id}")
async def activity_item(
    request: Request, request_id: str, caller: Caller, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> Response:
    item = await user_service.activity_item(
        session, storage, caller.user_id, request_id, link_ttl=timedelta(seconds=settings.presign_ttl_s)
    )
    links = [item.media.url] if item.media and item.media.url else []
    return render(request, "activity_item.html", identity=caller.email, media_urls=links, item=item)


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def not_found(request: Request, rest: str) -> Response:
    return error_page(request, 404, str(NotFound("There is no console page at this address").detail))
