"""Every route that takes an upstream id of an owned kind resolves it through `Owned`: none is read raw."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from voicegate.resemble.agents.router import router as agents_router
from voicegate.resemble.identity.router import router as identity_router
from voicegate.resemble.projects.router import router as projects_router

OWNED_ROUTERS = (projects_router, agents_router, identity_router)
OWNED_PREFIXES = tuple(
    f"/api/v1/resemble/{name}"
    for name in ("projects", "agents", "agent-tools", "agent-webhooks", "knowledge-base", "identity")
)
ROUTES = [route for router in OWNED_ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def resolved_params(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        param = getattr(sub.call, "owned_param", None)
        if param is not None:
            yield param
        yield from resolved_params(sub)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{min(r.methods)} {r.path}")
def test_every_upstream_id_in_a_path_goes_through_owned(route: APIRoute):
    unresolved = set(route.param_convertors) - set(resolved_params(route.dependant))
    assert not unresolved, f"{route.path} reads {unresolved} without Owned"
    assert route.response_model is not None


def test_the_lint_sees_every_owned_route_of_the_app(app: FastAPI):
    """No route under the owned prefixes lives outside the routers the lint walks."""
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(OWNED_PREFIXES)
        for method in operations
    }
    walked = {(method, "/api/v1" + route.path) for route in ROUTES for method in route.methods}
    assert served == walked
    assert sum(bool(route.param_convertors) for route in ROUTES) >= 15
