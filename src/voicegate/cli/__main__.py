"""`voicegate` command line: serve the gateway or the simulator, migrate, and administer users, keys and credit."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.admin import service as admin_service
from voicegate.config import get_settings
from voicegate.db import migrate
from voicegate.db.session import create_engine, create_sessionmaker
from voicegate.errors import GatewayError
from voicegate.metrics import MULTIPROC_DIR_ENV
from voicegate.ratelimit.rules import DEFAULT_TIER, Tier
from voicegate.runtime_settings import service as runtime_settings
from voicegate.runtime_settings.registry import lookup
from voicegate.runtime_settings.service import SettingView

app = typer.Typer(help="voicegate: a metered gateway for Resemble AI's voice platform.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
credits_app = typer.Typer(help="Grant or correct credit.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue and revoke API keys.", no_args_is_help=True)
settings_app = typer.Typer(help="Read and change runtime settings (every gateway applies a change within 5 s).")
settings_app.info.no_args_is_help = True
app.add_typer(users_app, name="users")
app.add_typer(credits_app, name="credits")
app.add_typer(keys_app, name="keys")
app.add_typer(settings_app, name="settings")
voices_app = typer.Typer(help="Cloned voices' monthly billing.", no_args_is_help=True)
app.add_typer(voices_app, name="voices")

T = TypeVar("T")


class SimulatorPlan(StrEnum):
    flex = "flex"
    business = "business"


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(get_settings().effective_database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    migrate.upgrade(get_settings().effective_database_url)
    try:
        return asyncio.run(run())
    except GatewayError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc


def _emit(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data))
    else:
        for key, value in data.items():
            typer.echo(f"{key}: {value}")


def _usd(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"not a number: {value}") from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Apply migrations and serve the gateway."""
    import uvicorn

    from voicegate.cli.demo import ensure_demo_user
    from voicegate.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    migrate.upgrade(settings.effective_database_url)
    if not settings.is_production:
        ensure_demo_user(settings, host, port)
    with _shared_metrics(workers):
        # log_config=None: uvicorn installs no handlers of its own, so its lines go through ours (JSON in production).
        uvicorn.run(
            "voicegate.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            log_config=None,
        )


@contextlib.contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """Several workers count into one fresh directory (removed afterwards), so `/metrics` reports their sum."""
    if workers <= 1 or os.environ.get(MULTIPROC_DIR_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="voicegate-metrics-") as directory:
        os.environ[MULTIPROC_DIR_ENV] = directory  # inherited by the worker processes uvicorn spawns
        try:
            yield
        finally:
            del os.environ[MULTIPROC_DIR_ENV]


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    api_key: Annotated[str | None, typer.Option(help="Key the simulator requires (any key if unset).")] = None,
    job_delay: Annotated[float, typer.Option(help="Seconds an async job takes to complete.")] = 0.5,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Sign callbacks with X-Resemble-Signature using this secret.")
    ] = None,
    plan: Annotated[
        SimulatorPlan, typer.Option(help="Resemble plan of the account: on flex, Business-only calls answer 403.")
    ] = SimulatorPlan.flex,
) -> None:
    """Serve the bundled Resemble simulator."""
    from voicegate.simulator.server import serve as serve_simulator

    serve_simulator(
        host=host,
        port=port,
        api_key=api_key,
        job_delay_s=job_delay,
        webhook_secret=webhook_secret,
        plan=plan.value,
    )


@app.command("migrate")
def migrate_command() -> None:
    """Apply database migrations up to the latest revision."""
    migrate.upgrade(get_settings().effective_database_url)
    typer.echo("database is up to date")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email address.")],
    credits: Annotated[str, typer.Option(help="Opening credit in USD.")] = "0",
    tier: Annotated[Tier, typer.Option(help="Rate-limit tier.")] = DEFAULT_TIER,
    as_json: JsonOption = False,
) -> None:
    """Create a user and print their first API key (shown only once)."""
    amount = _usd(credits)

    async def work(session: AsyncSession) -> dict[str, Any]:
        user, issued = await admin_service.create_user(session, email=email, credits_usd=amount, tier=tier)
        return {
            "id": user.id,
            "email": user.email,
            "tier": user.tier,
            "credits_usd": str(user.balance_usd),
            "api_key": issued.plaintext,
        }

    _emit(_with_session(work), as_json)


@users_app.command("tier")
def users_tier(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    tier: Annotated[Tier, typer.Argument(help="The new rate-limit tier.")],
    as_json: JsonOption = False,
) -> None:
    """Move a user to another rate-limit tier; running gateways apply it within 5 s."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await admin_service.set_tier(session, user_id, tier)
        return {"id": user.id, "tier": user.tier}

    _emit(_with_session(work), as_json)


@credits_app.command("grant")
def credits_grant(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    amount: Annotated[str, typer.Argument(help="USD to add; negative for a correction.")],
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add credit to a user (or correct it downwards, never below zero)."""
    value = _usd(amount)

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await admin_service.grant_credits(session, user_id, value, note)
        return {"id": user.id, "credits_usd": str(user.balance_usd)}

    _emit(_with_session(work), as_json)


@keys_app.command("issue")
def keys_issue(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
    as_json: JsonOption = False,
) -> None:
    """Issue a new API key (shown only once)."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        issued = await admin_service.issue_key(session, user_id, name)
        return {"id": issued.key.id, "prefix": issued.key.prefix, "api_key": issued.plaintext}

    _emit(_with_session(work), as_json)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id.")],
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key; tokens issued for it stop working at once."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        key = await admin_service.revoke_key(session, key_id)
        return {"id": key.id, "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}

    _emit(_with_session(work), as_json)


def _setting(view: SettingView) -> dict[str, Any]:
    return {
        "name": view.setting.name,
        "value": view.value,
        "source": view.source,
        "default": view.default,
        "updated_at": view.updated_at.isoformat() if view.updated_at else None,
        "updated_by": view.updated_by,
    }


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "cli:unknown"


@settings_app.command("list")
def settings_list(as_json: JsonOption = False) -> None:
    """Every runtime setting: value, source (env default or database), who set it and when."""

    async def work(session: AsyncSession) -> list[SettingView]:
        return await runtime_settings.list_settings(session, get_settings())

    views = _with_session(work)
    if as_json:
        typer.echo(json.dumps({"settings": [_setting(view) for view in views]}))
        return
    for view in views:
        typer.echo(f"{view.setting.name} = {json.dumps(view.value)} ({view.source})")


@settings_app.command("get")
def settings_get(name: Annotated[str, typer.Argument(help="The setting's name.")], as_json: JsonOption = False) -> None:
    """One runtime setting."""

    async def work(session: AsyncSession) -> SettingView:
        return await runtime_settings.get_setting(session, get_settings(), name)

    _emit(_setting(_with_session(work)), as_json)


@settings_app.command("set")
def settings_set(
    name: Annotated[str, typer.Argument(help="The setting's name.")],
    value: Annotated[str, typer.Argument(help="The new value, e.g. true or false.")],
    as_json: JsonOption = False,
) -> None:
    """Change a runtime setting (audited as cli:<user>); running gateways apply it within 5 s."""

    async def work(session: AsyncSession) -> SettingView:
        parsed = lookup(name).parse_text(value)
        views = await runtime_settings.set_values(session, get_settings(), {name: parsed}, actor=_cli_actor())
        return next(view for view in views if view.setting.name == name)

    _emit(_setting(_with_session(work)), as_json)


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 date-time: {value}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@voices_app.command("renew")
def voices_renew(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Renew as if it were this ISO 8601 moment (default: now).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Charge every live voice's current month once; suspend voices whose owners cannot pay it."""
    from voicegate.billing.pricing import RateCard
    from voicegate.resemble.voices.subscriptions import renew_all

    moment = _moment(as_of)
    settings = get_settings()

    async def run() -> dict[str, Any]:
        engine = create_engine(settings.effective_database_url)
        try:
            rate_card = RateCard(settings.resemble_markup_pct, settings.resemble_rates)
            report = await renew_all(create_sessionmaker(engine), rate_card, moment)
            return dataclasses.asdict(report)
        finally:
            await engine.dispose()

    migrate.upgrade(settings.effective_database_url)
    _emit(asyncio.run(run()), as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
