"""`voicegate` command line: serve the gateway or the simulator, migrate, and administer users, keys and credit."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.admin import service as admin_service
from voicegate.config import Settings, get_settings
from voicegate.db import migrate
from voicegate.db.session import create_engine, create_sessionmaker
from voicegate.errors import GatewayError
from voicegate.metrics import MULTIPROC_DIR_ENV
from voicegate.ratelimit.rules import DEFAULT_TIER, Tier
from voicegate.runtime_settings import service as runtime_settings
from voicegate.runtime_settings.registry import lookup
from voicegate.runtime_settings.service import SettingView
from voicegate.storage import lifecycle as bucket_lifecycle
from voicegate.storage import service as storage_service
from voicegate.storage import tasks as storage_tasks
from voicegate.storage.base import StorageBackend, StorageError
from voicegate.storage.factory import build_storage
from voicegate.storage.s3 import S3Backend

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


class VoiceDesignShape(StrEnum):
    array = "array"
    object = "object"


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

    return _run(run)


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Migrate, then run `work`; a domain error is printed and exits 1."""
    migrate.upgrade(get_settings().effective_database_url)
    try:
        return asyncio.run(work())
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


# How long an idle client connection stays open. uvicorn's default (5 s) equals the idle expiry of httpx's pool (the
# indoxhub and openai SDKs use it): a client reusing a connection at 5 s raced the server closing it and got a
# dropped request. Longer than any common client pool keeps idle connections, as load balancers are set (nginx: 75 s).
KEEP_ALIVE_S = 75


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
            timeout_keep_alive=KEEP_ALIVE_S,
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
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            help="Key of an account the simulator serves (any key if unset). Repeat it for more accounts, each with "
            "its own state; the first is the gateway's."
        ),
    ] = None,
    job_delay: Annotated[float, typer.Option(help="Seconds an async job takes to complete.")] = 0.5,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Sign callbacks with X-Resemble-Signature using this secret.")
    ] = None,
    plan: Annotated[
        SimulatorPlan, typer.Option(help="Resemble plan of the account: on flex, Business-only calls answer 403.")
    ] = SimulatorPlan.flex,
    voice_design_shape: Annotated[
        VoiceDesignShape,
        typer.Option(help="Which of Resemble's two published voice-design answers POST /voice-design gives."),
    ] = VoiceDesignShape.array,
) -> None:
    """Serve the bundled Resemble simulator."""
    from voicegate.simulator.server import serve as serve_simulator

    keys = list(dict.fromkeys(api_key or []))  # a key given twice is one account
    serve_simulator(
        host=host,
        port=port,
        api_key=keys[0] if keys else None,
        extra_api_keys=tuple(keys[1:]),
        job_delay_s=job_delay,
        webhook_secret=webhook_secret,
        plan=plan.value,
        voice_design_shape=voice_design_shape.value,
    )


class WorkerPool(StrEnum):
    prefork = "prefork"
    solo = "solo"
    threads = "threads"


def _celery_settings(*, needs_upstream: bool) -> Settings:
    """The settings, if Celery can run with them; otherwise a clear error and exit code 1."""
    from voicegate.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    if not settings.celery_broker_url:
        typer.echo(
            "error: CELERY_BROKER_URL is not set (redis://host:6379/0 or amqp://user:pass@host:5672//)", err=True
        )
        raise typer.Exit(code=1)
    if needs_upstream and settings.uses_simulator:
        typer.echo(
            "error: the worker needs RESEMBLE_API_KEY and RESEMBLE_BASE_URL (Resemble, or `voicegate simulator`): "
            "jobs made in a gateway's in-process simulator exist only inside that gateway",
            err=True,
        )
        raise typer.Exit(code=1)
    return settings


@app.command()
def worker(
    pool: Annotated[WorkerPool, typer.Option(help="prefork: processes, each with its own event loop.")] = (
        WorkerPool.prefork
    ),
    concurrency: Annotated[int, typer.Option(min=1, help="Processes (prefork) or threads.")] = 2,
) -> None:
    """Run a Celery worker for the background tasks (SCHEDULER=celery; needs CELERY_BROKER_URL)."""
    from voicegate.jobs.worker import build_worker_app

    settings = _celery_settings(needs_upstream=True)
    build_worker_app(settings).worker_main(
        ["worker", f"--pool={pool.value}", f"--concurrency={concurrency}", f"--loglevel={settings.log_level}"]
    )


@app.command()
def beat() -> None:
    """Run Celery beat, which sends the periodic tasks on their schedule (run exactly one)."""
    from voicegate.jobs.worker import build_worker_app

    settings = _celery_settings(needs_upstream=False)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    build_worker_app(settings).start(["beat", f"--loglevel={settings.log_level}"])


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


@users_app.command("erase")
def users_erase(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    as_json: JsonOption = False,
) -> None:
    """Erase a user (GDPR): stored objects, Resemble objects, keys and personal data; the ledger stays under a
    pseudonym. Run it again to resume an interrupted erasure; after success it prints the same report."""
    from fastapi import FastAPI

    from voicegate import resources as shared
    from voicegate.erasure.service import ErasureDeps, erase_user

    async def work() -> dict[str, Any]:
        async with shared.open_resources(get_settings(), FastAPI()) as opened, opened.sessionmaker() as session:
            deps = ErasureDeps(session, opened.storage, opened.upstream)
            report = await erase_user(deps, user_id, actor=_cli_actor())
        return report.model_dump(mode="json")

    _emit(_run(work), as_json)


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


# --- storage retention --------------------------------------------------------------------------------------------

storage_app = typer.Typer(help="Stored media: expiry, purge, restore and bucket lifecycle rules.", no_args_is_help=True)
app.add_typer(storage_app, name="storage")
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Run as if it were this ISO 8601 moment (default: now).")
]


def _with_storage(work: Callable[[async_sessionmaker[AsyncSession], StorageBackend], Awaitable[T]]) -> T:
    """Run `work` with a session factory and the configured storage backend; errors exit 1 with their message."""
    settings = get_settings()

    async def run() -> T:
        engine = create_engine(settings.effective_database_url)
        storage = build_storage(settings)
        try:
            return await work(create_sessionmaker(engine), storage)
        finally:
            close = getattr(storage, "close", None)
            if close is not None:
                close()
            await engine.dispose()

    migrate.upgrade(settings.effective_database_url)
    try:
        return asyncio.run(run())
    except GatewayError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc
    except StorageError as exc:
        typer.echo(f"error: storage failed: {exc}", err=True)
        raise typer.Exit(code=1) from exc


@storage_app.command("expire")
def storage_expire(as_of: AsOfOption = None, as_json: JsonOption = False) -> None:
    """Move every object past its expiry to `_deleted/` (kept 7 days for restore); prints counts."""
    moment = _moment(as_of)
    report = _with_storage(lambda sessions, storage: storage_tasks.expire(sessions, storage, moment))
    _emit(report.as_dict("moved"), as_json)


@storage_app.command("purge")
def storage_purge(as_of: AsOfOption = None, as_json: JsonOption = False) -> None:
    """Delete for good the objects soft-deleted more than 7 days before now (or --as-of); prints counts."""
    moment = _moment(as_of)
    report = _with_storage(lambda sessions, storage: storage_tasks.purge(sessions, storage, moment))
    _emit(report.as_dict("purged"), as_json)


@storage_app.command("restore")
def storage_restore(
    key: Annotated[str, typer.Argument(help="The asset's storage key (or its _deleted/ key).")],
    as_json: JsonOption = False,
) -> None:
    """Bring an expired asset back within the 7-day window, with a fresh expiry (now + its class's TTL)."""

    async def work(sessions: async_sessionmaker[AsyncSession], storage: StorageBackend) -> dict[str, Any]:
        async with sessions() as session:
            restored = await storage_service.restore(session, storage, key)
        expires = restored.expires_at.isoformat() if restored.expires_at else None
        return {"asset_id": restored.asset_id, "key": restored.key, "expires_at": expires}

    _emit(_with_storage(work), as_json)


@storage_app.command("lifecycle")
def storage_lifecycle(
    show: Annotated[bool, typer.Option("--show", help="Print the desired rules and the bucket's difference.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Write the desired rules to the bucket.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bucket lifecycle rules from the retention table (S3 and R2 only)."""
    if show == apply:
        raise typer.BadParameter("give exactly one of --show or --apply")
    if get_settings().storage_backend == "local":
        typer.echo("error: lifecycle rules apply to S3/R2 buckets; the local backend has none", err=True)
        raise typer.Exit(code=1)

    async def work(_: async_sessionmaker[AsyncSession], storage: StorageBackend) -> dict[str, Any]:
        assert isinstance(storage, S3Backend)
        desired = bucket_lifecycle.desired_rules()
        difference = bucket_lifecycle.diff(desired, await storage.lifecycle_rules())
        if apply:
            await storage.put_lifecycle_rules(desired)
        return {
            "bucket": storage.bucket,
            "applied": apply,
            "desired": [rule.as_dict() for rule in desired],
            "diff": difference.as_dict(),
        }

    result = _with_storage(work)
    if as_json:
        typer.echo(json.dumps(result))
        return
    _print_lifecycle(result)


def _print_lifecycle(result: dict[str, Any]) -> None:
    typer.echo(f"bucket {result['bucket']}: desired rules")
    for rule in result["desired"]:
        typer.echo(f"  {rule['id']}: {rule['prefix']} expires after {rule['expiration_days']} days")
    difference = result["diff"]
    for rule in difference["add"]:
        typer.echo(f"+ {rule['id']}")
    for change in difference["change"]:
        typer.echo(f"~ {change['desired']['id']}")
    for rule in difference["remove"]:
        typer.echo(f"- {rule['id']}")
    if difference["in_sync"]:
        typer.echo("the bucket has exactly these rules")
    elif result["applied"]:
        typer.echo("applied")


@app.command()
def reconcile(
    window: Annotated[str, typer.Option(help="Rolling window ending now: 30m, 24h, 7d (1m-31d).")] = "24h",
    as_json: JsonOption = False,
) -> None:
    """Compare our provider cost with Resemble's wallet deductions, and run the internal checks.

    Exits 1 on drift beyond the threshold, when Resemble's ledger cannot be read, or when a check fails.
    """
    from voicegate.reconciliation import service as reconciliation_service
    from voicegate.reconciliation.window import InvalidWindow, parse_window
    from voicegate.upstream.client import ResembleClient

    try:
        parse_window(window)
    except InvalidWindow as exc:
        raise typer.BadParameter(str(exc.detail), param_hint="--window") from exc
    settings = get_settings()
    if settings.uses_simulator:
        typer.echo(
            "error: reconcile reads Resemble's wallet: set RESEMBLE_API_KEY (and RESEMBLE_BASE_URL for a simulator "
            "run with `voicegate simulator`); the embedded simulator answers only GET /api/v1/admin/reconciliation",
            err=True,
        )
        raise typer.Exit(code=1)

    async def work(session: AsyncSession) -> dict[str, Any]:
        async with ResembleClient.from_settings(settings) as upstream:
            report = await reconciliation_service.reconcile(session, upstream, window)
        return report.model_dump(mode="json")

    report = _with_session(work)
    if as_json:
        typer.echo(json.dumps(report))
    else:
        _print_reconciliation(report)
    if not report["ok"]:
        raise typer.Exit(code=1)


def _print_reconciliation(report: dict[str, Any]) -> None:
    comparison = report["comparison"]
    theirs = comparison["theirs"]
    typer.echo(f"window: {report['window']} ({report['start']} to {report['end']})")
    typer.echo(f"ours_usd: {comparison['ours_usd']} ({comparison['usage_rows']} usage rows)")
    typer.echo(f"theirs_usd: {theirs['total_usd']} ({theirs['deductions']} deductions, {theirs['source']})")
    if theirs["error"]:
        typer.echo(f"resemble_error: {theirs['error']}")
    typer.echo(
        f"drift: {comparison['drift_usd']} USD, {comparison['drift_pct']} % (threshold {comparison['threshold_pct']} %)"
    )
    typer.echo(f"outcome: {comparison['outcome']}")
    for check in report["checks"]:
        typer.echo(f"check {check['name']}: {'pass' if check['passed'] else 'FAIL'} ({check['count']})")
        for offender in check["offenders"]:
            typer.echo(f"  - {offender}")
    typer.echo(f"ok: {str(report['ok']).lower()}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
