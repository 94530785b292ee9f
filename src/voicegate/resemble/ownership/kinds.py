"""The kinds of upstream objects users own, and where each lives in Resemble's API."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote


class Kind(StrEnum):
    PROJECT = "project"
    CLIP = "clip"
    AGENT = "agent"
    AGENT_TOOL = "agent_tool"
    AGENT_WEBHOOK = "agent_webhook"
    KNOWLEDGE_ITEM = "knowledge_item"
    VOICE = "voice"
    RECORDING = "recording"
    VOICE_DESIGN = "voice_design"
    IDENTITY = "identity"


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: str
    """How error messages name it ("Project not found")."""
    capability: str
    """The caps-table row and the `provider_resemble_request.capability` of its calls."""
    collection: str
    """Upstream collection path; `{parent}` is the parent's upstream id for nested kinds."""
    parent: Kind | None = None
    update_method: str = "PATCH"

    def collection_path(self, parent_upstream_id: str | None) -> str:
        if self.parent is None:
            return self.collection
        assert parent_upstream_id is not None, f"{self.kind} needs its parent's id"
        return self.collection.format(parent=quote(parent_upstream_id, safe=""))

    def item_path(self, upstream_id: str, parent_upstream_id: str | None) -> str:
        return f"{self.collection_path(parent_upstream_id)}/{quote(upstream_id, safe='')}"


SPECS: dict[Kind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(Kind.PROJECT, "Project", "projects", "projects", update_method="PUT"),
        KindSpec(Kind.CLIP, "Clip", "projects", "projects/{parent}/clips", parent=Kind.PROJECT),
        KindSpec(Kind.AGENT, "Agent", "agents", "agents"),
        KindSpec(Kind.AGENT_TOOL, "Agent tool", "agents", "agents/{parent}/tools", parent=Kind.AGENT),
        KindSpec(Kind.AGENT_WEBHOOK, "Agent webhook", "agents", "agents/{parent}/webhooks", parent=Kind.AGENT),
        KindSpec(Kind.KNOWLEDGE_ITEM, "Knowledge item", "agents", "knowledge_items"),
        KindSpec(Kind.VOICE, "Voice", "voices", "voices", update_method="PUT"),
        KindSpec(Kind.RECORDING, "Recording", "voices", "voices/{parent}/recordings", parent=Kind.VOICE),
        KindSpec(Kind.VOICE_DESIGN, "Voice design", "voice_design", "voice-design"),
        KindSpec(Kind.IDENTITY, "Identity", "identity", "identity"),
    )
}

# Upstream ids as Resemble issues them (short hex uuids, full uuids, or integer ids for agent tools/webhooks).
UPSTREAM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
