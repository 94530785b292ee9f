"""The unchanged indoxhub SDK's identity group against real servers, two users sharing one Resemble account."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from indoxhub import Client
from indoxhub.exceptions import APIError, ValidationError

from tests.e2e.conftest import Stack
from tests.resemble.jobs.helpers import make_wav

pytestmark = pytest.mark.e2e


def recording(tmp_path: Path, seconds: float) -> str:
    path = tmp_path / f"voice-{seconds}.wav"
    path.write_bytes(make_wav(seconds))
    return str(path)


def test_enroll_search_list_get_delete(stack: Stack, tmp_path: Path):
    user = stack.new_user(credits="1.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    identity = client.resemble.identity
    urls = [client.resemble.uploads.create(recording(tmp_path, s), purpose="voice_clone")["url"] for s in (1.0, 1.3)]

    ann = identity.enroll(name="Ann", url=urls[0])
    bea = identity.enroll(name="Bea", url=urls[1])
    assert (ann["success"], ann["item"]["name"], ann["billing"]["unit"]) == (True, "Ann", "enrollments")
    uuid = ann["item"]["uuid"]

    found = identity.search(url=urls[0], top_k=2)
    assert list(found["item"]) == [uuid, bea["item"]["uuid"]]
    assert found["item"][uuid]["distance"] == 100.0
    assert found["billing"]["unit"] == "searches"
    spent = sum(Decimal(r["billing"]["charged"]) for r in (ann, bea, found))
    assert Decimal(stack.balance(user["api_key"])) == Decimal("1.00") - spent

    assert identity.get(uuid) == {"success": True, "item": ann["item"]}
    listed = identity.list()
    assert (listed["total_count"], [item["uuid"] for item in listed["items"]]) == (2, [uuid, bea["item"]["uuid"]])
    assert identity.delete(uuid) == {"success": True, "uuid": uuid}
    with pytest.raises(APIError):
        identity.get(uuid)
    assert list(identity.search(url=urls[0], top_k=20)["item"]) == [bea["item"]["uuid"]]
    with pytest.raises(ValidationError):
        identity.search(url=urls[0], top_k=21)


def test_another_user_on_the_same_account_never_sees_them(stack: Stack, tmp_path: Path):
    alice = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    bob_user = stack.new_user()
    bob = Client(api_key=bob_user["api_key"], base_url=stack.gateway)
    path = recording(tmp_path, 1.1)
    hers = alice.resemble.identity.enroll(name="Alice", url=alice.resemble.uploads.create(path)["url"])
    uuid = hers["item"]["uuid"]

    assert bob.resemble.identity.list()["items"] == []
    for call in (bob.resemble.identity.get, bob.resemble.identity.delete):
        with pytest.raises(APIError):
            call(uuid)
    own_copy = bob.resemble.uploads.create(path)["url"]  # the very same recording, uploaded by Bob
    assert bob.resemble.identity.search(url=own_copy, top_k=20)["item"] == {}
    with pytest.raises(APIError):  # Alice's upload is not Bob's to use
        bob.resemble.identity.enroll(name="Mine", url=alice.resemble.uploads.create(path)["url"])
    assert alice.resemble.identity.get(uuid)["item"]["name"] == "Alice"
    assert Decimal(stack.balance(bob_user["api_key"])) == Decimal("5.00") - Decimal("0.006")
