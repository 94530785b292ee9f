"""First-start convenience for the embedded default: a demo user with credit, and how to call the gateway."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from voicegate.admin import service as admin_service
from voicegate.config import Settings
from voicegate.db.session import create_engine, create_sessionmaker

DEMO_EMAIL = "demo@voicegate.local"
DEMO_CREDITS = Decimal("10.00")


async def _create(settings: Settings) -> str | None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            if await admin_service.find_user_by_email(session, DEMO_EMAIL) is not None:
                return None
            _, issued = await admin_service.create_user(session, email=DEMO_EMAIL, credits_usd=DEMO_CREDITS)
            await session.commit()
            return issued.plaintext
    finally:
        await engine.dispose()


def ensure_demo_user(settings: Settings, host: str, port: int) -> None:
    key_file = settings.var_dir / "demo_api_key"
    created = asyncio.run(_create(settings))
    if created:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(created)
        key_file.chmod(0o600)
    if not key_file.exists():
        print(f"Demo user {DEMO_EMAIL} exists; issue a key with `voicegate keys issue <user id>`.")
        return
    key = key_file.read_text().strip()
    base = f"http://{host}:{port}"
    print(
        f"""
voicegate is starting on {base}  (upstream: {"bundled simulator" if settings.uses_simulator else "Resemble"})
Demo user {DEMO_EMAIL} with ${DEMO_CREDITS} of credit. Its API key (kept in {key_file}):

    {key}

Web console: {base}/console  (sign in with the key above)

Try it:

    curl -s {base}/api/v1/resemble/tts/synthesize \\
      -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\
      -d '{{"voice_uuid": "55592656", "text": "Hello from voicegate", "output_format": "mp3"}}'

Or with the indoxhub SDK:

    from indoxhub import Client
    client = Client(api_key="{key}", base_url="{base}")
    print(client.resemble.tts.list_voices())
    result = client.resemble.tts.synthesize(voice_uuid="55592656", text="Hello from voicegate")
    print(result["audio_url"], result["billing"])
""",
        flush=True,
    )
