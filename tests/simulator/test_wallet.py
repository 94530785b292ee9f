"""The wallet: usage deductions for billed calls, priced by the simulator's rate table, skewed by `/_sim/billing`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from voicegate.billing.pricing import RATE_CARD
from voicegate.simulator.wallet import RATES, Wallet

from .conftest import AUTH, VOICE_UUID, poll, wav_bytes

WALLET = "/api/v2/wallet/transactions"
BILLING_SERVER_WALLET = "/billing/api/v1/wallet/transactions"


async def transactions(client: httpx.AsyncClient, path: str = WALLET, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def deductions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    rows = (await transactions(client, per_page=100))["transactions"]
    return [row for row in rows if row["transaction_type"] == "usage_deduction"]


async def synthesize(client: httpx.AsyncClient, text: str = "Hello wallet") -> Decimal:
    response = await client.post("/synthesize", json={"voice_uuid": VOICE_UUID, "data": text}, headers=AUTH)
    assert response.status_code == 200, response.text
    return Decimal(str(response.json()["duration"]))


class TestRateTable:
    def test_prices_are_the_ones_our_rate_card_assumes(self):
        for key, usd in RATES.items():
            assert RATE_CARD[key].usd_per_unit == usd, key


class TestDeductions:
    async def test_a_synthesis_is_deducted_by_its_audio_seconds(self, client: httpx.AsyncClient):
        seconds = await synthesize(client)
        (row,) = await deductions(client)
        assert Decimal(str(row["amount_cents"])) == -(seconds * RATES["tts"] * 100).quantize(Decimal("0.0001"))
        assert row["metadata"] == {"operation": "tts", "quantity": str(seconds.quantize(Decimal("0.000001")))}
        assert set(row) == {
            "id",
            "transaction_type",
            "amount_cents",
            "balance_after_cents",
            "description",
            "metadata",
            "created_at",
        }

    async def test_the_ledger_is_newest_first_and_keeps_a_running_balance(self, client: httpx.AsyncClient):
        await synthesize(client, "one")
        await synthesize(client, "two and a bit longer")
        rows = (await transactions(client))["transactions"]
        assert [row["transaction_type"] for row in rows] == ["usage_deduction", "usage_deduction", "credit_purchase"]
        newest, older, opening = rows
        assert newest["id"] > older["id"] > opening["id"]
        assert newest["balance_after_cents"] == pytest.approx(older["balance_after_cents"] + newest["amount_cents"])

    async def test_a_job_is_deducted_when_it_completes_and_a_failed_one_never(self, jc: httpx.AsyncClient):
        created = await jc.post("/api/v2/speech-to-text", files={"file": ("a.wav", wav_bytes(2.0))})
        assert created.status_code in (200, 201, 202), created.text
        uuid = created.json()["item"]["uuid"]
        await poll(jc, f"/api/v2/speech-to-text/{uuid}", lambda body: body["item"]["status"] == "completed")
        (row,) = await deductions(jc)
        assert row["metadata"]["operation"] == "stt"
        assert Decimal(row["metadata"]["quantity"]) == Decimal("2.0")

        broken = await jc.post("/api/v2/speech-to-text", files={"file": ("a.wav", b"not audio")})
        failed = broken.json()["item"]["uuid"]
        await poll(jc, f"/api/v2/speech-to-text/{failed}", lambda body: body["item"]["status"] == "failed")
        assert len(await deductions(jc)) == 1

    def test_a_deduction_lands_when_its_job_completes(self):
        now = [100.0]
        wallet = Wallet(clock=lambda: now[0])
        wallet.charge("stt", Decimal(3), delay_s=0.5)
        assert [row["transaction_type"] for row in wallet.transactions()] == ["credit_purchase"]
        assert wallet.state()["pending"] == 1
        now[0] += 0.5
        newest = wallet.transactions()[0]
        assert (newest["transaction_type"], newest["amount_cents"]) == ("usage_deduction", Decimal("-0.3"))

    async def test_the_billing_server_path_serves_the_same_ledger(self, client: httpx.AsyncClient):
        await synthesize(client)
        assert await transactions(client, BILLING_SERVER_WALLET) == await transactions(client)

    async def test_the_ledger_needs_the_api_key(self, client: httpx.AsyncClient):
        assert (await client.get(WALLET)).status_code == 401


class TestPaging:
    async def test_pages_and_limit(self, client: httpx.AsyncClient):
        for text in ("a", "b", "c"):
            await synthesize(client, text)
        first = await transactions(client, page=1, per_page=2)
        second = await transactions(client, page=2, per_page=2)
        assert first["pagination"] == {"page": 1, "per_page": 2, "total_count": 4, "total_pages": 2}
        assert [len(first["transactions"]), len(second["transactions"])] == [2, 2]
        limited = await transactions(client, limit=1)
        assert "pagination" not in limited
        assert limited["transactions"] == first["transactions"][:1]

    @pytest.mark.parametrize("params", [{"per_page": "101"}, {"page": "0"}, {"per_page": "x"}, {"limit": "0"}])
    async def test_bad_paging_is_a_400(self, client: httpx.AsyncClient, params: dict[str, str]):
        assert (await client.get(WALLET, params=params, headers=AUTH)).status_code == 400


class TestSkewHook:
    async def test_skew_makes_later_deductions_dearer(self, client: httpx.AsyncClient):
        seconds = await synthesize(client)
        skewed = await client.post("/_sim/billing", json={"skew_pct": 5})
        assert skewed.status_code == 200
        assert skewed.json()["skew_pct"] == "5"
        assert (await client.get("/_sim/billing")).json()["skew_pct"] == "5"
        assert await synthesize(client) == seconds  # the same text: the same audio seconds
        newest, older = await deductions(client)
        assert Decimal(str(newest["amount_cents"])) == Decimal(str(older["amount_cents"])) * Decimal("1.05")

    async def test_the_state_counts_deductions(self, client: httpx.AsyncClient):
        await synthesize(client)
        state = (await client.get("/_sim/billing")).json()
        assert (state["skew_pct"], state["deductions"], state["pending"]) == ("0", 1, 0)
        assert Decimal(state["balance_cents"]) < Decimal(100000)

    @pytest.mark.parametrize("body", [{}, {"skew_pct": "lots"}, {"skew_pct": True}, {"skew_pct": -100}, [1]])
    async def test_a_bad_skew_is_a_400(self, client: httpx.AsyncClient, body: object):
        response = await client.post("/_sim/billing", json=body)
        assert response.status_code == 400
        assert (await client.get("/_sim/billing")).json()["skew_pct"] == "0"


class TestVoiceMonths:
    def test_a_voice_pays_its_first_month_once(self):
        wallet = Wallet(clock=lambda: 0.0)
        wallet.charge_voice_month("v1", "professional")
        wallet.charge_voice_month("v1", "professional")  # a rebuild within the month
        wallet.charge_voice_month("v2", "rapid")
        amounts = [row["amount_cents"] for row in wallet.transactions() if row["transaction_type"] == "usage_deduction"]
        assert amounts == [Decimal(-200), Decimal(-500)]
