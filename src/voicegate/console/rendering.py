"""One Jinja2 environment for every console page, its filters, and `render()`.

Filters never do arithmetic on money: `money` formats a `Decimal` already rounded by `kit.money.quantize_usd`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from voicegate.console import csrf, security
from voicegate.kit.money import quantize_usd
from voicegate.kit.time import utc_now

TEMPLATES = Path(__file__).parent / "templates"


def money(amount: Decimal | str | None) -> str:
    value = quantize_usd(Decimal(amount if amount is not None else 0))
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,}"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def countdown(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never expires"
    remaining = int((moment - (now or utc_now())).total_seconds())
    if remaining <= 0:
        return "expired"
    days, rest = divmod(remaining, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"in {days} d {hours} h"
    return f"in {hours} h {rest // 60} min" if hours else f"in {max(rest // 60, 1)} min"


def size(count: int | None) -> str:
    value = float(count or 0)  # a byte count shown to a person, never money
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update({"money": money, "when": when, "countdown": countdown, "bytes": size})


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    identity: str | None = None,
    media_urls: Iterable[str] = (),
    **context: Any,
) -> HTMLResponse:
    """The page `name` with `context`, plus what every page needs: the CSRF token for its forms (a CSRF seed
    cookie is set when the browser has none yet), the current path, and who is signed in. `media_urls` are the
    links the page plays, so its Content-Security-Policy allows exactly their origins as media sources."""
    seed = csrf.seed_of(request)
    html = environment.get_template(name).render(
        csrf_token=csrf.token_for(request, seed),
        current_path=request.url.path,
        identity=identity,
        notice=context.pop("notice", None),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = security.content_security_policy(media_urls)
    csrf.remember_seed(request, response, seed)
    return response
