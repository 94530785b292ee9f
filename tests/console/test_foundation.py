from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.helpers import csrf_token, sign_in
from tests.factories import create_customer
from voicegate.console import static

VENDOR = Path(static.ROOT) / "vendor"


def assert_console_headers(answer: httpx.Response) -> None:
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert answer.headers["x-frame-options"] == "DENY"


class TestSignIn:
    async def test_the_login_page_is_html_with_a_token_and_security_headers(self, client: httpx.AsyncClient):
        page = await client.get("/console/login")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="en">' in page.text
        assert 'id="main"' in page.text
        assert "API key" in page.text
        assert csrf_token(page)
        assert_console_headers(page)
        seed = page.headers["set-cookie"]
        assert "console_csrf=" in seed
        assert "HttpOnly" in seed
        assert "samesite=lax" in seed.lower()

    async def test_a_good_key_signs_in_with_the_api_cookie(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = csrf_token(await client.get("/console/login"))
        answer = await client.post("/console/login", data={"api_key": customer.api_key, "csrf_token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("access_token=")
        assert "HttpOnly" in cookie
        assert customer.api_key not in cookie
        overview = await client.get("/console")
        assert overview.status_code == 200
        assert customer.user.email in overview.text
        # the same cookie the API accepts
        assert (await client.get("/api/v1/user/usage")).json()["user_id"] == customer.user.id

    async def test_a_wrong_key_is_refused_on_the_page(self, client: httpx.AsyncClient, session: AsyncSession):
        await create_customer(session)
        token = csrf_token(await client.get("/console/login"))
        answer = await client.post("/console/login", data={"api_key": "vg_nope", "csrf_token": token})
        assert answer.status_code == 401
        assert "not valid" in answer.text
        assert "access_token" not in answer.headers.get("set-cookie", "")
        assert (await client.get("/console")).status_code == 303

    async def test_pages_send_a_signed_out_browser_to_sign_in(self, client: httpx.AsyncClient):
        for path in ("/console", "/console/keys"):
            answer = await client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/login"
        client.cookies.set("access_token", "forged.token.value")
        assert (await client.get("/console")).headers["location"] == "/console/login"

    async def test_logout_clears_the_cookie(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = await sign_in(client, customer.api_key)
        answer = await client.post("/console/logout", data={"csrf_token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login"
        assert (await client.get("/console")).status_code == 303


class TestCsrf:
    async def test_a_post_without_the_token_is_refused(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        await client.get("/console/login")  # has the seed cookie, but sends no token
        refused = await client.post("/console/login", data={"api_key": customer.api_key})
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "access_token" not in str(refused.headers)
        forged = await client.post("/console/login", data={"api_key": customer.api_key, "csrf_token": "0" * 64})
        assert forged.status_code == 403

    async def test_a_token_from_another_browser_is_refused(self, app, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = await sign_in(client, customer.api_key)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
            other.cookies.set("access_token", client.cookies["access_token"])  # a stolen session, not its seed
            await other.get("/console/login")
            answer = await other.post("/console/keys", data={"name": "x", "csrf_token": token})
            assert answer.status_code == 403

    async def test_the_header_form_of_the_token_is_accepted(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = await sign_in(client, customer.api_key)
        answer = await client.post("/console/keys", data={"name": "via-htmx"}, headers={"X-CSRF-Token": token})
        assert answer.status_code == 201


class TestStatic:
    @pytest.mark.parametrize("name", ["htmx-2.0.8.min.js", "chart-4.5.1.umd.min.js"])
    async def test_vendor_files_are_served_as_pinned(self, client: httpx.AsyncClient, name: str):
        sums = dict(reversed(line.split()) for line in (VENDOR / "SHA256SUMS").read_text().splitlines() if line)
        answer = await client.get(f"/console/static/vendor/{name}")
        assert answer.status_code == 200
        assert hashlib.sha256(answer.content).hexdigest() == sums[name]
        assert answer.headers["content-type"].startswith("text/javascript")
        assert "immutable" in answer.headers["cache-control"]
        assert_console_headers(answer)

    async def test_own_files_are_served(self, client: httpx.AsyncClient):
        css = await client.get("/console/static/console.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        js = await client.get("/console/static/console.js")
        assert js.status_code == 200
        assert "data-chart" in js.text

    @pytest.mark.parametrize(
        "path",
        ["vendor/SHA256SUMS", "../router.py", "..%2Frouter.py", "%2Fetc%2Fpasswd", "nope.js", "vendor/README.md"],
    )
    async def test_nothing_else_is(self, client: httpx.AsyncClient, path: str):
        answer = await client.get(f"/console/static/{path}")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")

    async def test_an_unknown_console_page_is_an_html_404(self, client: httpx.AsyncClient):
        answer = await client.get("/console/nowhere?x=<script>")
        assert answer.status_code == 404
        assert "<script>" not in answer.text
        assert_console_headers(answer)

    async def test_the_api_keeps_its_json_errors(self, client: httpx.AsyncClient):
        answer = await client.get("/api/v1/user/usage")
        assert answer.status_code == 401
        assert "detail" in answer.json()
