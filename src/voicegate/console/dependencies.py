"""Who is signed in to the console, and the route class that turns every console failure into an HTML page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from voicegate.auth.service import authenticate_bearer
from voicegate.console import security
from voicegate.console.rendering import render
from voicegate.db.models import User
from voicegate.deps import ResourcesDep, SessionDep
from voicegate.errors import GatewayError, Unauthorized

ACCESS_COOKIE = "access_token"  # the cookie `POST /api/v1/auth/api-key` sets: one sign-in for API and console
LOGIN_PATH = "/console/login"


class SignInRequired(Exception):
    """No valid console session: the browser is sent to the sign-in page."""


@dataclass(frozen=True, slots=True)
class ConsoleCaller:
    user_id: str
    email: str


async def get_console_caller(request: Request, session: SessionDep, resources: ResourcesDep) -> ConsoleCaller:
    credential = request.cookies.get(ACCESS_COOKIE, "")
    if not credential:
        raise SignInRequired
    try:
        principal = await authenticate_bearer(
            session, credential, secret=resources.settings.signing_secret, cache=resources.credentials
        )
    except Unauthorized as exc:
        raise SignInRequired from exc
    user = await session.get(User, principal.user.id)
    if user is None:
        raise SignInRequired
    caller = ConsoleCaller(user_id=user.id, email=user.email)
    if session.in_transaction():  # as the API's `get_principal`: end the read before any page writes
        await session.commit()
    request.state.user_id = caller.user_id
    return caller


Caller = Annotated[ConsoleCaller, Depends(get_console_caller)]

_VALIDATION_MESSAGE = "Some of the values in this address or form are not valid"


def error_page(request: Request, status_code: int, detail: str) -> Response:
    return render(request, "error.html", status_code=status_code, detail=detail)


class ConsoleRoute(APIRoute):
    """Console pages answer with HTML: a sign-in redirect, or an error page with the error's 4xx status, in place
    of the API's JSON errors; and every response carries the console's security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse(LOGIN_PATH, status_code=303)
            except GatewayError as exc:
                response = error_page(request, exc.status_code, str(exc.detail))
            except RequestValidationError:
                response = error_page(request, 400, _VALIDATION_MESSAGE)
            response.headers.update(security.HEADERS)
            if "content-security-policy" not in response.headers:  # a page may have widened media-src already
                response.headers["Content-Security-Policy"] = security.content_security_policy()
            return response

        return console_handler
